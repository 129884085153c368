// A deployed node's commitment keys come from the system CSPRNG, not from its scheduling Rng:
// one published reveal must not let a peer search the 2^32 scheduling seeds and predict the rest.
import { afterEach, describe, expect, it } from 'vitest';
import { SeededRng } from '../../src/core/rng.ts';
import { eventually, TestCluster } from './cluster.ts';
import { toHex } from '../../crypto/digest.ts';

/** Every 32-byte window of the first `draws` bytes the sfc32 stream of (seed, stream) gives. */
function rngWindows(seed: number, stream: number, draws: number): Set<string> {
  const rng = new SeededRng(seed, stream);
  const bytes = Uint8Array.from({ length: draws }, () => rng.int(256));
  const windows = new Set<string>();
  for (let i = 0; i + 32 <= bytes.length; i++) windows.add(toHex(bytes.subarray(i, i + 32)));
  return windows;
}

/** Runs a commit-reveal cluster until every member committed to slot 0; each member's key for it. */
async function firstKeys(clusters: TestCluster[]): Promise<string[]> {
  const cluster = await new TestCluster('commit-reveal').start();
  clusters.push(cluster);
  const client = await cluster.client(1);
  await client.put('k', 'v');
  const keyOf = (id: number): Uint8Array | undefined => cluster.storages[id]!.load().byzantine.committed.get('1/0');
  await eventually(() => cluster.storages.every((_, id) => keyOf(id) !== undefined), 5_000, 'every member committed to slot 0');
  return cluster.storages.map((_, id) => toHex(keyOf(id)!));
}

describe('commitment keys of a deployed node', () => {
  const clusters: TestCluster[] = [];
  afterEach(async () => {
    await Promise.all(clusters.splice(0).map((c) => c.stop()));
  });

  it('are not a function of the scheduling seed: two runs with the same seeds commit with different keys', async () => {
    const a = await firstKeys(clusters);
    const b = await firstKeys(clusters);
    for (let id = 0; id < a.length; id++) expect(a[id], `member ${id}`).not.toBe(b[id]);
  });

  it('are not drawn from the sfc32 stream of the seed the node runs with', async () => {
    const keys = await firstKeys(clusters);
    // TestCluster seeds member id with 1000 + id; the runtime streams it as SeededRng(seed, id).
    keys.forEach((key, id) => expect(rngWindows(1000 + id, id, 4096).has(key), `member ${id}`).toBe(false));
  });
});
