// The commands that work on a stopped member's store (node-I.db in its data directory), as
// etcdutl does on a stopped etcd member:
//   byzpaxos backup OUT --config C --id I [--data D]    a consistent, compacted copy, synced
//   byzpaxos restore FILE --config C --id I [--data D]  installs a backup where no store is
//   byzpaxos compact --config C --id I [--data D]       rewrites the log as its live records
// Each opens the store the way start does, so a store in use by its running member, of another
// cluster, node or mode, or damaged is refused in one line and left as it is. A restored backup
// is checked the same way before it takes the store's place.
import { copyFileSync, existsSync, mkdirSync, renameSync, rmSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { NODE_ID_MAX } from '../base/limits.ts';
import { DATA_DIR_NAME, loadClusterFile, toClusterConfig } from '../deploy/cluster-file.ts';
import { clusterIdOf } from '../modes/byzantine/cluster.ts';
import { SqliteStorage, type SqliteStorageOptions } from '../storage/sqlite.ts';
import { integerOption, parseOptions, UsageError, withEnvDefaults } from './args.ts';
import { RefusalError, refusing, reportRefusals } from './deployment.ts';
import { storePath } from './start.ts';

const OPTIONS = {
  config: { type: 'string' },
  id: { type: 'string' },
  data: { type: 'string' },
  json: { type: 'boolean' },
} as const;
const ENV_OPTIONS = ['config', 'id', 'data'] as const;

interface Target {
  readonly store: SqliteStorageOptions;
  readonly json: boolean;
  readonly positional: string | undefined;
}

function target(command: string, argv: readonly string[], positional: string | null): Target {
  const parsed = parseOptions(command, argv, OPTIONS, positional === null ? 0 : 1);
  const values = withEnvDefaults(parsed.values, ENV_OPTIONS);
  if (positional !== null && parsed.positionals[0] === undefined) throw new UsageError(`${command}: missing ${positional}`);
  return { store: memberStore(command, values), json: values.json === true, positional: parsed.positionals[0] };
}

/** The store of member --id in --config's cluster, under --data (default: data/ next to cluster.json). */
export function memberStore(command: string, values: { readonly config?: string; readonly id?: string; readonly data?: string }): SqliteStorageOptions {
  if (values.config === undefined) throw new UsageError(`${command}: missing --config DIR/cluster.json (or BYZPAXOS_CONFIG)`);
  if (values.id === undefined) throw new UsageError(`${command}: missing --id I (or BYZPAXOS_ID)`);
  const id = integerOption('id', values.id, 0, 0, NODE_ID_MAX);
  const configPath = values.config;
  return refusing(() => {
    const config = loadClusterFile(configPath);
    if (id >= config.n) throw new UsageError(`--id ${id} is not a member of ${configPath} (ids 0..${config.n - 1})`);
    const dataDir = values.data ?? join(dirname(configPath), DATA_DIR_NAME);
    return { path: storePath(dataDir, id), clusterId: clusterIdOf(toClusterConfig(config, configPath)), nodeId: id, mode: config.mode };
  });
}

/** Opens the existing store (never creates one), runs `use`, always closes it. */
export function withStore<T>(options: SqliteStorageOptions, use: (storage: SqliteStorage) => T): T {
  if (!existsSync(options.path)) throw new RefusalError(`store ${options.path} does not exist`);
  const storage = refusing(() => SqliteStorage.open(options));
  try {
    return refusing(() => use(storage));
  } finally {
    storage.close();
  }
}

function print(json: boolean, text: string, fields: Readonly<Record<string, unknown>>): void {
  process.stdout.write(json ? `${JSON.stringify(fields)}\n` : `${text}\n`);
}

export function runBackup(argv: readonly string[]): Promise<number> {
  const t = target('backup', argv, 'OUT');
  return reportRefusals(async () => {
    const out = t.positional!;
    const records = withStore(t.store, (storage) => {
      storage.backupTo(out);
      return storage.stats.liveRecords;
    });
    print(t.json, `backed up ${t.store.path} to ${out} (${records} live records)`, { store: t.store.path, backup: out, liveRecords: records });
    return 0;
  });
}

export function runRestore(argv: readonly string[]): Promise<number> {
  const t = target('restore', argv, 'FILE');
  return reportRefusals(async () => {
    const file = t.positional!;
    const path = t.store.path;
    if (existsSync(path) || existsSync(`${path}-wal`)) throw new RefusalError(`store ${path} exists; move it away first (restore never overwrites a store)`);
    if (!existsSync(file)) throw new RefusalError(`backup ${file} does not exist`);
    // Checked as the store it becomes before it takes that name: of this cluster, node and mode, undamaged.
    const staged = `${path}.restoring`;
    rmSync(staged, { force: true });
    try {
      mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
      copyFileSync(file, staged);
      const records = withStore({ ...t.store, path: staged }, (storage) => storage.stats.liveRecords);
      renameSync(staged, path);
      print(t.json, `restored ${file} to ${path} (${records} live records)`, { store: path, backup: file, liveRecords: records });
    } finally {
      for (const leftover of [staged, `${staged}-wal`]) rmSync(leftover, { force: true });
    }
    return 0;
  });
}

export function runCompact(argv: readonly string[]): Promise<number> {
  const t = target('compact', argv, null);
  return reportRefusals(async () => {
    const { before, after } = withStore(t.store, (storage) => {
      const records = storage.stats.records;
      storage.compact();
      return { before: records, after: storage.stats.liveRecords };
    });
    print(t.json, `compacted ${t.store.path}: ${after} live records (log held ${before})`, { store: t.store.path, recordsBefore: before, liveRecords: after });
    return 0;
  });
}
