// `byzpaxos bench`: argument checks in process; small runs in a child process (as an operator runs
// it) over real libp2p on loopback, checking the JSON contract, never the figures.
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { UsageError } from '../../src/cli/args.ts';
import { parseBenchArgs } from '../../src/cli/bench.ts';
import { medianOf } from '../../src/experiments/bench.ts';
import { percentile } from '../../src/experiments/closed-loop.ts';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const RUN_TIMEOUT_MS = 90_000;

function byzpaxos(...args: string[]): { status: number | null; stdout: string; stderr: string } {
  const env = { ...process.env };
  delete env.BYZPAXOS_DEBUG;
  const r = spawnSync(process.execPath, ['src/cli/main.ts', ...args], { cwd: ROOT, env, encoding: 'utf8', timeout: RUN_TIMEOUT_MS });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

describe('bench arguments', () => {
  it('has the documented defaults', () => {
    const o = parseBenchArgs(['--mode', 'byzantine']);
    expect(parseBenchArgs(['--mode', 'crash']).nodes).toBe(3);
    expect(o).toMatchObject({ mode: 'byzantine', nodes: 4, clientCounts: [8], ops: 1_000, warmup: 200, runs: 1, payloadBytes: 100, batch: 64, storage: 'sqlite', placement: 'in-process', maxSeconds: 120, json: false });
    expect(parseBenchArgs(['--mode', 'crash', '--clients', '1,16,64', '--processes'])).toMatchObject({ clientCounts: [1, 16, 64], placement: 'processes', batch: 32 });
  });

  it.each([
    [['--nodes', '4'], /missing --mode/],
    [['--mode', 'paxos'], /--mode must be one of/],
    [['--mode', 'byzantine', '--nodes', '5'], /3f\+1 members/],
    [['--mode', 'crash', '--nodes', '4'], /2f\+1 members/],
    [['--mode', 'crash', '--nodes', '0'], /--nodes must be an integer in 1..16/],
    [['--mode', 'crash', '--ops', '0'], /--ops must be an integer/],
    [['--mode', 'crash', '--payload', '2000'], /--payload must be an integer in 0..1024/],
    [['--mode', 'crash', '--batch', '999'], /--batch must be an integer in 1..256/],
    [['--mode', 'crash', '--storage', 'disk'], /--storage must be one of/],
    [['--mode', 'crash', '--frobnicate'], /unknown option/],
    [['--mode', 'crash', '--clients', '1,,4'], /--clients must be a count or a comma-separated list/],
    [['--mode', 'crash', '--clients', '0'], /--clients must be a count or a comma-separated list of counts in 1..256/],
    [['--mode', 'crash', '--runs', '0'], /--runs must be an integer in 1..25/],
    [['--mode', 'crash', '--processes', '--threads'], /--processes and --threads exclude each other/],
    [['--mode', 'crash', '--processes', '--storage', 'memory'], /--storage: member processes/],
    [['--mode', 'crash', '--processes', '--batch', '8'], /--batch: member processes/],
  ])('rejects %j', (argv, message) => {
    expect(() => parseBenchArgs(argv)).toThrow(UsageError);
    expect(() => parseBenchArgs(argv)).toThrow(message);
  });

  it('the median of runs, figure by figure', () => {
    const runs = [
      { opsPerSec: 10, capped: false, mode: 'crash', server: { rssMb: [1, 9] } },
      { opsPerSec: 30, capped: true, mode: 'crash', server: { rssMb: [3, 7] } },
      { opsPerSec: 20, capped: false, mode: 'crash', server: { rssMb: [2, 8] } },
    ];
    expect(medianOf(runs)).toEqual({ opsPerSec: 20, capped: true, mode: 'crash', server: { rssMb: [2, 8] } });
    expect(medianOf([{ server: null }, { server: null }])).toEqual({ server: null });
  });

  it('nearest-rank percentiles', () => {
    expect(percentile([], 0.5)).toBe(0);
    expect(percentile([1, 2, 3, 4], 0.5)).toBe(2);
    expect(percentile([1, 2, 3, 4], 0.99)).toBe(4);
    expect(percentile([7], 0.01)).toBe(7);
  });
});

describe('byzpaxos bench', () => {
  it('a bad command line is one line and exit 2', () => {
    const r = byzpaxos('bench', '--mode', 'byzantine', '--nodes', '5');
    expect(r.status).toBe(2);
    expect(r.stderr.split('\n')[0]).toMatch(/^byzpaxos: --nodes: byzantine mode needs 3f\+1 members/);
    expect(r.stdout).toBe('');
  });

  it.each([
    ['byzantine', '4'],
    ['crash', '3'],
  ])('%s mode, n=%s: runs a bounded workload, prints one JSON object and exits 0', (mode, nodes) => {
    const r = byzpaxos('bench', '--mode', mode, '--nodes', nodes, '--ops', '300', '--clients', '4', '--warmup', '20', '--json');
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    const lines = r.stdout.trim().split('\n');
    expect(lines).toHaveLength(1);
    const { rows } = JSON.parse(lines[0]!);
    expect(rows).toHaveLength(1);
    const result = rows[0];
    expect(result).toMatchObject({ mode, n: Number(nodes), ops: 300, clients: 4, processes: 'in-process', capped: false, server: null });
    for (const field of ['seconds', 'opsPerSec', 'p50Ms', 'p99Ms']) expect(result[field]).toBeGreaterThan(0);
    expect(result.p99Ms).toBeGreaterThanOrEqual(result.p50Ms);
    expect(result.perOp.messages).toBeGreaterThan(0);
    if (mode === 'byzantine') expect(result.perOp.signaturesMade).toBeGreaterThan(0);
  }, RUN_TIMEOUT_MS);

  it('prints a readable summary without --json; --threads runs each member on its own worker thread', () => {
    const r = byzpaxos('bench', '--mode', 'commit-reveal', '--ops', '50', '--clients', '2', '--storage', 'memory', '--threads');
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    expect(r.stdout).toMatch(/^bench: commit-reveal mode, n=4 f=1; 4 members in this process \(one worker thread each\)/);
    expect(r.stdout).toMatch(/2 clients: committed 50 puts in [\d.]+ s: [\d.]+ ops\/s; latency p50 [\d.]+ ms, p99 [\d.]+ ms/);
    expect(r.stdout).toMatch(/signatures: [\d.]+ made/);
  }, RUN_TIMEOUT_MS);

  it('--processes: each member its own process, a fresh cluster per client count; member CPU and RSS from /proc; no child left alive', () => {
    const r = byzpaxos('bench', '--mode', 'crash', '--processes', '--ops', '50', '--warmup', '10', '--clients', '1,2', '--json');
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    const { rows } = JSON.parse(r.stdout);
    expect(rows.map((row: { clients: number }) => row.clients)).toEqual([1, 2]);
    for (const row of rows) {
      expect(row).toMatchObject({ mode: 'crash', n: 3, ops: 50, processes: 'processes', storage: 'sqlite', capped: false });
      expect(row.runs).toHaveLength(1);
      expect(row.opsPerSec).toBeGreaterThan(0);
      expect(row.server.cpuMsPerOp).toBeGreaterThan(0);
      expect(row.server.cores).toBeGreaterThan(0);
      expect(row.server.rssMb).toHaveLength(3);
      for (const mb of row.server.rssMb) expect(mb).toBeGreaterThan(1);
      expect(row.slots).toBeGreaterThan(0);
      expect(row.perOp.messages).toBeGreaterThan(0);
      expect(row.perOp.fsyncs).toBeNull();
    }
    const pids: number[] = rows.flatMap((row: { memberPids: number[] }) => row.memberPids);
    expect(new Set(pids).size).toBe(2 * 3);
    expect(pids.filter(alive)).toEqual([]);
  }, RUN_TIMEOUT_MS);
});

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code !== 'ESRCH';
  }
}
