// `byzpaxos sim`: run a range of seeds through the deterministic simulator and report.
// The --json shape is a contract other tools parse; extend it, never rename fields.
import { performance } from 'node:perf_hooks';
import { createHasher } from '../../crypto/digest.ts';
import { crashQuorums } from '../core/quorum.ts';
import { formatFaults, parseFaults, type FaultSpec } from '../sim/faults.ts';
import { simulate, type SimResult } from '../sim/simulator.ts';
import { integerOption, oneLine, parseOptions, UsageError } from './args.ts';

const OPTIONS = {
  mode: { type: 'string' },
  f: { type: 'string' },
  seeds: { type: 'string' },
  'seed-start': { type: 'string' },
  commands: { type: 'string' },
  faults: { type: 'string' },
  json: { type: 'boolean' },
  trace: { type: 'boolean' },
} as const;

const MODES_PLANNED = ['byzantine', 'commit-reveal'];
// Every seed a run reports must be accepted back by --seed-start in its replay command.
const SEED_MAX = 2 ** 31;
const LIVENESS_SEEDS_LISTED = 20;
const utf8 = new TextEncoder();

interface SimArgs {
  readonly f: number;
  readonly seeds: number;
  readonly seedStart: number;
  readonly commands: number;
  readonly faults: FaultSpec;
  readonly json: boolean;
  readonly trace: boolean;
}

interface SimSummary {
  readonly mode: 'crash';
  readonly n: number;
  readonly f: number;
  readonly seeds: number;
  readonly seedStart: number;
  readonly commands: number;
  readonly faults: string;
  readonly decided: number;
  readonly completed: number;
  readonly safetyViolations: { seed: number; kind: string; detail: string }[];
  readonly livenessFailures: number;
  readonly livenessFailedSeeds: number[];
  readonly traceHash: string;
  readonly wallMs: number;
  readonly decisionsPerSecond: number;
}

interface FailedSeed {
  readonly seed: number;
  readonly reasons: string[];
  readonly replayCommand: string;
}

export function runSim(argv: readonly string[]): number {
  const args = parseSimArgs(argv);
  const { summary, failed, trace } = sweep(args);
  if (args.json) {
    process.stdout.write(`${JSON.stringify(summary)}\n`);
  } else {
    if (args.trace) process.stdout.write(`${trace.join('\n')}\n\n`);
    process.stdout.write(formatSummary(summary, failed));
  }
  return summary.safetyViolations.length > 0 ? 1 : 0;
}

function parseSimArgs(argv: readonly string[]): SimArgs {
  const { values } = parseOptions('sim', argv, OPTIONS);
  const mode = values.mode ?? 'crash';
  if (MODES_PLANNED.includes(mode)) throw new UsageError(`--mode: mode '${mode}' is not implemented yet`);
  if (mode !== 'crash') throw new UsageError(`--mode must be one of crash, ${MODES_PLANNED.join(', ')}; got '${mode}'`);
  const f = integerOption('f', values.f, 1, 0, 7);
  const seeds = integerOption('seeds', values.seeds, 100, 1, 100_000);
  const seedStart = integerOption('seed-start', values['seed-start'], 1, 0, SEED_MAX);
  const commands = integerOption('commands', values.commands, 50, 1, 10_000);
  let faults: FaultSpec;
  try {
    faults = parseFaults(values.faults ?? 'none');
  } catch (e) {
    throw new UsageError(oneLine((e as Error).message));
  }
  if (seedStart + seeds - 1 > SEED_MAX) {
    throw new UsageError(`--seed-start ${seedStart} with --seeds ${seeds} runs past the largest seed ${SEED_MAX}`);
  }
  const json = values.json ?? false;
  const trace = values.trace ?? false;
  if (trace && seeds !== 1) throw new UsageError(`--trace requires --seeds 1, got --seeds ${seeds}`);
  if (trace && json) throw new UsageError('--trace prints a readable trace and cannot be combined with --json');
  return { f, seeds, seedStart, commands, faults, json, trace };
}

function sweep(args: SimArgs): { summary: SimSummary; failed: FailedSeed[]; trace: readonly string[] } {
  const hasher = createHasher();
  const safetyViolations: SimSummary['safetyViolations'] = [];
  const livenessFailedSeeds: number[] = [];
  const failed: FailedSeed[] = [];
  const progress = startProgress(args.seeds);
  let decided = 0;
  let completed = 0;
  let livenessFailures = 0;
  let trace: readonly string[] = [];
  const started = performance.now();
  for (let i = 0; i < args.seeds; i++) {
    const result = runSeed(args, args.seedStart + i);
    hasher.update(utf8.encode(result.traceHash));
    decided += result.decided;
    completed += result.completed;
    trace = result.trace;
    for (const { seed, kind, detail } of result.safetyViolations) safetyViolations.push({ seed, kind, detail });
    if (result.livenessFailure !== null) {
      livenessFailures++;
      if (livenessFailedSeeds.length < LIVENESS_SEEDS_LISTED) livenessFailedSeeds.push(result.seed);
    }
    const reasons = describeFailures(result);
    if (reasons.length > 0) failed.push({ seed: result.seed, reasons, replayCommand: result.replayCommand });
    progress(i + 1);
  }
  const elapsedMs = performance.now() - started;
  const summary: SimSummary = {
    mode: 'crash',
    n: crashQuorums(args.f).n,
    f: args.f,
    seeds: args.seeds,
    seedStart: args.seedStart,
    commands: args.commands,
    faults: formatFaults(args.faults),
    decided,
    completed,
    safetyViolations,
    livenessFailures,
    livenessFailedSeeds,
    traceHash: hasher.digestHex(),
    wallMs: Math.round(elapsedMs),
    decisionsPerSecond: elapsedMs > 0 ? Math.round((decided * 1000) / elapsedMs) : 0,
  };
  return { summary, failed, trace };
}

function runSeed(args: SimArgs, seed: number): SimResult {
  try {
    return simulate({ seed, f: args.f, commands: args.commands, faults: args.faults, trace: args.trace });
  } catch (e) {
    // Still an internal error (exit 3), but one that names the seed to replay.
    throw new Error(`simulation of seed ${seed} threw: ${(e as Error).message}`, { cause: e });
  }
}

function describeFailures(result: SimResult): string[] {
  const reasons = result.safetyViolations.map((v) => `${v.kind}: ${v.detail}`);
  if (result.livenessFailure !== null) reasons.push(`liveness: ${result.livenessFailure}`);
  return reasons;
}

/** Seeds done so far on stderr, only for a human watching a terminal; a no-op otherwise. */
function startProgress(total: number): (done: number) => void {
  if (!process.stderr.isTTY || total < 2) return () => {};
  let shownAt = 0;
  return (done) => {
    const now = performance.now();
    if (done < total && now - shownAt < 100) return;
    shownAt = now;
    process.stderr.write(done < total ? `\rsim: seed ${done}/${total}` : '\r\x1b[K');
  };
}

function formatSummary(s: SimSummary, failed: readonly FailedSeed[]): string {
  const lastSeed = s.seedStart + s.seeds - 1;
  const seeds = s.seeds === 1 ? `seed ${s.seedStart}` : `seeds ${s.seedStart}..${lastSeed}`;
  const violatingSeeds = new Set(s.safetyViolations.map((v) => v.seed)).size;
  const lines = [
    `sim: mode=${s.mode} n=${s.n} f=${s.f} ${seeds}, ${s.commands} commands each, faults=${s.faults}`,
    `decided ${s.decided}, completed ${s.completed} of ${s.seeds * s.commands} commands in ${s.wallMs} ms (${s.decisionsPerSecond} decisions/s)`,
    s.safetyViolations.length === 0
      ? 'safety: no violations'
      : `safety: ${s.safetyViolations.length} violation(s) in ${violatingSeeds} seed(s)`,
    s.livenessFailures === 0
      ? 'liveness: every run completed all commands after healing'
      : `liveness: ${s.livenessFailures} run(s) left commands incomplete`,
    `trace hash: ${s.traceHash}`,
  ];
  for (const f of failed) {
    lines.push('', `seed ${f.seed} FAILED`, ...f.reasons.map((r) => `  ${r}`), `  replay: ${f.replayCommand}`);
  }
  return `${lines.join('\n')}\n`;
}
