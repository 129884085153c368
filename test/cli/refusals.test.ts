// Clear, fast answers when something is wrong: a cluster nobody can reach, one that does not
// answer, a data directory that cannot be made, ports in use under `up`. Each is one line on
// stderr, promptly, and leaves nothing behind (no temporary directory holding keys, no member
// process). Durations are checked with generous slack only: this runs on loaded machines.
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { byzpaxos, freeBasePort, killEverything, Members, waitFor } from './deploy-helpers.ts';

const tmp = mkdtempSync(join(tmpdir(), 'byzpaxos-refusals-'));
afterAll(() => {
  killEverything();
  rmSync(tmp, { recursive: true, force: true });
});

/** One line on stderr, `byzpaxos: …`, no stack trace. */
function expectOneLine(stderr: string, pattern: RegExp): void {
  const lines = stderr.trimEnd().split('\n');
  expect(lines, stderr).toHaveLength(1);
  expect(lines[0]).toMatch(/^byzpaxos: /);
  expect(lines[0]).toMatch(pattern);
}

/** Slack over a requested bound for a child process on a loaded 2-core machine: loading, connecting, exiting. */
const SLACK_MS = 6_000;

async function initCluster(name: string, mode: 'crash' | 'byzantine' = 'crash'): Promise<string> {
  const dir = join(tmp, name);
  const nodes = mode === 'crash' ? 3 : 4;
  const r = await byzpaxos(['init', '--nodes', String(nodes), '--mode', mode, '--dir', dir, '--base-port', String(await freeBasePort(nodes))]);
  expect(r.code, r.stderr).toBe(0);
  return join(dir, 'cluster.json');
}

/** Processes whose command line mentions `text` (Linux /proc), to prove no member outlived `up`. */
function processesMentioning(text: string): number[] {
  if (!existsSync('/proc/self/cmdline')) return [];
  const pids: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      if (readFileSync(join('/proc', entry, 'cmdline'), 'utf8').includes(text)) pids.push(Number(entry));
    } catch {
      // exited meanwhile
    }
  }
  return pids;
}

/** Holds `port` like another program would; connections are refused at once, so no dialler waits on it. */
function listen(port: number): Promise<Server> {
  const server = createServer((socket) => socket.destroy());
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen({ port, host: '127.0.0.1', exclusive: true }, () => resolve(server));
  });
}

describe('a client of a cluster it cannot reach, or that does not answer', () => {
  it('every member down: `no member reachable`, naming each and why, long before the 10 s default', async () => {
    for (const mode of ['byzantine', 'crash'] as const) {
      const configPath = await initCluster(`down-${mode}`, mode);
      const r = await byzpaxos(['put', 'k', 'v', '--config', configPath], 30_000);
      expect(r.code, r.stderr).toBe(1);
      const members = mode === 'crash' ? 3 : 4;
      const named = Array.from({ length: members }, (_, id) => `n${id} /ip4/127\\.0\\.0\\.1/tcp/\\d+: ECONNREFUSED`).join(', ');
      expectOneLine(r.stderr, new RegExp(`^byzpaxos: put "k": no member reachable \\(${named}\\); nothing was sent yet$`));
      expect(r.ms).toBeLessThan(10_000);
    }
  }, 60_000);

  it('get --timeout-ms 1500 against a dead cluster returns within the bound (plus slack)', async () => {
    const configPath = await initCluster('down-timeout');
    const r = await byzpaxos(['get', 'k', '--config', configPath, '--timeout-ms', '1500'], 30_000);
    expect(r.code, r.stderr).toBe(1);
    // Loading may eat much of 1.5 s on a loaded machine: if the bound ends before every dial has
    // failed, the line still says the request never reached a member.
    expectOneLine(r.stderr, /^byzpaxos: get "k": (no member reachable \(.*\); nothing was sent yet|no accepted result within 1500 ms; it has not reached any member)$/);
    expect(r.ms).toBeLessThan(1_500 + SLACK_MS);
  }, 30_000);

  it('a request that left but got no quorum: `may still take effect`, once the bound (from the process start) is up', async () => {
    const configPath = await initCluster('one-up', 'byzantine');
    const members = new Members(configPath, 4);
    members.start(0);
    try {
      await waitFor('n0 to start', () => members.logs[0]!.some((l) => l.includes('"msg":"node started"')), 20_000, () => members.tail(0));
      // Long enough for the request to leave even on a loaded machine: the line is what is checked.
      const r = await byzpaxos(['get', 'k', '--config', configPath, '--timeout-ms', '5000'], 30_000);
      expect(r.code, r.stderr).toBe(1);
      expectOneLine(r.stderr, /^byzpaxos: get "k": no accepted result within 5000 ms; it was sent and may still take effect$/);
      expect(r.ms).toBeLessThan(5_000 + SLACK_MS);
    } finally {
      await members.stopAll();
    }
  }, 60_000);
});

describe('start refuses a data directory it cannot use, at once', () => {
  it.skipIf(!existsSync('/proc/self'))('--data /proc/nope (where recursive mkdir loops forever): one line, exit 1', async () => {
    const configPath = await initCluster('proc');
    const r = await byzpaxos(['start', '--config', configPath, '--id', '0', '--data', '/proc/nope/data'], 20_000);
    expect(r.signal, 'killed: start hung').toBeNull();
    expect(r.code).toBe(1);
    expectOneLine(r.stderr, /the data directory \/proc\/nope\/data cannot be created \(ENOENT\)$/);
  }, 30_000);

  it('--data under a regular file, or naming one: one line, exit 1', async () => {
    const configPath = await initCluster('file');
    const file = join(tmp, 'a-file');
    writeFileSync(file, '');
    const under = await byzpaxos(['start', '--config', configPath, '--id', '0', '--data', join(file, 'data')], 20_000);
    expect(under.code).toBe(1);
    expectOneLine(under.stderr, /the data directory .*a-file\/data cannot be created \(ENOTDIR\)$/);
    const naming = await byzpaxos(['start', '--config', configPath, '--id', '0', '--data', file], 20_000);
    expect(naming.code).toBe(1);
    expectOneLine(naming.stderr, /the data directory .*a-file is not a directory$/);
  }, 30_000);
});

describe('up fails before its banner and removes what it created', () => {
  it('a port in use: one line naming the member and the port, no banner, no temporary directory, no member left', async () => {
    const temp = join(tmp, 'tmpdir-port');
    mkdirSync(temp);
    const base = await freeBasePort(4);
    const server = await listen(base + 1);
    try {
      const r = await byzpaxos(['up', '--nodes', '4', '--mode', 'byzantine', '--base-port', String(base)], 40_000, { TMPDIR: temp });
      expect(r.code, r.stderr).toBe(1);
      expect(r.stdout).toBe('');
      expectOneLine(r.stderr, new RegExp(`^byzpaxos: up: n1 did not start: cannot listen on /ip4/127\\.0\\.0\\.1/tcp/${base + 1}: address already in use \\(EADDRINUSE\\); every member stopped$`));
      expect(readdirSync(temp)).toEqual([]);
      expect(processesMentioning(temp)).toEqual([]);
    } finally {
      await new Promise((resolve) => server.close(resolve));
    }
  }, 60_000);

  it('--dir DIR that did not exist is removed again; an existing empty one is emptied again', async () => {
    const base = await freeBasePort(3);
    const server = await listen(base);
    try {
      const fresh = join(tmp, 'up-fresh');
      const r = await byzpaxos(['up', '--nodes', '3', '--mode', 'crash', '--dir', fresh, '--base-port', String(base)], 40_000);
      expect(r.code, r.stderr).toBe(1);
      expectOneLine(r.stderr, /^byzpaxos: up: n0 did not start: cannot listen on /);
      expect(existsSync(fresh)).toBe(false);
      const empty = join(tmp, 'up-empty');
      mkdirSync(empty);
      const again = await byzpaxos(['up', '--nodes', '3', '--mode', 'crash', '--dir', empty, '--base-port', String(base)], 40_000);
      expect(again.code, again.stderr).toBe(1);
      expect(readdirSync(empty)).toEqual([]);
    } finally {
      await new Promise((resolve) => server.close(resolve));
    }
  }, 90_000);

  it('a usage error leaves no temporary directory', async () => {
    const temp = join(tmp, 'tmpdir-usage');
    mkdirSync(temp);
    const r = await byzpaxos(['up', '--nodes', '5', '--mode', 'byzantine'], 20_000, { TMPDIR: temp });
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/^byzpaxos: --nodes must be 3f\+1 in byzantine mode/);
    expect(readdirSync(temp)).toEqual([]);
  }, 30_000);
});
