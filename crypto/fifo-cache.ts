// A string-keyed map bounded by insertion age: memory stays fixed however many distinct keys
// (honest or garbage) pass through it.

export class FifoCache<V> {
  readonly #entries = new Map<string, V>();
  readonly #capacity: number;

  constructor(capacity: number) {
    if (!Number.isSafeInteger(capacity) || capacity < 1) {
      throw new RangeError(`FifoCache: capacity must be a positive integer, got ${capacity}`);
    }
    this.#capacity = capacity;
  }

  get(key: string): V | undefined {
    return this.#entries.get(key);
  }

  /** Inserts, then forgets the oldest insertion if over capacity. */
  set(key: string, value: V): void {
    this.#entries.set(key, value);
    if (this.#entries.size > this.#capacity) {
      // Map iterates in insertion order, so the first key is the oldest.
      const oldest = this.#entries.keys().next();
      if (!oldest.done) this.#entries.delete(oldest.value);
    }
  }
}
