// What LocalCluster holds of a member, wherever it runs (this process, a worker thread, a child
// process): its own module, so that each kind of member can implement it without importing the cluster.
import type { NodeId } from '../base/types.ts';

/** Counters of one member, or totals; times in ms. Signatures are real ones, past the verdict cache. */
export interface MemberStats {
  signs: number;
  signMs: number;
  verifies: number;
  verifyMs: number;
  cacheHits: number;
  /** Messages and payload bytes the member's transport sent, and the stream writes carrying them. */
  messagesOut: number;
  bytesOut: number;
  writes: number;
  /** Synced storage transactions (each an fsync; 0 with memory storage) and the time storage.apply took. */
  storageCommits: number;
  storageMs: number;
  /** Inputs (messages, requests, timer fires) the member's runtime stepped through its core. */
  steps: number;
  decisions: number;
  viewChanges: number;
}

/** Every counter at 0: the start of a total, and what a member that cannot see a counter reports. */
export function emptyMemberStats(): MemberStats {
  return {
    signs: 0,
    signMs: 0,
    verifies: 0,
    verifyMs: 0,
    cacheHits: 0,
    messagesOut: 0,
    bytesOut: 0,
    writes: 0,
    storageCommits: 0,
    storageMs: 0,
    steps: 0,
    decisions: 0,
    viewChanges: 0,
  };
}

/** A running member, wherever it runs. */
export interface MemberHandle {
  readonly id: NodeId;
  readonly peerId: string;
  /** Listen multiaddrs, each ending in /p2p/<peerId>. */
  readonly addrs: readonly string[];
  stats(): Promise<MemberStats>;
  stop(): Promise<void>;
}
