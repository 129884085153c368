// Per-slot state that a watermark bounds: everything below the low watermark (the stable
// checkpoint, or a snapshot's log start) is settled and forgotten in one call, so no structure is
// left out of a hand-kept list of maps.
import type { Slot } from '../base/types.ts';

/** Values by slot. */
export class SlotMap<T> extends Map<Slot, T> {
  forgetBelow(low: Slot): void {
    for (const slot of this.keys()) if (slot < low) this.delete(slot);
  }
}

/** Values by (round, slot): what a member signs at most once per ballot and slot. */
export class RoundSlotMap<T> {
  readonly #bySlot = new SlotMap<Map<number, T>>();
  #size = 0;

  /** From entries keyed `${round}/${slot}`, as a store keeps them (core/storage.ts verifiedKey). */
  static fromKeyed<T>(entries: Iterable<readonly [string, T]>, parse: (key: string) => { readonly round: number; readonly slot: Slot }): RoundSlotMap<T> {
    const map = new RoundSlotMap<T>();
    for (const [key, value] of entries) {
      const { round, slot } = parse(key);
      map.set(round, slot, value);
    }
    return map;
  }

  get(round: number, slot: Slot): T | undefined {
    return this.#bySlot.get(slot)?.get(round);
  }

  set(round: number, slot: Slot, value: T): void {
    let byRound = this.#bySlot.get(slot);
    if (byRound === undefined) this.#bySlot.set(slot, (byRound = new Map()));
    if (!byRound.has(round)) this.#size++;
    byRound.set(round, value);
  }

  forgetBelow(low: Slot): void {
    for (const [slot, byRound] of this.#bySlot) {
      if (slot >= low) continue;
      this.#size -= byRound.size;
      this.#bySlot.delete(slot);
    }
  }

  get size(): number {
    return this.#size;
  }
}
