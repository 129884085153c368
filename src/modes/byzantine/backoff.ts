// How long a replica waits for progress and for a NewBallot: the base timeout, doubled for each
// ballot that failed it, stretched at random so members do not time out in step.
import { BACKOFF_DOUBLINGS_MAX, TIMEOUT_JITTER } from '../../base/limits.ts';
import type { Rng } from '../../core/rng.ts';

export class Backoff {
  readonly #maxMs: number;
  /** Scheduling only: peers may predict it. */
  readonly #rng: Rng;
  #failures = 0;

  constructor(maxMs: number, rng: Rng) {
    this.#maxMs = maxMs;
    this.#rng = rng;
  }

  /** A ballot failed us: the next one gets longer timeouts. */
  failed(): void {
    this.#failures++;
  }

  /**
   * Nothing waits any more: the load fits the ballot, and the timeouts come one step down. Not
   * at the first decision, nor per period that passed: a ballot that failed under load got
   * longer timeouts, and handing the next leader the base again while the backlog lasts would
   * fail it the same way (a storm of view changes that only makes the backlog longer).
   */
  relax(): void {
    if (this.#failures > 0) this.#failures--;
  }

  /** Doubles with each failed ballot (and relaxes a step each time nothing is left waiting), so some leader eventually gets enough time. */
  timeout(baseMs: number): number {
    const ceiling = Math.min(this.#maxMs, baseMs * 2 ** Math.min(this.#failures, BACKOFF_DOUBLINGS_MAX));
    return ceiling * (1 + TIMEOUT_JITTER * this.#rng.next());
  }
}
