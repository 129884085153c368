// The replicated application, as consensus sees it: deterministic, opaque bytes in and out.
// Client sessions (exactly-once) live in the replica, not here.
//
// The state is split into a fixed number of parts, so that a checkpoint re-encodes and rehashes
// only the parts that changed since the last one, and state transfer ships the state part by part,
// each part checked against the certified digests on its own.

export interface StateMachine {
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
