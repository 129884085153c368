// Counting votes, one place for every tally in the tree: Verify, Accepted and checkpoint votes in
// the Byzantine modes, commitments and reveals in commit-reveal, Accepted in crash mode. Per
// position (a slot) each signer has one vote: a newer ballot's vote replaces an older one, an
// older one is stale, and a second, different vote in the same ballot is a conflict (equivocation,
// when the votes are signed). Votes add up only when they agree on ballot and value.
import type { NodeId, Slot } from '../base/types.ts';

export interface VoteRules<V> {
  /** Which of one signer's two votes is newer: > 0 when `a` is; 0 when both are of one ballot (they must agree). */
  compare(a: V, b: V): number;
  /** What votes must share to add up: their ballot and their value. */
  key(vote: V): string;
}

/** Votes of one ballot only (a round's Verify, a checkpoint slot's votes): nothing supersedes. */
export const oneBallot = <V>(key: (vote: V) => string): VoteRules<V> => ({ compare: () => 0, key });

export type AddOutcome<V> =
  | { readonly kind: 'added' }
  /** The signer said the same before: nothing changes. */
  | { readonly kind: 'repeat' }
  /** The signer already voted in a newer ballot. */
  | { readonly kind: 'stale' }
  /** The signer voted differently in the same ballot: `previous` and the new vote contradict. */
  | { readonly kind: 'conflict'; readonly previous: V };

const ADDED = { kind: 'added' } as const;
const REPEAT = { kind: 'repeat' } as const;
const STALE = { kind: 'stale' } as const;

export class VoteSet<V> {
  readonly #rules: VoteRules<V>;
  readonly #votes = new Map<Slot, Map<NodeId, V>>();

  constructor(rules: VoteRules<V>) {
    this.#rules = rules;
  }

  add(position: Slot, signer: NodeId, vote: V): AddOutcome<V> {
    let bySigner = this.#votes.get(position);
    const previous = bySigner?.get(signer);
    if (previous !== undefined) {
      const order = this.#rules.compare(vote, previous);
      if (order < 0) return STALE;
      if (order === 0) return this.#rules.key(vote) === this.#rules.key(previous) ? REPEAT : { kind: 'conflict', previous };
    }
    if (bySigner === undefined) this.#votes.set(position, (bySigner = new Map()));
    // Replacing keeps the signer's place: tallies run in the order signers were first heard.
    bySigner.set(signer, vote);
    return ADDED;
  }

  get(position: Slot, signer: NodeId): V | undefined {
    return this.#votes.get(position)?.get(signer);
  }

  /** Every vote at `position`, in the order their signers were first heard. */
  at(position: Slot): IterableIterator<V> {
    return (this.#votes.get(position) ?? new Map<NodeId, V>()).values();
  }

  /** Signers and their votes at `position`, in the order signers were first heard. */
  entries(position: Slot): IterableIterator<[NodeId, V]> {
    return (this.#votes.get(position) ?? new Map<NodeId, V>()).entries();
  }

  /** The first `size` votes agreeing on `key` (of signers `counts` admits), or null while fewer agree. */
  quorumFor(position: Slot, key: string, size: number, counts: (signer: NodeId) => boolean = () => true): V[] | null {
    const found: V[] = [];
    for (const [signer, vote] of this.entries(position)) {
      if (this.#rules.key(vote) !== key || !counts(signer)) continue;
      found.push(vote);
      if (found.length === size) return found;
    }
    return null;
  }

  /** The first group of `size` agreeing votes (of signers `counts` admits) to form, in the order they came, or null. */
  firstQuorum(position: Slot, size: number, counts: (signer: NodeId) => boolean = () => true): V[] | null {
    const groups = new Map<string, V[]>();
    for (const [signer, vote] of this.entries(position)) {
      if (!counts(signer)) continue;
      const key = this.#rules.key(vote);
      const group = groups.get(key) ?? [];
      group.push(vote);
      groups.set(key, group);
      if (group.length === size) return group;
    }
    return null;
  }

  forget(position: Slot): void {
    this.#votes.delete(position);
  }

  /** Drops every position below `low` (or at it too, with `inclusive`: a checkpoint slot that became stable). */
  forgetBelow(low: Slot, inclusive = false): void {
    for (const position of this.#votes.keys()) if (position < low || (inclusive && position === low)) this.#votes.delete(position);
  }

  clear(): void {
    this.#votes.clear();
  }

  /** Positions with votes, in the order they were first voted on. */
  keys(): IterableIterator<Slot> {
    return this.#votes.keys();
  }

  /** Positions with votes. */
  get positions(): number {
    return this.#votes.size;
  }

  /** Votes held, over all positions. */
  get size(): number {
    let size = 0;
    for (const bySigner of this.#votes.values()) size += bySigner.size;
    return size;
  }
}
