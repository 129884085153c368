// A client of a deployed cluster: key-value commands through the core Client session (one
// outstanding command, resent with the same seq until accepted: 1 reply in crash mode, f+1
// matching replies in the Byzantine modes), and a status query to every member.
//
// One ClusterClient is one client id, one transport peer (`c<id>`) and one session at a time: its
// commands run one at a time, in call order. The session id is drawn at random (53 bits from
// crypto.getRandomValues) when the client starts, so processes sharing a client id and key, e.g.
// concurrent CLI commands, never make each other's commands stale. If the replicas evicted the
// session (too many newer sessions of this client id), the operation fails with
// SessionEvictedError and the client continues in a new session.
import { commandSigner, makeClient, type CommandSigner, type ModeBuild } from '../modes/build.ts';
import type { Ballot, ClientId, NodeId, SessionId } from '../base/types.ts';
import { decodeKvResult, encodeKvOp, type KvOp, type KvResult } from '../app/kv.ts';
import { sessionFromWords, type Client, type ClientEffect } from '../core/client.ts';
import { CLIENT_SESSIONS_PER_CLIENT_MAX } from '../base/limits.ts';
import { decodeMembershipResult, encodeMembershipChange, type MembershipChange, type MembershipResult } from '../core/configuration.ts';
import { SeededRng } from '../core/rng.ts';
import { CodecError, decodeWireMessage, encodeMessage } from '../messages/codec.ts';
import type { ClientReply, ClientRequest, StatusCounts, StatusReply, WireMessage } from '../messages/types.ts';
import type { PeerName, Transport } from '../transport/transport.ts';
import { buildDeployment, clientName, memberName, parsePeerName, requireKeyMatches, type Deployment } from './build.ts';
import { silentLogger, type Logger } from './log.ts';
import type { TransportFactory } from './runtime.ts';
import { nativeBackend, type SignatureBackend } from '../../crypto/ed25519.ts';

/** Default bound on one operation, queueing included. */
export const OPERATION_TIMEOUT_MS_DEFAULT = 10_000;
/** Default time each member has to answer a status query. */
export const STATUS_TIMEOUT_MS_DEFAULT = 2_000;
/** Most operations waiting behind the outstanding one. */
export const OPERATIONS_QUEUED_MAX = 1024;
/** Most status queries in flight at once. */
export const STATUS_QUERIES_MAX = 16;
/** How often the transport is checked, while nothing has left, for every member having failed its dials. */
export const REACHABILITY_POLL_MS = 50;
/** Failed dials to each member since the command was submitted that make it unreachable: one alone may be a transient reset. */
export const UNREACHABLE_DIAL_FAILURES = 2;

export interface ClusterClientInit {
  readonly deployment: Deployment;
  readonly clientId: ClientId;
  /** This client's ed25519 secret key: its transport identity, and it signs commands in the Byzantine modes. */
  readonly secretKey: Uint8Array;
  readonly transport: TransportFactory;
  readonly logger?: Logger;
  /** Resend an unanswered command after this long; default per mode (build.ts). */
  readonly retryMs?: number;
  /** Default bound on each operation (see OperationOptions). */
  readonly timeoutMs?: number;
  /** Draws each new session's id; default 53 random bits from crypto.getRandomValues (tests inject their own). */
  readonly newSession?: () => SessionId;
  /**
   * Fail an operation with NoMemberReachableError once every member's dials have failed and
   * nothing has left (a command line wants that answer at once); default false: wait out the
   * bound, as a long-lived client would while the cluster starts or restarts.
   */
  readonly failWhenUnreachable?: boolean;
  /** Signs this client's commands; default Node's native Ed25519 without a verdict cache. */
  readonly backend?: SignatureBackend;
}

export interface OperationOptions {
  /** Overrides the client's default bound, in ms. */
  readonly timeoutMs?: number;
  /** When an operation's bound started, on performance.now()'s clock (e.g. 0: the process's start); default now. Status ignores it. */
  readonly startedAt?: number;
  readonly signal?: AbortSignal;
}

/** The operation did not complete in time or was aborted; the message says whether it may still take effect. */
export class ClusterTimeoutError extends Error {
  override readonly name: string = 'ClusterTimeoutError';
}

/**
 * Given up early: every member's dials failed since the operation's command was submitted, and
 * nothing left. The message names each member and why. As after any ClusterTimeoutError the
 * session keeps the command and sends it if a member becomes reachable before close().
 */
export class NoMemberReachableError extends ClusterTimeoutError {
  override readonly name = 'NoMemberReachableError';
}

/** The cluster refuses the command: it was not and never will be decided (the message says why). */
export class CommandRefusedError extends Error {
  override readonly name = 'CommandRefusedError';
}

/** The replicas evicted the client's session; the operation's command did not run then (see the message). */
export class SessionEvictedError extends Error {
  override readonly name = 'SessionEvictedError';
}

export type StatusRow =
  | {
      readonly id: NodeId;
      readonly name: PeerName;
      readonly reachable: true;
      readonly mode: StatusReply['mode'];
      readonly ballot: Ballot;
      readonly isLeader: boolean;
      /** Every slot up to and including this one is decided at the member; -1 if none. */
      readonly lastDecidedSlot: number;
      readonly uptimeMs: number;
      readonly counts: StatusCounts;
      readonly workingRound: number;
      readonly outsideWorkingBallot: boolean;
      /** A reconfigurable cluster's: the configuration of lastDecidedSlot + 1, then the pending ones (StatusReply). */
      readonly configurations: StatusReply['configurations'];
    }
  | { readonly id: NodeId; readonly name: PeerName; readonly reachable: false };

interface Operation {
  /** Names the operation in errors: `put "k"`. */
  readonly what: string;
  readonly bytes: Uint8Array;
  readonly resolve: (result: Uint8Array) => void;
  readonly reject: (error: Error) => void;
  /** Settled (completed, timed out, aborted): the caller is no longer waiting. */
  settled: boolean;
  readonly cleanup: () => void;
}

interface StatusQuery {
  readonly replies: Map<NodeId, StatusReply>;
  readonly enough: ((replies: ReadonlyMap<NodeId, StatusReply>) => boolean) | undefined;
  readonly done: () => void;
}

export interface StatusOptions extends OperationOptions {
  /**
   * Answers before every node replied once this holds (say, once every member did: a spare that
   * is down would otherwise cost the whole bound); the rows of the others are then unreachable.
   */
  readonly enough?: (replies: ReadonlyMap<NodeId, StatusReply>) => boolean;
}

export class ClusterClient {
  readonly id: ClientId;
  readonly name: PeerName;
  private readonly build: ModeBuild;
  /** Each member's first address, to name it when it cannot be reached. */
  private readonly memberAddrs: readonly string[];
  private client: Client;
  private readonly newSession: () => SessionId;
  private readonly sign: CommandSigner | null;
  private readonly retryMs: number | undefined;
  /** Whom each session's resends go to (Client.prefer): a reconfigurable cluster's members as last known. */
  private preferred: readonly NodeId[];
  private readonly failWhenUnreachable: boolean;
  private readonly log: Logger;
  private readonly timeoutMs: number;
  private transport: Transport | null = null;
  private readonly queue: Operation[] = [];
  /** The operation whose command the session is sending; stays until the command completes, even if its caller gave up. */
  private current: Operation | null = null;
  private retryTimer: ReturnType<typeof setTimeout> | null = null;
  /** Transport counters when the current command was submitted, until a message has left since. */
  private unsent: { readonly messagesOut: number; readonly dialFailures: readonly number[]; probed: boolean } | null = null;
  private reachabilityTimer: ReturnType<typeof setInterval> | null = null;
  private readonly statusQueries = new Map<number, StatusQuery>();
  private nextNonce: number;
  private closed = false;

  /** Opens the transport and returns a ready client. */
  static async connect(init: ClusterClientInit): Promise<ClusterClient> {
    const client = new ClusterClient(init);
    client.transport = await init.transport((from, message) => client.receive(from, message));
    return client;
  }

  private constructor(init: ClusterClientInit) {
    // No verdict cache by default: a client only signs (replies are unsigned on authenticated
    // links), and a cache would keep up to VERDICT_CACHE_BYTES_MAX of its own signatures.
    this.build = buildDeployment(init.deployment, init.backend ?? nativeBackend);
    this.memberAddrs = init.deployment.members.map((m) => m.addrs[0] ?? '');
    const key = init.deployment.clients.find((c) => c.id === init.clientId);
    if (key === undefined) throw new RangeError(`client: id ${init.clientId} is not a client of the deployment`);
    requireKeyMatches(`client ${init.clientId}`, init.secretKey, key.publicKey);
    this.id = init.clientId;
    this.name = clientName(init.clientId);
    this.log = (init.logger ?? silentLogger).child({ client: this.name });
    this.timeoutMs = init.timeoutMs ?? OPERATION_TIMEOUT_MS_DEFAULT;
    this.newSession = init.newSession ?? randomSession;
    this.nextNonce = globalThis.crypto.getRandomValues(new Uint32Array(1))[0]!;
    this.sign = this.build.mode === 'crash' ? null : commandSigner(this.build, init.secretKey);
    this.retryMs = init.retryMs;
    this.failWhenUnreachable = init.failWhenUnreachable ?? false;
    this.preferred = init.deployment.firstMembers ?? [];
    this.client = this.openSession();
  }

  private openSession(): Client {
    // The rng only picks which member a crash-mode session asks first and next.
    const rng = new SeededRng(globalThis.crypto.getRandomValues(new Uint32Array(1))[0]!, this.id);
    const client = makeClient(this.build, this.id, this.newSession(), rng, this.sign, this.retryMs);
    if (this.preferred.length > 0) client.prefer(this.preferred);
    return client;
  }

  /**
   * A reconfigurable cluster's members as the caller knows them (from a membership result or a
   * status row): resends go to them first, since the rest of the universe may be down.
   */
  preferMembers(members: readonly NodeId[]): void {
    this.preferred = members;
    this.client.prefer(members);
  }

  /**
   * Submits a membership change (docs/PROTOCOL.md, "Reconfiguration through the log") and
   * resolves with the slot it was decided in and the members it takes effect with (unchanged if
   * it did not apply); rejects with CommandRefusedError where membership cannot change.
   */
  async changeMembership(change: MembershipChange, options: OperationOptions = {}): Promise<MembershipResult> {
    const what = `member ${describeChange(change)}`;
    const bytes = await this.submit(encodeMembershipChange(change), what, options);
    let result: MembershipResult;
    try {
      result = decodeMembershipResult(bytes);
    } catch (e) {
      throw new Error(`${what}: the accepted result does not decode: ${(e as Error).message}`);
    }
    this.preferMembers(result.members);
    return result;
  }

  put(key: string, value: string, options?: OperationOptions): Promise<KvResult> {
    return this.execute({ type: 'put', key, value }, options);
  }

  async get(key: string, options?: OperationOptions): Promise<string | null> {
    return (await this.execute({ type: 'get', key }, options)).value;
  }

  delete(key: string, options?: OperationOptions): Promise<KvResult> {
    return this.execute({ type: 'delete', key }, options);
  }

  /** Sets `key` to `value` if it holds `expected` (null: absent); `ok` tells whether it did, `value` what it held. */
  cas(key: string, expected: string | null, value: string, options?: OperationOptions): Promise<KvResult> {
    return this.execute({ type: 'cas', key, expected, value }, options);
  }

  /** Runs one key-value command; resolves with its result once accepted, rejects with ClusterTimeoutError on timeout or abort. */
  async execute(op: KvOp, options: OperationOptions = {}): Promise<KvResult> {
    const what = `${op.type} ${JSON.stringify(op.key)}`;
    const result = await this.submit(encodeKvOp(op), what, options);
    try {
      return decodeKvResult(result);
    } catch (e) {
      throw new Error(`${what}: the accepted result does not decode: ${(e as Error).message}`);
    }
  }

  /**
   * Runs one command of the cluster's application (`bytes`, its op; `what` names it in errors);
   * resolves with the accepted result's bytes, rejects with ClusterTimeoutError on timeout or abort.
   */
  submit(bytes: Uint8Array, what: string, options: OperationOptions = {}): Promise<Uint8Array> {
    if (this.closed) return Promise.reject(new Error(`client ${this.name}: closed`));
    if (this.queue.length >= OPERATIONS_QUEUED_MAX) {
      return Promise.reject(new RangeError(`client ${this.name}: more than ${OPERATIONS_QUEUED_MAX} operations queued`));
    }
    const timeoutMs = options.timeoutMs ?? this.timeoutMs;
    return new Promise<Uint8Array>((resolve, reject) => {
      const giveUp = (why: string): void => {
        if (operation.settled) return;
        const fate = this.current !== operation ? 'it was never sent' : this.hasLeft() ? 'it was sent and may still take effect' : 'it has not reached any member';
        settle();
        const queued = this.queue.indexOf(operation);
        if (queued >= 0) this.queue.splice(queued, 1);
        reject(new ClusterTimeoutError(`${what}: ${why}; ${fate}`));
      };
      const timer = setTimeout(() => giveUp(`no accepted result within ${timeoutMs} ms`), remainingMs(timeoutMs, options.startedAt));
      const onAbort = (): void => giveUp('aborted');
      const settle = (): void => {
        operation.settled = true;
        operation.cleanup();
      };
      const operation: Operation = {
        what,
        bytes,
        resolve: (result) => {
          settle();
          resolve(result);
        },
        reject: (error) => {
          settle();
          reject(error);
        },
        settled: false,
        cleanup: () => {
          clearTimeout(timer);
          options.signal?.removeEventListener('abort', onAbort);
        },
      };
      if (options.signal?.aborted) return giveUp('aborted');
      options.signal?.addEventListener('abort', onAbort, { once: true });
      this.queue.push(operation);
      this.next();
    });
  }

  /** Asks every member for its status; each has `timeoutMs` (default 2 s) to answer. One row per member, in id order. */
  async status(options: StatusOptions = {}): Promise<StatusRow[]> {
    if (this.closed) throw new Error(`client ${this.name}: closed`);
    if (this.statusQueries.size >= STATUS_QUERIES_MAX) throw new RangeError(`client ${this.name}: more than ${STATUS_QUERIES_MAX} status queries in flight`);
    const nonce = this.takeNonce();
    const replies = new Map<NodeId, StatusReply>();
    await new Promise<void>((resolve) => {
      const done = (): void => {
        clearTimeout(timer);
        options.signal?.removeEventListener('abort', done);
        this.statusQueries.delete(nonce);
        resolve();
      };
      const timer = setTimeout(done, options.timeoutMs ?? STATUS_TIMEOUT_MS_DEFAULT);
      options.signal?.addEventListener('abort', done, { once: true });
      this.statusQueries.set(nonce, { replies, enough: options.enough, done });
      const bytes = encodeMessage({ type: 'status-request', nonce });
      for (let id = 0; id < this.build.n; id++) this.transport!.send(memberName(id), bytes);
      if (options.signal?.aborted) done();
    });
    return Array.from({ length: this.build.n }, (_, id) => statusRow(id, replies.get(id)));
  }

  private takeNonce(): number {
    const nonce = this.nextNonce;
    this.nextNonce = (this.nextNonce + 1) >>> 0;
    return nonce;
  }

  /** Gives up every pending operation and status query, and stops the transport. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    if (this.retryTimer !== null) clearTimeout(this.retryTimer);
    this.retryTimer = null;
    this.stopWatchingReachability();
    const error = new Error(`client ${this.name}: closed`);
    for (const operation of [...this.queue, ...(this.current === null ? [] : [this.current])]) {
      if (!operation.settled) operation.reject(error);
    }
    this.queue.length = 0;
    this.current = null;
    for (const query of [...this.statusQueries.values()]) query.done();
    await this.transport?.stop();
  }

  // --- the session ---------------------------------------------------------------------

  /** Submits the next queued operation when none is outstanding. */
  private next(): void {
    if (this.closed || this.current !== null) return;
    const operation = this.queue.shift();
    if (operation === undefined) return;
    this.current = operation;
    this.watchReachability();
    this.apply(this.client.submit(operation.bytes));
  }

  // --- reachability: "nothing left" is told apart from "sent, no answer" -----------------

  private watchReachability(): void {
    const stats = this.transport!.stats;
    this.unsent = {
      messagesOut: stats.messagesOut,
      dialFailures: Array.from({ length: this.build.n }, (_, id) => stats.peers[memberName(id)]?.dialFailures ?? 0),
      probed: false,
    };
    if (this.failWhenUnreachable) this.reachabilityTimer ??= setInterval(() => this.checkReachability(), REACHABILITY_POLL_MS);
  }

  private stopWatchingReachability(): void {
    if (this.reachabilityTimer !== null) clearInterval(this.reachabilityTimer);
    this.reachabilityTimer = null;
    this.unsent = null;
  }

  /** Whether any message has been handed to a member's stream since the current command was submitted. */
  private hasLeft(): boolean {
    return this.unsent === null || this.transport!.stats.messagesOut > this.unsent.messagesOut;
  }

  /**
   * Once every member has failed its dials and nothing has left, the waiting callers are told so.
   * A crash-mode session sends to one member at a time, so once one member has failed, every
   * member not yet failed gets a status query (its reply is ignored): that dials it now.
   */
  private checkReachability(): void {
    const unsent = this.unsent;
    if (unsent === null || this.hasLeft()) return this.stopWatchingReachability();
    const peers = this.transport!.stats.peers;
    const failures = Array.from({ length: this.build.n }, (_, id) => {
      const peer = peers[memberName(id)];
      return peer === undefined || peer.streamsOpen > 0 ? 0 : peer.dialFailures - unsent.dialFailures[id]!;
    });
    if (failures.some((count) => count < UNREACHABLE_DIAL_FAILURES)) {
      if (failures.some((count) => count > 0) && !unsent.probed) {
        unsent.probed = true;
        const probe = encodeMessage({ type: 'status-request', nonce: this.takeNonce() });
        failures.forEach((count, id) => count === 0 && this.transport!.send(memberName(id), probe));
      }
      return;
    }
    const why = Array.from({ length: this.build.n }, (_, id) => `${memberName(id)} ${this.memberAddrs[id]}: ${dialErrorText(peers[memberName(id)]!.lastDialError)}`);
    this.stopWatchingReachability();
    for (const operation of [...(this.current === null ? [] : [this.current]), ...this.queue.splice(0)]) {
      if (operation.settled) continue;
      const sent = operation === this.current ? 'nothing was sent yet' : 'it was never sent';
      operation.reject(new NoMemberReachableError(`${operation.what}: no member reachable (${why.join(', ')}); ${sent}`));
    }
  }

  private apply(effects: readonly ClientEffect[]): void {
    for (const effect of effects) {
      switch (effect.type) {
        case 'send':
          this.sendRequest(effect.to, effect.msg);
          break;
        case 'setTimer':
          if (this.retryTimer !== null) clearTimeout(this.retryTimer);
          this.retryTimer = setTimeout(() => {
            this.retryTimer = null;
            if (!this.closed) this.apply(this.client.onTimeout());
          }, effect.delayMs);
          break;
        case 'complete':
          this.complete(effect.result);
          break;
        case 'evicted':
          this.evicted();
          break;
        case 'refused':
          this.refused(effect.reason);
          break;
      }
    }
  }

  /** The session is done with the current command: stops resending it and hands it back (null if none). */
  private takeCurrent(): Operation | null {
    if (this.retryTimer !== null) clearTimeout(this.retryTimer);
    this.retryTimer = null;
    this.stopWatchingReachability();
    const operation = this.current;
    this.current = null;
    return operation;
  }

  private complete(resultBytes: Uint8Array): void {
    const operation = this.takeCurrent();
    if (operation !== null && !operation.settled) operation.resolve(resultBytes);
    this.next();
  }

  private sendRequest(to: NodeId, msg: ClientRequest): void {
    this.transport!.send(memberName(to), encodeMessage(msg));
  }

  /** The command can never be decided: its caller hears why, and the session goes on with the next one. */
  private refused(reason: string): void {
    const operation = this.takeCurrent();
    if (operation !== null && !operation.settled) operation.reject(new CommandRefusedError(`${operation.what}: refused: ${reason}`));
    this.next();
  }

  /** The replicas no longer know this session: the command did not run now; later ones go in a new session. */
  private evicted(): void {
    const operation = this.takeCurrent();
    const session = this.client.session;
    this.client = this.openSession();
    if (operation !== null && !operation.settled) {
      const what = operation.what;
      operation.reject(
        new SessionEvictedError(
          `${what}: the cluster evicted session ${session} of client ${this.id} (more than ${CLIENT_SESSIONS_PER_CLIENT_MAX} newer sessions of this client id), so it did not run now; if it was a retry it may have run before; later commands use a new session`,
        ),
      );
    }
    this.next();
  }

  // --- receiving -----------------------------------------------------------------------

  private receive(from: PeerName, bytes: Uint8Array): void {
    const peer = parsePeerName(from);
    if (this.closed || peer === null || peer.kind !== 'member' || peer.id >= this.build.n) return;
    let msg: WireMessage;
    try {
      msg = decodeWireMessage(bytes);
    } catch (e) {
      if (!(e instanceof CodecError)) throw e;
      if (this.log.enabled('debug')) this.log.debug('undecodable message', { from, error: e.message });
      return;
    }
    if (msg.type === 'reply') return this.onReply(peer.id, msg);
    if (msg.type === 'status-reply') return this.onStatusReply(peer.id, msg);
    if (this.log.enabled('debug')) this.log.debug('unexpected message', { from, type: msg.type });
  }

  private onReply(from: NodeId, msg: ClientReply): void {
    this.apply(this.client.onReply(from, msg));
  }

  private onStatusReply(from: NodeId, msg: StatusReply): void {
    const query = this.statusQueries.get(msg.nonce);
    // The transport authenticates the sender; a reply that names another member is ignored.
    if (query === undefined || msg.node !== from || query.replies.has(from)) return;
    query.replies.set(from, msg);
    if (query.replies.size === this.build.n || query.enough?.(query.replies) === true) query.done();
  }
}

/** A change as the CLI spells it: `add 3`, `remove 0`, `replace 0 3`. */
export function describeChange(change: MembershipChange): string {
  if (change.kind === 'replace') return `replace ${change.out} ${change.in}`;
  return `${change.kind} ${change.node}`;
}

/** What is left of a bound of `timeoutMs` that started at `startedAt` (performance.now()'s clock). */
function remainingMs(timeoutMs: number, startedAt = performance.now()): number {
  return Math.max(0, startedAt + timeoutMs - performance.now());
}

/** A dial error as its errno code when it names one (`ECONNREFUSED`), else its first line. */
function dialErrorText(error: string | null): string {
  if (error === null) return 'unreachable';
  return /\b(E[A-Z]{3,})\b/.exec(error)?.[1] ?? error.split('\n')[0]!;
}

/** 53 bits from the platform's cryptographic source: two processes of one client never collide in practice. */
function randomSession(): SessionId {
  const [high, low] = globalThis.crypto.getRandomValues(new Uint32Array(2));
  return sessionFromWords(high!, low!);
}

function statusRow(id: NodeId, reply: StatusReply | undefined): StatusRow {
  const name = memberName(id);
  if (reply === undefined) return { id, name, reachable: false };
  return {
    id,
    name,
    reachable: true,
    mode: reply.mode,
    ballot: reply.ballot,
    isLeader: reply.isLeader,
    lastDecidedSlot: reply.decidedUpTo - 1,
    uptimeMs: reply.uptimeMs,
    counts: reply.counts,
    workingRound: reply.workingRound,
    outsideWorkingBallot: reply.outsideWorkingBallot,
    configurations: reply.configurations,
  };
}
