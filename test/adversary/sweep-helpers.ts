// The CI sweeps (sweep-1..4): every built-in adversary, under network faults, over many seeds, in
// both Byzantine modes, must leave the honest nodes safe (agreement, validity, exactly-once,
// linearizability, as judged by src/sim/checker.ts over the honest nodes only) and live (every
// command completes after the network heals); the honest nodes never prove anything against one
// another and prove every provable act. Four files, so the two test workers share the load. Each
// failure lists every unclean seed with the command that replays it.
import { describe, expect, it } from 'vitest';
import type { Adversary } from '../../src/adversary/adversary.ts';
import { adversaryNamed } from '../../src/adversary/strategies.ts';
import { parseFaults } from '../../src/sim/faults.ts';
import { simulate, type SimOptions, type SimResult } from '../../src/sim/simulator.ts';
import type { Mode } from '../../src/core/protocol.ts';
import { detectRun } from '../../experiments/detection/detection.ts';

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

/**
 * One built-in adversary on one node, f=1, under the sweep's faults, on every seed: honest nodes
 * stay safe and live, no proof names an honest node, and every provable act the adversary
 * performed (a conflicting pair of signed messages both sent to honest nodes) is proven by them.
 */
export function sweepAdversary(mode: Mode, adversary: Adversary): void {
  const failures: string[] = [];
  const nodes = new Set<number>();
  for (let seed = 1; seed <= SWEEP_SEEDS; seed++) {
    const run = detectRun(mode, adversary, seed, SWEEP_COMMANDS);
    const { result } = run;
    for (const node of result.byzantineNodes) nodes.add(node);
    const reasons: string[] = [];
    const p = problems(result, SWEEP_COMMANDS);
    if (p !== null) reasons.push(p);
    if (run.falseEvidence > 0) reasons.push(`seed ${seed}: ${run.falseEvidence} proofs that do not verify or name an honest node`);
    if (run.actAt !== null && run.proofAt === null) reasons.push(`seed ${seed}: a provable act at ${run.actAt} ms was never proven`);
    if (run.proofAt !== null && run.actAt === null) reasons.push(`seed ${seed}: a proof without any noted act`);
    if (reasons.length > 0) failures.push(`${reasons.join('; ')}\n  replay: ${result.replayCommand}`);
  }
  expect(failures, `${failures.length} of ${SWEEP_SEEDS} seeds failed:\n${failures.join('\n')}`).toEqual([]);
  // The seed picks the Byzantine node, so over the sweep every member, the first leader
  // included, takes a turn at misbehaving.
  expect([...nodes].sort(), `Byzantine nodes used: ${[...nodes].join(',')}`).toEqual([0, 1, 2, 3]);
}

/** Long enough for 300 seeds on a loaded 2-core machine; vitest's default is far shorter. */
export const SWEEP_TIMEOUT_MS = 900_000;

/** One sweep file: `adversaries` (a slice of the built-ins) in `mode`, one test each. */
export function describeSweep(part: string, mode: Mode, adversaries: readonly Adversary[]): void {
  describe(`sweep ${part}: ${mode} mode, built-in adversaries × ${SWEEP_SEEDS} seeds, f=1, faults drop=0.1,dup=0.05,reorder,partition`, () => {
    for (const adversary of adversaries) {
      it(`${adversary.name}: safe, live, no false evidence, every provable act proven`, { timeout: SWEEP_TIMEOUT_MS }, () => sweepAdversary(mode, adversary));
    }
  });
}
