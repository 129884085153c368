// Question: what does each mode cost per decided slot in failure-free steady state?
// Everything is counted from simulated runs (messages and bytes on the wire, message delays
// on links that take exactly one time unit), never computed from a formula.
import { MODES, type Mode } from '../base/mode.ts';
import { simulate, type SimResult } from '../sim/simulator.ts';
import { mean, round2, sweep, type Column, type Experiment, type ExperimentResult, type Progress, type Row } from './experiment.ts';
import { barsPerMode, type BarChart } from './plot.ts';

export interface OverheadRow extends Row {
  readonly mode: string;
  readonly n: number;
  readonly f: number;
  readonly messagesPerDecision: number;
  readonly bytesPerDecision: number;
  /** Mean message delays from a client's request to the first learner's decision. */
  readonly delaysToDecide: number;
  /** Mean message delays from a client's request to its reply. */
  readonly delaysToReply: number;
  readonly signaturesPerDecision: number;
  readonly verificationsPerDecision: number;
  /**
   * Commitment messages on the wire per decided slot: n−1 in steady state, every acceptor's box
   * to the leader but the leader's own, which stays local. 0 outside commit-reveal mode.
   */
  readonly commitmentsPerDecision: number;
  /** Messages per decided slot, by message type. */
  readonly messagesByType: Readonly<Record<string, number>>;
}

export interface OverheadOptions {
  readonly fs?: readonly number[];
  /** Commands per run, after warm-up. */
  readonly commands?: number;
  readonly seed?: number;
  readonly progress?: Progress;
}

const WARMUP_COMMANDS = 20;
const LINK_DELAY_MS = 1;


export function runOverhead(options: OverheadOptions = {}): ExperimentResult<OverheadRow> {
  const fs = options.fs ?? [1, 2, 3];
  const commands = options.commands ?? 300;
  const seed = options.seed ?? 1;
  const cases = MODES.flatMap((mode) => fs.map((f) => ({ mode, f })));
  const rows = sweep(cases, options.progress, ({ mode, f }) => `${mode} f=${f}`, ({ mode, f }) => row(mode, f, commands, seed));
  return {
    rows,
    columns: COLUMNS,
    plots: [
      { file: 'messages-per-slot.svg', chart: costChart(rows, (r) => r.messagesPerDecision, 'Messages per decided slot', 'messages / slot') },
      { file: 'bytes-per-slot.svg', chart: costChart(rows, (r) => r.bytesPerDecision, 'Wire bytes per decided slot', 'bytes / slot') },
    ],
    seeds: [seed],
    options: { fs, commands, warmupCommands: WARMUP_COMMANDS, linkDelayMs: LINK_DELAY_MS, clients: 1 },
  };
}

function row(mode: Mode, f: number, commands: number, seed: number): OverheadRow {
  // One closed-loop client: one command per slot, so "per decision" is "per slot".
  const result = simulate({
    mode,
    seed,
    f,
    commands: commands + WARMUP_COMMANDS,
    clients: 1,
    thinkMs: 0,
    warmupCommands: WARMUP_COMMANDS,
    delay: { minMs: LINK_DELAY_MS, maxMs: LINK_DELAY_MS, jitter: false },
  });
  if (result.safetyViolations.length > 0 || result.livenessFailure !== null) {
    throw new Error(`overhead: the failure-free ${mode} run for f=${f} did not complete cleanly (seed ${seed})`);
  }
  return measure(mode, result);
}

function measure(mode: Mode, result: SimResult): OverheadRow {
  const slots = result.slotsDecided;
  const messagesByType: Record<string, number> = {};
  for (const [type, entry] of [...result.messages.byType].sort(([a], [b]) => a.localeCompare(b))) {
    messagesByType[type] = round2(entry.count / slots);
  }
  const measured = [...result.timings.values()].slice(WARMUP_COMMANDS);
  return {
    mode,
    n: result.n,
    f: result.f,
    messagesPerDecision: round2(result.messages.count / slots),
    bytesPerDecision: round2(result.messages.bytes / slots),
    delaysToDecide: round2(mean(measured.map((t) => (t.firstDecidedAt! - t.invokedAt) / LINK_DELAY_MS))),
    delaysToReply: round2(mean(measured.map((t) => (t.completedAt! - t.invokedAt) / LINK_DELAY_MS))),
    signaturesPerDecision: round2(result.signatures.signs / slots),
    verificationsPerDecision: round2(result.signatures.verifies / slots),
    commitmentsPerDecision: round2((result.messages.byType.get('commitment')?.count ?? 0) / slots),
    messagesByType,
  };
}

const COLUMNS: readonly Column[] = [
  { key: 'mode', header: 'mode' },
  { key: 'n', header: 'n' },
  { key: 'f', header: 'f' },
  { key: 'messagesPerDecision', header: 'msgs/slot', digits: 2 },
  { key: 'bytesPerDecision', header: 'bytes/slot', digits: 0 },
  { key: 'delaysToDecide', header: 'delays→decide', digits: 2 },
  { key: 'delaysToReply', header: 'delays→reply', digits: 2 },
  { key: 'signaturesPerDecision', header: 'sigs/slot', digits: 2 },
  { key: 'verificationsPerDecision', header: 'verifs/slot', digits: 2 },
  { key: 'commitmentsPerDecision', header: 'commits/slot', digits: 2 },
];

/** Bars per f (one group) and mode (one bar): the cost of each mode side by side. */
function costChart(rows: readonly OverheadRow[], pick: (r: OverheadRow) => number, title: string, yLabel: string): BarChart {
  return {
    kind: 'bar',
    title,
    xLabel: 'faults tolerated f (n = 2f+1 crash, 3f+1 otherwise)',
    yLabel,
    ...barsPerMode(rows, MODES, (r) => `f=${r.f}`, pick),
  };
}

export const overheadExperiment: Experiment = {
  name: 'overhead',
  summary: 'Messages, bytes, signatures and message delays per decided slot in failure-free steady state (one closed-loop client, every link one time unit), per mode and f.',
  simulated: true,
  seedsDefault: null,
  run: async ({ progress }) => runOverhead({ progress }),
};
