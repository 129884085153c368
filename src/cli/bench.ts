// `byzpaxos bench --nodes N --mode M`: throughput and latency of a local cluster over libp2p.
// The cluster (src/node/local-cluster.ts) runs in this process: N NodeRuntimes and C
// ClusterClients, each with its own libp2p transport on 127.0.0.1 and its own SQLite store; the
// members share this thread's event loop, or with --threads each has a worker thread of its own. C closed-loop clients each put a `payload`-byte value, one at a time, until
// `ops` puts have completed or the time cap passes; then the cluster stops and the figures print.
import { performance } from 'node:perf_hooks';
import { KV_VALUE_BYTES_MAX } from '../app/kv.ts';
import { BATCH_COMMANDS_MAX } from '../core/limits.ts';
import type { Mode } from '../core/protocol.ts';
import { membersFor, MODES } from '../deploy/cluster-file.ts';
import { fOf, LOCAL_CLIENTS_MAX, LOCAL_NODES_MAX, LocalCluster, type LocalClusterStats, type LocalStorageKind } from '../node/local-cluster.ts';
import type { ClusterClient } from '../node/cluster-client.ts';
import { integerOption, parseOptions, UsageError } from './args.ts';

const OPTIONS = {
  nodes: { type: 'string' },
  mode: { type: 'string' },
  clients: { type: 'string' },
  ops: { type: 'string' },
  payload: { type: 'string' },
  batch: { type: 'string' },
  storage: { type: 'string' },
  threads: { type: 'boolean' },
  'max-seconds': { type: 'string' },
  json: { type: 'boolean' },
} as const;

const CLIENTS_DEFAULT = 8;
/** Small enough that a default byzantine run completes well within a minute (and far within the time cap). */
const OPS_DEFAULT = 1_000;
const OPS_MAX = 10_000_000;
const PAYLOAD_BYTES_DEFAULT = 100;
const BATCH_DEFAULT = 64;
/** The run stops by itself after this long, whatever `ops` says. */
const MAX_SECONDS_DEFAULT = 120;
const MAX_SECONDS_MAX = 3600;
/** Distinct keys each client cycles through: the store stays small however long the run. */
const KEYS_PER_CLIENT = 64;
/** One put may take this long before it counts as an error (and the client moves on). */
const OPERATION_TIMEOUT_MS = 10_000;
const STORAGES: readonly LocalStorageKind[] = ['sqlite', 'memory'];

export interface BenchOptions {
  readonly mode: Mode;
  readonly nodes: number;
  readonly clients: number;
  readonly ops: number;
  readonly payloadBytes: number;
  readonly batch: number;
  readonly storage: LocalStorageKind;
  /** Each member on its own worker thread (own event loop) instead of all on this one. */
  readonly threads: boolean;
  readonly maxSeconds: number;
}

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
  /** Puts that timed out (or were cut off by the time cap). */
  readonly errors: number;
  /** The time cap ended the run before `ops` puts completed. */
  readonly capped: boolean;
  readonly clients: number;
  readonly payloadBytes: number;
  readonly batch: number;
  readonly storage: LocalStorageKind;
  /** Where the members run: 'in-process' (this thread's event loop) or 'worker-threads' (one each); always real libp2p over loopback. */
  readonly processes: 'in-process' | 'worker-threads';
  /** Slots decided in the measured window (commands per slot = ops / slots), and ballot changes. */
  readonly slots: number;
  readonly viewChanges: number;
  /** Per completed op, over the measured window, all members and clients together. */
  readonly perOp: {
    readonly signaturesMade: number;
    readonly signaturesVerified: number;
    readonly verifyCacheHits: number;
    readonly signMs: number;
    readonly verifyMs: number;
    readonly messages: number;
    readonly bytes: number;
    readonly fsyncs: number;
    readonly storageMs: number;
    /** Protocol steps (inputs through a member's core); steps / fsyncs is how many steps one group commit covers. */
    readonly steps: number;
    /** Process CPU time (user + system). */
    readonly cpuMs: number;
  };
}

export async function runBench(argv: readonly string[]): Promise<number> {
  const { json, ...options } = parseBenchArgs(argv);
  if (!json) process.stdout.write(`${header(options)}\n`);
  const result = await bench(options);
  process.stdout.write(json ? `${JSON.stringify(result)}\n` : `${describe(result)}\n`);
  if (result.ops > 0) return 0;
  process.stderr.write(`byzpaxos: bench: no put completed within ${options.maxSeconds} s\n`);
  return 1;
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
  return {
    mode,
    nodes,
    clients: integerOption('clients', values.clients, CLIENTS_DEFAULT, 1, LOCAL_CLIENTS_MAX),
    ops: integerOption('ops', values.ops, OPS_DEFAULT, 1, OPS_MAX),
    payloadBytes: integerOption('payload', values.payload, PAYLOAD_BYTES_DEFAULT, 0, KV_VALUE_BYTES_MAX),
    batch: integerOption('batch', values.batch, BATCH_DEFAULT, 1, BATCH_COMMANDS_MAX),
    storage,
    threads: values.threads === true,
    maxSeconds: integerOption('max-seconds', values['max-seconds'], MAX_SECONDS_DEFAULT, 1, MAX_SECONDS_MAX),
    json: values.json === true,
  };
}

/** Starts the cluster, warms it up (one put per client, not measured), measures, stops it. */
export async function bench(o: BenchOptions): Promise<BenchResult> {
  const deadlineMs = performance.now() + o.maxSeconds * 1000;
  const cluster = await LocalCluster.start({
    mode: o.mode,
    nodes: o.nodes,
    clients: o.clients,
    storage: o.storage,
    threads: o.threads,
    crashConfig: { batchCommandsMax: o.batch },
    byzantineConfig: { batchCommandsMax: o.batch },
    clientTimeoutMs: OPERATION_TIMEOUT_MS,
  });
  try {
    const value = 'v'.repeat(o.payloadBytes);
    await Promise.all(cluster.clients.map((c) => c.put(`warmup-${c.id}`, value).catch(() => undefined)));
    return await measure(o, cluster, value, deadlineMs);
  } finally {
    await cluster.stop();
  }
}

async function measure(o: BenchOptions, cluster: LocalCluster, value: string, deadlineMs: number): Promise<BenchResult> {
  const latenciesMs: number[] = [];
  let issued = 0;
  let errors = 0;
  const cap = new AbortController();
  const capTimer = setTimeout(() => cap.abort(), Math.max(0, deadlineMs - performance.now()));
  const before = await cluster.stats();
  const cpuBefore = process.cpuUsage();
  const startMs = performance.now();
  const loop = async (client: ClusterClient): Promise<void> => {
    for (let i = 0; issued < o.ops && !cap.signal.aborted; i++) {
      issued++;
      const t0 = performance.now();
      try {
        await client.put(`k${client.id}-${i % KEYS_PER_CLIENT}`, value, { signal: cap.signal });
        latenciesMs.push(performance.now() - t0);
      } catch {
        errors++;
      }
    }
  };
  try {
    await Promise.all(cluster.clients.map(loop));
  } finally {
    clearTimeout(capTimer);
  }
  const seconds = (performance.now() - startMs) / 1000;
  const cpu = process.cpuUsage(cpuBefore);
  const after = await cluster.stats();
  const ops = latenciesMs.length;
  latenciesMs.sort((a, b) => a - b);
  return {
    mode: o.mode,
    n: o.nodes,
    f: fOf(o.mode, o.nodes),
    ops,
    seconds: round(seconds, 3),
    opsPerSec: round(ops / seconds, 1),
    p50Ms: round(percentile(latenciesMs, 0.5), 2),
    p99Ms: round(percentile(latenciesMs, 0.99), 2),
    maxMs: round(latenciesMs.at(-1) ?? 0, 2),
    errors,
    capped: cap.signal.aborted && ops < o.ops,
    clients: o.clients,
    payloadBytes: o.payloadBytes,
    batch: o.batch,
    storage: o.storage,
    processes: o.threads ? 'worker-threads' : 'in-process',
    slots: after.decisions - before.decisions,
    viewChanges: after.viewChanges - before.viewChanges,
    perOp: perOp(before, after, ops, (cpu.user + cpu.system) / 1000),
  };
}

function perOp(before: LocalClusterStats, after: LocalClusterStats, ops: number, cpuMs: number): BenchResult['perOp'] {
  const per = (a: number, b: number, digits = 2): number => (ops === 0 ? 0 : round((a - b) / ops, digits));
  return {
    signaturesMade: per(after.signs, before.signs),
    signaturesVerified: per(after.verifies, before.verifies),
    verifyCacheHits: per(after.cacheHits, before.cacheHits),
    signMs: per(after.signMs, before.signMs, 3),
    verifyMs: per(after.verifyMs, before.verifyMs, 3),
    messages: per(after.messagesOut, before.messagesOut),
    bytes: per(after.bytesOut, before.bytesOut, 0),
    fsyncs: per(after.storageCommits, before.storageCommits),
    storageMs: per(after.storageMs, before.storageMs, 3),
    steps: per(after.steps, before.steps),
    cpuMs: per(cpuMs, 0, 3),
  };
}

/** Nearest-rank percentile of sorted values; 0 for none. */
export function percentile(sorted: readonly number[], q: number): number {
  if (sorted.length === 0) return 0;
  const rank = Math.ceil(q * sorted.length);
  return sorted[Math.min(sorted.length, Math.max(1, rank)) - 1]!;
}

function round(value: number, digits: number): number {
  const scale = 10 ** digits;
  return Math.round(value * scale) / scale;
}

function header(o: BenchOptions): string {
  const f = fOf(o.mode, o.nodes);
  return [
    `bench: ${o.mode} mode, n=${o.nodes} f=${f}; ${o.nodes} members in this process (${o.threads ? 'one worker thread each' : 'one event loop'}), each with its own libp2p transport (TCP, noise, yamux) on 127.0.0.1 and ${o.storage} storage`,
    `workload: ${o.clients} closed-loop clients, each putting ${o.payloadBytes}-byte values one at a time; batches of at most ${o.batch}; until ${o.ops} puts complete or ${o.maxSeconds} s pass`,
  ].join('\n');
}

function describe(r: BenchResult): string {
  const p = r.perOp;
  const share = (ms: number): string => (p.cpuMs === 0 ? '0%' : `${Math.round((100 * ms) / p.cpuMs)}%`);
  const lines = [
    `committed ${r.ops} puts in ${r.seconds.toFixed(2)} s: ${r.opsPerSec} ops/s; latency p50 ${r.p50Ms} ms, p99 ${r.p99Ms} ms, max ${r.maxMs} ms`,
  ];
  if (r.capped) lines.push(`stopped by the ${r.seconds.toFixed(0)} s time cap before every put completed`);
  if (r.errors > 0) lines.push(`${r.errors} put(s) timed out or were cut off`);
  lines.push(
    `per op: CPU ${p.cpuMs} ms (whole process, every thread: all members and clients)`,
    `  signatures: ${p.signaturesMade} made (${p.signMs} ms, ${share(p.signMs)} of CPU), ${p.signaturesVerified} verified (${p.verifyMs} ms, ${share(p.verifyMs)}), ${p.verifyCacheHits} verdict-cache hits`,
    `  network: ${p.messages} messages, ${p.bytes} bytes sent by members`,
    `  storage: ${p.fsyncs} fsync'd transactions (${p.storageMs} ms, synchronous: the member's event loop waits) for ${p.steps} protocol steps (group commit: ${p.fsyncs === 0 ? '-' : (p.steps / p.fsyncs).toFixed(1)} steps per fsync)`,
    `consensus: ${r.slots} slots decided (${r.slots === 0 ? 0 : (r.ops / r.slots).toFixed(2)} puts per slot), ${r.viewChanges} view change(s) during the run`,
  );
  return lines.join('\n');
}
