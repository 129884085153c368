import type { Mode } from '../../src/base/mode.ts';
import { afterEach, describe, expect, it } from 'vitest';
import type { PersistRecord } from '../../src/core/effects.ts';
import { decodeMessage, encodeMessage } from '../../src/messages/codec.ts';
import type { Message } from '../../src/messages/types.ts';
import { ClusterTimeoutError } from '../../src/node/cluster-client.ts';
import { DRAIN_INPUTS_MAX, INPUT_QUEUE_MAX, type NodeEvent } from '../../src/node/runtime.ts';
import { MemoryStorage } from '../../src/storage/memory.ts';
import type { Transport } from '../../src/transport/transport.ts';
import { formatKvOp } from '../../src/app/kv.ts';
import { MemberTraceRecorder, parseMemberTrace } from '../../src/trace/member-trace.ts';
import { TestCluster, eventually } from './cluster.ts';

let cluster: TestCluster | null = null;

async function started(mode: Mode): Promise<TestCluster> {
  cluster = await new TestCluster(mode).start();
  return cluster;
}

afterEach(async () => {
  await cluster?.stop();
  cluster = null;
});

describe.each<[Mode, number]>([
  ['crash', 3],
  ['byzantine', 4],
  ['commit-reveal', 4],
])('%s cluster of %i nodes', (mode, n) => {
  it('serves put, get and cas through a ClusterClient', async () => {
    const c = await started(mode);
    expect(c.n).toBe(n);
    const client = await c.client(1);
    expect(await client.put('k', 'v1')).toEqual({ ok: true, value: null });
    expect(await client.get('k')).toBe('v1');
    expect(await client.cas('k', 'v1', 'v2')).toEqual({ ok: true, value: 'v1' });
    expect(await client.cas('k', 'v1', 'v3')).toEqual({ ok: false, value: 'v2' });
    expect(await client.get('k')).toBe('v2');
    expect(await client.get('absent')).toBeNull();
  });

  it('runs one client\'s calls in order, and several clients at once', async () => {
    const c = await started(mode);
    const clients = await Promise.all([1, 2, 3].map((id) => c.client(id)));
    await Promise.all(clients.flatMap((client, i) => [0, 1, 2, 3].map((j) => client.put(`k${i}`, `${j}`))));
    for (let i = 0; i < clients.length; i++) expect(await clients[(i + 1) % clients.length]!.get(`k${i}`)).toBe('3');
  });

  it('status returns one row per member, every one reachable, one leader', async () => {
    const c = await started(mode);
    const client = await c.client(1);
    await client.put('k', 'v');
    const rows = await client.status({ timeoutMs: 1_000 });
    expect(rows.map((r) => r.name)).toEqual(Array.from({ length: n }, (_, i) => `n${i}`));
    const reachable = rows.flatMap((r) => (r.reachable ? [r] : []));
    expect(reachable).toHaveLength(n);
    for (const row of reachable) {
      expect(row.mode).toBe(mode);
      expect(row.uptimeMs).toBeGreaterThanOrEqual(0);
      // Every member in the ballot the put was decided in (Byzantine modes track it; crash mode reports 0).
      expect(row.outsideWorkingBallot).toBe(false);
      if (mode !== 'crash' && row.lastDecidedSlot >= 0) expect(row.workingRound).toBe(row.ballot.round);
      if (mode === 'crash') expect(row.workingRound).toBe(0);
    }
    const leaders = reachable.filter((r) => r.isLeader);
    expect(leaders).toHaveLength(1);
    expect(reachable.some((r) => r.lastDecidedSlot >= 0)).toBe(true);
    expect(leaders[0]!.counts.decisions).toBeGreaterThan(0);
  });
});

describe('observing a node', () => {
  it('reports decisions, view changes and traffic as events and on the metrics endpoint', async () => {
    const c = new TestCluster('crash');
    cluster = c;
    const node = await c.startNode(0, { metricsPort: 0 });
    const events: NodeEvent[] = [];
    node.onEvent((e) => events.push(e));
    for (let id = 1; id < c.n; id++) await c.startNode(id);
    const client = await c.client(1);
    await client.put('k', 'v');
    await eventually(() => events.some((e) => e.type === 'execute'), 2_000, 'an execution at n0');
    expect(events.some((e) => e.type === 'view-change')).toBe(true);
    expect(events.some((e) => e.type === 'decide')).toBe(true);
    const port = node.metricsPort!;
    const text = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
    expect(text).toMatch(/^byzpaxos_decisions_total [1-9]/m);
    expect(text).toMatch(/^byzpaxos_view_changes_total [1-9]/m);
    expect(text).toMatch(/^byzpaxos_messages_in_total\{type="(accept|accepted|heartbeat|prepare|promise)"\} [1-9]/m);
    expect(text).toMatch(/^byzpaxos_bytes_out_total\{type="[a-z-]+"\} [1-9]/m);
    expect(text).toMatch(/^byzpaxos_last_decided_slot [0-9]/m);
    expect(text).toMatch(/^byzpaxos_is_leader [01]$/m);
    expect(text).toMatch(/^byzpaxos_working_ballot_round 0$/m);
    expect(text).toMatch(/^byzpaxos_outside_working_ballot 0$/m);
    await node.stop();
    await expect(fetch(`http://127.0.0.1:${port}/metrics`)).rejects.toThrow();
  });
});

describe('tracing a node (start --trace-json)', () => {
  it('records each frame it sends, each the transport refuses and each it receives, with one digest per broadcast frame, and its decisions', async () => {
    const c = new TestCluster('crash');
    cluster = c;
    const trace = new MemberTraceRecorder({ mode: 'crash', n: c.n, f: 1, cluster: 'ab', member: 0, adversary: null, startedMs: Date.now() }, formatKvOp);
    // n0's transport refuses every frame to n2, as a full queue would.
    const refusingN2 = (t: Transport): Transport =>
      new Proxy(t, {
        get: (target, prop) => {
          if (prop === 'send') return (to: string, bytes: Uint8Array) => to !== 'n2' && target.send(to, bytes);
          const value: unknown = Reflect.get(target, prop);
          return typeof value === 'function' ? value.bind(target) : value;
        },
      });
    await c.startNode(0, { trace, transport: (onMessage) => refusingN2(c.network.transport('n0', onMessage)) });
    for (let id = 1; id < c.n; id++) await c.startNode(id);
    const client = await c.client(1);
    await client.put('k', 'v');
    await eventually(() => parseMemberTrace(trace.encode(Date.now(), false)).decisions.length > 0, 2_000, 'a decision at n0');
    await c.node(0).stop();
    const { messages } = parseMemberTrace(trace.encode(Date.now(), true));
    expect(messages.filter((m) => m.kind === 'refused').every((m) => m.peer === 2)).toBe(true);
    expect(messages.filter((m) => m.kind === 'sent').every((m) => m.peer !== 2)).toBe(true);
    expect(messages.some((m) => m.kind === 'received' && m.peer === 1)).toBe(true);
    expect(messages.some((m) => m.kind === 'received' && m.peer === 2)).toBe(true);
    // A broadcast is one frame: what n1 was sent and what was refused for n2 share a digest.
    const sentToN1 = new Set(messages.filter((m) => m.kind === 'sent' && m.peer === 1).map((m) => m.digest));
    expect(messages.some((m) => m.kind === 'refused' && sentToN1.has(m.digest))).toBe(true);
  });
});

describe('bad input', () => {
  it('a garbage message is counted as rejected and the node keeps serving', async () => {
    const c = await started('crash');
    const node = c.node(0);
    const stranger = c.network.transport('c2', () => {});
    stranger.send('n0', Uint8Array.of(1, 250, 7)); // unknown tag
    stranger.send('n0', Uint8Array.of(99)); // truncated, wrong version
    stranger.send('n0', encodeMessage({ type: 'heartbeat', ballot: { round: 1, leader: 0 }, decidedUpTo: 0 })); // member-only type
    const command = { clientId: 1, session: 1, seq: 1, op: Uint8Array.of(2, 0, 1, 107), signature: new Uint8Array(0) };
    stranger.send('n0', encodeMessage({ type: 'request', command })); // another client's id
    const member = c.network.transport('n1-impostor', () => {});
    member.send('n0', encodeMessage({ type: 'prepare', ballot: { round: 1, leader: 1 }, fromSlot: 0 })); // not a peer name
    await eventually(() => node.status().counts.rejected >= 5, 2_000, 'five rejections');
    const rejected = node.metrics.rejected;
    expect(rejected.get({ reason: 'decode' })).toBe(2);
    expect(rejected.get({ reason: 'member-type-from-client' })).toBe(1);
    expect(rejected.get({ reason: 'client-id-mismatch' })).toBe(1);
    expect(rejected.get({ reason: 'unknown-peer' })).toBe(1);
    expect(c.log.find('message rejected').length).toBeGreaterThanOrEqual(5);
    const text = await node.metrics.registry.render();
    expect(text).toContain('byzpaxos_rejected_total{reason="decode"} 2');
    expect(node.running).toBe(true);
    const client = await c.client(1);
    await client.put('after', 'garbage');
    expect(await client.get('after')).toBe('garbage');
  });

  it('client types from a member are rejected', async () => {
    const c = await started('byzantine');
    await c.node(3).stop();
    const impostor = c.network.transport('n3', () => {});
    impostor.send('n0', encodeMessage({ type: 'status-request', nonce: 1 }));
    impostor.send('n0', encodeMessage({ type: 'reply', clientId: 1, session: 1, seq: 1, status: 'ok', result: new Uint8Array(0), leaderHint: 0 }));
    await eventually(() => c.node(0).metrics.rejected.get({ reason: 'client-type-from-member' }) === 2, 2_000, 'rejections');
  });
});

type Recorded = { kind: 'apply'; records: readonly PersistRecord[] } | { kind: 'send'; bytes: Uint8Array } | { kind: 'flush' };

/** Starts every member of `c` with what its storage applies and its transport is handed (sends, flushes) reported to `on`, in order. */
async function startRecorded(c: TestCluster, on: (id: number, event: Recorded) => void): Promise<void> {
  for (let id = 0; id < c.n; id++) {
    const storage = new MemoryStorage();
    const applyInner = storage.apply.bind(storage);
    storage.apply = (records) => {
      on(id, { kind: 'apply', records: [...records] });
      applyInner(records);
    };
    await c.startNode(id, {
      storage,
      transport: (onMessage) => {
        const inner: Transport = c.network.transport(`n${id}`, onMessage);
        return {
          send: (to, bytes) => (on(id, { kind: 'send', bytes }), inner.send(to, bytes)),
          flush: () => on(id, { kind: 'flush' }),
          get stats() {
            return inner.stats;
          },
          stop: () => inner.stop(),
        };
      },
    });
  }
}

describe('persistence', () => {
  it('every vote and ballot leaves a node only after storage.apply made it durable', async () => {
    const c = new TestCluster('crash');
    cluster = c;
    // One log per node: what storage applied and what the transport was handed, in order.
    const logs = c.deployment.members.map(() => [] as ({ kind: 'apply'; records: readonly PersistRecord[] } | { kind: 'send'; msg: Message })[]);
    await startRecorded(c, (id, e) => {
      if (e.kind === 'apply') logs[id]!.push(e);
      if (e.kind === 'send') logs[id]!.push({ kind: 'send', msg: decodeMessage(e.bytes) });
    });
    const client = await c.client(1);
    for (let i = 0; i < 5; i++) await client.put(`k${i}`, `v${i}`);
    let checked = 0;
    for (const log of logs) {
      const durable: PersistRecord[] = [];
      for (const entry of log) {
        if (entry.kind === 'apply') {
          expect(entry.records.length).toBeGreaterThan(0);
          durable.push(...entry.records);
          continue;
        }
        const msg = entry.msg;
        if (msg.type === 'accepted') {
          checked++;
          expect(
            durable.some((r) => r.type === 'accepted' && r.pvalue.slot === msg.slot && r.pvalue.ballot.round === msg.ballot.round && r.pvalue.ballot.leader === msg.ballot.leader),
          ).toBe(true);
        }
        if (msg.type === 'promise') {
          checked++;
          expect(durable.some((r) => r.type === 'promised' && r.ballot.round === msg.ballot.round && r.ballot.leader === msg.ballot.leader)).toBe(true);
        }
        if (msg.type === 'prepare') {
          checked++;
          expect(durable.some((r) => r.type === 'round' && r.round >= msg.ballot.round)).toBe(true);
        }
      }
    }
    expect(checked).toBeGreaterThan(5);
  });

  it("flushes the transport after each drain's sends, before it steps anything else", async () => {
    const c = new TestCluster('byzantine');
    cluster = c;
    // Per node, in order: sends, flushes, and the applies that start each drain's commit.
    const logs = c.deployment.members.map(() => [] as ('apply' | 'send' | 'flush')[]);
    await startRecorded(c, (id, e) => logs[id]!.push(e.kind));
    const client = await c.client(1);
    for (let i = 0; i < 3; i++) await client.put(`k${i}`, `v${i}`);
    for (const log of logs) {
      // Sends happen only in a drain (this cluster answers no status request), and every run of them ends in a flush.
      const runs = log.join(' ').split(/ ?apply ?/).filter((run) => run.includes('send'));
      expect(runs.length).toBeGreaterThan(2);
      for (const run of runs) expect(run.endsWith('flush')).toBe(true);
    }
  });

  it('group commit: inputs that arrive in the same turn are stepped together, committed in one apply, then sent', async () => {
    const c = new TestCluster('crash');
    cluster = c;
    const log: ({ kind: 'apply'; records: readonly PersistRecord[] } | { kind: 'send'; to: string; msg: Message })[] = [];
    const storage = new MemoryStorage();
    const applyInner = storage.apply.bind(storage);
    storage.apply = (records) => {
      log.push({ kind: 'apply', records: [...records] });
      applyInner(records);
    };
    const node = await c.startNode(0, {
      storage,
      transport: (onMessage) => {
        const inner: Transport = c.network.transport('n0', onMessage);
        return {
          send: (to, bytes) => {
            log.push({ kind: 'send', to, msg: decodeMessage(bytes) });
            return inner.send(to, bytes);
          },
          get stats() {
            return inner.stats;
          },
          stop: () => inner.stop(),
        };
      },
    });
    const before = log.length;
    const commitsBefore = node.drainStats.commits;
    // Two candidates' prepares in one turn: each step persists a promise and sends one.
    node.receive('n1', encodeMessage({ type: 'prepare', ballot: { round: 5, leader: 1 }, fromSlot: 0 }));
    node.receive('n2', encodeMessage({ type: 'prepare', ballot: { round: 6, leader: 2 }, fromSlot: 0 }));
    expect(log.length).toBe(before); // nothing stepped, stored or sent yet
    await new Promise((resolve) => setImmediate(resolve));
    const after = log.slice(before);
    expect(after.map((e) => e.kind)).toEqual(['apply', 'send', 'send']);
    const apply = after[0]!;
    if (apply.kind !== 'apply') throw new Error('unreachable');
    const promised = apply.records.flatMap((r) => (r.type === 'promised' ? [r.ballot.round] : []));
    expect(promised).toEqual([5, 6]);
    expect(after.slice(1).map((e) => (e.kind === 'send' ? [e.to, e.msg.type] : []))).toEqual([
      ['n1', 'promise'],
      ['n2', 'promise'],
    ]);
    expect(node.drainStats.commits).toBe(commitsBefore + 1);
  });

  it('the input queue is bounded: beyond INPUT_QUEUE_MAX inputs are rejected as queue-full, and the rest are stepped', async () => {
    const c = new TestCluster('crash');
    cluster = c;
    const node = await c.startNode(0);
    const inputsBefore = node.drainStats.inputs;
    const heartbeat = encodeMessage({ type: 'heartbeat', ballot: { round: 1, leader: 1 }, decidedUpTo: 0 });
    for (let i = 0; i < INPUT_QUEUE_MAX + 3; i++) node.receive('n1', heartbeat);
    expect(node.metrics.rejected.get({ reason: 'queue-full' })).toBe(3);
    expect(node.drainStats.queueHighWater).toBe(INPUT_QUEUE_MAX);
    await eventually(() => node.drainStats.inputs - inputsBefore >= INPUT_QUEUE_MAX, 5_000, 'every queued input stepped');
    expect(node.drainStats.drains).toBeGreaterThanOrEqual(INPUT_QUEUE_MAX / DRAIN_INPUTS_MAX);
    expect(node.running).toBe(true);
  });

  it('a node restarted from its storage catches up', async () => {
    const c = await started('crash');
    const client = await c.client(1);
    await client.put('a', '1');
    await c.node(2).stop();
    for (let i = 0; i < 10; i++) await client.put(`k${i}`, `${i}`);
    const leaderSlot = Math.max(...[0, 1].map((id) => c.node(id).decidedUpTo));
    expect(c.storages[2]!.load().decided.size).toBeLessThan(leaderSlot);
    const events: NodeEvent[] = [];
    const restarted = await c.startNode(2);
    restarted.onEvent((e) => events.push(e));
    await client.put('b', '2');
    await eventually(() => restarted.decidedUpTo >= c.node(0).decidedUpTo && restarted.decidedUpTo > leaderSlot, 5_000, 'catch-up');
    expect(events.some((e) => e.type === 'execute')).toBe(true);
    const rows = await client.status({ timeoutMs: 1_000 });
    expect(rows.every((r) => r.reachable)).toBe(true);
  });

  it('a byzantine node restarted from its storage catches up', async () => {
    const c = await started('byzantine');
    const client = await c.client(1);
    await client.put('a', '1');
    await c.node(3).stop();
    for (let i = 0; i < 6; i++) await client.put(`k${i}`, `${i}`);
    const restarted = await c.startNode(3);
    await client.put('b', '2');
    await eventually(() => restarted.decidedUpTo >= c.node(0).decidedUpTo, 5_000, 'catch-up');
  });
});

describe('failures and limits', () => {
  it('a failing storage stops the node loudly, with the input that caused it', async () => {
    const c = new TestCluster('crash');
    cluster = c;
    const storage = new MemoryStorage();
    storage.apply = () => {
      throw new Error('disk on fire');
    };
    for (let id = 1; id < c.n; id++) await c.startNode(id);
    const node = await c.startNode(0, { storage });
    const events: NodeEvent[] = [];
    node.onEvent((e) => events.push(e));
    const client = await c.client(1, { timeoutMs: 3_000 });
    await client.put('k', 'v'); // the other two nodes are a majority
    await node.stopped;
    expect(node.failure?.message).toBe('disk on fire');
    expect(node.running).toBe(false);
    expect(events.at(-1)).toEqual({ type: 'stopped', error: node.failure });
    const failed = c.log.find('node failed; stopping');
    expect(failed).toHaveLength(1);
    expect(failed[0]!.level).toBe('error');
    expect(String(failed[0]!.input)).toMatch(/^(message|timeout|request)/);
  });

  it('an operation times out with a clear error when no member answers', async () => {
    const c = await started('crash');
    for (let id = 0; id < c.n; id++) c.network.cut(`n${id}`);
    const client = await c.client(1);
    const started_ = Date.now();
    const error = await client.put('k', 'v', { timeoutMs: 300 }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ClusterTimeoutError);
    expect((error as Error).message).toMatch(/put "k": no accepted result within 300 ms; it was sent and may still take effect/);
    expect(Date.now() - started_).toBeLessThan(2_000);
    const queued = client.get('k', { timeoutMs: 100 }).catch((e: unknown) => e);
    expect(((await queued) as Error).message).toMatch(/never sent/);
    const aborted = new AbortController();
    const pending = client.get('k', { signal: aborted.signal }).catch((e: unknown) => e);
    aborted.abort();
    expect(await pending).toBeInstanceOf(ClusterTimeoutError);
    // Healed: the abandoned put completes in the background, then the session serves again.
    for (let id = 0; id < c.n; id++) c.network.restore(`n${id}`);
    expect(await client.get('k')).toBe('v');
  });

  it('status marks a stopped member unreachable', async () => {
    const c = await started('byzantine');
    const client = await c.client(2);
    await client.put('k', 'v');
    await c.node(1).stop();
    const rows = await client.status({ timeoutMs: 300 });
    expect(rows.map((r) => r.reachable)).toEqual([true, false, true, true]);
  });

  it('stop() is graceful and idempotent, and timers stop with it', async () => {
    const c = await started('crash');
    const node = c.node(0);
    await Promise.all([node.stop(), node.stop()]);
    expect(node.failure).toBeNull();
    expect(node.running).toBe(false);
    const stopped = c.log.find('node stopped').filter((l) => l.node === 'n0');
    expect(stopped).toHaveLength(1);
  });

  it('refuses a secret key that is not the member key the deployment lists', async () => {
    const c = new TestCluster('crash');
    await expect(c.startNode(0, { secretKey: new Uint8Array(32).fill(9) })).rejects.toThrow(/secret key does not belong/);
  });
});
