// The newest CertifiedPromise each peer sent: what a replica reads to follow others past its round
// (f+1 ahead), to arm its view-change timer (2f+1 at or past it) and, as the round's leader, to
// build the NewBallot (its round's promises).
import type { NodeId } from '../../base/types.ts';
import type { SignedEnvelope } from '../../messages/types.ts';

export class Promises {
  readonly #latest = new Map<NodeId, { readonly round: number; readonly envelope: SignedEnvelope }>();

  get size(): number {
    return this.#latest.size;
  }

  /** The round of `from`'s newest promise; 0 if none. */
  roundOf(from: NodeId): number {
    return this.#latest.get(from)?.round ?? 0;
  }

  record(from: NodeId, round: number, envelope: SignedEnvelope): void {
    this.#latest.set(from, { round, envelope });
  }

  /** The rounds past `round` that nodes other than `self` promised, highest first. */
  roundsAhead(round: number, self: NodeId): number[] {
    const ahead: number[] = [];
    for (const [node, p] of this.#latest) if (node !== self && p.round > round) ahead.push(p.round);
    return ahead.sort((a, b) => b - a);
  }

  /** How many nodes promised `round` or a later one. */
  countFrom(round: number): number {
    let count = 0;
    for (const p of this.#latest.values()) if (p.round >= round) count++;
    return count;
  }

  /** The promises for `round`, by signer. */
  forRound(round: number): SignedEnvelope[] {
    return [...this.#latest.entries()]
      .filter(([, p]) => p.round === round)
      .sort(([a], [b]) => a - b)
      .map(([, p]) => p.envelope);
  }
}
