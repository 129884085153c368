// Messages a node repeats on its own schedule because their loss would hide misbehaviour: evidence
// queries and passed-on promises. Each item goes out again after 1, 2, 4, … retransmit periods up
// to `gapMax`, so a partition of a few seconds cannot keep the halves of a split apart, while an
// item costs O(log gapMax) messages in all. Keys stay (done) after their last repeat, so an item
// is not started twice; the oldest keys go first beyond `capacity`.

interface Item<T> {
  readonly value: T;
  /** Period at which it is due next. */
  next: number;
  /** Periods until the repeat after that; past gapMax: done. */
  gap: number;
}

export class Repeats<T> {
  readonly #items = new Map<string, Item<T>>();
  readonly #capacity: number;
  readonly #gapMax: number;
  #period = 0;

  constructor(capacity: number, gapMax: number) {
    if (!Number.isSafeInteger(capacity) || capacity < 1) throw new RangeError(`Repeats: capacity must be a positive integer, got ${capacity}`);
    if (!Number.isSafeInteger(gapMax) || gapMax < 1) throw new RangeError(`Repeats: gapMax must be a positive integer, got ${gapMax}`);
    this.#capacity = capacity;
    this.#gapMax = gapMax;
  }

  has(key: string): boolean {
    return this.#items.has(key);
  }

  /** Starts repeating `value` under `key`; false if the key is already known. */
  add(key: string, value: T): boolean {
    if (this.#items.has(key)) return false;
    if (this.#items.size >= this.#capacity) this.#items.delete(this.#items.keys().next().value!);
    this.#items.set(key, { value, next: this.#period + 1, gap: 1 });
    return true;
  }

  /** No more repeats for `key` (its purpose is served); it stays known. */
  stop(key: string): void {
    const item = this.#items.get(key);
    if (item !== undefined) item.gap = this.#gapMax + 1;
  }

  /** Call once per retransmit period: the values due now. */
  due(): T[] {
    this.#period++;
    const values: T[] = [];
    for (const item of this.#items.values()) {
      if (item.gap > this.#gapMax || item.next > this.#period) continue;
      values.push(item.value);
      item.gap *= 2;
      item.next = this.#period + item.gap;
    }
    return values;
  }
}
