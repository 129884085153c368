// The Byzantine CI sweep: every built-in adversary, under network faults, over many seeds, must
// leave the honest nodes safe (agreement, validity, exactly-once, linearizability, as judged by
// src/sim/checker.ts over the honest nodes only) and live (every command completes after the
// network heals). Split over two files so the two test workers share the load.
import { describe, expect, it } from 'vitest';
import { BUILT_IN_ADVERSARIES } from '../../src/adversary/strategies.ts';
import { sweepAdversary, SWEEP_SEEDS } from './sweep-helpers.ts';

describe(`sweep 1/2: built-in adversaries × ${SWEEP_SEEDS} seeds, f=1, faults drop=0.1,dup=0.05,reorder,partition`, () => {
  it('covers the eight Byzantine-mode strategies (the commit-reveal ones follow them)', () => {
    expect(BUILT_IN_ADVERSARIES.slice(0, 8).map((a) => a.name).sort()).toEqual(
      ['bad-signature', 'equivocating-acceptor', 'equivocating-leader', 'lying-promise', 'replay', 'silent', 'slow', 'twins'],
    );
  });

  for (const adversary of BUILT_IN_ADVERSARIES.slice(0, 4)) {
    it(`${adversary.name}: no safety violation, no liveness failure`, () => sweepAdversary(adversary));
  }
});

