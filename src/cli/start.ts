// `byzpaxos start --config DIR/cluster.json --id I`: runs member I until SIGINT/SIGTERM. Loads and
// checks the config and the member key, opens the SQLite store DATA/node-I.db (DATA default
// DIR/data, created 0700), starts the runtime on the libp2p transport listening on the member's
// multiaddrs, and logs JSON lines to stderr. Proofs of misbehaviour this member gathers are written
// to DATA/evidence/ID.json, each checkable by anyone with `byzpaxos evidence verify FILE`. With
// --trace-json FILE it records its message flow (src/trace/member-trace.ts) and writes FILE every
// TRACE_WRITE_MS and when it stops, for `byzpaxos flow`. A signal stops it gracefully (exit 0). Anything that
// keeps it from starting (bad config or key, a corrupt or foreign store, a port in use) is one
// line on stderr and exit 1; the log lines of a start that failed are not printed.
import { createNodeMetrics } from '../node/node-metrics.ts';
import { existsSync, readdirSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { NODE_ID_MAX } from '../base/limits.ts';
import { createLogger, LOG_FORMATS, LOG_LEVELS, parseLogLevel, type LogFormat, type LogLevel } from '../node/log.ts';
import { METRICS_HOST } from '../node/metrics.ts';
import { NodeRuntime, stopOnSignals, traceClockMs } from '../node/runtime.ts';
import { encodeEvidenceFile, evidenceId } from '../evidence/file.ts';
import { DATA_DIR_NAME, toClusterConfig } from '../deploy/cluster-file.ts';
import type { Logger } from '../node/log.ts';
import type { ClusterConfig } from '../modes/byzantine/cluster.ts';
import { SqliteStorage } from '../storage/sqlite.ts';
import type { Adversary } from '../adversary/adversary.ts';
import { builtIn } from './adversaries.ts';
import { integerOption, parseOptions, UsageError, withEnvDefaults } from './args.ts';
import { writableDirProblem } from './dirs.ts';
import { readMemberFile } from './member-file.ts';
import { writeOutput } from './flow.ts';
import { formatKvOp } from '../app/kv.ts';
import { MemberTraceRecorder } from '../trace/member-trace.ts';
import { toHex } from '../../crypto/digest.ts';
import { libp2pTransport, loadDeployment, RefusalError, refusing, reportRefusals, type LoadedDeployment } from './deployment.ts';

const OPTIONS = {
  config: { type: 'string' },
  id: { type: 'string' },
  data: { type: 'string' },
  key: { type: 'string' },
  'log-level': { type: 'string' },
  'log-format': { type: 'string' },
  'metrics-port': { type: 'string' },
  'metrics-host': { type: 'string' },
  adversary: { type: 'string' },
  'trace-json': { type: 'string' },
} as const;

/** Evidence files kept in DATA/evidence; a Byzantine peer must not be able to fill the disk. */
export const EVIDENCE_FILES_MAX = 10_000;
const PORT_MAX = 65535;
/** Options an environment variable may give (BYZPAXOS_CONFIG, BYZPAXOS_ID, …), so a unit file or container sets them once. */
const ENV_OPTIONS = ['config', 'id', 'data', 'key', 'log-level', 'log-format', 'metrics-port', 'metrics-host'] as const;
/** Options a member file (member-file.ts) may give. */
const FILE_OPTIONS: readonly string[] = [...ENV_OPTIONS, 'adversary', 'trace-json'];
/**
 * How often a tracing member rewrites its trace file (if anything happened since): a member
 * killed with -9 loses at most this much of its trace, or of a large one a little more (below).
 */
export const TRACE_WRITE_MS = 5_000;
/**
 * A rewrite blocks the member's loop while it encodes and writes the whole file (a full trace,
 * TRACE_RECORDS_MAX records, is ~40 MB: a few hundred ms on a slow machine), so the next waits
 * at least this many times as long as the last took: rewriting takes at most 2% of its time.
 */
const TRACE_WRITE_SPACING = 50;

export interface StartOptions {
  readonly configPath: string;
  readonly id: number;
  readonly dataDir: string | null;
  readonly keyPath: string | null;
  readonly logLevel: LogLevel;
  readonly logFormat: LogFormat;
  readonly metricsPort: number | null;
  readonly metricsHost: string;
  /** A built-in strategy this member runs instead of the protocol (experiments on a real mesh). */
  readonly adversary: Adversary | null;
  /** Where it writes its message-flow trace; null: it records none. */
  readonly tracePath: string | null;
}

/** The store file of member `id` in `dataDir`. */
export function storePath(dataDir: string, id: number): string {
  return join(dataDir, `node-${id}.db`);
}

export function parseStartArgs(argv: readonly string[]): StartOptions {
  const parsed = parseOptions('start', argv, OPTIONS, 1);
  const file = parsed.positionals[0] === undefined ? {} : readMemberFile(parsed.positionals[0], FILE_OPTIONS);
  const values = { ...file, ...withEnvDefaults(parsed.values, ENV_OPTIONS) };
  if (values.config === undefined) throw new UsageError('start: missing --config DIR/cluster.json (or BYZPAXOS_CONFIG)');
  if (values.id === undefined) throw new UsageError('start: missing --id I (or BYZPAXOS_ID)');
  let logLevel: LogLevel = 'info';
  if (values['log-level'] !== undefined) {
    try {
      logLevel = parseLogLevel(values['log-level']);
    } catch {
      throw new UsageError(`--log-level must be one of ${LOG_LEVELS.join(', ')}; got '${values['log-level']}'`);
    }
  }
  const format = values['log-format'];
  if (format !== undefined && !LOG_FORMATS.includes(format as LogFormat)) throw new UsageError(`--log-format must be one of ${LOG_FORMATS.join(', ')}; got '${format}'`);
  const port = values['metrics-port'];
  return {
    configPath: values.config,
    id: integerOption('id', values.id, 0, 0, NODE_ID_MAX),
    dataDir: values.data ?? null,
    keyPath: values.key ?? null,
    logLevel,
    // A terminal reads text; a pipe (up, bench, systemd's journal, a container's log) gets JSON lines.
    logFormat: (format as LogFormat | undefined) ?? (process.stderr.isTTY ? 'text' : 'json'),
    metricsPort: port === undefined ? null : integerOption('metrics-port', port, 0, 0, PORT_MAX),
    metricsHost: values['metrics-host'] ?? METRICS_HOST,
    adversary: values.adversary === undefined ? null : builtIn(values.adversary),
    tracePath: traceOption(values['trace-json']),
  };
}

function traceOption(path: string | undefined): string | null {
  if (path === undefined) return null;
  if (path === '') throw new UsageError('--trace-json needs a file name');
  return path;
}

export function runStart(argv: readonly string[]): Promise<number> {
  const options = parseStartArgs(argv);
  return reportRefusals(() => startNode(options));
}

async function startNode(o: StartOptions): Promise<number> {
  const loaded = loadDeployment(o.configPath, 'member', o.id, o.keyPath ?? undefined);
  if (o.adversary !== null && loaded.config.mode === 'crash') throw new UsageError('--adversary: crash mode has no Byzantine members');
  const trace = o.tracePath === null ? null : openTrace(o.tracePath, o, loaded);
  const dataDir = o.dataDir ?? join(loaded.dir, DATA_DIR_NAME);
  makeDataDir(dataDir);
  const storage = refusing(() =>
    SqliteStorage.open({ path: storePath(dataDir, o.id), clusterId: loaded.clusterId, nodeId: o.id, mode: loaded.config.mode }),
  );
  // Held back until the node runs: a refused start prints its one line and nothing else.
  const held: string[] = [];
  let holding = true;
  const logger = createLogger({
    level: o.logLevel,
    format: o.logFormat,
    sink: (line) => (holding ? held.push(line) : process.stderr.write(`${line}\n`)),
  });
  const metrics = createNodeMetrics();
  metrics.registry.collectProcessMetrics();
  const runtime = new NodeRuntime({
    deployment: loaded.config,
    id: o.id,
    secretKey: loaded.key.secretKey,
    storage,
    // libp2p's metrics too when there is an endpoint to serve them: `start` runs one member per process.
    transport: libp2pTransport(loaded, logger, o.metricsPort === null ? undefined : metrics.registry.prom),
    logger,
    metrics,
    ...(o.metricsPort === null ? {} : { metricsPort: o.metricsPort, metricsHost: o.metricsHost }),
    ...(o.adversary === null ? {} : { adversary: o.adversary }),
    ...(trace === null ? {} : { trace }),
  });
  if (trace !== null) writeTrace(runtime, trace, o.tracePath!, logger);
  if (loaded.config.mode !== 'crash') writeEvidence(runtime, join(dataDir, 'evidence'), toClusterConfig(loaded.config, o.configPath), logger);
  const removeHandlers = stopOnSignals(runtime, { logger });
  try {
    await runtime.start();
  } catch (e) {
    removeHandlers();
    await runtime.stop();
    const refusal = asRefusal(e, o);
    if (refusal !== null) throw refusal;
    flush(held);
    throw e;
  } finally {
    holding = false;
  }
  flush(held);
  await runtime.stopped;
  removeHandlers();
  return runtime.failure === null ? 0 : 1;
}

/** One file per distinct proof, named by its id, so a repeat overwrites nothing new. */
function writeEvidence(runtime: NodeRuntime, dir: string, cluster: ClusterConfig, logger: Logger): void {
  makeDataDir(dir);
  let count = readdirSync(dir).length;
  runtime.onEvent((event) => {
    if (event.type !== 'evidence') return;
    const path = join(dir, `${evidenceId(event.evidence)}.json`);
    if (existsSync(path)) return;
    if (count >= EVIDENCE_FILES_MAX) return logger.warn('evidence not written: directory full', { dir, max: EVIDENCE_FILES_MAX });
    try {
      writeFileSync(path, encodeEvidenceFile(cluster, event.evidence), { mode: 0o644 });
      count++;
      logger.info('evidence written', { path, kind: event.evidence.kind });
    } catch (e) {
      logger.warn('evidence not written', { path, error: (e as Error).message });
    }
  });
}

/** The member's trace recorder, its file written at once (empty): a path it cannot write is refused now, not when it stops. */
function openTrace(path: string, o: StartOptions, loaded: LoadedDeployment): MemberTraceRecorder {
  const { config } = loaded;
  const run = { mode: config.mode, n: config.n, f: config.f, cluster: toHex(loaded.clusterId), member: o.id, adversary: o.adversary?.name ?? null, startedMs: traceClockMs() };
  const trace = new MemberTraceRecorder(run, formatKvOp);
  writeOutput('trace-json', path, trace.encode(traceClockMs(), false));
  return trace;
}

/**
 * Rewrites the trace file every TRACE_WRITE_MS (spaced out for a large one) while anything was
 * recorded, and once more when the node stops (marked stopped). Each write replaces the file
 * whole (a temporary file renamed over it), so a member killed mid-write leaves the previous one.
 */
function writeTrace(runtime: NodeRuntime, trace: MemberTraceRecorder, path: string, logger: Logger): void {
  /** Writes the file; returns how long that took, in ms. */
  const write = (stopped: boolean): number => {
    const startMs = performance.now();
    const temporary = `${path}.tmp`;
    try {
      writeFileSync(temporary, trace.encode(traceClockMs(), stopped));
      renameSync(temporary, path);
    } catch (e) {
      logger.warn('trace not written', { path, error: (e as Error).message });
    }
    return performance.now() - startMs;
  };
  let timer: ReturnType<typeof setTimeout>;
  const schedule = (lastWriteMs: number): void => {
    timer = setTimeout(() => schedule(trace.dirty ? write(false) : 0), Math.max(TRACE_WRITE_MS, TRACE_WRITE_SPACING * lastWriteMs));
    timer.unref();
  };
  schedule(0);
  runtime.onEvent((event) => {
    if (event.type !== 'stopped') return;
    clearTimeout(timer);
    write(true);
    logger.info('trace written', { path, records: trace.records, truncated: trace.truncated });
  });
}

function flush(lines: string[]): void {
  for (const line of lines.splice(0)) process.stderr.write(`${line}\n`);
}

function makeDataDir(dir: string): void {
  const problem = writableDirProblem(dir, 0o700);
  if (problem !== null) throw new RefusalError(`the data directory ${dir} ${problem}`);
}

/** A start failure that is the operator's to fix, as one line; null for anything else (a bug). */
function asRefusal(e: unknown, o: StartOptions): RefusalError | null {
  if (e instanceof RefusalError) return e;
  const code = (e as NodeJS.ErrnoException).code;
  if (o.metricsPort !== null && (code === 'EADDRINUSE' || code === 'EACCES' || code === 'EADDRNOTAVAIL' || code === 'ENOTFOUND')) {
    return new RefusalError(`--metrics-port ${o.metricsPort}: cannot listen on ${o.metricsHost} (${code})`);
  }
  return null;
}
