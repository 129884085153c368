import { describe, expect, it } from 'vitest';
import { runDetection } from '../../experiments/detection/detection.ts';

describe('detection experiment', () => {
  // Few seeds, a few strategies: the README table comes from the full run.
  const { rows } = runDetection({
    seeds: 5,
    adversaries: ['reveal-mismatch', 'commit-equivocation', 'silent', 'bad-signature', 'withhold-reveal', 'lying-promise'],
  });
  const rowOf = (mode: string, adversary: string) => rows.find((r) => r.mode === mode && r.adversary === adversary)!;

  it('never counts a proof that fails verification or names an honest node', () => {
    expect(rows.length).toBeGreaterThan(0);
    for (const row of rows) expect(row.falseEvidence, `${row.mode} ${row.adversary}`).toBe(0);
  });

  it('proves reveal-mismatch and commit-equivocation, and only where the adversary acted', () => {
    for (const adversary of ['reveal-mismatch', 'commit-equivocation']) {
      const row = rowOf('commit-reveal', adversary);
      expect(row.proven, adversary).toBeGreaterThanOrEqual(1);
      expect(row.proven, adversary).toBeLessThanOrEqual(row.acted);
      expect(row.provenUnacted, adversary).toBe(0);
      expect(row.delaysToProof, adversary).not.toBeNull();
    }
  });

  it('finds nothing provable in strategies that only omit or corrupt', () => {
    const unprovable = rows.filter((r) => ['silent', 'bad-signature', 'withhold-reveal', 'lying-promise'].includes(r.adversary));
    expect(unprovable.map((r) => `${r.mode} ${r.adversary}`)).toContain('byzantine silent');
    for (const row of unprovable) {
      expect([row.acted, row.proven], `${row.mode} ${row.adversary}`).toEqual([0, 0]);
    }
  });

  it('runs the commit-reveal-only strategies in commit-reveal mode only', () => {
    expect(rows.filter((r) => r.adversary === 'withhold-reveal').map((r) => r.mode)).toEqual(['commit-reveal']);
  });
});
