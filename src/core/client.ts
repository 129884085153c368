// A client session (seed 001 "Clients"): one outstanding command at a time, numbered by seq from
// 1 within the session, resent (same seq) until enough replicas answer, so the command executes
// exactly once. The session id is the caller's: random per process in the runtime, drawn from
// the seed in the simulator, so two processes of one client never share a session.
// Every first attempt goes to the presumed leader alone, following a replica's redirect (PBFT
// §4.1: the client sends to the primary it believes in). Crash mode takes the first answer and
// resends to the next replica. Byzantine modes sign the command and take a result once f+1
// replicas agree; a resend goes to every replica (a faulty leader cannot hide it, and each one
// holding it then watches the leader and answers), and each waits twice as long as the one
// before (up to CLIENT_RETRY_DOUBLINGS_MAX doublings), so a cluster slowed by load is not flooded
// with resends of what it already holds. The leader hint that f+1 replies agree on becomes the
// next command's target: at least one of them is honest.
// In the Byzantine modes only f+1 designated followers answer unasked (repliers.ts). One that
// owed an answer when the retry timer fired, while another replica had answered, is taken as
// silent: each later first attempt also asks followers in its place, so one crashed member does
// not cost every command of its clients a retry period. It is trusted again once it answers
// with the accepted result.
import { CLIENT_RETRY_DOUBLINGS_MAX } from '../base/limits.ts';
import type { Rng } from './rng.ts';
import type { ClientId, Command, NodeId, SessionId } from '../base/types.ts';
import type { ClientReply, ClientRequest } from '../messages/types.ts';
import { bytesEqual } from '../../crypto/digest.ts';

export type ClientEffect =
  | { readonly type: 'send'; readonly to: NodeId; readonly msg: ClientRequest }
  | { readonly type: 'setTimer'; readonly delayMs: number }
  | { readonly type: 'complete'; readonly seq: number; readonly result: Uint8Array }
  /** The replicas evicted this session, so the command was not executed now (it may have been before); the session is over. */
  | { readonly type: 'evicted'; readonly seq: number }
  /** The replicas refuse the command: it can never be decided, so its seq is free for the next one; `reason` is theirs. */
  | { readonly type: 'refused'; readonly seq: number; readonly reason: string };

export interface ClientOptions {
  /** Matching replies from distinct replicas needed to accept a result: 1, or f+1 when replicas may lie. */
  readonly replyQuorum: number;
  /** Resend an unanswered command to every replica, backing off; else to the next replica at an even pace. */
  readonly resendToAll: boolean;
  /** Signs (clientId, session, seq, op); crash mode leaves commands unsigned. */
  readonly sign: ((command: Omit<Command, 'signature'>) => Uint8Array) | null;
  /** Byzantine modes: whether `replica` answers this client unasked while `leader` leads (repliers.ts). */
  readonly designated?: (replica: NodeId, leader: NodeId) => boolean;
}

/** A session id from two random 32-bit words: 53 bits, the most a safe integer holds. */
export function sessionFromWords(high: number, low: number): SessionId {
  return (high & 0x1fffff) * 2 ** 32 + (low >>> 0);
}

const CRASH_CLIENT: ClientOptions = { replyQuorum: 1, resendToAll: false, sign: null };
const NO_SIGNATURE = new Uint8Array(0);

/** An answer as the quorum compares it: 'evicted' replies match each other, results and refusals by their bytes. */
type Answer = { readonly kind: 'result' | 'refused'; readonly result: Uint8Array } | { readonly kind: 'evicted' };

export class Client {
  readonly id: ClientId;
  readonly session: SessionId;
  private readonly n: number;
  private readonly retryMs: number;
  private readonly rng: Rng;
  private readonly options: ClientOptions;
  private seq = 0;
  private target: NodeId;
  private outstanding: ClientRequest | null = null;
  /** Resends of the outstanding command so far. */
  private resends = 0;
  /** Whether a redirect moved the outstanding command already. */
  private redirected = false;
  private ended = false;
  /** Answers received for the outstanding seq, by replica. */
  private readonly replies = new Map<NodeId, Answer>();
  /** The leader each of those replies named. */
  private readonly hints = new Map<NodeId, NodeId>();
  /** Designated repliers taken as silent: first attempts ask other followers in their place. */
  private readonly silent = new Set<NodeId>();
  /** The replicas a resend tries first (a reconfigurable cluster's members); empty: every one. */
  private preferred: readonly NodeId[] = [];

  constructor(id: ClientId, session: SessionId, n: number, rng: Rng, retryMs: number, options: ClientOptions = CRASH_CLIENT) {
    if (!Number.isInteger(options.replyQuorum) || options.replyQuorum < 1 || options.replyQuorum > n) {
      throw new RangeError(`client: replyQuorum must be in 1..${n}, got ${options.replyQuorum}`);
    }
    if (!Number.isSafeInteger(session) || session < 0) throw new RangeError(`client: session must be a non-negative safe integer, got ${session}`);
    this.id = id;
    this.session = session;
    this.n = n;
    this.rng = rng;
    this.retryMs = retryMs;
    this.options = options;
    this.target = rng.int(n);
  }

  /**
   * Resends go to these replicas first (the members of a reconfigurable cluster as last known:
   * the rest of its universe may be spares, down or removed); a redirect still goes anywhere.
   */
  prefer(replicas: readonly NodeId[]): void {
    const valid = replicas.filter((r) => validNode(r, this.n));
    this.preferred = valid;
    if (valid.length > 0 && !valid.includes(this.target)) this.target = valid[this.rng.int(valid.length)]!;
  }

  /** The seq the next submitted command will carry. */
  get nextSeq(): number {
    return this.seq + 1;
  }

  submit(op: Uint8Array): ClientEffect[] {
    if (this.outstanding !== null) throw new Error(`client ${this.id}: submit while seq ${this.seq} is outstanding`);
    if (this.ended) throw new Error(`client ${this.id}: submit after session ${this.session} was evicted`);
    this.seq += 1;
    const unsigned = { clientId: this.id, session: this.session, seq: this.seq, op };
    const signature = this.options.sign?.(unsigned) ?? NO_SIGNATURE;
    this.outstanding = { type: 'request', command: { ...unsigned, signature } };
    this.replies.clear();
    this.resends = 0;
    this.redirected = false;
    return this.transmit();
  }

  onReply(from: NodeId, msg: ClientReply): ClientEffect[] {
    if (this.outstanding === null || msg.clientId !== this.id || msg.session !== this.session || msg.seq !== this.seq) return [];
    if (msg.status === 'ok') return this.collect(from, msg.leaderHint, { kind: 'result', result: msg.result });
    if (msg.status === 'evicted') return this.collect(from, msg.leaderHint, { kind: 'evicted' });
    if (msg.status === 'refused') return this.collect(from, msg.leaderHint, { kind: 'refused', result: msg.result });
    // Once every replica holds the command, a redirect has nothing to add. A Byzantine-mode client
    // follows one redirect per command: two lying replicas could otherwise send it back and forth
    // for ever, each send restarting its retry timer.
    const sentToAll = this.options.resendToAll && this.resends > 0;
    const redirectSpent = this.options.resendToAll && this.redirected;
    if (msg.status === 'redirect' && !sentToAll && !redirectSpent && validNode(msg.leaderHint, this.n) && msg.leaderHint !== this.target) {
      this.redirected = true;
      this.target = msg.leaderHint;
      return this.transmit();
    }
    // No better guess, or the leader is busy: the retry timer tries again.
    return [];
  }

  onTimeout(): ClientEffect[] {
    if (this.outstanding === null) return [];
    // Someone answered, so the command executed: a designated replier without an answer is silent.
    if (this.replies.size > 0) for (const r of this.repliers()) if (!this.replies.has(r)) this.silent.add(r);
    this.target = this.nextTarget();
    this.resends++;
    return this.transmit();
  }

  private collect(from: NodeId, leaderHint: NodeId, answer: Answer): ClientEffect[] {
    if (!validNode(from, this.n)) return [];
    this.replies.set(from, answer);
    this.hints.set(from, leaderHint);
    let matching = 0;
    for (const other of this.replies.values()) if (sameAnswer(other, answer)) matching++;
    if (matching < this.options.replyQuorum) return [];
    for (const [r, other] of this.replies) if (sameAnswer(other, answer)) this.silent.delete(r);
    // Crash-mode replies name their sender, not a leader: there only a redirect moves the target.
    if (this.options.resendToAll) this.followHint();
    this.outstanding = null;
    this.replies.clear();
    this.hints.clear();
    if (answer.kind === 'result') return [{ type: 'complete', seq: this.seq, result: answer.result }];
    if (answer.kind === 'refused') {
      // Never decided anywhere: a session's first seq must stay 1 (replica.ts), so the next command reuses it.
      this.seq -= 1;
      return [{ type: 'refused', seq: this.seq + 1, reason: new TextDecoder().decode(answer.result) }];
    }
    this.ended = true;
    return [{ type: 'evicted', seq: this.seq }];
  }

  /**
   * The replica a resend goes to: a random other one, among the preferred for as many resends as
   * there are of them, then any (the preferred may all have been removed and stopped since).
   */
  private nextTarget(): NodeId {
    const among = this.preferred;
    if (among.length === 0 || this.resends >= among.length) return (this.target + 1 + this.rng.int(this.n)) % this.n;
    const at = among.indexOf(this.target);
    return among[(at + 1 + this.rng.int(among.length)) % among.length]!;
  }

  /** Targets the leader that replyQuorum of the replies name, if they agree on one. */
  private followHint(): void {
    const votes = new Map<NodeId, number>();
    for (const hint of this.hints.values()) {
      if (!validNode(hint, this.n)) continue;
      const count = (votes.get(hint) ?? 0) + 1;
      votes.set(hint, count);
      if (count >= this.options.replyQuorum) {
        this.target = hint;
        return;
      }
    }
  }

  /** The followers that answer the outstanding command unasked, as this client sees the leader. */
  private repliers(): NodeId[] {
    const designated = this.options.designated;
    if (designated === undefined) return [];
    return Array.from({ length: this.n }, (_, r) => r).filter((r) => designated(r, this.target));
  }

  /** Followers asked directly in place of silent designated repliers, in ring order after the leader. */
  private standIns(): NodeId[] {
    if (this.silent.size === 0) return [];
    let missing = this.options.replyQuorum - this.repliers().filter((r) => !this.silent.has(r)).length;
    const asked: NodeId[] = [];
    for (let step = 1; step < this.n && missing > 0; step++) {
      const r = (this.target + step) % this.n;
      if (this.silent.has(r) || this.options.designated!(r, this.target)) continue;
      asked.push(r);
      missing--;
    }
    return asked;
  }

  private transmit(): ClientEffect[] {
    const request = this.outstanding!;
    const effects: ClientEffect[] = [];
    const toAll = this.options.resendToAll && this.resends > 0;
    if (toAll) for (let to = 0; to < this.n; to++) effects.push({ type: 'send', to, msg: request });
    else {
      effects.push({ type: 'send', to: this.target, msg: request });
      for (const to of this.standIns()) effects.push({ type: 'send', to, msg: request });
    }
    // Crash mode keeps its pace: a resend there also looks for the leader at the next replica.
    const doublings = this.options.resendToAll ? Math.min(this.resends, CLIENT_RETRY_DOUBLINGS_MAX) : 0;
    effects.push({ type: 'setTimer', delayMs: this.retryMs * 2 ** doublings });
    return effects;
  }
}

function validNode(id: NodeId, n: number): boolean {
  return Number.isInteger(id) && id >= 0 && id < n;
}

function sameAnswer(a: Answer, b: Answer): boolean {
  if (a.kind === 'evicted' || b.kind === 'evicted') return a.kind === b.kind;
  return a.kind === b.kind && bytesEqual(a.result, b.result);
}
