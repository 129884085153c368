// What a node has seen signed where an honest node signs only once (claim.ts), from every route:
// direct messages, shared evidence, promises inside a NewBallot. The first message per (signer,
// type, position) is kept across ballot changes, so the two halves of a split equivocation make a
// proof wherever and in whatever order they meet. Bounded in bytes per signer, oldest first within
// a signer: a member flooding signed messages pushes out only its own, never an honest member's.
// The node decides which positions are worth keeping (its watermarks and rounds); the witness
// forgets slots below the low watermark once a checkpoint is stable.
import type { Ballot, NodeId, Slot } from '../../base/types.ts';
import { bytesEqual } from '../../../crypto/digest.ts';
import { WITNESS_ENTRY_OVERHEAD_BYTES } from '../../base/limits.ts';
import type { SignedEnvelope } from '../../messages/types.ts';
import type { SignedPayload } from './auth.ts';
import { at, claimOf } from './claim.ts';
import type { Evidence } from '../../messages/evidence.ts';

interface Seen {
  readonly envelope: SignedEnvelope;
  readonly content: readonly Uint8Array[];
  /** What this entry is charged against its signer's budget. */
  readonly bytes: number;
  /** Forgotten once the low watermark reaches this (Infinity: never, only pushed out). */
  readonly until: number;
}

/** One signer's entries, in insertion order (Map order), and their total charge. */
interface Log {
  readonly entries: Map<string, Seen>;
  bytes: number;
}

/** The per-slot types an evidence query asks about, in the order answers list them. */
const SLOT_TYPES = ['accept', 'verify', 'accepted', 'commitment', 'reveal'] as const;

export class Witness {
  readonly #logs: Log[];
  readonly #signerBytesMax: number;

  /** `signerBytesMax` bounds what one signer can make this node hold (witnessSignerBytesMax). */
  constructor(n: number, signerBytesMax: number) {
    if (!Number.isSafeInteger(signerBytesMax) || signerBytesMax < 1) {
      throw new RangeError(`Witness: signerBytesMax must be a positive integer, got ${signerBytesMax}`);
    }
    this.#signerBytesMax = signerBytesMax;
    this.#logs = Array.from({ length: n }, () => ({ entries: new Map(), bytes: 0 }));
  }

  /** Remembers an authenticated message; returns the proof if its signer said otherwise before. */
  observe(envelope: SignedEnvelope, inner: SignedPayload): Evidence | null {
    const log = this.#logs[envelope.signer];
    const claim = claimOf(inner, envelope.payload);
    if (log === undefined || claim === null) return null;
    const key = `${inner.type}|${claim.position}`;
    const held = log.entries.get(key);
    if (held === undefined) {
      this.#store(log, key, { envelope, content: claim.content, bytes: chargeOf(envelope), until: untilOf(inner) });
      return null;
    }
    if (held.content.every((part, i) => bytesEqual(part, claim.content[i]!))) return null;
    return { kind: 'equivocation', first: held.envelope, second: envelope };
  }

  /** The low watermark moved up to `low`: slots below it (checkpoints at or below it) are settled. */
  forgetBelow(low: Slot): void {
    for (const log of this.#logs) {
      for (const [key, seen] of log.entries) {
        if (seen.until > low) continue;
        log.entries.delete(key);
        log.bytes -= seen.bytes;
      }
    }
  }

  /** Everything held for (ballot, slot), to answer an evidence query. */
  heldAt(ballot: Ballot, slot: number): SignedEnvelope[] {
    return this.#collect(SLOT_TYPES, at(ballot, slot));
  }

  /** Checkpoint votes held for a slot. */
  heldAtCheckpoint(slot: number): SignedEnvelope[] {
    return this.#collect(['checkpoint'], `slot ${slot}`);
  }

  /** Entries held, over all signers. */
  get entries(): number {
    return this.#logs.reduce((sum, log) => sum + log.entries.size, 0);
  }

  /** Bytes charged, over all signers; at most n × signerBytesMax. */
  get bytes(): number {
    return this.#logs.reduce((sum, log) => sum + log.bytes, 0);
  }

  /** Bytes charged to one signer; at most signerBytesMax. */
  bytesOf(signer: NodeId): number {
    return this.#logs[signer]?.bytes ?? 0;
  }

  #store(log: Log, key: string, seen: Seen): void {
    // Larger than a whole budget: no honest member signs that (limits.ts sizes the budget).
    if (seen.bytes > this.#signerBytesMax) return;
    log.entries.set(key, seen);
    log.bytes += seen.bytes;
    for (const [oldest, old] of log.entries) {
      if (log.bytes <= this.#signerBytesMax) break;
      log.entries.delete(oldest);
      log.bytes -= old.bytes;
    }
  }

  #collect(types: readonly string[], position: string): SignedEnvelope[] {
    const found: SignedEnvelope[] = [];
    for (const log of this.#logs) {
      for (const type of types) {
        const seen = log.entries.get(`${type}|${position}`);
        if (seen !== undefined) found.push(seen.envelope);
      }
    }
    return found;
  }
}

function chargeOf(envelope: SignedEnvelope): number {
  return envelope.payload.length + envelope.signature.length + WITNESS_ENTRY_OVERHEAD_BYTES;
}

/** Slot messages lose their use below the low watermark, checkpoints at it; ballot messages never by slot. */
function untilOf(inner: SignedPayload): number {
  if (inner.type === 'checkpoint') return inner.slot;
  if ('slot' in inner && 'ballot' in inner) return inner.slot + 1;
  return Infinity;
}
