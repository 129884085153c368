import { describe, expect, it } from 'vitest';
import { decisionsPerSecond } from '../../src/experiments/sim-throughput.ts';
import type { CommandTiming, SimResult } from '../../src/sim/simulator.ts';

/** A run's timings alone: all decisionsPerSecond reads. */
function run(timings: [number, number | null][]): SimResult {
  const map = new Map<string, CommandTiming>(timings.map(([invokedAt, completedAt], i) => [`c1#${i}`, { invokedAt, firstDecidedAt: completedAt, completedAt }]));
  return { timings: map } as unknown as SimResult;
}

describe('simulated throughput', () => {
  const r = run([[0, 400], [400, 500], [500, 600], [600, 900], [900, null]]);

  it('counts completions per simulated second from time 0 to the last completion', () => {
    expect(decisionsPerSecond(r)).toBeCloseTo(4 / 0.9);
  });

  it('opens the window after the warm-up commands, at the next submission', () => {
    expect(decisionsPerSecond(r, { afterCommands: 1 })).toBeCloseTo(3 / 0.5);
  });

  it('closes the window early and counts only what completed inside it', () => {
    expect(decisionsPerSecond(r, { untilMs: 550 })).toBeCloseTo(2 / 0.55);
  });

  it('is 0 when nothing completed', () => {
    expect(decisionsPerSecond(run([[0, null]]))).toBe(0);
  });
});
