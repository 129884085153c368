// The Byzantine acceptor (seed 000 §4): Accept(b, s, batch) from the ballot's leader → Verify(b, s,
// digest) to all → on 2f+1 matching Verify, ours among them, a prepared certificate and the second
// vote (second-vote.ts). The rule that makes it safe: never sign two digests for one (ballot,
// slot), across restarts: the digest is persisted before the Verify leaves (`verify`). And never
// Verify a batch the application refuses (validated proposals, seed 000 §6): a decision needs
// 2f+1 Verify, f+1 of them honest, so with at most f faulty members no refused batch is decided.
// In a reconfigurable cluster an acceptor votes for slot s only as a member of the configuration of
// s, once it knows it (until then the proposal waits), and only if the ballot's promisers hold a
// quorum of it; only members' Verify count towards a prepared certificate.
import type { Batch, NodeId, Slot } from '../../base/types.ts';
import type { Outbox } from '../../core/outbox.ts';
import { RoundSlotMap, SlotMap } from '../../core/slot-window.ts';
import { roundSlotOf, type ByzantineState } from '../../core/storage.ts';
import { isMember } from '../../core/configuration.ts';
import { oneBallot, VoteSet } from '../../core/vote-set.ts';
import { batchDigest, batchSize } from '../../messages/codec.ts';
import type { Accept, PreparedCertificate, SignedEnvelope, Verify } from '../../messages/types.ts';
import { bytesEqual, toHex } from '../../../crypto/digest.ts';
import { promisedBy } from './certificates.ts';
import { leaderOf } from './cluster.ts';
import type { BallotView, ReplicaContext, Router, VerifiedLog } from './context.ts';
import type { SecondVote } from './second-vote.ts';
import type { Watermarks } from './watermarks.ts';

interface Verified {
  readonly digest: Uint8Array;
  readonly batch: Batch;
  /** The leader's signed Accept (null when a NewBallot settled the slot): evidence if it equivocates. */
  readonly accept: SignedEnvelope | null;
}

interface Vote {
  readonly digestHex: string;
  readonly envelope: SignedEnvelope;
}

export class Acceptor implements VerifiedLog {
  readonly #ctx: ReplicaContext;
  readonly #view: BallotView;
  readonly #window: Watermarks;
  readonly #router: Router;
  readonly #second: () => SecondVote;
  /** The application's predicate (Replica.validBatch): deterministic, the same verdict at every acceptor. */
  readonly #valid: (batch: Batch) => boolean;
  // Of the current ballot only.
  readonly #verified = new SlotMap<Verified>();
  readonly #ownVerify = new SlotMap<SignedEnvelope>();
  readonly #votes = new VoteSet<Vote>(oneBallot((v) => v.digestHex));
  /** Proposals for slots whose configuration is not known here yet (reconfigurable clusters). */
  readonly #held = new SlotMap<{ readonly batch: Batch; readonly digest: Uint8Array; readonly accept: SignedEnvelope | null }>();
  // Across ballots, persisted.
  /** Digests signed in Verify: never sign two for one (ballot, slot). */
  readonly #signed: RoundSlotMap<Uint8Array>;
  /** Highest-ballot prepared certificate per slot at or above the low watermark. */
  readonly #prepared: SlotMap<PreparedCertificate>;

  constructor(
    ctx: ReplicaContext,
    view: BallotView,
    window: Watermarks,
    router: Router,
    second: () => SecondVote,
    state: ByzantineState,
    valid: (batch: Batch) => boolean,
  ) {
    this.#ctx = ctx;
    this.#valid = valid;
    this.#view = view;
    this.#window = window;
    this.#router = router;
    this.#second = second;
    this.#signed = RoundSlotMap.fromKeyed(state.verified, roundSlotOf);
    this.#prepared = new SlotMap(state.prepared);
  }

  onAccept(from: NodeId, msg: Accept, envelope: SignedEnvelope, out: Outbox): void {
    const ctx = this.#ctx;
    const view = this.#view;
    if (from !== leaderOf(msg.ballot.round, ctx.n) || msg.ballot.leader !== from) return ctx.drop('accept', 'not-leader');
    if (view.status !== 'normal' || msg.ballot.round !== view.round) return ctx.drop('accept', 'not-joined');
    if (!this.#window.contains(msg.slot)) return ctx.drop('accept', 'out-of-watermarks');
    // Prepared batches travel in promises and NewBallots: only batches within budget may become one.
    if (!this.batchFits(msg.batch)) return ctx.drop('accept', 'oversized-batch');
    if (from !== ctx.id) this.#router.catchUp(from, msg.decidedUpTo, out);
    const digest = batchDigest(msg.batch);
    const previous = this.#verified.get(msg.slot);
    if (previous !== undefined) {
      if (!bytesEqual(previous.digest, digest)) {
        if (previous.accept !== null) this.#router.report({ kind: 'equivocation', first: previous.accept, second: envelope }, out);
        return ctx.drop('accept', 'conflicting-accept');
      }
      // A retransmission: the leader lacks our votes, so send them again.
      return this.resend(msg.slot, out);
    }
    if (from !== ctx.id && !msg.batch.commands.every((c) => ctx.auth.verifyCommand(c))) return ctx.drop('accept', 'bad-client-signature');
    this.verify(msg.slot, msg.batch, digest, envelope, out);
  }

  /** Sign Verify(b, s, digest): at most one digest per (ballot, slot), ever, across restarts; never for an invalid batch. */
  verify(slot: Slot, batch: Batch, digest: Uint8Array, accept: SignedEnvelope | null, out: Outbox): void {
    // Whoever proposed it (an Accept, or a NewBallot carrying a batch only more than f faulty could prepare).
    if (!this.#valid(batch)) return this.#ctx.drop('accept', 'invalid-batch');
    if (this.#ctx.reconfigurable && !this.#mayVote(slot)) {
      if (this.#ctx.membership(slot) === null) this.#held.set(slot, { batch, digest, accept });
      return;
    }
    const { round, ballot } = this.#view;
    const signed = this.#signed.get(round, slot);
    if (signed !== undefined && !bytesEqual(signed, digest)) return this.#ctx.drop('accept', 'would-equivocate');
    this.#verified.set(slot, { digest, batch, accept });
    // Votes that arrived before our own Verify may already contradict it.
    const digestHex = toHex(digest);
    for (const vote of this.#votes.at(slot)) if (vote.digestHex !== digestHex) this.#router.query(slot, false, out);
    if (this.#second().votedOtherwise(slot, round, digestHex)) this.#router.query(slot, false, out);
    if (signed === undefined) {
      this.#signed.set(round, slot, digest);
      out.persist([{ type: 'verified', ballot, slot, digest }]);
    }
    const envelope = this.#ctx.auth.seal({ type: 'verify', ballot, slot, digest });
    this.#ownVerify.set(slot, envelope);
    out.broadcast(envelope);
  }

  /** Proposals whose slot's configuration became known: vote on them now. */
  retryHeld(out: Outbox): void {
    for (const [slot, held] of [...this.#held.entries()]) {
      if (this.#ctx.membership(slot) === null) continue;
      this.#held.delete(slot);
      this.verify(slot, held.batch, held.digest, held.accept, out);
    }
  }

  /** A member of the slot's configuration, in a ballot a quorum of it promised (the first ballot: everyone). */
  #mayVote(slot: Slot): boolean {
    const membership = this.#ctx.membership(slot);
    if (membership === null) return false;
    if (!isMember(membership, this.#ctx.id)) return (this.#ctx.drop('accept', 'not-member'), false);
    const promisers = this.#view.promisers;
    if (promisers !== null && !promisedBy(membership, promisers)) return (this.#ctx.drop('accept', 'unpromised-configuration'), false);
    return true;
  }

  onVerify(from: NodeId, msg: Verify, envelope: SignedEnvelope, out: Outbox): void {
    const ctx = this.#ctx;
    if (msg.ballot.round !== this.#view.round || msg.ballot.leader !== leaderOf(msg.ballot.round, ctx.n)) return ctx.drop('verify', 'other-ballot');
    if (!this.#window.contains(msg.slot)) return ctx.drop('verify', 'out-of-watermarks');
    const added = this.#votes.add(msg.slot, from, { digestHex: toHex(msg.digest), envelope });
    if (added.kind === 'conflict') {
      this.#router.report({ kind: 'equivocation', first: added.previous.envelope, second: envelope }, out);
      return ctx.drop('verify', 'equivocation');
    }
    this.#router.contradicts(msg.slot, msg.ballot.round, msg.digest, out);
    this.#tryPrepare(msg.slot, out);
  }

  /** Our Verify and the second vote again, for an undecided slot whose votes may have been lost. */
  resend(slot: Slot, out: Outbox): void {
    const own = this.#ownVerify.get(slot);
    if (own !== undefined) out.broadcastToPeers(own);
    this.#second().resend(slot, out);
  }

  /** Slots we sent a Verify for in this ballot. */
  verifiedSlots(): IterableIterator<Slot> {
    return this.#ownVerify.keys();
  }

  verifiedAt(slot: Slot): Verified | undefined {
    return this.#verified.get(slot);
  }

  batchFor(slot: Slot, digestHex: string): Batch | undefined {
    const own = this.#verified.get(slot);
    if (own !== undefined && toHex(own.digest) === digestHex) return own.batch;
    const prepared = this.#prepared.get(slot);
    if (prepared !== undefined && toHex(batchDigest(prepared.batch)) === digestHex) return prepared.batch;
    return undefined;
  }

  /** Batches we verified in this ballot, by slot: what the leader has proposed. */
  verifiedBatches(): IterableIterator<[Slot, { readonly batch: Batch }]> {
    return this.#verified.entries();
  }

  /** Prepared certificates at or above `low`, by slot: what a promise reports. */
  preparedFrom(low: Slot): PreparedCertificate[] {
    return [...this.#prepared.values()].filter((c) => c.slot >= low).sort((a, b) => a.slot - b.slot);
  }

  batchFits(batch: Batch): boolean {
    const { config } = this.#ctx;
    return batch.commands.length <= config.batchCommandsMax && batchSize(batch) <= config.batchBytesMax;
  }

  resetBallot(): void {
    this.#held.clear();
    this.#verified.clear();
    this.#ownVerify.clear();
    this.#votes.clear();
  }

  forgetBelow(low: Slot): void {
    for (const map of [this.#verified, this.#ownVerify, this.#prepared, this.#held]) map.forgetBelow(low);
    this.#votes.forgetBelow(low);
    this.#signed.forgetBelow(low);
  }

  footprint(): Record<string, number> {
    return { verifyVotes: this.#votes.size, verified: this.#verified.size, signedDigests: this.#signed.size, prepared: this.#prepared.size };
  }

  /** 2f+1 matching Verify, our own among them: a prepared certificate; cast the second vote. */
  #tryPrepare(slot: Slot, out: Outbox): void {
    const own = this.#verified.get(slot);
    const second = this.#second();
    if (own === undefined || this.#view.status !== 'normal' || second.hasCast(slot)) return;
    const membership = this.#ctx.membership(slot)!;
    const votes = this.#votes.quorumFor(slot, toHex(own.digest), membership.phase2, (signer) => isMember(membership, signer));
    if (votes === null) return;
    const certificate: PreparedCertificate = { ballot: this.#view.ballot, slot, batch: own.batch, verifies: votes.map((v) => v.envelope) };
    this.#prepared.set(slot, certificate);
    out.persist([{ type: 'prepared', certificate }]);
    second.cast(slot, own.digest, out);
  }
}
