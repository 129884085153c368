// The `byzpaxos` command line is a contract other tools rely on: run it as they would, in a
// child process (process.execPath is the pinned Node inside vitest), and check exit codes,
// stdout and stderr.
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const HELP_HINT = "run 'byzpaxos help' for usage";

function byzpaxos(...args: string[]): { status: number | null; stdout: string; stderr: string } {
  const env = { ...process.env };
  delete env.BYZPAXOS_DEBUG;
  const r = spawnSync(process.execPath, ['src/cli/main.ts', ...args], { cwd: ROOT, env, encoding: 'utf8' });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

function simJson(...args: string[]): Record<string, unknown> {
  const r = byzpaxos('sim', ...args, '--json');
  expect(r.status, r.stderr).toBe(0);
  expect(r.stdout.trimEnd().split('\n')).toHaveLength(1);
  return JSON.parse(r.stdout) as Record<string, unknown>;
}

const SMALL = ['--mode', 'crash', '--f', '1', '--seeds', '3', '--commands', '20', '--faults', 'drop=0.1,dup=0.05,reorder,partition,crash'];

describe('byzpaxos sim', () => {
  it('--json prints one object with the contract fields', () => {
    const out = simJson(...SMALL, '--seed-start', '7');
    expect(out).toMatchObject({ mode: 'crash', n: 3, f: 1, seeds: 3, seedStart: 7, commands: 20, faults: 'drop=0.1,dup=0.05,reorder,partition,crash' });
    expect(out.safetyViolations).toEqual([]);
    expect(out.livenessFailures).toBe(0);
    expect(out.livenessFailedSeeds).toEqual([]);
    expect(out.decided).toBe(60);
    expect(out.completed).toBe(60);
    expect(out.traceHash).toMatch(/^[0-9a-f]{64}$/);
    for (const key of ['wallMs', 'decisionsPerSecond']) expect(typeof out[key], key).toBe('number');
  });

  it('the trace hash is a function of the arguments', () => {
    const a = simJson(...SMALL, '--seed-start', '1');
    const b = simJson(...SMALL, '--seed-start', '1');
    const c = simJson(...SMALL, '--seed-start', '2');
    expect(a.traceHash).toBe(b.traceHash);
    expect(c.traceHash).not.toBe(a.traceHash);
  });

  it('--trace prints the readable trace, then the summary', () => {
    const r = byzpaxos('sim', '--seeds', '1', '--commands', '5', '--trace');
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/Prepare b=/);
    expect(r.stdout).toMatch(/Accept b=/);
    expect(r.stdout.trimEnd().split('\n').at(-1)).toMatch(/^trace hash: [0-9a-f]{64}$/);
  });
});

describe('bad command lines exit 2 with one line naming the problem', () => {
  const cases: [string[], RegExp][] = [
    [['sim', '--bogus'], /unknown option '--bogus'/],
    [['sim', '--f', 'x'], /--f .*'x'/],
    [['sim', '--f', '8'], /--f .*0\.\.7/],
    [['sim', '--f'], /'--f' needs a value/],
    [['sim', '--seeds', '0'], /--seeds/],
    [['sim', '--faults', 'drop=2'], /--faults: drop/],
    [['sim', '--faults', 'bogus'], /--faults: unknown fault 'bogus'/],
    [['sim', '--mode', 'byzantine'], /mode 'byzantine' is not implemented yet/],
    [['sim', '--trace', '--seeds', '5'], /--trace requires --seeds 1/],
    [['frobnicate'], /unknown command 'frobnicate'/],
    [[], /missing command/],
    [['experiment', 'nope'], /unknown experiment 'nope'/],
  ];
  it.each(cases)('byzpaxos %j', (args, message) => {
    const r = byzpaxos(...args);
    expect(r.status).toBe(2);
    expect(r.stdout).toBe('');
    const lines = r.stderr.trimEnd().split('\n');
    expect(lines[0]).toMatch(/^byzpaxos: /);
    expect(lines[0]).toMatch(message);
    expect(lines.slice(1)).toEqual(lines.length > 1 ? [HELP_HINT] : []);
    expect(r.stderr).not.toMatch(/^\s+at /m);
  });
});

describe('byzpaxos help and demo', () => {
  it('help lists every command', () => {
    for (const args of [['help'], ['--help'], ['sim', '--help']]) {
      const r = byzpaxos(...args);
      expect(r.status).toBe(0);
      for (const command of ['sim', 'demo', 'experiment']) expect(r.stdout).toContain(command);
    }
  });

  it('demo tells a short story: election, crash, new leader, restart, clean check', () => {
    const r = byzpaxos('demo');
    expect(r.status, r.stderr).toBe(0);
    const lines = r.stdout.trimEnd().split('\n');
    expect(lines.length).toBeLessThanOrEqual(30);
    const crashed = /n(\d) CRASHES/.exec(r.stdout)?.[1];
    expect(crashed).toBeDefined();
    const leaders = [...r.stdout.matchAll(/n(\d) leads ballot/g)].map((m) => m[1]);
    expect(leaders[0]).toBe(crashed);
    expect(leaders.at(-1)).not.toBe(crashed);
    expect(r.stdout).toMatch(/re-proposes slot \d+/);
    expect(r.stdout).toMatch(new RegExp(`n${crashed} restarts from its store`));
    expect(r.stdout).toMatch(/identical state digest/);
    expect(r.stdout).toMatch(/no violations/);
  });
});
