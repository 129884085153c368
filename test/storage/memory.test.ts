// What survives a crash (seed 004 "persistent storage"; PROTOCOL.md "What a node persists"):
// the records a node emits, folded by StateAccumulator, loaded by MemoryStorage.
import type { Ballot } from '../../src/base/types.ts';
import { describe, expect, it } from 'vitest';
import { BOTTOM } from '../../src/base/ballot.ts';
import { NOOP, type Batch } from '../../src/base/types.ts';
import { MemoryStorage } from '../../src/storage/memory.ts';
import { StateAccumulator, emptyState } from '../../src/core/storage.ts';

const b = (round: number, leader: number): Ballot => ({ round, leader });
const batch = (op: number): Batch => ({ commands: [{ clientId: 1, session: 1, seq: op, op: Uint8Array.of(op), signature: new Uint8Array(0) }] });

describe('StateAccumulator / MemoryStorage', () => {
  it('an empty storage loads as the initial state: promised ⊥, round 0, nothing accepted or decided', () => {
    const s = new MemoryStorage().load();
    expect(s).toEqual(emptyState());
    expect(s.promised).toEqual(BOTTOM);
    expect(s.round).toBe(0);
    expect(s.accepted.size).toBe(0);
    expect(s.decided.size).toBe(0);
  });

  it('promised only moves up, even if records are applied out of order', () => {
    const acc = new StateAccumulator();
    acc.applyRecord({ type: 'promised', ballot: b(3, 1) });
    acc.applyRecord({ type: 'promised', ballot: b(2, 2) });
    acc.applyRecord({ type: 'promised', ballot: b(3, 0) });
    expect(acc.snapshot().promised).toEqual(b(3, 1));
    acc.applyRecord({ type: 'promised', ballot: b(3, 2) });
    expect(acc.snapshot().promised).toEqual(b(3, 2));
  });

  it('the persisted round is the highest ever used, so a restarted proposer never reuses a ballot', () => {
    const acc = new StateAccumulator();
    acc.applyRecord({ type: 'round', round: 5 });
    acc.applyRecord({ type: 'round', round: 4 });
    expect(acc.snapshot().round).toBe(5);
  });

  it('the latest accepted pvalue per slot and every decided entry are kept', () => {
    const storage = new MemoryStorage();
    storage.apply([
      { type: 'accepted', pvalue: { ballot: b(1, 0), slot: 0, batch: batch(1) } },
      { type: 'accepted', pvalue: { ballot: b(1, 0), slot: 1, batch: batch(2) } },
      { type: 'accepted', pvalue: { ballot: b(2, 1), slot: 0, batch: batch(3) } },
      { type: 'decided', slot: 0, batch: batch(3) },
      { type: 'decided', slot: 4, batch: NOOP },
    ]);
    const s = storage.load();
    expect(s.accepted.get(0)).toEqual({ ballot: b(2, 1), slot: 0, batch: batch(3) });
    expect(s.accepted.get(1)?.batch).toEqual(batch(2));
    expect([...s.decided.keys()].sort()).toEqual([0, 4]);
    expect(storage.writes).toBe(5);
  });

  it('a loaded state is a snapshot: later writes do not change it, and changing it does not change the storage', () => {
    const storage = new MemoryStorage();
    storage.apply([{ type: 'decided', slot: 0, batch: NOOP }]);
    const first = storage.load();
    storage.apply([
      { type: 'decided', slot: 1, batch: NOOP },
      { type: 'promised', ballot: b(1, 1) },
    ]);
    expect(first.decided.size).toBe(1);
    expect(first.promised).toEqual(BOTTOM);
    (first.decided as Map<number, Batch>).set(9, NOOP);
    expect(storage.load().decided.has(9)).toBe(false);
    expect(storage.load().decided.size).toBe(2);
  });
});
