// backup, restore and compact on a stopped member's store, through the command as an operator
// runs it: the restored store holds what the member had promised and voted, and every refusal is
// one line, leaving the stores as they were.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, renameSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { initCluster, parseInitArgs } from '../../src/cli/init.ts';
import { storePath } from '../../src/cli/start.ts';
import { loadClusterFile, toClusterConfig } from '../../src/deploy/cluster-file.ts';
import { clusterIdOf } from '../../src/modes/byzantine/cluster.ts';
import { SqliteStorage } from '../../src/storage/sqlite.ts';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const tmp = mkdtempSync(join(tmpdir(), 'byzpaxos-store-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

function byzpaxos(...args: string[]): { status: number | null; stdout: string; stderr: string } {
  const env = { ...process.env };
  delete env.BYZPAXOS_DEBUG;
  const r = spawnSync(process.execPath, ['src/cli/main.ts', ...args], { cwd: ROOT, env, encoding: 'utf8' });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

describe('backup, restore, compact', () => {
  const dir = join(tmp, 'c');
  const { clusterPath } = initCluster(parseInitArgs(['--nodes', '3', '--mode', 'crash', '--dir', dir]));
  const config = loadClusterFile(clusterPath);
  const store = { path: storePath(join(dir, 'data'), 0), clusterId: clusterIdOf(toClusterConfig(config, clusterPath)), nodeId: 0, mode: config.mode };
  const member = ['--config', clusterPath, '--id', '0'];

  it('a backup restored where the store was holds what the member promised; refusals are one line', () => {
    mkdirSync(join(dir, 'data'), { mode: 0o700 });
    const storage = SqliteStorage.open(store);
    for (let round = 1; round <= 50; round++) storage.apply([{ type: 'promised', ballot: { round, leader: 1 } }]);
    expect(byzpaxos('backup', join(tmp, 'busy.db'), ...member).stderr).toMatch(/^byzpaxos: store .* is in use/);
    storage.close();

    const backup = join(tmp, 'n0.db');
    const made = byzpaxos('backup', backup, ...member, '--json');
    expect(made.status, made.stderr).toBe(0);
    expect(JSON.parse(made.stdout)).toMatchObject({ backup, liveRecords: 1 });
    expect(byzpaxos('backup', backup, ...member).stderr).toMatch(/already exists; refusing to overwrite it/);

    expect(byzpaxos('restore', backup, ...member).stderr).toMatch(/exists; move it away first/);
    renameSync(store.path, join(tmp, 'old.db'));
    const restored = byzpaxos('restore', backup, ...member);
    expect(restored.status, restored.stderr).toBe(0);
    const reopened = SqliteStorage.open(store);
    expect(reopened.load().promised).toEqual({ round: 50, leader: 1 });
    reopened.close();

    // Another member's store is not this one's backup.
    rmSync(store.path);
    const other = byzpaxos('restore', backup, '--config', clusterPath, '--id', '1');
    expect(other.status).toBe(1);
    expect(other.stderr).toMatch(/^byzpaxos: store .*node-1\.db\.restoring .*node/);
    expect(existsSync(storePath(join(dir, 'data'), 1))).toBe(false);
  });

  it('compact rewrites the log as its live records', () => {
    rmSync(join(dir, 'data'), { recursive: true, force: true });
    mkdirSync(join(dir, 'data'), { mode: 0o700 });
    const storage = SqliteStorage.open({ ...store, compactGarbageRecordsMin: 1_000_000 });
    for (let round = 1; round <= 30; round++) storage.apply([{ type: 'promised', ballot: { round, leader: 1 } }]);
    storage.close();
    const r = byzpaxos('compact', ...member, '--json');
    expect(r.status, r.stderr).toBe(0);
    expect(JSON.parse(r.stdout)).toMatchObject({ recordsBefore: 30, liveRecords: 1 });
  });
});
