// The acceptor's rules from seed 002 (P1a, P2c), one test per rule, plus crash recovery
// through the persisted records (seed 004: "persistent storage").
import type { Ballot, Batch, PValue, Slot } from '../../src/base/types.ts';
import { describe, expect, it } from 'vitest';
import { Acceptor } from '../../src/core/acceptor.ts';
import { BOTTOM } from '../../src/base/ballot.ts';
import type { PersistRecord } from '../../src/core/effects.ts';
import { BATCH_COMMANDS_MAX, FRAME_BYTES_MAX, OP_BYTES_MAX, PROMISE_PVALUES_MAX } from '../../src/base/limits.ts';
import { encodeMessage } from '../../src/messages/codec.ts';
import type { Accept, Prepare } from '../../src/messages/types.ts';
import { MemoryStorage } from '../../src/storage/memory.ts';
import { StateAccumulator, emptyState } from '../../src/core/storage.ts';

const b = (round: number, leader: number): Ballot => ({ round, leader });
const batch = (tag: string): Batch => ({
  commands: [{ clientId: 1, session: 1, seq: tag.length, op: new TextEncoder().encode(tag), signature: new Uint8Array(0) }],
});
const prepare = (ballot: Ballot, fromSlot = 0): Prepare => ({ type: 'prepare', ballot, fromSlot });
const accept = (ballot: Ballot, slot: Slot, value: Batch): Accept => ({
  type: 'accept',
  ballot,
  slot,
  batch: value,
  decidedUpTo: 0,
});

function fresh(): Acceptor {
  const s = emptyState();
  return new Acceptor(s.promised, s.accepted);
}

/** An acceptor that has promised `promised` and accepted nothing. */
function promisedTo(promised: Ballot): Acceptor {
  const a = fresh();
  const r = a.onPrepare(prepare(promised), 0);
  expect(r.ok).toBe(true);
  return a;
}

describe('seed 002 P1a: an acceptor promises a ballot only if it exceeds every ballot it promised', () => {
  it('seed 001/002: a fresh acceptor (promised ⊥) promises the first real ballot and persists the promise', () => {
    const a = fresh();
    expect(a.promised).toEqual(BOTTOM);
    const r = a.onPrepare(prepare(b(1, 0), 0), 0);
    expect(r.ok).toBe(true);
    if (!r.ok) return;
    expect(r.reply).toMatchObject({ type: 'promise', ballot: b(1, 0), fromSlot: 0, accepted: [], truncated: false });
    expect(r.persist).toEqual([{ type: 'promised', ballot: b(1, 0) }]);
    expect(a.promised).toEqual(b(1, 0));
  });

  it('seed 002 P1a: a strictly higher ballot (higher round, or same round and higher leader) is promised', () => {
    const a = promisedTo(b(3, 1));
    expect(a.onPrepare(prepare(b(3, 2)), 0).ok).toBe(true);
    expect(a.promised).toEqual(b(3, 2));
    expect(a.onPrepare(prepare(b(4, 0)), 0).ok).toBe(true);
    expect(a.promised).toEqual(b(4, 0));
  });

  it.each([
    ['an equal ballot', b(3, 1)],
    ['a lower round', b(2, 2)],
    ['the same round with a lower leader', b(3, 0)],
  ])('seed 002 P1a: %s is refused with a Nack carrying the promised ballot, and nothing is persisted', (_, lower) => {
    const a = promisedTo(b(3, 1));
    const r = a.onPrepare(prepare(lower), 7);
    expect(r.ok).toBe(false);
    expect(r.reply).toEqual({ type: 'nack', ballot: lower, promised: b(3, 1) });
    expect('persist' in r).toBe(false);
    expect(a.promised).toEqual(b(3, 1));
  });

  it('seed 002 P1b: the Promise reports every accepted pvalue at slots >= fromSlot, each with its own ballot', () => {
    const a = promisedTo(b(1, 0));
    expect(a.onAccept(accept(b(1, 0), 3, batch('three'))).ok).toBe(true);
    expect(a.onAccept(accept(b(1, 0), 5, batch('five'))).ok).toBe(true);
    expect(a.onPrepare(prepare(b(2, 1)), 0).ok).toBe(true);
    expect(a.onAccept(accept(b(2, 1), 7, batch('seven'))).ok).toBe(true);
    expect(a.onAccept(accept(b(2, 1), 9, batch('nine'))).ok).toBe(true);

    const r = a.onPrepare(prepare(b(3, 2), 5), 4);
    expect(r.ok).toBe(true);
    if (!r.ok) return;
    expect(r.reply.fromSlot).toBe(5);
    expect(r.reply.decidedUpTo).toBe(4);
    expect(r.reply.truncated).toBe(false);
    // Slot 3 lies below fromSlot and is left out; the rest come in slot order with their ballots.
    expect(r.reply.accepted).toEqual([
      { ballot: b(1, 0), slot: 5, batch: batch('five') },
      { ballot: b(2, 1), slot: 7, batch: batch('seven') },
      { ballot: b(2, 1), slot: 9, batch: batch('nine') },
    ]);
  });

  it('seed 002 P1b: a Promise reports only the latest (highest-ballot) pvalue accepted at a slot', () => {
    const a = promisedTo(b(1, 0));
    a.onAccept(accept(b(1, 0), 0, batch('old')));
    a.onAccept(accept(b(2, 1), 0, batch('new')));
    const r = a.onPrepare(prepare(b(3, 0)), 0);
    expect(r.ok && r.reply.accepted).toEqual([{ ballot: b(2, 1), slot: 0, batch: batch('new') }]);
  });

  it('a Promise carrying more than PROMISE_PVALUES_MAX pvalues is truncated to the lowest slots and says so', () => {
    const a = promisedTo(b(1, 0));
    for (let s = 0; s <= PROMISE_PVALUES_MAX; s++) a.onAccept(accept(b(1, 0), s, batch('x')));
    const r = a.onPrepare(prepare(b(2, 0)), 0);
    expect(r.ok).toBe(true);
    if (!r.ok) return;
    expect(r.reply.truncated).toBe(true);
    expect(r.reply.accepted.length).toBe(PROMISE_PVALUES_MAX);
    expect(r.reply.accepted[0]!.slot).toBe(0);
    expect(r.reply.accepted.at(-1)!.slot).toBe(PROMISE_PVALUES_MAX - 1);
    // From slot 1 on there are exactly PROMISE_PVALUES_MAX: not truncated.
    const r2 = a.onPrepare(prepare(b(3, 0), 1), 0);
    expect(r2.ok && r2.reply.truncated).toBe(false);
  });

  it('a Promise whose accepted batches would exceed one frame carries what fits and says truncated', () => {
    const a = promisedTo(b(1, 0));
    // Eight slots of nearly a quarter frame each (any Accept that decoded could be this large).
    const big: Batch = {
      commands: Array.from({ length: BATCH_COMMANDS_MAX / 4 }, (_, i) => ({ clientId: 1, session: 1, seq: i + 1, op: new Uint8Array(OP_BYTES_MAX), signature: new Uint8Array(0) })),
    };
    for (let s = 0; s < 8; s++) a.onAccept(accept(b(1, 0), s, big));
    const r = a.onPrepare(prepare(b(2, 0)), 0);
    expect(r.ok).toBe(true);
    if (!r.ok) return;
    expect(encodeMessage(r.reply).length).toBeLessThanOrEqual(FRAME_BYTES_MAX);
    expect(r.reply.truncated).toBe(true);
    expect(r.reply.accepted.map((p) => p.slot)).toEqual([0, 1, 2]);
  });
});

describe('seed 002 P2c: an acceptor accepts (b, s, v) iff it has not promised a ballot higher than b', () => {
  it('seed 002 P2c: accepts in exactly the promised ballot, persists the pvalue, leaves promised alone', () => {
    const a = promisedTo(b(2, 1));
    const r = a.onAccept(accept(b(2, 1), 4, batch('v')));
    expect(r.ok).toBe(true);
    if (!r.ok) return;
    const pv: PValue = { ballot: b(2, 1), slot: 4, batch: batch('v') };
    expect(r.reply).toEqual(pv);
    expect(r.persist).toEqual([{ type: 'accepted', pvalue: pv }]);
    expect(a.promised).toEqual(b(2, 1));
    expect(a.acceptedAt(4)).toEqual(pv);
  });

  it('seed 002 P1: a fresh acceptor accepts the first proposal it receives (no Prepare needed)', () => {
    const a = fresh();
    const r = a.onAccept(accept(b(1, 2), 0, batch('first')));
    expect(r.ok).toBe(true);
    expect(a.acceptedAt(0)?.ballot).toEqual(b(1, 2));
  });

  it.each([
    ['a lower round', b(1, 2)],
    ['the same round with a lower leader', b(2, 0)],
  ])('seed 002 P2c: an Accept in %s than promised is refused with a Nack and changes nothing', (_, lower) => {
    const a = promisedTo(b(2, 1));
    a.onAccept(accept(b(2, 1), 4, batch('kept')));
    const r = a.onAccept(accept(lower, 4, batch('intruder')));
    expect(r.ok).toBe(false);
    expect(r.reply).toEqual({ type: 'nack', ballot: lower, promised: b(2, 1) });
    expect(a.acceptedAt(4)).toEqual({ ballot: b(2, 1), slot: 4, batch: batch('kept') });
    expect(a.promised).toEqual(b(2, 1));
    // Nor does it accept at a fresh slot.
    expect(a.onAccept(accept(lower, 5, batch('intruder'))).ok).toBe(false);
    expect(a.acceptedAt(5)).toBeUndefined();
  });

  it('seed 002 P2c: accepting a higher ballot raises promised, and both changes are persisted', () => {
    const a = promisedTo(b(2, 1));
    const r = a.onAccept(accept(b(5, 0), 1, batch('w')));
    expect(r.ok).toBe(true);
    if (!r.ok) return;
    expect(a.promised).toEqual(b(5, 0));
    expect(r.persist).toEqual([
      { type: 'promised', ballot: b(5, 0) },
      { type: 'accepted', pvalue: { ballot: b(5, 0), slot: 1, batch: batch('w') } },
    ]);
    // The raised promise now fences off the ballot promised before.
    expect(a.onAccept(accept(b(2, 1), 2, batch('late'))).ok).toBe(false);
    expect(a.onPrepare(prepare(b(5, 0)), 0).ok).toBe(false);
  });

  it('a higher ballot overwrites the pvalue accepted at the same slot', () => {
    const a = promisedTo(b(1, 0));
    a.onAccept(accept(b(1, 0), 0, batch('a')));
    const r = a.onAccept(accept(b(1, 1), 0, batch('b')));
    expect(r.ok && r.persist.map((p) => p.type)).toEqual(['promised', 'accepted']);
    expect(a.acceptedAt(0)).toEqual({ ballot: b(1, 1), slot: 0, batch: batch('b') });
  });

  it('a retransmitted Accept of the same ballot is accepted again but persists nothing', () => {
    const a = promisedTo(b(2, 1));
    expect(a.onAccept(accept(b(2, 1), 4, batch('v'))).ok).toBe(true);
    const again = a.onAccept(accept(b(2, 1), 4, batch('v')));
    expect(again.ok).toBe(true);
    if (!again.ok) return;
    expect(again.persist).toEqual([]);
    expect(again.reply).toEqual({ ballot: b(2, 1), slot: 4, batch: batch('v') });
  });
});

describe('seed 004 "persistent storage": promised and accepted survive a crash', () => {
  /** Drive an acceptor, applying every returned record to `sink`, as the driver must. */
  function script(a: Acceptor, sink: (records: readonly PersistRecord[]) => void): void {
    const steps: (() => ReturnType<Acceptor['onAccept']> | ReturnType<Acceptor['onPrepare']>)[] = [
      () => a.onPrepare(prepare(b(1, 0)), 0),
      () => a.onAccept(accept(b(1, 0), 0, batch('zero'))),
      () => a.onAccept(accept(b(1, 0), 1, batch('one'))),
      () => a.onAccept(accept(b(1, 0), 1, batch('one'))),
      () => a.onPrepare(prepare(b(2, 2)), 0),
      () => a.onAccept(accept(b(1, 0), 2, batch('refused'))),
      () => a.onAccept(accept(b(2, 2), 1, batch('one-bis'))),
      () => a.onAccept(accept(b(3, 1), 3, batch('three'))),
      () => a.onPrepare(prepare(b(2, 0)), 0),
    ];
    for (const step of steps) {
      const r = step();
      if (r.ok) sink(r.persist);
    }
  }

  /** Same questions to both acceptors must get the same answers. */
  function expectSameBehaviour(restored: Acceptor, original: Acceptor): void {
    expect(restored.promised).toEqual(original.promised);
    for (let s = 0; s <= 4; s++) expect(restored.acceptedAt(s)).toEqual(original.acceptedAt(s));
    // Then feed both the same further inputs (this mutates them alike): same answers.
    const probes: Ballot[] = [b(3, 0), b(3, 1), b(3, 2), b(2, 9), b(4, 0)];
    for (const p of probes) {
      expect(restored.onPrepare(prepare(p, 0), 0)).toEqual(original.onPrepare(prepare(p, 0), 0));
      expect(restored.onAccept(accept(p, 9, batch('probe')))).toEqual(original.onAccept(accept(p, 9, batch('probe'))));
    }
    expect(restored.promised).toEqual(original.promised);
  }

  it('seed 004: an acceptor rebuilt from StateAccumulator(records) equals the one that emitted them', () => {
    const original = fresh();
    const acc = new StateAccumulator();
    script(original, (records) => records.forEach((r) => acc.applyRecord(r)));
    const state = acc.snapshot();
    expect(state.promised).toEqual(b(3, 1));
    expect([...state.accepted.keys()].sort()).toEqual([0, 1, 3]);
    const restored = new Acceptor(state.promised, state.accepted);
    expectSameBehaviour(restored, original);
  });

  it('seed 004: after a "crash", an acceptor loaded from MemoryStorage keeps its promise and its accepted values', () => {
    const storage = new MemoryStorage();
    const before = fresh();
    script(before, (records) => storage.apply(records));
    // Crash: drop `before`, keep only the storage.
    const state = storage.load();
    const after = new Acceptor(state.promised, state.accepted);
    // The promise it made before the crash still binds it.
    const stale = after.onAccept(accept(b(2, 2), 4, batch('stale')));
    expect(stale.ok).toBe(false);
    expect(stale.reply).toEqual({ type: 'nack', ballot: b(2, 2), promised: b(3, 1) });
    // And a new leader's phase 1 still learns what was accepted before the crash.
    const p = after.onPrepare(prepare(b(9, 0), 0), 0);
    expect(p.ok && p.reply.accepted.map((pv) => [pv.slot, pv.ballot.round])).toEqual([
      [0, 1],
      [1, 2],
      [3, 3],
    ]);
    // A second restart from the same storage behaves exactly like the acceptor that crashed.
    const again = storage.load();
    expectSameBehaviour(new Acceptor(again.promised, again.accepted), before);
  });

  it('seed 004: a state change is never lost — every change to promised/accepted is in the records', () => {
    // Compare after every single step, not just at the end.
    const live = fresh();
    const acc = new StateAccumulator();
    const ballots = [b(1, 0), b(1, 2), b(2, 1), b(1, 1), b(3, 0), b(2, 2)];
    let i = 0;
    for (const x of ballots) {
      for (const y of ballots) {
        const r = i++ % 2 === 0 ? live.onPrepare(prepare(x), 0) : live.onAccept(accept(y, i % 3, batch(`v${i}`)));
        if (r.ok) r.persist.forEach((rec) => acc.applyRecord(rec));
        const snap = acc.snapshot();
        expect(snap.promised).toEqual(live.promised);
        for (let s = 0; s < 3; s++) expect(snap.accepted.get(s)).toEqual(live.acceptedAt(s));
      }
    }
  });
});

describe('crash-mode truncation: an acceptor forgets pvalues only below its snapshot, and says so', () => {
  it('a Prepare from below logFrom gets a `truncated` Promise reporting nothing; from logFrom on, every pvalue held', () => {
    const a = fresh();
    for (let slot = 0; slot < 10; slot++) expect(a.onAccept(accept(b(1, 0), slot, batch(`v${slot}`))).ok).toBe(true);
    a.truncateBelow(6);
    expect(a.logFrom).toBe(6);
    expect(a.acceptedCount).toBe(4);
    expect(a.acceptedAt(5)).toBeUndefined();
    const below = a.onPrepare(prepare(b(2, 1), 5), 5);
    expect(below.ok && below.reply).toMatchObject({ accepted: [], truncated: true });
    const from = a.onPrepare(prepare(b(3, 1), 6), 6);
    expect(from.ok && from.reply.truncated).toBe(false);
    expect(from.ok && from.reply.accepted.map((pv) => pv.slot)).toEqual([6, 7, 8, 9]);
  });

  it('truncation never moves back', () => {
    const a = fresh();
    a.truncateBelow(8);
    a.truncateBelow(3);
    expect(a.logFrom).toBe(8);
  });
});
