// `byzpaxos init`: in process for what it writes, in a child process (as an operator runs it)
// for the command line: exit codes, the one-line errors, what it prints.
import type { Mode } from '../../src/base/mode.ts';
import { spawnSync } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { UsageError } from '../../src/cli/args.ts';
import { initCluster, parseInitArgs } from '../../src/cli/init.ts';
import { parseStartArgs } from '../../src/cli/start.ts';
import { loadClusterFile, toClusterConfig } from '../../src/deploy/cluster-file.ts';
import { loadKeyFile } from '../../src/deploy/key-file.ts';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const HELP_HINT = "run 'byzpaxos help' for usage";
const POSIX = process.platform !== 'win32';
const tmp = mkdtempSync(join(tmpdir(), 'byzpaxos-init-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));
let counter = 0;

function freshDir(): string {
  return join(tmp, `d${counter++}`);
}

function byzpaxos(...args: string[]): { status: number | null; stdout: string; stderr: string } {
  const env = { ...process.env };
  delete env.BYZPAXOS_DEBUG;
  const r = spawnSync(process.execPath, ['src/cli/main.ts', ...args], { cwd: ROOT, env, encoding: 'utf8' });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

function usageError(argv: string[]): string {
  try {
    parseInitArgs(argv);
  } catch (e) {
    expect(e).toBeInstanceOf(UsageError);
    return (e as Error).message;
  }
  throw new Error(`accepted: ${argv.join(' ')}`);
}

/** Loads everything init wrote in `dir` the way a node and a client would. */
function loadAll(dir: string) {
  const clusterPath = join(dir, 'cluster.json');
  const config = loadClusterFile(clusterPath);
  toClusterConfig(config, clusterPath);
  for (const m of config.members) loadKeyFile(join(dir, `node-${m.id}.key`), { expectRole: 'member', expectId: m.id, cluster: config });
  for (const c of config.clients) loadKeyFile(join(dir, `client-${c.id}.key`), { expectRole: 'client', expectId: c.id, cluster: config });
  return config;
}

describe('init writes a loadable cluster', () => {
  const cases: [Mode, number, number][] = [
    ['crash', 3, 1],
    ['crash', 1, 0],
    ['byzantine', 4, 1],
    ['byzantine', 7, 2],
    ['commit-reveal', 4, 1],
  ];
  for (const [mode, nodes, f] of cases) {
    it(`${mode}, ${nodes} nodes: f=${f}, keys 0600, loopback ports from the base`, () => {
      const dir = freshDir();
      const o = parseInitArgs(['--nodes', String(nodes), '--mode', mode, '--dir', dir, '--base-port', '9100', '--clients', '2']);
      const result = initCluster(o);
      const config = loadAll(dir);
      expect(config).toEqual(result.config);
      expect(config).toMatchObject({ mode, f, n: nodes });
      expect(config.members.map((m) => m.addrs)).toEqual(config.members.map((m) => [`/ip4/127.0.0.1/tcp/${9100 + m.id}`]));
      expect(config.clients.map((c) => c.id)).toEqual([1, 2]);
      const names = readdirSync(dir).sort();
      expect(names).toEqual(
        ['cluster.json', 'client-1.key', 'client-2.key', ...Array.from({ length: nodes }, (_, i) => [`node-${i}.key`, `node-${i}.json`]).flat()].sort(),
      );
      if (POSIX) for (const path of result.keyPaths) expect(statSync(path).mode & 0o777, path).toBe(0o600);
    });
  }

  it('writes a member file per member that start reads as that member of this cluster', () => {
    const dir = freshDir();
    const result = initCluster(parseInitArgs(['--nodes', '3', '--mode', 'crash', '--dir', dir]));
    expect(result.memberPaths).toEqual([0, 1, 2].map((id) => join(dir, `node-${id}.json`)));
    result.memberPaths.forEach((path, id) => {
      expect(JSON.parse(readFileSync(path, 'utf8'))).toEqual({ config: 'cluster.json', id });
      expect(parseStartArgs([path])).toMatchObject({ configPath: result.clusterPath, id });
    });
    expect(() => initCluster(parseInitArgs(['--nodes', '3', '--mode', 'crash', '--dir', dir]))).toThrow(/already exists; pass --force/);
  });

  it('every key is fresh', () => {
    const a = initCluster(parseInitArgs(['--nodes', '4', '--mode', 'byzantine', '--dir', freshDir()]));
    const b = initCluster(parseInitArgs(['--nodes', '4', '--mode', 'byzantine', '--dir', freshDir()]));
    const hex = (c: typeof a.config) => [...c.members, ...c.clients].map((k) => Buffer.from(k.publicKey).toString('hex'));
    expect(new Set([...hex(a.config), ...hex(b.config)]).size).toBe(10);
  });

  it('--host puts another address in every multiaddr (IPv6, DNS)', () => {
    const v6 = initCluster(parseInitArgs(['--nodes', '3', '--mode', 'crash', '--dir', freshDir(), '--host', '::1']));
    expect(v6.config.members[2].addrs).toEqual(['/ip6/::1/tcp/7002']);
    const dns = initCluster(parseInitArgs(['--nodes', '3', '--mode', 'crash', '--dir', freshDir(), '--host', 'db.example']));
    expect(dns.config.members[0].addrs).toEqual(['/dns/db.example/tcp/7000']);
  });

  it('refuses to overwrite without --force; with it, replaces keys and names leftovers', () => {
    const dir = freshDir();
    const first = initCluster(parseInitArgs(['--nodes', '4', '--mode', 'byzantine', '--dir', dir]));
    const before = readFileSync(join(dir, 'cluster.json'), 'utf8');
    expect(() => initCluster(parseInitArgs(['--nodes', '3', '--mode', 'crash', '--dir', dir]))).toThrow(
      `init: ${join(dir, 'cluster.json')} already exists; pass --force to overwrite it`,
    );
    expect(readFileSync(join(dir, 'cluster.json'), 'utf8')).toBe(before);
    chmodSync(first.keyPaths[0], 0o644);
    const second = initCluster(parseInitArgs(['--nodes', '3', '--mode', 'crash', '--dir', dir, '--force']));
    expect(loadAll(dir)).toEqual(second.config);
    expect(second.staleKeyFiles).toEqual(['node-3.key']);
    // node-3.json would start a member the new cluster lacks: --force removes it (keys stay, named).
    expect(existsSync(join(dir, 'node-3.json'))).toBe(false);
    expect(existsSync(join(dir, 'node-2.json'))).toBe(true);
  });

  it('--force removes the previous cluster\'s data directory, which its stores would be refused from; without data/ it removes nothing', () => {
    const dir = freshDir();
    initCluster(parseInitArgs(['--nodes', '3', '--mode', 'crash', '--dir', dir]));
    mkdirSync(join(dir, 'data'));
    writeFileSync(join(dir, 'data', 'node-0.db'), 'old store');
    const forced = initCluster(parseInitArgs(['--nodes', '3', '--mode', 'crash', '--dir', dir, '--force']));
    expect(forced.removedData).toBe(join(dir, 'data'));
    expect(readdirSync(dir)).not.toContain('data');
    expect(initCluster(parseInitArgs(['--nodes', '3', '--mode', 'crash', '--dir', dir, '--force'])).removedData).toBeNull();
  });

  it('refuses existing key files even without a cluster.json, before writing anything', () => {
    const dir = freshDir();
    mkdirSync(dir);
    writeFileSync(join(dir, 'node-2.key'), 'precious');
    expect(() => initCluster(parseInitArgs(['--nodes', '4', '--mode', 'byzantine', '--dir', dir]))).toThrow(
      `init: ${join(dir, 'node-2.key')} already exists; pass --force to overwrite it`,
    );
    expect(readdirSync(dir)).toEqual(['node-2.key']);
    expect(readFileSync(join(dir, 'node-2.key'), 'utf8')).toBe('precious');
  });
});

describe('init refuses a bad command line with one line', () => {
  const dir = ['--dir', 'unused'];
  it('N that is not 2f+1 or 3f+1, saying which N are allowed', () => {
    expect(usageError(['--nodes', '4', '--mode', 'crash', ...dir])).toBe("--nodes must be 2f+1 in crash mode (1, 3, 5, …, 255); got '4'");
    expect(usageError(['--nodes', '3', '--mode', 'byzantine', ...dir])).toBe("--nodes must be 3f+1 in byzantine mode (4, 7, 10, …, 256); got '3'");
    expect(usageError(['--nodes', '1', '--mode', 'commit-reveal', ...dir])).toBe(
      "--nodes must be 3f+1 in commit-reveal mode (4, 7, 10, …, 256); got '1'",
    );
    expect(usageError(['--nodes', '257', '--mode', 'crash', ...dir])).toBe("--nodes must be 2f+1 in crash mode (1, 3, 5, …, 255); got '257'");
    expect(usageError(['--nodes', 'four', '--mode', 'crash', ...dir])).toBe("--nodes must be 2f+1 in crash mode (1, 3, 5, …, 255); got 'four'");
  });

  it('missing or unknown options', () => {
    expect(usageError(['--mode', 'crash', ...dir])).toBe('init: missing --nodes N');
    expect(usageError(['--nodes', '3', ...dir])).toBe('init: missing --mode (one of crash, byzantine, commit-reveal)');
    expect(usageError(['--nodes', '3', '--mode', 'crash'])).toBe('init: missing --dir DIR');
    expect(usageError(['--nodes', '3', '--mode', 'paxos', ...dir])).toBe("--mode must be one of crash, byzantine, commit-reveal; got 'paxos'");
    expect(usageError(['--nodes', '3', '--mode', 'crash', ...dir, '--port', '1'])).toMatch(/^unknown option '--port' for init/);
  });

  it('ports and hosts peers cannot use', () => {
    const base = ['--nodes', '4', '--mode', 'byzantine', ...dir];
    expect(usageError([...base, '--base-port', '0'])).toBe("--base-port must be an integer in 1..65535, got '0'");
    expect(usageError([...base, '--base-port', '65534'])).toBe('--base-port 65534 with 4 nodes runs past port 65535');
    expect(usageError([...base, '--host', '0.0.0.0'])).toBe('--host: 0.0.0.0 is not an address peers can dial: "/ip4/0.0.0.0/tcp/7000"');
    expect(usageError([...base, '--host', 'a b'])).toBe("--host must be an IPv4 or IPv6 address or a DNS name; got 'a b'");
    expect(usageError([...base, '--clients', '101'])).toBe("--clients must be an integer in 0..100, got '101'");
  });
});

describe('init --spares K: a reconfigurable crash-mode cluster', () => {
  it('lists N + K nodes with their keys, addresses and member files, the first N marked as the first configuration', () => {
    const dir = freshDir();
    const result = initCluster(parseInitArgs(['--nodes', '3', '--spares', '2', '--mode', 'crash', '--dir', dir, '--base-port', '7100']));
    const config = loadClusterFile(result.clusterPath);
    expect(config.n).toBe(5);
    expect(config.f).toBe(1);
    expect(config.firstMembers).toEqual([0, 1, 2]);
    expect(config.members.map((m) => m.addrs[0])).toEqual([0, 1, 2, 3, 4].map((i) => `/ip4/127.0.0.1/tcp/${7100 + i}`));
    expect(result.memberPaths).toHaveLength(5);
    for (const id of [3, 4]) expect(loadKeyFile(join(dir, `node-${id}.key`), { expectRole: 'member', expectId: id, cluster: config }).id).toBe(id);
    expect(parseStartArgs([result.memberPaths[4]!]).id).toBe(4);
  });

  it('--spares 0 is reconfigurable too (members can only be removed or replaced); without --spares the file is static as before', () => {
    expect(loadClusterFile(initCluster(parseInitArgs(['--nodes', '3', '--spares', '0', '--mode', 'crash', '--dir', freshDir()])).clusterPath).firstMembers).toEqual([0, 1, 2]);
    const text = readFileSync(initCluster(parseInitArgs(['--nodes', '3', '--mode', 'crash', '--dir', freshDir()])).clusterPath, 'utf8');
    expect(text).not.toContain('firstMembers');
  });

  it('refuses the Byzantine modes, too many spares, and ports past the last', () => {
    const dir = ['--dir', 'unused'];
    expect(usageError(['--nodes', '4', '--spares', '3', '--mode', 'byzantine', ...dir])).toBe('--spares: byzantine mode is not reconfigurable yet (only crash mode is)');
    expect(usageError(['--nodes', '3', '--spares', '62', '--mode', 'crash', ...dir])).toBe("--spares must be an integer in 0..61, got '62'");
    expect(usageError(['--nodes', '3', '--spares', 'two', '--mode', 'crash', ...dir])).toBe("--spares must be an integer in 0..61, got 'two'");
    expect(usageError(['--nodes', '3', '--spares', '2', '--mode', 'crash', ...dir, '--base-port', '65532'])).toBe('--base-port 65532 with 5 nodes runs past port 65535');
  });

  it('up refuses to reuse a directory whose cluster has another shape, in one line', () => {
    const dir = freshDir();
    initCluster(parseInitArgs(['--nodes', '3', '--mode', 'crash', '--dir', dir]));
    const r = byzpaxos('up', '--nodes', '3', '--spares', '2', '--mode', 'crash', '--dir', dir);
    expect(r.status).toBe(2);
    expect(r.stderr).toBe(`byzpaxos: up: ${join(dir, 'cluster.json')} is a crash cluster of 3 nodes, not crash with 3 first members and 2 spares; use another --dir\n${HELP_HINT}\n`);
  });
});

describe('byzpaxos init (child process)', () => {
  it('writes the cluster and prints the files and the next commands', () => {
    const dir = freshDir();
    const r = byzpaxos('init', '--nodes', '4', '--mode', 'byzantine', '--dir', dir);
    expect(r.status, r.stderr).toBe(0);
    expect(r.stderr).toBe('');
    const clusterPath = join(dir, 'cluster.json');
    expect(r.stdout).toContain(`wrote ${clusterPath}: byzantine mode, f=1, 4 members on 127.0.0.1 ports 7000..7003, 1 client\n`);
    expect(r.stdout).toContain('node-0.key, node-1.key, node-2.key, node-3.key, client-1.key');
    for (let id = 0; id < 4; id++) expect(r.stdout).toContain(`  npx byzpaxos start ${join(dir, `node-${id}.json`)}\n`);
    expect(r.stdout).toMatch(/edit each member's "addrs"/);
    expect(loadAll(dir).n).toBe(4);
    if (POSIX) expect(statSync(join(dir, 'node-0.key')).mode & 0o777).toBe(0o600);
  });

  it('exit 2 and one line for bad N, and for an existing cluster without --force', () => {
    const bad = byzpaxos('init', '--nodes', '5', '--mode', 'byzantine', '--dir', freshDir());
    expect(bad.status).toBe(2);
    expect(bad.stdout).toBe('');
    expect(bad.stderr).toBe(`byzpaxos: --nodes must be 3f+1 in byzantine mode (4, 7, 10, …, 256); got '5'\n${HELP_HINT}\n`);

    const dir = freshDir();
    expect(byzpaxos('init', '--nodes', '3', '--mode', 'crash', '--dir', dir).status).toBe(0);
    const again = byzpaxos('init', '--nodes', '3', '--mode', 'crash', '--dir', dir);
    expect(again.status).toBe(2);
    expect(again.stderr).toBe(`byzpaxos: init: ${join(dir, 'cluster.json')} already exists; pass --force to overwrite it\n${HELP_HINT}\n`);
    const forced = byzpaxos('init', '--nodes', '3', '--mode', 'crash', '--dir', dir, '--force');
    expect(forced.status, forced.stderr).toBe(0);
    const json = byzpaxos('init', '--nodes', '3', '--mode', 'crash', '--dir', dir, '--force', '--json');
    expect(JSON.parse(json.stdout)).toMatchObject({ clusterPath: join(dir, 'cluster.json'), mode: 'crash', n: 3, removedData: null });
    expect(existsSync(join(dir, 'cluster.json.tmp'))).toBe(false);
  });

  it('help lists init', () => {
    const r = byzpaxos('help');
    expect(r.stdout).toMatch(/^ {2}init {9}create a deployment/m);
  });
});
