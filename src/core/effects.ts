// What the core asks its driver to do, in order (etcd raft's Ready). The driver must make
// every `persist` durable before performing any later `send`/`broadcast`/`reply` of the same step.
import type { Ballot, Batch, ClientId, Command, NodeId, PValue, Slot } from '../base/types.ts';
import type { Evidence, Suspicion } from '../messages/evidence.ts';
import type {
  CertifiedEntry,
  CheckpointCertificate,
  ClientReply,
  ClientRequest,
  PeerMessage,
  PreparedCertificate,
  SignedEnvelope,
} from '../messages/types.ts';

export type ProtocolTimer = 'election' | 'heartbeat' | 'catchup' | 'progress' | 'view-change' | 'retransmit';
/** Adversaries may keep timers of their own, and a twin pair keeps one set per twin. */
export type TimerName = ProtocolTimer | 'adversary' | `twin:${ProtocolTimer}`;

export type PersistRecord =
  | { readonly type: 'promised'; readonly ballot: Ballot }
  | { readonly type: 'accepted'; readonly pvalue: PValue }
  | { readonly type: 'round'; readonly round: number }
  | { readonly type: 'decided'; readonly slot: Slot; readonly batch: Batch }
  // Byzantine modes. `joined` keeps what justified a round: the NewBallot joined by, or while
  // still changing our own promise for it, so a restart re-sends it instead of signing another; `verified`
  // is what this node signed for (ballot, slot), so it never signs a different digest even
  // after a restart; `checkpoint` lets storage drop everything below the stable checkpoint.
  // A state may be far larger than a frame: it is written as parts, a record each.
  | { readonly type: 'joined'; readonly round: number; readonly by: SignedEnvelope | null }
  | { readonly type: 'verified'; readonly ballot: Ballot; readonly slot: Slot; readonly digest: Uint8Array }
  | { readonly type: 'prepared'; readonly certificate: PreparedCertificate }
  /** Commit-reveal: the key committed for (ballot, slot), kept so a restart recommits identically. */
  | { readonly type: 'committed'; readonly ballot: Ballot; readonly slot: Slot; readonly key: Uint8Array }
  | { readonly type: 'certified'; readonly entry: CertifiedEntry }
  /** One part of the state at the next `checkpoint` record (only parts that changed since the last one are written). */
  | { readonly type: 'state-part'; readonly index: number; readonly part: Uint8Array }
  /** A stable checkpoint: its certificate and position; its state is the latest `state-part` of each of `partCount` indices. */
  | { readonly type: 'checkpoint'; readonly certificate: CheckpointCertificate; readonly executedUpTo: Slot; readonly partCount: number }
  /**
   * Crash mode: a local snapshot (trusted, no certificate) at `executedUpTo`, its state the latest
   * `state-part` of each of `partCount` indices; the log below `logFrom` (<= executedUpTo) is dropped.
   */
  | { readonly type: 'snapshot'; readonly executedUpTo: Slot; readonly partCount: number; readonly logFrom: Slot };

/**
 * Whether a record must be on disk, synced, before anything after it leaves the node (etcd raft's
 * MustSync): what this node promised or signed (a promise, an accepted pvalue, a Verify, a
 * commitment key, a prepared certificate, a ballot round). Decisions and checkpoints need not:
 * a quorum's votes, not this copy, make them, and a restart that lost them (a power cut before the
 * next synced commit; a killed process loses nothing) fetches them again, with their proofs.
 */
export function mustSync(record: PersistRecord): boolean {
  switch (record.type) {
    case 'decided':
    case 'certified':
    case 'state-part':
    case 'checkpoint':
      return false;
    default:
      return true;
  }
}

export type Effect =
  | { readonly type: 'persist'; readonly record: PersistRecord }
  | { readonly type: 'send'; readonly to: NodeId; readonly msg: PeerMessage }
  /** To every other node. */
  | { readonly type: 'broadcast'; readonly msg: PeerMessage }
  | { readonly type: 'reply'; readonly clientId: ClientId; readonly msg: ClientReply }
  | { readonly type: 'decide'; readonly slot: Slot; readonly batch: Batch }
  /** A command took effect at this replica (each (clientId, seq) at most once). */
  | { readonly type: 'execute'; readonly slot: Slot; readonly command: Command; readonly result: Uint8Array }
  /** Proof that a node misbehaved, gathered by this node (Byzantine modes). */
  | { readonly type: 'evidence'; readonly evidence: Evidence }
  /** Unprovable misbehaviour this node noticed (withholding, lateness). */
  | { readonly type: 'suspicion'; readonly suspicion: Suspicion }
  | { readonly type: 'setTimer'; readonly timer: TimerName; readonly delayMs: number }
  | { readonly type: 'clearTimer'; readonly timer: TimerName };

export type Input =
  | { readonly type: 'message'; readonly from: NodeId; readonly msg: PeerMessage }
  | { readonly type: 'request'; readonly msg: ClientRequest }
  | { readonly type: 'timeout'; readonly timer: TimerName };
