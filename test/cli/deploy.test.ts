// The deployment as an operator runs it: `byzpaxos init`, one `byzpaxos start` process per member
// on loopback (libp2p over TCP, SQLite stores), the CLI clients, and `byzpaxos up`. Members are
// killed with SIGKILL under a running client workload and restarted from their stores; the
// recorded history must stay linearizable and the restarted member must catch up. Every child
// process is killed by PID in afterAll, whatever happened.
import type { Mode } from '../../src/base/mode.ts';
import { chmodSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import type { ClusterClient, StatusRow } from '../../src/node/cluster-client.ts';
import { checkLinearizable } from '../../src/sim/linearizability.ts';
import {
  byzpaxos,
  connectClient,
  foreignPids,
  freeBasePort,
  initDeployment,
  killEverything,
  lastDecided,
  Members,
  median,
  pidAlive,
  quorumLeader,
  spawnByzpaxos,
  statusRows as memberStatus,
  waitFor,
  Workload,
} from './deploy-helpers.ts';

const tmp = mkdtempSync(join(tmpdir(), 'byzpaxos-deploy-'));
afterAll(() => {
  killEverything();
  rmSync(tmp, { recursive: true, force: true });
});

const KEYS = ['x', 'y', 'z'];
/** Client ids: 1 for the CLI, WORKERS for the workload, then one for status queries. */
const WORKERS = [2, 3, 4];
const STATUS_CLIENT = 5;
const CLIENTS = 5;

function initCluster(name: string, mode: Mode, nodes: number): Promise<string> {
  return initDeployment(join(tmp, name), mode, nodes, CLIENTS);
}

/** One line on stderr, `byzpaxos: …`, no stack trace. */
function expectOneLine(stderr: string, pattern: RegExp): void {
  const lines = stderr.trimEnd().split('\n');
  expect(lines, stderr).toHaveLength(1);
  expect(lines[0]).toMatch(/^byzpaxos: /);
  expect(lines[0]).toMatch(pattern);
  expect(stderr).not.toMatch(/\n\s+at /);
}

/** Every member's status, through a client connected for this query only. */
function statusRows(configPath: string): Promise<StatusRow[]> {
  return memberStatus(configPath, STATUS_CLIENT);
}

/** The leader, as `byzpaxos status --json` reports it (a quorum follows it). */
async function leaderViaCli(configPath: string, quorum: number): Promise<number> {
  let leader: number | null = null;
  let last = '';
  await waitFor(
    'a leader a quorum follows in byzpaxos status',
    async () => {
      const r = await byzpaxos(['status', '--config', configPath, '--json'], 10_000);
      last = r.stdout || r.stderr;
      if (r.code !== 0) return false;
      leader = quorumLeader((JSON.parse(r.stdout) as { members: StatusRow[] }).members, quorum);
      return leader !== null;
    },
    20_000,
    () => last,
  );
  return leader!;
}

/**
 * kill -9 member `victim` under the workload, waits for the others to serve again, restarts it
 * from its store and waits until it has decided every slot decided before it came back.
 */
async function crashAndRecover(members: Members, workload: Workload, victim: number): Promise<string> {
  const killedAt = performance.now();
  await members.kill9(victim);
  const before = workload.completed;
  await waitFor('progress without the killed member', () => workload.completed >= before + 10, 25_000, () => `(${workload.completed - before} ops)`);
  const rows = await statusRows(members.configPath);
  const target = Math.max(...rows.map((r) => (r.reachable ? r.lastDecidedSlot : -1)));
  const servingMs = performance.now() - killedAt;
  const restartedAt = performance.now();
  members.start(victim);
  let seen = -2;
  await waitFor(
    `n${victim} to catch up to slot ${target}`,
    async () => {
      seen = lastDecided(await statusRows(members.configPath), victim);
      return seen >= target;
    },
    25_000,
    () => `(at ${seen}); n${victim}: ${members.tail(victim)}`,
  );
  return `n${victim}: 10 ops done ${servingMs.toFixed(0)} ms after kill -9, caught up to slot ${target} ${(performance.now() - restartedAt).toFixed(0)} ms after restart`;
}

/** --json, cas, delete, a stored "(none)" and BYZPAXOS_CONFIG in place of --config, against a running cluster. */
async function everyClientCommand(configPath: string): Promise<void> {
  const env = { BYZPAXOS_CONFIG: configPath };
  const put = await byzpaxos(['put', 'word', '(none)', '--json'], 30_000, env);
  expect(JSON.parse(put.stdout), put.stderr).toEqual({ ok: true, key: 'word' });
  const get = await byzpaxos(['get', 'word', '--json'], 30_000, env);
  expect(JSON.parse(get.stdout), get.stderr).toEqual({ key: 'word', found: true, value: '(none)' });
  const swapped = await byzpaxos(['cas', 'word', 'two', '--expect', '(none)'], 30_000, env);
  expect(swapped.stdout, swapped.stderr).toBe('ok\n');
  const refused = await byzpaxos(['cas', 'word', 'three', '--absent', '--json'], 30_000, env);
  expect(JSON.parse(refused.stdout)).toEqual({ ok: false, key: 'word', value: 'two' });
  expectOneLine(refused.stderr, /cas "word": not set, it holds "two"/);
  expect(refused.code).toBe(1);
  const deleted = await byzpaxos(['delete', 'word'], 30_000, env);
  expect(deleted.stdout, deleted.stderr).toBe('ok\n');
  const gone = await byzpaxos(['get', 'word', '--json'], 30_000, env);
  expect(JSON.parse(gone.stdout), gone.stderr).toEqual({ key: 'word', found: false, value: null });
}

async function scenario(mode: Mode, nodes: number, victims: number, allCommands = false): Promise<void> {
  const configPath = await initCluster(`${mode}-kill`, mode, nodes);
  const members = new Members(configPath, nodes);
  members.startAll();
  const workers: ClusterClient[] = [];
  let running: Workload | null = null;
  try {
    await waitFor('every member reachable', async () => (await statusRows(members.configPath)).every((r) => r.reachable), 20_000);

    const put = await byzpaxos(['put', 'greeting', 'hello', '--config', configPath]);
    expect(put.stdout, put.stderr).toBe('ok\n');
    expect(put.code).toBe(0);
    const get = await byzpaxos(['get', 'greeting', '--config', configPath]);
    expect(get.stdout, get.stderr).toBe('hello\n');
    const none = await byzpaxos(['get', 'absent', '--config', configPath]);
    expect(none.stdout, none.stderr).toBe('');
    expect(none.code).toBe(0);
    if (allCommands) await everyClientCommand(configPath);
    console.log(`${mode}: CLI put ${put.ms.toFixed(0)} ms, get ${get.ms.toFixed(0)} ms (process start included)`);

    for (const id of WORKERS) workers.push(await connectClient(configPath, id));
    const workload = new Workload(workers, KEYS);
    running = workload;
    workload.start();
    await waitFor('the workload to run', () => workload.completed >= 10, 15_000);

    const killed: number[] = [];
    for (let round = 0; round < victims; round++) {
      let victim = await leaderViaCli(configPath, mode === 'crash' ? nodes - (nodes - 1) / 2 : nodes - (nodes - 1) / 3);
      // The second victim is another node, even if the first one leads again.
      if (killed.includes(victim)) victim = (victim + 1) % nodes;
      killed.push(victim);
      console.log(`${mode}: ${await crashAndRecover(members, workload, victim)}`);
    }
    await workload.stop();
    for (const key of KEYS) await workload.run(workers[0]!, { type: 'get', key });

    const verdict = checkLinearizable(workload.history);
    expect(verdict, JSON.stringify(verdict)).toEqual({ ok: true });
    const acked = workload.history.filter((h) => h.op.type === 'put' && h.completedAt !== null).length;
    expect(acked).toBeGreaterThan(20);
    // The final reads completed, and each returns the value of some write to that key.
    const finals = workload.history.slice(-KEYS.length);
    for (const h of finals) expect(h.completedAt).not.toBeNull();
    console.log(
      `${mode}: killed ${killed.map((k) => `n${k}`).join(', ')}; ${workload.completed} ops completed, ${acked} acked puts, ` +
        `${workload.timeouts} timeouts; put median ${median(workload.putLatenciesMs).toFixed(1)} ms, max ${Math.max(...workload.putLatenciesMs).toFixed(0)} ms`,
    );

    // Idle again: every member reaches the same last decided slot.
    const idleAt = performance.now();
    await waitFor(
      'every member at the same last decided slot',
      async () => {
        const rows = await statusRows(members.configPath);
        return rows.every((r) => r.reachable && r.lastDecidedSlot === (rows[0] as { lastDecidedSlot: number }).lastDecidedSlot);
      },
      20_000,
    );
    console.log(`${mode}: every member at the same slot ${(performance.now() - idleAt).toFixed(0)} ms after the workload stopped`);
  } finally {
    running?.abandon();
    await Promise.all(workers.map((c) => c.close()));
    const codes = await members.stopAll();
    expect(codes.every((c) => c === 0), `exit codes ${codes.join(',')}`).toBe(true);
  }
}

describe('a deployed cluster of processes', () => {
  it('byzantine, 4 processes: serves the CLI; kill -9 the leader, then another node, restart both; linearizable, caught up', async () => {
    await scenario('byzantine', 4, 2);
  }, 80_000);

  it('crash, 3 processes: kill -9 the leader, restart it; linearizable, caught up', async () => {
    await scenario('crash', 3, 1, true);
  }, 50_000);
});

describe('a malicious member on a real mesh', () => {
  it('commit-reveal, n0 runs reveal-mismatch: honest members write evidence files that `evidence verify` accepts', async () => {
    const configPath = await initCluster('evidence', 'commit-reveal', 4);
    const members = new Members(configPath, 4);
    // n0 leads the first ballot, so its own (honest) commitment reaches every learner in its bundle.
    members.start(0, ['--adversary', 'reveal-mismatch']);
    for (const id of [1, 2, 3]) members.start(id);
    const evidenceDir = join(dirname(configPath), 'data', 'evidence');
    const proven = () => existsSync(evidenceDir) && readdirSync(evidenceDir).length > 0;
    // A lie is provable once a bundle carries n0's box next to its lying key: always while n0
    // leads; after a leader change (a loaded machine) only when the leader bundles n0's box, so
    // keep writing until a proof appears (bounded).
    const client = await connectClient(configPath, 1);
    try {
      for (let i = 0; i < 30 && !proven(); i++) await client.put('k', `v${i}`, { timeoutMs: 15_000 });
    } finally {
      await client.close();
    }
    await waitFor('an evidence file', proven, 15_000);
    const file = join(evidenceDir, readdirSync(evidenceDir)[0]!);
    const r = await byzpaxos(['evidence', 'verify', file, '--config', configPath]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/^genuine: commitment-mismatch by n0 — /);
    expect(await members.stopAll()).toEqual([0, 0, 0, 0]);
  }, 90_000);
});

describe('start refuses bad input with one line', () => {
  it('a malformed cluster.json', async () => {
    const path = join(tmp, 'malformed.json');
    writeFileSync(path, '{ "version": 1, "mode": ');
    const r = await byzpaxos(['start', '--config', path, '--id', '0']);
    expect(r.code).toBe(1);
    expectOneLine(r.stderr, /malformed\.json: not JSON/);
  });

  it('a key file readable by others, a port in use, a store of another cluster, a corrupted store', async () => {
    const configA = await initCluster('refuse-a', 'byzantine', 4);
    const configB = await initCluster('refuse-b', 'byzantine', 4);
    const dirA = join(tmp, 'refuse-a');

    // A clean run of node 0 of A makes its store; SIGTERM stops it with exit 0.
    const members = new Members(configA, 4);
    const child = members.start(0);
    await waitFor('n0 of A to start', () => members.logs[0]!.some((l) => l.includes('"node started"')), 15_000, () => members.tail(0));
    const [code] = await members.stopAll();
    expect(code).toBe(0);
    expect(pidAlive(child.pid!)).toBe(false);

    const keyB1 = join(tmp, 'refuse-b', 'node-1.key');
    chmodSync(keyB1, 0o644);
    const open = await byzpaxos(['start', '--config', configB, '--id', '1'], 15_000);
    expect(open.code).toBe(1);
    expectOneLine(open.stderr, /key file .*node-1\.key is readable by others \(mode 0644\); chmod 600 it/);
    chmodSync(keyB1, 0o600);

    const portB2 = Number(/tcp\/(\d+)/.exec(readFileSync(configB, 'utf8').split('"id": 2')[1]!)![1]);
    const blocker = createServer();
    await new Promise<void>((resolve) => blocker.listen(portB2, '127.0.0.1', resolve));
    try {
      const busy = await byzpaxos(['start', '--config', configB, '--id', '2'], 15_000);
      expect(busy.code).toBe(1);
      expectOneLine(busy.stderr, new RegExp(`cannot listen on /ip4/127\\.0\\.0\\.1/tcp/${portB2}: address already in use`));
    } finally {
      await new Promise((resolve) => blocker.close(resolve));
    }

    const foreign = await byzpaxos(['start', '--config', configB, '--id', '0', '--data', join(dirA, 'data')], 15_000);
    expect(foreign.code).toBe(1);
    expectOneLine(foreign.stderr, /store .*node-0\.db belongs to cluster [0-9a-f]+…, the configuration's is [0-9a-f]+…/);

    const db = join(dirA, 'data', 'node-0.db');
    const bytes = readFileSync(db);
    const pageBytes = 4096;
    expect(bytes.length).toBeGreaterThanOrEqual(2 * pageBytes);
    // Damage page 2 (a table's b-tree), leaving the file header intact.
    for (let i = pageBytes; i < 2 * pageBytes; i++) bytes[i] = bytes[i]! ^ 0x55;
    writeFileSync(db, bytes);
    const corrupt = await byzpaxos(['start', '--config', configA, '--id', '0'], 15_000);
    expect(corrupt.code).toBe(1);
    expectOneLine(corrupt.stderr, /store .*node-0\.db (is damaged|is not a byzpaxos store|cannot be opened)/);
  }, 40_000);

  it('an id the cluster does not have is a usage error (exit 2)', async () => {
    const configA = join(tmp, 'refuse-a', 'cluster.json');
    const r = await byzpaxos(['start', '--config', configA, '--id', '7']);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/^byzpaxos: --id 7 is not a member of .*cluster\.json \(ids 0\.\.3\)\n/);
  });
});

describe('byzpaxos up', () => {
  it('starts a cluster that serves a put; SIGINT stops every child', async () => {
    const dir = join(tmp, 'up');
    const base = await freeBasePort(4);
    const up = spawnByzpaxos(['up', '--nodes', '4', '--mode', 'byzantine', '--dir', dir, '--base-port', String(base)]);
    let stdout = '';
    up.stdout!.setEncoding('utf8').on('data', (s: string) => (stdout += s));
    up.stderr!.resume();
    const exit = new Promise<number | null>((resolve) => up.on('exit', (code) => resolve(code)));
    await waitFor('up to print its commands', () => stdout.includes('Ctrl-C stops every node.'), 15_000, () => stdout);
    const pids = [...stdout.matchAll(/^\[up\] n\d pid (\d+)$/gm)].map((m) => Number(m[1]));
    expect(pids).toHaveLength(4);
    for (const pid of pids) foreignPids.add(pid);
    expect(stdout).toContain(`  npx byzpaxos put k v --config ${join(dir, 'cluster.json')}`);

    const put = await byzpaxos(['put', 'k', 'v', '--config', join(dir, 'cluster.json'), '--timeout-ms', '20000']);
    expect(put.stdout, put.stderr).toBe('ok\n');

    process.kill(up.pid!, 'SIGINT');
    expect(await exit).toBe(0);
    for (const pid of pids) expect(pidAlive(pid), `pid ${pid}`).toBe(false);
  }, 40_000);

  it('--json: one JSON line on stdout once every member runs, naming each pid', async () => {
    const dir = join(tmp, 'up-json');
    const base = await freeBasePort(3);
    const up = spawnByzpaxos(['up', '--nodes', '3', '--mode', 'crash', '--dir', dir, '--base-port', String(base), '--json']);
    let stdout = '';
    up.stdout!.setEncoding('utf8').on('data', (s: string) => (stdout += s));
    up.stderr!.resume();
    const exit = new Promise<number | null>((resolve) => up.on('exit', (code) => resolve(code)));
    await waitFor('up to print its JSON line', () => stdout.endsWith('\n'), 15_000, () => stdout);
    const printed = JSON.parse(stdout) as { clusterPath: string; mode: string; n: number; members: { id: number; pid: number; addrs: string[] }[] };
    for (const m of printed.members) foreignPids.add(m.pid);
    expect(printed).toMatchObject({ clusterPath: join(dir, 'cluster.json'), mode: 'crash', n: 3, reused: false, temporary: false });
    expect(printed.members.map((m) => m.addrs)).toEqual([0, 1, 2].map((i) => [`/ip4/127.0.0.1/tcp/${base + i}`]));
    for (const m of printed.members) expect(pidAlive(m.pid), `pid ${m.pid}`).toBe(true);
    process.kill(up.pid!, 'SIGINT');
    expect(await exit).toBe(0);
    expect(stdout.split('\n')).toHaveLength(2);
  }, 40_000);
});
