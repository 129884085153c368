// The replicated application, as consensus sees it: deterministic, opaque bytes in and out.
// Client sessions (exactly-once) live in the replica, not here.

export interface StateMachine {
  /** Apply one op; must be deterministic. Malformed ops yield an error result, never throw. */
  apply(op: Uint8Array): Uint8Array;
  /** Digest of the whole state, for comparing replicas. */
  stateDigest(): Uint8Array;
  /** Canonical encoding of the whole state: equal states give equal bytes (checkpoints sign its digest). */
  snapshot(): Uint8Array;
  /** Replace the state with a snapshot's; throws an Error naming the defect if it is malformed, changing nothing. */
  restore(snapshot: Uint8Array): void;
}
