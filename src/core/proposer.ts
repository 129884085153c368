// Proposer / leader (seeds 002–004): runs phase 1 once per leadership over every slot from
// its first undecided one, re-proposes the highest-ballot value reported for each slot, fills
// gaps with no-ops, then stays in phase 2 for new slots, at most `windowSlots` beyond the
// first undecided slot, batching queued client commands.
//
// With reconfiguration (configuration.ts) it proposes slot s only once it knows the configuration
// of s, is a member of it, and holds promises from a phase-1 quorum of it: re-proposals beyond
// that wait, and a change just decided is made to take effect by filling no-ops up to its slot +
// α. A Promise that arrives after the election still counts (and its pvalues still bind later
// slots): a configuration that adds members may need their promises.
import type { Ballot } from '../base/types.ts';
import { ballotEquals, compareBallots } from '../base/ballot.ts';
import type { CoreConfig } from './config.ts';
import { CLIENT_QUEUE_MAX } from '../base/limits.ts';
import { mayOpenSlot } from './pipeline.ts';
import { hasQuorum, isMember, StaticConfiguration, type Membership } from './configuration.ts';
import { commandKey, NOOP, type Batch, type Command, type NodeId, type PValue, type Slot } from '../base/types.ts';
import type { Accept, Prepare, Promise1b } from '../messages/types.ts';

export type Role = 'follower' | 'candidate' | 'leader';

/** What the proposer needs to know of the local learner. */
export interface DecisionView {
  readonly firstUndecided: Slot;
  readonly highestDecided: Slot;
  isDecided(slot: Slot): boolean;
  /** The configuration of `slot`, or null while it is not known (see configuration.ts). */
  membershipAt(slot: Slot): Membership | null;
  /** First slot every decided membership change governs: no-ops fill up to it. */
  readonly configurationSettledFrom: Slot;
}

/** Why a leader cannot open its next slot although it knows that slot's configuration. */
export type Stall = 'removed' | 'no-quorum';

interface Proposal {
  readonly batch: Batch;
  /** Heartbeats seen since the last (re)transmission. */
  age: number;
}

export type PromiseOutcome = 'pending' | 'elected' | 'lagging' | 'ignored';

export class Proposer {
  readonly id: NodeId;
  private readonly config: CoreConfig;
  role: Role = 'follower';
  ballot: Ballot;
  /** Highest round seen anywhere; a new ballot goes above it. Persisted before use. */
  round: number;
  /** Consecutive failed leadership attempts, for exponential backoff. */
  failedAttempts = 0;
  private fromSlot: Slot = 0;
  /** Acceptors that promised the current ballot. */
  private readonly promisers = new Set<NodeId>();
  /** The configuration whose phase-1 quorum elects: that of fromSlot. */
  private electorate: Membership;
  /** The highest-ballot pvalue reported per slot by the promises of the current ballot. */
  private readonly reported = new Map<Slot, PValue>();
  /** Slots up to this get a reported value or a no-op (seed 002's gap filling). */
  private forcedUpTo: Slot = -1;
  /** Late promises count only where the configuration can change: elsewhere phase 1 is over once elected. */
  private readonly reconfigurable: boolean;
  private readonly proposals = new Map<Slot, Proposal>();
  private nextSlot: Slot = 0;
  private readonly queue: Command[] = [];
  /** Commands queued or proposed in an undecided slot: a client's resend is absorbed, not proposed twice. */
  private readonly pending = new Set<string>();

  constructor(id: NodeId, config: CoreConfig, round: number) {
    this.id = id;
    this.config = config;
    this.round = round;
    this.ballot = { round, leader: id };
    this.electorate = new StaticConfiguration(config.quorums).at();
    this.reconfigurable = config.reconfiguration !== null;
  }

  get isLeader(): boolean {
    return this.role === 'leader';
  }

  get queueLength(): number {
    return this.queue.length;
  }

  observeRound(round: number): void {
    if (round > this.round) this.round = round;
  }

  /**
   * Phase 1a over every slot from `fromSlot`, elected by a phase-1 quorum of `electorate` (the
   * configuration of fromSlot; a static cluster's by default). The caller persists the new round before sending.
   */
  startPhase1(fromSlot: Slot, electorate: Membership = this.electorate): Prepare {
    this.round += 1;
    this.ballot = { round: this.round, leader: this.id };
    this.role = 'candidate';
    this.fromSlot = fromSlot;
    this.electorate = electorate;
    this.clearPhase1();
    // Only followers and candidates start phase 1, and neither has proposals in flight.
    return { type: 'prepare', ballot: this.ballot, fromSlot };
  }

  onPromise(from: NodeId, msg: Promise1b): PromiseOutcome {
    const listening = this.role === 'candidate' || (this.role === 'leader' && this.reconfigurable);
    if (!listening || !ballotEquals(msg.ballot, this.ballot) || msg.fromSlot !== this.fromSlot) {
      return 'ignored';
    }
    // An acceptor holding more than a Promise can carry means we are too far behind to lead.
    if (msg.truncated) return this.role === 'leader' ? 'ignored' : 'lagging';
    this.promisers.add(from);
    this.report(msg);
    if (this.role === 'leader') return 'pending';
    return hasQuorum(this.electorate, this.promisers, this.electorate.phase1) ? 'elected' : 'pending';
  }

  /**
   * Phase 1 done: re-propose, for every slot in [fromSlot, highest reported], the value of the
   * highest-ballot pvalue reported, or a no-op when none was; skip slots already decided here
   * (seed 002, slots 135–140).
   */
  becomeLeader(decisions: DecisionView): Accept[] {
    this.role = 'leader';
    this.failedAttempts = 0;
    // Normally some Promise reports every decided slot (quorums intersect); filling up to the
    // highest decided slot too leaves no hole even if that ever failed.
    let last = decisions.highestDecided;
    for (const slot of this.reported.keys()) last = Math.max(last, slot);
    this.forcedUpTo = last;
    this.nextSlot = this.fromSlot;
    return this.openForced(decisions);
  }

  /** Why the next slot cannot be opened though its configuration is known, or null. */
  stall(decisions: DecisionView): Stall | null {
    const membership = decisions.membershipAt(this.nextSlot);
    if (this.role !== 'leader' || membership === null) return null;
    if (!isMember(membership, this.id)) return 'removed';
    return this.promisedBy(membership) ? null : 'no-quorum';
  }

  stepDown(): void {
    this.role = 'follower';
    this.clearPhase1();
    this.proposals.clear();
    this.queue.length = 0;
    this.pending.clear();
  }

  /** Queue a client command; false when the queue is full. Duplicates are absorbed. */
  enqueue(command: Command): boolean {
    const key = commandKey(command);
    if (this.pending.has(key)) return true;
    if (this.queue.length >= CLIENT_QUEUE_MAX) return false;
    this.pending.add(key);
    this.queue.push(command);
    return true;
  }

  /** Open new slots for queued commands as the pipeline policy allows (pipeline.ts). */
  proposeReady(decisions: DecisionView): Accept[] {
    if (this.role !== 'leader') return [];
    const accepts = this.openForced(decisions);
    if (this.nextSlot <= this.forcedUpTo) return accepts;
    for (;;) {
      // Below settledFrom, a membership change waits to take effect: no-ops fill the window.
      const filling = this.nextSlot < decisions.configurationSettledFrom;
      const open = mayOpenSlot({
        eagerSlots: this.config.eagerSlots,
        openSlots: this.proposals.size,
        windowHasRoom: this.nextSlot < decisions.firstUndecided + this.config.windowSlots,
        queued: this.queue.length > 0 || filling,
        batchFull: this.queue.length >= this.config.batchCommandsMax || filling,
      });
      if (!open || !this.mayPropose(this.nextSlot, decisions)) return accepts;
      // A late Promise may have reported a value here: it binds this slot as phase 1's did the others.
      const reported = this.reported.get(this.nextSlot);
      const batch = reported?.batch ?? { commands: this.queue.splice(0, this.config.batchCommandsMax) };
      accepts.push(this.open(this.nextSlot, batch, decisions.firstUndecided));
      this.nextSlot++;
    }
  }

  onDecided(slot: Slot): void {
    const proposal = this.proposals.get(slot);
    if (proposal === undefined) return;
    this.proposals.delete(slot);
    for (const command of proposal.batch.commands) this.pending.delete(commandKey(command));
  }

  /** Accepts still undecided after a full heartbeat interval, to send again (messages get lost). */
  retransmit(decisions: DecisionView): Accept[] {
    const accepts: Accept[] = [];
    for (const [slot, proposal] of this.proposals) {
      if (decisions.isDecided(slot)) {
        this.onDecided(slot);
        continue;
      }
      proposal.age += 1;
      if (proposal.age < 2) continue;
      proposal.age = 0;
      accepts.push(this.acceptFor(slot, proposal.batch, decisions.firstUndecided));
    }
    return accepts;
  }

  /** The value to re-propose for a slot given the highest-ballot pvalue reported in phase 1. */
  protected chooseValue(reported: PValue | undefined): Batch {
    return reported === undefined ? NOOP : reported.batch;
  }

  /**
   * Re-propose, from nextSlot up to forcedUpTo, the value of the highest-ballot pvalue reported,
   * or a no-op when none was; skip slots already decided here (seed 002, slots 135–140). Only
   * as far as this leader may propose (always, in a static cluster).
   */
  private openForced(decisions: DecisionView): Accept[] {
    const accepts: Accept[] = [];
    for (; this.nextSlot <= this.forcedUpTo && this.mayPropose(this.nextSlot, decisions); this.nextSlot++) {
      if (decisions.isDecided(this.nextSlot)) continue;
      accepts.push(this.open(this.nextSlot, this.chooseValue(this.reported.get(this.nextSlot)), decisions.firstUndecided));
    }
    return accepts;
  }

  /** The slot's configuration is known, has this proposer as a member, and a phase-1 quorum of it promised our ballot. */
  private mayPropose(slot: Slot, decisions: DecisionView): boolean {
    const membership = decisions.membershipAt(slot);
    return membership !== null && isMember(membership, this.id) && this.promisedBy(membership);
  }

  /** Whether a phase-1 quorum of `membership` promised our ballot. */
  protected promisedBy(membership: Membership): boolean {
    return hasQuorum(membership, this.promisers, membership.phase1);
  }

  private report(promise: Promise1b): void {
    for (const pv of promise.accepted) {
      if (pv.slot < this.fromSlot) continue;
      const current = this.reported.get(pv.slot);
      if (current === undefined || compareBallots(pv.ballot, current.ballot) > 0) this.reported.set(pv.slot, pv);
    }
  }

  private clearPhase1(): void {
    this.promisers.clear();
    this.reported.clear();
    this.forcedUpTo = -1;
  }

  private open(slot: Slot, batch: Batch, decidedUpTo: Slot): Accept {
    this.proposals.set(slot, { batch, age: 0 });
    for (const command of batch.commands) this.pending.add(commandKey(command));
    return this.acceptFor(slot, batch, decidedUpTo);
  }

  private acceptFor(slot: Slot, batch: Batch, decidedUpTo: Slot): Accept {
    return { type: 'accept', ballot: this.ballot, slot, batch, decidedUpTo };
  }
}
