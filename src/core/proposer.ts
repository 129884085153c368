// Proposer / leader (seeds 002–004): runs phase 1 once per leadership over every slot from
// its first undecided one, re-proposes the highest-ballot value reported for each slot, fills
// gaps with no-ops, then stays in phase 2 for new slots, at most `windowSlots` beyond the
// first undecided slot, batching queued client commands.
import type { Ballot } from '../base/types.ts';
import { ballotEquals, compareBallots } from '../base/ballot.ts';
import type { CoreConfig } from './config.ts';
import { CLIENT_QUEUE_MAX } from '../base/limits.ts';
import { mayOpenSlot } from './pipeline.ts';
import { isPhase1Quorum } from './quorum.ts';
import { commandKey, NOOP, type Batch, type Command, type NodeId, type PValue, type Slot } from '../base/types.ts';
import type { Accept, Prepare, Promise1b } from '../messages/types.ts';

export type Role = 'follower' | 'candidate' | 'leader';

/** What the proposer needs to know of the local learner. */
export interface DecisionView {
  readonly firstUndecided: Slot;
  readonly highestDecided: Slot;
  isDecided(slot: Slot): boolean;
}

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
  private readonly promises = new Map<NodeId, Promise1b>();
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

  /** Phase 1a over every slot from `fromSlot`. The caller persists the new round before sending. */
  startPhase1(fromSlot: Slot): Prepare {
    this.round += 1;
    this.ballot = { round: this.round, leader: this.id };
    this.role = 'candidate';
    this.fromSlot = fromSlot;
    this.promises.clear();
    // Only followers and candidates start phase 1, and neither has proposals in flight.
    return { type: 'prepare', ballot: this.ballot, fromSlot };
  }

  onPromise(from: NodeId, msg: Promise1b): PromiseOutcome {
    if (this.role !== 'candidate' || !ballotEquals(msg.ballot, this.ballot) || msg.fromSlot !== this.fromSlot) {
      return 'ignored';
    }
    // An acceptor holding more than a Promise can carry means we are too far behind to lead.
    if (msg.truncated) return 'lagging';
    this.promises.set(from, msg);
    return isPhase1Quorum(this.config.quorums, this.promises.size) ? 'elected' : 'pending';
  }

  /**
   * Phase 1 done: re-propose, for every slot in [fromSlot, highest reported], the value of the
   * highest-ballot pvalue reported, or a no-op when none was; skip slots already decided here
   * (seed 002, slots 135–140).
   */
  becomeLeader(decisions: DecisionView): Accept[] {
    this.role = 'leader';
    this.failedAttempts = 0;
    const reported = this.highestReported();
    // Normally some Promise reports every decided slot (quorums intersect); filling up to the
    // highest decided slot too leaves no hole even if that ever failed.
    let last = decisions.highestDecided;
    for (const slot of reported.keys()) last = Math.max(last, slot);
    const accepts: Accept[] = [];
    for (let slot = this.fromSlot; slot <= last; slot++) {
      if (decisions.isDecided(slot)) continue;
      accepts.push(this.open(slot, this.chooseValue(reported.get(slot)), decisions.firstUndecided));
    }
    this.nextSlot = Math.max(last + 1, this.fromSlot);
    this.promises.clear();
    return accepts;
  }

  stepDown(): void {
    this.role = 'follower';
    this.promises.clear();
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
    const accepts: Accept[] = [];
    while (
      mayOpenSlot({
        eagerSlots: this.config.eagerSlots,
        openSlots: this.proposals.size,
        windowHasRoom: this.nextSlot < decisions.firstUndecided + this.config.windowSlots,
        queued: this.queue.length > 0,
        batchFull: this.queue.length >= this.config.batchCommandsMax,
      })
    ) {
      const commands = this.queue.splice(0, this.config.batchCommandsMax);
      accepts.push(this.open(this.nextSlot, { commands }, decisions.firstUndecided));
      this.nextSlot++;
    }
    return accepts;
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

  private highestReported(): Map<Slot, PValue> {
    const best = new Map<Slot, PValue>();
    for (const promise of this.promises.values()) {
      for (const pv of promise.accepted) {
        if (pv.slot < this.fromSlot) continue;
        const current = best.get(pv.slot);
        if (current === undefined || compareBallots(pv.ballot, current.ballot) > 0) best.set(pv.slot, pv);
      }
    }
    return best;
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
