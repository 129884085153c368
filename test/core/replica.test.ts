// Seed 001 "Clients": a command (κ, cid, op) takes effect exactly once, whatever the log holds.
import { describe, expect, it } from 'vitest';
import { KvStore, decodeKvResult, encodeKvOp, type KvOp } from '../../src/app/kv.ts';
import type { StateMachine } from '../../src/app/state-machine.ts';
import { SESSION_PARTS } from '../../src/core/limits.ts';
import { Replica, snapshotOf } from '../../src/core/replica.ts';
import { NOOP, type Batch, type Command, type Slot } from '../../src/core/types.ts';

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

const cmd = (clientId: number, seq: number, op: string): Command => ({
  clientId,
  seq,
  op: new TextEncoder().encode(op),
  signature: new Uint8Array(0),
});
const kv = (clientId: number, seq: number, op: KvOp): Command => ({ clientId, seq, op: encodeKvOp(op), signature: new Uint8Array(0) });

function log(...batches: Batch[]): (slot: Slot) => Batch | undefined {
  return (slot) => batches[slot];
}

describe('seed 001 client sessions: exactly-once execution', () => {
  it('seed 001: the same (clientId, seq) decided in two slots is applied once', () => {
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
    r.executeReady(log({ commands: [cmd(7, 2, 'second')] }, { commands: [cmd(7, 1, 'first')] }));
    expect(app.applied).toEqual(['second']);
    expect(r.lookup(7, 1)).toEqual({ kind: 'stale' });
  });

  it('seed 001: lookup says "done" with the cached result for the last executed seq, "new" above it', () => {
    const store = new KvStore();
    const r = new Replica(store);
    expect(r.lookup(7, 1)).toEqual({ kind: 'new' });
    const executed = r.executeReady(
      log({ commands: [kv(7, 1, { type: 'put', key: 'k', value: 'v1' }), kv(7, 2, { type: 'put', key: 'k', value: 'v2' })] }),
    );
    expect(executed.map((e) => decodeKvResult(e.result))).toEqual([
      { ok: true, value: null },
      { ok: true, value: 'v1' },
    ]);
    const done = r.lookup(7, 2);
    expect(done.kind).toBe('done');
    if (done.kind === 'done') expect(decodeKvResult(done.result)).toEqual({ ok: true, value: 'v1' });
    expect(r.lookup(7, 1)).toEqual({ kind: 'stale' });
    expect(r.lookup(7, 3)).toEqual({ kind: 'new' });
    expect(r.lookup(8, 1)).toEqual({ kind: 'new' });
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
    a.executeReady(log({ commands: [kv(7, 3, { type: 'put', key: 'k', value: 'v' })] }));
    const snapshot = a.snapshot();
    const b = new Replica(new KvStore());
    b.restore(snapshot);
    expect(b.executedUpTo).toBe(1);
    expect(b.lookup(7, 3).kind).toBe('done');
    expect(Buffer.from(b.snapshot().digest).toString('hex')).toBe(Buffer.from(snapshot.digest).toString('hex'));
    const c = new Replica(new KvStore());
    // Client 7's session placed in the part of client 8.
    const misplaced = snapshot.parts.map((p, i) => (i === 8 ? snapshot.parts[7]! : i === 7 ? snapshot.parts[8]! : p));
    expect(() => c.restore(snapshotOf(1, misplaced))).toThrow(/belongs to part 7/);
    expect(() => c.restore(snapshotOf(1, snapshot.parts.slice(1)))).toThrow(/parts, expected/);
    expect(c.executedUpTo).toBe(0);
    expect(c.lookup(7, 3).kind).toBe('new');
  });
});
