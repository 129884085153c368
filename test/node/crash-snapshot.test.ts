// Crash mode through the runtime: a member restarted with an empty store, after the others have
// truncated their logs, comes back by the snapshot they send it in parts, and then holds the
// same state as they do.
import { afterEach, describe, expect, it } from 'vitest';
import { LOG_RETAIN_SLOTS, SNAPSHOT_INTERVAL_SLOTS } from '../../src/base/limits.ts';
import type { PaxosNode } from '../../src/core/node.ts';
import { MemoryStorage } from '../../src/storage/memory.ts';
import { eventually, TestCluster } from './cluster.ts';
import { toHex } from '../../crypto/digest.ts';

let cluster: TestCluster | null = null;
afterEach(async () => {
  await cluster?.stop();
  cluster = null;
});

describe('crash mode: a member wiped after the others truncated catches up by snapshot', () => {
  it('over the runtime and an in-memory network; its state digest then equals the others\'', async () => {
    const c = (cluster = await new TestCluster('crash').start());
    const client = await c.client(1);
    // One put at a time: a slot each, past the others' truncation horizon.
    const puts = LOG_RETAIN_SLOTS + SNAPSHOT_INTERVAL_SLOTS + 64;
    for (let i = 0; i < puts; i++) await client.put(`k${i % 32}`, `v${i}`);
    await c.node(2).stop();
    c.storages[2] = new MemoryStorage();
    const wiped = await c.startNode(2);
    await client.put('after', 'wipe');
    const core = () => wiped.node as PaxosNode;
    const peers = () => [0, 1].map((id) => c.node(id).decidedUpTo);
    await eventually(() => wiped.decidedUpTo >= Math.max(...peers()), 15_000, 'the wiped member to catch up');
    expect(Math.min(...[0, 1].map((id) => (c.node(id).node as PaxosNode).learner.logFrom))).toBeGreaterThan(0);
    expect(core().stats.received.get('state-parts') ?? 0).toBeGreaterThan(0);
    expect(core().learner.logFrom).toBeGreaterThan(0);
    await eventually(() => new Set([0, 1, 2].map((id) => (c.node(id).node as PaxosNode).replica.executedUpTo)).size === 1, 5_000, 'equal execution');
    expect(new Set([0, 1, 2].map((id) => toHex(c.node(id).stateDigest()!))).size).toBe(1);
  }, 60_000);
});
