// byzpaxos next to etcd 3.4 on this machine (issue 11): the same closed-loop client loop
// (src/experiments/closed-loop.ts) drives a 3-member etcd cluster through the `etcd3` npm client and
// byzpaxos clusters whose members are separate `byzpaxos start` processes (`bench --processes`),
// for C = 1, 16, 64 clients. Server CPU is read from /proc for the member processes of either
// system. Writes results.csv, results.json and results.md into --out DIR. See README.md.
//
//   npx node experiments/versus-etcd/versus-etcd.ts [--quick] [--out DIR] [--runs R] [--ops N] [--clients 1,16,64]
import type { Mode } from '../../src/base/mode.ts';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { Etcd3 } from 'etcd3';
import { benchRows, medianOf, type BenchOptions, type BenchRow } from '../../src/experiments/bench.ts';
import { percentile, round, runPhase, type Put } from '../../src/experiments/closed-loop.ts';
import { freeLoopbackPorts } from '../../src/node/local-cluster.ts';
import { procUsage, type ProcUsage } from '../../src/node/proc-usage.ts';

const HERE = fileURLToPath(new URL('.', import.meta.url));
const OUT_DEFAULT = join(HERE, 'results');
const ETCD_MEMBERS = 3;
const ETCD_MAJOR_MINOR = '3.4';
/** Full-size and --quick: puts per run, warm-up puts, runs per point, and the cap on the warm-up and (separately) on the measured puts. */
const SIZES = {
  full: { ops: 5_000, warmup: 200, runs: 3, maxSeconds: 10 },
  quick: { ops: 1_000, warmup: 50, runs: 1, maxSeconds: 5 },
} as const;
const CLIENT_COUNTS_DEFAULT = [1, 16, 64];
const PAYLOAD_BYTES = 100;
/** A put that takes longer counts as an error, as in byzpaxos bench. */
const PUT_TIMEOUT_MS = 10_000;
/** Bound on an etcd cluster's start (every member serving a put), and on its members' stop after SIGTERM. */
const ETCD_START_MS_MAX = 30_000;
const ETCD_STOP_GRACE_MS = 5_000;
const ETCD_HEALTH_POLL_MS = 100;
const ETCD_START_ATTEMPTS_MAX = 3;
/** Lines of a member's stderr kept to explain a failed start. */
const STDERR_LINES_KEPT = 20;
const BYZPAXOS_SYSTEMS: readonly { readonly mode: Mode; readonly nodes: number }[] = [
  { mode: 'crash', nodes: 3 },
  { mode: 'byzantine', nodes: 4 },
  { mode: 'commit-reveal', nodes: 4 },
];

interface Sizes {
  readonly ops: number;
  readonly warmup: number;
  readonly runs: number;
  readonly maxSeconds: number;
}

/** One system at one client count: medians over the runs. */
interface Row {
  readonly system: string;
  readonly n: number;
  readonly clients: number;
  readonly ops: number;
  readonly opsPerSec: number;
  readonly p50Ms: number;
  readonly p99Ms: number;
  /** The slowest completed put of any run (not a median: one slow put is the finding). */
  readonly maxMs: number;
  readonly errors: number;
  readonly capped: boolean;
  readonly serverCpuMsPerOp: number;
  readonly serverCores: number;
  /** Per member, MB, at the end of the measured window. */
  readonly rssMb: readonly number[];
  /** byzpaxos only: puts per decided slot, view changes in the window, time to connect every client. */
  readonly putsPerSlot: number | null;
  readonly viewChanges: number | null;
  readonly connectMs: number | null;
  readonly runs: number;
}

async function main(): Promise<number> {
  const { values } = parseArgs({
    options: {
      quick: { type: 'boolean' },
      out: { type: 'string' },
      runs: { type: 'string' },
      ops: { type: 'string' },
      clients: { type: 'string' },
    },
    strict: true,
  });
  const base = values.quick === true ? SIZES.quick : SIZES.full;
  const sizes: Sizes = {
    ...base,
    runs: positive('runs', values.runs) ?? base.runs,
    ops: positive('ops', values.ops) ?? base.ops,
  };
  const clientCounts = values.clients === undefined ? CLIENT_COUNTS_DEFAULT : values.clients.split(',').map((c) => positive('clients', c)!);
  const out = values.out ?? OUT_DEFAULT;
  const interrupt = new AbortController();
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    process.on(signal, () => {
      if (interrupt.signal.aborted) process.exit(130);
      process.stderr.write(`versus-etcd: ${signal}: stopping\n`);
      interrupt.abort();
    });
  }
  const etcdVersion = ensureEtcd();
  const startedAt = new Date().toISOString();
  const t0 = performance.now();
  // Written after every row, so a run that fails half-way keeps what it measured ("complete": false).
  const meta = () => ({
    startedAt,
    minutes: round((performance.now() - t0) / 60_000, 1),
    complete: false,
    etcdVersion,
    node: process.version,
    loadAverage: loadavg().map((l) => round(l, 2)),
    cpus: cpus().length,
    sizes,
    clientCounts,
    payloadBytes: PAYLOAD_BYTES,
  });
  log(`etcd ${etcdVersion}; ${sizes.runs} run(s) per point, ${sizes.ops} puts after ${sizes.warmup} warm-up, warm-up and measured puts each capped at ${sizes.maxSeconds} s; clients ${clientCounts.join(', ')}`);

  const rows: Row[] = [];
  for (const clients of clientCounts) {
    const runs: EtcdRun[] = [];
    for (let i = 0; i < sizes.runs && !interrupt.signal.aborted; i++) runs.push(await etcdRun(clients, sizes, interrupt.signal));
    if (interrupt.signal.aborted) return 130;
    rows.push(etcdRow(clients, runs));
    log(describeRow(rows.at(-1)!));
    writeResults(out, meta(), rows);
  }
  for (const { mode, nodes } of BYZPAXOS_SYSTEMS) {
    const options: BenchOptions = {
      mode,
      nodes,
      clientCounts,
      ops: sizes.ops,
      warmup: sizes.warmup,
      runs: sizes.runs,
      payloadBytes: PAYLOAD_BYTES,
      batch: 0, // unused: member processes take the deployed default
      storage: 'sqlite',
      placement: 'processes',
      maxSeconds: sizes.maxSeconds,
    };
    await benchRows(options, interrupt.signal, (r) => {
      rows.push(byzpaxosRow(r));
      log(describeRow(rows.at(-1)!));
      writeResults(out, meta(), rows);
    });
    if (interrupt.signal.aborted) return 130;
  }
  const final = { ...meta(), complete: true };
  writeResults(out, final, rows);
  log(`wrote ${join(out, 'results.csv')}, results.json and results.md in ${final.minutes} min`);
  process.stdout.write(`${markdown(final, rows)}\n`);
  return 0;
}

function positive(name: string, raw: string | undefined): number | undefined {
  if (raw === undefined) return undefined;
  const value = /^\d+$/.test(raw) ? Number(raw) : NaN;
  if (!(value >= 1)) throw new Error(`--${name} must be a positive integer, got '${raw}'`);
  return value;
}

function log(line: string): void {
  process.stderr.write(`[versus-etcd] ${line}\n`);
}

// --- etcd ----------------------------------------------------------------------------------------

/** etcd's version; installs Debian's etcd-server and etcd-client first if `etcd` is missing. */
function ensureEtcd(): string {
  const version = (): string | null => {
    const r = spawnSync('etcd', ['--version'], { encoding: 'utf8' });
    return r.status === 0 ? (/etcd Version: (\S+)/.exec(r.stdout)?.[1] ?? null) : null;
  };
  let found = version();
  if (found === null) {
    log('etcd not found: apt-get update && apt-get install -y etcd-server etcd-client');
    for (const args of [['update'], ['install', '-y', 'etcd-server', 'etcd-client']]) {
      const r = spawnSync('apt-get', args, { stdio: 'inherit' });
      if (r.status !== 0) throw new Error(`apt-get ${args.join(' ')} failed (exit ${r.status})`);
    }
    found = version();
  }
  if (found === null) throw new Error('etcd is still not runnable after installing etcd-server');
  if (!found.startsWith(`${ETCD_MAJOR_MINOR}.`)) throw new Error(`etcd ${found} found; this experiment compares against etcd ${ETCD_MAJOR_MINOR}`);
  return found;
}

interface EtcdMember {
  readonly child: ChildProcess;
  readonly exited: Promise<void>;
  readonly stderr: string[];
  done: boolean;
}

/** Every etcd member still running: killed by PID if this process exits first. */
const runningEtcd = new Set<EtcdMember>();
process.on('exit', () => {
  for (const m of runningEtcd) killPid(m.child.pid, 'SIGKILL');
});

/** Three fresh etcd members on loopback (fsync on, as by default), each with its own data directory under `dir`. */
async function startEtcd(dir: string): Promise<{ members: EtcdMember[]; endpoints: string[] }> {
  const ports = await freeLoopbackPorts(2 * ETCD_MEMBERS);
  const peer = (i: number): string => `http://127.0.0.1:${ports[2 * i + 1]}`;
  const endpoints = Array.from({ length: ETCD_MEMBERS }, (_, i) => `http://127.0.0.1:${ports[2 * i]}`);
  const initialCluster = endpoints.map((_, i) => `e${i}=${peer(i)}`).join(',');
  const members = endpoints.map((endpoint, i) => {
    const child = spawn(
      'etcd',
      [
        '--name', `e${i}`,
        '--data-dir', join(dir, `e${i}`),
        '--listen-client-urls', endpoint,
        '--advertise-client-urls', endpoint,
        '--listen-peer-urls', peer(i),
        '--initial-advertise-peer-urls', peer(i),
        '--initial-cluster', initialCluster,
        '--initial-cluster-token', `versus-etcd-${process.pid}-${ports[0]}`,
        '--initial-cluster-state', 'new',
        '--logger', 'zap',
        '--log-level', 'error',
      ],
      { stdio: ['ignore', 'ignore', 'pipe'], detached: true },
    );
    const member: EtcdMember = { child, stderr: [], done: false, exited: new Promise((resolve) => child.on('close', () => resolve())) };
    void member.exited.then(() => {
      member.done = true;
      runningEtcd.delete(member);
    });
    child.stderr!.setEncoding('utf8').on('data', (text: string) => {
      member.stderr.push(...text.split('\n').filter((l) => l !== ''));
      member.stderr.splice(0, Math.max(0, member.stderr.length - STDERR_LINES_KEPT));
    });
    runningEtcd.add(member);
    return member;
  });
  const probe = new Etcd3({ hosts: endpoints, defaultCallOptions: () => ({ deadline: Date.now() + 1_000 }) });
  try {
    const deadline = performance.now() + ETCD_START_MS_MAX;
    for (;;) {
      const dead = members.findIndex((m) => m.done);
      if (dead >= 0) throw new Error(`etcd member e${dead} exited at start: ${members[dead]!.stderr.at(-1) ?? 'no output'}`);
      try {
        await probe.put('versus-etcd/health').value('ok');
        break;
      } catch {
        if (performance.now() > deadline) throw new Error(`etcd did not serve a put within ${ETCD_START_MS_MAX} ms`);
        await new Promise((resolve) => setTimeout(resolve, ETCD_HEALTH_POLL_MS));
      }
    }
  } catch (e) {
    await stopEtcd(members);
    throw e;
  } finally {
    probe.close();
  }
  return { members, endpoints };
}

/** A picked port may be taken before etcd listens on it (clients' outbound connections draw from the same range): try again. */
async function startEtcdRetrying(dir: string): Promise<{ members: EtcdMember[]; endpoints: string[] }> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await startEtcd(join(dir, `attempt-${attempt}`));
    } catch (e) {
      if (attempt >= ETCD_START_ATTEMPTS_MAX) throw e;
      log(`etcd start failed (${(e as Error).message}); trying again`);
    }
  }
}

async function stopEtcd(members: readonly EtcdMember[]): Promise<void> {
  for (const m of members) if (!m.done) killPid(m.child.pid, 'SIGTERM');
  const grace = setTimeout(() => {
    for (const m of members) if (!m.done) killPid(m.child.pid, 'SIGKILL');
  }, ETCD_STOP_GRACE_MS);
  await Promise.all(members.map((m) => m.exited));
  clearTimeout(grace);
}

function killPid(pid: number | undefined, signal: NodeJS.Signals): void {
  if (pid === undefined) return;
  try {
    process.kill(pid, signal);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'ESRCH') throw e;
  }
}

interface EtcdRun {
  readonly ops: number;
  readonly opsPerSec: number;
  readonly p50Ms: number;
  readonly p99Ms: number;
  readonly maxMs: number;
  readonly errors: number;
  readonly capped: boolean;
  readonly serverCpuMsPerOp: number;
  readonly serverCores: number;
  readonly rssMb: readonly number[];
}

/** One run: a fresh etcd cluster, C clients (one etcd3 client, so one gRPC connection, each), warm-up, measured puts. */
async function etcdRun(clients: number, sizes: Sizes, interrupt: AbortSignal): Promise<EtcdRun> {
  const dir = mkdtempSync(join(tmpdir(), 'versus-etcd-'));
  const { members, endpoints } = await startEtcdRetrying(dir);
  const etcds = Array.from({ length: clients }, () => new Etcd3({ hosts: endpoints, defaultCallOptions: () => ({ deadline: Date.now() + PUT_TIMEOUT_MS }) }));
  try {
    const capped = (): AbortSignal => AbortSignal.any([interrupt, AbortSignal.timeout(sizes.maxSeconds * 1000)]);
    const value = 'v'.repeat(PAYLOAD_BYTES);
    const puts: Put[] = etcds.map((etcd) => (key, v, signal) => abortable(etcd.put(key).value(v).exec(), signal));
    await runPhase(puts, sizes.warmup, value, capped(), 'w');
    const cap = capped();
    const pids = members.map((m) => m.child.pid!);
    const before = pids.map(procUsage);
    const phase = await runPhase(puts, sizes.ops, value, cap, 'k');
    const after = pids.map(procUsage);
    const ops = phase.latenciesMs.length;
    const cpuMs = after.reduce((sum, a, i) => sum + used(a, before[i]!, i), 0);
    return {
      ops,
      opsPerSec: round(ops / phase.seconds, 1),
      p50Ms: round(percentile(phase.latenciesMs, 0.5), 2),
      p99Ms: round(percentile(phase.latenciesMs, 0.99), 2),
      maxMs: round(phase.latenciesMs.at(-1) ?? 0, 2),
      errors: phase.errors,
      capped: phase.cut,
      serverCpuMsPerOp: ops === 0 ? 0 : round(cpuMs / ops, 3),
      serverCores: round(cpuMs / (phase.seconds * 1000), 2),
      rssMb: after.map((a) => round(a!.rssBytes / (1024 * 1024), 1)),
    };
  } finally {
    for (const etcd of etcds) etcd.close();
    await stopEtcd(members);
    rmSync(dir, { recursive: true, force: true });
  }
}

function used(after: ProcUsage | null, before: ProcUsage | null, member: number): number {
  if (after === null || before === null) throw new Error(`etcd member e${member} exited during the run`);
  return after.cpuMs - before.cpuMs;
}

/** `promise`, or a rejection once `signal` fires (the put itself may still complete at etcd). */
function abortable<T>(promise: Promise<T>, signal: AbortSignal): Promise<T> {
  if (signal.aborted) return Promise.reject(new Error('aborted'));
  return new Promise<T>((resolve, reject) => {
    const onAbort = (): void => reject(new Error('aborted'));
    signal.addEventListener('abort', onAbort, { once: true });
    promise.then(resolve, reject).finally(() => signal.removeEventListener('abort', onAbort));
  });
}

function etcdRow(clients: number, runs: readonly EtcdRun[]): Row {
  const m = medianOf(runs) as EtcdRun;
  return { system: 'etcd', n: ETCD_MEMBERS, clients, ...m, maxMs: Math.max(...runs.map((r) => r.maxMs)), putsPerSlot: null, viewChanges: null, connectMs: null, runs: runs.length };
}

function byzpaxosRow(r: BenchRow): Row {
  return {
    system: `byzpaxos ${r.mode}`,
    n: r.n,
    clients: r.clients,
    ops: r.ops,
    opsPerSec: r.opsPerSec,
    p50Ms: r.p50Ms,
    p99Ms: r.p99Ms,
    maxMs: Math.max(...r.runs.map((run) => run.maxMs)),
    errors: r.errors,
    capped: r.capped,
    serverCpuMsPerOp: r.server?.cpuMsPerOp ?? 0,
    serverCores: r.server?.cores ?? 0,
    rssMb: r.server?.rssMb ?? [],
    putsPerSlot: r.slots === 0 ? 0 : round(r.ops / r.slots, 2),
    viewChanges: r.viewChanges,
    connectMs: r.connectMs,
    runs: r.runs.length,
  };
}

function describeRow(r: Row): string {
  return `${r.system} n=${r.n} C=${r.clients}: ${r.opsPerSec} ops/s, p50 ${r.p50Ms} ms, p99 ${r.p99Ms} ms, max ${r.maxMs} ms, server ${r.serverCpuMsPerOp} CPU ms/op, ${r.serverCores} cores${r.capped ? ' (capped)' : ''}`;
}

// --- Output --------------------------------------------------------------------------------------

function ratio(r: Row, rows: readonly Row[]): number | null {
  const etcd = rows.find((e) => e.system === 'etcd' && e.clients === r.clients);
  return etcd === undefined || etcd.opsPerSec === 0 ? null : round(r.opsPerSec / etcd.opsPerSec, 3);
}

const mean = (values: readonly number[]): number => (values.length === 0 ? 0 : round(values.reduce((a, b) => a + b, 0) / values.length, 1));

function writeResults(out: string, meta: Record<string, unknown>, rows: readonly Row[]): void {
  mkdirSync(out, { recursive: true });
  const withRatio = rows.map((r) => ({ ...r, ratioToEtcd: ratio(r, rows) }));
  writeFileSync(join(out, 'results.json'), `${JSON.stringify({ ...meta, rows: withRatio }, null, 2)}\n`);
  const header = 'system,n,clients,runs,ops,ops_per_sec,p50_ms,p99_ms,max_ms,errors,capped,server_cpu_ms_per_op,server_cores,rss_mb_mean,puts_per_slot,view_changes,connect_ms,ratio_to_etcd';
  const lines = withRatio.map((r) =>
    [r.system, r.n, r.clients, r.runs, r.ops, r.opsPerSec, r.p50Ms, r.p99Ms, r.maxMs, r.errors, r.capped, r.serverCpuMsPerOp, r.serverCores, mean(r.rssMb), r.putsPerSlot ?? '', r.viewChanges ?? '', r.connectMs ?? '', r.ratioToEtcd ?? ''].join(','),
  );
  writeFileSync(join(out, 'results.csv'), `${[header, ...lines].join('\n')}\n`);
  writeFileSync(join(out, 'results.md'), `${markdown(meta, rows)}\n`);
}

function markdown(meta: Record<string, unknown>, rows: readonly Row[]): string {
  const sizes = meta.sizes as Sizes;
  const lines = [
    `Measured ${meta.startedAt} (${meta.minutes} min${meta.complete === true ? '' : ', incomplete'}), etcd ${meta.etcdVersion}, Node ${meta.node}, ${meta.cpus} CPUs shared with other work (load average ${(meta.loadAverage as number[]).join(', ')} at the end); ${sizes.runs} run(s) per row (median), ${sizes.ops} puts of ${meta.payloadBytes} B after ${sizes.warmup} warm-up; warm-up and measured window each capped at ${sizes.maxSeconds} s (a capped row's ops/s is over its full window).`,
    '',
    '| system | n | C | ops/s | ×etcd | p50 ms | p99 ms | max ms (any run) | server CPU ms/op | server cores | RSS MB/member | puts/slot | view changes | connect ms | errors |',
    '|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|',
  ];
  for (const r of rows) {
    lines.push(
      `| ${r.system} | ${r.n} | ${r.clients} | ${r.opsPerSec}${r.capped ? ' (capped)' : ''} | ${ratio(r, rows) ?? '-'} | ${r.p50Ms} | ${r.p99Ms} | ${r.maxMs} | ${r.serverCpuMsPerOp} | ${r.serverCores} | ${mean(r.rssMb)} | ${r.putsPerSlot ?? '-'} | ${r.viewChanges ?? '-'} | ${r.connectMs ?? '-'} | ${r.errors} |`,
    );
  }
  return lines.join('\n');
}

main().then(
  (code) => process.exit(code),
  (e: unknown) => {
    process.stderr.write(`versus-etcd: ${e instanceof Error ? e.message : String(e)}\n`);
    process.exit(1);
  },
);
