// Leader change: the ballot this replica is in, and how it moves to the next. A replica whose
// ballot does not work for it suspects it (suspicions.ts); once f+1 members do (one of them
// honest) it leaves with a signed CertifiedPromise carrying its prepared certificates. The
// next leader gathers 2f+1 promises into a NewBallot; every acceptor recomputes the leader's
// choice (certificates.ts) and joins only if it matches. Timeouts back off per failed ballot.
import type { Ballot, NodeId } from '../../base/types.ts';
import { RECONFIG_WINDOW_SLOTS, ROUND_MAX, ROUNDS_AHEAD_PER_MEMBER } from '../../base/limits.ts';
import type { Outbox } from '../../core/outbox.ts';
import type { Rng } from '../../core/rng.ts';
import type { ByzantineState } from '../../core/storage.ts';
import { frameType } from '../../messages/codec.ts';
import type { CertifiedPromise, NewBallot, PreparedCertificate, SignedEnvelope } from '../../messages/types.ts';
import type { SignedPayload } from './auth.ts';
import { Backoff } from './backoff.ts';
import { Suspicions } from './suspicions.ts';
import { checkNewBallot, unjudgeableSlot, validPromise, type BallotChoice } from './certificates.ts';
import type { Stable } from './checkpoints.ts';
import { leaderOf } from './cluster.ts';
import type { BallotView, ReplicaContext } from './context.ts';
import type { EvidenceGatherer } from './evidence-gathering.ts';
import { promiseBytesMax } from './frame-budget.ts';
import { mayLead, unjudgeableCarried } from './membership.ts';
import { Promises } from './promises.ts';
import type { Watermarks } from './watermarks.ts';

export interface ViewChangeParts {
  readonly ctx: ReplicaContext;
  readonly window: Watermarks;
  /** Built after us (it reads our ballot), so reached through a getter. */
  readonly gatherer: () => EvidenceGatherer;
  readonly rng: Rng;
  /** What our promise reports: prepared certificates at or above the low watermark, and the stable checkpoint. */
  readonly preparedFrom: (low: number) => PreparedCertificate[];
  readonly stable: () => Stable | null;
  /** We leave the ballot we were in: every role drops its per-ballot state. */
  readonly resetBallot: () => void;
  /** We left for a new round: the progress watchdog stops until we join one. */
  readonly left: (out: Outbox) => void;
  /** We joined `round` by a NewBallot whose choice every role now acts on. */
  readonly joined: (choice: BallotChoice, out: Outbox) => void;
  /** A reconfigurable cluster: `peer` sent what we cannot judge before every slot below `slot` is decided here. */
  readonly behind: (peer: NodeId, slot: number, out: Outbox) => void;
}

export class ViewChange implements BallotView {
  readonly #p: ViewChangeParts;
  readonly #n: number;
  #round = 1;
  #status: 'normal' | 'changing' = 'normal';
  /** Timeouts of this replica: longer after each ballot that failed it. */
  readonly backoff: Backoff;
  readonly #promises = new Promises();
  #ownPromise: SignedEnvelope | null = null;
  /** The view-change timer runs only once 2f+1 nodes promised our round (PBFT's rule): a node never races ahead alone. */
  #timerArmed = false;
  /** Built from persisted state of an earlier incarnation. */
  readonly #restarted: boolean;
  #joinedBy: SignedEnvelope | null = null;
  #promisers: readonly NodeId[] | null = null;
  #newBallotSent = false;
  /** Who suspects which round: we leave ours once f+1 members do. */
  readonly suspicions: Suspicions;
  /** Largest promise payload an honest member seals: a larger one would push a NewBallot over a frame. */
  readonly #promiseBytesMax: number;

  constructor(parts: ViewChangeParts, state: ByzantineState) {
    this.#p = parts;
    const { ctx } = parts;
    this.#n = ctx.n;
    this.#promiseBytesMax = promiseBytesMax(ctx.config, ctx.config.batchBytesMax);
    this.backoff = new Backoff(ctx.config.backoffMaxMs, parts.rng);
    this.suspicions = new Suspicions(ctx, this, this.backoff, parts.gatherer, (round, out) => this.#leave(round, out));
    this.#restarted = state.joined !== null || state.verified.size > 0;
    if (state.joined === null || state.joined.round <= 1) return;
    // Rejoin only through the NewBallot that justified it; otherwise wait to be brought along.
    const { round, by } = state.joined;
    this.#round = round;
    if (by === null || frameType(by.payload) === 'certified-promise') {
      this.#status = 'changing';
      // Our own promise for the round we were changing to: start() sends it again, byte for byte.
      if (by !== null && by.signer === ctx.id && leaderOf(round, this.#n) !== ctx.id) this.#ownPromise = by;
    } else {
      this.#joinedBy = by;
      const newBallot = ctx.auth.open(by);
      if (newBallot?.type === 'new-ballot') this.#promisers = newBallot.promises.map((e) => e.signer);
    }
  }

  get round(): number {
    return this.#round;
  }

  get status(): 'normal' | 'changing' {
    return this.#status;
  }

  get leader(): NodeId {
    return leaderOf(this.#round, this.#n);
  }

  get ballot(): Ballot {
    return { round: this.#round, leader: this.leader };
  }

  get isLeader(): boolean {
    return this.#status === 'normal' && this.leader === this.#p.ctx.id;
  }

  get roundsAheadMax(): number {
    return this.#round + ROUNDS_AHEAD_PER_MEMBER * this.#n;
  }

  roundInReach(ballot: Ballot): boolean {
    return ballot.round >= 1 && ballot.round <= this.roundsAheadMax && ballot.leader === leaderOf(ballot.round, this.#n);
  }

  get promisers(): readonly NodeId[] | null {
    return this.#promisers;
  }

  /** As leader, we cannot go on in this ballot (not a member of the next slot's configuration, or no quorum of it promised): leave it. */
  stepDown(out: Outbox): void {
    this.#leave(this.#round + 1, out);
  }

  get promiseCount(): number {
    return this.#promises.size;
  }

  start(out: Outbox): void {
    if (this.#ownPromise !== null) {
      // Back in the change we had promised: that very promise again, so peers hold one, not two.
      out.broadcast(this.#ownPromise);
    } else if (this.#restarted && (this.#status === 'changing' || this.leader === this.#p.ctx.id)) {
      // After a restart we cannot know what we sent as leader (Accepts, a NewBallot), or (a store
      // that kept no promise) promised mid-change; carrying on could sign conflicting messages,
      // so leave for the next ballot. Its view-change timer waits for a quorum there like any
      // other: armed now, it would carry us one round further still, alone.
      this.#leave(this.#round + 1, out);
    }
  }

  onPromise(from: NodeId, msg: CertifiedPromise, envelope: SignedEnvelope, out: Outbox): void {
    const { ctx } = this.#p;
    if (from !== ctx.id && envelope.payload.length > this.#promiseBytesMax) return ctx.drop('certified-promise', 'oversized');
    // Checked at most once, and only when needed: a promise carries up to 2f+1 signatures per slot.
    let validity: boolean | undefined;
    const valid = (): boolean => from === ctx.id || (validity ??= validPromise(ctx.certificates, msg));
    const { round } = msg.ballot;
    if (from !== ctx.id && round >= this.#round && round <= this.roundsAheadMax) this.#p.gatherer().passOnPromise(envelope, valid, out);
    if (msg.ballot.round <= this.#round && this.#status === 'normal') {
      // The sender missed the NewBallot we joined by, or (back from a restart) is still changing
      // to an older ballot: pass it on (it is the leader's signature; a later one supersedes).
      if (this.#joinedBy !== null && from !== ctx.id) out.send(from, this.#joinedBy);
      return;
    }
    if (this.#promises.roundOf(from) >= msg.ballot.round) return;
    if (msg.ballot.round < this.#round || msg.ballot.round > this.roundsAheadMax) return ctx.drop('certified-promise', 'round-out-of-range');
    const unjudgeable = from === ctx.id ? null : unjudgeableSlot(ctx.certificates, msg);
    if (unjudgeable !== null) {
      this.#p.behind(from, unjudgeable - RECONFIG_WINDOW_SLOTS + 1, out);
      return ctx.drop('certified-promise', 'configuration-unknown');
    }
    if (!valid()) return ctx.drop('certified-promise', 'bad-certificate');
    this.#promises.record(from, msg.ballot.round, envelope);
    this.#follow(out);
    this.#armTimer(out);
    this.#tryNewBallot(out);
  }

  /** Promises and Suspects passed on by others count as if sent to us. */
  onShared(envelope: SignedEnvelope, inner: SignedPayload, out: Outbox): void {
    // Our leader's promise passed on: it left our ballot, whoever it told (#follow).
    if (inner.type === 'certified-promise' && envelope.signer === this.leader && inner.ballot.round > this.#round) {
      this.onPromise(envelope.signer, inner, envelope, out);
    }
    // Suspects passed on by a member that left on them.
    if (inner.type === 'suspect') this.suspicions.onSuspect(envelope.signer, inner, envelope, out);
  }

  onNewBallot(from: NodeId, msg: NewBallot, envelope: SignedEnvelope, out: Outbox): void {
    const { ctx } = this.#p;
    const gatherer = this.#p.gatherer();
    // The promises it carries may be the other half of a split promise, whatever becomes of it.
    let unjudgeable: number | null = null;
    for (const promise of msg.promises.slice(0, this.#n)) {
      const inner = ctx.certificates.open(promise);
      if (inner !== null) gatherer.observe(promise, inner, out);
      else ctx.drop('new-ballot', 'bad-promise');
      if (inner?.type !== 'certified-promise') continue;
      const slot = unjudgeableCarried(ctx, inner);
      if (slot !== null) unjudgeable = Math.max(unjudgeable ?? 0, slot);
    }
    if (msg.ballot.round < this.#round || (msg.ballot.round === this.#round && this.#status === 'normal')) return;
    // Not yet ours to judge (no fault of the leader's): catch up; our promise, repeated, brings the NewBallot again.
    if (unjudgeable !== null) {
      this.#p.behind(from, unjudgeable - RECONFIG_WINDOW_SLOTS + 1, out);
      return ctx.drop('new-ballot', 'configuration-unknown');
    }
    const result = checkNewBallot(ctx.certificates, msg, from);
    if (!result.ok) {
      // Signed by the ballot's leader yet unjustified by its own contents: provable.
      if (from === msg.ballot.leader && msg.ballot.leader === leaderOf(msg.ballot.round, this.#n)) {
        gatherer.report({ kind: 'unjustified-new-ballot', newBallot: envelope }, out);
      }
      return ctx.drop('new-ballot', 'unjustified');
    }
    // Votes for this round that arrived before the NewBallot stay: nobody resends them unasked.
    if (msg.ballot.round !== this.#round) this.#resetBallot();
    this.#round = msg.ballot.round;
    this.#status = 'normal';
    this.#joinedBy = envelope;
    this.#promisers = result.choice.promisers;
    this.#ownPromise = null;
    this.suspicions.withdraw();
    out.persist([{ type: 'joined', round: this.#round, by: envelope }]);
    out.clearTimer('view-change');
    this.#timerArmed = false;
    this.#p.joined(result.choice, out);
  }

  /** The view-change timer fired: no NewBallot in time; the round's leader is faulty, cut off, or slow. */
  onTimeout(out: Outbox): void {
    if (this.#status === 'changing') this.suspicions.suspect(out);
  }

  /** Each period: our Suspect and, while changing, our promise again. Returns whether we are changing. */
  retransmit(out: Outbox): boolean {
    this.suspicions.retransmit(out);
    if (this.#status !== 'changing') return false;
    if (this.#ownPromise !== null) out.broadcastToPeers(this.#ownPromise);
    return true;
  }

  /** Leave the current ballot for `round`: report prepared certificates to its leader (and all). */
  #leave(round: number, out: Outbox): void {
    if (round <= this.#round && this.#status === 'changing') return;
    if (round > ROUND_MAX) return;
    const { ctx, window } = this.#p;
    ctx.stats.viewChanges++;
    this.#round = round;
    this.#status = 'changing';
    this.suspicions.withdraw();
    this.#resetBallot();
    const promise: CertifiedPromise = {
      type: 'certified-promise',
      ballot: this.ballot,
      checkpoint: this.#p.stable()?.certificate ?? null,
      prepared: this.#p.preparedFrom(window.low),
    };
    this.#ownPromise = ctx.auth.seal(promise);
    // Kept, so that after a restart we send this promise again rather than sign a second one.
    out.persist([{ type: 'joined', round, by: this.#ownPromise }]);
    out.broadcast(this.#ownPromise);
    this.#p.left(out);
    this.#timerArmed = false;
  }

  #resetBallot(): void {
    this.#newBallotSent = false;
    this.#p.resetBallot();
  }

  /**
   * f+1 nodes moved past our round: at least one is honest, so follow, to the lowest such round.
   * Or our round's own leader left it (a restarted leader must): follow to the next round. A
   * faulty leader could stall its ballot anyway, and each ballot has one leader, so this costs
   * at most one change per ballot; the leader's promise is passed on to all (onPromise), so
   * it cannot send away only some of us.
   */
  #follow(out: Outbox): void {
    const { id, weak } = this.#p.ctx;
    const ahead = this.#promises.roundsAhead(this.#round, id);
    if (ahead.length >= weak) return this.#leave(ahead[weak - 1]!, out);
    const leader = this.leader;
    if (leader !== id && this.#promises.roundOf(leader) > this.#round) this.#leave(this.#round + 1, out);
  }

  #armTimer(out: Outbox): void {
    if (this.#status !== 'changing' || this.#timerArmed) return;
    // Nodes already past our round count too: they left it as surely as we did.
    if (this.#promises.countFrom(this.#round) < this.#p.ctx.quorum) return;
    this.#timerArmed = true;
    out.setTimer('view-change', this.backoff.timeout(this.#p.ctx.config.viewChangeTimeoutMs));
  }

  #tryNewBallot(out: Outbox): void {
    const { ctx } = this.#p;
    if (this.#status !== 'changing' || this.leader !== ctx.id || this.#newBallotSent) return;
    const envelopes = this.#promises.forRound(this.#round);
    if (envelopes.length < ctx.quorum) return;
    if (!mayLead(ctx, this.ballot, envelopes)) return;
    this.#newBallotSent = true;
    // With reconfiguration every promise goes along: a later slot's configuration (new members) may need more of them.
    out.broadcast(ctx.auth.seal({ type: 'new-ballot', ballot: this.ballot, promises: ctx.reconfigurable ? envelopes : envelopes.slice(0, ctx.quorum) }));
  }
}
