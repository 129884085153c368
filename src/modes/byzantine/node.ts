// One member of a Byzantine-mode cluster (n = 3f+1), as a pure state machine: step(input) ->
// effects, like the crash-mode PaxosNode. The message flow (seed 000 §4, seed 003): client
// --Request--> all; leader --Accept(b,s,batch)--> all; each acceptor --Verify(b,s,d)--> all; on
// 2f+1 matching Verify the second vote (Accepted to all, or in commit-reveal a commitment via
// the leader and a reveal to all); a learner decides on 2f+1 matching votes; every replica
// executes, and the client takes a result once f+1 replicas agree.
//
// This file only routes each message to the role that owns it, one file per role (the acceptor's
// sign-once rule in acceptor.ts), and does what touches several roles: a decision, a stable
// checkpoint, leaving or joining a ballot.
// With reconfiguration every node of the universe runs, member or not (membership.ts).
import type { Ballot, NodeId, Slot } from '../../base/types.ts';
import { assert } from '../../base/assert.ts';
import { VOTE_RESEND_PERIODS } from '../../base/limits.ts';
import type { Reconfiguration } from '../../core/config.ts';
import type { ConfigurationHistory } from '../../core/configuration.ts';
import type { Effect, TimerName } from '../../core/effects.ts';
import { Outbox } from '../../core/outbox.ts';
import type { ProtocolNode, WorkingBallot } from '../../core/protocol.ts';
import { Replica } from '../../core/replica.ts';
import type { Rng } from '../../core/rng.ts';
import type { StateMachine } from '../../core/state-machine.ts';
import { StepLoop } from '../../core/step-loop.ts';
import type { PersistentState } from '../../core/storage.ts';
import { batchDigest, frameType } from '../../messages/codec.ts';
import type { Evidence } from '../../messages/evidence.ts';
import type { CertifiedEntry, ClientRequest, PeerMessage, SignedEnvelope } from '../../messages/types.ts';
import { bytesEqual } from '../../../crypto/digest.ts';
import type { Entropy } from '../../../crypto/entropy.ts';
import { Acceptor } from './acceptor.ts';
import type { Authenticator, SignedPayload } from './auth.ts';
import { CatchUp } from './catch-up.ts';
import type { BallotChoice } from './certificates.ts';
import { Checkpoints, type Stable } from './checkpoints.ts';
import { Clients } from './clients.ts';
import type { ByzantineConfig } from './config.ts';
import { countInto, replicaContext, type ByzantineStats, type ReplicaContext, type Router } from './context.ts';
import { EvidenceGatherer } from './evidence-gathering.ts';
import { Leader } from './leader.ts';
import { Learner } from './learner.ts';
import { byzantineConfigurations, HeldVotes, isOutsider } from './membership.ts';
import { AcceptedVote, type SecondVote, type SecondVoteFactory } from './second-vote.ts';
import { ViewChange } from './view-change.ts';
import { Watermarks } from './watermarks.ts';

export type { ByzantineStats } from './context.ts';

export interface ByzantineNodeOptions {
  readonly id: NodeId;
  readonly config: ByzantineConfig;
  readonly auth: Authenticator;
  readonly state: PersistentState;
  /** Scheduling only (timeouts, jitter, peer choice): peers may predict it. */
  readonly rng: Rng;
  /** Secrets peers must not predict: commitment keys. */
  readonly entropy: Entropy;
  readonly app: StateMachine;
  /** The mode's second vote; plain Accepted when absent. Commit-reveal passes its own (src/modes/build.ts). */
  readonly secondVote?: SecondVoteFactory;
  /** Lets mutation tests substitute a configuration history (one that skips the window). */
  readonly makeConfigurations?: (reconfiguration: Reconfiguration) => ConfigurationHistory;
}

export class ByzantineNode extends StepLoop implements ProtocolNode, Router {
  readonly id: NodeId;
  readonly config: ByzantineConfig;
  readonly stats: ByzantineStats = { received: new Map(), dropped: new Map(), viewChanges: 0 };
  readonly replica: Replica;
  readonly #ctx: ReplicaContext;
  readonly #window: Watermarks;
  readonly #view: ViewChange;
  readonly #gatherer: EvidenceGatherer;
  readonly #acceptor: Acceptor;
  readonly #second: SecondVote;
  readonly #learner: Learner;
  readonly #leader: Leader;
  readonly #checkpoints: Checkpoints;
  readonly #catchUp: CatchUp;
  readonly #clients: Clients;
  readonly #held: HeldVotes;
  #retransmits = 0;

  constructor(options: ByzantineNodeOptions) {
    super();
    const { id, config, auth, rng } = options;
    assert(config.mode === 'byzantine' || options.secondVote !== undefined, `${config.mode} mode needs its second vote`);
    this.id = id;
    this.config = config;
    const { reconfiguration } = config;
    const history = reconfiguration === null ? null : (options.makeConfigurations ?? byzantineConfigurations)(reconfiguration);
    this.replica = new Replica(options.app, history);
    const log = history === null ? null : { configurations: history, firstUndecided: () => this.#learner.firstUndecided, low: () => this.#window.low };
    const ctx = (this.#ctx = replicaContext(id, config, auth, this.stats, log));
    const state = options.state.byzantine;
    this.#checkpoints = new Checkpoints(ctx, (this.#window = new Watermarks(config.watermarkSlots, config.checkpointInterval, 0)), this, state);
    const stable = this.#checkpoints.stable;
    if (stable !== null) {
      this.#window.raise(stable.certificate.slot);
      this.replica.restore(stable.snapshot);
    }
    const window = this.#window;
    this.#learner = new Learner(state.certified, window.low, history);
    const isDecided = (slot: Slot): boolean => this.#learner.has(slot);
    const view = (this.#view = new ViewChange(
      { ctx, window, rng, gatherer: () => this.#gatherer, preparedFrom: (low) => this.#acceptor.preparedFrom(low), stable: () => this.#checkpoints.stable,
        resetBallot: () => this.#resetBallot(), left: (out) => this.#clients.stopWatching(out), joined: (choice, out) => this.#joined(choice, out),
        behind: (peer, slot, out) => this.#catchUp.catchUp(peer, slot, out) },
      state,
    ));
    this.#gatherer = new EvidenceGatherer(ctx, view, window, (slot, round) => this.#second.ownEvidence(slot, round));
    this.#acceptor = new Acceptor(ctx, view, window, this, () => this.#second, state, (batch) => this.replica.validBatch(batch));
    const makeSecond = options.secondVote ?? ((parts) => new AcceptedVote(parts));
    this.#second = makeSecond({ ctx, view, window, verified: this.#acceptor, router: this, isDecided, entropy: options.entropy, state });
    this.#leader = new Leader(ctx, view, window, this.replica, this.#learner.firstUndecided);
    const install = (stable: Stable, out: Outbox): void => this.#install(stable, out);
    this.#catchUp = new CatchUp({ ctx, view, window, learner: this.#learner, checkpoints: this.#checkpoints, replica: this.replica, router: this, install, rng });
    const proposed = () => this.#acceptor.verifiedBatches();
    this.#clients = new Clients({ ctx, view, leader: this.#leader, replica: this.replica, proposed, isDecided });
    this.#held = new HeldVotes(ctx, () => this.#learner.firstUndecided, (out) => (this.#acceptor.retryHeld(out), this.#second.retryHeld(out)));
  }

  get isLeader(): boolean {
    return this.#view.isLeader;
  }

  get ballot(): Ballot {
    return this.#view.ballot;
  }

  get working(): WorkingBallot {
    const round = this.#learner.decidedRound;
    return { round, outside: round > 0 && (this.#view.status === 'changing' || this.#view.round < round) };
  }

  /** Every slot below this one is decided here. */
  get decidedUpTo(): Slot {
    return this.#learner.firstUndecided;
  }

  /** How much this node retains, per structure: every entry is bounded (watermarks, one per peer). */
  footprint(): Record<string, number> {
    return {
      ...this.#acceptor.footprint(),
      ...this.#second.footprint(),
      ...this.#checkpoints.footprint(),
      decided: this.#learner.size,
      promises: this.#view.promiseCount,
      pending: this.#clients.waiting,
      ...this.#leader.footprint(),
      ...this.#catchUp.footprint(),
      ...this.#gatherer.footprint(),
    };
  }

  start(): Effect[] {
    const out = new Outbox(this.id);
    this.#executeDecided(out);
    out.setTimer('retransmit', this.config.retransmitMs);
    this.#view.start(out);
    this.drain(out);
    return out.effects;
  }

  protected drain(out: Outbox): void {
    for (;;) {
      while (out.local.length > 0) {
        const envelope = out.local.shift()! as SignedEnvelope;
        const inner = this.#ctx.auth.open(envelope);
        if (inner !== null) this.#handle(this.id, inner, envelope, out);
      }
      this.#held.retry(out);
      this.#executeDecided(out);
      this.#leader.propose(this.#learner.firstUndecided, out);
      if (out.local.length === 0) return;
    }
  }

  protected onMessage(from: NodeId, msg: PeerMessage, out: Outbox): void {
    const { n, auth, drop } = this.#ctx;
    if (from < 0 || from >= n || from === this.id) return drop('any', 'bad-sender');
    if (msg.type !== 'signed') return drop(msg.type, 'unsigned');
    // Channels are authenticated: a node speaks for itself, and relayed envelopes travel inside
    // certificates; except a NewBallot, which its signature and promises justify whoever passes it on.
    const relayed = msg.signer !== from;
    if (relayed && (msg.signer >= n || msg.signer === this.id || frameType(msg.payload) !== 'new-ballot')) return drop('signed', 'impersonation');
    const inner = auth.open(msg);
    if (inner === null) return drop('signed', 'bad-signature');
    this.#clients.heard(from);
    countInto(this.stats.received, inner.type);
    this.#gatherer.observe(msg, inner, out);
    this.#handle(msg.signer, inner, msg, out);
  }

  protected onClientRequest(msg: ClientRequest, out: Outbox): void {
    this.#clients.onClientRequest(msg, out);
  }

  #handle(from: NodeId, msg: SignedPayload, envelope: SignedEnvelope, out: Outbox): void {
    switch (msg.type) {
      case 'accept':
        return this.#acceptor.onAccept(from, msg, envelope, out);
      case 'verify':
        return this.#acceptor.onVerify(from, msg, envelope, out);
      case 'certified-promise':
        return this.#view.onPromise(from, msg, envelope, out);
      case 'new-ballot':
        return this.#view.onNewBallot(from, msg, envelope, out);
      case 'suspect':
        return this.#view.suspicions.onSuspect(from, msg, envelope, out);
      case 'checkpoint':
        return this.#onCheckpoint(from, this.#checkpoints.onCheckpoint(from, msg, envelope, out), out);
      case 'evidence-query':
        return this.#gatherer.onEvidenceQuery(from, msg, out);
      case 'evidence-share':
        return this.#gatherer.onEvidenceShare(msg, (shared, inner) => (this.#view.onShared(shared, inner, out), this.#second.onShared(shared, inner, out)), out);
      default:
        // Catch-up and state transfer, then the second vote's own messages.
        if (!this.#catchUp.handle(from, msg, out) && !this.#second.handle(from, msg, envelope, out)) this.#ctx.drop(msg.type, 'wrong-mode');
    }
  }

  protected onTimeout(timer: TimerName, out: Outbox): void {
    switch (timer) {
      case 'retransmit':
        this.#catchUp.newPeriod();
        this.#retransmit(out);
        this.#gatherer.repeat(out);
        out.setTimer('retransmit', this.config.retransmitMs);
        return;
      case 'progress':
        return this.#clients.onProgressTimeout(out);
      case 'view-change':
        return this.#view.onTimeout(out);
      case 'catchup':
        return this.#catchUp.onTimeout(out);
      case 'election':
      case 'heartbeat':
        return;
    }
  }

  #retransmit(out: Outbox): void {
    if (this.#view.retransmit(out)) return;
    // An outsider may have no leader to hear the change that made it a member from.
    if (isOutsider(this.#ctx) && this.#retransmits % VOTE_RESEND_PERIODS === 0) this.#catchUp.askAround(out);
    // Every other period, votes for slots still undecided here go out again: some were lost.
    if (++this.#retransmits % VOTE_RESEND_PERIODS === 0) {
      for (const slot of this.#acceptor.verifiedSlots()) if (!this.#learner.has(slot)) this.#acceptor.resend(slot, out);
      this.#second.chase(out);
    }
    if (!this.isLeader) return;
    if (this.#leader.stalled()) return this.#view.stepDown(out);
    this.#leader.retransmit(this.#learner.firstUndecided, this.#second.leaderFlights(), (slot) => this.#learner.has(slot), out);
  }

  // --- Router: what roles ask of each other -------------------------------------------------

  report(evidence: Evidence, out: Outbox): void {
    this.#gatherer.report(evidence, out);
  }

  query(slot: Slot, checkpoint: boolean, out: Outbox): void {
    this.#gatherer.query(slot, checkpoint, out);
  }

  contradicts(slot: Slot, round: number, digest: Uint8Array, out: Outbox): void {
    const own = this.#acceptor.verifiedAt(slot);
    if (round === this.#view.round && own !== undefined && !bytesEqual(own.digest, digest)) this.query(slot, false, out);
  }

  catchUp(peer: NodeId, theirDecidedUpTo: Slot, out: Outbox): void {
    this.#catchUp.catchUp(peer, theirDecidedUpTo, out);
  }

  decide(entry: CertifiedEntry, out: Outbox, round: number | null = null): void {
    this.#second.decided(entry.slot);
    this.#leader.decided(entry);
    this.#learner.decide(entry, round, out);
  }

  // --- What touches every role ---------------------------------------------------------------

  #executeDecided(out: Outbox): void {
    const before = this.replica.executedUpTo;
    const interval = this.config.checkpointInterval;
    for (;;) {
      // Stop at each checkpoint slot: its snapshot must hold exactly the slots below it, on every replica.
      const boundary = (Math.floor(this.replica.executedUpTo / interval) + 1) * interval;
      for (const { slot, command, result } of this.replica.executeReady((s) => (s < boundary ? this.#learner.get(s)?.batch : undefined))) {
        if (result !== null) out.push({ type: 'execute', slot, command, result });
        this.#clients.executed(command, result, out);
      }
      if (this.replica.executedUpTo < boundary) break;
      this.#checkpoints.take(boundary, this.replica.snapshot(), out);
    }
    if (this.replica.executedUpTo === before) return;
    // Nothing left waiting: the ballot works at whatever pace the load allows.
    if (this.#clients.waiting === 0) this.#view.backoff.relax();
    this.#view.suspicions.progressed();
    this.#clients.armProgress(out);
  }

  #onCheckpoint(from: NodeId, outcome: ReturnType<Checkpoints['onCheckpoint']>, out: Outbox): void {
    if (outcome.kind === 'install') this.#install(outcome.stable, out);
    else if (outcome.kind === 'fetch') this.#catchUp.catchUp(outcome.from, outcome.slot, out);
  }

  /** Move the low watermark up to a stable checkpoint whose state we hold; every role drops what lies below. */
  #install(stable: Stable, out: Outbox): void {
    if (stable.certificate.slot <= this.#window.low) return;
    this.#checkpoints.install(stable, out);
    const low = this.#window.low;
    this.#catchUp.forgetBelow(low);
    this.#gatherer.forgetBelow(low);
    this.#acceptor.forgetBelow(low);
    this.#second.forgetBelow(low);
    this.#learner.forgetBelow(low);
    this.#leader.forgetBelow(low);
  }

  #resetBallot(): void {
    this.#clients.resetBallot();
    this.#acceptor.resetBallot();
    this.#second.resetBallot();
    this.#leader.resetBallot();
  }

  /** Joined a ballot by its NewBallot: take its checkpoint and the slots it settles. */
  #joined(choice: BallotChoice, out: Outbox): void {
    if (choice.checkpoint !== null) this.#catchUp.adopt(choice.checkpoint, choice.promisers, out);
    // The NewBallot stands for Accept(b, s, v) of every slot it settles.
    let highest = this.#window.low - 1;
    for (const [slot, batch] of choice.slots) {
      highest = Math.max(highest, slot);
      // Only more than f faulty nodes can certify an oversized batch; never carry one on.
      if (!this.#acceptor.batchFits(batch)) this.#ctx.drop('new-ballot', 'oversized-batch');
      else if (this.#window.contains(slot)) this.#acceptor.verify(slot, batch, batchDigest(batch), null, out);
    }
    if (this.isLeader) {
      this.#leader.startAt(Math.max(highest + 1, this.#learner.firstUndecided, this.#window.low));
      this.#clients.enqueueWaiting();
    }
    this.#clients.armProgress(out);
  }
}
