// Seed 001 "Clients": a command (κ, cid, op) takes effect exactly once, whatever the log holds.
import { describe, expect, it } from 'vitest';
import { KvStore, decodeKvResult, encodeKvOp, type KvOp } from '../../src/app/kv.ts';
import type { StateMachine } from '../../src/core/state-machine.ts';
import { CLIENT_SESSIONS_PER_CLIENT_MAX, SESSION_PARTS } from '../../src/base/limits.ts';
import { Replica, snapshotOf } from '../../src/core/replica.ts';
import { ConfigurationHistory, decodeMembershipResult, encodeMembershipChange } from '../../src/core/configuration.ts';
import { decodeSessionPart, encodeSessionPart } from '../../src/messages/codec.ts';
import { NOOP, type Batch, type Command, type Slot } from '../../src/base/types.ts';

/** A state machine that records every op it applies and answers with a running counter. */
class CountingApp implements StateMachine {
  readonly applied: string[] = [];
  readonly partCount = 1;
  private changed = false;
  apply(op: Uint8Array): Uint8Array {
    this.applied.push(new TextDecoder().decode(op));
    this.changed = true;
    return Uint8Array.of(this.applied.length);
  }
  stateDigest(): Uint8Array {
    return this.part();
  }
  part(): Uint8Array {
    return new TextEncoder().encode(this.applied.join('|'));
  }
  takeChangedParts(): number[] {
    const changed = this.changed ? [0] : [];
    this.changed = false;
    return changed;
  }
  restore(parts: readonly Uint8Array[]): void {
    const text = new TextDecoder().decode(parts[0]);
    this.applied.splice(0, this.applied.length, ...(text === '' ? [] : text.split('|')));
    this.changed = false;
  }
}

const cmd = (clientId: number, seq: number, op: string, session = 1): Command => ({
  clientId,
  session,
  seq,
  op: new TextEncoder().encode(op),
  signature: new Uint8Array(0),
});
const kv = (clientId: number, seq: number, op: KvOp, session = 1): Command => ({ clientId, session, seq, op: encodeKvOp(op), signature: new Uint8Array(0) });

function log(...batches: Batch[]): (slot: Slot) => Batch | undefined {
  return (slot) => batches[slot];
}

describe('seed 001 client sessions: exactly-once execution', () => {
  it('seed 001: the same (clientId, session, seq) decided in two slots is applied once', () => {
    const app = new CountingApp();
    const r = new Replica(app);
    const c = cmd(7, 1, 'incr');
    const executed = r.executeReady(log({ commands: [c] }, NOOP, { commands: [c] }));
    expect(app.applied).toEqual(['incr']);
    expect(executed.map((e) => [e.slot, e.command.seq])).toEqual([[0, 1]]);
    expect(r.executedUpTo).toBe(3);
  });

  it('seed 001: the same command twice within one batch is applied once', () => {
    const app = new CountingApp();
    const r = new Replica(app);
    const c = cmd(7, 1, 'incr');
    r.executeReady(log({ commands: [c, cmd(8, 1, 'other'), c] }));
    expect(app.applied).toEqual(['incr', 'other']);
  });

  it('seed 001: an older seq decided after a newer one is ignored', () => {
    const app = new CountingApp();
    const r = new Replica(app);
    r.executeReady(log({ commands: [cmd(7, 1, 'first'), cmd(7, 3, 'third')] }, { commands: [cmd(7, 2, 'second')] }));
    expect(app.applied).toEqual(['first', 'third']);
    expect(r.lookup(7, 1, 2)).toEqual({ kind: 'stale' });
  });

  it('seed 001: lookup says "done" with the cached result for the last executed seq, "new" above it', () => {
    const store = new KvStore();
    const r = new Replica(store);
    expect(r.lookup(7, 1, 1)).toEqual({ kind: 'new' });
    const executed = r.executeReady(
      log({ commands: [kv(7, 1, { type: 'put', key: 'k', value: 'v1' }), kv(7, 2, { type: 'put', key: 'k', value: 'v2' })] }),
    );
    expect(executed.map((e) => decodeKvResult(e.result!))).toEqual([
      { ok: true, value: null },
      { ok: true, value: 'v1' },
    ]);
    const done = r.lookup(7, 1, 2);
    expect(done.kind).toBe('done');
    if (done.kind === 'done') expect(decodeKvResult(done.result)).toEqual({ ok: true, value: 'v1' });
    expect(r.lookup(7, 1, 1)).toEqual({ kind: 'stale' });
    expect(r.lookup(7, 1, 3)).toEqual({ kind: 'new' });
    expect(r.lookup(8, 1, 1)).toEqual({ kind: 'new' });
    expect(r.lookup(7, 2, 1)).toEqual({ kind: 'new' });
    // Re-executing a duplicate did not change the store.
    r.executeReady(log(NOOP, { commands: [kv(7, 2, { type: 'put', key: 'k', value: 'v2' })] }));
    expect(store.get('k')).toBe('v2');
    expect(r.executedUpTo).toBe(2);
  });

  it('sessions are per client: the same seq from two clients is two commands', () => {
    const app = new CountingApp();
    const r = new Replica(app);
    r.executeReady(log({ commands: [cmd(1, 1, 'a'), cmd(2, 1, 'b')] }));
    expect(app.applied).toEqual(['a', 'b']);
  });

  it('execution stops at the first undecided slot and resumes there, in slot order', () => {
    const app = new CountingApp();
    const r = new Replica(app);
    const decided = new Map<Slot, Batch>([
      [0, { commands: [cmd(1, 1, 's0')] }],
      [2, { commands: [cmd(1, 3, 's2')] }],
    ]);
    r.executeReady((s) => decided.get(s));
    expect(app.applied).toEqual(['s0']);
    expect(r.executedUpTo).toBe(1);
    decided.set(1, { commands: [cmd(1, 2, 's1')] });
    const executed = r.executeReady((s) => decided.get(s));
    expect(app.applied).toEqual(['s0', 's1', 's2']);
    expect(executed.map((e) => e.slot)).toEqual([1, 2]);
  });

  it('two replicas executing the same log (with duplicates) reach the same state digest', () => {
    const batches: Batch[] = [
      { commands: [kv(1, 1, { type: 'put', key: 'a', value: '1' })] },
      { commands: [kv(2, 1, { type: 'put', key: 'a', value: '2' }), kv(1, 1, { type: 'put', key: 'a', value: '1' })] },
      NOOP,
      { commands: [kv(1, 2, { type: 'cas', key: 'a', expected: '2', value: '3' })] },
    ];
    const x = new Replica(new KvStore());
    const y = new Replica(new KvStore());
    x.executeReady(log(...batches));
    y.executeReady(log(...batches.slice(0, 2)));
    y.executeReady(log(...batches));
    expect(Buffer.from(x.stateDigest()).toString('hex')).toBe(Buffer.from(y.stateDigest()).toString('hex'));
    const ref = new KvStore();
    for (const op of [
      { type: 'put', key: 'a', value: '1' },
      { type: 'put', key: 'a', value: '2' },
      { type: 'cas', key: 'a', expected: '2', value: '3' },
    ] satisfies KvOp[]) ref.apply(encodeKvOp(op));
    expect(Buffer.from(x.stateDigest()).toString('hex')).toBe(Buffer.from(ref.stateDigest()).toString('hex'));
  });

  it('a snapshot re-encodes only the parts that changed, and shares the rest with the last one', () => {
    const r = new Replica(new KvStore());
    r.executeReady(log({ commands: [kv(1, 1, { type: 'put', key: 'a', value: '1' })] }));
    const first = r.snapshot();
    r.executeReady(log({ commands: [kv(1, 1, { type: 'put', key: 'a', value: '1' })] }, { commands: [kv(2, 1, { type: 'put', key: 'b', value: '2' })] }));
    const second = r.snapshot();
    const changed = second.parts.map((part, i) => part !== first.parts[i]).flatMap((c, i) => (c ? [i] : []));
    // Client 2's session part and key b's part: nothing else was re-encoded.
    expect(changed).toContain(2 % SESSION_PARTS);
    expect(changed.length).toBeLessThanOrEqual(2);
    expect(second.executedUpTo).toBe(2);
    // The cached digests are those a fresh computation gives.
    expect(Buffer.from(snapshotOf(second.executedUpTo, second.parts).digest).toString('hex')).toBe(Buffer.from(second.digest).toString('hex'));
  });

  it('restore installs a snapshot whole (sessions, position, application), and refuses a malformed one changing nothing', () => {
    const a = new Replica(new KvStore());
    a.executeReady(log({ commands: [kv(7, 1, { type: 'put', key: 'k', value: 'v' })] }));
    const snapshot = a.snapshot();
    const b = new Replica(new KvStore());
    b.restore(snapshot);
    expect(b.executedUpTo).toBe(1);
    expect(b.lookup(7, 1, 1).kind).toBe('done');
    expect(Buffer.from(b.snapshot().digest).toString('hex')).toBe(Buffer.from(snapshot.digest).toString('hex'));
    const c = new Replica(new KvStore());
    // Client 7's session placed in the part of client 8.
    const misplaced = snapshot.parts.map((p, i) => (i === 8 ? snapshot.parts[7]! : i === 7 ? snapshot.parts[8]! : p));
    expect(() => c.restore(snapshotOf(1, misplaced))).toThrow(/belongs to part 7/);
    expect(() => c.restore(snapshotOf(1, snapshot.parts.slice(1)))).toThrow(/parts, expected/);
    expect(c.executedUpTo).toBe(0);
    expect(c.lookup(7, 1, 1).kind).toBe('new');
  });
});

describe('client sessions: one per client process, a bounded table evicted deterministically', () => {
  it('two sessions of one client each run their seq 1; a resend within a session still runs once', () => {
    const app = new CountingApp();
    const r = new Replica(app);
    // Before sessions, the second process's seq 1 was the first one's duplicate: served its cached reply, never run.
    const a = cmd(7, 1, 'from process a', 101);
    const b = cmd(7, 1, 'from process b', 202);
    const executed = r.executeReady(log({ commands: [a, b] }, { commands: [a, b, cmd(7, 1, 'a again', 101)] }));
    expect(app.applied).toEqual(['from process a', 'from process b']);
    expect(executed.map((e) => e.command.session)).toEqual([101, 202]);
    expect(r.lookup(7, 101, 1).kind).toBe('done');
    expect(r.lookup(7, 202, 1).kind).toBe('done');
  });

  it(`beyond ${CLIENT_SESSIONS_PER_CLIENT_MAX} sessions of a client, the least recently used is evicted; its later commands are answered evicted, not run`, () => {
    const app = new CountingApp();
    const r = new Replica(app);
    const opened = Array.from({ length: CLIENT_SESSIONS_PER_CLIENT_MAX }, (_, i) => cmd(7, 1, `open ${i}`, i));
    // Session 0 is used again, so session 1 is now the least recently used.
    r.executeReady(log({ commands: opened }, { commands: [cmd(7, 2, 'reuse 0', 0)] }));
    const before = app.applied.length;
    const results = r.executeReady((slot) => (slot === 2 ? { commands: [cmd(7, 1, 'one more', 99_999), cmd(7, 2, 'late', 1), cmd(7, 3, 'kept', 0)] } : undefined));
    expect(app.applied.slice(before)).toEqual(['one more', 'kept']);
    expect(results.map((e) => [e.command.session, e.result === null ? 'evicted' : 'ran'])).toEqual([
      [99_999, 'ran'],
      [1, 'evicted'],
      [0, 'ran'],
    ]);
    // Another client's sessions are its own.
    r.executeReady((slot) => (slot === 3 ? { commands: [cmd(8, 1, 'other client', 1)] } : undefined));
    expect(app.applied.at(-1)).toBe('other client');
  });

  it('a lagging replica calls an unknown session new; only execution, in log order, calls it evicted', () => {
    const r = new Replica(new CountingApp());
    expect(r.lookup(7, 5, 9)).toEqual({ kind: 'new' });
  });

  it('the table and its eviction order travel in snapshots: a restored replica evicts the same session next', () => {
    const full = Array.from({ length: CLIENT_SESSIONS_PER_CLIENT_MAX }, (_, i) => cmd(7, 1, `open ${i}`, i));
    const x = new Replica(new CountingApp());
    x.executeReady(log({ commands: full }, { commands: [cmd(7, 2, 'reuse 0', 0), cmd(3, 1, 'another client', 5)] }));
    const y = new Replica(new CountingApp());
    y.restore(x.snapshot());
    expect(y.snapshot()).toEqual(x.snapshot());
    const next: Batch = { commands: [cmd(7, 1, 'newcomer', 77_777), cmd(7, 2, 'evicted?', 1), cmd(7, 2, 'kept?', 2)] };
    const ran = (r: Replica) => r.executeReady((slot) => (slot === 2 ? next : undefined)).map((e) => e.result !== null);
    const onX = ran(x);
    expect(onX).toEqual([true, false, true]);
    expect(ran(y)).toEqual(onX);
    expect(y.snapshot()).toEqual(x.snapshot());
  });

  it('a session part listing a session twice, a client twice or out of order, or an empty client, is refused and changes nothing', () => {
    const r = new Replica(new CountingApp());
    // Clients 100 and 1124 share part 100 (client id mod SESSION_PARTS).
    r.executeReady(log({ commands: [cmd(100, 1, 'a', 200), cmd(100, 1, 'b', 201), cmd(100 + SESSION_PARTS, 1, 'c', 200)] }));
    const good = r.snapshot();
    expect(decodeSessionPart(good.parts[100]!, 100).map((c) => [c.clientId, c.sessions.map((e) => e.session)])).toEqual([
      [100, [200, 201]],
      [100 + SESSION_PARTS, [200]],
    ]);
    const entry = (session: number) => ({ session, seq: 1, result: new Uint8Array(0) });
    const withPart = (clients: Parameters<typeof encodeSessionPart>[0]) =>
      snapshotOf(good.executedUpTo, good.parts.map((p, i) => (i === 100 ? encodeSessionPart(clients) : p)));
    const before = r.snapshot();
    expect(() => r.restore(withPart([{ clientId: 100, sessions: [entry(200), entry(200)] }]))).toThrow(/client 100 lists a session twice$/);
    expect(() => r.restore(withPart([{ clientId: 100 + SESSION_PARTS, sessions: [entry(1)] }, { clientId: 100, sessions: [entry(1)] }]))).toThrow(/client 100 is not strictly ascending$/);
    expect(() => r.restore(withPart([{ clientId: 100, sessions: [] }]))).toThrow(/client 100 has no session$/);
    expect(r.snapshot()).toEqual(before);
  });
});

describe('validated proposals: what the replica asks the application', () => {
  it('every op but a membership command, which is the configuration\'s to judge', () => {
    const refuseAll = new (class extends KvStore {
      validate(): boolean {
        return false;
      }
    })();
    const replica = new Replica(refuseAll, new ConfigurationHistory([0, 1, 2], 5));
    const of = (op: Uint8Array): Command => ({ clientId: 1, session: 1, seq: 1, op, signature: new Uint8Array(0) });
    expect(replica.valid(of(encodeKvOp({ type: 'put', key: 'k', value: 'v' })))).toBe(false);
    expect(replica.valid(of(encodeMembershipChange({ kind: 'add', node: 3 })))).toBe(true);
    expect(replica.validBatch({ commands: [of(encodeMembershipChange({ kind: 'remove', node: 2 }))] })).toBe(true);
    expect(new Replica(new KvStore()).valid(of(encodeKvOp({ type: 'put', key: 'k', value: 'v' })))).toBe(true);
  });

  it('a static cluster refuses membership commands: its membership never changes', () => {
    const of = (op: Uint8Array): Command => ({ clientId: 1, session: 1, seq: 1, op, signature: new Uint8Array(0) });
    const replica = new Replica(new KvStore());
    expect(replica.refusal(of(encodeMembershipChange({ kind: 'add', node: 3 })))).toMatch(/static/);
    expect(replica.refusal(of(encodeKvOp({ type: 'put', key: 'k', value: 'v' })))).toBeNull();
  });
});

describe('membership results', () => {
  it('a replica answers a membership command with its slot and the members it takes effect with, or the same members if it does not apply', () => {
    const history = new ConfigurationHistory([0, 1, 2], 5);
    const replica = new Replica(new KvStore(), history);
    const command = (seq: number, op: Uint8Array): Command => ({ clientId: 1, session: 1, seq, op, signature: new Uint8Array(0) });
    const batches: Batch[] = [
      { commands: [command(1, encodeKvOp({ type: 'put', key: 'k', value: 'v' }))] },
      { commands: [command(2, encodeMembershipChange({ kind: 'add', node: 3 }))] },
      { commands: [command(3, encodeMembershipChange({ kind: 'remove', node: 4 }))] },
    ];
    batches.forEach((b, slot) => history.record(slot, b));
    const results = replica.executeReady((slot) => batches[slot]).map((e) => e.result!);
    expect(decodeMembershipResult(results[1]!)).toEqual({ slot: 1, members: [0, 1, 2, 3] });
    expect(decodeMembershipResult(results[2]!)).toEqual({ slot: 2, members: [0, 1, 2, 3] }); // n4 is no member: ignored
    expect(() => decodeMembershipResult(results[0]!)).toThrow(RangeError);
  });
});
