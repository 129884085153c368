// The node runtime: the one event loop of a deployed member. It drives the pure protocol core
// (ProtocolNode) with real timers, a Transport and a Storage, exactly as the simulator drives it
// with virtual ones (etcd raft's loop: step, persist, send, apply), with group commit:
//
//   inputs (decoded messages, client requests, timer fires) wait in a bounded queue; one drain
//   per macrotask (setImmediate) takes at most DRAIN_INPUTS_MAX of them (or DRAIN_MS_MAX of
//   stepping), and
//   1. steps each through node.step, in arrival order; timers are set and cleared at once;
//   2. hands every `persist` record of the whole drain to storage.apply in ONE call (one
//      transaction, one fsync), and only then
//   3. performs the drain's sends, broadcasts and replies, and reports its decide/execute/
//      evidence/suspicion/view-change events, in the order the steps made them; then flushes
//      the transport, so the drain's messages leave before anything else is read.
//   Every persist is durable before any message that follows it leaves (effects.ts): a send only
//   waits longer. Under load, one fsync covers many protocol steps instead of one each.
//
// Bad input never throws out of the runtime: it is counted in rejected{reason} and logged at
// debug. An exception inside the core or the storage is a bug or a broken disk: the runtime logs
// it at error level with the input that caused it and stops the node (fail loudly).
import { createNodeMetrics, type NodeMetrics } from './node-metrics.ts';
import { makeNode, type ModeBuild } from '../modes/build.ts';
import type { Mode } from '../base/mode.ts';
import type { Ballot, Batch, ClientId, Command, NodeId, Slot } from '../base/types.ts';
import { performance } from 'node:perf_hooks';
import { ballotEquals } from '../base/ballot.ts';
import { RECONFIG_WINDOW_SLOTS } from '../base/limits.ts';
import { mustSync, type Effect, type Input, type PersistRecord, type TimerName } from '../core/effects.ts';
import type { ProtocolNode } from '../core/protocol.ts';
import { SeededRng } from '../core/rng.ts';
import type { Evidence, Suspicion } from '../messages/evidence.ts';
import { CodecError, decodeWireMessage, encodeMessage, frameType } from '../messages/codec.ts';
import type { ClientRequest, KnownConfiguration, PeerMessage, StatusCounts, StatusReply, StatusRequest, WireMessage } from '../messages/types.ts';
import { PaxosNode } from '../core/node.ts';
import type { Learner } from '../core/learner.ts';
import { isMembershipOp, type Membership } from '../core/configuration.ts';
import type { Storage } from '../core/storage.ts';
import type { PeerName, Transport } from '../transport/transport.ts';
import { buildDeployment, clientName, memberName, parsePeerName, requireKeyMatches, type Deployment } from './build.ts';
import { silentLogger, type Logger } from './log.ts';
import { serveMetrics, type MetricsServer } from './metrics.ts';
import { RequestLatency } from './request-latency.ts';
import { collectPeerMetrics } from './peer-metrics.ts';
import type { SignatureBackend } from '../../crypto/ed25519.ts';
import { systemEntropy } from '../../crypto/entropy.ts';
import type { Adversary } from '../adversary/adversary.ts';
import { CLIENTS } from '../trace/flow-trace.ts';
import type { MemberTraceRecorder } from '../trace/member-trace.ts';

/** Storage as the runtime uses it; a durable one closes its files on stop. */
export interface RuntimeStorage extends Storage {
  close?(): void | Promise<void>;
}

export type MessageHandler = (from: PeerName, message: Uint8Array) => void;

/** Opens the transport, delivering every received message to `onMessage`. */
export type TransportFactory = (onMessage: MessageHandler) => Transport | Promise<Transport>;

/** Why a received message never reached the core. */
export type RejectReason =
  /** Not a well-formed wire message (CodecError). */
  | 'decode'
  /** The transport named a peer that is neither a member nor a client of this deployment. */
  | 'unknown-peer'
  /** A message that claims to come from this node itself. */
  | 'self'
  /** A member sent a client's message type (request, reply, status). */
  | 'client-type-from-member'
  /** A client sent anything but a request or a status request. */
  | 'member-type-from-client'
  /** A client sent a command under another client's id. */
  | 'client-id-mismatch'
  /** Arrived before start finished or after stop began. */
  | 'not-running'
  /** The input queue held INPUT_QUEUE_MAX inputs or INPUT_QUEUE_BYTES_MAX bytes already: the node is overloaded. */
  | 'queue-full';

export type NodeEvent =
  | { readonly type: 'decide'; readonly slot: Slot; readonly batch: Batch }
  | { readonly type: 'execute'; readonly slot: Slot; readonly command: Command; readonly result: Uint8Array }
  | { readonly type: 'evidence'; readonly evidence: Evidence }
  | { readonly type: 'suspicion'; readonly suspicion: Suspicion }
  /** The ballot this node leads or follows changed. */
  | { readonly type: 'view-change'; readonly ballot: Ballot; readonly isLeader: boolean }
  /** The node stopped: `error` is null after stop(), else the failure that stopped it. */
  | { readonly type: 'stopped'; readonly error: Error | null };

export type NodeEventListener = (event: NodeEvent) => void;

/** Most event listeners one runtime accepts. */
export const EVENT_LISTENERS_MAX = 16;
/** Most peer messages and client requests waiting to be stepped; further ones are rejected as 'queue-full'. */
export const INPUT_QUEUE_MAX = 4096;
/** Most encoded bytes of the messages and requests waiting to be stepped; beyond it, as INPUT_QUEUE_MAX. */
export const INPUT_QUEUE_BYTES_MAX = 64 * 1024 * 1024;
/** Most inputs one drain steps before it commits and sends. */
export const DRAIN_INPUTS_MAX = 256;
/** A drain takes no further input once it has been stepping for this long. */
export const DRAIN_MS_MAX = 5;

/** Group-commit counters of one runtime, since start. */
export interface DrainStats {
  /** Drains that stepped at least one input. */
  readonly drains: number;
  /** Inputs stepped through the core. */
  readonly inputs: number;
  /** storage.apply calls (one per drain that persisted anything). */
  readonly commits: number;
  /** Records those calls made durable. */
  readonly records: number;
  /** Most inputs ever waiting at once. */
  readonly queueHighWater: number;
}

/** An input waiting for a drain, and the size of the message it came in (0 for a timer). */
interface Queued {
  readonly input: Input;
  readonly bytes: number;
}

/** What a drain holds back until its records are durable: outgoing effects, and view changes. */
type Held = Effect | Extract<NodeEvent, { type: 'view-change' }>;

export interface NodeRuntimeInit {
  readonly deployment: Deployment;
  readonly id: NodeId;
  /** This member's ed25519 secret key: its transport identity, and its signing key in the Byzantine modes. */
  readonly secretKey: Uint8Array;
  readonly storage: RuntimeStorage;
  readonly transport: TransportFactory;
  readonly logger?: Logger;
  /** Default: a fresh set; pass one to read the counters from outside. */
  readonly metrics?: NodeMetrics;
  /** Serve the metrics on metricsHost:metricsPort (0: any free port); off when absent. */
  readonly metricsPort?: number;
  /** The interface the metrics endpoint listens on; default 127.0.0.1. */
  readonly metricsHost?: string;
  /**
   * Seeds the core's scheduling randomness (timeouts, catch-up peers); default: random. Secrets
   * (commitment keys) never come from it: a deployed node draws them from the system CSPRNG.
   */
  readonly seed?: number;
  /** Signature backend of the Byzantine modes; default: a verdict cache over Node's ed25519. */
  readonly backend?: SignatureBackend;
  /** Byzantine modes: run this strategy instead of the honest node (demos, benchmarks, tests). */
  readonly adversary?: Adversary;
  /**
   * Records every frame this member sends and receives, its decisions, the ballots it comes to
   * lead and its proofs, stamped by traceClockMs (`start --trace-json`). Observes only.
   */
  readonly trace?: MemberTraceRecorder;
}

/**
 * The clock of a member's trace: wall-clock ms since the Unix epoch, the one epoch all members
 * share, as Date.now() but with microseconds (performance's origin is that clock when the
 * process started): on loopback a frame often arrives within the millisecond it left.
 */
export function traceClockMs(): number {
  return performance.timeOrigin + performance.now();
}

type State = 'new' | 'starting' | 'running' | 'stopping' | 'stopped';

export class NodeRuntime {
  readonly id: NodeId;
  readonly name: PeerName;
  readonly mode: Mode;
  readonly metrics: NodeMetrics;
  /** Resolves once the node has stopped, whether by stop() or by a failure. */
  readonly stopped: Promise<void>;
  private readonly init: NodeRuntimeInit;
  private readonly build: ModeBuild;
  private readonly log: Logger;
  private readonly timers = new Map<TimerName, ReturnType<typeof setTimeout>>();
  private readonly listeners: NodeEventListener[] = [];
  private readonly counts: { -readonly [K in keyof StatusCounts]: number } = {
    decisions: 0,
    viewChanges: 0,
    messagesIn: 0,
    messagesOut: 0,
    rejected: 0,
    evidence: 0,
    suspicions: 0,
  };
  private state: State = 'new';
  private core: ProtocolNode | null = null;
  private decidedUpToOf: () => Slot = () => 0;
  private stateDigestOf: () => Uint8Array | null = () => null;
  private transport: Transport | null = null;
  private metricsServer: MetricsServer | null = null;
  private readonly requestLatency = new RequestLatency();
  private startedAtMs = 0;
  private failureValue: Error | null = null;
  private stopping: Promise<void> | null = null;
  private resolveStopped: () => void = () => {};
  private readonly stopCollecting: () => void;
  /** Inputs waiting for the next drain, oldest first: at most INPUT_QUEUE_MAX messages and requests, plus timer fires. */
  private queue: Queued[] = [];
  private queueBytes = 0;
  /** Timers that fired and wait in the queue; setting or clearing one again cancels its fire. */
  private readonly firedTimers = new Set<TimerName>();
  private drainScheduled = false;
  private readonly drainCounts = { drains: 0, inputs: 0, commits: 0, records: 0, queueHighWater: 0 };

  constructor(init: NodeRuntimeInit) {
    this.init = init;
    this.build = buildDeployment(init.deployment, init.backend);
    const member = init.deployment.members[init.id];
    if (member === undefined) throw new RangeError(`node: id ${init.id} is not a member (0..${this.build.n - 1})`);
    requireKeyMatches(`node ${init.id}`, init.secretKey, member.publicKey);
    this.id = init.id;
    this.name = memberName(init.id);
    this.mode = init.deployment.mode;
    this.log = (init.logger ?? silentLogger).child({ node: this.name });
    this.metrics = init.metrics ?? createNodeMetrics();
    this.stopCollecting = this.metrics.registry.onCollect(() => this.collectMetrics());
    this.stopped = new Promise((resolve) => (this.resolveStopped = resolve));
  }

  /** The failure that stopped the node, or null. */
  get failure(): Error | null {
    return this.failureValue;
  }

  get running(): boolean {
    return this.state === 'running';
  }

  /** The port the metrics endpoint listens on, or null when it is off. */
  get metricsPort(): number | null {
    return this.metricsServer?.port ?? null;
  }

  /** The core node; null before start. For tests and the status reply, not for driving it. */
  get node(): ProtocolNode | null {
    return this.core;
  }

  /** Every slot below this one is decided here. */
  get decidedUpTo(): Slot {
    return this.decidedUpToOf();
  }

  /** Digest of the replicated key-value state; null before start. */
  stateDigest(): Uint8Array | null {
    return this.stateDigestOf();
  }

  /** Group-commit counters since start. */
  get drainStats(): DrainStats {
    return { ...this.drainCounts };
  }

  /** Calls `listener` for every event, synchronously, in order; returns the unsubscribe function. */
  onEvent(listener: NodeEventListener): () => void {
    if (this.listeners.length >= EVENT_LISTENERS_MAX) throw new RangeError(`node: more than ${EVENT_LISTENERS_MAX} event listeners`);
    this.listeners.push(listener);
    return () => {
      const i = this.listeners.indexOf(listener);
      if (i >= 0) this.listeners.splice(i, 1);
    };
  }

  /** Loads the persisted state, builds the node, opens the transport and runs the start effects. */
  async start(): Promise<void> {
    if (this.state !== 'new') throw new Error(`node ${this.name}: start() called twice`);
    this.state = 'starting';
    this.startedAtMs = Date.now();
    let effects: Effect[];
    try {
      effects = this.boot();
    } catch (e) {
      this.failureValue = asError(e);
      this.log.error('node failed to start', { error: this.failureValue });
      await this.stop();
      throw e;
    }
    const port = this.init.metricsPort;
    if (port !== undefined) {
      const health = { live: () => this.running, ready: () => this.ready };
      const server = await this.opening(() => serveMetrics(this.metrics.registry, port, { host: this.init.metricsHost, health }));
      if (server === null) return;
      this.metricsServer = server;
    }
    const transport = await this.opening(() => this.init.transport((from, message) => this.receive(from, message)));
    if (transport === null) return;
    this.transport = transport;
    this.state = 'running';
    this.log.info('node started', {
      mode: this.mode,
      n: this.build.n,
      f: this.build.f,
      decidedUpTo: this.decidedUpTo,
      metricsPort: this.metricsPort,
    });
    const records: PersistRecord[] = [];
    const held: Held[] = [];
    this.collect(effects, records, held);
    this.commit(records, held, 'start');
  }

  /** The core node from what storage kept, and its first effects. */
  private boot(): Effect[] {
    const persisted = this.init.storage.load();
    const seed = this.init.seed ?? globalThis.crypto.getRandomValues(new Uint32Array(1))[0]!;
    const built = makeNode(this.build, this.id, this.init.secretKey, persisted, new SeededRng(seed, this.id), systemEntropy, this.init.adversary);
    this.core = built.node;
    this.decidedUpToOf = built.decidedUpTo;
    this.stateDigestOf = built.stateDigest;
    return this.core.start();
  }

  /** Opens a resource; null (and closed again) if stop() came meanwhile; stops the node if opening fails. */
  private async opening<T extends { stop(): Promise<void> } | MetricsServer>(open: () => T | Promise<T>): Promise<T | null> {
    let resource: T;
    try {
      resource = await open();
    } catch (e) {
      await this.stop();
      throw e;
    }
    if (this.state === 'starting') return resource;
    await ('stop' in resource ? resource.stop() : resource.close());
    return null;
  }

  /** Graceful: cancels the timers, stops the transport, closes the storage and the metrics endpoint. Idempotent. */
  stop(): Promise<void> {
    if (this.stopping === null) this.stopping = this.shutdown();
    return this.stopping;
  }

  /** The status this node reports to a StatusRequest. */
  status(nonce = 0): StatusReply {
    const core = this.core;
    return {
      type: 'status-reply',
      nonce,
      node: this.id,
      mode: this.mode,
      ballot: core?.ballot ?? { round: 0, leader: -1 },
      isLeader: core?.isLeader ?? false,
      decidedUpTo: this.decidedUpTo,
      uptimeMs: this.startedAtMs === 0 ? 0 : Math.max(0, Date.now() - this.startedAtMs),
      counts: { ...this.counts },
      workingRound: core?.working?.round ?? 0,
      outsideWorkingBallot: core?.working?.outside ?? false,
      configurations: core instanceof PaxosNode && core.config.reconfiguration !== null ? knownConfigurations(core.learner) : [],
    };
  }

  /** One message from the transport. Never throws. */
  receive(from: PeerName, bytes: Uint8Array): void {
    if (this.state !== 'running') return this.reject('not-running', from);
    const peer = parsePeerName(from);
    if (peer === null || (peer.kind === 'member' && peer.id >= this.build.n)) return this.reject('unknown-peer', from);
    if (peer.kind === 'member' && peer.id === this.id) return this.reject('self', from);
    let msg: WireMessage;
    try {
      msg = decodeWireMessage(bytes);
    } catch (e) {
      if (!(e instanceof CodecError)) return this.fail(e, `decode from ${from}`);
      return this.reject('decode', from, e.message);
    }
    const type = typeLabel(msg.type, msg.type === 'signed' ? msg.payload : null);
    this.init.trace?.received(traceClockMs(), peer.kind === 'member' ? peer.id : CLIENTS, msg, bytes);
    this.counts.messagesIn++;
    this.metrics.messagesIn.inc({ type });
    this.metrics.bytesIn.inc({ type }, bytes.length);
    if (peer.kind === 'member') return this.fromMember(peer.id, from, msg, bytes.length);
    return this.fromClient(peer.id, from, msg, bytes.length);
  }

  // --- inputs --------------------------------------------------------------------------

  private fromMember(id: NodeId, from: PeerName, msg: WireMessage, size: number): void {
    switch (msg.type) {
      case 'request':
      case 'reply':
      case 'status-request':
      case 'status-reply':
        return this.reject('client-type-from-member', from, msg.type);
      default:
        return this.enqueue({ type: 'message', from: id, msg: msg satisfies PeerMessage }, from, size);
    }
  }

  private fromClient(clientId: ClientId, from: PeerName, msg: WireMessage, size: number): void {
    switch (msg.type) {
      case 'request':
        if (msg.command.clientId !== clientId) return this.reject('client-id-mismatch', from, `command of c${msg.command.clientId}`);
        if (this.build.mode !== 'crash' && isMembershipOp(msg.command.op)) return this.refuseMembership(from, msg);
        this.requestLatency.arrived(msg.command, performance.now());
        return this.enqueue({ type: 'request', msg: msg satisfies ClientRequest }, from, size);
      case 'status-request':
        return this.answerStatus(from, msg);
      default:
        return this.reject('member-type-from-client', from, msg.type);
    }
  }

  /**
   * The Byzantine modes' replicas are not reconfigurable yet and drop what they refuse unanswered:
   * a membership command is answered here, as a static crash-mode cluster's leader answers it.
   */
  private refuseMembership(from: PeerName, msg: ClientRequest): void {
    const { clientId, session, seq } = msg.command;
    const reason = new TextEncoder().encode(`a membership change, but ${this.mode} mode is not reconfigurable yet`);
    this.transmit(from, { type: 'reply', clientId, session, seq, status: 'refused', result: reason, leaderHint: -1 });
  }

  private answerStatus(from: PeerName, msg: StatusRequest): void {
    this.transmit(from, this.status(msg.nonce));
  }

  private onTimer(timer: TimerName): void {
    this.timers.delete(timer);
    if (this.state !== 'running' || this.firedTimers.has(timer)) return;
    // Not bounded by INPUT_QUEUE_MAX: a timer is never dropped, and each waits at most once.
    this.firedTimers.add(timer);
    this.queue.push({ input: { type: 'timeout', timer }, bytes: 0 });
    this.noteQueued();
  }

  // --- the drain: step, commit once, then send -------------------------------------------

  private enqueue(input: Input, from: PeerName, bytes: number): void {
    const full = this.queue.length - this.firedTimers.size >= INPUT_QUEUE_MAX || this.queueBytes + bytes > INPUT_QUEUE_BYTES_MAX;
    if (full) return this.reject('queue-full', from, describeInput(input));
    this.queue.push({ input, bytes });
    this.queueBytes += bytes;
    this.noteQueued();
  }

  private noteQueued(): void {
    if (this.queue.length > this.drainCounts.queueHighWater) this.drainCounts.queueHighWater = this.queue.length;
    this.scheduleDrain();
  }

  private scheduleDrain(): void {
    if (this.drainScheduled) return;
    this.drainScheduled = true;
    setImmediate(() => this.drain());
  }

  /** Steps what the queue holds (within the drain limits), commits their records once, then sends. */
  private drain(): void {
    this.drainScheduled = false;
    if (this.state !== 'running') return;
    const startMs = performance.now();
    const records: PersistRecord[] = [];
    const held: Held[] = [];
    let taken = 0;
    let stepped = 0;
    let first: Input | null = null;
    while (taken < this.queue.length && taken < DRAIN_INPUTS_MAX && (taken === 0 || performance.now() - startMs < DRAIN_MS_MAX)) {
      const { input, bytes } = this.queue[taken++]!;
      this.queueBytes -= bytes;
      // A timer set or cleared again after it fired: its fire is void, as a cleared timeout's would be.
      if (input.type === 'timeout' && !this.firedTimers.delete(input.timer)) continue;
      if (!this.step(input, records, held)) return;
      first ??= input;
      stepped++;
    }
    this.queue.splice(0, taken);
    if (stepped > 0) {
      this.drainCounts.drains++;
      this.drainCounts.inputs += stepped;
    }
    const cause = first === null ? 'drain' : describeInput(first) + (stepped > 1 ? ` (and ${stepped - 1} more input(s) committed with it)` : '');
    if (!this.commit(records, held, cause)) return;
    if (this.queue.length > 0) this.scheduleDrain();
  }

  /** One input through the core: its records and outgoing effects join the drain's; false if the core failed. */
  private step(input: Input, records: PersistRecord[], held: Held[]): boolean {
    const core = this.core!;
    const ballot = core.ballot;
    const wasLeader = core.isLeader;
    let effects: Effect[];
    try {
      effects = core.step(input);
      this.collect(effects, records, held);
    } catch (e) {
      this.fail(e, describeInput(input));
      return false;
    }
    if (!ballotEquals(core.ballot, ballot)) held.push({ type: 'view-change', ballot: core.ballot, isLeader: core.isLeader });
    // Traced here, not with the view change: a candidate comes to lead later, in the same ballot.
    if (core.isLeader && !wasLeader) this.init.trace?.leader(traceClockMs(), core.ballot);
    // A candidate's ballot changes before it leads (phase 1 completes later, in the same ballot).
    if (core.isLeader !== wasLeader) this.log.info(core.isLeader ? 'became leader' : 'no longer leader', { round: core.ballot.round });
    return true;
  }

  /** Sorts one step's effects: records to commit, timers at once, the rest held until the commit. */
  private collect(effects: readonly Effect[], records: PersistRecord[], held: Held[]): void {
    for (const effect of effects) {
      switch (effect.type) {
        case 'persist':
          records.push(effect.record);
          break;
        case 'setTimer':
          this.setTimer(effect.timer, effect.delayMs);
          break;
        case 'clearTimer':
          this.clearTimer(effect.timer);
          break;
        default:
          held.push(effect);
      }
    }
  }

  // --- effects -------------------------------------------------------------------------

  /** Makes `records` durable in one storage call, then performs `held` in order; false if that failed and the node is stopping. */
  private commit(records: readonly PersistRecord[], held: readonly Held[], cause: string): boolean {
    try {
      // Durable before anything held back leaves the node (effects.ts contract).
      if (records.length > 0) {
        this.init.storage.apply(records, records.some(mustSync));
        this.drainCounts.commits++;
        this.drainCounts.records += records.length;
      }
      for (const h of held) this.perform(h);
      this.transport?.flush?.();
      return true;
    } catch (e) {
      this.fail(e, cause);
      return false;
    }
  }

  private perform(effect: Held): void {
    switch (effect.type) {
      case 'persist':
        return;
      case 'view-change':
        return this.noteViewChange(effect);
      case 'send':
        this.transmit(memberName(effect.to), effect.msg);
        return;
      case 'broadcast': {
        const bytes = encodeMessage(effect.msg);
        for (let to = 0; to < this.build.n; to++) if (to !== this.id) this.transmitBytes(memberName(to), effect.msg, bytes);
        return;
      }
      case 'reply': {
        const seconds = this.requestLatency.replied(effect.msg, performance.now());
        if (seconds !== null) this.metrics.requestToReply.observe(seconds);
        this.transmit(clientName(effect.clientId), effect.msg);
        return;
      }
      case 'setTimer':
        return this.setTimer(effect.timer, effect.delayMs);
      case 'clearTimer':
        return this.clearTimer(effect.timer);
      case 'decide':
        this.counts.decisions++;
        this.metrics.decisions.inc();
        this.timeDecision(effect.batch);
        this.init.trace?.decided(traceClockMs(), effect.slot, effect.batch.commands.length);
        this.log.debug('decided', { slot: effect.slot, commands: effect.batch.commands.length });
        return this.emit({ type: 'decide', slot: effect.slot, batch: effect.batch });
      case 'execute':
        this.metrics.executions.inc();
        this.log.debug('executed', { slot: effect.slot, client: effect.command.clientId, session: effect.command.session, seq: effect.command.seq });
        return this.emit({ type: 'execute', slot: effect.slot, command: effect.command, result: effect.result });
      case 'evidence':
        this.counts.evidence++;
        this.metrics.evidence.inc({ kind: effect.evidence.kind });
        this.log.warn('evidence of misbehaviour', { kind: effect.evidence.kind });
        this.init.trace?.proved(traceClockMs(), effect.evidence);
        return this.emit({ type: 'evidence', evidence: effect.evidence });
      case 'suspicion':
        this.counts.suspicions++;
        this.metrics.suspicions.inc({ reason: effect.suspicion.reason });
        this.log.info('suspicion', { suspect: memberName(effect.suspicion.node), reason: effect.suspicion.reason });
        return this.emit({ type: 'suspicion', suspicion: effect.suspicion });
    }
  }

  private transmit(to: PeerName, msg: WireMessage): void {
    this.transmitBytes(to, msg, encodeMessage(msg));
  }

  private transmitBytes(to: PeerName, msg: WireMessage, bytes: Uint8Array): void {
    const type = typeLabel(msg.type, msg.type === 'signed' ? msg.payload : null);
    const queued = this.transport!.send(to, bytes);
    if (this.init.trace !== undefined) this.traceSend(to, msg, bytes, queued);
    if (!queued) {
      this.metrics.sendsDropped.inc({ type });
      return;
    }
    this.counts.messagesOut++;
    this.metrics.messagesOut.inc({ type });
    this.metrics.bytesOut.inc({ type }, bytes.length);
  }

  private traceSend(to: PeerName, msg: WireMessage, bytes: Uint8Array, queued: boolean): void {
    const peer = parsePeerName(to);
    this.init.trace!.sent(traceClockMs(), peer?.kind === 'member' ? peer.id : CLIENTS, msg, bytes, queued);
  }

  private setTimer(timer: TimerName, delayMs: number): void {
    this.clearTimer(timer);
    this.timers.set(timer, setTimeout(() => this.onTimer(timer), Math.max(0, delayMs)));
  }

  private clearTimer(timer: TimerName): void {
    this.firedTimers.delete(timer);
    const handle = this.timers.get(timer);
    if (handle === undefined) return;
    clearTimeout(handle);
    this.timers.delete(timer);
  }

  private noteViewChange(event: Extract<NodeEvent, { type: 'view-change' }>): void {
    this.counts.viewChanges++;
    this.metrics.viewChanges.inc();
    this.log.info('view change', { round: event.ballot.round, leader: memberName(event.ballot.leader), isLeader: event.isLeader });
    this.emit(event);
  }

  private emit(event: NodeEvent): void {
    for (const listener of [...this.listeners]) {
      try {
        listener(event);
      } catch (e) {
        this.log.error('event listener threw', { event: event.type, error: e });
      }
    }
  }

  private reject(reason: RejectReason, from: PeerName, detail?: string): void {
    this.counts.rejected++;
    this.metrics.rejected.inc({ reason });
    if (this.log.enabled('debug')) this.log.debug('message rejected', { from, reason, detail });
  }

  private timeDecision(batch: Batch): void {
    const nowMs = performance.now();
    for (const command of batch.commands) {
      const seconds = this.requestLatency.decided(command, nowMs);
      if (seconds !== null) this.metrics.requestToDecide.observe(seconds);
    }
  }

  /** Ready to serve: running, following a ballot with a leader, and (Byzantine modes) inside the ballot the others work in. */
  get ready(): boolean {
    const core = this.core;
    return this.running && core !== null && core.ballot.leader >= 0 && core.working?.outside !== true;
  }

  private collectMetrics(): void {
    const core = this.core;
    if (core === null) return;
    this.metrics.ballotRound.set(core.ballot.round);
    this.metrics.isLeader.set(core.isLeader ? 1 : 0);
    this.metrics.workingBallotRound.set(core.working?.round ?? 0);
    this.metrics.outsideWorkingBallot.set(core.working?.outside === true ? 1 : 0);
    this.metrics.lastDecidedSlot.set(this.decidedUpTo - 1);
    for (const [reason, count] of core.stats.dropped) this.metrics.coreDropped.advanceTo(count, { reason });
    if (this.transport !== null) collectPeerMetrics(this.metrics.peers, this.transport.stats);
  }

  // --- failure and shutdown ------------------------------------------------------------

  private fail(error: unknown, cause: string): void {
    if (this.failureValue !== null) return;
    this.failureValue = asError(error);
    this.log.error('node failed; stopping', { input: cause, error: this.failureValue });
    void this.stop();
  }

  private async shutdown(): Promise<void> {
    this.state = 'stopping';
    for (const handle of this.timers.values()) clearTimeout(handle);
    this.timers.clear();
    this.queue = [];
    this.queueBytes = 0;
    this.firedTimers.clear();
    const steps: [string, () => unknown][] = [
      ['transport', () => this.transport?.stop()],
      ['metrics endpoint', () => this.metricsServer?.close()],
      ['storage', () => this.init.storage.close?.()],
    ];
    for (const [what, close] of steps) {
      try {
        await close();
      } catch (e) {
        this.log.error(`closing the ${what} failed`, { error: e });
      }
    }
    this.stopCollecting();
    this.state = 'stopped';
    this.log.info('node stopped', { failed: this.failureValue !== null });
    this.emit({ type: 'stopped', error: this.failureValue });
    this.resolveStopped();
  }
}

/** The configuration of the first undecided slot and the later ones the learner knows (every slot below it + α). */
function knownConfigurations(learner: Learner): KnownConfiguration[] {
  const known: KnownConfiguration[] = [];
  let last: Membership | null = null;
  for (let slot = learner.firstUndecided; slot <= learner.firstUndecided + RECONFIG_WINDOW_SLOTS; slot++) {
    const membership = learner.membershipAt(slot);
    if (membership === null || membership.members === null) return known;
    if (membership !== last) known.push({ from: slot, members: [...membership.members].sort((a, b) => a - b) });
    last = membership;
  }
  return known;
}

/** Metric label of a message: its type, or for a signed envelope the type it carries. */
function typeLabel(type: WireMessage['type'], payload: Uint8Array | null): string {
  if (payload === null) return type;
  return frameType(payload) ?? 'signed';
}

function asError(error: unknown): Error {
  return error instanceof Error ? error : new Error(String(error));
}

function describeInput(input: Input): string {
  switch (input.type) {
    case 'message':
      return `message ${input.msg.type} from ${memberName(input.from)}`;
    case 'request':
      return `request c${input.msg.command.clientId}#${input.msg.command.seq}`;
    case 'timeout':
      return `timeout ${input.timer}`;
  }
}

export interface SignalOptions {
  readonly signals?: readonly NodeJS.Signals[];
  readonly logger?: Logger;
}

/**
 * SIGINT/SIGTERM stop the runtime gracefully; a second signal while stopping exits at once
 * (code 130). Returns the function that removes the handlers.
 */
export function stopOnSignals(runtime: { stop(): Promise<void> }, options: SignalOptions = {}): () => void {
  const signals = options.signals ?? ['SIGINT', 'SIGTERM'];
  const log = options.logger ?? silentLogger;
  let received = false;
  const handler = (signal: NodeJS.Signals): void => {
    if (received) {
      log.warn('second signal: exiting without a graceful stop', { signal });
      process.exit(130);
    }
    received = true;
    log.info('signal: stopping', { signal });
    void runtime.stop();
  };
  for (const signal of signals) process.on(signal, handler);
  return () => {
    for (const signal of signals) process.off(signal, handler);
  };
}
