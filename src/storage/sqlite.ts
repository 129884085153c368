// Durable Storage on SQLite (node:sqlite, no dependency): an append-only log of encoded
// PersistRecords, one row each, folded through StateAccumulator on open.
//
// - apply() is one transaction, and returns only after it is on disk: journal_mode=WAL with
//   synchronous=FULL fsyncs the WAL at every commit (WAL+NORMAL would not: a power cut could undo
//   a promise already sent); WAL also makes a commit one append and one fsync, where a rollback
//   journal needs several. One sync per apply: the runtime applies once per group commit (many
//   protocol steps). An apply of records that need no sync (decisions, checkpoints: mustSync in
//   effects.ts) commits with synchronous=NORMAL, which WAL keeps consistent; the next synced
//   commit makes it durable against a power cut too.
// - Every row carries a checksum over (seq, record bytes); the rows must run 1..lastSeq with no
//   gap. A flipped byte, a lost row, a foreign or damaged file, a store of another cluster, node
//   or mode is refused at open with a StoreError; nothing is ever skipped or reset.
// - locking_mode=EXCLUSIVE: while one process has the store open, no other can open it.
// - Compaction rewrites the log as stateRecords(state) once garbage outweighs live records. Crash
//   mode's snapshot records and Byzantine checkpoints drop the log below them from the state, so
//   compaction deletes those rows; SQLite reuses the freed pages, so the file stops growing.
import { MODES, type Mode } from '../base/mode.ts';
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as nodePath from 'node:path';
import type { DatabaseSync, StatementSync } from 'node:sqlite';
import { CLUSTER_ID_BYTES, bytesEqual, toHex } from '../../crypto/index.ts';
import type { PersistRecord } from '../core/effects.ts';
import { NODE_ID_MAX } from '../base/limits.ts';
import { decodeRecord, encodeRecord, stateRecordCount, stateRecords } from './records.ts';
import { StateAccumulator, type PersistentState, type Storage } from '../core/storage.ts';

/**
 * Version of the table layout and meta keys below (the record bytes carry RECORD_VERSION). 2: its
 * records are RECORD_VERSION 2 (commands carry the client session), so a version-1 store is refused at open.
 */
export const STORE_FORMAT_VERSION = 2;
/** SQLite header field `application_id` of every byzpaxos store: ASCII "bpxs". */
export const STORE_APPLICATION_ID = 0x62707873;
/** Never compact for less garbage than this many superseded records. */
export const COMPACT_GARBAGE_RECORDS_MIN = 1024;
/** Bytes of sha256 kept per row: detects corruption; a forger with write access could recompute it anyway. */
const CHECKSUM_BYTES = 8;
const CHECKSUM_DOMAIN = new TextEncoder().encode('byzpaxos/store-record/v1\0');
const SQLITE_MAGIC = 'SQLite format 3\0';
const SQLITE_HEADER_BYTES = 100;

/** A store that cannot be opened or written; the message is one line naming the file. */
export class StoreError extends Error {
  override readonly name = 'StoreError';
  readonly path: string;

  constructor(path: string, problem: string, options?: ErrorOptions) {
    super(`store ${path} ${problem}`, options);
    this.path = path;
  }
}

export interface SqliteStorageOptions {
  readonly path: string;
  /** The configuration's cluster id (CLUSTER_ID_BYTES). */
  readonly clusterId: Uint8Array;
  readonly nodeId: number;
  readonly mode: Mode;
  /** Overrides COMPACT_GARBAGE_RECORDS_MIN (tests). */
  readonly compactGarbageRecordsMin?: number;
}

export interface SqliteStorageStats {
  /** Rows in the log now. */
  readonly records: number;
  /** Rows a compaction would leave: stateRecords(state).length. */
  readonly liveRecords: number;
  readonly compactions: number;
  /** Transactions committed by apply and compaction. */
  readonly commits: number;
  /** Of apply's, those that synced (an fsync each); the others waited for the next one. */
  readonly syncs: number;
}

// --- node:sqlite, loaded quietly -----------------------------------------------------------------

const SQLITE_WARNING = /^SQLite is an experimental feature/;

/**
 * Runs `fn` with the ExperimentalWarning that node:sqlite emits once per process on Node 22.13–24.14
 * (none from 24.15, where the module is a release candidate) filtered out; every other warning
 * passes. Synchronous, so the filter is in place only while `fn` runs.
 */
export function withoutSqliteWarning<T>(fn: () => T): T {
  const original = process.emitWarning;
  const filtered = (warning: string | Error, ...rest: unknown[]): void => {
    const message = typeof warning === 'string' ? warning : warning.message;
    if (warningType(warning, rest[0]) === 'ExperimentalWarning' && SQLITE_WARNING.test(message)) return;
    (original as (...args: unknown[]) => void).call(process, warning, ...rest);
  };
  process.emitWarning = filtered as typeof process.emitWarning;
  try {
    return fn();
  } finally {
    process.emitWarning = original;
  }
}

/** The type emitWarning(warning, type) or emitWarning(warning, { type }) would give the warning. */
function warningType(warning: string | Error, typeOrOptions: unknown): string {
  if (typeof typeOrOptions === 'string') return typeOrOptions;
  const options = typeOrOptions as { readonly type?: unknown } | null | undefined;
  if (typeof options?.type === 'string') return options.type;
  return typeof warning === 'string' ? 'Warning' : warning.name;
}

let sqliteModule: typeof import('node:sqlite') | undefined;

/**
 * node:sqlite, loaded on first use through process.getBuiltinModule, not a static import: a
 * static import would load it (and warn) before any code of ours runs. No caller needs to do anything.
 */
export function loadSqlite(): typeof import('node:sqlite') {
  sqliteModule ??= withoutSqliteWarning(() => process.getBuiltinModule('node:sqlite'));
  // Undefined where the module is missing or behind --experimental-sqlite (Node < 22.13).
  if (sqliteModule === undefined) {
    throw new Error(`node:sqlite is not available in Node ${process.version} (needs 22.13 or later)`);
  }
  return sqliteModule;
}

// --- the store --------------------------------------------------------------------------------------

interface Statements {
  readonly insert: StatementSync;
  readonly deleteAll: StatementSync;
  readonly setLastSeq: StatementSync;
}

function checksum(seq: number, body: Uint8Array): Uint8Array {
  const seqBytes = new Uint8Array(8);
  new DataView(seqBytes.buffer).setBigUint64(0, BigInt(seq));
  const h = createHash('sha256').update(CHECKSUM_DOMAIN).update(seqBytes).update(body);
  return new Uint8Array(h.digest().subarray(0, CHECKSUM_BYTES));
}

function shortHex(bytes: Uint8Array): string {
  return `${toHex(bytes.subarray(0, 4))}…`;
}

function errorText(e: unknown): string {
  return (e instanceof Error ? e.message : String(e)).replace(/\s+/g, ' ');
}

function checkOptions(o: SqliteStorageOptions): void {
  if (o.clusterId.length !== CLUSTER_ID_BYTES) {
    throw new RangeError(`SqliteStorage: cluster id must be ${CLUSTER_ID_BYTES} bytes, got ${o.clusterId.length}`);
  }
  if (!Number.isInteger(o.nodeId) || o.nodeId < 0 || o.nodeId > NODE_ID_MAX) {
    throw new RangeError(`SqliteStorage: node id ${o.nodeId} is not an integer in [0, NODE_ID_MAX ${NODE_ID_MAX}]`);
  }
  if (!MODES.includes(o.mode)) throw new RangeError(`SqliteStorage: unknown mode ${JSON.stringify(o.mode)}`);
  const min = o.compactGarbageRecordsMin;
  if (min !== undefined && (!Number.isSafeInteger(min) || min < 1)) {
    throw new RangeError(`SqliteStorage: compactGarbageRecordsMin ${min} is not a positive integer`);
  }
}

/** Refuses, before SQLite touches it, a file that is not an SQLite database at all. */
function checkHeader(path: string): void {
  const stat = fs.statSync(path);
  if (!stat.isFile()) throw new StoreError(path, 'is not a byzpaxos store (not a regular file)');
  if (stat.size === 0) {
    throw new StoreError(path, 'is empty (0 bytes): not a byzpaxos store; a new store is created only where no file exists');
  }
  const header = Buffer.alloc(SQLITE_HEADER_BYTES);
  const fd = fs.openSync(path, 'r');
  let read: number;
  try {
    read = fs.readSync(fd, header, 0, SQLITE_HEADER_BYTES, 0);
  } finally {
    fs.closeSync(fd);
  }
  if (read < SQLITE_HEADER_BYTES || header.toString('latin1', 0, SQLITE_MAGIC.length) !== SQLITE_MAGIC) {
    throw new StoreError(path, 'is not a byzpaxos store (not an SQLite database)');
  }
}

function fsyncDirectory(dir: string): void {
  const fd = fs.openSync(dir, 'r');
  try {
    fs.fsyncSync(fd);
  } finally {
    fs.closeSync(fd);
  }
}

function identityBytes(format: number, clusterId: Uint8Array, nodeId: number, mode: string): Uint8Array {
  return new TextEncoder().encode(`${format}/${toHex(clusterId)}/${nodeId}/${mode}`);
}

function metaChecksum(format: number, clusterId: Uint8Array, nodeId: number, mode: string): Uint8Array {
  return checksum(0, identityBytes(format, clusterId, nodeId, mode));
}

const SCHEMA = `
  CREATE TABLE meta (key TEXT PRIMARY KEY NOT NULL, value ANY NOT NULL) STRICT;
  CREATE TABLE record (seq INTEGER PRIMARY KEY NOT NULL, body BLOB NOT NULL, checksum BLOB NOT NULL) STRICT;
`;

/**
 * Creates an initialised store at `path`, atomically: built under a temporary name, synced, then
 * linked into place (link fails if `path` appeared meanwhile), so `path` never names a half-made store.
 */
function createStore(o: SqliteStorageOptions): void {
  const { DatabaseSync } = loadSqlite();
  const tmp = `${o.path}.creating-${process.pid}`;
  fs.rmSync(tmp, { force: true });
  const db = new DatabaseSync(tmp);
  try {
    db.exec('PRAGMA journal_mode = DELETE; PRAGMA synchronous = FULL');
    db.exec(`PRAGMA application_id = ${STORE_APPLICATION_ID}`);
    db.exec('BEGIN');
    db.exec(SCHEMA);
    const put = db.prepare('INSERT INTO meta (key, value) VALUES (?, ?)');
    put.run('format', STORE_FORMAT_VERSION);
    put.run('cluster', o.clusterId);
    put.run('node', o.nodeId);
    put.run('mode', o.mode);
    put.run('identity_checksum', metaChecksum(STORE_FORMAT_VERSION, o.clusterId, o.nodeId, o.mode));
    put.run('last_seq', 0);
    db.exec('COMMIT');
    db.exec('PRAGMA journal_mode = WAL');
  } finally {
    db.close();
  }
  const fd = fs.openSync(tmp, 'r+');
  try {
    fs.fsyncSync(fd);
  } finally {
    fs.closeSync(fd);
  }
  try {
    fs.linkSync(tmp, o.path);
  } finally {
    fs.rmSync(tmp, { force: true });
  }
  fsyncDirectory(nodePath.dirname(o.path));
}

export class SqliteStorage implements Storage {
  readonly path: string;
  private db: DatabaseSync | null;
  private readonly statements: Statements;
  private readonly state: StateAccumulator;
  private lastSeq: number;
  private readonly garbageMin: number;
  private compactions = 0;
  private commits = 0;
  private syncs = 0;
  /** Set when a write failed: memory may be ahead of disk, so the process must restart. */
  private failure: StoreError | null = null;

  private constructor(path: string, db: DatabaseSync, state: StateAccumulator, lastSeq: number, garbageMin: number) {
    this.path = path;
    this.garbageMin = garbageMin;
    this.db = db;
    this.state = state;
    this.lastSeq = lastSeq;
    this.statements = {
      insert: db.prepare('INSERT INTO record (seq, body, checksum) VALUES (?, ?, ?)'),
      deleteAll: db.prepare('DELETE FROM record'),
      setLastSeq: db.prepare("UPDATE meta SET value = ? WHERE key = 'last_seq'"),
    };
  }

  /**
   * Opens the store at `path`, creating it if no file exists there; loads and checks every record.
   * Throws StoreError if the file is not a byzpaxos store, belongs to another cluster, node or mode,
   * is damaged, or is open in another process.
   */
  static open(options: SqliteStorageOptions): SqliteStorage {
    checkOptions(options);
    const path = options.path;
    if (!fs.existsSync(path)) {
      // A log without its database: the store was deleted or moved, and its last commits are here.
      if (fs.existsSync(`${path}-wal`)) {
        throw new StoreError(path, `is missing but its write-ahead log ${path}-wal exists; refusing to start a new store`);
      }
      try {
        createStore(options);
      } catch (e) {
        if (e instanceof StoreError) throw e;
        throw new StoreError(path, `cannot be created (${errorText(e)})`, { cause: e });
      }
    }
    checkHeader(path);
    const { DatabaseSync } = loadSqlite();
    let db: DatabaseSync;
    try {
      db = new DatabaseSync(path, { timeout: 0 });
    } catch (e) {
      throw new StoreError(path, `cannot be opened (${errorText(e)})`, { cause: e });
    }
    try {
      return SqliteStorage.init(path, db, options);
    } catch (e) {
      db.close();
      if (e instanceof StoreError) throw e;
      throw new StoreError(path, describeSqliteError(e), { cause: e });
    }
  }

  private static init(path: string, db: DatabaseSync, o: SqliteStorageOptions): SqliteStorage {
    // Before the first access: hold the file lock for as long as the store is open, and keep the
    // WAL index in process memory (no -shm file).
    db.exec('PRAGMA locking_mode = EXCLUSIVE');
    try {
      db.exec('BEGIN EXCLUSIVE');
    } catch (e) {
      if (!/locked|busy/i.test(errorText(e))) throw e;
      throw new StoreError(path, 'is in use (locked by another process or connection)', { cause: e });
    }
    let loaded: { state: StateAccumulator; lastSeq: number };
    try {
      checkIntegrity(path, db);
      const lastSeq = checkIdentity(path, db, o);
      loaded = { state: loadRecords(path, db, lastSeq), lastSeq };
    } finally {
      rollbackQuietly(db);
    }
    const journal = (db.prepare('PRAGMA journal_mode = WAL').get() as { journal_mode: string }).journal_mode;
    if (journal !== 'wal') throw new StoreError(path, `cannot use journal_mode WAL (got ${journal})`);
    // FULL: fsync the WAL at every commit. fullfsync: F_FULLFSYNC on macOS (no-op elsewhere).
    db.exec('PRAGMA synchronous = FULL; PRAGMA fullfsync = ON; PRAGMA checkpoint_fullfsync = ON');
    const garbageMin = o.compactGarbageRecordsMin ?? COMPACT_GARBAGE_RECORDS_MIN;
    return new SqliteStorage(path, db, loaded.state, loaded.lastSeq, garbageMin);
  }

  load(): PersistentState {
    this.usableDb();
    return this.state.snapshot();
  }

  /**
   * Durable when it returns: the records, and a compaction if one is due, commit as one
   * transaction. Without `sync` the commit skips its fsync (synchronous=NORMAL, which WAL keeps
   * consistent across a power cut); the next synced commit's fsync covers it.
   */
  apply(records: readonly PersistRecord[], sync = true): void {
    const db = this.usableDb();
    if (records.length === 0) return;
    // Encoding validates: a record the format cannot hold throws CodecError before anything changes.
    const bodies = records.map(encodeRecord);
    if (!sync) db.exec('PRAGMA synchronous = NORMAL');
    try {
      this.transaction('write', () => {
        for (const body of bodies) this.append(body);
        for (const r of records) this.state.applyRecord(r);
        if (this.compactionDue()) this.rewrite();
      });
    } finally {
      // After a failed commit the store refuses every call; its error is the one to see.
      if (!sync && this.failure === null) db.exec('PRAGMA synchronous = FULL');
    }
    if (sync) this.syncs++;
  }

  /** Rewrites the log as the live records now, in one transaction; apply() does this when due. */
  compact(): void {
    this.transaction('compaction', () => this.rewrite());
  }

  /**
   * Writes a copy of the store as it is now to `target` (VACUUM INTO: consistent, holding only
   * live pages), synced before it returns; an existing `target` is refused, never overwritten.
   */
  backupTo(target: string): void {
    if (fs.existsSync(target)) throw new StoreError(target, 'already exists; refusing to overwrite it with a backup');
    const db = this.usableDb();
    try {
      db.prepare('VACUUM INTO ?').run(target);
      const fd = fs.openSync(target, 'r');
      try {
        fs.fsyncSync(fd);
      } finally {
        fs.closeSync(fd);
      }
    } catch (e) {
      throw new StoreError(target, `cannot be written (${errorText(e)})`, { cause: e });
    }
  }

  get stats(): SqliteStorageStats {
    return {
      records: this.lastSeq,
      liveRecords: stateRecordCount(this.state),
      compactions: this.compactions,
      commits: this.commits,
      syncs: this.syncs,
    };
  }

  /** Idempotent; checkpoints the WAL into the database file and releases the lock. */
  close(): void {
    const db = this.db;
    this.db = null;
    db?.close();
  }

  private usableDb(): DatabaseSync {
    if (this.failure !== null) throw this.failure;
    if (this.db === null) throw new StoreError(this.path, 'is closed');
    return this.db;
  }

  /**
   * Runs `body` and commits, with the meta's last_seq, as one transaction: one fsync. If anything
   * fails, memory may be ahead of disk, so the store refuses every later call: restart and reload.
   */
  private transaction(what: string, body: () => void): void {
    const db = this.usableDb();
    try {
      db.exec('BEGIN IMMEDIATE');
      body();
      this.statements.setLastSeq.run(this.lastSeq);
      db.exec('COMMIT');
      this.commits++;
    } catch (e) {
      this.failure = new StoreError(this.path, `${what} failed, restart the node (${errorText(e)})`, { cause: e });
      rollbackQuietly(db);
      throw this.failure;
    }
  }

  private append(body: Uint8Array): void {
    const seq = this.lastSeq + 1;
    this.statements.insert.run(seq, body, checksum(seq, body));
    this.lastSeq = seq;
  }

  /**
   * Due once the garbage (superseded records) reaches both the minimum and the live count: each
   * rewrite is paid for by as many appends (amortised O(1) per record), and the log stays below
   * max(2 × live, live + minimum) rows.
   */
  private compactionDue(): boolean {
    const live = stateRecordCount(this.state);
    const garbage = this.lastSeq - live;
    return garbage >= Math.max(this.garbageMin, live);
  }

  /** Inside a transaction: replaces every row by stateRecords(state), numbered from 1. */
  private rewrite(): void {
    this.statements.deleteAll.run();
    this.lastSeq = 0;
    for (const r of stateRecords(this.state)) this.append(encodeRecord(r));
    this.compactions++;
  }
}

// --- open-time checks ---------------------------------------------------------------------------------

/** Ends the transaction if SQLite has not already (some errors roll back by themselves). */
function rollbackQuietly(db: DatabaseSync): void {
  try {
    if (db.isTransaction) db.exec('ROLLBACK');
  } catch {
    // The error that led here is the one to report.
  }
}

function describeSqliteError(e: unknown): string {
  const text = errorText(e);
  if (/not a database/i.test(text)) return 'is not a byzpaxos store (not an SQLite database)';
  if (/malformed|corrupt/i.test(text)) return `is damaged (SQLite: ${text})`;
  return `cannot be read (SQLite: ${text})`;
}

function checkIntegrity(path: string, db: DatabaseSync): void {
  const appId = (db.prepare('PRAGMA application_id').get() as { application_id: number }).application_id;
  if (appId !== STORE_APPLICATION_ID) {
    throw new StoreError(path, `is not a byzpaxos store (SQLite application_id 0x${(appId >>> 0).toString(16)})`);
  }
  const rows = db.prepare('PRAGMA quick_check(1)').all() as { quick_check: string }[];
  const verdict = rows[0]?.quick_check ?? 'no result';
  if (verdict !== 'ok') throw new StoreError(path, `is damaged (SQLite quick_check: ${verdict.replace(/\s+/g, ' ')})`);
}

function readMeta(path: string, db: DatabaseSync): Map<string, unknown> {
  const tables = db.prepare("SELECT name FROM sqlite_schema WHERE type = 'table' AND name IN ('meta', 'record')").all();
  if (tables.length !== 2) throw new StoreError(path, 'is not a byzpaxos store (no meta or record table)');
  const meta = new Map<string, unknown>();
  const rows = db.prepare('SELECT key, value FROM meta').all() as { key: string; value: unknown }[];
  for (const row of rows) meta.set(row.key, row.value);
  return meta;
}

function metaValue<T>(path: string, meta: Map<string, unknown>, key: string, is: (v: unknown) => v is T): T {
  const value = meta.get(key);
  if (!is(value)) throw new StoreError(path, `meta is corrupt (${key} is ${value === undefined ? 'missing' : 'malformed'})`);
  return value;
}

const isInteger = (v: unknown): v is number => typeof v === 'number' && Number.isSafeInteger(v);
const isBytes = (v: unknown): v is Uint8Array => v instanceof Uint8Array;
const isText = (v: unknown): v is string => typeof v === 'string';

/** Checks format, identity and its checksum against the options; returns the meta's last_seq. */
function checkIdentity(path: string, db: DatabaseSync, o: SqliteStorageOptions): number {
  const meta = readMeta(path, db);
  const format = metaValue(path, meta, 'format', isInteger);
  if (format !== STORE_FORMAT_VERSION) {
    throw new StoreError(path, `format version ${format} is not supported (this build reads ${STORE_FORMAT_VERSION})`);
  }
  const cluster = metaValue(path, meta, 'cluster', isBytes);
  const node = metaValue(path, meta, 'node', isInteger);
  const mode = metaValue(path, meta, 'mode', isText);
  const sum = metaValue(path, meta, 'identity_checksum', isBytes);
  if (!bytesEqual(sum, metaChecksum(format, cluster, node, mode))) {
    throw new StoreError(path, 'meta is corrupt (checksum mismatch)');
  }
  if (!bytesEqual(cluster, o.clusterId)) {
    throw new StoreError(path, `belongs to cluster ${shortHex(cluster)}, the configuration's is ${shortHex(o.clusterId)}`);
  }
  if (node !== o.nodeId) throw new StoreError(path, `belongs to node ${node}, not node ${o.nodeId}`);
  if (mode !== o.mode) throw new StoreError(path, `was made for mode ${mode}, not ${o.mode}`);
  const lastSeq = metaValue(path, meta, 'last_seq', isInteger);
  if (lastSeq < 0) throw new StoreError(path, `meta is corrupt (last_seq ${lastSeq})`);
  return lastSeq;
}

interface RecordRow {
  readonly seq: number;
  readonly body: unknown;
  readonly checksum: unknown;
}

/** Folds rows 1..lastSeq, each checked; any gap, extra row, bad checksum or undecodable record is refused. */
function loadRecords(path: string, db: DatabaseSync, lastSeq: number): StateAccumulator {
  const state = new StateAccumulator();
  let expected = 1;
  const rows = db.prepare('SELECT seq, body, checksum FROM record ORDER BY seq').iterate() as Iterable<RecordRow>;
  for (const row of rows) {
    if (row.seq > expected) throw new StoreError(path, `is missing record ${expected} (next is ${row.seq})`);
    if (row.seq !== expected) throw new StoreError(path, `has an unexpected record ${row.seq}`);
    if (row.seq > lastSeq) throw new StoreError(path, `has record ${row.seq} beyond its last record ${lastSeq}`);
    state.applyRecord(checkedRecord(path, row));
    expected++;
  }
  const found = expected - 1;
  if (found !== lastSeq) throw new StoreError(path, `ends at record ${found}, but its meta says ${lastSeq} (records lost)`);
  return state;
}

function checkedRecord(path: string, row: RecordRow): PersistRecord {
  if (!isBytes(row.body) || !isBytes(row.checksum)) throw new StoreError(path, `record ${row.seq} is corrupt (not a blob)`);
  if (!bytesEqual(row.checksum, checksum(row.seq, row.body))) {
    throw new StoreError(path, `record ${row.seq} is corrupt (checksum mismatch)`);
  }
  try {
    return decodeRecord(row.body);
  } catch (e) {
    throw new StoreError(path, `record ${row.seq} is corrupt (${errorText(e)})`, { cause: e });
  }
}
