// Commit-reveal's second vote (seed 000 §6). Once its slot is prepared, an acceptor sends a signed
// commitment to its vote (a hash of the vote under a fresh key) to the leader, and reveals the key
// straight to every learner. The leader bundles 2f+1 commitments with the batch; a learner decides
// once 2f+1 reveals open their commitments to one digest (ledger.ts). A learner asks an acceptor
// whose commitment or reveal is missing, and suspects it when the ask goes unanswered: withholding
// is never provable, only suspected. Contradictions are proofs. In a reconfigurable cluster the
// quorums are of the slot's configuration, counting its members only, and a slot whose
// configuration is not known yet waits until it is (as in second-vote.ts).
import { REVEAL_ASKS_BEFORE_SUSPICION } from '../../base/limits.ts';
import type { Batch, NodeId, Slot } from '../../base/types.ts';
import { isMember } from '../../core/configuration.ts';
import type { Outbox } from '../../core/outbox.ts';
import { RoundSlotMap, SlotMap } from '../../core/slot-window.ts';
import { roundSlotOf } from '../../core/storage.ts';
import { batchDigest } from '../../messages/codec.ts';
import type { Evidence } from '../../messages/evidence.ts';
import type { Bundle, Commitment, Reveal, RevealRequest, SignedEnvelope } from '../../messages/types.ts';
import { commit, COMMITMENT_KEY_BYTES } from '../../../crypto/commitment.ts';
import { toHex } from '../../../crypto/digest.ts';
import type { SignedPayload } from '../byzantine/auth.ts';
import { leaderOf } from '../byzantine/cluster.ts';
import type { Flight } from '../byzantine/context.ts';
import type { SecondVote, SecondVoteParts } from '../byzantine/second-vote.ts';
import { RevealLedger } from './ledger.ts';

export class RevealVote implements SecondVote {
  readonly #p: SecondVoteParts;
  readonly #ledger: RevealLedger;
  readonly #ownCommitment = new SlotMap<SignedEnvelope>();
  readonly #ownReveal = new SlotMap<SignedEnvelope>();
  /** Commitment keys, persisted before use: a restart recommits identically. */
  readonly #keys: RoundSlotMap<Uint8Array>;
  /** Batches seen in bundles, by digest: a learner decides on a batch it holds. */
  readonly #bundleBatches = new SlotMap<Map<string, Batch>>();
  /** As leader: our bundles in flight. */
  readonly #bundlesSent = new SlotMap<Flight>();
  /** Reveal requests sent per slot and acceptor, so a withholder is suspected once, after a request went unanswered. */
  readonly #asks = new SlotMap<Map<NodeId, number>>();
  /** Slots with votes waiting for their configuration to be known here (reconfigurable clusters). */
  readonly #held = new Set<Slot>();

  constructor(parts: SecondVoteParts) {
    this.#p = parts;
    this.#ledger = new RevealLedger(parts.ctx.auth.clusterId, parts.ctx.quorum);
    this.#keys = RoundSlotMap.fromKeyed(parts.state.committed, roundSlotOf);
  }

  /** Commit to the vote towards the leader; reveal the key to every learner directly. */
  cast(slot: Slot, digest: Uint8Array, out: Outbox): void {
    const { ctx, view, entropy } = this.#p;
    const ballot = view.ballot;
    let key = this.#keys.get(ballot.round, slot);
    if (key === undefined) {
      key = entropy.bytes(COMMITMENT_KEY_BYTES);
      this.#keys.set(ballot.round, slot, key);
      out.persist([{ type: 'committed', ballot, slot, key }]);
    }
    const commitment = commit({ clusterId: ctx.auth.clusterId, round: ballot.round, leader: ballot.leader, slot, digest }, key);
    const box = ctx.auth.seal({ type: 'commitment', ballot, slot, commitment });
    const reveal = ctx.auth.seal({ type: 'reveal', ballot, slot, digest, key });
    this.#ownCommitment.set(slot, box);
    this.#ownReveal.set(slot, reveal);
    out.send(ballot.leader, box);
    out.broadcast(reveal);
  }

  hasCast(slot: Slot): boolean {
    return this.#ownCommitment.has(slot);
  }

  resend(slot: Slot, out: Outbox): void {
    const reveal = this.#ownReveal.get(slot);
    if (reveal !== undefined) out.broadcastToPeers(reveal);
    const box = this.#ownCommitment.get(slot);
    if (box !== undefined) out.send(this.#p.view.leader, box);
  }

  handle(from: NodeId, msg: SignedPayload, envelope: SignedEnvelope, out: Outbox): boolean {
    switch (msg.type) {
      case 'commitment':
        this.#onCommitment(from, msg, envelope, out);
        return true;
      case 'reveal':
        this.#onReveal(from, msg, envelope, out);
        return true;
      case 'bundle':
        this.#onBundle(from, msg, out);
        return true;
      case 'reveal-request':
        this.#onRevealRequest(from, msg, out);
        return true;
      default:
        return false;
    }
  }

  /** A shared reveal is as good as a direct one: the ledger judges it against the signer's box. */
  onShared(envelope: SignedEnvelope, inner: SignedPayload, out: Outbox): void {
    if (inner.type !== 'reveal' || !this.#open(inner.slot)) return;
    this.#record(this.#ledger.addKey(envelope.signer, inner, envelope), out);
  }

  votedOtherwise(): boolean {
    return false;
  }

  ownEvidence(slot: Slot, round: number): readonly SignedEnvelope[] {
    const reveal = this.#ownReveal.get(slot);
    return reveal !== undefined && round === this.#p.view.round ? [reveal] : [];
  }

  /** Ask acceptors whose box or key is missing, and suspect those that stay silent. */
  chase(out: Outbox): void {
    const { ctx, view, isDecided } = this.#p;
    for (const slot of this.#bundleBatches.keys()) {
      if (isDecided(slot)) continue;
      const { boxless, keyless } = this.#ledger.missing(slot);
      let asks = this.#asks.get(slot);
      if (asks === undefined) this.#asks.set(slot, (asks = new Map()));
      for (const node of [...boxless, ...keyless]) {
        if (node === ctx.id) continue;
        const asked = (asks.get(node) ?? 0) + 1;
        asks.set(node, asked);
        out.send(node, ctx.auth.seal({ type: 'reveal-request', ballot: view.ballot, slot }));
        // Asked a period ago and still missing: withholding, or slowness; never provable, only suspected.
        if (asked === REVEAL_ASKS_BEFORE_SUSPICION) {
          const reason = keyless.includes(node) ? 'withheld-reveal' : 'withheld-commitment';
          out.push({ type: 'suspicion', suspicion: { node, reason } });
        }
      }
    }
  }

  leaderFlights(): Iterable<[Slot, Flight]> {
    return this.#bundlesSent;
  }

  retryHeld(out: Outbox): void {
    for (const slot of [...this.#held]) if (this.#p.ctx.membership(slot) !== null) this.#tryDecide(slot, out);
  }

  decided(slot: Slot): void {
    this.#held.delete(slot);
    this.#ledger.forget(slot);
    for (const map of [this.#bundleBatches, this.#bundlesSent, this.#asks]) map.delete(slot);
  }

  resetBallot(): void {
    for (const map of [this.#ownCommitment, this.#ownReveal, this.#bundlesSent]) map.clear();
  }

  forgetBelow(low: Slot): void {
    this.#ledger.forgetBelow(low);
    this.#keys.forgetBelow(low);
    for (const slot of this.#held) if (slot < low) this.#held.delete(slot);
    for (const map of [this.#ownCommitment, this.#ownReveal, this.#bundleBatches, this.#bundlesSent, this.#asks]) map.forgetBelow(low);
  }

  footprint(): Record<string, number> {
    return { ledger: this.#ledger.size, bundleBatches: this.#bundleBatches.size };
  }

  #onCommitment(from: NodeId, msg: Commitment, envelope: SignedEnvelope, out: Outbox): void {
    const { ctx, view } = this.#p;
    if (!this.#realBallot(msg)) return ctx.drop('commitment', 'bad-ballot');
    if (!this.#open(msg.slot)) return;
    this.#record(this.#ledger.addBox(from, msg, envelope), out);
    if (view.isLeader && msg.ballot.round === view.round) this.#tryBundle(msg.slot, out);
    this.#tryDecide(msg.slot, out);
  }

  /** As leader: with 2f+1 commitments to our own batch, box them up for every learner. */
  #tryBundle(slot: Slot, out: Outbox): void {
    const { ctx, view, verified } = this.#p;
    const own = verified.verifiedAt(slot);
    if (own === undefined || this.#bundlesSent.has(slot)) return;
    // We verified the slot, so we know its configuration; only its members' commitments count.
    const membership = ctx.membership(slot)!;
    const boxes = this.#ledger.boxesOf(slot, view.round).filter((box) => isMember(membership, box.signer));
    if (boxes.length < membership.phase2) return;
    const envelope = ctx.auth.seal({ type: 'bundle', ballot: view.ballot, slot, batch: own.batch, commitments: boxes });
    this.#bundlesSent.set(slot, { envelope, age: 0 });
    out.broadcast(envelope);
  }

  #onBundle(from: NodeId, msg: Bundle, out: Outbox): void {
    const { ctx, view } = this.#p;
    if (from !== leaderOf(msg.ballot.round, ctx.n) || msg.ballot.leader !== from) return ctx.drop('bundle', 'not-leader');
    // Each bundle may leave a batch behind (bundleBatches): only from ballots we could join.
    if (!view.roundInReach(msg.ballot)) return ctx.drop('bundle', 'round-out-of-range');
    if (!this.#open(msg.slot)) return;
    // A slot whose configuration we do not know yet: its commitments are kept, and counted once we do.
    const quorum = ctx.membership(msg.slot)?.phase2 ?? 1;
    if (msg.commitments.length < quorum || msg.commitments.length > ctx.n) return ctx.drop('bundle', 'too-few-commitments');
    const signers = new Set<NodeId>();
    for (const envelope of msg.commitments) {
      const box = signers.has(envelope.signer) ? null : ctx.certificates.open(envelope);
      signers.add(envelope.signer);
      if (box === null || box.type !== 'commitment' || box.slot !== msg.slot || box.ballot.round !== msg.ballot.round) {
        return ctx.drop('bundle', 'bad-commitment');
      }
      this.#record(this.#ledger.addBox(envelope.signer, box, envelope), out);
    }
    let batches = this.#bundleBatches.get(msg.slot);
    if (batches === undefined) this.#bundleBatches.set(msg.slot, (batches = new Map()));
    // One batch per digest, at most one per ballot that reached us: bounded by the rounds we hear of.
    if (batches.size < ctx.n) batches.set(toHex(batchDigest(msg.batch)), msg.batch);
    this.#tryDecide(msg.slot, out);
  }

  #onReveal(from: NodeId, msg: Reveal, envelope: SignedEnvelope, out: Outbox): void {
    if (!this.#realBallot(msg)) return this.#p.ctx.drop('reveal', 'bad-ballot');
    if (!this.#open(msg.slot)) return;
    this.#record(this.#ledger.addKey(from, msg, envelope), out);
    this.#p.router.contradicts(msg.slot, msg.ballot.round, msg.digest, out);
    this.#tryDecide(msg.slot, out);
  }

  /** A learner missing a box or a key asked us directly: send ours, if we voted. */
  #onRevealRequest(from: NodeId, msg: RevealRequest, out: Outbox): void {
    if (msg.ballot.round !== this.#p.view.round) return;
    const box = this.#ownCommitment.get(msg.slot);
    const key = this.#ownReveal.get(msg.slot);
    if (box !== undefined) out.send(from, box);
    if (key !== undefined) out.send(from, key);
  }

  #tryDecide(slot: Slot, out: Outbox): void {
    const { isDecided, verified, router } = this.#p;
    if (isDecided(slot)) return;
    const membership = this.#p.ctx.membership(slot);
    this.#held.delete(slot);
    if (membership === null) return void this.#held.add(slot);
    const batchOf = (digestHex: string) => this.#bundleBatches.get(slot)?.get(digestHex) ?? verified.batchFor(slot, digestHex);
    const decision = this.#ledger.decision(slot, batchOf, membership.phase2, (signer) => isMember(membership, signer));
    if (decision !== null) router.decide(decision.entry, out, decision.round);
  }

  /** An undecided slot within the watermarks: where votes still count. */
  #open(slot: Slot): boolean {
    return !this.#p.isDecided(slot) && this.#p.window.contains(slot);
  }

  #realBallot(msg: Commitment | Reveal): boolean {
    return msg.ballot.round >= 1 && msg.ballot.leader === leaderOf(msg.ballot.round, this.#p.ctx.n);
  }

  #record(evidence: readonly Evidence[], out: Outbox): void {
    for (const e of evidence) this.#p.router.report(e, out);
  }
}
