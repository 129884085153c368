// The closed-loop load both `byzpaxos bench` and experiments/versus-etcd drive their systems with,
// so the two are measured by the very same loop: C clients, each keeping one put in flight (the
// next is issued when the previous completes or fails), until `count` puts have been issued or
// the signal fires. Latency is issue-to-completion per put; a put that fails or is cut off counts
// as an error, not as a latency.
import { performance } from 'node:perf_hooks';

/** Distinct keys each client cycles through: the store stays small however long the run. */
export const KEYS_PER_CLIENT = 64;

/** One client of the system under test: resolves once the put is acknowledged, rejects on failure or abort. */
export type Put = (key: string, value: string, signal: AbortSignal) => Promise<unknown>;

export interface Phase {
  /** Completed puts' latencies, ms, sorted ascending. */
  readonly latenciesMs: readonly number[];
  readonly errors: number;
  readonly seconds: number;
  /** The signal ended the phase before `count` puts were issued and completed. */
  readonly cut: boolean;
}

/** Runs `count` puts of `value` over `clients` (each one at a time); keys start with `prefix`. */
export async function runPhase(clients: readonly Put[], count: number, value: string, signal: AbortSignal, prefix: string): Promise<Phase> {
  const latenciesMs: number[] = [];
  let issued = 0;
  let errors = 0;
  const startMs = performance.now();
  const loop = async (put: Put, client: number): Promise<void> => {
    for (let i = 0; issued < count && !signal.aborted; i++) {
      issued++;
      const t0 = performance.now();
      try {
        await put(`${prefix}${client}-${i % KEYS_PER_CLIENT}`, value, signal);
        latenciesMs.push(performance.now() - t0);
      } catch {
        errors++;
      }
    }
  };
  await Promise.all(clients.map(loop));
  latenciesMs.sort((a, b) => a - b);
  return { latenciesMs, errors, seconds: (performance.now() - startMs) / 1000, cut: signal.aborted && latenciesMs.length < count };
}

/** Nearest-rank percentile of sorted values; 0 for none. */
export function percentile(sorted: readonly number[], q: number): number {
  if (sorted.length === 0) return 0;
  const rank = Math.ceil(q * sorted.length);
  return sorted[Math.min(sorted.length, Math.max(1, rank)) - 1]!;
}

/** The median of `values` (the lower middle one for an even count); 0 for none. */
export function median(values: readonly number[]): number {
  return percentile([...values].sort((a, b) => a - b), 0.5);
}

export function round(value: number, digits: number): number {
  const scale = 10 ** digits;
  return Math.round(value * scale) / scale;
}
