// The window a Byzantine replica works in (PBFT's watermarks): slots in [low, low + W), low the
// stable checkpoint. Anything outside it is dropped on arrival, so every per-slot structure is
// bounded by W, and everything below low is forgotten when a checkpoint becomes stable.
import type { Slot } from '../../base/types.ts';

export class Watermarks {
  #low: Slot;
  readonly #slots: number;
  readonly #checkpointInterval: number;

  constructor(slots: number, checkpointInterval: number, low: Slot) {
    this.#slots = slots;
    this.#checkpointInterval = checkpointInterval;
    this.#low = low;
  }

  get low(): Slot {
    return this.#low;
  }

  /** One past the highest slot in the window. */
  get high(): Slot {
    return this.#low + this.#slots;
  }

  /** Moves up only: a stable checkpoint never becomes unstable. */
  raise(low: Slot): void {
    if (low > this.#low) this.#low = low;
  }

  contains(slot: Slot): boolean {
    return slot >= this.#low && slot < this.high;
  }

  /** A checkpoint slot above the low watermark and at most a window beyond it. */
  checkpointInReach(slot: Slot): boolean {
    return slot % this.#checkpointInterval === 0 && slot > this.#low && slot <= this.high;
  }
}
