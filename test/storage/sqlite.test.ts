// Durable acceptor storage (issue 5, item 2): what apply() acknowledged survives a kill; a
// restart recovers the state; a foreign, damaged or misassigned store is refused with one line.
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as nodePath from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mustSync, type PersistRecord } from '../../src/core/effects.ts';
import { MemoryStorage } from '../../src/storage/memory.ts';
import { CodecError } from '../../src/storage/records.ts';
import {
  COMPACT_GARBAGE_RECORDS_MIN,
  SqliteStorage,
  StoreError,
  loadSqlite,
  withoutSqliteWarning,
  type SqliteStorageOptions,
} from '../../src/storage/sqlite.ts';
import { emptyState } from '../../src/core/storage.ts';
import { TEST_CLUSTER_ID, TEST_NODE_ID, durabilityBatch, mixedRecords } from './store-child.ts';

const CHILD = fileURLToPath(new URL('./store-child.ts', import.meta.url));

let dir = '';
let files = 0;
beforeAll(() => {
  dir = fs.mkdtempSync(nodePath.join(os.tmpdir(), 'byzpaxos-store-'));
});
afterAll(() => {
  fs.rmSync(dir, { recursive: true, force: true });
});

function freshPath(): string {
  return nodePath.join(dir, `node-${++files}.db`);
}

function options(path: string, overrides: Partial<SqliteStorageOptions> = {}): SqliteStorageOptions {
  return { path, clusterId: TEST_CLUSTER_ID, nodeId: TEST_NODE_ID, mode: 'byzantine', ...overrides };
}

function openMessage(opts: SqliteStorageOptions): string {
  try {
    SqliteStorage.open(opts).close();
  } catch (e) {
    expect(e).toBeInstanceOf(StoreError);
    const message = (e as Error).message;
    expect(message).not.toContain('\n');
    return message;
  }
  throw new Error(`store ${opts.path} opened`);
}

/** A closed store holding `records`, one apply per record (so record i is row i + 1). */
function storeWith(records: readonly PersistRecord[], overrides: Partial<SqliteStorageOptions> = {}): string {
  const path = freshPath();
  const storage = SqliteStorage.open(options(path, overrides));
  for (const r of records) storage.apply([r]);
  storage.close();
  return path;
}

function memoryState(records: readonly PersistRecord[]) {
  const memory = new MemoryStorage();
  memory.apply(records);
  return memory.load();
}

/** Edits a closed store behind SqliteStorage's back. */
function tamper(path: string, sql: string, ...params: (number | Uint8Array)[]): void {
  const db = new (loadSqlite().DatabaseSync)(path);
  db.prepare(sql).run(...params);
  db.close();
}

/** Decided records whose ops are 64 bytes of (slot + 100), so each one's bytes can be found in the file. */
function decidedRecords(count: number): PersistRecord[] {
  return Array.from({ length: count }, (_, slot) => ({
    type: 'decided' as const,
    slot,
    batch: { commands: [{ clientId: 1, session: 1, seq: slot, op: new Uint8Array(64).fill(slot + 100), signature: new Uint8Array(0) }] },
  }));
}

describe('SqliteStorage: state across restarts', () => {
  it('a new store loads as the initial state', () => {
    const path = freshPath();
    const storage = SqliteStorage.open(options(path));
    expect(storage.load()).toEqual(emptyState());
    expect(storage.stats).toEqual({ records: 0, liveRecords: 0, compactions: 0, commits: 0, syncs: 0 });
    storage.close();
    expect(fs.existsSync(path)).toBe(true);
  });

  it('reopening recovers every record variant, as MemoryStorage folds them', () => {
    const records = mixedRecords(1, 400);
    for (const type of ['promised', 'accepted', 'round', 'decided', 'joined', 'verified', 'prepared', 'committed', 'certified', 'checkpoint']) {
      expect(records.some((r) => r.type === type)).toBe(true);
    }
    const path = freshPath();
    const storage = SqliteStorage.open(options(path));
    for (let i = 0; i < records.length; i += 7) storage.apply(records.slice(i, i + 7));
    const before = storage.load();
    expect(before).toEqual(memoryState(records));
    storage.close();
    const reopened = SqliteStorage.open(options(path));
    expect(reopened.load()).toEqual(before);
    expect(reopened.stats.records).toBe(records.length);
    reopened.close();
  });

  it('apply([]) writes nothing; a record the format cannot hold is refused before anything is written', () => {
    const path = freshPath();
    const storage = SqliteStorage.open(options(path));
    storage.apply([]);
    expect(storage.stats.commits).toBe(0);
    const good: PersistRecord = { type: 'round', round: 3 };
    const bad: PersistRecord = { type: 'verified', ballot: { round: 1, leader: 0 }, slot: 0, digest: new Uint8Array(5) };
    expect(() => storage.apply([good, bad])).toThrow(CodecError);
    expect(storage.load()).toEqual(emptyState());
    storage.apply([good]);
    expect(storage.load().round).toBe(3);
    storage.close();
    expect(() => storage.apply([good])).toThrow(new StoreError(path, 'is closed'));
  });

  it('after a failed write the store refuses everything: memory may be ahead of disk', () => {
    const path = freshPath();
    const storage = SqliteStorage.open(options(path));
    storage.apply([{ type: 'round', round: 1 }]);
    // Pull the database out from under it, as a failing disk would.
    (storage as unknown as { db: { close(): void } }).db.close();
    expect(() => storage.apply([{ type: 'round', round: 2 }])).toThrow(/^store .* write failed, restart the node \(/);
    expect(() => storage.load()).toThrow(/write failed, restart the node/);
    const reopened = SqliteStorage.open(options(path));
    expect(reopened.load().round).toBe(1);
    reopened.close();
  });

  it('a store open in one place cannot be opened in another', () => {
    const path = freshPath();
    const storage = SqliteStorage.open(options(path));
    expect(openMessage(options(path))).toBe(`store ${path} is in use (locked by another process or connection)`);
    storage.close();
    SqliteStorage.open(options(path)).close();
  });
});

describe('SqliteStorage: a store that is not this node’s is refused', () => {
  it('of another node, cluster or mode', () => {
    const path = storeWith([{ type: 'round', round: 1 }]);
    expect(openMessage(options(path, { nodeId: 2 }))).toBe(`store ${path} belongs to node 1, not node 2`);
    const other = new Uint8Array(32).fill(0x9c);
    expect(openMessage(options(path, { clusterId: other }))).toBe(
      `store ${path} belongs to cluster 3f3f3f3f…, the configuration's is 9c9c9c9c…`,
    );
    expect(openMessage(options(path, { mode: 'crash' }))).toBe(`store ${path} was made for mode byzantine, not crash`);
    // Refusing changed nothing.
    const storage = SqliteStorage.open(options(path));
    expect(storage.load().round).toBe(1);
    storage.close();
  });

  it('garbage, an empty file, a log without its database, a foreign SQLite database', () => {
    const garbage = freshPath();
    fs.writeFileSync(garbage, 'this is not a database, just some text that is long enough to fill a header. '.repeat(4));
    expect(openMessage(options(garbage))).toBe(`store ${garbage} is not a byzpaxos store (not an SQLite database)`);

    const empty = freshPath();
    fs.writeFileSync(empty, '');
    expect(openMessage(options(empty))).toBe(
      `store ${empty} is empty (0 bytes): not a byzpaxos store; a new store is created only where no file exists`,
    );
    expect(fs.statSync(empty).size).toBe(0);

    const orphanLog = freshPath();
    fs.writeFileSync(`${orphanLog}-wal`, 'frames of a deleted store');
    expect(openMessage(options(orphanLog))).toBe(
      `store ${orphanLog} is missing but its write-ahead log ${orphanLog}-wal exists; refusing to start a new store`,
    );
    expect(fs.existsSync(orphanLog)).toBe(false);

    const foreign = freshPath();
    const db = new (loadSqlite().DatabaseSync)(foreign);
    db.exec('CREATE TABLE meta (key TEXT, value ANY); CREATE TABLE record (seq INTEGER)');
    db.close();
    expect(openMessage(options(foreign))).toBe(`store ${foreign} is not a byzpaxos store (SQLite application_id 0x0)`);
  });

  it('an unsupported format version, a corrupted identity', () => {
    const path = storeWith([]);
    tamper(path, "UPDATE meta SET value = 7 WHERE key = 'format'");
    expect(openMessage(options(path))).toBe(`store ${path} format version 7 is not supported (this build reads 2)`);

    const other = storeWith([]);
    tamper(other, "UPDATE meta SET value = 2 WHERE key = 'node'");
    expect(openMessage(options(other, { nodeId: 2 }))).toBe(`store ${other} meta is corrupt (checksum mismatch)`);
  });
});

describe('SqliteStorage: a damaged store is refused, never reset', () => {
  it('a flipped byte in a record on disk: that record is named', () => {
    const path = storeWith(decidedRecords(30));
    const file = fs.readFileSync(path);
    // Row 17 holds slot 16, whose op is 64 bytes of 116.
    const at = file.indexOf(Buffer.alloc(64, 116));
    expect(at).toBeGreaterThan(0);
    file[at + 30] ^= 0x01;
    fs.writeFileSync(path, file);
    expect(openMessage(options(path))).toBe(`store ${path} record 17 is corrupt (checksum mismatch)`);
  });

  it('a file truncated anywhere', () => {
    const path = storeWith(decidedRecords(120));
    const file = fs.readFileSync(path);
    // A deterministic spread of cut points, from inside the header to the last page.
    const cuts = [0, 1, 50, 99, 100, 101, 4095, 4096, 4097];
    for (let i = 0; i < 24; i++) cuts.push(Math.floor(((i * 0.618034) % 1) * file.length));
    const messages = new Set<string>();
    for (const cut of cuts) {
      fs.writeFileSync(path, file.subarray(0, cut));
      const message = openMessage(options(path));
      messages.add(message.replace(/\d+/g, 'N'));
      expect(message).toMatch(
        new RegExp(`^store ${path} (is empty|is not a byzpaxos store|is damaged|record \\d+ is corrupt|is missing record|ends at record)`),
      );
    }
    expect(messages.size).toBeGreaterThan(1);
  });

  it('a row removed from the middle or the end, a record that decodes to nothing', () => {
    const middle = storeWith(decidedRecords(10));
    tamper(middle, 'DELETE FROM record WHERE seq = 4');
    expect(openMessage(options(middle))).toBe(`store ${middle} is missing record 4 (next is 5)`);

    const tail = storeWith(decidedRecords(10));
    tamper(tail, 'DELETE FROM record WHERE seq = 10');
    expect(openMessage(options(tail))).toBe(`store ${tail} ends at record 9, but its meta says 10 (records lost)`);

    const swapped = storeWith(decidedRecords(10));
    tamper(swapped, 'UPDATE record SET body = (SELECT body FROM record WHERE seq = 3) WHERE seq = 2');
    expect(openMessage(options(swapped))).toBe(`store ${swapped} record 2 is corrupt (checksum mismatch)`);
  });
});

describe('SqliteStorage: compaction', () => {
  it('the log stays bounded, and a reopened compacted store loads exactly the state it had', () => {
    for (const seed of [1, 2, 3]) {
      const records = mixedRecords(seed, 1500);
      const garbageMin = 50;
      const path = freshPath();
      const storage = SqliteStorage.open(options(path, { compactGarbageRecordsMin: garbageMin }));
      for (let i = 0; i < records.length; i += 5) {
        storage.apply(records.slice(i, i + 5));
        const { records: rows, liveRecords } = storage.stats;
        expect(rows).toBeLessThan(Math.max(2 * liveRecords, liveRecords + garbageMin));
      }
      const before = storage.load();
      expect(before).toEqual(memoryState(records));
      expect(storage.stats.compactions).toBeGreaterThan(2);
      storage.close();
      const reopened = SqliteStorage.open(options(path, { compactGarbageRecordsMin: garbageMin }));
      expect(reopened.load()).toEqual(before);
      // An explicit compaction leaves exactly the live records, and the same state after reload.
      reopened.compact();
      expect(reopened.stats.records).toBe(reopened.stats.liveRecords);
      reopened.close();
      const again = SqliteStorage.open(options(path));
      expect(again.load()).toEqual(before);
      again.close();
    }
  });

  it(`by default waits for COMPACT_GARBAGE_RECORDS_MIN (${COMPACT_GARBAGE_RECORDS_MIN}) superseded records`, () => {
    const path = freshPath();
    const storage = SqliteStorage.open(options(path));
    // Each batch supersedes one promise and one round: garbage grows by 2 per batch.
    const batches = COMPACT_GARBAGE_RECORDS_MIN / 2;
    for (let i = 1; i <= batches; i++) storage.apply(durabilityBatch(i));
    expect(storage.stats.compactions).toBe(0);
    storage.apply(durabilityBatch(batches + 1));
    expect(storage.stats).toMatchObject({ compactions: 1, records: batches + 3, liveRecords: batches + 3 });
    storage.close();
  });
});

describe('SqliteStorage: durability', () => {
  it.each(['sync', 'unsynced'])('every batch acknowledged before a SIGKILL is there after reopening (%s applies)', async (sync) => {
    const path = freshPath();
    const batchesMax = 5000;
    const killAfter = 700; // past the first compaction (about batch 513)
    const child = spawn(process.execPath, [CHILD, path, String(batchesMax), sync], { stdio: ['ignore', 'pipe', 'pipe'] });
    let acked = 0;
    let pending = '';
    let stderr = '';
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    const exited = new Promise<NodeJS.Signals | number | null>((resolve) => child.on('exit', (code, signal) => resolve(signal ?? code)));
    child.stdout.on('data', (chunk: Buffer) => {
      pending += chunk.toString();
      const lines = pending.split('\n');
      pending = lines.pop() ?? '';
      for (const line of lines) {
        const n = Number(line);
        expect(n).toBe(acked + 1);
        acked = n;
        if (acked === killAfter) child.kill('SIGKILL');
      }
    });
    expect(await exited).toBe('SIGKILL');
    expect(stderr).toBe(''); // no ExperimentalWarning, nothing else
    expect(acked).toBeGreaterThanOrEqual(killAfter);
    expect(acked).toBeLessThan(batchesMax);

    const storage = SqliteStorage.open({ path, clusterId: TEST_CLUSTER_ID, nodeId: TEST_NODE_ID, mode: 'crash' });
    const state = storage.load();
    // Batches 1..m are there, m >= the last acknowledged one, and nothing else.
    const m = state.round;
    expect(m).toBeGreaterThanOrEqual(acked);
    expect(state.promised).toEqual({ round: m, leader: TEST_NODE_ID });
    expect([...state.accepted.keys()].sort((a, b) => a - b)).toEqual(Array.from({ length: m }, (_, i) => i + 1));
    storage.close();
  });
});

describe('SqliteStorage: which applies sync', () => {
  it('an apply without sync commits without an fsync, and the next synced one counts one', () => {
    const path = freshPath();
    const storage = SqliteStorage.open(options(path));
    const [first, second] = [mixedRecords(3, 5), mixedRecords(4, 5)];
    storage.apply(first, false);
    expect(storage.stats).toMatchObject({ commits: 1, syncs: 0 });
    storage.apply(second);
    expect(storage.stats).toMatchObject({ commits: 2, syncs: 1 });
    storage.close();
    const reopened = SqliteStorage.open(options(path));
    expect(reopened.load()).toEqual(memoryState([...first, ...second]));
    reopened.close();
  });

  it('mustSync: what the node promised or signed syncs; decisions and checkpoints need not', () => {
    const records = mixedRecords(1, 400);
    const lazy = new Set(records.filter((r) => !mustSync(r)).map((r) => r.type));
    expect([...lazy].sort()).toEqual(['certified', 'checkpoint', 'decided', 'state-part']);
    for (const type of ['promised', 'accepted', 'round', 'joined', 'verified', 'prepared', 'committed']) {
      expect(records.filter((r) => r.type === type).every(mustSync), type).toBe(true);
    }
  });
});

describe('withoutSqliteWarning', () => {
  it('drops only the node:sqlite ExperimentalWarning, and only while its function runs', () => {
    const emitted: unknown[] = [];
    const original = process.emitWarning;
    // A stand-in for Node's emitWarning records what would have been printed.
    process.emitWarning = ((warning: unknown) => void emitted.push(warning)) as typeof process.emitWarning;
    try {
      withoutSqliteWarning(() => {
        process.emitWarning('SQLite is an experimental feature and might change at any time', 'ExperimentalWarning');
        process.emitWarning('something else', 'ExperimentalWarning');
        process.emitWarning('SQLite is an experimental feature and might change at any time', { type: 'ExperimentalWarning' });
        process.emitWarning('SQLite is an experimental feature, but a different type', 'Warning');
      });
      process.emitWarning('SQLite is an experimental feature, outside', 'ExperimentalWarning');
    } finally {
      process.emitWarning = original;
    }
    expect(emitted).toEqual([
      'something else',
      'SQLite is an experimental feature, but a different type',
      'SQLite is an experimental feature, outside',
    ]);
  });
});
