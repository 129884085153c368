// A string-keyed map bounded by insertion age, in entries and optionally in total weight (bytes):
// memory stays fixed however many distinct keys (honest or garbage) pass through it.

export class FifoCache<V> {
  readonly #entries = new Map<string, { readonly value: V; readonly weight: number }>();
  readonly #capacity: number;
  readonly #weightMax: number;
  #weight = 0;

  constructor(capacity: number, weightMax = Infinity) {
    if (!Number.isSafeInteger(capacity) || capacity < 1) {
      throw new RangeError(`FifoCache: capacity must be a positive integer, got ${capacity}`);
    }
    if (!(weightMax > 0)) throw new RangeError(`FifoCache: weightMax must be positive, got ${weightMax}`);
    this.#capacity = capacity;
    this.#weightMax = weightMax;
  }

  get(key: string): V | undefined {
    return this.#entries.get(key)?.value;
  }

  /** Inserts, then forgets the oldest insertions while over capacity or over the weight bound. */
  set(key: string, value: V, weight = 1): void {
    const old = this.#entries.get(key);
    if (old !== undefined) {
      // Re-inserting moves the key to the young end, as a fresh insertion.
      this.#entries.delete(key);
      this.#weight -= old.weight;
    }
    this.#entries.set(key, { value, weight });
    this.#weight += weight;
    // Map iterates in insertion order, so the first key is the oldest.
    for (const [oldest, entry] of this.#entries) {
      if (this.#entries.size <= this.#capacity && this.#weight <= this.#weightMax) break;
      this.#entries.delete(oldest);
      this.#weight -= entry.weight;
    }
  }
}
