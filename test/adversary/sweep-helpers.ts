// The CI sweeps (sweep-1..13): every built-in adversary, under network faults, over many seeds, in
// both Byzantine modes, must leave the honest nodes safe (agreement, validity, exactly-once,
// linearizability, as judged by src/sim/checker.ts over the honest nodes only) and live (every
// command completes after the network heals); the honest nodes never prove anything against one
// another and prove every provable act. Sweeps 1-5 run each adversary alone at f=1, sweeps 6-13
// colluding pairs at f=2; many small files, so the two test workers share the load to the end. Each failure lists
// every unclean seed with the command that replays it.
import type { Mode } from '../../src/base/mode.ts';
import { describe, expect, it } from 'vitest';
import type { Adversary } from '../../src/adversary/adversary.ts';
import { adversaryNamed } from '../../src/adversary/strategies.ts';
import { parseFaults } from '../../src/sim/faults.ts';
import { simulate, type SimOptions, type SimResult } from '../../src/sim/simulator.ts';
import { detectRun } from '../../src/experiments/detection.ts';

export const SWEEP_FAULTS = parseFaults('drop=0.1,dup=0.05,reorder,partition');
/**
 * Seeds 1..N per sweep: 200 in CI (the suite's time budget); `npm run sweep` sets
 * BYZPAXOS_SWEEP_SEEDS for a deeper run by hand.
 */
export const SWEEP_SEEDS = seedsFrom('BYZPAXOS_SWEEP_SEEDS', 200);

/** Seeds per sweep: the environment variable `name` if set (a deeper run by hand), else `fallback`. */
export function seedsFrom(name: string, fallback: number): number {
  const raw = process.env[name];
  if (raw === undefined || raw === '') return fallback;
  const seeds = Number(raw);
  if (!Number.isInteger(seeds) || seeds < 1 || seeds > 100_000) throw new RangeError(`${name} must be an integer in 1..100000, got '${raw}'`);
  return seeds;
}
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
 * Built-in adversaries on as many nodes (one at f=1; colluding pairs at f=2), under the sweep's
 * faults, on every seed: honest nodes stay safe and live, no proof names an honest node, and
 * every provable act the adversaries performed (a conflicting pair of signed messages both sent
 * to honest nodes) is proven by them.
 */
export function sweepAdversary(mode: Mode, adversaries: Adversary | readonly Adversary[], f = 1, commands = SWEEP_COMMANDS): void {
  const failures: string[] = [];
  const nodes = new Set<number>();
  for (let seed = 1; seed <= SWEEP_SEEDS; seed++) {
    const run = detectRun(mode, adversaries, seed, commands, f);
    const { result } = run;
    for (const node of result.byzantineNodes) nodes.add(node);
    const reasons: string[] = [];
    const p = problems(result, commands);
    if (p !== null) reasons.push(p);
    if (run.falseEvidence > 0) reasons.push(`seed ${seed}: ${run.falseEvidence} proofs that do not verify or name an honest node`);
    if (run.actAt !== null && run.proofAt === null) reasons.push(`seed ${seed}: a provable act at ${run.actAt} ms was never proven`);
    if (run.proofAt !== null && run.actAt === null) reasons.push(`seed ${seed}: a proof without any noted act`);
    if (reasons.length > 0) failures.push(`${reasons.join('; ')}\n  replay: ${result.replayCommand}`);
  }
  expect(failures, `${failures.length} of ${SWEEP_SEEDS} seeds failed:\n${failures.join('\n')}`).toEqual([]);
  // The seed picks the Byzantine nodes, so over the sweep every member, the first leader
  // included, takes a turn at misbehaving.
  expect([...nodes].sort(), `Byzantine nodes used: ${[...nodes].join(',')}`).toEqual([...Array(3 * f + 1).keys()]);
}

/** Long enough for 300 seeds on a loaded 2-core machine, and more for deeper runs; vitest's default is far shorter. */
export const SWEEP_TIMEOUT_MS = Math.max(900_000, SWEEP_SEEDS * 3_000);

/**
 * Colluding pairs at f=2 (n=7), fewer commands than at f=1: a run costs about three times as
 * much, and eight commands still span several slots, view changes and checkpoints.
 */
export const PAIR_SWEEP_COMMANDS = 8;

/** Sweep file `part` (of `of`) at f=2: each pair of its group colludes on two nodes, one test each. */
export function describePairSweep(part: number): void {
  const group = PAIR_SWEEPS[part - PAIR_SWEEP_FIRST]!;
  const [mode, pairs] = group;
  describe(`sweep ${part}/${SWEEP_FILES}: ${mode} mode, colluding pairs × ${SWEEP_SEEDS} seeds, f=2, ${PAIR_SWEEP_COMMANDS} commands, faults drop=0.1,dup=0.05,reorder,partition`, () => {
    for (const pair of pairs) {
      it(`${pair.join(' + ')}: safe, live, no false evidence, every provable act proven`, { timeout: SWEEP_TIMEOUT_MS }, () =>
        sweepAdversary(mode, pair.map(strategy), 2, PAIR_SWEEP_COMMANDS),
      );
    }
  });
}

/** Sweep file `part` (1..5) at f=1: `adversaries` (a slice of the built-ins) in `mode`, one test each. */
export function describeSweep(part: number, mode: Mode, adversaries: readonly Adversary[]): void {
  describe(`sweep ${part}/${SWEEP_FILES}: ${mode} mode, built-in adversaries × ${SWEEP_SEEDS} seeds, f=1, faults drop=0.1,dup=0.05,reorder,partition`, () => {
    for (const adversary of adversaries) {
      it(`${adversary.name}: safe, live, no false evidence, every provable act proven`, { timeout: SWEEP_TIMEOUT_MS }, () => sweepAdversary(mode, adversary));
    }
  });
}

/** Every Byzantine-mode strategy in some pair (the forger with itself, to forge in two voices). */
export const BYZANTINE_PAIRS: readonly (readonly [string, string])[] = [
  ['forger', 'forger'],
  ['lying-promise', 'twins'],
  ['equivocating-leader', 'equivocating-acceptor'],
  ['silent', 'bad-signature'],
  ['replay', 'slow'],
];

/** The Byzantine-mode pairs, then every commit-reveal strategy in some pair. */
export const COMMIT_REVEAL_PAIRS: readonly (readonly [string, string])[] = [
  ...BYZANTINE_PAIRS,
  ['commit-equivocation', 'withhold-reveal'],
  ['reveal-mismatch', 'late-reveal'],
  ['withhold-commitment', 'forger'],
];

type Pair = readonly [string, string];

/**
 * The pairs dealt to sweep files 6..13, about equal in CPU time (measured): vitest runs files
 * whole, so small files keep both workers busy to the end.
 */
const PAIR_SWEEPS: readonly (readonly [Mode, readonly Pair[]])[] = [
  ['byzantine', BYZANTINE_PAIRS.slice(0, 2)],
  ['byzantine', BYZANTINE_PAIRS.slice(2, 3)],
  ['byzantine', BYZANTINE_PAIRS.slice(3, 5)],
  ['commit-reveal', COMMIT_REVEAL_PAIRS.slice(0, 1)],
  ['commit-reveal', [COMMIT_REVEAL_PAIRS[1]!, COMMIT_REVEAL_PAIRS[3]!]],
  ['commit-reveal', COMMIT_REVEAL_PAIRS.slice(2, 3)],
  ['commit-reveal', COMMIT_REVEAL_PAIRS.slice(4, 6)],
  ['commit-reveal', COMMIT_REVEAL_PAIRS.slice(6, 8)],
];
const PAIR_SWEEP_FIRST = 6;
export const SWEEP_FILES = PAIR_SWEEP_FIRST + PAIR_SWEEPS.length - 1;

/** Every (mode, pair) the pair sweeps run, for the coverage test. */
export const PAIRS_SWEPT: readonly (readonly [Mode, Pair])[] = PAIR_SWEEPS.flatMap(([mode, pairs]) => pairs.map((p) => [mode, p] as const));
