// What a node has seen signed where an honest node signs only once (claim.ts), from every route:
// direct messages, shared evidence, promises inside a NewBallot. The first message per (signer,
// type, position) is kept across ballot changes, so the two halves of a split equivocation make a
// proof wherever and in whatever order they meet. Bounded: the oldest entries go first.
import { bytesEqual } from '../../crypto/digest.ts';
import { FifoCache } from '../../crypto/fifo-cache.ts';
import type { NodeId } from '../core/types.ts';
import type { SignedEnvelope } from '../messages/types.ts';
import type { SignedPayload } from '../modes/byzantine/auth.ts';
import { at, claimOf } from './claim.ts';
import type { Ballot } from '../core/ballot.ts';
import type { Evidence } from './types.ts';

interface Seen {
  readonly envelope: SignedEnvelope;
  readonly content: readonly Uint8Array[];
}

/** The per-slot types an evidence query asks about, in the order answers list them. */
const SLOT_TYPES = ['accept', 'verify', 'accepted', 'commitment', 'reveal'] as const;

export class Witness {
  readonly #seen: FifoCache<Seen>;
  readonly #n: number;

  /** `entriesMax` bounds memory; size it to cover the slots in flight (the watermark window). */
  constructor(n: number, entriesMax: number) {
    this.#n = n;
    this.#seen = new FifoCache(entriesMax);
  }

  /** Remembers an authenticated message; returns the proof if its signer said otherwise before. */
  observe(envelope: SignedEnvelope, inner: SignedPayload): Evidence | null {
    const claim = claimOf(inner, envelope.payload);
    if (claim === null) return null;
    const key = keyOf(envelope.signer, inner.type, claim.position);
    const held = this.#seen.get(key);
    if (held === undefined) {
      this.#seen.set(key, { envelope, content: claim.content });
      return null;
    }
    if (held.content.every((part, i) => bytesEqual(part, claim.content[i]!))) return null;
    return { kind: 'equivocation', first: held.envelope, second: envelope };
  }

  /** Everything held for (ballot, slot), to answer an evidence query. */
  heldAt(ballot: Ballot, slot: number): SignedEnvelope[] {
    return this.#collect(SLOT_TYPES, at(ballot, slot));
  }

  /** Checkpoint votes held for a slot. */
  heldAtCheckpoint(slot: number): SignedEnvelope[] {
    return this.#collect(['checkpoint'], `slot ${slot}`);
  }

  #collect(types: readonly string[], position: string): SignedEnvelope[] {
    const found: SignedEnvelope[] = [];
    for (let signer = 0; signer < this.#n; signer++) {
      for (const type of types) {
        const seen = this.#seen.get(keyOf(signer, type, position));
        if (seen !== undefined) found.push(seen.envelope);
      }
    }
    return found;
  }
}

function keyOf(signer: NodeId, type: string, position: string): string {
  return `${signer}|${type}|${position}`;
}
