// The Byzantine CI sweep: every built-in adversary, under network faults, over many seeds, must
// leave the honest nodes safe (agreement, validity, exactly-once, linearizability, as judged by
// src/sim/checker.ts over the honest nodes only) and live (every command completes after the
// network heals). Split over two files so the two test workers share the load.
import { describe, it } from 'vitest';
import { BUILT_IN_ADVERSARIES } from '../../src/adversary/strategies.ts';
import { sweepAdversary, SWEEP_SEEDS } from './sweep-helpers.ts';

describe(`sweep 2/2: built-in adversaries × ${SWEEP_SEEDS} seeds, f=1, faults drop=0.1,dup=0.05,reorder,partition`, () => {
  for (const adversary of BUILT_IN_ADVERSARIES.slice(4, 8)) {
    it(`${adversary.name}: no safety violation, no liveness failure`, () => sweepAdversary(adversary));
  }
});

