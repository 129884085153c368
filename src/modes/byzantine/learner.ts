// The Byzantine learner's log: certified decisions by slot, each with the 2f+1 signed second votes
// that chose it (second-vote.ts counts them; catch-up brings them from peers). Decisions are
// persisted with their certificates, so a restarted replica can prove them to others. In a
// reconfigurable cluster every decision goes to the configuration history too (its membership
// changes govern the slots α later).
import type { Slot } from '../../base/types.ts';
import { assert } from '../../base/assert.ts';
import type { Configurations } from '../../core/configuration.ts';
import type { Outbox } from '../../core/outbox.ts';
import { SlotMap } from '../../core/slot-window.ts';
import type { CertifiedEntry } from '../../messages/types.ts';

export class Learner {
  readonly #decided: SlotMap<CertifiedEntry>;
  #firstUndecided: Slot;
  /** Round of the ballot the latest decision we counted votes for came from; 0 before any. */
  #decidedRound = 0;
  readonly #configurations: Configurations | null;

  constructor(certified: ReadonlyMap<Slot, CertifiedEntry>, low: Slot, configurations: Configurations | null = null) {
    this.#decided = new SlotMap(certified);
    this.#configurations = configurations;
    for (const [slot, entry] of this.#decided) configurations?.record(slot, entry.batch);
    this.#firstUndecided = low;
    this.#advance();
  }

  /** Every slot below this one is decided here. */
  get firstUndecided(): Slot {
    return this.#firstUndecided;
  }

  get decidedRound(): number {
    return this.#decidedRound;
  }

  has(slot: Slot): boolean {
    return this.#decided.has(slot);
  }

  get(slot: Slot): CertifiedEntry | undefined {
    return this.#decided.get(slot);
  }

  /** `round`: the ballot whose votes we counted (null for an entry fetched with its certificate). */
  decide(entry: CertifiedEntry, round: number | null, out: Outbox): void {
    assert(!this.#decided.has(entry.slot), 'a slot is decided once');
    if (round !== null && round > this.#decidedRound) this.#decidedRound = round;
    this.#decided.set(entry.slot, entry);
    this.#configurations?.record(entry.slot, entry.batch);
    out.persist([{ type: 'certified', entry }]);
    out.push({ type: 'decide', slot: entry.slot, batch: entry.batch });
    this.#advance();
  }

  /** A stable checkpoint at `low`: decisions below it live on in its state. */
  forgetBelow(low: Slot): void {
    this.#decided.forgetBelow(low);
    if (this.#firstUndecided < low) this.#firstUndecided = low;
    this.#advance();
    this.#configurations?.forgetBelow(low);
  }

  get size(): number {
    return this.#decided.size;
  }

  #advance(): void {
    while (this.#decided.has(this.#firstUndecided)) this.#firstUndecided++;
  }
}
