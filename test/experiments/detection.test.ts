import { describe, expect, it } from 'vitest';
import { detectRun, runDetection } from '../../src/experiments/detection.ts';
import { strategy } from '../adversary/sweep-helpers.ts';

describe('detection experiment', () => {
  // Few seeds, a few strategies: the README table comes from the full run.
  const { rows } = runDetection({
    seeds: 5,
    adversaries: [
      'reveal-mismatch',
      'commit-equivocation',
      'equivocating-acceptor',
      'equivocating-leader',
      'silent',
      'bad-signature',
      'withhold-reveal',
      'lying-promise',
    ],
    // Its runs go on to the liveness bound; the test below runs one of them.
    beyondBound: false,
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

  it('proves equivocation split between the halves of the cluster in every run where it happened', () => {
    // Honest nodes that see a vote contradict what they hold ask their peers (evidence queries).
    for (const mode of ['byzantine', 'commit-reveal']) {
      for (const adversary of ['equivocating-acceptor', 'equivocating-leader']) {
        const row = rowOf(mode, adversary);
        expect(row.acted, `${mode} ${adversary}`).toBeGreaterThan(0);
        expect(row.proven, `${mode} ${adversary}`).toBe(row.acted);
      }
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

describe('detectRun with colluders', () => {
  it('beyond the bound: a run that breaks agreement names f+1 proven culprits, none honest', () => {
    // Seed 31 deals the equivocating leader to n0, the first leader, and the acceptor to n1: the
    // honest n2 and n3 sit on different halves of the split, and agreement breaks at once.
    const run = detectRun('byzantine', [strategy('equivocating-leader'), strategy('equivocating-acceptor')], 31, 4);
    expect(run.agreementBroken, run.result.replayCommand).toBe(true);
    expect(run.accountable, run.result.replayCommand).toBe(true);
    expect(run.result.culprits.map((c) => c.node).sort()).toEqual([...run.result.byzantineNodes].sort());
  });

  it('counts an act whose message reached honest nodes only through a colluder (a commitment to a Byzantine leader, bundled)', () => {
    // Seed 174 of the f=2 sweep: n4 (reveal-mismatch) sends its commitment to the first leader n0
    // (late-reveal), whose Bundle carries it to the learners; they prove the mismatch.
    const run = detectRun('commit-reveal', [strategy('reveal-mismatch'), strategy('late-reveal')], 174, 8, 2);
    expect(run.result.byzantineNodes, run.result.replayCommand).toEqual([4, 0]);
    expect(run.proofAt, run.result.replayCommand).not.toBeNull();
    expect(run.actAt, run.result.replayCommand).not.toBeNull();
    expect(run.actAt!, run.result.replayCommand).toBeLessThanOrEqual(run.proofAt!);
  });
});
