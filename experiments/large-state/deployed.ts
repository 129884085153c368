// The large-state question on a deployed cluster: four members in this process over libp2p
// (TCP, noise, yamux) on 127.0.0.1, each with its SQLite store, and many clients. Puts of maximal
// keys and values go in until the state passes `bytes`; half-way member 3 is wiped (stopped, its
// store deleted) and restarted from nothing; once it caught up, member 2 stops, so the last
// quarter needs member 3. The script prints the state size, the time of each phase and whether
// member 3 ends with member 0's state:
//
//   npx node experiments/large-state/deployed.ts              # ≥ 50 MB (the default)
//   npx node experiments/large-state/deployed.ts 2000000      # ≈ 2 MB
import type { ClusterClient } from '../../src/node/cluster-client.ts';
import { LocalCluster } from '../../src/node/local-cluster.ts';
import type { NodeRuntime } from '../../src/node/runtime.ts';
import { toHex } from '../../crypto/digest.ts';
import { ENTRY_BYTES } from './large-state.ts';

const bytes = Number(process.argv[2] ?? 50_000_000);
const puts = Math.ceil(bytes / ENTRY_BYTES);
const half = Math.floor(puts / 2);
const threeQuarters = Math.floor((3 * puts) / 4);
/** Which member stops once member 3 caught up: 2, or with `leader` as the second argument, the leader. */
const stopLeader = process.argv[3] === 'leader';
const CLIENTS = 64;
const VALUE = 'v'.repeat(1024);
const key = (i: number) => `k${i}/`.padEnd(256, 'k');

async function putRange(clients: readonly ClusterClient[], from: number, to: number): Promise<number> {
  const started = performance.now();
  await Promise.all(
    clients.map(async (client, c) => {
      for (let i = from + c; i < to; i += clients.length) {
        const result = await client.put(key(i), VALUE);
        if (!result.ok) throw new Error(`put ${i} refused`);
      }
    }),
  );
  return performance.now() - started;
}

async function until(condition: () => boolean, timeoutMs: number, what: string): Promise<number> {
  const started = performance.now();
  while (!condition()) {
    if (performance.now() - started > timeoutMs) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  return performance.now() - started;
}

const cluster = await LocalCluster.start({
  mode: 'byzantine',
  nodes: 4,
  clients: CLIENTS,
  storage: 'sqlite',
  // Timeouts well above the defaults: every member shares one event loop, on a loaded machine.
  byzantineConfig: { watermarkSlots: 8, checkpointInterval: 4, windowSlots: 4, batchCommandsMax: 36, progressTimeoutMs: 3000, viewChangeTimeoutMs: 2000 },
  clientTimeoutMs: 120_000,
});
try {
  const node = (id: number): NodeRuntime => cluster.nodes[id]!;
  const s = (ms: number) => `${(ms / 1000).toFixed(1)} s`;
  console.log(`${puts} puts of ${ENTRY_BYTES} B entries (${(bytes / 1e6).toFixed(1)} MB), ${CLIENTS} clients, 4 members over libp2p with SQLite`);
  console.log(`first half: ${s(await putRange(cluster.clients, 0, half))}`);
  const wipedAt = Date.now();
  await cluster.nodes[3]!.stop();
  console.log(`member 3 wiped; third quarter without it: ${s(await putRange(cluster.clients, half, threeQuarters))}`);
  const wiped = await cluster.restartMember(3, { wipe: true });
  const caughtUp = await until(() => wiped.decidedUpTo >= node(0).decidedUpTo, 600_000, 'member 3 to catch up');
  console.log(`member 3 restarted empty, caught up to slot ${wiped.decidedUpTo} in ${s(caughtUp)} (down ${s(Date.now() - wipedAt)} in all)`);
  const leader = [0, 1, 2].find((id) => node(id).status().isLeader) ?? -1;
  const stopped = stopLeader ? leader : 2;
  console.log(`view changes so far: ${(await cluster.stats()).viewChanges}; leader: member ${leader}; member 3 in ballot ${node(3).status().ballot.round}`);
  await cluster.nodes[stopped]!.stop();
  console.log(`member ${stopped} stopped; last quarter, needing member 3: ${s(await putRange(cluster.clients, threeQuarters, puts))}`);
  const reference = node([0, 1].find((id) => id !== stopped)!);
  await until(() => wiped.decidedUpTo === reference.decidedUpTo, 60_000, 'member 3 to decide the last puts');
  const same = toHex(wiped.stateDigest()!) === toHex(reference.stateDigest()!);
  console.log(`member 3 has member ${reference.id}'s state: ${same}; every member not stopped is running: ${[0, 1, 2, 3].every((id) => id === stopped || node(id).running)}`);
  const stats = await cluster.stats();
  console.log(`bytes sent by the members: ${(stats.bytesOut / 1e6).toFixed(1)} MB; decisions ${stats.decisions}; view changes ${stats.viewChanges}`);
} finally {
  await cluster.stop();
}
