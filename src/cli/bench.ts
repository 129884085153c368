// `byzpaxos bench --nodes N --mode M`: throughput and latency of a local cluster over libp2p: the
// options and the printing; the harness that runs it is src/experiments/bench.ts.
// The cluster (src/node/local-cluster.ts) runs its members in this process (one event loop), with
// --threads on a worker thread each, or with --processes each as its own `byzpaxos start` process
// (a temporary cluster directory as `init` makes it, SQLite with fsync): how a deployment runs.
// Every member has its own libp2p transport on 127.0.0.1. The clients always run here: C
// closed-loop clients (src/experiments/closed-loop.ts) each put a `payload`-byte value, one at a time; first
// `warmup` puts (not measured), then `ops` measured ones, or until the time cap passes. Each C of
// --clients LIST gets a fresh cluster per run; with --runs R every figure is the median of R runs.
import { membersFor, fOf } from '../core/quorum.ts';
import { KV_VALUE_BYTES_MAX } from '../app/kv.ts';
import { defaultConfig } from '../core/config.ts';
import { BATCH_COMMANDS_MAX } from '../base/limits.ts';
import { MODES } from '../base/mode.ts';
import { LOCAL_CLIENTS_MAX, LOCAL_NODES_MAX, type LocalStorageKind } from '../node/local-cluster.ts';
import { integerOption, oneLine, parseOptions, UsageError } from './args.ts';
import { BENCH_DEFAULTS, benchRows, type BenchOptions, type BenchRow, type Placement } from '../experiments/bench.ts';
import { round } from '../experiments/closed-loop.ts';

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
const OPS_MAX = 10_000_000;
const RUNS_MAX = 25;
const MAX_SECONDS_MAX = 3600;
const STORAGES: readonly LocalStorageKind[] = ['sqlite', 'memory'];
/** Exit status after SIGINT/SIGTERM, as a shell reports a death by SIGINT. */
const INTERRUPTED_EXIT = 130;

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
  const storage = STORAGES.find((s) => s === (values.storage ?? BENCH_DEFAULTS.storage));
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
    ops: integerOption('ops', values.ops, BENCH_DEFAULTS.ops, 1, OPS_MAX),
    warmup: integerOption('warmup', values.warmup, BENCH_DEFAULTS.warmup, 0, OPS_MAX),
    runs: integerOption('runs', values.runs, 1, 1, RUNS_MAX),
    payloadBytes: integerOption('payload', values.payload, BENCH_DEFAULTS.payloadBytes, 0, KV_VALUE_BYTES_MAX),
    batch: processes ? defaultConfig(1).batchCommandsMax : integerOption('batch', values.batch, BENCH_DEFAULTS.batch, 1, BATCH_COMMANDS_MAX),
    storage,
    placement: processes ? 'processes' : values.threads === true ? 'worker-threads' : 'in-process',
    maxSeconds: integerOption('max-seconds', values['max-seconds'], BENCH_DEFAULTS.maxSeconds, 1, MAX_SECONDS_MAX),
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
