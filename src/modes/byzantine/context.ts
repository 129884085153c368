// What every role of a Byzantine replica shares (node.ts routes between the roles): who we are, the
// cluster's rules and signer, the drop counter, the ballot we are in, the watermarks, and the few
// things one role asks of another, which only the node may do because they touch several roles.
import type { Ballot, Batch, NodeId, Slot } from '../../base/types.ts';
import { byzantineFaultsOf, StaticConfiguration, type Configurations, type Membership } from '../../core/configuration.ts';
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
  /** Node ids that may be members: 0..n−1 (the universe, in a reconfigurable cluster). */
  readonly n: number;
  /** 2f+1: a quorum (of the configuration of our first undecided slot, in a reconfigurable cluster). */
  readonly quorum: number;
  /** f+1: at least one honest member among them (as `quorum`). */
  readonly weak: number;
  /** Whether membership changes through the log: then votes count per slot, for `membership(slot)`. */
  readonly reconfigurable: boolean;
  /** The configuration of `slot`, null while not known here (a static cluster's: every node, for every slot). */
  membership(slot: Slot): Membership | null;
  /** The configuration of our first undecided slot: who may lead, and whose promises and suspicions count. */
  current(): Membership;
  /** See Configurations.settledFrom: a leader with nothing queued fills the slots below it with no-ops (0 in a static cluster). */
  settledFrom(): Slot;
  readonly config: ByzantineConfig;
  readonly auth: Authenticator;
  readonly certificates: CertificateContext;
  readonly stats: ByzantineStats;
  /** Untrusted input that was refused: counted, never thrown. */
  drop(type: string, reason: string): void;
}

/** What a reconfigurable replica's context reads of its log: the configuration history and how far it is decided. */
export interface LogView {
  readonly configurations: Configurations & { newestKnown(firstUndecided: Slot): Membership };
  firstUndecided(): Slot;
  /** The low watermark: the history forgot the configurations of the slots below it. */
  low(): Slot;
}

export function replicaContext(id: NodeId, config: ByzantineConfig, auth: Authenticator, stats: ByzantineStats, log: LogView | null = null): ReplicaContext {
  const { n, phase2: quorum, weak } = config.quorums;
  const open = (e: SignedEnvelope) => auth.open(e);
  const drop = (type: string, reason: string) => countInto(stats.dropped, `${type}:${reason}`);
  if (log === null) {
    const everyone = new StaticConfiguration(config.quorums).at();
    const certificates = { n, quorum, clusterId: auth.clusterId, open };
    return { id, n, quorum, weak, reconfigurable: false, membership: () => everyone, current: () => everyone, settledFrom: () => 0, config, auth, certificates, stats, drop };
  }
  const membership = (slot: Slot) => log.configurations.at(slot, log.firstUndecided());
  const current = () => membership(log.firstUndecided())!;
  const vouchersAt = (slot: Slot): Membership => {
    const known = membership(slot);
    if (known !== null) return known;
    const newest = log.configurations.newestKnown(log.firstUndecided());
    const weak = byzantineFaultsOf(newest.members?.size ?? n) + 1;
    return { members: newest.members, phase1: weak, phase2: weak };
  };
  const certificates = { n, quorum, clusterId: auth.clusterId, open, membershipAt: membership, vouchersAt, settledBelow: () => log.low() };
  return {
    id,
    n,
    get quorum() {
      return current().phase2;
    },
    get weak() {
      return byzantineFaultsOf(current().members?.size ?? n) + 1;
    },
    reconfigurable: true,
    membership,
    current,
    settledFrom: () => log.configurations.settledFrom,
    config,
    auth,
    certificates,
    stats,
    drop,
  };
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
  /**
   * Who promised the ballot we joined, by its NewBallot: a reconfigurable cluster's acceptor votes
   * for a slot only if they hold a quorum of its configuration. Null for the first ballot, which
   * every acceptor starts in (no lower ballot can have chosen anything).
   */
  readonly promisers: readonly NodeId[] | null;
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
