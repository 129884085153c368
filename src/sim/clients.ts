// The simulated clients: one session each, submitting its share of the workload (scripted or
// random) one command at a time with think time between, retrying through the real Client, and
// checked for liveness once faults heal. What they saw is the history the linearizability check reads.
import { decodeKvResult, encodeKvOp, type KvOp } from '../app/kv.ts';
import { commandKey, type ClientId, type NodeId } from '../base/types.ts';
import { sessionFromWords } from '../core/client.ts';
import { SeededRng } from '../core/rng.ts';
import type { ClientReply } from '../messages/types.ts';
import type { SafetyChecker } from './checker.ts';
import { SimSession } from './client-session.ts';
import type { HistoryOp } from './linearizability.ts';
import type { ModeSetup } from './modes.ts';
import type { Network } from './network.ts';
import type { SimControl } from './sim-options.ts';
import type { CommandTiming } from './sim-result.ts';
import type { SimTrace } from './sim-trace.ts';
import { encodeRandomKvOp } from './workload.ts';
import type { World } from './world.ts';

/** The rng stream each client's session id is drawn from (SESSION_STREAM + client index). */
const SESSION_STREAM = 1 << 20;

interface SimClient {
  readonly session: SimSession;
  remaining: number;
  current: { seq: number; op: KvOp; invokedAt: number } | null;
}

export class Clients {
  /** Every command submitted, by commandKey; the members' decisions fill in firstDecidedAt. */
  readonly timings = new Map<string, CommandTiming>();
  submitted = 0;
  completed = 0;
  livenessFailure: string | null = null;
  private readonly w: World;
  private readonly trace: SimTrace;
  private readonly network: Network;
  private readonly checker: SafetyChecker;
  private readonly control: SimControl;
  /** Runs once warmupCommands commands completed. */
  private readonly warmedUp: () => void;
  private readonly sessions: SimClient[] = [];
  private readonly history: HistoryOp[] = [];

  constructor(world: World, trace: SimTrace, network: Network, checker: SafetyChecker, control: SimControl, warmedUp: () => void) {
    this.w = world;
    this.trace = trace;
    this.network = network;
    this.checker = checker;
    this.control = control;
    this.warmedUp = warmedUp;
  }

  /** Opens every client's session and schedules its first command; the workload is shared out evenly. */
  open(makeClient: ModeSetup['makeClient']): void {
    const { seed, commands, clients } = this.w.o;
    const perClient = Math.floor(commands / clients);
    for (let c = 0; c < clients; c++) {
      const remaining = perClient + (c < commands % clients ? 1 : 0);
      const words = new SeededRng(seed, SESSION_STREAM + c);
      const session = sessionFromWords(words.nextU32(), words.nextU32());
      const client = makeClient(c + 1, session, new SeededRng(seed, 100 + c));
      const outcomes = { complete: (result: Uint8Array) => this.complete(c, result), evicted: (seq: number) => this.checker.recordEviction(client.id, seq), refused: () => this.refused(c) };
      this.sessions.push({ session: new SimSession(client, c, this.w, this.network, outcomes), remaining, current: null });
      if (remaining > 0) this.w.queue.push(this.w.rng.next() * 20, { kind: 'client-submit', clientId: c });
    }
  }

  submit(index: number): void {
    const sc = this.sessions[index]!;
    const { client } = sc.session;
    const seq = client.nextSeq;
    const { op, bytes } = this.w.o.workload === undefined ? encodeRandomKvOp(this.w.rng, this.w.o.keys, client.id, seq) : this.scripted(client.id, seq);
    sc.current = { seq, op, invokedAt: this.w.now };
    this.submitted++;
    this.checker.recordSubmitted({ clientId: client.id, session: client.session, seq, op: bytes });
    this.timings.set(commandKey({ clientId: client.id, session: client.session, seq }), { invokedAt: this.w.now, firstDecidedAt: null, completedAt: null });
    if (this.w.healed) this.scheduleLivenessCheck(index, seq);
    sc.session.submit(bytes);
  }

  timeout(index: number, generation: number): void {
    this.sessions[index]!.session.timeout(generation);
  }

  arrive(index: number, from: NodeId, reply: ClientReply): void {
    this.sessions[index]!.session.arrive(from, reply);
  }

  /** Faults ended: every command still in progress must now complete within the bound. */
  heal(): void {
    this.sessions.forEach((sc, index) => {
      if (sc.current !== null) this.scheduleLivenessCheck(index, sc.current.seq);
    });
  }

  checkLiveness(index: number, seq: number): void {
    const current = this.sessions[index]!.current;
    if (current !== null && current.seq === seq) {
      const { faultPhaseMs, livenessBoundMs, commands } = this.w.o;
      const since = Math.max(faultPhaseMs, current.invokedAt);
      this.livenessFailure = `c${index + 1}#${seq} still incomplete ${livenessBoundMs}ms after ${since === current.invokedAt ? 'it was submitted' : 'faults healed'}; ${this.completed} of ${commands} commands completed`;
      this.trace.note(`LIVENESS FAILURE: ${this.livenessFailure}`);
    }
  }

  /** What the clients observed: completed commands, then those still pending. */
  collectHistory(): HistoryOp[] {
    const pending: HistoryOp[] = [];
    for (const sc of this.sessions) {
      if (sc.current === null) continue;
      const { seq, op, invokedAt } = sc.current;
      pending.push({ clientId: sc.session.client.id, seq, op, invokedAt, completedAt: null, result: null });
    }
    return [...this.history, ...pending];
  }

  private scripted(clientId: ClientId, seq: number): { op: KvOp; bytes: Uint8Array } {
    const op = this.w.o.workload!(clientId, seq);
    return { op, bytes: encodeKvOp(op) };
  }

  private scheduleLivenessCheck(index: number, seq: number): void {
    this.w.queue.push(this.w.now + this.w.o.livenessBoundMs, { kind: 'liveness-check', clientId: index, seq });
  }

  /** The replicas refused the op (never decided, so it has no place in the history): the client goes on to its next one. */
  private refused(index: number): void {
    const sc = this.sessions[index]!;
    sc.current = null;
    sc.remaining--;
    if (sc.remaining > 0) this.w.queue.push(this.w.now + this.w.rng.next() * this.w.o.thinkMs, { kind: 'client-submit', clientId: index });
  }

  private complete(index: number, resultBytes: Uint8Array): void {
    const sc = this.sessions[index]!;
    const { client } = sc.session;
    const current = sc.current!;
    this.completed++;
    const timing = this.timings.get(commandKey({ clientId: client.id, session: client.session, seq: current.seq }))!;
    timing.completedAt = this.w.now;
    const done: HistoryOp = {
      clientId: client.id,
      seq: current.seq,
      op: current.op,
      invokedAt: current.invokedAt,
      completedAt: this.w.now,
      result: decodeKvResult(resultBytes),
    };
    this.history.push(done);
    sc.current = null;
    sc.remaining--;
    if (this.completed === this.w.o.warmupCommands) this.warmedUp();
    if (sc.remaining > 0) this.w.queue.push(this.w.now + this.w.rng.next() * this.w.o.thinkMs, { kind: 'client-submit', clientId: index });
    this.w.o.hooks?.onClientComplete?.(done, this.control);
  }
}
