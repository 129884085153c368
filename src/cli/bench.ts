// `byzpaxos bench --nodes N --mode M`: throughput and latency of a local cluster over libp2p.
// The cluster (src/node/local-cluster.ts) runs its members in this process (one event loop), with
// --threads on a worker thread each, or with --processes each as its own `byzpaxos start` process
// (a temporary cluster directory as `init` makes it, SQLite with fsync): how a deployment runs.
// Every member has its own libp2p transport on 127.0.0.1. The clients always run here: C
// closed-loop clients (closed-loop.ts) each put a `payload`-byte value, one at a time; first
// `warmup` puts (not measured), then `ops` measured ones, or until the time cap passes. Each C of
// --clients LIST gets a fresh cluster per run; with --runs R every figure is the median of R runs.
import { performance } from 'node:perf_hooks';
import { KV_VALUE_BYTES_MAX } from '../app/kv.ts';
import { defaultConfig } from '../core/config.ts';
import { BATCH_COMMANDS_MAX } from '../core/limits.ts';
import type { Mode } from '../core/protocol.ts';
import { membersFor, MODES } from '../deploy/cluster-file.ts';
import { fOf, LOCAL_CLIENTS_MAX, LOCAL_NODES_MAX, LocalCluster, type LocalClusterOptions, type LocalClusterStats, type LocalStorageKind } from '../node/local-cluster.ts';
import type { ProcUsage } from '../node/proc-usage.ts';
import { integerOption, oneLine, parseOptions, UsageError } from './args.ts';
import { median, percentile, round, runPhase, type Put } from './closed-loop.ts';

const OPTIONS = {
  nodes: { type: 'string' },
  mode: { type: 'string' },
  clients: { type: 'string' },
  ops: { type: 'string' },
  warmup: { type: 'string' },
  runs: { type: 'string' },
  payload: { type: 'string' },
  batch: { type: 'string' },
  storage: { type: 'string' },
  threads: { type: 'boolean' },
  processes: { type: 'boolean' },
  'max-seconds': { type: 'string' },
  json: { type: 'boolean' },
} as const;

const CLIENTS_DEFAULT = 8;
/** Most entries in --clients LIST. */
const CLIENT_COUNTS_MAX = 16;
/** Small enough that a default byzantine run completes well within a minute (and far within the time cap). */
const OPS_DEFAULT = 1_000;
const OPS_MAX = 10_000_000;
/** Puts before the measured ones: connections warm, leader elected, JIT settled. */
const WARMUP_DEFAULT = 200;
const RUNS_MAX = 25;
const PAYLOAD_BYTES_DEFAULT = 100;
const BATCH_DEFAULT = 64;
/** The warm-up, and then the measured puts, each stop by themselves after this long, whatever `ops` says. */
const MAX_SECONDS_DEFAULT = 120;
const MAX_SECONDS_MAX = 3600;
/** Starts of a run's cluster, when a picked port was taken meanwhile. */
const START_ATTEMPTS_MAX = 3;
const PORT_TAKEN = /EADDRINUSE|address already in use/;
/** Every client must be connected to every member within this long. */
const CONNECT_MS_MAX = 60_000;
/** One put may take this long before it counts as an error (and the client moves on). */
const OPERATION_TIMEOUT_MS = 10_000;
const STORAGES: readonly LocalStorageKind[] = ['sqlite', 'memory'];
const BYTES_PER_MB = 1024 * 1024;
/** Exit status after SIGINT/SIGTERM, as a shell reports a death by SIGINT. */
const INTERRUPTED_EXIT = 130;

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

export async function runBench(argv: readonly string[]): Promise<number> {
  const { json, ...options } = parseBenchArgs(argv);
  if (!json) process.stdout.write(`${header(options)}\n`);
  const interrupt = new AbortController();
  const onSignal = (signal: NodeJS.Signals): void => {
    // A second signal does not wait for the members to stop: the exit hook kills them by PID.
    if (interrupt.signal.aborted) process.exit(INTERRUPTED_EXIT);
    process.stderr.write(`byzpaxos: bench: ${signal}: stopping the cluster\n`);
    interrupt.abort();
  };
  for (const signal of ['SIGINT', 'SIGTERM'] as const) process.on(signal, onSignal);
  try {
    const rows = await benchRows(options, interrupt.signal, (r) => {
      if (!json) process.stdout.write(`${describe(r)}\n`);
    });
    if (interrupt.signal.aborted) return INTERRUPTED_EXIT;
    if (json) process.stdout.write(`${JSON.stringify({ rows })}\n`);
    else if (rows.length > 1 || options.runs > 1) process.stdout.write(`${table(rows)}\n`);
    const empty = rows.find((r) => r.ops === 0);
    if (empty === undefined) return 0;
    process.stderr.write(`byzpaxos: bench: no put completed within ${options.maxSeconds} s with ${empty.clients} clients\n`);
    return 1;
  } catch (e) {
    process.stderr.write(`byzpaxos: bench: ${oneLine((e as Error).message)}\n`);
    return 1;
  } finally {
    for (const signal of ['SIGINT', 'SIGTERM'] as const) process.off(signal, onSignal);
  }
}

export function parseBenchArgs(argv: readonly string[]): BenchOptions & { readonly json: boolean } {
  const { values } = parseOptions('bench', argv, OPTIONS);
  if (values.mode === undefined) throw new UsageError(`bench: missing --mode (one of ${MODES.join(', ')})`);
  const mode = MODES.find((m) => m === values.mode);
  if (mode === undefined) throw new UsageError(`--mode must be one of ${MODES.join(', ')}; got '${values.mode}'`);
  const nodes = integerOption('nodes', values.nodes, membersFor(mode, 1), 1, LOCAL_NODES_MAX);
  try {
    fOf(mode, nodes);
  } catch (e) {
    throw new UsageError(`--nodes: ${(e as Error).message}`);
  }
  const storage = STORAGES.find((s) => s === (values.storage ?? 'sqlite'));
  if (storage === undefined) throw new UsageError(`--storage must be one of ${STORAGES.join(', ')}; got '${values.storage}'`);
  const processes = values.processes === true;
  if (processes) {
    // A member process is configured by its cluster.json alone.
    if (values.threads === true) throw new UsageError('--processes and --threads exclude each other');
    if (storage !== 'sqlite') throw new UsageError('--storage: member processes (--processes) always use sqlite');
    if (values.batch !== undefined) throw new UsageError('--batch: member processes (--processes) use the deployed default batch');
  }
  return {
    mode,
    nodes,
    clientCounts: clientCounts(values.clients),
    ops: integerOption('ops', values.ops, OPS_DEFAULT, 1, OPS_MAX),
    warmup: integerOption('warmup', values.warmup, WARMUP_DEFAULT, 0, OPS_MAX),
    runs: integerOption('runs', values.runs, 1, 1, RUNS_MAX),
    payloadBytes: integerOption('payload', values.payload, PAYLOAD_BYTES_DEFAULT, 0, KV_VALUE_BYTES_MAX),
    batch: processes ? defaultConfig(1).batchCommandsMax : integerOption('batch', values.batch, BATCH_DEFAULT, 1, BATCH_COMMANDS_MAX),
    storage,
    placement: processes ? 'processes' : values.threads === true ? 'worker-threads' : 'in-process',
    maxSeconds: integerOption('max-seconds', values['max-seconds'], MAX_SECONDS_DEFAULT, 1, MAX_SECONDS_MAX),
    json: values.json === true,
  };
}

/** `--clients 1,16,64`: each in 1..LOCAL_CLIENTS_MAX. */
function clientCounts(raw: string | undefined): number[] {
  if (raw === undefined) return [CLIENTS_DEFAULT];
  const parts = raw.split(',');
  if (parts.length > CLIENT_COUNTS_MAX) throw new UsageError(`--clients takes at most ${CLIENT_COUNTS_MAX} counts, got ${parts.length}`);
  return parts.map((part) => {
    const value = /^\d+$/.test(part) ? Number(part) : NaN;
    if (!Number.isSafeInteger(value) || value < 1 || value > LOCAL_CLIENTS_MAX) {
      throw new UsageError(`--clients must be a count or a comma-separated list of counts in 1..${LOCAL_CLIENTS_MAX}, got '${raw}'`);
    }
    return value;
  });
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

const PLACES: Readonly<Record<Placement, (n: number) => string>> = {
  'in-process': (n) => `${n} members in this process (one event loop)`,
  'worker-threads': (n) => `${n} members in this process (one worker thread each)`,
  processes: (n) => `${n} members, each its own \`byzpaxos start\` process`,
};

function header(o: BenchOptions): string {
  const f = fOf(o.mode, o.nodes);
  return [
    `bench: ${o.mode} mode, n=${o.nodes} f=${f}; ${PLACES[o.placement](o.nodes)}, each with its own libp2p transport (TCP, noise, yamux) on 127.0.0.1 and ${o.storage} storage`,
    `workload: ${o.clientCounts.join(', ')} closed-loop clients (a fresh cluster for each count and run), each putting ${o.payloadBytes}-byte values one at a time; batches of at most ${o.batch}; ${o.warmup} warm-up puts, then until ${o.ops} puts complete or ${o.maxSeconds} s pass (the warm-up has as long); ${o.runs === 1 ? 'one run' : `median of ${o.runs} runs`}`,
  ].join('\n');
}

function describe(r: BenchRow): string {
  const p = r.perOp;
  const share = (ms: number | null): string => (p.cpuMs === 0 || ms === null ? '0%' : `${Math.round((100 * ms) / p.cpuMs)}%`);
  const lines = [
    `${r.clients} clients${r.runs.length > 1 ? ` (median of ${r.runs.length} runs)` : ''}: committed ${r.ops} puts in ${r.seconds.toFixed(2)} s: ${r.opsPerSec} ops/s; latency p50 ${r.p50Ms} ms, p99 ${r.p99Ms} ms, max ${r.maxMs} ms`,
    `  connecting every client to every member took ${r.connectMs} ms (${r.connectDialFailures} client dials refused or failed meanwhile)`,
  ];
  if (r.capped) lines.push(`  stopped by the ${r.seconds.toFixed(0)} s time cap before every put completed`);
  if (r.errors > 0) lines.push(`  ${r.errors} put(s) timed out or were cut off`);
  if (r.server !== null) {
    lines.push(
      `  members: CPU ${r.server.cpuMsPerOp} ms per op, ${r.server.cores} cores (summed over the member processes); RSS ${r.server.rssMb.map((mb) => `${mb} MB`).join(', ')}`,
      `  clients: CPU ${p.cpuMs} ms per op (this process); network: ${p.messages} messages, ${p.bytes} bytes sent by members per op`,
    );
  } else {
    lines.push(
      `  per op: CPU ${p.cpuMs} ms (whole process, every thread: all members and clients)`,
      `    signatures: ${p.signaturesMade} made (${p.signMs} ms, ${share(p.signMs)} of CPU), ${p.signaturesVerified} verified (${p.verifyMs} ms, ${share(p.verifyMs)}), ${p.verifyCacheHits} verdict-cache hits`,
      `    network: ${p.messages} messages, ${p.bytes} bytes sent by members`,
      `    storage: ${p.fsyncs} fsync'd transactions (${p.storageMs} ms, synchronous: the member's event loop waits) for ${p.steps} protocol steps (group commit: ${p.fsyncs === 0 || p.fsyncs === null || p.steps === null ? '-' : (p.steps / p.fsyncs).toFixed(1)} steps per fsync)`,
    );
  }
  lines.push(`  consensus: ${r.slots} slots decided (${r.slots === 0 ? 0 : (r.ops / r.slots).toFixed(2)} puts per slot), ${r.viewChanges} view change(s) during the measured window`);
  return lines.join('\n');
}

function table(rows: readonly BenchRow[]): string {
  const lines = ['| clients | ops/s | p50 ms | p99 ms | puts/slot | view changes | connect ms | member CPU ms/op | member cores |', '|---|---|---|---|---|---|---|---|---|'];
  for (const r of rows) {
    const cpu = r.server === null ? `${r.perOp.cpuMs} (whole process)` : `${r.server.cpuMsPerOp}`;
    lines.push(
      `| ${r.clients} | ${r.opsPerSec} | ${r.p50Ms} | ${r.p99Ms} | ${r.slots === 0 ? 0 : (r.ops / r.slots).toFixed(2)} | ${r.viewChanges} | ${r.connectMs} | ${cpu} | ${r.server?.cores ?? '-'} |`,
    );
  }
  return lines.join('\n');
}
