// The bench harness: a local cluster over real libp2p (src/node/local-cluster.ts), C closed-loop
// clients (closed-loop.ts), a warm-up, then the measured puts; per run the figures `byzpaxos bench`
// prints and the load experiment plots. Parsing and printing stay in src/cli/bench.ts.
import { fOf, membersFor } from '../core/quorum.ts';
import type { Mode } from '../base/mode.ts';
import { LocalCluster, type LocalClusterOptions, type LocalClusterStats, type LocalStorageKind } from '../node/local-cluster.ts';
import type { ProcUsage } from '../node/proc-usage.ts';
import { median, percentile, round, runPhase, type Put } from './closed-loop.ts';

/** Starts of a run's cluster, when a picked port was taken meanwhile. */
const START_ATTEMPTS_MAX = 3;
const PORT_TAKEN = /EADDRINUSE|address already in use/;
/** Every client must be connected to every member within this long. */
const CONNECT_MS_MAX = 60_000;
/** One put may take this long before it counts as an error (and the client moves on). */
const OPERATION_TIMEOUT_MS = 10_000;
const BYTES_PER_MB = 1024 * 1024;

export type Placement = 'in-process' | 'worker-threads' | 'processes';

export interface BenchOptions {
  readonly mode: Mode;
  readonly nodes: number;
  /** One row per entry: each a fresh cluster with this many clients. */
  readonly clientCounts: readonly number[];
  readonly ops: number;
  readonly warmup: number;
  readonly runs: number;
  readonly payloadBytes: number;
  readonly batch: number;
  readonly storage: LocalStorageKind;
  readonly placement: Placement;
  readonly maxSeconds: number;
}

/** One run with one client count. */
export interface BenchResult {
  readonly mode: Mode;
  readonly n: number;
  readonly f: number;
  /** Puts completed within the measured window. */
  readonly ops: number;
  readonly seconds: number;
  readonly opsPerSec: number;
  readonly p50Ms: number;
  readonly p99Ms: number;
  readonly maxMs: number;
  /** Puts that timed out (or were cut off by the time cap), warm-up excluded. */
  readonly errors: number;
  /** The time cap ended the run before `ops` puts completed. */
  readonly capped: boolean;
  readonly clients: number;
  readonly warmup: number;
  readonly payloadBytes: number;
  readonly batch: number;
  readonly storage: LocalStorageKind;
  /** Where the members run; always real libp2p over loopback. */
  readonly processes: Placement;
  /** From the first client starting to connect until every client has a stream to every member, and the client dials refused or failed meanwhile. */
  readonly connectMs: number;
  readonly connectDialFailures: number;
  /** Slots decided in the measured window (commands per slot = ops / slots), and ballot changes. */
  readonly slots: number;
  readonly viewChanges: number;
  /** Per completed op, over the measured window; null where the members run in processes of their own (not visible from here). */
  readonly perOp: {
    readonly signaturesMade: number | null;
    readonly signaturesVerified: number | null;
    readonly verifyCacheHits: number | null;
    readonly signMs: number | null;
    readonly verifyMs: number | null;
    readonly messages: number;
    readonly bytes: number;
    readonly fsyncs: number | null;
    readonly storageMs: number | null;
    /** Protocol steps (inputs through a member's core); steps / fsyncs is how many steps one group commit covers. */
    readonly steps: number | null;
    /** CPU time (user + system) of this process: members and clients, or with --processes the clients alone. */
    readonly cpuMs: number;
  };
  /** --processes: the PIDs the member processes had (all stopped by the time this is printed); [] otherwise. */
  readonly memberPids: readonly number[];
  /** --processes: the member processes, from /proc: CPU per op and in cores (summed over members), RSS of each at the end. */
  readonly server: { readonly cpuMsPerOp: number; readonly cores: number; readonly rssMb: readonly number[] } | null;
}

/** Per client count: the median of each figure over the runs, and the runs themselves. */
export interface BenchRow extends BenchResult {
  readonly runs: readonly BenchResult[];
}
/** What a run uses for what it is not told (`byzpaxos bench` and the load experiment alike). */
export const BENCH_DEFAULTS = {
  /** Small enough that a default byzantine run completes well within a minute (and far within the time cap). */
  ops: 1_000,
  /** Puts before the measured ones: connections warm, leader elected, JIT settled. */
  warmup: 200,
  payloadBytes: 100,
  batch: 64,
  storage: 'sqlite',
  /** The warm-up, and then the measured puts, each stop by themselves after this long, whatever `ops` says. */
  maxSeconds: 120,
} as const satisfies Partial<BenchOptions>;

/** A run of `mode` at its smallest cluster, in this process, defaults filled in. */
export function benchOptions(mode: Mode, o: Partial<BenchOptions> = {}): BenchOptions {
  return { mode, nodes: membersFor(mode, 1), clientCounts: [1], runs: 1, placement: 'in-process', ...BENCH_DEFAULTS, ...o };
}

/** Every row: per client count, `runs` runs on fresh clusters, reduced to medians. Stops early once `interrupt` fires. */
export async function benchRows(o: BenchOptions, interrupt: AbortSignal, onRow: (row: BenchRow) => void = () => {}): Promise<BenchRow[]> {
  const rows: BenchRow[] = [];
  for (const clients of o.clientCounts) {
    const runs: BenchResult[] = [];
    for (let i = 0; i < o.runs && !interrupt.aborted; i++) runs.push(await bench(o, clients, interrupt));
    if (interrupt.aborted) break;
    const row: BenchRow = { ...(medianOf(runs) as BenchResult), memberPids: runs.flatMap((r) => r.memberPids), runs };
    rows.push(row);
    onRow(row);
  }
  return rows;
}

/** Starts a cluster, waits until every client is connected, warms it up, measures, stops it. */
export async function bench(o: BenchOptions, clients: number, interrupt: AbortSignal): Promise<BenchResult> {
  const processes = o.placement === 'processes';
  const cluster = await startCluster({
    mode: o.mode,
    nodes: o.nodes,
    clients,
    storage: o.storage,
    threads: o.placement === 'worker-threads',
    processes,
    ...(processes ? {} : { crashConfig: { batchCommandsMax: o.batch }, byzantineConfig: { batchCommandsMax: o.batch } }),
    clientTimeoutMs: OPERATION_TIMEOUT_MS,
  });
  try {
    const connected = await cluster.waitConnected(CONNECT_MS_MAX);
    const value = 'v'.repeat(o.payloadBytes);
    const puts: Put[] = cluster.clients.map((c) => (key, v, signal) => c.put(key, v, { signal }));
    const capped = (): AbortSignal => AbortSignal.any([interrupt, AbortSignal.timeout(o.maxSeconds * 1000)]);
    await runPhase(puts, o.warmup, value, capped(), 'w');
    const cap = capped();
    const before = await cluster.stats();
    const usageBefore = cluster.usage();
    const cpuBefore = process.cpuUsage();
    const phase = await runPhase(puts, o.ops, value, cap, 'k');
    const cpu = process.cpuUsage(cpuBefore);
    const usageAfter = cluster.usage();
    const after = await cluster.stats();
    const ops = phase.latenciesMs.length;
    const clientCpuMs = (cpu.user + cpu.system) / 1000;
    return {
      mode: o.mode,
      n: o.nodes,
      f: fOf(o.mode, o.nodes),
      ops,
      seconds: round(phase.seconds, 3),
      opsPerSec: round(ops / phase.seconds, 1),
      p50Ms: round(percentile(phase.latenciesMs, 0.5), 2),
      p99Ms: round(percentile(phase.latenciesMs, 0.99), 2),
      maxMs: round(phase.latenciesMs.at(-1) ?? 0, 2),
      errors: phase.errors,
      capped: phase.cut,
      clients,
      warmup: o.warmup,
      payloadBytes: o.payloadBytes,
      batch: o.batch,
      storage: o.storage,
      processes: o.placement,
      connectMs: round(connected.ms, 1),
      connectDialFailures: connected.dialFailures,
      slots: after.decisions - before.decisions,
      viewChanges: after.viewChanges - before.viewChanges,
      perOp: perOp(before, after, ops, clientCpuMs, processes),
      memberPids: cluster.memberPids,
      server: usageBefore === null || usageAfter === null ? null : serverUsage(usageBefore, usageAfter, ops, phase.seconds),
    };
  } finally {
    await cluster.stop();
  }
}

/**
 * LocalCluster.start, tried again (with new ports) when a member's port was taken between being
 * picked and being listened on: the many clients' outbound connections draw from the same range.
 */
async function startCluster(options: LocalClusterOptions): Promise<LocalCluster> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await LocalCluster.start(options);
    } catch (e) {
      if (attempt >= START_ATTEMPTS_MAX || !PORT_TAKEN.test((e as Error).message)) throw e;
    }
  }
}

function perOp(before: LocalClusterStats, after: LocalClusterStats, ops: number, cpuMs: number, processes: boolean): BenchResult['perOp'] {
  const per = (a: number, b: number, digits = 2): number => (ops === 0 ? 0 : round((a - b) / ops, digits));
  const inside = (a: number, b: number, digits = 2): number | null => (processes ? null : per(a, b, digits));
  return {
    signaturesMade: inside(after.signs, before.signs),
    signaturesVerified: inside(after.verifies, before.verifies),
    verifyCacheHits: inside(after.cacheHits, before.cacheHits),
    signMs: inside(after.signMs, before.signMs, 3),
    verifyMs: inside(after.verifyMs, before.verifyMs, 3),
    messages: per(after.messagesOut, before.messagesOut),
    bytes: per(after.bytesOut, before.bytesOut, 0),
    fsyncs: inside(after.storageCommits, before.storageCommits),
    storageMs: inside(after.storageMs, before.storageMs, 3),
    steps: inside(after.steps, before.steps),
    cpuMs: per(cpuMs, 0, 3),
  };
}

/** Server CPU over the window, summed over the member processes; RSS of each at its end. A member gone meanwhile is an error. */
function serverUsage(before: readonly (ProcUsage | null)[], after: readonly (ProcUsage | null)[], ops: number, seconds: number): BenchResult['server'] {
  let cpuMs = 0;
  after.forEach((a, id) => {
    const b = before[id];
    if (a === null || b === null || b === undefined) throw new Error(`member n${id} exited during the run`);
    cpuMs += a.cpuMs - b.cpuMs;
  });
  return {
    cpuMsPerOp: ops === 0 ? 0 : round(cpuMs / ops, 3),
    cores: round(cpuMs / (seconds * 1000), 2),
    rssMb: after.map((a) => round(a!.rssBytes / BYTES_PER_MB, 1)),
  };
}

/** Field by field over same-shaped results: numbers (and number arrays, element-wise) their median, booleans any, the rest the first run's. */
export function medianOf(values: readonly unknown[]): unknown {
  const first = values[0];
  if (typeof first === 'number') return median(values as number[]);
  if (typeof first === 'boolean') return values.some((v) => v === true);
  if (Array.isArray(first)) return first.map((_, i) => medianOf(values.map((v) => (v as unknown[])[i])));
  if (typeof first === 'object' && first !== null) {
    return Object.fromEntries(Object.keys(first).map((key) => [key, medianOf(values.map((v) => (v as Record<string, unknown>)[key]))]));
  }
  return first;
}
