// Vocabulary shared by every role (names from the seeds: slot, command, batch, pvalue).

/** Index of a cluster member, 0..n-1. */
export type NodeId = number;

/** (round, leader id), ordered lexicographically; compared through ./ballot.ts. */
export interface Ballot {
  readonly round: number;
  readonly leader: NodeId;
}
/** Position in the replicated log, 0-based. */
export type Slot = number;
/** Client identifier (uint32). */
export type ClientId = number;
/**
 * One client process's session (a safe integer): drawn at random when it starts, so processes
 * sharing a client id and key never share a session. Its seqs run 1, 2, 3, …
 */
export type SessionId = number;

/**
 * A client command (seed 001 "Clients"): executed exactly once per (clientId, session, seq).
 * `op` is opaque to consensus; the replicated application decodes it.
 */
export interface Command {
  readonly clientId: ClientId;
  readonly session: SessionId;
  readonly seq: number;
  readonly op: Uint8Array;
  /** The client's signature over (clientId, session, seq, op) in Byzantine modes; empty in crash mode. */
  readonly signature: Uint8Array;
}

/** Identifies a session: a client id may have several, one per process. */
export function sessionKey(command: { readonly clientId: ClientId; readonly session: SessionId }): string {
  return `${command.clientId}:${command.session}`;
}

/** Identifies a command across resends: a session never reuses a seq. */
export function commandKey(command: { readonly clientId: ClientId; readonly session: SessionId; readonly seq: number }): string {
  return `${command.clientId}:${command.session}:${command.seq}`;
}

/** What one slot decides: an ordered batch of commands. The empty batch is the no-op. */
export interface Batch {
  readonly commands: readonly Command[];
}

export const NOOP: Batch = Object.freeze({ commands: Object.freeze([]) as readonly Command[] });

export function isNoop(batch: Batch): boolean {
  return batch.commands.length === 0;
}

/** (ballot, slot, batch): an acceptor accepted `batch` for `slot` in `ballot`. */
export interface PValue {
  readonly ballot: Ballot;
  readonly slot: Slot;
  readonly batch: Batch;
}
