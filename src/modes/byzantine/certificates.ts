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
}

/** Opens each envelope of a certificate; null unless `quorum` distinct signers all pass `accept`. */
function openQuorum<T extends SignedPayload>(
  ctx: CertificateContext,
  envelopes: readonly SignedEnvelope[],
  accept: (inner: SignedPayload) => inner is T,
): T[] | null {
  if (envelopes.length < ctx.quorum || envelopes.length > ctx.n) return null;
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
  const digest = batchDigest(cert.batch);
  return (
    openQuorum(ctx, cert.verifies, (m): m is SignedPayload =>
      m.type === 'verify' && m.slot === cert.slot && ballotEquals(m.ballot, cert.ballot) && bytesEqual(m.digest, digest),
    ) !== null
  );
}

/**
 * Slot s decided `batch`: 2f+1 signed Accepted for one ballot and digest(batch); in commit-reveal
 * mode, 2f+1 signed Commitments followed by the same acceptors' signed Reveals that open them.
 */
export function validCommit(ctx: CertificateContext, entry: CertifiedEntry): boolean {
  const digest = batchDigest(entry.batch);
  const first = entry.accepteds[0] === undefined ? null : ctx.open(entry.accepteds[0]);
  if (first?.type === 'commitment') return validRevealedCommit(ctx, entry, digest);
  let ballot: Ballot | null = null;
  return (
    openQuorum(ctx, entry.accepteds, (m): m is SignedPayload => {
      if (m.type !== 'accepted' || m.slot !== entry.slot || !bytesEqual(m.digest, digest)) return false;
      ballot ??= m.ballot;
      return ballotEquals(ballot, m.ballot);
    }) !== null
  );
}

function validRevealedCommit(ctx: CertificateContext, entry: CertifiedEntry, digest: Uint8Array): boolean {
  const half = entry.accepteds.length / 2;
  if (!Number.isInteger(half) || ctx.clusterId === undefined) return false;
  const boxes = openQuorum(ctx, entry.accepteds.slice(0, half), (m): m is Commitment => m.type === 'commitment' && m.slot === entry.slot);
  const keys = openQuorum(ctx, entry.accepteds.slice(half), (m): m is Reveal => m.type === 'reveal' && m.slot === entry.slot);
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
  return (
    openQuorum(ctx, cert.signatures, (m): m is SignedPayload =>
      m.type === 'checkpoint' && m.slot === cert.slot && bytesEqual(m.stateDigest, cert.stateDigest),
    ) !== null
  );
}

/** A promise's own content is consistent: certificates valid, prepared slots above its checkpoint. */
export function validPromise(ctx: CertificateContext, promise: CertifiedPromise): boolean {
  if (promise.ballot.round < 1 || promise.ballot.leader !== leaderOf(promise.ballot.round, ctx.n)) return false;
  if (promise.checkpoint !== null && !validCheckpoint(ctx, promise.checkpoint)) return false;
  const low = promise.checkpoint?.slot ?? 0;
  const slots = new Set<Slot>();
  for (const cert of promise.prepared) {
    if (cert.slot < low || slots.has(cert.slot) || compareBallots(cert.ballot, promise.ballot) >= 0) return false;
    slots.add(cert.slot);
    if (!validPrepared(ctx, cert)) return false;
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
  const opened = openQuorum(ctx, promises, (m): m is CertifiedPromise => m.type === 'certified-promise');
  if (opened === null) return { ok: false, reason: `needs ${ctx.quorum} validly signed promises from distinct nodes` };
  let checkpoint: CheckpointCertificate | null = null;
  for (const promise of opened) {
    if (!ballotEquals(promise.ballot, ballot)) return { ok: false, reason: 'a promise is for another ballot' };
    if (!validPromise(ctx, promise)) return { ok: false, reason: 'a promise carries an invalid certificate' };
    if (promise.checkpoint !== null && (checkpoint === null || promise.checkpoint.slot > checkpoint.slot)) {
      checkpoint = promise.checkpoint;
    }
  }
  const low = checkpoint?.slot ?? 0;
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
  return { ok: true, choice: { checkpoint, slots, promisers: promises.map((e) => e.signer) } };
}

/** Re-derive a NewBallot's choice; an acceptor joins the ballot only if this succeeds. */
export function checkNewBallot(ctx: CertificateContext, msg: NewBallot, signer: NodeId): ChoiceResult {
  if (msg.ballot.round < 1 || msg.ballot.leader !== leaderOf(msg.ballot.round, ctx.n) || signer !== msg.ballot.leader) {
    return { ok: false, reason: 'not signed by the leader of its ballot' };
  }
  return chooseFromPromises(ctx, msg.ballot, msg.promises);
}
