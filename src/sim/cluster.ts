// The simulated members: each a core of the run's mode (or an adversary's, on the Byzantine
// nodes) over a MemoryStorage that outlives it, booted, stepped, crashed and restarted from what it
// persisted. What a core asks for is done through the shared effect interpreter (interpret.ts).
import { formatBallot } from '../base/ballot.ts';
import type { NodeId } from '../base/types.ts';
import type { Effect, Input, TimerName } from '../core/effects.ts';
import type { ProtocolNode } from '../core/protocol.ts';
import { SeededRng } from '../core/rng.ts';
import type { Adversary } from '../adversary/adversary.ts';
import type { ClientRequest, PeerMessage } from '../messages/types.ts';
import { MemoryStorage } from '../storage/memory.ts';
import { interpret, type EffectHandlers } from './interpret.ts';
import { nodeEntropy, type ModeSetup } from './modes.ts';
import type { Network } from './network.ts';
import type { Outcomes } from './outcomes.ts';
import type { SimControl } from './sim-options.ts';
import type { SimTrace } from './sim-trace.ts';
import type { Settings, World } from './world.ts';

/** Which nodes are Byzantine, with their strategies: as the options say, or dealt by the seed. */
export function chooseAdversaries(o: Settings): Map<NodeId, Adversary> {
  const spec = o.byzantine;
  const chosen = new Map<NodeId, Adversary>();
  if (spec === undefined || spec.strategies.length === 0) return chosen;
  if (o.mode === 'crash') throw new Error('sim: Byzantine nodes need --mode byzantine');
  const n = 3 * o.f + 1;
  let ids = spec.nodes;
  if (ids === undefined) {
    const rng = new SeededRng(o.seed, 3);
    const pool = [...Array(n).keys()];
    ids = spec.strategies.map(() => pool.splice(rng.int(pool.length), 1)[0]!);
  }
  ids.forEach((id, i) => {
    if (!Number.isInteger(id) || id < 0 || id >= n) throw new Error(`sim: Byzantine node ${id} is not a member (0..${n - 1})`);
    chosen.set(id, spec.strategies[i % spec.strategies.length]!);
  });
  return chosen;
}

interface SimNode {
  /** Null while crashed, or not yet joined. */
  core: ProtocolNode | null;
  /** Membership churn: a spare is not booted until a change brings it in. */
  joined: boolean;
  storage: MemoryStorage;
  incarnation: number;
  /** Armed timers and the generation that arms them: a stale timer event is ignored. */
  readonly timers: Map<TimerName, number>;
}

export class Cluster {
  private readonly w: World;
  private readonly trace: SimTrace;
  private readonly setup: ModeSetup;
  private readonly network: Network;
  private readonly outcomes: Outcomes;
  private readonly adversaries: ReadonlyMap<NodeId, Adversary>;
  private readonly control: SimControl;
  private readonly nodes: SimNode[] = [];
  private crashedCount = 0;
  private timerGenerations = 0;

  constructor(world: World, trace: SimTrace, setup: ModeSetup, network: Network, outcomes: Outcomes, adversaries: ReadonlyMap<NodeId, Adversary>, control: SimControl) {
    this.w = world;
    this.trace = trace;
    this.setup = setup;
    this.network = network;
    this.outcomes = outcomes;
    this.adversaries = adversaries;
    this.control = control;
  }

  /** Boots the first `live` nodes (every one by default), in id order, each on empty storage; the others wait to join. */
  bootAll(live = this.w.n): void {
    for (let id = 0; id < this.w.n; id++) {
      this.nodes.push({ core: null, joined: id < live, storage: new MemoryStorage(), incarnation: 0, timers: new Map() });
      if (id < live) this.boot(id);
    }
  }

  /** Membership churn: a spare starts, on empty storage; a node that already joined is left as it is. */
  join(id: NodeId): void {
    const node = this.member(id);
    if (node.joined) return;
    node.joined = true;
    this.trace.note(`n${id} JOINS empty`);
    this.boot(id);
  }

  isUp(id: NodeId): boolean {
    return this.nodes[id]!.core !== null;
  }

  receive(to: NodeId, from: NodeId, msg: PeerMessage | ClientRequest): void {
    if (msg.type === 'request') this.stepNode(to, { type: 'request', msg });
    else this.stepNode(to, { type: 'message', from, msg });
  }

  /** A node timer fired; stale if the node crashed, or cleared or re-armed the timer, since. */
  fire(id: NodeId, timer: TimerName, generation: number): void {
    const node = this.nodes[id]!;
    if (node.core === null || node.timers.get(timer) !== generation) return;
    node.timers.delete(timer);
    this.trace.note(`n${id} timer ${timer}`);
    this.stepNode(id, { type: 'timeout', timer });
  }

  /** A scheduled crash: down for `downMs` (not past the fault phase). */
  crash(id: NodeId, downMs: number): void {
    const node = this.nodes[id]!;
    // Crashed plus Byzantine nodes never exceed f, unless a run asks for Byzantine ones beyond it.
    if (this.w.healed || node.core === null || this.crashedCount + this.adversaries.size >= this.w.o.f) return;
    this.halt(id);
    this.w.queue.push(Math.min(this.w.o.faultPhaseMs, this.w.now + downMs), { kind: 'restart', node: id });
  }

  restart(id: NodeId): void {
    if (this.nodes[id]!.core !== null) return;
    this.crashedCount--;
    this.w.coverage.restarts++;
    this.trace.note(`n${id} RESTART from storage`);
    this.trace.flow?.event({ kind: 'restart', atMs: this.w.now, node: id });
    this.boot(id);
  }

  /** Faults end: every crashed node restarts, in id order. */
  restartAllDown(): void {
    for (let id = 0; id < this.w.n; id++) if (this.nodes[id]!.joined && this.nodes[id]!.core === null) this.restart(id);
  }

  /** SimControl.crash: any member, at once, with no bound. */
  crashByHook(id: NodeId): void {
    if (this.member(id).core !== null) this.halt(id);
  }

  /** SimControl.restart. */
  restartByHook(id: NodeId): void {
    if (this.member(id).core === null) this.restart(id);
  }

  /** SimControl.wipe. */
  wipe(id: NodeId): void {
    const node = this.member(id);
    if (node.core !== null) this.halt(id);
    node.storage = new MemoryStorage();
    this.trace.note(`n${id} WIPED`);
    this.trace.flow?.event({ kind: 'wipe', atMs: this.w.now, node: id });
  }

  private halt(id: NodeId): void {
    const node = this.nodes[id]!;
    node.core = null;
    node.timers.clear();
    this.crashedCount++;
    this.trace.note(`n${id} CRASH`);
    this.trace.flow?.event({ kind: 'crash', atMs: this.w.now, node: id });
  }

  private member(id: NodeId): SimNode {
    const node = this.nodes[id];
    if (node === undefined) throw new RangeError(`sim: node ${id} is not a member (0..${this.w.n - 1})`);
    return node;
  }

  private boot(id: NodeId): void {
    const node = this.nodes[id]!;
    node.incarnation++;
    const seed = this.w.o.seed;
    const rng = new SeededRng(seed, 10 + id * 1000 + node.incarnation);
    node.core = this.setup.makeNode(id, node.storage.load(), rng, nodeEntropy(seed, id, node.incarnation));
    this.w.o.hooks?.onBoot?.(id, node.core);
    this.apply(id, node.core.start());
  }

  private stepNode(id: NodeId, input: Input): void {
    const core = this.nodes[id]!.core;
    if (core === null) return;
    const wasLeader = core.isLeader;
    this.apply(id, core.step(input));
    if (!wasLeader && core.isLeader) {
      this.w.coverage.elections++;
      this.trace.note(`n${id} becomes leader of ${formatBallot(core.ballot)}`);
      this.trace.flow?.event({ kind: 'leader', atMs: this.w.now, node: id, ballot: formatBallot(core.ballot) });
    }
  }

  private apply(id: NodeId, effects: readonly Effect[]): void {
    const node = this.nodes[id]!;
    const core = node.core;
    for (const effect of effects) {
      interpret(effect, id, this.handlers);
      this.w.o.hooks?.onEffect?.(id, effect, this.control);
      // A hook crashed (or crashed and restarted) this node: what it had left to do is lost.
      if (node.core !== core) return;
    }
  }

  private readonly handlers: EffectHandlers<NodeId> = {
    persist: (e, id) => {
      this.nodes[id]!.storage.apply([e.record]);
      this.outcomes.persisted(id, e.record);
    },
    send: (e, id) => {
      this.outcomes.sent(id, e.msg);
      this.network.transmit(id, e.to, e.msg);
    },
    broadcast: (e, id) => {
      this.outcomes.sent(id, e.msg);
      this.network.broadcast(id, e.msg);
    },
    reply: (e, id) => this.network.transmitToClient(id, e.clientId, e.msg),
    decide: (e, id) => this.outcomes.decided(id, e.slot, e.batch),
    execute: (e, id) => this.outcomes.executed(id, this.nodes[id]!.incarnation, e.command),
    evidence: (e, id) => this.outcomes.proved(id, e.evidence),
    suspicion: (e, id) => this.outcomes.suspected(id, e.suspicion),
    setTimer: (e, id) => {
      const generation = ++this.timerGenerations;
      this.nodes[id]!.timers.set(e.timer, generation);
      this.w.queue.push(this.w.now + e.delayMs, { kind: 'node-timer', node: id, timer: e.timer, generation });
    },
    clearTimer: (e, id) => this.nodes[id]!.timers.delete(e.timer),
  };
}
