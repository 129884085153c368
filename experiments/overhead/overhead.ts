// Question: what does each mode cost per decided slot in failure-free steady state?
// Everything is counted from simulated runs (messages and bytes on the wire, message delays
// on links that take exactly one time unit), never computed from a formula.
import type { Mode } from '../../src/core/protocol.ts';
import { simulate, type SimResult } from '../../src/sim/simulator.ts';

export interface OverheadRow {
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
}

const WARMUP_COMMANDS = 20;
const LINK_DELAY_MS = 1;

const MODES: readonly Mode[] = ['crash', 'byzantine', 'commit-reveal'];

export function runOverhead(options: OverheadOptions = {}): { rows: OverheadRow[] } {
  const fs = options.fs ?? [1, 2, 3];
  const commands = options.commands ?? 300;
  const rows = MODES.flatMap((mode) => fs.map((f) => row(mode, f, commands, options.seed ?? 1)));
  return { rows };
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
    messagesByType[type] = round(entry.count / slots);
  }
  const measured = [...result.timings.values()].slice(WARMUP_COMMANDS);
  const mean = (values: number[]) => values.reduce((a, b) => a + b, 0) / values.length;
  return {
    mode,
    n: result.n,
    f: result.f,
    messagesPerDecision: round(result.messages.count / slots),
    bytesPerDecision: round(result.messages.bytes / slots),
    delaysToDecide: round(mean(measured.map((t) => (t.firstDecidedAt! - t.invokedAt) / LINK_DELAY_MS))),
    delaysToReply: round(mean(measured.map((t) => (t.completedAt! - t.invokedAt) / LINK_DELAY_MS))),
    signaturesPerDecision: round(result.signatures.signs / slots),
    verificationsPerDecision: round(result.signatures.verifies / slots),
    commitmentsPerDecision: round((result.messages.byType.get('commitment')?.count ?? 0) / slots),
    messagesByType,
  };
}

function round(x: number): number {
  return Math.round(x * 100) / 100;
}

export function formatOverheadTable(rows: readonly OverheadRow[]): string {
  const header = ['mode', 'n', 'f', 'msgs/slot', 'bytes/slot', 'delays→decide', 'delays→reply', 'sigs/slot', 'verifs/slot', 'commits/slot'];
  const lines = rows.map((r) => [
    r.mode,
    String(r.n),
    String(r.f),
    r.messagesPerDecision.toFixed(2),
    r.bytesPerDecision.toFixed(0),
    r.delaysToDecide.toFixed(2),
    r.delaysToReply.toFixed(2),
    r.signaturesPerDecision.toFixed(2),
    r.verificationsPerDecision.toFixed(2),
    r.commitmentsPerDecision.toFixed(2),
  ]);
  const widths = header.map((h, i) => Math.max(h.length, ...lines.map((l) => l[i]!.length)));
  const fmt = (cells: string[]) => `| ${cells.map((c, i) => c.padEnd(widths[i]!)).join(' | ')} |`;
  return [fmt(header), `|${widths.map((w) => '-'.repeat(w + 2)).join('|')}|`, ...lines.map(fmt)].join('\n');
}
