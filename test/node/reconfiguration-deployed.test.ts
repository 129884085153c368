// Reconfiguration on a deployed cluster (docs/PROTOCOL.md, "Reconfiguration through the log"):
// five in-process runtimes over real libp2p on 127.0.0.1, a crash-mode cluster whose first
// configuration is {n0, n1, n2} and whose spares n3 and n4 run as non-members. Under the load
// of three clients it grows to five members and shrinks back to three, removing the leader first:
// the history the clients observed must be linearizable (src/sim/linearizability.ts, the
// simulator's checker), final reads included, so no acknowledged write was lost; the new members
// must serve (the last configuration's quorums need them, and they decide every slot).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { performance } from 'node:perf_hooks';
import { RECONFIG_WINDOW_SLOTS } from '../../src/base/limits.ts';
import type { KvOp } from '../../src/app/kv.ts';
import type { MembershipResult } from '../../src/core/configuration.ts';
import { ClusterTimeoutError, type ClusterClient } from '../../src/node/cluster-client.ts';
import { LocalCluster } from '../../src/node/local-cluster.ts';
import { checkLinearizable, type HistoryOp } from '../../src/sim/linearizability.ts';
import { toHex } from '../../crypto/digest.ts';

const LOAD_CLIENTS = 3;
const KEYS = ['k0', 'k1', 'k2'];
/** Bounds every wait of the test; the whole run takes a few seconds here. */
const WAIT_MS_MAX = 15_000;
const OP_TIMEOUT_MS = 5_000;
/** Most operations one load client issues: the loop is bounded even if the script stalls. */
const OPS_PER_CLIENT_MAX = 5_000;

let cluster: LocalCluster;
const history: HistoryOp[] = [];
const changes: { readonly what: string; readonly result: MembershipResult; readonly completedOps: number }[] = [];
let removedLeader = -1;
let finalDigests: string[] = [];

async function waitFor(what: string, done: () => boolean): Promise<void> {
  const deadline = performance.now() + WAIT_MS_MAX;
  while (!done()) {
    if (performance.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

/** Runs one op and records it; a timeout leaves it pending (it may still take effect). */
async function observe(client: ClusterClient, seq: number, op: KvOp): Promise<void> {
  const invokedAt = performance.now();
  try {
    const result = await client.execute(op, { timeoutMs: OP_TIMEOUT_MS });
    history.push({ clientId: client.id, seq, op, invokedAt, completedAt: performance.now(), result });
  } catch (e) {
    if (!(e instanceof ClusterTimeoutError)) throw e;
    history.push({ clientId: client.id, seq, op, invokedAt, completedAt: null, result: null });
  }
}

async function load(client: ClusterClient, stop: () => boolean): Promise<void> {
  for (let seq = 1; seq <= OPS_PER_CLIENT_MAX && !stop(); seq++) {
    const key = KEYS[seq % KEYS.length]!;
    await observe(client, seq, seq % 2 === 0 ? { type: 'put', key, value: `c${client.id}-${seq}` } : { type: 'get', key });
  }
}

const completed = (): number => history.filter((h) => h.completedAt !== null).length;
const decidedUpTo = (id: number): number => cluster.nodes[id]!.decidedUpTo;

beforeAll(async () => {
  cluster = await LocalCluster.start({ mode: 'crash', nodes: 3, spares: 2, clients: LOAD_CLIENTS + 1, storage: 'memory' });
  const admin = cluster.clients[LOAD_CLIENTS]!;
  let stopping = false;
  const loads = cluster.clients.slice(0, LOAD_CLIENTS).map((c) => load(c, () => stopping));
  try {
    const change = async (what: string, run: () => Promise<MembershipResult>): Promise<MembershipResult> => {
      const before = completed();
      await waitFor(`client load before ${what}`, () => completed() >= before + 10);
      const result = await run();
      changes.push({ what, result, completedOps: completed() });
      return result;
    };
    await change('add 3', () => admin.changeMembership({ kind: 'add', node: 3 }, { timeoutMs: OP_TIMEOUT_MS }));
    const grown = await change('add 4', () => admin.changeMembership({ kind: 'add', node: 4 }, { timeoutMs: OP_TIMEOUT_MS }));
    await waitFor('n3 and n4 deciding in the five-member configuration', () => Math.min(decidedUpTo(3), decidedUpTo(4)) > grown.slot + RECONFIG_WINDOW_SLOTS);
    removedLeader = (await admin.status()).find((r) => r.reachable && r.isLeader)?.id ?? -1;
    await change(`remove ${removedLeader} (the leader)`, () => admin.changeMembership({ kind: 'remove', node: removedLeader }, { timeoutMs: OP_TIMEOUT_MS }));
    const other = [0, 1, 2].find((id) => id !== removedLeader)!;
    const shrunk = await change(`remove ${other}`, () => admin.changeMembership({ kind: 'remove', node: other }, { timeoutMs: OP_TIMEOUT_MS }));
    const from = shrunk.slot + RECONFIG_WINDOW_SLOTS;
    const before = completed();
    await waitFor('client load in the last configuration', () => completed() >= before + 20 && shrunk.members.every((id) => decidedUpTo(id) > from + 5));
  } finally {
    stopping = true;
    await Promise.all(loads);
  }
  // Final reads after every write ended: each must see the last acknowledged write of its key.
  const reader = cluster.clients[0]!;
  for (const [i, key] of KEYS.entries()) await observe(reader, OPS_PER_CLIENT_MAX + 1 + i, { type: 'get', key });
  const members = changes.at(-1)!.result.members;
  const top = Math.max(...members.map(decidedUpTo));
  await waitFor('the last members at the same slot', () => members.every((id) => decidedUpTo(id) === top) && members.every((id) => cluster.nodes[id]!.node !== null));
  finalDigests = members.map((id) => toHex(cluster.nodes[id]!.stateDigest()!));
}, 40_000);

afterAll(async () => {
  await cluster?.stop();
});

describe('a deployed crash-mode cluster grows 3 → 5 and shrinks back to 3 under client load', () => {
  it('each change is decided and takes effect with the members it asked for; the leader is among those removed', () => {
    expect(changes.map((c) => c.result.members)).toEqual([
      [0, 1, 2, 3],
      [0, 1, 2, 3, 4],
      [0, 1, 2, 3, 4].filter((id) => id !== removedLeader),
      [[0, 1, 2].filter((id) => id !== removedLeader).slice(1), 3, 4].flat(),
    ]);
    expect(removedLeader).toBeGreaterThanOrEqual(0);
    const slots = changes.map((c) => c.result.slot);
    expect(slots).toEqual([...slots].sort((a, b) => a - b));
  });

  it('the clients kept completing operations between the changes', () => {
    const counts = changes.map((c) => c.completedOps);
    for (let i = 1; i < counts.length; i++) expect(counts[i]).toBeGreaterThan(counts[i - 1]!);
    expect(completed()).toBeGreaterThan(counts.at(-1)!);
  });

  it('no acknowledged write was lost: the observed history, final reads included, is linearizable', () => {
    expect(history.filter((h) => h.op.type === 'put' && h.completedAt !== null).length).toBeGreaterThan(10);
    expect(checkLinearizable(history)).toEqual({ ok: true });
  });

  it('the check is not vacuous: a final read that missed the last acknowledged write is caught', () => {
    const finals = history.slice(-KEYS.length);
    const lastPut = history.filter((h) => h.op.type === 'put' && h.op.key === finals[0]!.op.key && h.completedAt !== null).at(-1)!;
    const stale = { ...finals[0]!, result: { ok: true, value: `not ${(lastPut.op as { value: string }).value}` } };
    expect(checkLinearizable([...history.slice(0, -KEYS.length), stale, ...finals.slice(1)]).ok).toBe(false);
  });

  it('the new members serve: they decide every slot of the last configuration, whose quorums need them, and end in the same state', () => {
    const last = changes.at(-1)!.result;
    for (const id of [3, 4]) expect(decidedUpTo(id)).toBeGreaterThan(last.slot + RECONFIG_WINDOW_SLOTS);
    expect(new Set(finalDigests).size).toBe(1);
  });
});
