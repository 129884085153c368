// Throughput of a simulated run in simulated time: the network's delays are all it counts (no
// CPU, no bandwidth), so it shows waiting for quorums, view changes and lost messages.
import type { SimResult } from '../sim/simulator.ts';

/**
 * Commands completed per simulated second from the start of the run (the first election
 * included) until `untilMs` or the last completion, whichever is earlier.
 */
export function decisionsPerSecond(result: SimResult, untilMs = Infinity): number {
  const completions = [...result.timings.values()].flatMap((t) => (t.completedAt === null ? [] : [t.completedAt]));
  if (completions.length === 0) return 0;
  const end = Math.min(untilMs, Math.max(...completions));
  const done = completions.filter((at) => at <= end).length;
  return end > 0 ? done / (end / 1000) : 0;
}
