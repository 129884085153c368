// Certificates and the NewBallot rule, as pure functions: the acceptor that checks a NewBallot,
// the leader that builds one, catch-up and state transfer all use these same checks.
import type { Ballot } from '../../base/types.ts';
import { ballotEquals, compareBallots } from '../../base/ballot.ts';
import { PREPARED_CERTIFICATES_MAX } from '../../base/limits.ts';
import { NOOP, type Batch, type NodeId, type Slot } from '../../base/types.ts';
import { batchDigest } from '../../messages/codec.ts';
import type {
  CertifiedEntry,
  CertifiedPromise,
  Commitment,
  Reveal,
  CheckpointCertificate,
  NewBallot,
  PreparedCertificate,
  SignedEnvelope,
} from '../../messages/types.ts';
import type { SignedPayload } from './auth.ts';
import { leaderOf } from './cluster.ts';
import { hasQuorum, type Membership } from '../../core/configuration.ts';
import { oneBallot, VoteSet } from '../../core/vote-set.ts';
import { bytesEqual } from '../../../crypto/digest.ts';
import { opens } from '../../../crypto/commitment.ts';

export interface CertificateContext {
  readonly n: number;
  /** Needed to check commitments (commit-reveal mode). */
  readonly clusterId?: Uint8Array;
  /** 2f+1. */
  readonly quorum: number;
  /** Verify and decode an envelope (null if forged or malformed). */
  open(envelope: SignedEnvelope): SignedPayload | null;
  /**
   * A reconfigurable cluster: whose votes count for `slot`, and how many it takes (a quorum of
   * the slot's configuration); null while that configuration is not known here. Absent: a static
   * cluster, where `quorum` of the n members count for every slot.
   */
  readonly membershipAt?: (slot: Slot) => Membership | null;
  /**
   * Who vouches for a checkpoint at `slot`: a quorum of its configuration if known here; else f+1
   * members of the newest one known (a new member's, behind the others' truncation horizon): one
   * of them is honest, and an honest member signs only the state it computed. Absent: a static cluster.
   */
  readonly vouchersAt?: (slot: Slot) => Membership;
  /**
   * A reconfigurable cluster: slots below this are settled here by a stable checkpoint, and the
   * configuration history no longer holds their configurations. A certificate for one is of no
   * consequence here (no role acts below the low watermark) and passes unjudged; a peer behind
   * us that acts on it judges it against its own history.
   */
  readonly settledBelow?: () => Slot;
}

/** What a certificate's signers must be: `quorum` of any n members (static), or a quorum of a configuration's members. */
type Signers = Membership | undefined;

/** Opens each envelope of a certificate; null unless enough distinct signers (members of `signers`; others do not count) all pass `accept`. */
function openQuorum<T extends SignedPayload>(
  ctx: CertificateContext,
  envelopes: readonly SignedEnvelope[],
  accept: (inner: SignedPayload) => inner is T,
  signersOf: Signers = undefined,
): T[] | null {
  const quorum = signersOf?.phase2 ?? ctx.quorum;
  if (envelopes.length < quorum || envelopes.length > ctx.n) return null;
  if (signersOf !== undefined && !hasQuorum(signersOf, envelopes.map((e) => e.signer), quorum)) return null;
  // One vote per signer, counted before any signature is checked: a certificate that names a
  // signer twice is malformed, whatever the two envelopes say.
  const signers = new VoteSet<SignedEnvelope>(oneBallot(() => ''));
  const opened: T[] = [];
  for (const envelope of envelopes) {
    if (signers.add(0, envelope.signer, envelope).kind !== 'added') return null;
    const inner = ctx.open(envelope);
    if (inner === null || !accept(inner)) return null;
    opened.push(inner);
  }
  return opened;
}

/** Accept(b, s, batch) was verified by 2f+1 acceptors: 2f+1 signed Verify(b, s, digest(batch)). */
export function validPrepared(ctx: CertificateContext, cert: PreparedCertificate): boolean {
  if (cert.ballot.leader !== leaderOf(cert.ballot.round, ctx.n) || cert.ballot.round < 1) return false;
  if (settled(ctx, cert.slot)) return true;
  const signers = signersAt(ctx, cert.slot);
  if (signers === null) return false;
  const digest = batchDigest(cert.batch);
  return (
    openQuorum(
      ctx,
      cert.verifies,
      (m): m is SignedPayload => m.type === 'verify' && m.slot === cert.slot && ballotEquals(m.ballot, cert.ballot) && bytesEqual(m.digest, digest),
      signers,
    ) !== null
  );
}

/**
 * Slot s decided `batch`: 2f+1 signed Accepted for one ballot and digest(batch); in commit-reveal
 * mode, 2f+1 signed Commitments followed by the same acceptors' signed Reveals that open them.
 */
export function validCommit(ctx: CertificateContext, entry: CertifiedEntry): boolean {
  const signers = signersAt(ctx, entry.slot);
  if (signers === null) return false;
  const digest = batchDigest(entry.batch);
  const first = entry.accepteds[0] === undefined ? null : ctx.open(entry.accepteds[0]);
  if (first?.type === 'commitment') return validRevealedCommit(ctx, entry, digest, signers);
  let ballot: Ballot | null = null;
  return (
    openQuorum(
      ctx,
      entry.accepteds,
      (m): m is SignedPayload => {
        if (m.type !== 'accepted' || m.slot !== entry.slot || !bytesEqual(m.digest, digest)) return false;
        ballot ??= m.ballot;
        return ballotEquals(ballot, m.ballot);
      },
      signers,
    ) !== null
  );
}

function validRevealedCommit(ctx: CertificateContext, entry: CertifiedEntry, digest: Uint8Array, signers: Signers): boolean {
  const half = entry.accepteds.length / 2;
  if (!Number.isInteger(half) || ctx.clusterId === undefined) return false;
  const boxes = openQuorum(ctx, entry.accepteds.slice(0, half), (m): m is Commitment => m.type === 'commitment' && m.slot === entry.slot, signers);
  const keys = openQuorum(ctx, entry.accepteds.slice(half), (m): m is Reveal => m.type === 'reveal' && m.slot === entry.slot, signers);
  if (boxes === null || keys === null) return false;
  const ballot = boxes[0]!.ballot;
  return boxes.every((box, i) => {
    const key = keys[i]!;
    const sameSigner = entry.accepteds[i]!.signer === entry.accepteds[half + i]!.signer;
    const vote = { clusterId: ctx.clusterId!, round: ballot.round, leader: ballot.leader, slot: entry.slot, digest };
    return (
      sameSigner &&
      ballotEquals(box.ballot, ballot) &&
      ballotEquals(key.ballot, ballot) &&
      bytesEqual(key.digest, digest) &&
      opens(box.commitment, vote, key.key)
    );
  });
}

/** 2f+1 nodes signed the same state digest after executing every slot below `slot`. */
export function validCheckpoint(ctx: CertificateContext, cert: CheckpointCertificate): boolean {
  if (settled(ctx, cert.slot)) return true;
  return (
    openQuorum(
      ctx,
      cert.signatures,
      (m): m is SignedPayload => m.type === 'checkpoint' && m.slot === cert.slot && bytesEqual(m.stateDigest, cert.stateDigest),
      ctx.vouchersAt?.(cert.slot),
    ) !== null
  );
}

/** Whether `slot` lies below the stable checkpoint of a reconfigurable replica (see CertificateContext.settledBelow). */
function settled(ctx: CertificateContext, slot: Slot): boolean {
  return ctx.settledBelow !== undefined && slot < ctx.settledBelow();
}

/** The signers a certificate for `slot` needs: undefined in a static cluster, null while the slot's configuration is unknown here. */
function signersAt(ctx: CertificateContext, slot: Slot): Signers | null {
  return ctx.membershipAt === undefined ? undefined : ctx.membershipAt(slot);
}

/**
 * A reconfigurable cluster: the highest slot a promise's certificates are for whose configuration
 * is not known here, or null. Such a promise cannot be judged yet, which is no fault of its
 * signer: the judge catches up first (a member signs for a slot only once it knows its configuration).
 */
export function unjudgeableSlot(ctx: CertificateContext, promise: CertifiedPromise): Slot | null {
  if (ctx.membershipAt === undefined) return null;
  let highest: Slot | null = null;
  for (const cert of promise.prepared) if (!settled(ctx, cert.slot) && ctx.membershipAt(cert.slot) === null && (highest === null || cert.slot > highest)) highest = cert.slot;
  return highest;
}

/** Whether the promisers hold a quorum of `membership` (always, in a static cluster: the NewBallot rule counted them). */
export function promisedBy(membership: Membership, promisers: readonly NodeId[]): boolean {
  return membership.members === null || hasQuorum(membership, promisers, membership.phase1);
}

/**
 * A promise's own content is consistent: certificates valid, prepared slots above its checkpoint.
 * With `from` (a reconfigurable cluster's NewBallot, judged from its highest checkpoint on): only
 * the certificates for slots from there are checked, the checkpoint by the caller.
 */
export function validPromise(ctx: CertificateContext, promise: CertifiedPromise, from: Slot | null = null): boolean {
  if (promise.ballot.round < 1 || promise.ballot.leader !== leaderOf(promise.ballot.round, ctx.n)) return false;
  if (from === null && promise.checkpoint !== null && !validCheckpoint(ctx, promise.checkpoint)) return false;
  const low = promise.checkpoint?.slot ?? 0;
  const slots = new Set<Slot>();
  for (const cert of promise.prepared) {
    if (cert.slot < low || slots.has(cert.slot) || compareBallots(cert.ballot, promise.ballot) >= 0) return false;
    slots.add(cert.slot);
    if ((from === null || cert.slot >= from) && !validPrepared(ctx, cert)) return false;
  }
  return true;
}

export interface BallotChoice {
  /** The highest valid checkpoint among the promises: slots below it are settled. */
  readonly checkpoint: CheckpointCertificate | null;
  /** What the new leader must propose, for every slot from the checkpoint to the highest prepared. */
  readonly slots: ReadonlyMap<Slot, Batch>;
  readonly promisers: readonly NodeId[];
}

export type ChoiceResult = { readonly ok: true; readonly choice: BallotChoice } | { readonly ok: false; readonly reason: string };

/**
 * The NewBallot rule: 2f+1 valid promises for the ballot from distinct nodes; per slot above the
 * highest checkpoint, the batch of the highest-ballot prepared certificate, else a no-op.
 */
export function chooseFromPromises(ctx: CertificateContext, ballot: Ballot, promises: readonly SignedEnvelope[]): ChoiceResult {
  // A reconfigurable cluster counts the promisers per slot, against each slot's configuration
  // (below, and the acceptor for every slot it verifies in the ballot).
  const anyone = ctx.membershipAt === undefined ? undefined : { members: null, phase1: 1, phase2: 1 };
  const opened = openQuorum(ctx, promises, (m): m is CertifiedPromise => m.type === 'certified-promise', anyone);
  if (opened === null) return { ok: false, reason: `needs ${anyone === undefined ? ctx.quorum : 'some'} validly signed promises from distinct nodes` };
  const invalid = { ok: false, reason: 'a promise carries an invalid certificate' } as const;
  let checkpoint: CheckpointCertificate | null = null;
  for (const promise of opened) {
    if (!ballotEquals(promise.ballot, ballot)) return { ok: false, reason: 'a promise is for another ballot' };
    if (anyone === undefined && !validPromise(ctx, promise)) return invalid;
    if (promise.checkpoint !== null && (checkpoint === null || promise.checkpoint.slot > checkpoint.slot)) {
      checkpoint = promise.checkpoint;
    }
  }
  const low = checkpoint?.slot ?? 0;
  // A reconfigurable cluster judges only what the choice rests on: the highest checkpoint and the
  // certificates above it. Below it a judge's history may no longer hold the configurations (the
  // leader's did not, past its own checkpoint), and every judge must come to the leader's verdict.
  if (anyone !== undefined) {
    if (checkpoint !== null && !validCheckpoint(ctx, checkpoint)) return invalid;
    for (const promise of opened) if (!validPromise(ctx, promise, low)) return invalid;
  }
  const promisers = promises.map((e) => e.signer);
  const first = settled(ctx, low) ? undefined : ctx.membershipAt?.(low);
  if (first === null) return { ok: false, reason: `the configuration of slot ${low} is not known here` };
  if (first !== undefined && !promisedBy(first, promisers)) return { ok: false, reason: `the promisers are no quorum of the configuration of slot ${low}` };
  const best = new Map<Slot, PreparedCertificate>();
  for (const promise of opened) {
    for (const cert of promise.prepared) {
      if (cert.slot < low) continue;
      const current = best.get(cert.slot);
      if (current === undefined || compareBallots(cert.ballot, current.ballot) > 0) best.set(cert.slot, cert);
    }
  }
  let high = low - 1;
  for (const slot of best.keys()) high = Math.max(high, slot);
  // Honest acceptors verify only between their watermarks, so a genuine span is bounded.
  if (high - low >= PREPARED_CERTIFICATES_MAX) return { ok: false, reason: `prepared slots span more than ${PREPARED_CERTIFICATES_MAX}` };
  const slots = new Map<Slot, Batch>();
  for (let slot = low; slot <= high; slot++) slots.set(slot, best.get(slot)?.batch ?? NOOP);
  return { ok: true, choice: { checkpoint, slots, promisers } };
}

/** Re-derive a NewBallot's choice; an acceptor joins the ballot only if this succeeds. */
export function checkNewBallot(ctx: CertificateContext, msg: NewBallot, signer: NodeId): ChoiceResult {
  if (msg.ballot.round < 1 || msg.ballot.leader !== leaderOf(msg.ballot.round, ctx.n) || signer !== msg.ballot.leader) {
    return { ok: false, reason: 'not signed by the leader of its ballot' };
  }
  return chooseFromPromises(ctx, msg.ballot, msg.promises);
}
