// Vocabulary shared by every role (names from the seeds: slot, command, batch, pvalue).
import type { Ballot } from './ballot.ts';

/** Index of a cluster member, 0..n-1. */
export type NodeId = number;
/** Position in the replicated log, 0-based. */
export type Slot = number;
/** Client identifier (uint32). */
export type ClientId = number;

/**
 * A client command (seed 001 "Clients"): executed exactly once per (clientId, seq).
 * `op` is opaque to consensus; the replicated application decodes it.
 */
export interface Command {
  readonly clientId: ClientId;
  readonly seq: number;
  readonly op: Uint8Array;
  /** The client's signature over (clientId, seq, op) in Byzantine modes; empty in crash mode. */
  readonly signature: Uint8Array;
}

/** Identifies a command across resends: a client never reuses a seq. */
export function commandKey(command: { readonly clientId: ClientId; readonly seq: number }): string {
  return `${command.clientId}:${command.seq}`;
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
