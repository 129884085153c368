// Learner: decides slot s once a phase-2 quorum of acceptors report Accepted for the same
// ballot and the same batch digest, and it holds the batch with that digest. Votes from
// different ballots never add up: only a quorum within one ballot chooses a value.
// Slots below `logFrom` were decided, executed into a snapshot and forgotten: they count as
// decided, but their batches are gone.
// Only the votes of members of the slot's configuration count (configuration.ts); a slot whose
// configuration is not known yet (some slot up to s − α undecided) is held until it is.
import { assert } from '../base/assert.ts';
import type { Ballot, Batch, NodeId, Slot } from '../base/types.ts';
import { compareBallots } from '../base/ballot.ts';
import { LEARNER_WINDOW_SLOTS } from '../base/limits.ts';
import type { QuorumSpec } from './quorum.ts';
import { isMember, StaticConfiguration, type Configurations, type Membership } from './configuration.ts';
import { VoteSet } from './vote-set.ts';
import { toHex } from '../../crypto/digest.ts';

interface Vote {
  readonly ballot: Ballot;
  readonly digestHex: string;
}

export type LearnOutcome = 'decided' | 'pending' | 'stale' | 'out-of-window' | 'missing-batch';

export class Learner {
  private readonly configurations: Configurations;
  private readonly decided: Map<Slot, Batch>;
  private logFromSlot: Slot;
  private firstUndecidedSlot: Slot;
  private highestDecidedSlot: Slot;
  /** Latest vote per acceptor, per open slot: votes of different ballots never add up. */
  private readonly votes = new VoteSet<Vote>({
    compare: (a, b) => compareBallots(a.ballot, b.ballot),
    key: (v) => `${v.ballot.round}/${v.ballot.leader}/${v.digestHex}`,
  });
  /** Batches seen in Accept messages, by digest, per open slot. */
  private readonly batches = new Map<Slot, Map<string, Batch>>();
  /** Slots with votes waiting for their configuration. */
  private readonly held = new Set<Slot>();

  constructor(quorums: QuorumSpec, decided: ReadonlyMap<Slot, Batch>, logFrom: Slot = 0, configurations: Configurations = new StaticConfiguration(quorums)) {
    this.configurations = configurations;
    this.decided = new Map(decided);
    for (const [slot, batch] of this.decided) configurations.record(slot, batch);
    this.logFromSlot = logFrom;
    this.firstUndecidedSlot = logFrom;
    this.highestDecidedSlot = logFrom - 1;
    for (const slot of this.decided.keys()) this.highestDecidedSlot = Math.max(this.highestDecidedSlot, slot);
    this.advance();
  }

  /** Every slot below this is decided and its batch forgotten. */
  get logFrom(): Slot {
    return this.logFromSlot;
  }

  /** Slots whose batch is held (decided, from logFrom on) and open slots with votes or batches: what truncation bounds. */
  get footprint(): { readonly decided: number; readonly votes: number; readonly batches: number } {
    return { decided: this.decided.size, votes: this.votes.positions, batches: this.batches.size };
  }

  /**
   * Forget every slot below `slot`, which the caller has executed (or installed a snapshot of):
   * they count as decided from now on.
   */
  truncateBelow(slot: Slot): void {
    if (slot <= this.logFromSlot) return;
    this.logFromSlot = slot;
    for (const map of [this.decided, this.batches] as Map<Slot, unknown>[]) {
      for (const s of map.keys()) if (s < slot) map.delete(s);
    }
    this.votes.forgetBelow(slot);
    for (const s of this.held) if (s < slot) this.held.delete(s);
    if (this.firstUndecidedSlot < slot) this.firstUndecidedSlot = slot;
    if (this.highestDecidedSlot < slot - 1) this.highestDecidedSlot = slot - 1;
    this.advance();
    this.configurations.forgetBelow(slot);
  }

  /** Every slot below this is decided here. */
  get firstUndecided(): Slot {
    return this.firstUndecidedSlot;
  }

  get highestDecided(): Slot {
    return this.highestDecidedSlot;
  }

  /** The configuration of `slot`, or null while it is not known here. */
  membershipAt(slot: Slot): Membership | null {
    return this.configurations.at(slot, this.firstUndecidedSlot);
  }

  /** See Configurations.settledFrom. */
  get configurationSettledFrom(): Slot {
    return this.configurations.settledFrom;
  }

  /** Held slots whose configuration became known and whose votes decide them now. */
  decideHeld(): Slot[] {
    const decided: Slot[] = [];
    for (const slot of [...this.held].sort((a, b) => a - b)) {
      if (this.membershipAt(slot) === null) continue;
      this.held.delete(slot);
      if (this.tryDecide(slot) === 'decided') decided.push(slot);
    }
    return decided;
  }

  decision(slot: Slot): Batch | undefined {
    return this.decided.get(slot);
  }

  isDecided(slot: Slot): boolean {
    return slot < this.logFromSlot || this.decided.has(slot);
  }

  inWindow(slot: Slot): boolean {
    return slot >= this.firstUndecidedSlot && slot < this.firstUndecidedSlot + LEARNER_WINDOW_SLOTS;
  }

  /** Remember the batch an Accept carried, so a later quorum naming its digest can decide. */
  recordBatch(slot: Slot, digest: Uint8Array, batch: Batch): LearnOutcome {
    if (this.decided.has(slot)) return 'stale';
    if (!this.inWindow(slot)) return 'out-of-window';
    let bySlot = this.batches.get(slot);
    if (bySlot === undefined) this.batches.set(slot, (bySlot = new Map()));
    bySlot.set(toHex(digest), batch);
    return this.tryDecide(slot);
  }

  onAccepted(from: NodeId, ballot: Ballot, slot: Slot, digest: Uint8Array): LearnOutcome {
    if (this.decided.has(slot)) return 'stale';
    if (!this.inWindow(slot)) return 'out-of-window';
    // A second, different vote in one ballot: an honest crash-mode acceptor never sends one.
    if (this.votes.add(slot, from, { ballot, digestHex: toHex(digest) }).kind === 'stale') return 'stale';
    return this.tryDecide(slot);
  }

  /** Acceptors whose latest vote at `slot` is in `ballot` (Cheap Paxos: which main acceptors answered). */
  votersAt(slot: Slot, ballot: Ballot): Set<NodeId> {
    const voters = new Set<NodeId>();
    for (const [acceptor, vote] of this.votes.entries(slot)) if (compareBallots(vote.ballot, ballot) === 0) voters.add(acceptor);
    return voters;
  }

  /** A decision learned from a peer (catch-up). Crash mode trusts peers' decisions. */
  learnDecided(slot: Slot, batch: Batch): boolean {
    if (this.decided.has(slot) || !this.inWindow(slot)) return false;
    this.decide(slot, batch);
    return true;
  }

  private tryDecide(slot: Slot): LearnOutcome {
    const digestHex = this.chosenDigest(slot);
    if (digestHex === undefined) return 'pending';
    const batch = this.batches.get(slot)?.get(digestHex);
    if (batch === undefined) return 'missing-batch';
    this.decide(slot, batch);
    return 'decided';
  }

  private chosenDigest(slot: Slot): string | undefined {
    const membership = this.membershipAt(slot);
    if (membership === null) {
      this.held.add(slot);
      return undefined;
    }
    return this.votes.firstQuorum(slot, membership.phase2, (signer) => isMember(membership, signer))?.[0]!.digestHex;
  }

  private decide(slot: Slot, batch: Batch): void {
    assert(!this.decided.has(slot), 'a slot is decided once');
    assert(this.inWindow(slot), 'a decision lies in the learner window');
    this.decided.set(slot, batch);
    this.configurations.record(slot, batch);
    this.votes.forget(slot);
    this.batches.delete(slot);
    this.held.delete(slot);
    this.highestDecidedSlot = Math.max(this.highestDecidedSlot, slot);
    this.advance();
  }

  private advance(): void {
    while (this.decided.has(this.firstUndecidedSlot)) this.firstUndecidedSlot++;
  }
}
