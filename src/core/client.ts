// A client session (seed 001 "Clients"): one outstanding command at a time, numbered by seq,
// resent (same seq) until enough replicas answer, so the command executes exactly once.
// Crash mode: ask the leader, take the first answer. Byzantine modes: sign the command, send it
// to every replica (a faulty leader cannot hide it), take a result once f+1 replicas agree.
import type { Rng } from './rng.ts';
import type { ClientId, Command, NodeId } from './types.ts';
import type { ClientReply, ClientRequest } from '../messages/types.ts';
import { bytesEqual } from '../../crypto/digest.ts';

export type ClientEffect =
  | { readonly type: 'send'; readonly to: NodeId; readonly msg: ClientRequest }
  | { readonly type: 'setTimer'; readonly delayMs: number }
  | { readonly type: 'complete'; readonly seq: number; readonly result: Uint8Array };

export interface ClientOptions {
  /** Matching replies from distinct replicas needed to accept a result: 1, or f+1 when replicas may lie. */
  readonly replyQuorum: number;
  /** Send each request to every replica instead of the presumed leader. */
  readonly broadcast: boolean;
  /** Signs (clientId, seq, op); crash mode leaves commands unsigned. */
  readonly sign: ((command: Omit<Command, 'signature'>) => Uint8Array) | null;
}

const CRASH_CLIENT: ClientOptions = { replyQuorum: 1, broadcast: false, sign: null };
const NO_SIGNATURE = new Uint8Array(0);

export class Client {
  readonly id: ClientId;
  private readonly n: number;
  private readonly retryMs: number;
  private readonly rng: Rng;
  private readonly options: ClientOptions;
  private seq = 0;
  private target: NodeId;
  private outstanding: ClientRequest | null = null;
  /** Results received for the outstanding seq, by replica. */
  private readonly replies = new Map<NodeId, Uint8Array>();

  constructor(id: ClientId, n: number, rng: Rng, retryMs: number, options: ClientOptions = CRASH_CLIENT) {
    if (!Number.isInteger(options.replyQuorum) || options.replyQuorum < 1 || options.replyQuorum > n) {
      throw new RangeError(`client: replyQuorum must be in 1..${n}, got ${options.replyQuorum}`);
    }
    this.id = id;
    this.n = n;
    this.rng = rng;
    this.retryMs = retryMs;
    this.options = options;
    this.target = rng.int(n);
  }

  /** The seq the next submitted command will carry. */
  get nextSeq(): number {
    return this.seq + 1;
  }

  submit(op: Uint8Array): ClientEffect[] {
    if (this.outstanding !== null) throw new Error(`client ${this.id}: submit while seq ${this.seq} is outstanding`);
    this.seq += 1;
    const unsigned = { clientId: this.id, seq: this.seq, op };
    const signature = this.options.sign?.(unsigned) ?? NO_SIGNATURE;
    this.outstanding = { type: 'request', command: { ...unsigned, signature } };
    this.replies.clear();
    return this.transmit();
  }

  onReply(from: NodeId, msg: ClientReply): ClientEffect[] {
    if (this.outstanding === null || msg.clientId !== this.id || msg.seq !== this.seq) return [];
    if (msg.status === 'ok') return this.collect(from, msg.result);
    if (msg.status === 'redirect' && !this.options.broadcast && msg.leaderHint >= 0 && msg.leaderHint < this.n && msg.leaderHint !== this.target) {
      this.target = msg.leaderHint;
      return this.transmit();
    }
    // No better guess, or the leader is busy: the retry timer tries again.
    return [];
  }

  onTimeout(): ClientEffect[] {
    if (this.outstanding === null) return [];
    this.target = (this.target + 1 + this.rng.int(this.n)) % this.n;
    return this.transmit();
  }

  private collect(from: NodeId, result: Uint8Array): ClientEffect[] {
    if (!Number.isInteger(from) || from < 0 || from >= this.n) return [];
    this.replies.set(from, result);
    let matching = 0;
    for (const other of this.replies.values()) if (bytesEqual(other, result)) matching++;
    if (matching < this.options.replyQuorum) return [];
    this.outstanding = null;
    this.replies.clear();
    return [{ type: 'complete', seq: this.seq, result }];
  }

  private transmit(): ClientEffect[] {
    const request = this.outstanding!;
    const effects: ClientEffect[] = [];
    if (this.options.broadcast) for (let to = 0; to < this.n; to++) effects.push({ type: 'send', to, msg: request });
    else effects.push({ type: 'send', to: this.target, msg: request });
    effects.push({ type: 'setTimer', delayMs: this.retryMs });
    return effects;
  }
}
