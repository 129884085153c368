// Evidence gathering: every signed message that sits where an honest member signs once goes to the
// witness, which turns a contradiction into a transferable proof; a vote that contradicts ours
// starts an evidence query, repeated until proven or a while, because the other half of a split
// equivocation may sit with any peer. Promises and Suspects are passed on (repeated too), so a
// member that told different peers different things is caught wherever both versions meet.
import type { NodeId, Slot } from '../../base/types.ts';
import { EVIDENCE_REMEMBERED_MAX, EVIDENCE_REPEAT_GAP_MAX, evidenceQueriesMax, evidenceShareEnvelopesMax, passedOnMax, witnessSignerBytesMax } from '../../base/limits.ts';
import type { Outbox } from '../../core/outbox.ts';
import { evidenceEnvelopes, type Evidence } from '../../messages/evidence.ts';
import type { EvidenceQuery, EvidenceShare, SignedEnvelope } from '../../messages/types.ts';
import { toHex } from '../../../crypto/digest.ts';
import type { SignedPayload } from './auth.ts';
import type { BallotView, ReplicaContext } from './context.ts';
import { packShares } from './frame-budget.ts';
import { Repeats } from './repeats.ts';
import type { Watermarks } from './watermarks.ts';
import { Witness } from './witness.ts';

/** Our own votes an evidence query about (round, slot) also gets (commit-reveal: our reveal). */
export type OwnEvidence = (slot: Slot, round: number) => readonly SignedEnvelope[];

export class EvidenceGatherer {
  readonly #ctx: ReplicaContext;
  readonly #view: BallotView;
  readonly #window: Watermarks;
  readonly #own: OwnEvidence;
  /** Single-sign messages seen from others at positions that may matter, kept across ballots. */
  readonly #witness: Witness;
  /** Evidence queries asked, by position, repeated while it may matter. */
  readonly #queries: Repeats<Omit<EvidenceQuery, 'type'>>;
  /** Promises and Suspects passed on, by signature, repeated while it may matter. */
  readonly #passedOn: Repeats<SignedEnvelope>;
  readonly #reported = new Set<string>();
  /** An answer to a query: per slot an Accept and n each of Verify, Accepted, Commitment, Reveal, and our reveal. */
  readonly #shareMax: number;

  constructor(ctx: ReplicaContext, view: BallotView, window: Watermarks, own: OwnEvidence) {
    this.#ctx = ctx;
    this.#view = view;
    this.#window = window;
    this.#own = own;
    const { n, config } = ctx;
    this.#shareMax = evidenceShareEnvelopesMax(n);
    this.#passedOn = new Repeats(passedOnMax(n), EVIDENCE_REPEAT_GAP_MAX);
    this.#queries = new Repeats(evidenceQueriesMax(config.watermarkSlots), EVIDENCE_REPEAT_GAP_MAX);
    this.#witness = new Witness(n, witnessSignerBytesMax(config.watermarkSlots, config.batchCommandsMax));
  }

  /** Emit each distinct proof once. */
  report(evidence: Evidence, out: Outbox): void {
    const envelopes = evidenceEnvelopes(evidence);
    const id = `${evidence.kind}:${envelopes.map((e) => toHex(e.signature)).join(':')}`;
    if (this.#reported.has(id)) return;
    if (this.#reported.size >= EVIDENCE_REMEMBERED_MAX) this.#reported.clear();
    this.#reported.add(id);
    out.push({ type: 'evidence', evidence });
  }

  /** Ask every peer what it holds for this position (repeated until proven, or a while). */
  query(slot: Slot, checkpoint: boolean, out: Outbox): void {
    const q = { ballot: this.#view.ballot, slot, checkpoint };
    if (!this.#queries.add(queryKey(this.#view.round, slot, checkpoint), q)) return;
    out.broadcastToPeers(this.#ctx.auth.seal({ type: 'evidence-query', ...q }));
  }

  onEvidenceQuery(from: NodeId, msg: EvidenceQuery, out: Outbox): void {
    if (from === this.#ctx.id) return;
    const envelopes = msg.checkpoint ? this.#witness.heldAtCheckpoint(msg.slot) : this.#witness.heldAt(msg.ballot, msg.slot);
    if (!msg.checkpoint) envelopes.push(...this.#own(msg.slot, msg.ballot.round));
    this.share(envelopes.slice(0, this.#shareMax), from, out);
  }

  /**
   * Compare shared messages with what we hold from the same signers; never count them as votes.
   * `relay` hands each authentic one to the roles that act on shared messages (promises, Suspects, reveals).
   */
  onEvidenceShare(msg: EvidenceShare, relay: (envelope: SignedEnvelope, inner: SignedPayload) => void, out: Outbox): void {
    for (const envelope of msg.envelopes.slice(0, this.#shareMax)) {
      const inner = this.#ctx.certificates.open(envelope);
      // Forged (perhaps in our own name): never evidence, never a vote.
      if (inner === null) {
        this.#ctx.drop('evidence-share', 'bad-envelope');
        continue;
      }
      this.observe(envelope, inner, out);
      relay(envelope, inner);
    }
  }

  /** Remember what others signed where they may sign once; a contradiction is a proof. */
  observe(envelope: SignedEnvelope, inner: SignedPayload, out: Outbox): void {
    if (envelope.signer === this.#ctx.id) return;
    // Not stored is not dropped: the message's own handler still judges (and counts) it.
    if (!this.#mayMatter(envelope.signer, inner)) return;
    const evidence = this.#witness.observe(envelope, inner);
    if (evidence === null) return;
    this.report(evidence, out);
    // Proven: no need to keep asking about this position.
    if (inner.type === 'checkpoint') this.#queries.stop(queryKey(0, inner.slot, true));
    else if ('slot' in inner && 'ballot' in inner) this.#queries.stop(queryKey(inner.ballot.round, inner.slot, false));
  }

  /**
   * Pass each distinct promise of a current or coming round on once (leader changes are rare): a
   * node that promised differently to different peers is caught wherever both versions meet, even
   * by nodes that have already moved on to the ballot. An invalid promise proves nothing and
   * would only be amplified, so `valid` is asked (and pays for its check) only for a new one.
   */
  passOnPromise(envelope: SignedEnvelope, valid: () => boolean, out: Outbox): void {
    if (this.#passedOn.has(toHex(envelope.signature)) || !valid()) return;
    this.passOn([envelope], out);
  }

  /** Pass messages on to every peer, repeated on a backoff schedule: lost, they would leave a split unseen. */
  passOn(envelopes: readonly SignedEnvelope[], out: Outbox): void {
    for (const envelope of envelopes) this.#passedOn.add(toHex(envelope.signature), envelope);
    this.share(envelopes, null, out);
  }

  /** Each retransmit period: the evidence queries, and passed-on promises and Suspects, due again. */
  repeat(out: Outbox): void {
    for (const q of this.#queries.due()) out.broadcastToPeers(this.#ctx.auth.seal({ type: 'evidence-query', ...q }));
    this.share(this.#passedOn.due(), null, out);
  }

  /** The low watermark moved up: evidence about settled slots is no longer gathered. */
  forgetBelow(low: Slot): void {
    this.#witness.forgetBelow(low);
  }

  footprint(): Record<string, number> {
    return { witnessEntries: this.#witness.entries, witnessBytes: this.#witness.bytes };
  }

  /** Seal `envelopes` into evidence-shares that each fit a frame; to `to`, or to all when null. */
  share(envelopes: readonly SignedEnvelope[], to: NodeId | null, out: Outbox): void {
    const { shares, skipped } = packShares(envelopes, this.#shareMax);
    for (let i = 0; i < skipped; i++) this.#ctx.drop('evidence-share', 'oversized-envelope');
    for (const share of shares) {
      const msg = this.#ctx.auth.seal({ type: 'evidence-share', envelopes: share });
      if (to === null) out.broadcastToPeers(msg);
      else out.send(to, msg);
    }
  }

  /**
   * Whether a signed message sits where this node could ever use it as evidence: its slot within
   * the watermarks, its round one we accept promises for, an Accept or NewBallot from its ballot's
   * leader. Anything else would only let a member make us hold what it likes.
   */
  #mayMatter(signer: NodeId, msg: SignedPayload): boolean {
    const view = this.#view;
    switch (msg.type) {
      case 'accept':
        return signer === msg.ballot.leader && view.roundInReach(msg.ballot) && this.#window.contains(msg.slot);
      case 'verify':
      case 'accepted':
      case 'commitment':
      case 'reveal':
        return view.roundInReach(msg.ballot) && this.#window.contains(msg.slot);
      case 'checkpoint':
        return this.#window.checkpointInReach(msg.slot);
      case 'certified-promise':
        return view.roundInReach(msg.ballot);
      case 'new-ballot':
        return signer === msg.ballot.leader && view.roundInReach(msg.ballot);
      default:
        return false; // not single-sign: nothing to witness
    }
  }
}

/** The position an evidence query asks about: a checkpoint slot, or a (round, slot). */
function queryKey(round: number, slot: Slot, checkpoint: boolean): string {
  return checkpoint ? `cp/${slot}` : `${round}/${slot}`;
}
