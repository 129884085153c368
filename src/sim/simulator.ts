// Deterministic cluster simulator (in the spirit of TigerBeetle's VOPR and FoundationDB's
// simulation): one thread, virtual time, a seeded PRNG driving every choice. It runs the very
// same PaxosNode core as a deployment, with a network that delays, drops, duplicates,
// reorders and partitions, and nodes that crash and restart from what they persisted.
// A safety phase with faults is followed by a liveness phase after everything heals.
import type { Mode } from '../base/mode.ts';
import { decodeKvOp, decodeKvResult, encodeKvOp, formatKvOp, type KvOp } from '../app/kv.ts';
import { Client, sessionFromWords, type ClientEffect } from '../core/client.ts';
import type { CoreConfig } from '../core/config.ts';
import type { Effect, Input, TimerName } from '../core/effects.ts';
import type { PaxosNode, NodeOptions } from '../core/node.ts';
import type { ProtocolNode } from '../core/protocol.ts';
import type { ClusterConfig } from '../modes/byzantine/cluster.ts';
import type { ByzantineConfig } from '../modes/byzantine/config.ts';
import { byzantineSetup, crashSetup, nodeEntropy, type ModeSetup } from './modes.ts';
import type { Adversary } from '../adversary/adversary.ts';
import { evidenceEnvelopes, type Evidence } from '../messages/evidence.ts';
import { toHex, createHasher, type Hasher } from '../../crypto/digest.ts';
import { adversaryNamed } from '../adversary/strategies.ts';
import { SeededRng } from '../core/rng.ts';
import { PREPARED_CERTIFICATES_MAX } from '../base/limits.ts';
import { commandKey, type ClientId, type NodeId } from '../base/types.ts';
import { formatBallot } from '../base/ballot.ts';
import { CodecError, decodeMessage, encodeMessage, frameType } from '../messages/codec.ts';
import { formatMessage } from '../messages/format.ts';
import type { ClientReply, ClientRequest, Message, PeerMessage } from '../messages/types.ts';
import { MemoryStorage } from '../storage/memory.ts';
import { SafetyChecker, type Violation } from './checker.ts';
import { EventQueue } from './event-queue.ts';
import { formatFaults, NO_FAULTS, type FaultSpec } from './faults.ts';
import type { HistoryOp } from './linearizability.ts';
import { encodeRandomKvOp } from './workload.ts';
import { FlowRecorder } from './trace-json.ts';
import { CLIENTS, type FlowTrace } from '../trace/flow-trace.ts';

/** Without `eagerSlots`: a leader opens every slot its window allows as commands arrive. */
const SIM_EAGER_SLOTS = PREPARED_CERTIFICATES_MAX;

export interface SimOptions {
  /** Default 'crash'. */
  readonly mode?: Mode;
  readonly seed: number;
  readonly f: number;
  readonly commands: number;
  readonly faults?: FaultSpec;
  readonly clients?: number;
  readonly keys?: number;
  /** Faults are injected during [0, faultPhaseMs); then everything heals. */
  readonly faultPhaseMs?: number;
  /** After healing, every command must complete within this bound of max(heal time, its submission). */
  readonly livenessBoundMs?: number;
  /** Per-link base delay is drawn from [minMs, maxMs]; jitter adds up to half of it again. */
  readonly delay?: { readonly minMs: number; readonly maxMs: number; readonly jitter: boolean };
  /** Client think time between commands; default spreads the workload over the fault phase. */
  readonly thinkMs?: number;
  readonly config?: Partial<CoreConfig>;
  readonly byzantineConfig?: Partial<ByzantineConfig>;
  /**
   * The leader's `eagerSlots` (core/pipeline.ts); absent: every slot the window allows, the most
   * pipelining. Deployments default to EAGER_SLOTS_DEFAULT (batches that grow with the load).
   */
  readonly eagerSlots?: number;
  /** Message counters restart once this many commands completed (steady-state measurements). */
  readonly warmupCommands?: number;
  /** Collect a readable trace (costly; for replaying one seed). */
  readonly trace?: boolean;
  /** Record the message flow (trace-json.ts) for `sim --trace-json` and `--html`; observes only. */
  readonly flow?: boolean;
  /** Builds the crash-mode nodes: mutation tests substitute mutants, scripts keep them to inspect. */
  readonly makeNode?: (options: NodeOptions) => PaxosNode;
  /** The ops each client submits, in order, instead of random ones over `keys` keys. */
  readonly workload?: (clientId: ClientId, seq: number) => KvOp;
  readonly hooks?: SimHooks;
  /**
   * Byzantine nodes and their strategies (strategies[i] runs on nodes[i]); without `nodes`,
   * the seed picks which nodes, one per strategy. Safety is judged over the other nodes only.
   */
  readonly byzantine?: { readonly strategies: readonly Adversary[]; readonly nodes?: readonly NodeId[] };
  /**
   * Appended to the replay command: what the simulator cannot know, such as the
   * `--adversary-module PATH` of strategies that are not built in (only built-ins replay by name).
   */
  readonly replayArgs?: string;
}

/**
 * Hooks for scripted scenarios (src/cli/demo.ts is one): see what happens as it happens, and
 * act on the run at that exact moment, e.g. crash the leader once a follower has accepted a
 * given command. Hooks run synchronously inside the event that triggered them. Without hooks
 * a run is unchanged (same trace hash); with them it stays a pure function of seed and script.
 */
export interface SimHooks {
  /** Node `node` has just been built (on every (re)boot), before it starts: scripts keep it to inspect. */
  onBoot?(node: NodeId, core: ProtocolNode): void;
  /** `node` has just performed `effect` (its start() effects on every (re)boot included). */
  onEffect?(node: NodeId, effect: Effect, sim: SimControl): void;
  /** `msg` is about to reach live node `to` (`from` is -1 for a client's request); false loses it. */
  onDeliver?(from: NodeId, to: NodeId, msg: PeerMessage | ClientRequest, sim: SimControl): boolean | void;
  /** A client took a result for its command. */
  onClientComplete?(op: HistoryOp, sim: SimControl): void;
}

/** What a hook may do to the run; everything takes effect at once. */
export interface SimControl {
  /** Virtual time in ms. */
  now(): number;
  /**
   * Crashes a live node (no-op if down): it stays down until `restart`, or until faults heal
   * at faultPhaseMs. Messages it already sent still arrive unless onDeliver loses them; a node
   * crashed while its own effects are applied loses the rest of them.
   */
  crash(node: NodeId): void;
  /** Restarts a crashed node from what it persisted (no-op if up). */
  restart(node: NodeId): void;
  /** Crashes the node (if live) and discards all it persisted: its restart begins from nothing. */
  wipe(node: NodeId): void;
}

export interface CommandTiming {
  readonly invokedAt: number;
  firstDecidedAt: number | null;
  completedAt: number | null;
}

export interface SimResult {
  readonly seed: number;
  readonly n: number;
  readonly f: number;
  /** Distinct client commands decided by some learner. */
  readonly decided: number;
  readonly completed: number;
  readonly submitted: number;
  readonly safetyViolations: readonly Violation[];
  /** Null when every command completed within the bound after healing. */
  readonly livenessFailure: string | null;
  readonly traceHash: string;
  readonly trace: readonly string[];
  /** The recorded message flow; null unless `flow` was asked for. */
  readonly flow: FlowTrace | null;
  readonly endTimeMs: number;
  readonly events: number;
  /** Network traffic since warm-up ended (the whole run when warmupCommands is 0). */
  readonly messages: MessageCounts;
  /** Distinct slots first decided since warm-up ended. */
  readonly slotsDecided: number;
  /** Signatures made and checked since warm-up ended. */
  readonly signatures: { readonly signs: number; readonly verifies: number };
  readonly coverage: Coverage;
  /** Proofs of misbehaviour honest nodes gathered (deduplicated), with who they accuse. */
  readonly evidence: readonly GatheredEvidence[];
  /** Unprovable misbehaviour honest nodes noticed. */
  readonly suspicions: readonly { readonly reporter: NodeId; readonly node: NodeId; readonly reason: string; readonly atMs: number }[];
  readonly timings: ReadonlyMap<string, CommandTiming>;
  /** The Byzantine nodes of this run, in the order strategies were dealt to them. */
  readonly byzantineNodes: NodeId[];
  /** The run's cluster configuration (members' and clients' keys), to check its evidence; null in crash mode. */
  readonly cluster: ClusterConfig | null;
  readonly replayCommand: string;
}

export interface GatheredEvidence {
  readonly reporter: NodeId;
  /** The signer the proof accuses. */
  readonly culprit: NodeId;
  readonly atMs: number;
  readonly evidence: Evidence;
}

/** How much of the protocol a run exercised; regression seeds are chosen by these. */
export interface Coverage {
  /** Times some node became leader. */
  elections: number;
  /** Slots decided as no-ops (gaps a new leader filled). */
  noopSlots: number;
  /** Commands decided in two different slots (resent across a leader change); executed once. */
  duplicateDecisions: number;
  restarts: number;
  catchupReplies: number;
}

export interface MessageCounts {
  /** Network messages sent (a broadcast counts once per recipient); self-delivery is free. */
  count: number;
  bytes: number;
  readonly byType: Map<string, { count: number; bytes: number }>;
}

type SimEvent =
  | { kind: 'deliver'; to: NodeId; from: NodeId; bytes: Uint8Array; flowId: number }
  | { kind: 'deliver-client'; clientId: number; from: NodeId; bytes: Uint8Array; flowId: number }
  | { kind: 'node-timer'; node: NodeId; timer: TimerName; generation: number }
  | { kind: 'client-timer'; clientId: number; generation: number }
  | { kind: 'client-submit'; clientId: number }
  | { kind: 'crash'; node: NodeId; downMs: number }
  | { kind: 'restart'; node: NodeId }
  | { kind: 'partition'; groupA: readonly NodeId[]; healAt: number }
  | { kind: 'partition-heal' }
  | { kind: 'heal-all' }
  | { kind: 'liveness-check'; clientId: number; seq: number };

interface SimNode {
  core: ProtocolNode | null;
  storage: MemoryStorage;
  incarnation: number;
  readonly timers: Map<TimerName, number>;
}

interface SimClient {
  readonly client: Client;
  remaining: number;
  timerGeneration: number;
  current: { seq: number; op: KvOp; invokedAt: number } | null;
}

export function simulate(options: SimOptions): SimResult {
  return new Simulation(options).run();
}

class Simulation {
  private readonly o: Required<Omit<SimOptions, 'makeNode' | 'byzantine' | 'config' | 'byzantineConfig' | 'eagerSlots' | 'workload' | 'hooks'>> &
    Pick<SimOptions, 'makeNode' | 'byzantine' | 'config' | 'byzantineConfig' | 'eagerSlots' | 'workload' | 'hooks'>;
  /** Byzantine node ids and their strategies. */
  readonly adversaries: ReadonlyMap<NodeId, Adversary>;
  private readonly setup: ModeSetup;
  private signaturesAtWarmup = { signs: 0, verifies: 0 };
  private readonly n: number;
  private readonly rng: SeededRng;
  private readonly faultRng: SeededRng;
  private readonly queue = new EventQueue<SimEvent>();
  private readonly nodes: SimNode[] = [];
  private readonly clients: SimClient[] = [];
  private readonly checker: SafetyChecker;
  private readonly hasher: Hasher = createHasher();
  private readonly traceLines: string[] = [];
  private readonly flow: FlowRecorder | null;
  private readonly linkDelayMs: number[][] = [];
  private readonly history: HistoryOp[] = [];
  private readonly timings = new Map<string, CommandTiming>();
  private messages: MessageCounts = { count: 0, bytes: 0, byType: new Map() };
  private readonly decidedSlots = new Set<number>();
  private readonly decidedCommandSlot = new Map<string, number>();
  private readonly evidence: GatheredEvidence[] = [];
  private readonly evidenceIds = new Set<string>();
  private readonly suspicions: SimResult['suspicions'][number][] = [];
  private readonly coverage: Coverage = { elections: 0, noopSlots: 0, duplicateDecisions: 0, restarts: 0, catchupReplies: 0 };
  private slotsDecidedSinceWarmup = 0;
  private now = 0;
  private healed = false;
  /** Nodes on the same side as node 0 while a partition lasts, else null. */
  private partitionSide: Set<NodeId> | null = null;
  private crashedCount = 0;
  private livenessFailure: string | null = null;
  private events = 0;
  private timerGenerations = 0;
  private submitted = 0;
  private completed = 0;
  private readonly control: SimControl = {
    now: () => this.now,
    crash: (id) => {
      if (this.member(id).core !== null) this.halt(id);
    },
    restart: (id) => {
      if (this.member(id).core === null) this.restart(id);
    },
    wipe: (id) => {
      const node = this.member(id);
      if (node.core !== null) this.halt(id);
      node.storage = new MemoryStorage();
      this.note(`n${id} WIPED`);
      this.flow?.event({ kind: 'wipe', atMs: this.now, node: id });
    },
  };

  constructor(options: SimOptions) {
    const commands = options.commands;
    const clients = options.clients ?? Math.max(1, Math.min(4, commands));
    const faultPhaseMs = options.faultPhaseMs ?? 2000;
    this.o = {
      faults: NO_FAULTS,
      clients,
      keys: 3,
      faultPhaseMs,
      livenessBoundMs: 20_000,
      delay: { minMs: 1, maxMs: 10, jitter: true },
      thinkMs: (2 * faultPhaseMs * clients) / Math.max(1, commands),
      trace: false,
      flow: false,
      warmupCommands: 0,
      mode: 'crash',
      replayArgs: '',
      ...options,
    };
    this.adversaries = this.chooseAdversaries();
    this.flow = this.o.flow ? new FlowRecorder(formatKvOp) : null;
    this.setup =
      this.o.mode === 'crash'
        ? crashSetup(options.f, { eagerSlots: options.eagerSlots ?? SIM_EAGER_SLOTS, ...options.config }, options.makeNode)
        : byzantineSetup({
            mode: this.o.mode,
            seed: options.seed,
            f: options.f,
            clients,
            config: { eagerSlots: options.eagerSlots ?? SIM_EAGER_SLOTS, ...options.byzantineConfig },
            adversaries: this.adversaries,
          });
    this.n = this.setup.n;
    this.rng = new SeededRng(options.seed, 0);
    this.faultRng = new SeededRng(options.seed, 1);
    this.checker = new SafetyChecker(options.seed, (command) => this.setup.signedByClient(command));
  }

  private chooseAdversaries(): Map<NodeId, Adversary> {
    const spec = this.o.byzantine;
    const chosen = new Map<NodeId, Adversary>();
    if (spec === undefined || spec.strategies.length === 0) return chosen;
    if (this.o.mode === 'crash') throw new Error('sim: Byzantine nodes need --mode byzantine');
    const n = 3 * this.o.f + 1;
    let ids = spec.nodes;
    if (ids === undefined) {
      const rng = new SeededRng(this.o.seed, 3);
      const pool = [...Array(n).keys()];
      ids = spec.strategies.map(() => pool.splice(rng.int(pool.length), 1)[0]!);
    }
    ids.forEach((id, i) => {
      if (!Number.isInteger(id) || id < 0 || id >= n) throw new Error(`sim: Byzantine node ${id} is not a member (0..${n - 1})`);
      chosen.set(id, spec.strategies[i % spec.strategies.length]!);
    });
    return chosen;
  }

  run(): SimResult {
    this.setUp();
    while (this.completed < this.o.commands && this.livenessFailure === null) {
      const next = this.queue.pop();
      if (next === undefined) break;
      this.now = next.time;
      this.events++;
      this.dispatch(next.event);
    }
    this.checker.checkHistory(this.collectHistory());
    return this.result();
  }

  private setUp(): void {
    const { minMs, maxMs } = this.o.delay;
    for (let a = 0; a < this.n + 1; a++) {
      this.linkDelayMs.push([]);
      for (let b = 0; b < this.n; b++) this.linkDelayMs[a]!.push(minMs + this.rng.next() * (maxMs - minMs));
    }
    for (let id = 0; id < this.n; id++) {
      this.nodes.push({ core: null, storage: new MemoryStorage(), incarnation: 0, timers: new Map() });
      this.boot(id);
    }
    const perClient = Math.floor(this.o.commands / this.o.clients);
    for (let c = 0; c < this.o.clients; c++) {
      const remaining = perClient + (c < this.o.commands % this.o.clients ? 1 : 0);
      const words = new SeededRng(this.o.seed, SESSION_STREAM + c);
      const session = sessionFromWords(words.nextU32(), words.nextU32());
      const client = this.setup.makeClient(c + 1, session, new SeededRng(this.o.seed, 100 + c));
      this.clients.push({ client, remaining, timerGeneration: 0, current: null });
      if (remaining > 0) this.queue.push(this.rng.next() * 20, { kind: 'client-submit', clientId: c });
    }
    this.scheduleFaults();
    this.queue.push(this.o.faultPhaseMs, { kind: 'heal-all' });
  }

  private scheduleFaults(): void {
    const { partition, crash } = this.o.faults;
    const rng = this.faultRng;
    // A partition needs two sides.
    if (partition && this.n > 1) {
      for (let t = 100 + rng.next() * 400; t < this.o.faultPhaseMs; ) {
        const groupA = this.randomProperSubset(rng);
        const healAt = Math.min(this.o.faultPhaseMs, t + 100 + rng.next() * 700);
        this.queue.push(t, { kind: 'partition', groupA, healAt });
        t = healAt + 50 + rng.next() * 400;
      }
    }
    if (crash) {
      for (let t = 100 + rng.next() * 500; t < this.o.faultPhaseMs; t += 100 + rng.next() * 600) {
        this.queue.push(t, { kind: 'crash', node: rng.int(this.n), downMs: 50 + rng.next() * 700 });
      }
    }
  }

  private randomProperSubset(rng: SeededRng): NodeId[] {
    const size = 1 + rng.int(this.n - 1);
    const ids = [...Array(this.n).keys()];
    for (let i = ids.length - 1; i > 0; i--) {
      const j = rng.int(i + 1);
      [ids[i], ids[j]] = [ids[j]!, ids[i]!];
    }
    return ids.slice(0, size).sort((a, b) => a - b);
  }

  // --- events --------------------------------------------------------------------------

  private dispatch(event: SimEvent): void {
    switch (event.kind) {
      case 'deliver':
        return this.deliver(event.to, event.from, event.bytes, event.flowId);
      case 'deliver-client':
        return this.deliverToClient(event.clientId, event.from, event.bytes, event.flowId);
      case 'node-timer': {
        const node = this.nodes[event.node]!;
        if (node.core === null || node.timers.get(event.timer) !== event.generation) return;
        node.timers.delete(event.timer);
        this.note(`n${event.node} timer ${event.timer}`);
        return this.stepNode(event.node, { type: 'timeout', timer: event.timer });
      }
      case 'client-timer': {
        const sc = this.clients[event.clientId]!;
        if (sc.timerGeneration !== event.generation) return;
        return this.runClient(event.clientId, sc.client.onTimeout());
      }
      case 'client-submit':
        return this.submit(event.clientId);
      case 'crash':
        return this.crash(event.node, event.downMs);
      case 'restart':
        return this.restart(event.node);
      case 'partition':
        if (this.healed) return;
        this.partitionSide = new Set(event.groupA);
        this.note(`partition {${event.groupA.map((id) => `n${id}`).join(',')}} | rest`);
        this.flow?.event({ kind: 'partition', atMs: this.now, side: event.groupA });
        this.queue.push(event.healAt, { kind: 'partition-heal' });
        return;
      case 'partition-heal':
        if (this.partitionSide !== null) {
          this.note('partition healed');
          this.flow?.event({ kind: 'partition-heal', atMs: this.now });
        }
        this.partitionSide = null;
        return;
      case 'heal-all':
        this.healed = true;
        this.partitionSide = null;
        this.note('faults end: network healed, crashed nodes restart');
        this.flow?.event({ kind: 'heal-all', atMs: this.now });
        for (let id = 0; id < this.n; id++) if (this.nodes[id]!.core === null) this.restart(id);
        this.clients.forEach((sc, index) => {
          if (sc.current !== null) this.scheduleLivenessCheck(index, sc.current.seq);
        });
        return;
      case 'liveness-check': {
        const current = this.clients[event.clientId]!.current;
        if (current !== null && current.seq === event.seq) {
          const since = Math.max(this.o.faultPhaseMs, current.invokedAt);
          this.livenessFailure = `c${event.clientId + 1}#${event.seq} still incomplete ${this.o.livenessBoundMs}ms after ${since === current.invokedAt ? 'it was submitted' : 'faults healed'}; ${this.completed} of ${this.o.commands} commands completed`;
          this.note(`LIVENESS FAILURE: ${this.livenessFailure}`);
        }
        return;
      }
    }
  }

  private crash(id: NodeId, downMs: number): void {
    const node = this.nodes[id]!;
    // Crashed plus Byzantine nodes never exceed f, unless a run asks for Byzantine ones beyond it.
    if (this.healed || node.core === null || this.crashedCount + this.adversaries.size >= this.o.f) return;
    this.halt(id);
    this.queue.push(Math.min(this.o.faultPhaseMs, this.now + downMs), { kind: 'restart', node: id });
  }

  private halt(id: NodeId): void {
    const node = this.nodes[id]!;
    node.core = null;
    node.timers.clear();
    this.crashedCount++;
    this.note(`n${id} CRASH`);
    this.flow?.event({ kind: 'crash', atMs: this.now, node: id });
  }

  private member(id: NodeId): SimNode {
    const node = this.nodes[id];
    if (node === undefined) throw new RangeError(`sim: node ${id} is not a member (0..${this.n - 1})`);
    return node;
  }

  private restart(id: NodeId): void {
    if (this.nodes[id]!.core !== null) return;
    this.crashedCount--;
    this.coverage.restarts++;
    this.note(`n${id} RESTART from storage`);
    this.flow?.event({ kind: 'restart', atMs: this.now, node: id });
    this.boot(id);
  }

  private boot(id: NodeId): void {
    const node = this.nodes[id]!;
    node.incarnation++;
    const rng = new SeededRng(this.o.seed, 10 + id * 1000 + node.incarnation);
    node.core = this.setup.makeNode(id, node.storage.load(), rng, nodeEntropy(this.o.seed, id, node.incarnation));
    this.o.hooks?.onBoot?.(id, node.core);
    this.apply(id, node.core.start());
  }

  private stepNode(id: NodeId, input: Input): void {
    const core = this.nodes[id]!.core;
    if (core === null) return;
    const wasLeader = core.isLeader;
    this.apply(id, core.step(input));
    if (!wasLeader && core.isLeader) {
      this.coverage.elections++;
      this.note(`n${id} becomes leader of ${formatBallot(core.ballot)}`);
      this.flow?.event({ kind: 'leader', atMs: this.now, node: id, ballot: formatBallot(core.ballot) });
    }
  }

  private apply(id: NodeId, effects: readonly Effect[]): void {
    const node = this.nodes[id]!;
    const core = node.core;
    for (const effect of effects) {
      switch (effect.type) {
        case 'persist':
          node.storage.apply([effect.record]);
          break;
        case 'send':
          this.transmit(id, effect.to, effect.msg);
          break;
        case 'broadcast':
          for (let to = 0; to < this.n; to++) if (to !== id) this.transmit(id, to, effect.msg);
          break;
        case 'reply':
          this.transmitToClient(id, effect.clientId, effect.msg);
          break;
        case 'decide':
          if (this.adversaries.has(id)) break;
          this.checker.recordDecision(id, effect.slot, effect.batch);
          this.flow?.decided(this.now, id, effect.slot, effect.batch.commands.length);
          if (!this.decidedSlots.has(effect.slot)) {
            this.decidedSlots.add(effect.slot);
            this.slotsDecidedSinceWarmup++;
            if (effect.batch.commands.length === 0) this.coverage.noopSlots++;
          }
          for (const command of effect.batch.commands) {
            const key = commandKey(command);
            const slot = this.decidedCommandSlot.get(key);
            if (slot === undefined) this.decidedCommandSlot.set(key, effect.slot);
            else if (slot !== effect.slot) {
              this.decidedCommandSlot.set(key, effect.slot);
              this.coverage.duplicateDecisions++;
            }
            const timing = this.timings.get(key);
            if (timing !== undefined && timing.firstDecidedAt === null) timing.firstDecidedAt = this.now;
          }
          break;
        case 'execute':
          if (!this.adversaries.has(id)) this.checker.recordExecution(id, node.incarnation, effect.command);
          break;
        case 'evidence':
          if (!this.adversaries.has(id)) this.gather(id, effect.evidence);
          break;
        case 'suspicion':
          if (!this.adversaries.has(id)) this.suspicions.push({ reporter: id, ...effect.suspicion, atMs: this.now });
          break;
        case 'setTimer': {
          const generation = ++this.timerGenerations;
          node.timers.set(effect.timer, generation);
          this.queue.push(this.now + effect.delayMs, { kind: 'node-timer', node: id, timer: effect.timer, generation });
          break;
        }
        case 'clearTimer':
          node.timers.delete(effect.timer);
          break;
      }
      this.o.hooks?.onEffect?.(id, effect, this.control);
      // A hook crashed (or crashed and restarted) this node: what it had left to do is lost.
      if (node.core !== core) return;
    }
  }

  /** Keeps each distinct proof once, the first time any honest node produced it. */
  private gather(reporter: NodeId, evidence: Evidence): void {
    const envelopes = evidenceEnvelopes(evidence);
    const id = `${evidence.kind}:${envelopes.map((e) => toHex(e.signature)).sort().join(':')}`;
    if (this.evidenceIds.has(id)) return;
    this.evidenceIds.add(id);
    this.evidence.push({ reporter, culprit: envelopes[0]!.signer, atMs: this.now, evidence });
    this.note(`n${reporter} proves ${evidence.kind} by n${envelopes[0]!.signer}`);
    this.flow?.proved(this.now, reporter, envelopes[0]!.signer, evidence);
  }

  // --- network -------------------------------------------------------------------------

  private transmit(from: NodeId, to: NodeId, msg: PeerMessage): void {
    const bytes = this.encode(msg);
    if (this.partitionSide !== null && this.partitionSide.has(from) !== this.partitionSide.has(to)) {
      this.flow?.sent(this.now, from, to, msg, 'partitioned');
      return this.noteMessage('✗ partitioned', from, `n${to}`, msg, bytes);
    }
    this.sendWithFaults(from, to, msg, bytes, (delay, flowId) => this.queue.push(this.now + delay, { kind: 'deliver', to, from, bytes, flowId }));
  }

  private transmitToClient(from: NodeId, clientId: number, msg: ClientReply): void {
    const bytes = this.encode(msg);
    const index = clientId - 1;
    this.sendWithFaults(from, this.n, msg, bytes, (delay, flowId) =>
      this.queue.push(this.now + delay, { kind: 'deliver-client', clientId: index, from, bytes, flowId }),
    );
  }

  /** `to === n` addresses the clients' side of the network. */
  /** `flowId` names the send in the flow recording (-1 when not recording). */
  private sendWithFaults(from: NodeId, to: number, msg: Message, bytes: Uint8Array, schedule: (delay: number, flowId: number) => void): void {
    const faulty = !this.healed;
    const target = to === this.n ? 'client' : `n${to}`;
    const endpoint = (id: number) => (id === this.n ? CLIENTS : id);
    if (faulty && this.o.faults.drop > 0 && this.rng.next() < this.o.faults.drop) {
      this.flow?.sent(this.now, endpoint(from), endpoint(to), msg, 'dropped');
      return this.noteMessage('✗ dropped', from, target, msg, bytes);
    }
    const copies = faulty && this.o.faults.dup > 0 && this.rng.next() < this.o.faults.dup ? 2 : 1;
    for (let i = 0; i < copies; i++) {
      const delay = this.delay(from, to === this.n ? (from + 1) % this.n : to);
      this.noteMessage(i === 0 ? '→' : '→ dup', from, target, msg, bytes, delay);
      schedule(delay, this.flow?.sent(this.now, endpoint(from), endpoint(to), msg, 'in-flight', i > 0) ?? -1);
    }
  }

  private delay(from: number, to: NodeId): number {
    const base = this.linkDelayMs[from]![to]!;
    let delay = this.o.delay.jitter ? base * (1 + 0.5 * this.rng.next()) : base;
    if (this.o.faults.reorder && !this.healed && this.rng.next() < 0.3) delay += -Math.log(1 - this.rng.next()) * 20;
    return delay;
  }

  private encode(msg: Message): Uint8Array {
    const bytes = encodeMessage(msg);
    // Signed envelopes are counted by what they carry.
    const type = msg.type === 'signed' ? (frameType(msg.payload) ?? 'signed') : msg.type;
    if (type === 'catchup-reply' || type === 'certified-catchup-reply' || type === 'state-parts') this.coverage.catchupReplies++;
    this.messages.count++;
    this.messages.bytes += bytes.length;
    let entry = this.messages.byType.get(type);
    if (entry === undefined) this.messages.byType.set(type, (entry = { count: 0, bytes: 0 }));
    entry.count++;
    entry.bytes += bytes.length;
    return bytes;
  }

  private deliver(to: NodeId, from: NodeId, bytes: Uint8Array, flowId: number): void {
    const msg = this.nodes[to]!.core === null ? null : this.decode(bytes);
    if (msg !== null && msg.type !== 'reply' && this.o.hooks?.onDeliver?.(from, to, msg, this.control) === false) {
      this.flow?.arrived(flowId, this.now, 'lost');
      return this.note(`${sourceOf(from, msg)} ✗ n${to} ${msg.type} lost by a hook`);
    }
    this.flow?.arrived(flowId, this.now, msg === null ? 'lost' : 'delivered');
    if (msg === null) return;
    if (this.o.trace) this.traceLines.push(`${this.stamp()}  ${sourceOf(from, msg)} ⇒ n${to}  ${formatMessage(msg, formatKvOp)}`);
    if (msg.type === 'request') this.stepNode(to, { type: 'request', msg });
    else if (msg.type !== 'reply') this.stepNode(to, { type: 'message', from, msg });
  }

  private decode(bytes: Uint8Array): Message | null {
    try {
      return decodeMessage(bytes);
    } catch (e) {
      if (e instanceof CodecError) return null;
      throw e;
    }
  }

  // --- clients -------------------------------------------------------------------------

  private submit(index: number): void {
    const sc = this.clients[index]!;
    const seq = sc.client.nextSeq;
    const { op, bytes } = this.o.workload === undefined ? encodeRandomKvOp(this.rng, this.o.keys, sc.client.id, seq) : this.scripted(sc.client.id, seq);
    sc.current = { seq, op, invokedAt: this.now };
    this.submitted++;
    this.checker.recordSubmitted({ clientId: sc.client.id, session: sc.client.session, seq, op: bytes });
    this.timings.set(commandKey({ clientId: sc.client.id, session: sc.client.session, seq }), { invokedAt: this.now, firstDecidedAt: null, completedAt: null });
    if (this.healed) this.scheduleLivenessCheck(index, seq);
    this.runClient(index, sc.client.submit(bytes));
  }

  private scripted(clientId: ClientId, seq: number): { op: KvOp; bytes: Uint8Array } {
    const op = this.o.workload!(clientId, seq);
    return { op, bytes: encodeKvOp(op) };
  }

  private scheduleLivenessCheck(index: number, seq: number): void {
    this.queue.push(this.now + this.o.livenessBoundMs, { kind: 'liveness-check', clientId: index, seq });
  }

  private deliverToClient(index: number, from: NodeId, bytes: Uint8Array, flowId: number): void {
    const msg = this.decode(bytes);
    this.flow?.arrived(flowId, this.now, msg === null || msg.type !== 'reply' ? 'lost' : 'delivered');
    if (msg === null || msg.type !== 'reply') return;
    if (this.o.trace) this.traceLines.push(`${this.stamp()}  ⇒ client c${index + 1}  ${formatMessage(msg)}`);
    this.runClient(index, this.clients[index]!.client.onReply(from, msg));
  }

  private runClient(index: number, effects: readonly ClientEffect[]): void {
    const sc = this.clients[index]!;
    for (const effect of effects) {
      switch (effect.type) {
        case 'send':
          this.sendRequest(index, effect.to, effect.msg);
          break;
        case 'setTimer':
          sc.timerGeneration++;
          this.queue.push(this.now + effect.delayMs, { kind: 'client-timer', clientId: index, generation: sc.timerGeneration });
          break;
        case 'complete':
          this.complete(index, effect.result);
          break;
        case 'evicted':
          this.checker.recordEviction(sc.client.id, effect.seq);
          break;
      }
    }
  }

  private sendRequest(index: number, to: NodeId, msg: ClientRequest): void {
    const bytes = this.encode(msg);
    this.sendWithFaults(this.n, to, msg, bytes, (delay, flowId) => this.queue.push(this.now + delay, { kind: 'deliver', to, from: -1, bytes, flowId }));
  }

  private complete(index: number, resultBytes: Uint8Array): void {
    const sc = this.clients[index]!;
    const current = sc.current!;
    sc.timerGeneration++;
    this.completed++;
    const timing = this.timings.get(commandKey({ clientId: sc.client.id, session: sc.client.session, seq: current.seq }))!;
    timing.completedAt = this.now;
    const done: HistoryOp = {
      clientId: sc.client.id,
      seq: current.seq,
      op: current.op,
      invokedAt: current.invokedAt,
      completedAt: this.now,
      result: decodeKvResult(resultBytes),
    };
    this.history.push(done);
    sc.current = null;
    sc.remaining--;
    if (this.completed === this.o.warmupCommands) {
      this.messages = { count: 0, bytes: 0, byType: new Map() };
      this.slotsDecidedSinceWarmup = 0;
      this.signaturesAtWarmup = this.setup.signatureCounts();
    }
    if (sc.remaining > 0) this.queue.push(this.now + this.rng.next() * this.o.thinkMs, { kind: 'client-submit', clientId: index });
    this.o.hooks?.onClientComplete?.(done, this.control);
  }

  private collectHistory(): HistoryOp[] {
    const pending: HistoryOp[] = [];
    for (const sc of this.clients) {
      if (sc.current === null) continue;
      const { seq, op, invokedAt } = sc.current;
      pending.push({ clientId: sc.client.id, seq, op, invokedAt, completedAt: null, result: null });
    }
    return [...this.history, ...pending];
  }

  // --- trace ---------------------------------------------------------------------------

  private stamp(): string {
    return `${this.now.toFixed(3).padStart(10)}ms`;
  }

  private note(text: string): void {
    this.hasher.update(utf8(`${this.now}|${text}\n`));
    if (this.o.trace) this.traceLines.push(`${this.stamp()}  -- ${text}`);
  }

  private noteMessage(verb: string, from: number, target: string, msg: Message, bytes: Uint8Array, delay?: number): void {
    const source = from === this.n ? 'client' : `n${from}`;
    this.hasher.update(utf8(`${this.now}|${source}|${target}|${verb}|${delay ?? ''}\n`));
    this.hasher.update(bytes);
    if (this.o.trace && verb !== '→') this.traceLines.push(`${this.stamp()}  ${source} ${verb} ${target}  ${formatMessage(msg, formatKvOp)}`);
  }

  private result(): SimResult {
    const decided = [...this.timings.values()].filter((t) => t.firstDecidedAt !== null).length;
    const livenessFailure =
      this.livenessFailure ?? (this.completed === this.o.commands ? null : `${this.o.commands - this.completed} of ${this.o.commands} commands never completed`);
    return {
      seed: this.o.seed,
      n: this.n,
      f: this.o.f,
      decided,
      completed: this.completed,
      submitted: this.submitted,
      safetyViolations: this.checker.violations,
      livenessFailure,
      traceHash: this.hasher.digestHex(),
      trace: this.traceLines,
      flow: this.flow?.finish({ mode: this.o.mode, seed: this.o.seed, n: this.n, f: this.o.f, endMs: this.now, byzantine: this.adversaries }) ?? null,
      endTimeMs: this.now,
      events: this.events,
      messages: this.messages,
      slotsDecided: this.slotsDecidedSinceWarmup,
      signatures: {
        signs: this.setup.signatureCounts().signs - this.signaturesAtWarmup.signs,
        verifies: this.setup.signatureCounts().verifies - this.signaturesAtWarmup.verifies,
      },
      coverage: this.coverage,
      evidence: this.evidence,
      suspicions: this.suspicions,
      timings: this.timings,
      byzantineNodes: [...this.adversaries.keys()],
      cluster: this.setup.cluster,
      replayCommand: this.replayCommand(),
    };
  }

  private replayCommand(): string {
    const { mode, f, seed, commands, faults, replayArgs } = this.o;
    const args = [`npx byzpaxos sim --mode ${mode} --f ${f} --seed-start ${seed} --seeds 1 --commands ${commands} --faults ${formatFaults(faults)}`];
    const builtIn = (this.o.byzantine?.strategies ?? []).filter((s) => adversaryNamed(s.name) === s).map((s) => s.name);
    if (builtIn.length > 0) args.push(`--adversary ${builtIn.join(',')}`);
    // The ids actually used, in dealing order, so a replay is exact even when the seed picked them.
    if (this.adversaries.size > 0) args.push(`--byzantine ${[...this.adversaries.keys()].join(',')}`);
    if (this.adversaries.size > f) args.push('--beyond-bound');
    if (this.o.eagerSlots !== undefined) args.push(`--eager-slots ${this.o.eagerSlots}`);
    if (replayArgs !== '') args.push(replayArgs);
    args.push('--trace');
    return args.join(' ');
  }
}

function sourceOf(from: NodeId, msg: Message): string {
  return msg.type === 'request' ? `c${msg.command.clientId}` : `n${from}`;
}

const encoder = new TextEncoder();
/** The rng stream each client's session id is drawn from (SESSION_STREAM + client index). */
const SESSION_STREAM = 1 << 20;
function utf8(text: string): Uint8Array {
  return encoder.encode(text);
}

