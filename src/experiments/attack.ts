// Question: how much throughput does each built-in adversary take away (Aardvark's robustness
// measure, NSDI'09: throughput under attack / fault-free throughput), and how soon do the honest
// nodes notice it and prove it? f = 1, one Byzantine node, 4 closed-loop clients, no network
// faults, the same seeds with and without the adversary.
import type { Mode } from '../base/mode.ts';
import type { Adversary } from '../adversary/adversary.ts';
import { NO_FAULTS } from '../sim/faults.ts';
import { simulate } from '../sim/simulator.ts';
import { adversaryCases, detectRun, type DetectionWorkload, type RunOutcome } from './detection.ts';
import { mean, meanOrNull, round2, seedRange, SIM_DEFAULT_DELAY, sweep, type Column, type Experiment, type ExperimentResult, type Progress, type Row } from './experiment.ts';
import { barsPerMode, type BarChart } from './plot.ts';
import { decisionsPerSecond } from './sim-throughput.ts';

export interface AttackRow extends Row {
  readonly mode: Mode;
  readonly adversary: string;
  readonly seeds: number;
  /** Mean commands per simulated second under the adversary, and fault-free on the same seeds. */
  readonly decisionsPerSec: number;
  readonly faultFreeDecisionsPerSec: number;
  readonly throughputRatio: number;
  /** Runs where an honest node suspected or proved the Byzantine node. */
  readonly detected: number;
  /** Mean simulated ms from the start to the first suspicion or proof, over detected runs. */
  readonly msToDetection: number | null;
  readonly proven: number;
  /** Mean simulated ms from the start to the first verified proof, over proven runs. */
  readonly msToProof: number | null;
  /** Mean simulated ms from the first provable act to the first proof, over runs with both. */
  readonly msActToProof: number | null;
  readonly safetyViolations: number;
  readonly livenessFailures: number;
}

export interface AttackOptions {
  readonly seeds?: number;
  readonly modes?: readonly Mode[];
  /** Built-in adversaries by name; default all that act in each mode. */
  readonly adversaries?: readonly string[];
  readonly commands?: number;
  readonly progress?: Progress;
}

const F = 1;
const CLIENTS = 4;

export function runAttack(options: AttackOptions = {}): ExperimentResult<AttackRow> {
  const seeds = seedRange(options.seeds ?? 2);
  const modes = options.modes ?? (['byzantine', 'commit-reveal'] as const);
  const commands = options.commands ?? 60;
  const workload: DetectionWorkload = { faults: NO_FAULTS, clients: CLIENTS, thinkMs: 0 };
  const cases = modes.flatMap((mode) => adversaryCases(mode).filter((a) => options.adversaries?.includes(a.name) ?? true).map((adversary) => ({ mode, adversary })));
  const faultFree = new Map(modes.map((mode) => [mode, mean(seeds.map((seed) => decisionsPerSecond(simulate({ mode, seed, f: F, commands, ...workload }))))]));
  const rows = sweep(cases, options.progress, ({ mode, adversary }) => `${mode} ${adversary.name}`, ({ mode, adversary }) => attackRow(mode, adversary, seeds, commands, workload, faultFree.get(mode)!));
  return {
    rows,
    columns: COLUMNS,
    plots: [{ file: 'throughput-ratio.svg', chart: ratioChart(rows, modes) }],
    seeds,
    options: { f: F, commands, clients: CLIENTS, thinkMs: 0, faults: 'none', delay: SIM_DEFAULT_DELAY, modes },
  };
}

function attackRow(mode: Mode, adversary: Adversary, seeds: readonly number[], commands: number, workload: DetectionWorkload, faultFree: number): AttackRow {
  const runs = seeds.map((seed) => detectRun(mode, adversary, seed, commands, F, workload));
  const throughput = mean(runs.map((r) => decisionsPerSecond(r.result)));
  const detections = runs.flatMap((r) => { const at = detectedAt(r); return at === null ? [] : [at]; });
  const proofs = runs.flatMap((r) => (r.proofAt === null ? [] : [r.proofAt]));
  const actToProof = runs.flatMap((r) => (r.proofAt !== null && r.actAt !== null ? [r.proofAt - r.actAt] : []));
  return {
    mode,
    adversary: adversary.name,
    seeds: seeds.length,
    decisionsPerSec: round2(throughput),
    faultFreeDecisionsPerSec: round2(faultFree),
    throughputRatio: Math.round((throughput / faultFree) * 1000) / 1000,
    detected: detections.length,
    msToDetection: meanOrNull(detections),
    proven: proofs.length,
    msToProof: meanOrNull(proofs),
    msActToProof: meanOrNull(actToProof),
    safetyViolations: runs.filter((r) => r.safetyViolation).length,
    livenessFailures: runs.filter((r) => r.livenessFailure).length,
  };
}

/** The first suspicion of a Byzantine node or the first proof, whichever came first. */
function detectedAt(run: RunOutcome): number | null {
  const byzantine = new Set(run.result.byzantineNodes);
  const times = run.result.suspicions.filter((s) => byzantine.has(s.node)).map((s) => s.atMs);
  if (run.proofAt !== null) times.push(run.proofAt);
  return times.length === 0 ? null : Math.min(...times);
}

const COLUMNS: readonly Column[] = [
  { key: 'mode', header: 'mode' },
  { key: 'adversary', header: 'adversary' },
  { key: 'decisionsPerSec', header: 'cmds/sim s', digits: 1 },
  { key: 'faultFreeDecisionsPerSec', header: 'fault-free', digits: 1 },
  { key: 'throughputRatio', header: 'ratio', digits: 3 },
  { key: 'detected', header: 'detected' },
  { key: 'msToDetection', header: 'ms→detect', digits: 1 },
  { key: 'proven', header: 'proven' },
  { key: 'msToProof', header: 'ms→proof', digits: 1 },
  { key: 'msActToProof', header: 'act→proof ms', digits: 1 },
  { key: 'safetyViolations', header: 'safety viol.' },
  { key: 'livenessFailures', header: 'liveness fail.' },
];

function ratioChart(rows: readonly AttackRow[], modes: readonly Mode[]): BarChart {
  return {
    kind: 'bar',
    title: 'Throughput under attack / fault-free throughput (f = 1)',
    xLabel: 'adversary (one Byzantine node, no network faults)',
    yLabel: 'throughput ratio',
    ...barsPerMode(rows, modes, (r) => r.adversary, (r) => r.throughputRatio),
  };
}

export const attackExperiment: Experiment = {
  name: 'attack',
  summary: "Throughput under each built-in adversary divided by fault-free throughput on the same seeds (Aardvark's robustness measure), per mode, with the simulated time until an honest node suspects or proves the Byzantine node; f = 1, 4 closed-loop clients, no network faults.",
  simulated: true,
  seedsDefault: 2,
  run: async ({ seeds, progress }) => runAttack({ seeds, progress }),
};
