// A client session (seed 001 "Clients"): one outstanding command at a time, numbered by seq,
// resent (same seq) until some replica answers, so the command executes exactly once.
import type { Rng } from './rng.ts';
import type { ClientId, NodeId } from './types.ts';
import type { ClientReply, ClientRequest } from '../messages/types.ts';

export type ClientEffect =
  | { readonly type: 'send'; readonly to: NodeId; readonly msg: ClientRequest }
  | { readonly type: 'setTimer'; readonly delayMs: number }
  | { readonly type: 'complete'; readonly seq: number; readonly result: Uint8Array };

export class Client {
  readonly id: ClientId;
  private readonly n: number;
  private readonly retryMs: number;
  private readonly rng: Rng;
  private seq = 0;
  private target: NodeId;
  private outstanding: ClientRequest | null = null;

  constructor(id: ClientId, n: number, rng: Rng, retryMs: number) {
    this.id = id;
    this.n = n;
    this.rng = rng;
    this.retryMs = retryMs;
    this.target = rng.int(n);
  }

  get busy(): boolean {
    return this.outstanding !== null;
  }

  /** The seq the next submitted command will carry. */
  get nextSeq(): number {
    return this.seq + 1;
  }

  submit(op: Uint8Array): ClientEffect[] {
    if (this.outstanding !== null) throw new Error(`client ${this.id}: submit while seq ${this.seq} is outstanding`);
    this.seq += 1;
    this.outstanding = { type: 'request', command: { clientId: this.id, seq: this.seq, op } };
    return this.transmit();
  }

  onReply(msg: ClientReply): ClientEffect[] {
    if (this.outstanding === null || msg.clientId !== this.id || msg.seq !== this.seq) return [];
    if (msg.status === 'ok') {
      this.outstanding = null;
      return [{ type: 'complete', seq: msg.seq, result: msg.result }];
    }
    if (msg.status === 'redirect' && msg.leaderHint >= 0 && msg.leaderHint < this.n && msg.leaderHint !== this.target) {
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

  private transmit(): ClientEffect[] {
    return [
      { type: 'send', to: this.target, msg: this.outstanding! },
      { type: 'setTimer', delayMs: this.retryMs },
    ];
  }
}
