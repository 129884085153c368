// Acceptor rules (seed 002): P1a — promise a ballot only if it exceeds every ballot promised;
// P2c — accept (b, s, v) unless a higher ballot than b was promised. State changes are
// persisted (the returned records) before the reply is sent.
import { ballotGreater, compareBallots, type Ballot } from './ballot.ts';
import type { PersistRecord } from './effects.ts';
import { FRAME_BYTES_MAX, PROMISE_PVALUES_MAX } from './limits.ts';
import type { PValue, Slot } from './types.ts';
import type { Accept, Nack, Prepare, Promise1b } from '../messages/types.ts';
import { encodedSize, pvalueSize } from '../messages/codec.ts';

export type AcceptorOutcome<T> =
  | { readonly ok: true; readonly reply: T; readonly persist: readonly PersistRecord[] }
  | { readonly ok: false; readonly reply: Nack };

export class Acceptor {
  promised: Ballot;
  protected readonly accepted: Map<Slot, PValue>;

  constructor(promised: Ballot, accepted: ReadonlyMap<Slot, PValue>) {
    this.promised = promised;
    this.accepted = new Map(accepted);
  }

  acceptedAt(slot: Slot): PValue | undefined {
    return this.accepted.get(slot);
  }

  /** P1a. `decidedUpTo` is this node's first undecided slot, reported so the leader sees if it lags. */
  onPrepare(msg: Prepare, decidedUpTo: Slot): AcceptorOutcome<Promise1b> {
    if (!this.mayPromise(msg.ballot)) return this.nack(msg.ballot);
    this.promised = msg.ballot;
    const { pvalues, truncated } = this.acceptedFrom(msg, decidedUpTo);
    return {
      ok: true,
      persist: [{ type: 'promised', ballot: msg.ballot }],
      reply: { type: 'promise', ballot: msg.ballot, fromSlot: msg.fromSlot, accepted: pvalues, truncated, decidedUpTo },
    };
  }

  /** P2c. On success the caller announces Accepted(b, s, digest) to every learner. */
  onAccept(msg: Accept): AcceptorOutcome<PValue> {
    if (!this.mayAccept(msg.ballot)) return this.nack(msg.ballot);
    const persist: PersistRecord[] = [];
    if (ballotGreater(msg.ballot, this.promised)) {
      this.promised = msg.ballot;
      persist.push({ type: 'promised', ballot: msg.ballot });
    }
    const pvalue: PValue = { ballot: msg.ballot, slot: msg.slot, batch: msg.batch };
    const previous = this.accepted.get(msg.slot);
    // A retransmitted Accept of the same ballot changes nothing and needs no write.
    if (previous === undefined || compareBallots(previous.ballot, msg.ballot) !== 0) {
      this.accepted.set(msg.slot, pvalue);
      persist.push({ type: 'accepted', pvalue });
    }
    return { ok: true, persist, reply: pvalue };
  }

  protected mayPromise(ballot: Ballot): boolean {
    return ballotGreater(ballot, this.promised);
  }

  protected mayAccept(ballot: Ballot): boolean {
    return compareBallots(ballot, this.promised) >= 0;
  }

  private nack(ballot: Ballot): { ok: false; reply: Nack } {
    return { ok: false, reply: { type: 'nack', ballot, promised: this.promised } };
  }

  private acceptedFrom({ ballot, fromSlot }: Prepare, decidedUpTo: Slot): { pvalues: PValue[]; truncated: boolean } {
    const slots = [...this.accepted.keys()].filter((s) => s >= fromSlot).sort((a, b) => a - b);
    // Accepted batches may total more than a frame: carry what fits and say so (`truncated`).
    // The count prefix may grow to two bytes (PROMISE_PVALUES_MAX < 2^14).
    const empty: Promise1b = { type: 'promise', ballot, fromSlot, accepted: [], truncated: true, decidedUpTo };
    let room = FRAME_BYTES_MAX - encodedSize(empty) - 1;
    const pvalues: PValue[] = [];
    for (const slot of slots) {
      const pvalue = this.accepted.get(slot)!;
      room -= pvalueSize(pvalue);
      if (pvalues.length >= PROMISE_PVALUES_MAX || room < 0) return { pvalues, truncated: true };
      pvalues.push(pvalue);
    }
    return { pvalues, truncated: false };
  }
}
