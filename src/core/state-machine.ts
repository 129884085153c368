// The replicated application, as consensus sees it: deterministic, opaque bytes in and out.
// Client sessions (exactly-once) live in the replica, not here.
//
// The state is split into a fixed number of parts, so that a checkpoint re-encodes and rehashes
// only the parts that changed since the last one, and state transfer ships the state part by part,
// each part checked against the certified digests on its own.

export interface StateMachine {
  /**
   * Validated proposals (seed 000 §6): whether this op may be decided at all. Byzantine acceptors
   * never Verify a batch holding an op it refuses, and replicas never propose one, so with at most
   * f faulty members no refused op is ever decided. It judges the op alone, not against the state:
   * an acceptor may Verify slot s before it has executed slot s−1 (pipelining), so a verdict that
   * depended on the state could differ between acceptors. What does depend on the state is apply's
   * to judge, the same on every replica. Must be deterministic; absent, every op is valid.
   */
  validate?(op: Uint8Array): boolean;
  /** Apply one op; must be deterministic. Malformed ops yield an error result, never throw. */
  apply(op: Uint8Array): Uint8Array;
  /** Digest of the whole state, for comparing replicas. */
  stateDigest(): Uint8Array;
  /** How many parts the state is split into; fixed for the application. */
  readonly partCount: number;
  /** Canonical encoding of part `index` (at most STATE_PART_BYTES_MAX): equal states give equal parts. */
  part(index: number): Uint8Array;
  /** The parts changed since the last call (or restore), each once. */
  takeChangedParts(): number[];
  /** Replace the state with these parts; throws an Error naming the defect if they are malformed, changing nothing. */
  restore(parts: readonly Uint8Array[]): void;
}

/** The parts a state machine changed since it was last asked: what its takeChangedParts returns. */
export class ChangedParts {
  private parts = new Set<number>();

  add(index: number): void {
    this.parts.add(index);
  }

  take(): number[] {
    const changed = [...this.parts];
    this.parts.clear();
    return changed;
  }

  clear(): void {
    this.parts.clear();
  }
}
