// Sweep 1/4 (see sweep-helpers.ts).
import { describe, expect, it } from 'vitest';
import { BUILT_IN_ADVERSARIES } from '../../src/adversary/strategies.ts';
import { describeSweep } from './sweep-helpers.ts';

describe('the sweeps', () => {
  it('cover all fourteen strategies: the nine Byzantine-mode ones, then the five commit-reveal ones', () => {
    expect(BUILT_IN_ADVERSARIES.map((a) => a.name)).toEqual([
      'silent', 'equivocating-acceptor', 'equivocating-leader', 'lying-promise', 'bad-signature', 'replay', 'slow', 'twins', 'forger',
      'reveal-mismatch', 'withhold-reveal', 'withhold-commitment', 'commit-equivocation', 'late-reveal',
    ]);
  });
});

describeSweep('1/4', 'byzantine', BUILT_IN_ADVERSARIES.slice(0, 5));
