// Helpers of the multi-process deployment tests (deploy.test.ts): the byzpaxos command as a child
// process, free loopback ports, member processes that can be killed (-9) and restarted from their
// stores, and a concurrent client workload in the test process that records a history for the
// linearizability checker. Every child is tracked so the test can kill it by PID whatever happens.
import { spawn, type ChildProcess } from 'node:child_process';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { KvOp } from '../../src/app/kv.ts';
import { libp2pTransport, loadDeployment } from '../../src/cli/deployment.ts';
import { ClusterClient, ClusterTimeoutError, type StatusRow } from '../../src/node/cluster-client.ts';
import { silentLogger } from '../../src/node/log.ts';
import type { HistoryOp } from '../../src/sim/linearizability.ts';

export const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const MAIN = join(ROOT, 'src/cli/main.ts');
/** Lines of a member's stderr kept for a failure message. */
const LOG_LINES_KEPT = 200;

/** Every child process spawned, by PID, until it exits: afterAll kills what is left. */
export const live = new Map<number, ChildProcess>();
/** PIDs not our children (members spawned by `up`), killed in afterAll too. */
export const foreignPids = new Set<number>();

export function killEverything(): void {
  for (const pid of [...live.keys(), ...foreignPids]) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // already gone
    }
  }
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

export function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code !== 'ESRCH';
  }
}

/** Polls `condition` until it holds; throws naming `what` (and `detail()`) after `timeoutMs`. */
export async function waitFor(what: string, condition: () => boolean | Promise<boolean>, timeoutMs: number, detail = () => ''): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what} ${detail()}`);
    await sleep(50);
  }
}

export function spawnByzpaxos(args: readonly string[], extraEnv: Readonly<Record<string, string>> = {}): ChildProcess {
  const env = { ...process.env, ...extraEnv };
  delete env.BYZPAXOS_DEBUG;
  const child = spawn(process.execPath, [MAIN, ...args], { cwd: ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] });
  const pid = child.pid!;
  live.set(pid, child);
  child.on('exit', () => live.delete(pid));
  return child;
}

export interface Run {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
  readonly stdout: string;
  readonly stderr: string;
  readonly ms: number;
}

/** Runs `byzpaxos ARGS` to completion (killed after `timeoutMs`), without blocking the event loop. */
export function byzpaxos(args: readonly string[], timeoutMs = 30_000, extraEnv: Readonly<Record<string, string>> = {}): Promise<Run> {
  const started = performance.now();
  const child = spawnByzpaxos(args, extraEnv);
  let stdout = '';
  let stderr = '';
  child.stdout!.setEncoding('utf8').on('data', (s: string) => (stdout += s));
  child.stderr!.setEncoding('utf8').on('data', (s: string) => (stderr += s));
  const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
  return new Promise((resolve) => {
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, stdout, stderr, ms: performance.now() - started });
    });
  });
}

async function portFree(port: number): Promise<boolean> {
  const server = createServer();
  const ok = await new Promise<boolean>((resolve) => {
    server.once('error', () => resolve(false));
    server.listen({ port, host: '127.0.0.1', exclusive: true }, () => resolve(true));
  });
  if (ok) await new Promise((resolve) => server.close(resolve));
  return ok;
}

/** A base port P in 20000..60000 with P..P+count-1 free on loopback right now. */
export async function freeBasePort(count: number): Promise<number> {
  for (let attempt = 0; attempt < 50; attempt++) {
    const base = 20_000 + Math.floor(Math.random() * 40_000);
    let free = true;
    for (let i = 0; i < count && free; i++) free = await portFree(base + i);
    if (free) return base;
  }
  throw new Error(`no ${count} consecutive free ports found`);
}

/** `byzpaxos init` of `nodes` members and `clients` clients on free loopback ports in `dir`; the cluster.json path. */
export async function initDeployment(dir: string, mode: string, nodes: number, clients: number): Promise<string> {
  const base = await freeBasePort(nodes);
  const r = await byzpaxos(['init', '--nodes', String(nodes), '--mode', mode, '--dir', dir, '--base-port', String(base), '--clients', String(clients)]);
  if (r.code !== 0) throw new Error(`byzpaxos init failed (${r.code}): ${r.stderr}`);
  return join(dir, 'cluster.json');
}

/** The member processes of one deployment, each `byzpaxos start`, killable and restartable. */
export class Members {
  readonly configPath: string;
  readonly procs: (ChildProcess | null)[];
  readonly logs: string[][];

  constructor(configPath: string, n: number) {
    this.configPath = configPath;
    this.procs = Array.from({ length: n }, () => null);
    this.logs = Array.from({ length: n }, () => []);
  }

  start(id: number, extra: readonly string[] = []): ChildProcess {
    if (this.procs[id] !== null) throw new Error(`n${id} is already running`);
    const child = spawnByzpaxos(['start', '--config', this.configPath, '--id', String(id), ...extra]);
    const log = this.logs[id]!;
    let partial = '';
    child.stderr!.setEncoding('utf8').on('data', (s: string) => {
      const lines = (partial + s).split('\n');
      partial = lines.pop()!;
      log.push(...lines);
      if (log.length > LOG_LINES_KEPT) log.splice(0, log.length - LOG_LINES_KEPT);
    });
    child.stdout!.resume();
    child.on('exit', () => {
      if (this.procs[id] === child) this.procs[id] = null;
    });
    this.procs[id] = child;
    return child;
  }

  startAll(): void {
    for (let id = 0; id < this.procs.length; id++) this.start(id);
  }

  /** kill -9, and waits until the process is gone. */
  async kill9(id: number): Promise<void> {
    const child = this.procs[id];
    if (child === null || child === undefined) throw new Error(`n${id} is not running`);
    const exited = new Promise((resolve) => child.once('exit', resolve));
    process.kill(child.pid!, 'SIGKILL');
    await exited;
  }

  /** SIGTERM to every running member; resolves with their exit codes (null: killed by a signal). */
  async stopAll(): Promise<(number | null)[]> {
    const running = this.procs.filter((c): c is ChildProcess => c !== null);
    const codes = running.map((child) => new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code))));
    for (const child of running) process.kill(child.pid!, 'SIGTERM');
    return Promise.all(codes);
  }

  tail(id: number, lines = 5): string {
    return this.logs[id]!.slice(-lines).join('\n');
  }
}

/** A client of the deployment in this process, over libp2p, with the key init wrote for it. */
export async function connectClient(configPath: string, clientId: number, timeoutMs = 8_000): Promise<ClusterClient> {
  const loaded = loadDeployment(configPath, 'client', clientId);
  return ClusterClient.connect({
    deployment: loaded.config,
    clientId,
    secretKey: loaded.key.secretKey,
    transport: libp2pTransport(loaded, silentLogger),
    timeoutMs,
  });
}

/**
 * Every member's status through a client connected for this query only: a long-lived client
 * would redial a restarted member only after its reconnect backoff, and report it late.
 */
export async function statusRows(configPath: string, clientId: number): Promise<StatusRow[]> {
  const client = await connectClient(configPath, clientId);
  try {
    return await client.status({ timeoutMs: 1_000 });
  } finally {
    await client.close();
  }
}

/** Every member reachable, in one ballot, and none outside the ballot decisions come from. */
export function oneBallot(rows: readonly StatusRow[]): boolean {
  const rounds = new Set<number>();
  for (const r of rows) {
    if (!r.reachable || r.outsideWorkingBallot) return false;
    rounds.add(r.ballot.round);
  }
  return rounds.size === 1;
}

/** Per member, `n3 r7/l2*` (round, leader, * if it leads) or `n3 outside r7` or `n3 -`: for messages. */
export function describeBallots(rows: readonly StatusRow[]): string {
  return rows
    .map((r) => (r.reachable ? `${r.name} ${r.outsideWorkingBallot ? 'outside ' : ''}r${r.ballot.round}/l${r.ballot.leader}${r.isLeader ? '*' : ''}` : `${r.name} -`))
    .join(', ');
}

/**
 * The leader a quorum follows: the member named by the ballot that at least `quorum` reachable
 * members report, provided it claims to lead; else null. (A member that restarted may sit alone
 * in a higher ballot: it does not count against the quorum's leader.)
 */
export function quorumLeader(rows: readonly StatusRow[], quorum: number): number | null {
  const counts = new Map<string, number>();
  for (const r of rows) {
    if (!r.reachable) continue;
    const key = `${r.ballot.round}/${r.ballot.leader}`;
    counts.set(key, (counts.get(key) ?? 0) + 1);
  }
  for (const [key, count] of counts) {
    if (count < quorum) continue;
    const leader = rows[Number(key.split('/')[1])];
    if (leader?.reachable === true && leader.isLeader && `${leader.ballot.round}/${leader.ballot.leader}` === key) return leader.id;
  }
  return null;
}

export function lastDecided(rows: readonly StatusRow[], id: number): number {
  const row = rows[id];
  return row?.reachable === true ? row.lastDecidedSlot : -2;
}

/** Closed-loop clients doing puts and gets on a few keys, recording a history. */
export class Workload {
  readonly history: HistoryOp[] = [];
  readonly putLatenciesMs: number[] = [];
  timeouts = 0;
  private running = false;
  private loops: Promise<void>[] = [];
  private seq = 0;
  private readonly clients: readonly ClusterClient[];
  private readonly keys: readonly string[];
  private readonly thinkMs: number;

  /** Each client waits a random time in [0, thinkMs) between its operations. */
  constructor(clients: readonly ClusterClient[], keys: readonly string[], thinkMs = 0) {
    this.clients = clients;
    this.keys = keys;
    this.thinkMs = thinkMs;
  }

  /** Operations that completed with a result. */
  get completed(): number {
    return this.history.filter((h) => h.completedAt !== null).length;
  }

  start(): void {
    this.running = true;
    this.loops = this.clients.map((client, i) => this.loop(client, i));
  }

  /** Lets every client finish its operation in flight, then stops. Idempotent. */
  async stop(): Promise<void> {
    this.running = false;
    await Promise.all(this.loops);
  }

  /** For a failed test: stops without waiting (the clients are about to be closed). */
  abandon(): void {
    this.running = false;
    for (const loop of this.loops) loop.catch(() => {});
  }

  /** One recorded operation (also used for the final reads). */
  async run(client: ClusterClient, op: KvOp): Promise<void> {
    const seq = ++this.seq;
    const invokedAt = performance.now();
    try {
      const result = await client.execute(op);
      const completedAt = performance.now();
      if (op.type === 'put') this.putLatenciesMs.push(completedAt - invokedAt);
      this.history.push({ clientId: client.id, seq, op, invokedAt, completedAt, result });
    } catch (e) {
      // Closing the clients while stopping gives up what is in flight: pending, like a timeout.
      if (!(e instanceof ClusterTimeoutError) && this.running) throw e;
      if (e instanceof ClusterTimeoutError) this.timeouts++;
      this.history.push({ clientId: client.id, seq, op, invokedAt, completedAt: null, result: null });
    }
  }

  private async loop(client: ClusterClient, index: number): Promise<void> {
    let i = 0;
    while (this.running) {
      const key = this.keys[(index + i) % this.keys.length]!;
      const op: KvOp = i % 3 === 2 ? { type: 'get', key } : { type: 'put', key, value: `${client.name}-${i}` };
      await this.run(client, op);
      if (this.thinkMs > 0) await sleep(Math.random() * this.thinkMs);
      i++;
    }
  }
}

export function median(values: readonly number[]): number {
  if (values.length === 0) return NaN;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)]!;
}
