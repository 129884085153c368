// Question: what does each mode cost per decided slot in failure-free steady state?
// Everything is counted from simulated runs (messages and bytes on the wire, message delays
// on links that take exactly one time unit), never computed from a formula. Crash mode also runs
// flexible quorums (Howard et al.) and Cheap Paxos (cheap.ts), the latter fault-free and with a
// main member down, where what reaches the auxiliaries is the point.
import { MODES, type Mode } from '../base/mode.ts';
import type { NodeId } from '../base/types.ts';
import type { CoreConfig } from '../core/config.ts';
import type { Effect } from '../core/effects.ts';
import type { ProtocolNode } from '../core/protocol.ts';
import { flexibleQuorums } from '../core/quorum.ts';
import { encodeMessage } from '../messages/codec.ts';
import { simulate, type SimHooks, type SimResult } from '../sim/simulator.ts';
import { mean, round2, sweep, type Column, type Experiment, type ExperimentResult, type Progress, type Row } from './experiment.ts';
import type { BarChart } from './plot.ts';

export interface OverheadRow extends Row {
  readonly mode: string;
  /** `standard`, `flexible q1=A q2=B`, `cheap` or `cheap, a main down` (crash mode). */
  readonly variant: string;
  readonly n: number;
  readonly f: number;
  readonly messagesPerDecision: number;
  readonly bytesPerDecision: number;
  /**
   * Member-to-member messages and bytes per decided slot by recipient: main members (every member
   * outside Cheap Paxos) and auxiliaries. Client requests and replies make up the rest of the totals.
   */
  readonly toMainMessagesPerDecision: number;
  readonly toAuxiliaryMessagesPerDecision: number;
  readonly toMainBytesPerDecision: number;
  readonly toAuxiliaryBytesPerDecision: number;
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
/** With a main member down: it is crashed at this completion, inside the warm-up, so the measured window is the steady state without it. */
const MAIN_DOWN_AT_COMMAND = 10;
/** Flexible quorums of 5 members with f = 1: small phase-2 quorums, and the converse. */
const FLEXIBLE: readonly { readonly q1: number; readonly q2: number }[] = [
  { q1: 4, q2: 2 },
  { q1: 2, q2: 4 },
];

interface Case {
  readonly mode: Mode;
  readonly variant: string;
  readonly f: number;
  readonly config?: Partial<CoreConfig>;
  /** Crash a main follower (not the leader) during the warm-up, for good. */
  readonly mainDown?: boolean;
}

export function runOverhead(options: OverheadOptions = {}): ExperimentResult<OverheadRow> {
  const fs = options.fs ?? [1, 2, 3];
  const commands = options.commands ?? 300;
  const seed = options.seed ?? 1;
  const cases = MODES.flatMap((mode) => [...fs.map((f): Case => ({ mode, variant: 'standard', f })), ...(mode === 'crash' ? crashVariants(fs) : [])]);
  const rows = sweep(cases, options.progress, (c) => `${c.mode} ${c.variant} f=${c.f}`, (c) => row(c, commands, seed));
  return {
    rows,
    columns: COLUMNS,
    plots: [
      { file: 'messages-per-slot.svg', chart: costChart(rows, (r) => r.messagesPerDecision, 'Messages per decided slot', 'messages / slot') },
      { file: 'bytes-per-slot.svg', chart: costChart(rows, (r) => r.bytesPerDecision, 'Wire bytes per decided slot', 'bytes / slot') },
    ],
    seeds: [seed],
    options: {
      fs,
      commands,
      warmupCommands: WARMUP_COMMANDS,
      linkDelayMs: LINK_DELAY_MS,
      clients: 1,
      flexible: FLEXIBLE.map(({ q1, q2 }) => ({ n: 5, f: 1, q1, q2 })),
      cheap: { auxiliaries: 'f', mainDownAtCommand: MAIN_DOWN_AT_COMMAND },
    },
  };
}

/** Crash mode's other systems: flexible quorums of 5 (f = 1), and Cheap Paxos per f, fault-free and with a main member down. */
function crashVariants(fs: readonly number[]): Case[] {
  const flexible = FLEXIBLE.map(({ q1, q2 }): Case => ({ mode: 'crash', variant: `flexible q1=${q1} q2=${q2}`, f: 1, config: { quorums: flexibleQuorums(5, 1, q1, q2) } }));
  const cheap = fs.filter((f) => f >= 1).flatMap((f): Case[] => [
    { mode: 'crash', variant: 'cheap', f, config: { auxiliaries: f } },
    { mode: 'crash', variant: 'cheap, a main down', f, config: { auxiliaries: f }, mainDown: true },
  ]);
  return [...flexible, ...cheap];
}

function row(c: Case, commands: number, seed: number): OverheadRow {
  const traffic = new Traffic(c.config?.auxiliaries ?? 0, c.mainDown === true);
  // One closed-loop client: one command per slot, so "per decision" is "per slot".
  const result = simulate({
    mode: c.mode,
    seed,
    f: c.f,
    commands: commands + WARMUP_COMMANDS,
    clients: 1,
    thinkMs: 0,
    warmupCommands: WARMUP_COMMANDS,
    delay: { minMs: LINK_DELAY_MS, maxMs: LINK_DELAY_MS, jitter: false },
    ...(c.config === undefined ? {} : { config: c.config }),
    // A crashed member stays down: nothing heals before the run ends.
    ...(c.mainDown === true ? { faultPhaseMs: 3_600_000 } : {}),
    hooks: traffic.hooks,
  });
  if (result.safetyViolations.length > 0 || result.livenessFailure !== null || result.completed !== commands + WARMUP_COMMANDS) {
    throw new Error(`overhead: the ${c.mode} ${c.variant} run for f=${c.f} did not complete cleanly (seed ${seed})`);
  }
  return measure(c, result, traffic);
}

/**
 * Member-to-member traffic by recipient, counted from the effects as the simulator counts the
 * wire (a broadcast once per recipient), restarted with the simulator's counters after warm-up.
 * With `mainDown` it also crashes a main follower once MAIN_DOWN_AT_COMMAND commands completed.
 */
class Traffic {
  toMain = { count: 0, bytes: 0 };
  toAuxiliary = { count: 0, bytes: 0 };
  readonly hooks: SimHooks;
  private completed = 0;

  constructor(auxiliaries: number, mainDown: boolean) {
    const cores: ProtocolNode[] = [];
    this.hooks = {
      onBoot: (id, core) => void (cores[id] = core),
      onEffect: (from, effect) => this.count(from, effect, cores.length, cores.length - auxiliaries),
      onClientComplete: (_op, sim) => {
        this.completed++;
        if (this.completed === WARMUP_COMMANDS) {
          this.toMain = { count: 0, bytes: 0 };
          this.toAuxiliary = { count: 0, bytes: 0 };
        }
        if (mainDown && this.completed === MAIN_DOWN_AT_COMMAND) sim.crash(mainFollower(cores, cores.length - auxiliaries));
      },
    };
  }

  private count(from: NodeId, effect: Effect, n: number, mains: number): void {
    if (effect.type !== 'send' && effect.type !== 'broadcast') return;
    const bytes = encodeMessage(effect.msg).length;
    const recipients = effect.type === 'send' ? [effect.to] : [...Array(n).keys()].filter((id) => id !== from);
    for (const to of recipients) {
      const bucket = to < mains ? this.toMain : this.toAuxiliary;
      bucket.count++;
      bucket.bytes += bytes;
    }
  }
}

/** The highest-numbered main member that is not leading. */
function mainFollower(cores: readonly ProtocolNode[], mains: number): NodeId {
  for (let id = mains - 1; id >= 0; id--) if (!cores[id]!.isLeader) return id;
  throw new Error('overhead: every main member leads');
}

function measure(c: Case, result: SimResult, traffic: Traffic): OverheadRow {
  const slots = result.slotsDecided;
  const messagesByType: Record<string, number> = {};
  for (const [type, entry] of [...result.messages.byType].sort(([a], [b]) => a.localeCompare(b))) {
    messagesByType[type] = round2(entry.count / slots);
  }
  const measured = [...result.timings.values()].slice(WARMUP_COMMANDS);
  return {
    mode: c.mode,
    variant: c.variant,
    n: result.n,
    f: result.f,
    messagesPerDecision: round2(result.messages.count / slots),
    bytesPerDecision: round2(result.messages.bytes / slots),
    toMainMessagesPerDecision: round2(traffic.toMain.count / slots),
    toAuxiliaryMessagesPerDecision: round2(traffic.toAuxiliary.count / slots),
    toMainBytesPerDecision: round2(traffic.toMain.bytes / slots),
    toAuxiliaryBytesPerDecision: round2(traffic.toAuxiliary.bytes / slots),
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
  { key: 'variant', header: 'variant' },
  { key: 'n', header: 'n' },
  { key: 'f', header: 'f' },
  { key: 'messagesPerDecision', header: 'msgs/slot', digits: 2 },
  { key: 'bytesPerDecision', header: 'bytes/slot', digits: 0 },
  { key: 'toMainMessagesPerDecision', header: 'msgs→main', digits: 2 },
  { key: 'toAuxiliaryMessagesPerDecision', header: 'msgs→aux', digits: 2 },
  { key: 'toMainBytesPerDecision', header: 'bytes→main', digits: 0 },
  { key: 'toAuxiliaryBytesPerDecision', header: 'bytes→aux', digits: 0 },
  { key: 'delaysToDecide', header: 'delays→decide', digits: 2 },
  { key: 'delaysToReply', header: 'delays→reply', digits: 2 },
  { key: 'signaturesPerDecision', header: 'sigs/slot', digits: 2 },
  { key: 'verificationsPerDecision', header: 'verifs/slot', digits: 2 },
  { key: 'commitmentsPerDecision', header: 'commits/slot', digits: 2 },
];

/** Bars per f (one group) and mode and variant (one bar): the cost of each system side by side. */
function costChart(rows: readonly OverheadRow[], pick: (r: OverheadRow) => number, title: string, yLabel: string): BarChart {
  const fs = [...new Set(rows.map((r) => r.f))];
  const name = (r: OverheadRow) => (r.variant === 'standard' ? r.mode : `${r.mode} ${r.variant}`);
  const series = [...new Set(rows.map(name))];
  return {
    kind: 'bar',
    title,
    xLabel: 'faults tolerated f (n = 2f+1 crash, 5 flexible, 3f+1 otherwise)',
    yLabel,
    categories: fs.map((f) => `f=${f}`),
    series: series.map((s) => ({ name: s, values: fs.map((f) => { const r = rows.find((x) => name(x) === s && x.f === f); return r === undefined ? null : pick(r); }) })),
  };
}

export const overheadExperiment: Experiment = {
  name: 'overhead',
  summary:
    'Messages, bytes, signatures and message delays per decided slot in failure-free steady state (one closed-loop client, every link one time unit), per mode and f; crash mode also with flexible quorums (n = 5) and as Cheap Paxos, fault-free and with a main member down, split by recipient (main members, auxiliaries).',
  simulated: true,
  seedsDefault: null,
  run: async ({ progress }) => runOverhead({ progress }),
};
