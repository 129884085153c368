// Question: how fast does each mode decide while the network loses messages and partitions, and
// does every command still complete once the faults heal? f = 1, 4 closed-loop clients; faults
// during the first FAULT_PHASE_MS, then the simulator heals everything and checks liveness. The
// simulator draws partitions itself (one every 0.1-0.6 s, healing 0.1-0.8 s later), so the
// partition axis is on/off rather than a frequency.
import { MODES, type Mode } from '../base/mode.ts';
import { NO_FAULTS } from '../sim/faults.ts';
import { simulate } from '../sim/simulator.ts';
import { mean, round2, seedRange, SIM_DEFAULT_DELAY, sweep, type Column, type Experiment, type ExperimentResult, type Progress, type Row } from './experiment.ts';
import type { LineChart } from './plot.ts';
import { decisionsPerSecond } from './sim-throughput.ts';

export interface FaultsRow extends Row {
  readonly mode: Mode;
  readonly n: number;
  readonly drop: number;
  readonly partition: boolean;
  readonly seeds: number;
  /** Mean commands completed per simulated second during the fault phase. */
  readonly decisionsPerSec: number;
  /** Runs in which every command completed within the bound after healing. */
  readonly liveAfterHeal: number;
  readonly safetyViolations: number;
}

export interface FaultsOptions {
  readonly seeds?: number;
  readonly modes?: readonly Mode[];
  readonly drops?: readonly number[];
  readonly partitions?: readonly boolean[];
  readonly commands?: number;
  readonly progress?: Progress;
}

const F = 1;
const CLIENTS = 4;
const FAULT_PHASE_MS = 1000;

export function runFaults(options: FaultsOptions = {}): ExperimentResult<FaultsRow> {
  const seeds = seedRange(options.seeds ?? 2);
  const modes = options.modes ?? MODES;
  const drops = options.drops ?? [0, 0.1, 0.2, 0.3];
  const partitions = options.partitions ?? [false, true];
  const commands = options.commands ?? 80;
  const cases = modes.flatMap((mode) => partitions.flatMap((partition) => drops.map((drop) => ({ mode, drop, partition }))));
  const rows = sweep(cases, options.progress, ({ mode, drop, partition }) => `${mode} drop=${drop}${partition ? ' partition' : ''}`, ({ mode, drop, partition }) => {
    const runs = seeds.map((seed) =>
      simulate({ mode, seed, f: F, commands, clients: CLIENTS, thinkMs: 0, faultPhaseMs: FAULT_PHASE_MS, faults: { ...NO_FAULTS, drop, partition } }),
    );
    return {
      mode,
      n: runs[0]!.n,
      drop,
      partition,
      seeds: seeds.length,
      decisionsPerSec: round2(mean(runs.map((r) => decisionsPerSecond(r, { untilMs: FAULT_PHASE_MS })))),
      liveAfterHeal: runs.filter((r) => r.livenessFailure === null).length,
      safetyViolations: runs.filter((r) => r.safetyViolations.length > 0).length,
    };
  });
  return {
    rows,
    columns: COLUMNS,
    plots: [{ file: 'throughput-vs-drop.svg', chart: versusDrop(rows, modes, partitions) }],
    seeds,
    options: { f: F, commands, clients: CLIENTS, thinkMs: 0, faultPhaseMs: FAULT_PHASE_MS, drops, partitions, delay: SIM_DEFAULT_DELAY },
  };
}

const COLUMNS: readonly Column[] = [
  { key: 'mode', header: 'mode' },
  { key: 'n', header: 'n' },
  { key: 'drop', header: 'drop' },
  { key: 'partition', header: 'partition' },
  { key: 'decisionsPerSec', header: 'cmds/sim s', digits: 1 },
  { key: 'liveAfterHeal', header: 'live after heal' },
  { key: 'seeds', header: 'runs' },
  { key: 'safetyViolations', header: 'safety viol.' },
];

function versusDrop(rows: readonly FaultsRow[], modes: readonly Mode[], partitions: readonly boolean[]): LineChart {
  return {
    kind: 'line',
    title: 'Simulated throughput during faults vs drop rate (f = 1)',
    xLabel: 'probability a message is dropped',
    yLabel: 'commands / simulated s',
    series: modes.flatMap((mode) =>
      partitions.map((partition) => ({
        name: partition ? `${mode} + partitions` : mode,
        points: rows.filter((r) => r.mode === mode && r.partition === partition).map((r): [number, number] => [r.drop, r.decisionsPerSec]),
      })),
    ),
  };
}

export const faultsExperiment: Experiment = {
  name: 'faults',
  summary: 'Commands decided per simulated second during 1 s of faults vs message drop rate, with and without partitions, per mode (f = 1, 4 closed-loop clients), and whether every command completed after the faults healed.',
  simulated: true,
  seedsDefault: 2,
  run: async ({ seeds, progress }) => runFaults({ seeds, progress }),
};
