// Question: how do deployed throughput and latency grow with the offered load, per mode? Each
// point is `byzpaxos bench` (src/experiments/bench.ts: members in this process over real libp2p on
// 127.0.0.1, SQLite with fsync, closed-loop clients with one put in flight each) on a fresh
// cluster; wall-clock figures, so they vary with what else loads the machine.
import { MODES, type Mode } from '../base/mode.ts';
import { benchOptions, benchRows, type BenchRow } from './bench.ts';
import type { Column, Experiment, ExperimentResult, Progress, Row } from './experiment.ts';
import { linesPerMode, type LineChart } from './plot.ts';

export interface LoadRow extends Row {
  readonly mode: Mode;
  readonly n: number;
  readonly clients: number;
  readonly opsPerSec: number;
  readonly p50Ms: number;
  readonly p99Ms: number;
  readonly maxMs: number;
  readonly ops: number;
  readonly errors: number;
  /** The time cap ended the measured window before every put completed. */
  readonly capped: boolean;
  readonly commandsPerSlot: number;
  readonly viewChanges: number;
  /** CPU of this process (members and clients) per put. */
  readonly cpuMsPerOp: number;
}

export interface LoadOptions {
  readonly modes?: readonly Mode[];
  readonly clients?: readonly number[];
  readonly ops?: number;
  readonly warmup?: number;
  readonly maxSeconds?: number;
  readonly progress?: Progress;
  readonly signal: AbortSignal;
}


export async function runLoad(options: LoadOptions): Promise<ExperimentResult<LoadRow>> {
  const modes = options.modes ?? MODES;
  const clients = options.clients ?? [1, 4, 16, 64];
  const sizes = { ops: options.ops ?? 1000, warmup: options.warmup ?? 64, maxSeconds: options.maxSeconds ?? 10 };
  const rows: LoadRow[] = [];
  for (const mode of modes) {
    // The bench's own defaults (nodes, payload, batch, storage).
    const bench = benchOptions(mode, { clientCounts: clients, ops: sizes.ops, warmup: sizes.warmup, maxSeconds: sizes.maxSeconds });
    await benchRows(bench, options.signal, (r) => {
      rows.push(loadRow(mode, r));
      options.progress?.(rows.length, modes.length * clients.length, `${mode} C=${r.clients}: ${r.opsPerSec.toFixed(0)} ops/s`);
    });
  }
  return {
    rows,
    columns: COLUMNS,
    plots: [
      { file: 'latency-vs-throughput.svg', chart: curve(rows, modes, (r) => [r.opsPerSec, r.p50Ms], 'Median latency vs throughput (C = 1..64)', 'puts / s', 'p50 latency ms') },
      { file: 'throughput-vs-clients.svg', chart: curve(rows, modes, (r) => [r.clients, r.opsPerSec], 'Throughput vs closed-loop clients', 'clients C', 'puts / s') },
    ],
    seeds: [],
    options: { modes, clients, ...sizes, placement: 'in-process', transport: 'libp2p tcp+noise+yamux on 127.0.0.1', storage: 'sqlite' },
  };
}

function loadRow(mode: Mode, r: BenchRow): LoadRow {
  return {
    mode,
    n: r.n,
    clients: r.clients,
    opsPerSec: r.opsPerSec,
    p50Ms: r.p50Ms,
    p99Ms: r.p99Ms,
    maxMs: r.maxMs,
    ops: r.ops,
    errors: r.errors,
    capped: r.capped,
    commandsPerSlot: r.slots === 0 ? 0 : Math.round((r.ops / r.slots) * 100) / 100,
    viewChanges: r.viewChanges,
    cpuMsPerOp: r.perOp.cpuMs,
  };
}

const COLUMNS: readonly Column[] = [
  { key: 'mode', header: 'mode' },
  { key: 'n', header: 'n' },
  { key: 'clients', header: 'C' },
  { key: 'opsPerSec', header: 'puts/s', digits: 1 },
  { key: 'p50Ms', header: 'p50 ms', digits: 2 },
  { key: 'p99Ms', header: 'p99 ms', digits: 2 },
  { key: 'ops', header: 'puts' },
  { key: 'capped', header: 'capped' },
  { key: 'commandsPerSlot', header: 'puts/slot', digits: 2 },
  { key: 'viewChanges', header: 'view changes' },
  { key: 'cpuMsPerOp', header: 'CPU ms/put', digits: 2 },
];

function curve(rows: readonly LoadRow[], modes: readonly Mode[], point: (r: LoadRow) => [number, number], title: string, xLabel: string, yLabel: string): LineChart {
  return { kind: 'line', title, xLabel, yLabel, series: linesPerMode(rows, modes, point) };
}

export const loadExperiment: Experiment = {
  name: 'load',
  summary: 'Deployed throughput and latency vs closed-loop clients (C = 1, 4, 16, 64), per mode, over real libp2p on 127.0.0.1 (byzpaxos bench: members in one process, SQLite with fsync); one run per point: 64 warm-up puts, then 1000 puts or 10 s, whichever ends first.',
  simulated: false,
  seedsDefault: null,
  run: async ({ progress, signal }) => runLoad({ progress, signal }),
};
