// The node runtime: the one event loop of a deployed member. It drives the pure protocol core
// (ProtocolNode) with real timers, a Transport and a Storage, exactly as the simulator drives it
// with virtual ones (etcd raft's loop: step, persist, send, apply):
//
//   input (decoded message, client request, timer) -> node.step -> effects, then
//   1. every `persist` record of the step goes to storage.apply in ONE call, before
//   2. the step's sends, broadcasts and replies are handed to the transport, in order;
//   3. decide/execute/evidence/suspicion are counted, logged and passed to observers.
//
// Bad input never throws out of the runtime: it is counted in rejected{reason} and logged at
// debug. An exception inside the core or the storage is a bug or a broken disk: the runtime logs
// it at error level with the input that caused it and stops the node (fail loudly).
import { ballotEquals, type Ballot } from '../core/ballot.ts';
import type { Effect, Input, PersistRecord, TimerName } from '../core/effects.ts';
import type { Mode, ProtocolNode } from '../core/protocol.ts';
import { SeededRng } from '../core/rng.ts';
import type { Batch, ClientId, Command, NodeId, Slot } from '../core/types.ts';
import type { Evidence, Suspicion } from '../evidence/types.ts';
import { CodecError, decodeWireMessage, encodeMessage, frameType } from '../messages/codec.ts';
import type { ClientRequest, PeerMessage, StatusCounts, StatusReply, StatusRequest, WireMessage } from '../messages/types.ts';
import type { Storage } from '../storage/storage.ts';
import type { PeerName, Transport } from '../transport/transport.ts';
import { buildDeployment, clientName, makeNode, memberName, parsePeerName, requireKeyMatches, type Deployment, type ModeBuild } from './build.ts';
import { silentLogger, type Logger } from './log.ts';
import { createNodeMetrics, serveMetrics, type MetricsServer, type NodeMetrics } from './metrics.ts';
import type { SignatureBackend } from '../../crypto/ed25519.ts';
import type { Adversary } from '../adversary/adversary.ts';

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
  | 'not-running';

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
  /** Serve the metrics on 127.0.0.1:metricsPort (0: any free port); off when absent. */
  readonly metricsPort?: number;
  /** Seeds the core's randomness (election timeouts, catch-up peers); default: random. */
  readonly seed?: number;
  /** Signature backend of the Byzantine modes; default: a verdict cache over Node's ed25519. */
  readonly backend?: SignatureBackend;
  /** Byzantine modes: run this strategy instead of the honest node (demos, benchmarks, tests). */
  readonly adversary?: Adversary;
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
  private startedAtMs = 0;
  private failureValue: Error | null = null;
  private stopping: Promise<void> | null = null;
  private resolveStopped: () => void = () => {};
  private readonly stopCollecting: () => void;

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
      const server = await this.opening(() => serveMetrics(this.metrics.registry, port));
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
    this.execute(effects, 'start');
  }

  /** The core node from what storage kept, and its first effects. */
  private boot(): Effect[] {
    const persisted = this.init.storage.load();
    const seed = this.init.seed ?? globalThis.crypto.getRandomValues(new Uint32Array(1))[0]!;
    const built = makeNode(this.build, this.id, this.init.secretKey, persisted, new SeededRng(seed, this.id), this.init.adversary);
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
    this.counts.messagesIn++;
    this.metrics.messagesIn.inc({ type });
    this.metrics.bytesIn.inc({ type }, bytes.length);
    if (peer.kind === 'member') return this.fromMember(peer.id, from, msg);
    return this.fromClient(peer.id, from, msg);
  }

  // --- inputs --------------------------------------------------------------------------

  private fromMember(id: NodeId, from: PeerName, msg: WireMessage): void {
    switch (msg.type) {
      case 'request':
      case 'reply':
      case 'status-request':
      case 'status-reply':
        return this.reject('client-type-from-member', from, msg.type);
      default:
        return this.step({ type: 'message', from: id, msg: msg satisfies PeerMessage });
    }
  }

  private fromClient(clientId: ClientId, from: PeerName, msg: WireMessage): void {
    switch (msg.type) {
      case 'request':
        if (msg.command.clientId !== clientId) return this.reject('client-id-mismatch', from, `command of c${msg.command.clientId}`);
        return this.step({ type: 'request', msg: msg satisfies ClientRequest });
      case 'status-request':
        return this.answerStatus(from, msg);
      default:
        return this.reject('member-type-from-client', from, msg.type);
    }
  }

  private answerStatus(from: PeerName, msg: StatusRequest): void {
    this.transmit(from, this.status(msg.nonce));
  }

  private onTimer(timer: TimerName): void {
    this.timers.delete(timer);
    if (this.state === 'running') this.step({ type: 'timeout', timer });
  }

  /** One input through the core; its effects executed. */
  private step(input: Input): void {
    const core = this.core!;
    const ballot = core.ballot;
    let effects: Effect[];
    try {
      effects = core.step(input);
    } catch (e) {
      return this.fail(e, describeInput(input));
    }
    if (!this.execute(effects, describeInput(input))) return;
    this.noteBallot(ballot);
  }

  // --- effects -------------------------------------------------------------------------

  /** Runs one step's effects; false if that failed and the node is stopping. */
  private execute(effects: readonly Effect[], cause: string): boolean {
    try {
      const records: PersistRecord[] = [];
      for (const effect of effects) if (effect.type === 'persist') records.push(effect.record);
      // Durable before anything of this step leaves the node (effects.ts contract).
      if (records.length > 0) this.init.storage.apply(records);
      for (const effect of effects) this.perform(effect);
      return true;
    } catch (e) {
      this.fail(e, cause);
      return false;
    }
  }

  private perform(effect: Effect): void {
    switch (effect.type) {
      case 'persist':
        return;
      case 'send':
        this.transmit(memberName(effect.to), effect.msg);
        return;
      case 'broadcast': {
        const bytes = encodeMessage(effect.msg);
        for (let to = 0; to < this.build.n; to++) if (to !== this.id) this.transmitBytes(memberName(to), effect.msg, bytes);
        return;
      }
      case 'reply':
        this.transmit(clientName(effect.clientId), effect.msg);
        return;
      case 'setTimer':
        return this.setTimer(effect.timer, effect.delayMs);
      case 'clearTimer':
        return this.clearTimer(effect.timer);
      case 'decide':
        this.counts.decisions++;
        this.metrics.decisions.inc();
        this.log.debug('decided', { slot: effect.slot, commands: effect.batch.commands.length });
        return this.emit({ type: 'decide', slot: effect.slot, batch: effect.batch });
      case 'execute':
        this.metrics.executions.inc();
        this.log.debug('executed', { slot: effect.slot, client: effect.command.clientId, seq: effect.command.seq });
        return this.emit({ type: 'execute', slot: effect.slot, command: effect.command, result: effect.result });
      case 'evidence':
        this.counts.evidence++;
        this.metrics.evidence.inc({ kind: effect.evidence.kind });
        this.log.warn('evidence of misbehaviour', { kind: effect.evidence.kind });
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
    if (!this.transport!.send(to, bytes)) {
      this.metrics.sendsDropped.inc({ type });
      return;
    }
    this.counts.messagesOut++;
    this.metrics.messagesOut.inc({ type });
    this.metrics.bytesOut.inc({ type }, bytes.length);
  }

  private setTimer(timer: TimerName, delayMs: number): void {
    this.clearTimer(timer);
    this.timers.set(timer, setTimeout(() => this.onTimer(timer), Math.max(0, delayMs)));
  }

  private clearTimer(timer: TimerName): void {
    const handle = this.timers.get(timer);
    if (handle === undefined) return;
    clearTimeout(handle);
    this.timers.delete(timer);
  }

  private noteBallot(before: Ballot): void {
    const core = this.core!;
    if (ballotEquals(core.ballot, before)) return;
    this.counts.viewChanges++;
    this.metrics.viewChanges.inc();
    this.log.info('view change', { round: core.ballot.round, leader: memberName(core.ballot.leader), isLeader: core.isLeader });
    this.emit({ type: 'view-change', ballot: core.ballot, isLeader: core.isLeader });
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

  private collectMetrics(): void {
    const core = this.core;
    if (core === null) return;
    this.metrics.ballotRound.set(core.ballot.round);
    this.metrics.isLeader.set(core.isLeader ? 1 : 0);
    this.metrics.lastDecidedSlot.set(this.decidedUpTo - 1);
    for (const [reason, count] of core.stats.dropped) this.metrics.coreDropped.set(count, { reason });
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
