// Throughput of a simulated run in simulated time: the network's delays are all it counts (no
// CPU, no bandwidth), so it shows waiting for quorums, view changes and lost messages.
import type { SimResult } from '../sim/simulator.ts';

export interface Window {
  /** Leave out the first commands submitted (warm-up, the first election): the window opens when the next is submitted. */
  readonly afterCommands?: number;
  /** Close the window here, or at the last completion if that is earlier. */
  readonly untilMs?: number;
}

/** Commands completed per simulated second within the window (by default the whole run from time 0). */
export function decisionsPerSecond(result: SimResult, window: Window = {}): number {
  const timings = [...result.timings.values()].slice(window.afterCommands ?? 0);
  const start = window.afterCommands === undefined || timings.length === 0 ? 0 : timings[0]!.invokedAt;
  const completions = timings.flatMap((t) => (t.completedAt === null ? [] : [t.completedAt]));
  if (completions.length === 0) return 0;
  const end = Math.min(window.untilMs ?? Infinity, Math.max(...completions));
  const done = completions.filter((at) => at <= end).length;
  return end > start ? done / ((end - start) / 1000) : 0;
}
