// The second vote, the seam between the two Byzantine modes: once 2f+1 matching Verify prepare a
// slot, how an acceptor announces its vote and how a learner decides on 2f+1 of them. Plain
// Byzantine Paxos sends Accepted(b, s, d) to every learner (this file); commit-reveal sends a
// signed commitment through the leader and reveals its key straight to learners
// (../commit-reveal/reveal-vote.ts). The node holds one implementation and never asks which.
import type { NodeId, Slot } from '../../base/types.ts';
import type { Outbox } from '../../core/outbox.ts';
import { isMember } from '../../core/configuration.ts';
import { VoteSet } from '../../core/vote-set.ts';
import type { Accepted, SignedEnvelope } from '../../messages/types.ts';
import { toHex } from '../../../crypto/digest.ts';
import type { SignedPayload } from './auth.ts';
import { leaderOf } from './cluster.ts';
import type { BallotView, ReplicaContext, Router, VerifiedLog } from './context.ts';
import { SlotMap } from '../../core/slot-window.ts';
import type { Watermarks } from './watermarks.ts';
import type { ByzantineState } from '../../core/storage.ts';
import type { Entropy } from '../../../crypto/entropy.ts';

export interface SecondVote {
  /** Our slot is prepared (2f+1 Verify, ours among them): announce our vote. */
  cast(slot: Slot, digest: Uint8Array, out: Outbox): void;
  hasCast(slot: Slot): boolean;
  /** Our vote again, after our Verify: the leader or some learner lacks it. */
  resend(slot: Slot, out: Outbox): void;
  /** Handles a message of this mode's second vote; false if the type belongs to the other mode. */
  handle(from: NodeId, msg: SignedPayload, envelope: SignedEnvelope, out: Outbox): boolean;
  /** An authentic message a peer passed on in an evidence share. */
  onShared(envelope: SignedEnvelope, inner: SignedPayload, out: Outbox): void;
  /** Whether some learner vote we hold for (round, slot) names another digest than `digestHex`. */
  votedOtherwise(slot: Slot, round: number, digestHex: string): boolean;
  /** Our own votes an evidence query about (round, slot) also gets. */
  ownEvidence(slot: Slot, round: number): readonly SignedEnvelope[];
  /** Every other retransmit period, after our votes went out again. */
  chase(out: Outbox): void;
  /** As leader, each retransmit period: what we sent for undecided slots and may resend. */
  leaderFlights(): Iterable<[Slot, { readonly envelope: SignedEnvelope; age: number }]>;
  decided(slot: Slot): void;
  /** A reconfigurable cluster: decisions made more configurations known; count the votes that waited for theirs. */
  retryHeld(out: Outbox): void;
  /** We left the ballot: our votes of it are of no further use. */
  resetBallot(): void;
  forgetBelow(low: Slot): void;
  footprint(): Record<string, number>;
}

interface Vote {
  readonly round: number;
  readonly digestHex: string;
  readonly envelope: SignedEnvelope;
}

export interface SecondVoteParts {
  readonly ctx: ReplicaContext;
  readonly view: BallotView;
  readonly window: Watermarks;
  readonly verified: VerifiedLog;
  readonly router: Router;
  /** Decided slots: their votes are no longer counted. */
  readonly isDecided: (slot: Slot) => boolean;
  /** Secrets peers must not predict (commitment keys). */
  readonly entropy: Entropy;
  readonly state: ByzantineState;
}

export type SecondVoteFactory = (parts: SecondVoteParts) => SecondVote;

/** Plain Byzantine Paxos: Accepted(b, s, d) to all; a learner decides on 2f+1 of one ballot. */
export class AcceptedVote implements SecondVote {
  readonly #parts: SecondVoteParts;
  readonly #own = new SlotMap<SignedEnvelope>();
  /** Each acceptor's latest vote per slot: votes of different ballots never add up. */
  readonly #votes = new VoteSet<Vote>({ compare: (a, b) => a.round - b.round, key: (v) => `${v.round}/${v.digestHex}` });
  /** Slots with votes waiting for their configuration to be known here (reconfigurable clusters). */
  readonly #held = new Set<Slot>();

  constructor(parts: SecondVoteParts) {
    this.#parts = parts;
  }

  cast(slot: Slot, digest: Uint8Array, out: Outbox): void {
    const envelope = this.#parts.ctx.auth.seal({ type: 'accepted', ballot: this.#parts.view.ballot, slot, digest });
    this.#own.set(slot, envelope);
    out.broadcast(envelope);
  }

  hasCast(slot: Slot): boolean {
    return this.#own.has(slot);
  }

  resend(slot: Slot, out: Outbox): void {
    const own = this.#own.get(slot);
    if (own !== undefined) out.broadcastToPeers(own);
  }

  handle(from: NodeId, msg: SignedPayload, envelope: SignedEnvelope, out: Outbox): boolean {
    if (msg.type !== 'accepted') return false;
    this.#onAccepted(from, msg, envelope, out);
    return true;
  }

  onShared(): void {}

  votedOtherwise(slot: Slot, round: number, digestHex: string): boolean {
    for (const vote of this.#votes.at(slot)) if (vote.round === round && vote.digestHex !== digestHex) return true;
    return false;
  }

  ownEvidence(): readonly SignedEnvelope[] {
    return [];
  }

  chase(): void {}

  leaderFlights(): Iterable<[Slot, { readonly envelope: SignedEnvelope; age: number }]> {
    return [];
  }

  decided(slot: Slot): void {
    this.#votes.forget(slot);
    this.#held.delete(slot);
  }

  retryHeld(out: Outbox): void {
    for (const slot of [...this.#held]) if (this.#parts.ctx.membership(slot) !== null) this.#tryDecide(slot, out);
  }

  resetBallot(): void {
    this.#own.clear();
  }

  forgetBelow(low: Slot): void {
    this.#own.forgetBelow(low);
    this.#votes.forgetBelow(low);
    for (const slot of this.#held) if (slot < low) this.#held.delete(slot);
  }

  footprint(): Record<string, number> {
    return { acceptedVotes: this.#votes.size };
  }

  #onAccepted(from: NodeId, msg: Accepted, envelope: SignedEnvelope, out: Outbox): void {
    const { ctx, window, router } = this.#parts;
    if (msg.ballot.leader !== leaderOf(msg.ballot.round, ctx.n) || msg.ballot.round < 1) return ctx.drop('accepted', 'bad-ballot');
    if (this.#parts.isDecided(msg.slot) || msg.slot < window.low) return;
    if (!window.contains(msg.slot)) return ctx.drop('accepted', 'out-of-watermarks');
    const added = this.#votes.add(msg.slot, from, { round: msg.ballot.round, digestHex: toHex(msg.digest), envelope });
    if (added.kind === 'stale') return;
    if (added.kind === 'conflict') {
      router.report({ kind: 'equivocation', first: added.previous.envelope, second: envelope }, out);
      return ctx.drop('accepted', 'equivocation');
    }
    router.contradicts(msg.slot, msg.ballot.round, msg.digest, out);
    this.#tryDecide(msg.slot, out);
  }

  #tryDecide(slot: Slot, out: Outbox): void {
    const { ctx, router } = this.#parts;
    if (this.#parts.isDecided(slot)) return;
    const membership = ctx.membership(slot);
    this.#held.delete(slot);
    if (membership === null) return void this.#held.add(slot);
    const group = this.#votes.firstQuorum(slot, membership.phase2, (signer) => isMember(membership, signer));
    if (group === null) return;
    // The vote that completed the quorum: its signer has just shown it holds the decision.
    const { digestHex, round, envelope } = group[group.length - 1]!;
    const batch = this.#parts.verified.batchFor(slot, digestHex);
    // Chosen, but we never saw the batch: fetch the decision with its certificate from it.
    if (batch === undefined) return router.catchUp(envelope.signer, slot + 1, out);
    router.decide({ slot, batch, accepteds: group.map((v) => v.envelope) }, out, round);
  }
}
