// `byzpaxos demo`: a short story of a crash-mode cluster (n=3, f=1), told from what the pure
// core actually does. It drives PaxosNode through a small deterministic driver of its own:
// a virtual clock, fixed link delays, one client and one scripted crash, so the story stays
// readable; the simulator is where faults are explored at random.
import { decodeKvResult, encodeKvOp, KvStore, type KvOp } from '../app/kv.ts';
import { ballotEquals, compareBallots, formatBallot, type Ballot } from '../core/ballot.ts';
import { Client, type ClientEffect } from '../core/client.ts';
import { defaultConfig } from '../core/config.ts';
import type { Effect, Input, TimerName } from '../core/effects.ts';
import { PaxosNode } from '../core/node.ts';
import { SeededRng } from '../core/rng.ts';
import { commandKey, type Batch, type NodeId, type Slot } from '../core/types.ts';
import { batchDigest, decodeMessage, encodeMessage } from '../messages/codec.ts';
import { formatBatch } from '../messages/format.ts';
import type { ClientReply, Message } from '../messages/types.ts';
import { SafetyChecker } from '../sim/checker.ts';
import { EventQueue } from '../sim/event-queue.ts';
import type { HistoryOp } from '../sim/linearizability.ts';
import { formatKvOp } from '../sim/simulator.ts';
import { MemoryStorage } from '../storage/memory.ts';
import { toHex } from '../../crypto/digest.ts';
import { parseOptions } from './args.ts';

const SEED = 7;
const F = 1;
const CLIENT_ID = 1;
const PEER_LINK_MS = 2;
const CLIENT_LINK_MS = 1;
const CLIENT_RETRY_MS = 150;
/** Virtual time any one step of the story may take before the demo gives up. */
const STEP_LIMIT_MS = 5_000;

const put = (key: string, value: string): KvOp => ({ type: 'put', key, value });
const get = (key: string): KvOp => ({ type: 'get', key });

/** The story's expectations failed: exit 1 with this reason. */
class DemoFailure extends Error {}

export function runDemo(argv: readonly string[]): number {
  parseOptions('demo', argv, {});
  const say = (line: string) => process.stdout.write(`${line}\n`);
  try {
    tell(new Cluster(say), say);
    return 0;
  } catch (e) {
    if (!(e instanceof DemoFailure)) throw e;
    process.stderr.write(`byzpaxos: demo failed: ${e.message}\n`);
    return 1;
  }
}

function tell(cluster: Cluster, say: (line: string) => void): void {
  const { n, f, phase1, phase2 } = cluster.quorums;
  say(`byzpaxos demo: crash-mode Multi-Paxos, n=${n} nodes, tolerates f=${f} crash, quorums ${phase1}/${phase2}, virtual time`);

  say('(1) leader election');
  cluster.runUntil(() => cluster.leader(), 'a leader to be elected');

  say('(2) clients are served');
  for (const op of [put('x', '1'), put('y', '2'), get('x')]) cluster.serve(op);

  const old = cluster.runUntil(() => cluster.leader(), 'a leader');
  say(`(3) the leader n${old} crashes`);
  const inFlightOp = put('z', '3');
  const inFlight = cluster.submit(inFlightOp);
  const { slot, acceptors } = cluster.runUntil(() => cluster.acceptedByFollower(old, inFlight), 'a follower to accept');
  cluster.crash(old);
  const decidedOn = cluster.decidedOn(slot);
  say(
    `${cluster.stamp()}  n${old} proposed slot ${slot} = ${opText(inFlightOp)}, ${nodes(acceptors)} accepted it; ` +
      `n${old} CRASHES, decided ${decidedOn.length === 0 ? 'nowhere' : `on ${nodes(decidedOn)}`} (its messages in flight are lost)`,
  );

  say('(4) failover: a new leader runs phase 1 and finishes what the old one left');
  const successor = cluster.runUntil(() => cluster.leader(), 'a new leader to be elected');
  cluster.finish(inFlight);
  for (const op of [{ type: 'cas', key: 'x', expected: '1', value: '4' } as const, get('z')]) cluster.serve(op);

  say(`(5) n${old} restarts from its store and catches up`);
  cluster.restart(old);
  cluster.runUntil(() => cluster.inSync(), `n${old} to catch up`);
  say(`${cluster.stamp()}  n${old} is in sync: executed slots 0..${cluster.executedUpTo(successor) - 1} like the others`);
  cluster.serve({ type: 'delete', key: 'y' });

  say('(6) final check');
  cluster.check();
}

interface DemoNode {
  core: PaxosNode | null;
  app: KvStore;
  readonly storage: MemoryStorage;
  /** Bumped on crash and on boot: messages sent by an earlier incarnation are lost. */
  incarnation: number;
  readonly timers: Map<TimerName, number>;
}

type DemoEvent =
  | { kind: 'deliver'; to: NodeId; from: NodeId; incarnation: number; bytes: Uint8Array }
  | { kind: 'request'; to: NodeId; bytes: Uint8Array }
  | { kind: 'reply'; from: NodeId; incarnation: number; bytes: Uint8Array }
  | { kind: 'node-timer'; node: NodeId; timer: TimerName; generation: number }
  | { kind: 'client-timer'; generation: number }
  | { kind: 'deadline'; token: number };

interface Outcome {
  readonly op: KvOp;
  readonly invokedAt: number;
  completedAt: number | null;
  result: Uint8Array | null;
  /** First slot the command executed in, and by which nodes. */
  slot: Slot | null;
  readonly executedBy: Set<NodeId>;
  /** Replicas whose acceptor accepted the command, and in which slot. */
  readonly acceptedBy: Map<NodeId, Slot>;
  redirects: number;
  timeouts: number;
}

class Cluster {
  private readonly config = defaultConfig(F);
  readonly quorums = this.config.quorums;
  private readonly queue = new EventQueue<DemoEvent>();
  private readonly nodes: DemoNode[] = [];
  private readonly client = new Client(CLIENT_ID, this.quorums.n, new SeededRng(SEED, 100), CLIENT_RETRY_MS);
  private clientTimer = 0;
  private timerGenerations = 0;
  private deadlines = 0;
  private now = 0;
  private readonly checker = new SafetyChecker(SEED);
  private readonly outcomes = new Map<string, Outcome>();
  private readonly history: HistoryOp[] = [];
  private readonly decisions = new Map<Slot, Set<NodeId>>();
  /** Every ballot and batch digest proposed per slot, to tell a re-proposal from a fresh one. */
  private readonly proposals = new Map<Slot, { ballot: Ballot; digestHex: string }[]>();
  /** Remote promises received, by ballot. */
  private readonly promises = new Map<string, NodeId[]>();
  private readonly say: (line: string) => void;

  constructor(say: (line: string) => void) {
    this.say = say;
    for (let id = 0; id < this.quorums.n; id++) {
      this.nodes.push({ core: null, app: new KvStore(), storage: new MemoryStorage(), incarnation: 0, timers: new Map() });
      this.boot(id);
    }
  }

  stamp(): string {
    return `${this.now.toFixed(1).padStart(8)}ms`;
  }

  /** Advances virtual time until `probe` yields a value (not null or false); a DemoFailure after STEP_LIMIT_MS. */
  runUntil<T>(probe: () => T | null | false, what: string): T {
    const token = ++this.deadlines;
    this.queue.push(this.now + STEP_LIMIT_MS, { kind: 'deadline', token });
    for (let found = probe(); ; found = probe()) {
      if (found !== null && found !== false) return found;
      // Never empty: this call's deadline is still queued.
      const next = this.queue.pop()!;
      this.now = next.time;
      if (next.event.kind === 'deadline' && next.event.token === token) {
        throw new DemoFailure(`${what} did not happen within ${STEP_LIMIT_MS}ms`);
      }
      this.dispatch(next.event);
    }
  }

  /** Live leader with the highest ballot, or null. */
  leader(): NodeId | null {
    let best: PaxosNode | null = null;
    for (const { core } of this.nodes) {
      if (core?.isLeader && (best === null || compareBallots(core.proposer.ballot, best.proposer.ballot) > 0)) best = core;
    }
    return best?.id ?? null;
  }

  submit(op: KvOp): string {
    const seq = this.client.nextSeq;
    const bytes = encodeKvOp(op);
    const key = commandKey({ clientId: CLIENT_ID, seq });
    this.checker.recordSubmitted({ clientId: CLIENT_ID, seq, op: bytes });
    this.outcomes.set(key, {
      op,
      invokedAt: this.now,
      completedAt: null,
      result: null,
      slot: null,
      executedBy: new Set(),
      acceptedBy: new Map(),
      redirects: 0,
      timeouts: 0,
    });
    this.runClient(this.client.submit(bytes));
    return key;
  }

  serve(op: KvOp): void {
    this.finish(this.submit(op));
  }

  /** Waits for the reply and for every live replica to execute the command, then reports it. */
  finish(key: string): void {
    const outcome = this.outcomes.get(key)!;
    const what = opText(outcome.op);
    this.runUntil(() => outcome.completedAt !== null, `${what} to complete`);
    this.runUntil(() => this.nodes.every((node, id) => node.core === null || outcome.executedBy.has(id)), `${what} to execute everywhere`);
    this.report(outcome);
  }

  private report(o: Outcome): void {
    const detours = [
      ...(o.redirects > 0 ? [`${o.redirects} redirect${o.redirects > 1 ? 's' : ''}`] : []),
      ...(o.timeouts > 0 ? [`${o.timeouts} client timeout${o.timeouts > 1 ? 's' : ''}`] : []),
    ];
    this.say(
      `${this.stamp()}  c${CLIENT_ID} ${opText(o.op).padEnd(10)} → slot ${o.slot}, executed on ${nodes([...o.executedBy])}` +
        ` → ${formatResult(o.op, o.result!)}${detours.length > 0 ? ` (${detours.join(', ')})` : ''}`,
    );
  }

  /** The slot and acceptors once some replica other than `leader` accepted the command. */
  acceptedByFollower(leader: NodeId, key: string): { slot: Slot; acceptors: NodeId[] } | null {
    const accepted = this.outcomes.get(key)!.acceptedBy;
    const acceptors = [...accepted.keys()].filter((id) => id !== leader);
    return acceptors.length === 0 ? null : { slot: accepted.get(acceptors[0]!)!, acceptors };
  }

  decidedOn(slot: Slot): NodeId[] {
    return [...(this.decisions.get(slot) ?? [])];
  }

  crash(id: NodeId): void {
    const node = this.nodes[id]!;
    node.core = null;
    node.incarnation++;
    node.timers.clear();
  }

  restart(id: NodeId): void {
    const state = this.nodes[id]!.storage.load();
    const replayed = this.boot(id).filter((e) => e.type === 'execute').length;
    this.say(
      `${this.stamp()}  n${id} restarts from its store: promised ${formatBallot(state.promised)}, ` +
        `${state.decided.size} decided slots (${replayed} commands replayed), ${state.accepted.size} accepted pvalues`,
    );
  }

  executedUpTo(id: NodeId): Slot {
    return this.nodes[id]!.core?.replica.executedUpTo ?? 0;
  }

  /** Every replica is up and has executed as far as any has decided. */
  inSync(): boolean {
    const cores = this.nodes.map((node) => node.core);
    if (cores.some((core) => core === null)) return false;
    const decided = Math.max(...cores.map((core) => core!.learner.firstUndecided));
    return cores.every((core) => core!.replica.executedUpTo === decided);
  }

  check(): void {
    this.checker.checkHistory(this.history);
    const digests = this.nodes.map((node) => toHex(node.core!.replica.stateDigest()));
    const upTo = this.nodes.map((node) => node.core!.replica.executedUpTo);
    const same = digests.every((d) => d === digests[0]) && upTo.every((u) => u === upTo[0]);
    this.say(
      same
        ? `${this.stamp()}  n0..n${this.nodes.length - 1} executed slots 0..${upTo[0]! - 1}, identical state digest ${digests[0]!.slice(0, 16)}…`
        : `${this.stamp()}  replicas DIVERGE: ${this.nodes.map((_, i) => `n${i} slots<${upTo[i]} ${digests[i]!.slice(0, 12)}`).join(', ')}`,
    );
    if (same) {
      const store = this.nodes[0]!.app;
      const keys = [...new Set(this.history.map((h) => h.op.key))].sort();
      this.say(`${this.stamp()}  store on every replica: ${keys.map((k) => `${k}=${store.get(k) ?? '∅'}`).join(' ')}`);
    }
    const violations = this.checker.violations;
    this.say(
      violations.length === 0
        ? `${this.stamp()}  safety checker (agreement, validity, exactly-once, linearizability): no violations`
        : `${this.stamp()}  safety checker: ${violations.map((v) => `${v.kind}: ${v.detail}`).join('; ')}`,
    );
    if (!same) throw new DemoFailure('replicas ended in different states');
    if (violations.length > 0) throw new DemoFailure(`safety violation: ${violations[0]!.kind}: ${violations[0]!.detail}`);
  }

  // --- driver ------------------------------------------------------------------------------

  private boot(id: NodeId): Effect[] {
    const node = this.nodes[id]!;
    node.incarnation++;
    node.app = new KvStore();
    const rng = new SeededRng(SEED, 10 + id * 1000 + node.incarnation);
    node.core = new PaxosNode({ id, config: this.config, state: node.storage.load(), rng, app: node.app });
    const effects = node.core.start();
    this.apply(id, effects);
    return effects;
  }

  private dispatch(event: DemoEvent): void {
    switch (event.kind) {
      case 'deliver': {
        if (this.nodes[event.from]!.incarnation !== event.incarnation) return;
        const msg = decodeMessage(event.bytes);
        if (msg.type === 'request' || msg.type === 'reply') return;
        if (msg.type === 'promise') this.notePromise(event.from, msg.ballot);
        if (msg.type === 'catchup-reply' && msg.entries.length > 0 && this.nodes[event.to]!.core !== null) {
          const slots = msg.entries.map((e) => e.slot);
          this.say(`${this.stamp()}  n${event.to} learns slots ${Math.min(...slots)}..${Math.max(...slots)} from n${event.from} (catch-up)`);
        }
        return this.step(event.to, { type: 'message', from: event.from, msg });
      }
      case 'request': {
        const msg = decodeMessage(event.bytes);
        if (msg.type === 'request') this.step(event.to, { type: 'request', msg });
        return;
      }
      case 'reply': {
        if (this.nodes[event.from]!.incarnation !== event.incarnation) return;
        const msg = decodeMessage(event.bytes) as ClientReply;
        const effects = this.client.onReply(event.from, msg);
        if (msg.status === 'redirect' && effects.some((e) => e.type === 'send')) this.outcome(msg.seq).redirects++;
        return this.runClient(effects);
      }
      case 'node-timer': {
        const node = this.nodes[event.node]!;
        if (node.core === null || node.timers.get(event.timer) !== event.generation) return;
        node.timers.delete(event.timer);
        return this.step(event.node, { type: 'timeout', timer: event.timer });
      }
      case 'client-timer': {
        if (event.generation !== this.clientTimer) return;
        const effects = this.client.onTimeout();
        if (effects.length > 0) this.outcome(this.client.nextSeq - 1).timeouts++;
        return this.runClient(effects);
      }
      case 'deadline':
        return;
    }
  }

  private step(id: NodeId, input: Input): void {
    const core = this.nodes[id]!.core;
    if (core === null) return;
    const wasLeader = core.isLeader;
    const effects = core.step(input);
    this.apply(id, effects);
    if (!wasLeader && core.isLeader) this.narrateElection(core, effects);
  }

  private apply(id: NodeId, effects: readonly Effect[]): void {
    const node = this.nodes[id]!;
    for (const effect of effects) {
      switch (effect.type) {
        case 'persist':
          node.storage.apply([effect.record]);
          if (effect.record.type === 'accepted') this.noteAccepted(id, effect.record.pvalue.slot, effect.record.pvalue.batch);
          break;
        case 'send':
          this.transmit(id, effect.to, effect.msg);
          break;
        case 'broadcast':
          if (effect.msg.type === 'prepare') {
            this.say(`${this.stamp()}  n${id} hears no leader: phase 1, Prepare ${formatBallot(effect.msg.ballot)} from slot ${effect.msg.fromSlot}`);
          }
          if (effect.msg.type === 'accept') this.noteProposal(effect.msg.slot, effect.msg.ballot, effect.msg.batch);
          for (let to = 0; to < this.nodes.length; to++) if (to !== id) this.transmit(id, to, effect.msg);
          break;
        case 'reply':
          this.queue.push(this.now + CLIENT_LINK_MS, { kind: 'reply', from: id, incarnation: node.incarnation, bytes: encodeMessage(effect.msg) });
          break;
        case 'decide':
          this.checker.recordDecision(id, effect.slot, effect.batch);
          this.decisions.set(effect.slot, (this.decisions.get(effect.slot) ?? new Set()).add(id));
          break;
        case 'execute': {
          this.checker.recordExecution(id, node.incarnation, effect.command);
          const outcome = this.outcomes.get(commandKey(effect.command));
          if (outcome !== undefined) {
            outcome.slot ??= effect.slot;
            outcome.executedBy.add(id);
          }
          break;
        }
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
    }
  }

  private transmit(from: NodeId, to: NodeId, msg: Message): void {
    const incarnation = this.nodes[from]!.incarnation;
    this.queue.push(this.now + PEER_LINK_MS, { kind: 'deliver', to, from, incarnation, bytes: encodeMessage(msg) });
  }

  private runClient(effects: readonly ClientEffect[]): void {
    for (const effect of effects) {
      switch (effect.type) {
        case 'send':
          this.queue.push(this.now + CLIENT_LINK_MS, { kind: 'request', to: effect.to, bytes: encodeMessage(effect.msg) });
          break;
        case 'setTimer':
          this.queue.push(this.now + effect.delayMs, { kind: 'client-timer', generation: ++this.clientTimer });
          break;
        case 'complete': {
          this.clientTimer++;
          const outcome = this.outcome(effect.seq);
          outcome.completedAt = this.now;
          outcome.result = effect.result;
          this.history.push({
            clientId: CLIENT_ID,
            seq: effect.seq,
            op: outcome.op,
            invokedAt: outcome.invokedAt,
            completedAt: this.now,
            result: decodeKvResult(effect.result),
          });
          break;
        }
      }
    }
  }

  private outcome(seq: number): Outcome {
    return this.outcomes.get(commandKey({ clientId: CLIENT_ID, seq }))!;
  }

  // --- narration ---------------------------------------------------------------------------

  private notePromise(from: NodeId, ballot: Ballot): void {
    const key = formatBallot(ballot);
    this.promises.set(key, [...(this.promises.get(key) ?? []), from]);
  }

  private noteAccepted(id: NodeId, slot: Slot, batch: Batch): void {
    for (const command of batch.commands) this.outcomes.get(commandKey(command))?.acceptedBy.set(id, slot);
  }

  private noteProposal(slot: Slot, ballot: Ballot, batch: Batch): void {
    this.proposals.set(slot, [...(this.proposals.get(slot) ?? []), { ballot, digestHex: toHex(batchDigest(batch)) }]);
  }

  /** Who promised, and what the new leader's phase 1 made it (re-)propose. */
  private narrateElection(core: PaxosNode, effects: readonly Effect[]): void {
    const ballot = core.proposer.ballot;
    const promisers = [...(ballotEquals(core.acceptor.promised, ballot) ? [core.id] : []), ...(this.promises.get(formatBallot(ballot)) ?? [])];
    this.say(`${this.stamp()}  n${core.id} leads ballot ${formatBallot(ballot)}: promises from ${nodes(promisers)}`);
    for (const effect of effects) {
      if (effect.type !== 'broadcast' || effect.msg.type !== 'accept' || !ballotEquals(effect.msg.ballot, ballot)) continue;
      const { slot, batch } = effect.msg;
      const digestHex = toHex(batchDigest(batch));
      const earlier = this.proposals.get(slot)?.find((p) => p.digestHex === digestHex && !ballotEquals(p.ballot, ballot));
      const what = formatBatch(batch, formatKvOp);
      this.say(
        earlier !== undefined
          ? `${this.stamp()}  n${core.id} re-proposes slot ${slot} = ${what}, first proposed under ${formatBallot(earlier.ballot)}`
          : `${this.stamp()}  n${core.id} proposes slot ${slot} = ${what} (no value reported in phase 1)`,
      );
    }
  }
}

function opText(op: KvOp): string {
  return formatKvOp(encodeKvOp(op));
}

function nodes(ids: readonly NodeId[]): string {
  return [...ids].sort((a, b) => a - b).map((id) => `n${id}`).join(' ');
}

function formatResult(op: KvOp, bytes: Uint8Array): string {
  const { ok, value } = decodeKvResult(bytes);
  const shown = value ?? '∅';
  switch (op.type) {
    case 'put':
      return `ok (was ${shown})`;
    case 'get':
      return `${op.key} = ${shown}`;
    case 'delete':
      return ok ? `deleted (was ${shown})` : 'absent';
    case 'cas':
      return ok ? `ok (was ${shown})` : `failed (${op.key} = ${shown})`;
  }
}
