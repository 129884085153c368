// Shared by the Byzantine sweeps: run many seeds, fail once listing every unclean seed with the
// command that replays it.
import { expect } from 'vitest';
import type { Adversary } from '../../src/adversary/adversary.ts';
import { adversaryNamed } from '../../src/adversary/strategies.ts';
import { parseFaults } from '../../src/sim/faults.ts';
import { simulate, type SimOptions, type SimResult } from '../../src/sim/simulator.ts';

export const SWEEP_FAULTS = parseFaults('drop=0.1,dup=0.05,reorder,partition');
export const SWEEP_SEEDS = 300;
export const SWEEP_COMMANDS = 12;

export function strategy(name: string): Adversary {
  const found = adversaryNamed(name);
  if (found === undefined) throw new Error(`no built-in adversary named ${name}`);
  return found;
}

/** Why a run is not clean (with its replay command), or null. */
export function problems(r: SimResult, commands: number): string | null {
  const reasons: string[] = [];
  for (const v of r.safetyViolations) reasons.push(`${v.kind}: ${v.detail}`);
  if (r.livenessFailure !== null) reasons.push(`liveness: ${r.livenessFailure}`);
  if (r.livenessFailure === null && r.completed !== commands) reasons.push(`only ${r.completed} of ${commands} commands completed`);
  return reasons.length === 0 ? null : `seed ${r.seed}: ${reasons.join('; ')}\n  replay: ${r.replayCommand}`;
}

/** Runs every seed, then fails once, listing every unclean seed with its replay command. */
export function expectCleanSweep(seeds: number, options: (seed: number) => SimOptions): SimResult[] {
  const failures: string[] = [];
  const results: SimResult[] = [];
  for (let seed = 1; seed <= seeds; seed++) {
    const o = options(seed);
    const r = simulate(o);
    results.push(r);
    const p = problems(r, o.commands);
    if (p !== null) failures.push(p);
  }
  expect(failures, `${failures.length} of ${seeds} seeds failed:\n${failures.join('\n')}`).toEqual([]);
  return results;
}

/** One built-in adversary, f=1, under the sweep's faults, on every seed: safe and live. */
export function sweepAdversary(adversary: Adversary): void {
  const results = expectCleanSweep(SWEEP_SEEDS, (seed) => ({
    mode: 'byzantine',
    seed,
    f: 1,
    commands: SWEEP_COMMANDS,
    faults: SWEEP_FAULTS,
    byzantine: { strategies: [adversary] },
  }));
  // The seed picks the Byzantine node, so over the sweep every member, the first leader
  // included, takes a turn at misbehaving.
  const nodes = new Set(results.flatMap((r) => r.byzantineNodes));
  expect([...nodes].sort(), `Byzantine nodes used: ${[...nodes].join(',')}`).toEqual([0, 1, 2, 3]);
}
