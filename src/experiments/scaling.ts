// Question: how do the cost per decided slot and the throughput grow with the cluster size?
// Crash n = 3..15, the Byzantine modes n = 4..16, closed-loop clients on the simulator's
// default links (1-10 ms, jitter); means over the seeds. Crash mode also runs as Cheap Paxos (f
// auxiliary acceptors, cheap.ts) at every n; flexible quorums have no row here, since with
// n = 2f+1 every pair of sizes that survives f crashes is a pair of majorities.
import { MODES, type Mode } from '../base/mode.ts';
import { simulate } from '../sim/simulator.ts';
import { mean, round2, seedRange, SIM_DEFAULT_DELAY, type Column, type Experiment, type ExperimentResult, type Progress, type Row } from './experiment.ts';
import type { LineChart } from './plot.ts';
import { decisionsPerSecond } from './sim-throughput.ts';

export interface ScalingRow extends Row {
  readonly mode: Mode;
  /** `standard`, or `cheap` (crash mode: f+1 main members and f auxiliary acceptors). */
  readonly variant: string;
  readonly n: number;
  readonly f: number;
  readonly seeds: number;
  readonly messagesPerSlot: number;
  readonly bytesPerSlot: number;
  readonly signaturesPerSlot: number;
  readonly verificationsPerSlot: number;
  /** Commands completed per simulated second (see sim-throughput.ts). */
  readonly decisionsPerSec: number;
  readonly safetyViolations: number;
  readonly livenessFailures: number;
}

export interface ScalingOptions {
  readonly seeds?: number;
  /** f per mode; default crash 1..7 (n = 3..15), the Byzantine modes 1..5 (n = 4..16). */
  readonly fs?: Readonly<Record<Mode, readonly number[]>>;
  readonly commands?: number;
  readonly clients?: number;
  readonly progress?: Progress;
}

const FS_DEFAULT: Readonly<Record<Mode, readonly number[]>> = { crash: [1, 2, 3, 4, 5, 6, 7], byzantine: [1, 2, 3, 4, 5], 'commit-reveal': [1, 2, 3, 4, 5] };
const WARMUP_COMMANDS = 10;

export function runScaling(options: ScalingOptions = {}): ExperimentResult<ScalingRow> {
  const seeds = seedRange(options.seeds ?? 2);
  const fs = options.fs ?? FS_DEFAULT;
  const commands = options.commands ?? 60;
  const clients = options.clients ?? 4;
  const cases = MODES.flatMap((mode) => [
    ...fs[mode].map((f) => ({ mode, f, variant: 'standard', auxiliaries: 0 })),
    ...(mode === 'crash' ? fs[mode].filter((f) => f >= 1).map((f) => ({ mode, f, variant: 'cheap', auxiliaries: f })) : []),
  ]);
  const rows = cases.map(({ mode, f, variant, auxiliaries }, i) => {
    const config = auxiliaries === 0 ? {} : { config: { auxiliaries } };
    const runs = seeds.map((seed) => simulate({ mode, seed, f, commands: commands + WARMUP_COMMANDS, clients, thinkMs: 0, warmupCommands: WARMUP_COMMANDS, ...config }));
    options.progress?.(i + 1, cases.length, `${mode} ${variant} f=${f}`);
    const perSlot = (count: (r: (typeof runs)[number]) => number) => round2(mean(runs.map((r) => count(r) / r.slotsDecided)));
    return {
      mode,
      variant,
      n: runs[0]!.n,
      f,
      seeds: seeds.length,
      messagesPerSlot: perSlot((r) => r.messages.count),
      bytesPerSlot: perSlot((r) => r.messages.bytes),
      signaturesPerSlot: perSlot((r) => r.signatures.signs),
      verificationsPerSlot: perSlot((r) => r.signatures.verifies),
      decisionsPerSec: round2(mean(runs.map((r) => decisionsPerSecond(r, { afterCommands: WARMUP_COMMANDS })))),
      safetyViolations: runs.filter((r) => r.safetyViolations.length > 0).length,
      livenessFailures: runs.filter((r) => r.livenessFailure !== null).length,
    };
  });
  return {
    rows,
    columns: COLUMNS,
    plots: [
      { file: 'throughput-vs-n.svg', chart: versusN(rows, (r) => r.decisionsPerSec, 'Simulated throughput vs cluster size', 'commands / simulated s') },
      { file: 'messages-vs-n.svg', chart: versusN(rows, (r) => r.messagesPerSlot, 'Messages per decided slot vs cluster size', 'messages / slot') },
      { file: 'bytes-vs-n.svg', chart: versusN(rows, (r) => r.bytesPerSlot, 'Wire bytes per decided slot vs cluster size', 'bytes / slot') },
    ],
    seeds,
    options: { fs, cheap: { mode: 'crash', auxiliaries: 'f' }, commands, warmupCommands: WARMUP_COMMANDS, clients, thinkMs: 0, delay: SIM_DEFAULT_DELAY },
  };
}

const COLUMNS: readonly Column[] = [
  { key: 'mode', header: 'mode' },
  { key: 'variant', header: 'variant' },
  { key: 'n', header: 'n' },
  { key: 'f', header: 'f' },
  { key: 'messagesPerSlot', header: 'msgs/slot', digits: 1 },
  { key: 'bytesPerSlot', header: 'bytes/slot', digits: 0 },
  { key: 'signaturesPerSlot', header: 'sigs/slot', digits: 1 },
  { key: 'verificationsPerSlot', header: 'verifs/slot', digits: 1 },
  { key: 'decisionsPerSec', header: 'cmds/sim s', digits: 1 },
  { key: 'safetyViolations', header: 'safety viol.' },
  { key: 'livenessFailures', header: 'liveness fail.' },
];

function seriesName(r: ScalingRow): string {
  return r.variant === 'standard' ? r.mode : `${r.mode} ${r.variant}`;
}

function versusN(rows: readonly ScalingRow[], pick: (r: ScalingRow) => number, title: string, yLabel: string): LineChart {
  return {
    kind: 'line',
    title,
    xLabel: 'cluster size n',
    yLabel,
    series: [...new Set(rows.map(seriesName))].map((name) => ({ name, points: rows.filter((r) => seriesName(r) === name).map((r): [number, number] => [r.n, pick(r)]) })),
  };
}

export const scalingExperiment: Experiment = {
  name: 'scaling',
  summary: 'Cost per decided slot (messages, bytes, signatures) and simulated throughput vs cluster size n, per mode: crash n = 3..15 (also as Cheap Paxos, f of the 2f+1 members auxiliary), Byzantine and commit-reveal n = 4..16; 4 closed-loop clients, failure-free, the simulator\'s default links.',
  simulated: true,
  seedsDefault: 2,
  run: async ({ seeds, progress }) => runScaling({ seeds, progress }),
};
