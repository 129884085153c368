// What every role of a Byzantine replica shares (node.ts routes between the roles): who we are, the
// cluster's rules and signer, the drop counter, the ballot we are in, the watermarks, and the few
// things one role asks of another, which only the node may do because they touch several roles.
import type { Ballot, Batch, NodeId, Slot } from '../../base/types.ts';
import type { Outbox } from '../../core/outbox.ts';
import type { CertifiedEntry, SignedEnvelope } from '../../messages/types.ts';
import type { Evidence } from '../../messages/evidence.ts';
import type { Authenticator } from './auth.ts';
import type { CertificateContext } from './certificates.ts';
import type { ByzantineConfig } from './config.ts';

export interface ByzantineStats {
  readonly received: Map<string, number>;
  readonly dropped: Map<string, number>;
  viewChanges: number;
}

export interface ReplicaContext {
  readonly id: NodeId;
  readonly n: number;
  /** 2f+1: a quorum. */
  readonly quorum: number;
  /** f+1: at least one honest member among them. */
  readonly weak: number;
  readonly config: ByzantineConfig;
  readonly auth: Authenticator;
  readonly certificates: CertificateContext;
  readonly stats: ByzantineStats;
  /** Untrusted input that was refused: counted, never thrown. */
  drop(type: string, reason: string): void;
}

export function replicaContext(id: NodeId, config: ByzantineConfig, auth: Authenticator, stats: ByzantineStats): ReplicaContext {
  const { n, phase2: quorum, weak } = config.quorums;
  const certificates = { n, quorum, clusterId: auth.clusterId, open: (e: SignedEnvelope) => auth.open(e) };
  return { id, n, quorum, weak, config, auth, certificates, stats, drop: (type, reason) => countInto(stats.dropped, `${type}:${reason}`) };
}

export function countInto(counts: Map<string, number>, key: string): void {
  counts.set(key, (counts.get(key) ?? 0) + 1);
}

/** The ballot this replica is in (joined when `normal`) or moving to (`changing`): view-change.ts owns it. */
export interface BallotView {
  readonly round: number;
  readonly status: 'normal' | 'changing';
  readonly ballot: Ballot;
  /** The leader of the ballot we are in or moving to, as clients are told. */
  readonly leader: NodeId;
  readonly isLeader: boolean;
  /** A real ballot (its leader by rotation) no further ahead than the promises we accept. */
  roundInReach(ballot: Ballot): boolean;
  readonly roundsAheadMax: number;
}

/** What this replica's acceptor verified in the current ballot: learners decide on it. */
export interface VerifiedLog {
  /** Our Verify's digest and batch at `slot` in the current ballot. */
  verifiedAt(slot: Slot): { readonly digest: Uint8Array; readonly batch: Batch } | undefined;
  /** The batch with this digest, from our Verify or a prepared certificate. */
  batchFor(slot: Slot, digestHex: string): Batch | undefined;
}

/** What a role asks of the node, because it reaches into other roles. */
export interface Router {
  report(evidence: Evidence, out: Outbox): void;
  /** Ask every peer what it holds at (our round, slot) or at checkpoint `slot`. */
  query(slot: Slot, checkpoint: boolean, out: Outbox): void;
  /** A vote for (round, slot) naming another digest than ours: ask around. */
  contradicts(slot: Slot, round: number, digest: Uint8Array, out: Outbox): void;
  /** `peer` has decided every slot below `theirDecidedUpTo`: fetch what we lack. */
  catchUp(peer: NodeId, theirDecidedUpTo: Slot, out: Outbox): void;
  /** `round`: the ballot whose votes we counted, when we counted them (null for a fetched entry). */
  decide(entry: CertifiedEntry, out: Outbox, round?: number | null): void;
}

export const EMPTY = new Uint8Array(0);

/** Envelopes some role keeps per slot and sends again. */
export interface Flight {
  readonly envelope: SignedEnvelope;
  age: number;
}
