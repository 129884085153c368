// Acceptor rules (seed 002): P1a — promise a ballot only if it exceeds every ballot promised;
// P2c — accept (b, s, v) unless a higher ballot than b was promised. State changes are
// persisted (the returned records) before the reply is sent.
//
// Crash mode truncates: once every slot below `logFrom` is decided and executed into a local
// snapshot, the acceptor forgets its pvalues there (docs/PROTOCOL.md, "Snapshots and log
// truncation"). A Prepare from below logFrom is then answered `truncated`, as when the pvalues
// exceed a Promise: the candidate lags, catches up (by snapshot) and only then may lead.
import type { Ballot, PValue, Slot } from '../base/types.ts';
import { ballotGreater, compareBallots } from '../base/ballot.ts';
import { assert } from '../base/assert.ts';
import type { PersistRecord } from './effects.ts';
import { FRAME_BYTES_MAX, PROMISE_PVALUES_MAX } from '../base/limits.ts';
import type { Accept, Nack, Prepare, Promise1b } from '../messages/types.ts';
import { encodedSize, pvalueSize } from '../messages/codec.ts';

export type AcceptorOutcome<T> =
  | { readonly ok: true; readonly reply: T; readonly persist: readonly PersistRecord[] }
  | { readonly ok: false; readonly reply: Nack };

export class Acceptor {
  promised: Ballot;
  protected readonly accepted: Map<Slot, PValue>;
  /** Every slot below this is decided and executed here, and its pvalue forgotten. */
  private logFromSlot: Slot;

  constructor(promised: Ballot, accepted: ReadonlyMap<Slot, PValue>, logFrom: Slot = 0) {
    this.promised = promised;
    this.accepted = new Map(accepted);
    this.logFromSlot = logFrom;
  }

  get logFrom(): Slot {
    return this.logFromSlot;
  }

  /** Pvalues held: those from logFrom on. */
  get acceptedCount(): number {
    return this.accepted.size;
  }

  /** Forget the pvalues below `slot`; the caller has decided and executed every slot below it. */
  truncateBelow(slot: Slot): void {
    if (slot <= this.logFromSlot) return;
    this.logFromSlot = slot;
    for (const s of this.accepted.keys()) if (s < slot) this.accepted.delete(s);
  }

  acceptedAt(slot: Slot): PValue | undefined {
    return this.accepted.get(slot);
  }

  /** P1a. `decidedUpTo` is this node's first undecided slot, reported so the leader sees if it lags. */
  onPrepare(msg: Prepare, decidedUpTo: Slot): AcceptorOutcome<Promise1b> {
    if (!this.mayPromise(msg.ballot)) return this.nack(msg.ballot);
    assert(ballotGreater(msg.ballot, this.promised), 'P1a: a promise only ever rises');
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
      assert(previous === undefined || compareBallots(previous.ballot, msg.ballot) < 0, 'an acceptor replaces a pvalue only with one of a higher ballot');
      this.accepted.set(msg.slot, pvalue);
      persist.push({ type: 'accepted', pvalue });
    }
    assert(compareBallots(this.promised, msg.ballot) >= 0, 'the promised ballot is at least every accepted ballot');
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
    const empty: Promise1b = { type: 'promise', ballot, fromSlot, accepted: [], truncated: true, decidedUpTo };
    // Forgotten pvalues cannot be reported: the candidate must not lead before it has caught up.
    if (fromSlot < this.logFromSlot) return { pvalues: [], truncated: true };
    const slots = [...this.accepted.keys()].filter((s) => s >= fromSlot).sort((a, b) => a - b);
    // Accepted batches may total more than a frame: carry what fits and say so (`truncated`).
    // The count prefix may grow to two bytes (PROMISE_PVALUES_MAX < 2^14).
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
