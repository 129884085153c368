// A crash-mode member restarts from a truncated SQLite store: the store holds a snapshot, the log
// tail after it and nothing older, and the member comes back with the state it had.
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as nodePath from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { encodeKvOp, KvStore } from '../../src/app/kv.ts';
import { defaultConfig } from '../../src/core/config.ts';
import type { Effect, Input } from '../../src/core/effects.ts';
import { LOG_RETAIN_SLOTS, SNAPSHOT_INTERVAL_SLOTS } from '../../src/base/limits.ts';
import { PaxosNode } from '../../src/core/node.ts';
import { SeededRng } from '../../src/core/rng.ts';
import { SqliteStorage } from '../../src/storage/sqlite.ts';
import { TEST_CLUSTER_ID, TEST_NODE_ID } from './store-child.ts';
import { toHex } from '../../crypto/digest.ts';

const dir = fs.mkdtempSync(nodePath.join(os.tmpdir(), 'byzpaxos-snapshot-restart-'));
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

/** A one-member cluster (f = 0) on `storage`: every step's records are made durable before the next. */
function member(storage: SqliteStorage): { node: PaxosNode; step(input: Input): Effect[] } {
  const node = new PaxosNode({ id: TEST_NODE_ID, config: defaultConfig(0, { batchCommandsMax: 1 }), state: storage.load(), rng: new SeededRng(3), app: new KvStore() });
  const persist = (effects: Effect[]): Effect[] => {
    storage.apply(effects.flatMap((e) => (e.type === 'persist' ? [e.record] : [])));
    return effects;
  };
  persist(node.start());
  persist(node.step({ type: 'timeout', timer: 'election' }));
  return { node, step: (input) => persist(node.step(input)) };
}

function put(m: ReturnType<typeof member>, seq: number): void {
  const op = encodeKvOp({ type: 'put', key: `k${seq % 16}`, value: `v${seq}` });
  const effects = m.step({ type: 'request', msg: { type: 'request', command: { clientId: 1, session: 1, seq, op, signature: new Uint8Array(0) } } });
  expect(effects.some((e) => e.type === 'reply' && e.msg.seq === seq && e.msg.status === 'ok')).toBe(true);
}

describe('crash mode: restart from a truncated SQLite store', () => {
  it('loads the snapshot, replays only the tail, and holds the state it had; the store keeps only the retained log', () => {
    const path = nodePath.join(dir, 'node.db');
    const open = () => SqliteStorage.open({ path, clusterId: TEST_CLUSTER_ID, nodeId: TEST_NODE_ID, mode: 'crash', compactGarbageRecordsMin: 64 });
    const SLOTS = 20 * SNAPSHOT_INTERVAL_SLOTS + 37;
    let storage = open();
    const before = member(storage);
    for (let seq = 1; seq <= SLOTS; seq++) put(before, seq);
    const executed = before.node.replica.executedUpTo;
    const digest = toHex(before.node.replica.stateDigest());
    expect(executed).toBe(SLOTS);
    expect(before.node.learner.logFrom).toBeGreaterThan(0);
    // Truncation left garbage that compaction deleted.
    expect(storage.stats.compactions).toBeGreaterThan(0);
    storage.close();

    storage = open();
    const state = storage.load();
    expect(state.snapshot?.executedUpTo).toBe(20 * SNAPSHOT_INTERVAL_SLOTS);
    expect(Math.min(...state.decided.keys())).toBe(state.snapshot!.logFrom);
    expect(state.decided.size).toBeLessThanOrEqual(LOG_RETAIN_SLOTS + SNAPSHOT_INTERVAL_SLOTS);
    expect(state.accepted.size).toBeLessThanOrEqual(LOG_RETAIN_SLOTS + SNAPSHOT_INTERVAL_SLOTS);
    // Rows: the state's parts, the retained log twice (pvalue and decision), and garbage below the compaction threshold.
    expect(storage.stats.records).toBeLessThan(2 * storage.stats.liveRecords + 64);

    const after = member(storage);
    expect(after.node.replica.executedUpTo).toBe(executed);
    expect(toHex(after.node.replica.stateDigest())).toBe(digest);
    // And it carries on from there.
    put(after, SLOTS + 1);
    expect(after.node.replica.executedUpTo).toBe(SLOTS + 1);
    storage.close();
  });
});
