// Sweep 1 (see sweep-helpers.ts).
import { describe, expect, it } from 'vitest';
import { BUILT_IN_ADVERSARIES } from '../../src/adversary/strategies.ts';
import { BYZANTINE_PAIRS, COMMIT_REVEAL_PAIRS, PAIRS_SWEPT, describeSweep } from './sweep-helpers.ts';

describe('the sweeps', () => {
  it('cover all fourteen strategies: the nine Byzantine-mode ones, then the five commit-reveal ones', () => {
    expect(BUILT_IN_ADVERSARIES.map((a) => a.name)).toEqual([
      'silent', 'equivocating-acceptor', 'equivocating-leader', 'lying-promise', 'bad-signature', 'replay', 'slow', 'twins', 'forger',
      'reveal-mismatch', 'withhold-reveal', 'withhold-commitment', 'commit-equivocation', 'late-reveal',
    ]);
  });

  it('put every strategy of each mode in some colluding pair at f=2, and sweep every pair', () => {
    const names = BUILT_IN_ADVERSARIES.map((a) => a.name);
    const paired = (pairs: readonly (readonly string[])[]) => [...new Set(pairs.flat())].sort();
    expect(paired(BYZANTINE_PAIRS)).toEqual(names.slice(0, 9).sort());
    expect(paired(COMMIT_REVEAL_PAIRS)).toEqual([...names].sort());
    const swept = (mode: string) => PAIRS_SWEPT.filter(([m]) => m === mode).map(([, p]) => p.join('+')).sort();
    expect(swept('byzantine')).toEqual(BYZANTINE_PAIRS.map((p) => p.join('+')).sort());
    expect(swept('commit-reveal')).toEqual(COMMIT_REVEAL_PAIRS.map((p) => p.join('+')).sort());
  });
});

describeSweep(1, 'byzantine', BUILT_IN_ADVERSARIES.slice(0, 5));
