// Issue 10, deployed: NodeRuntimes with real timers over an in-memory network. A Byzantine
// cluster passes well beyond a frame of state (≈ 1.5 MB here, to keep CI short; the ≥ 50 MB run is
// experiments/large-state/), a wiped member fetches the state in parts into a SQLite store, the
// cluster then needs it to decide, and it restarts from what SQLite holds.
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as nodePath from 'node:path';
import { afterEach, expect, it } from 'vitest';
import { FRAME_BYTES_MAX } from '../../src/base/limits.ts';
import type { ClusterClient } from '../../src/node/cluster-client.ts';
import { SqliteStorage } from '../../src/storage/sqlite.ts';
import { CLUSTER_ID_BYTES, toHex } from '../../crypto/index.ts';
import { TestCluster, eventually } from './cluster.ts';

const WIPED = 3;
const VALUE = 'v'.repeat(1024);
const PUTS = 1200;

let cluster: TestCluster | null = null;
let dir: string | null = null;

afterEach(async () => {
  await cluster?.stop();
  cluster = null;
  if (dir !== null) fs.rmSync(dir, { recursive: true, force: true });
  dir = null;
});

/** Puts k<i> for i in [from, to), the clients taking turns, each put answered ok. */
async function putRange(clients: readonly ClusterClient[], from: number, to: number): Promise<void> {
  await Promise.all(
    clients.map(async (client, c) => {
      for (let i = from + c; i < to; i += clients.length) expect((await client.put(`k${i}`.padEnd(256, '.'), VALUE)).ok).toBe(true);
    }),
  );
}

it('a byzantine cluster past 1 MB of state keeps serving; a wiped member fetches it in parts, stores it in SQLite and restarts from it', async () => {
  const c = (cluster = new TestCluster('byzantine'));
  dir = fs.mkdtempSync(nodePath.join(os.tmpdir(), 'byzpaxos-large-state-'));
  const path = nodePath.join(dir, `node-${WIPED}.db`);
  const sqlite = () => SqliteStorage.open({ path, clusterId: new Uint8Array(CLUSTER_ID_BYTES).fill(7), nodeId: WIPED, mode: 'byzantine' });
  c.storages[WIPED] = sqlite();
  await c.start();
  const clients = await Promise.all([1, 2, 3].map((id) => c.client(id, { timeoutMs: 90_000 })));
  await putRange(clients, 0, PUTS / 4);

  // Member 3 loses everything; the others go on well past a frame of state.
  await c.node(WIPED).stop();
  fs.rmSync(path);
  await putRange(clients, PUTS / 4, (3 * PUTS) / 4);
  c.storages[WIPED] = sqlite();
  const wiped = await c.startNode(WIPED);

  // Without member 2, every decision needs member 3: it must fetch the state (its checkpoints
  // must match the others'). Requests reaching it also bring it into the cluster's ballot, should
  // a leader change have happened meanwhile: it ignores heartbeats of a ballot it has not joined.
  await c.node(2).stop();
  await putRange(clients, (3 * PUTS) / 4, PUTS);
  await eventually(() => wiped.decidedUpTo === c.node(0).decidedUpTo, 90_000, 'member 3 to decide the last puts');
  expect(toHex(wiped.stateDigest()!)).toBe(toHex(c.node(0).stateDigest()!));
  const stable = c.storages[WIPED]!.load().byzantine.checkpoint;
  expect(stable).not.toBeNull();
  const storedBytes = stable!.parts.reduce((sum, part) => sum + part.length, 0);
  expect(storedBytes).toBeGreaterThan(FRAME_BYTES_MAX);

  // Restarted from SQLite alone, it holds that state again.
  await wiped.stop();
  c.storages[WIPED] = sqlite();
  const restarted = await c.startNode(WIPED);
  expect(restarted.decidedUpTo).toBeGreaterThanOrEqual(stable!.certificate.slot);
  expect(await clients[0]!.get(`k${PUTS - 1}`.padEnd(256, '.'))).toBe(VALUE);
}, 300_000);
