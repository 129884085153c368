// Assertions of invariants, always on (TigerBeetle's style): a failed one is a bug in this code,
// never bad input, so it stops the node rather than letting it go on in a state it must not be in.
// Untrusted input is checked elsewhere and dropped and counted; it must never reach an assertion.

export class InvariantError extends Error {
  override readonly name = 'InvariantError';
}

/** Throws InvariantError naming `what` (the invariant that must hold) unless `condition` holds. */
export function assert(condition: boolean, what: string): asserts condition {
  if (!condition) throw new InvariantError(`invariant broken: ${what}`);
}
