import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { kvModelStep } from '../../src/app/kv.ts';
import type { KvOp, KvResult } from '../../src/app/kv.ts';
import { checkLinearizable } from '../../src/sim/linearizability.ts';
import type { HistoryOp } from '../../src/sim/linearizability.ts';

const put = (value: string, key = 'k'): KvOp => ({ type: 'put', key, value });
const get = (key = 'k'): KvOp => ({ type: 'get', key });
const del = (key = 'k'): KvOp => ({ type: 'delete', key });
const cas = (expected: string | null, value: string, key = 'k'): KvOp => ({ type: 'cas', key, expected, value });
const r = (ok: boolean, value: string | null): KvResult => ({ ok, value });

let seqCounter = 0;
/** A completed op; client ids only label ops in details. */
function done(clientId: number, op: KvOp, invokedAt: number, completedAt: number, result: KvResult): HistoryOp {
  return { clientId, seq: seqCounter++, op, invokedAt, completedAt, result };
}
function pending(clientId: number, op: KvOp, invokedAt: number): HistoryOp {
  return { clientId, seq: seqCounter++, op, invokedAt, completedAt: null, result: null };
}

function expectOk(history: readonly HistoryOp[]): void {
  expect(checkLinearizable(history)).toEqual({ ok: true });
}
function expectViolation(history: readonly HistoryOp[], key = 'k'): string {
  const verdict = checkLinearizable(history);
  expect(verdict.ok).toBe(false);
  if (verdict.ok) throw new Error('unreachable');
  expect(verdict.key).toBe(key);
  expect(verdict.detail).not.toMatch(/\n/);
  expect(verdict.detail).toMatch(/not linearizable/);
  return verdict.detail;
}

/** Deterministic PRNG (mulberry32), so the large tests are reproducible. */
function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 2 ** 32;
  };
}

/**
 * Runs `ops` one after another against the model at times 10, 20, ...; each op's interval
 * is drawn around its execution point, so the history is linearizable by construction.
 */
function sequentialHistory(ops: readonly KvOp[], spread: number, random: () => number): HistoryOp[] {
  const state = new Map<string, string | null>();
  return ops.map((op, i) => {
    const at = 10 * (i + 1);
    const step = kvModelStep(state.get(op.key) ?? null, op);
    state.set(op.key, step.next);
    const invokedAt = at - Math.floor(random() * spread);
    return done(i % 10, op, invokedAt, at + Math.floor(random() * spread), step.result);
  });
}

function randomOps(count: number, random: () => number): KvOp[] {
  const ops: KvOp[] = [];
  for (let i = 0; i < count; i++) {
    const pick = random();
    const value = `v${i}`;
    if (pick < 0.35) ops.push(put(value));
    else if (pick < 0.7) ops.push(get());
    else if (pick < 0.8) ops.push(del());
    else ops.push(cas(random() < 0.3 ? null : `v${Math.floor(random() * i)}`, value));
  }
  return ops;
}

describe('checkLinearizable: valid histories', () => {
  it('accepts the empty history', () => {
    expectOk([]);
  });

  it('accepts a sequential history', () => {
    expectOk([
      done(1, get(), 0, 1, r(true, null)),
      done(1, put('a'), 2, 3, r(true, null)),
      done(2, put('b'), 4, 5, r(true, 'a')),
      done(1, cas('b', 'c'), 6, 7, r(true, 'b')),
      done(2, cas('b', 'd'), 8, 9, r(false, 'c')),
      done(1, del(), 10, 11, r(true, 'c')),
      done(2, del(), 12, 13, r(false, null)),
      done(1, cas(null, 'e'), 14, 15, r(true, null)),
      done(2, get(), 16, 17, r(true, 'e')),
    ]);
  });

  it('accepts concurrent ops whose results allow only one order', () => {
    // The second put saw the first, although it was invoked first.
    expectOk([
      done(1, put('y'), 0, 10, r(true, 'x')),
      done(2, put('x'), 1, 10, r(true, null)),
      done(3, get(), 11, 12, r(true, 'y')),
    ]);
    // Two concurrent puts, then a read that fixes which one went last.
    expectOk([
      done(1, put('x'), 0, 10, r(true, 'y')),
      done(2, put('y'), 0, 10, r(true, null)),
      done(3, get(), 20, 30, r(true, 'x')),
    ]);
  });

  it('accepts a read concurrent with a write seeing either value', () => {
    for (const seen of [null, 'a']) {
      expectOk([done(1, put('a'), 0, 10, r(true, null)), done(2, get(), 5, 15, r(true, seen))]);
    }
  });

  it('treats equal times as concurrent', () => {
    expectOk([done(1, put('a'), 0, 10, r(true, null)), done(2, get(), 10, 20, r(true, null))]);
  });

  it('checks keys independently', () => {
    expectOk([
      done(1, put('a', 'x'), 0, 1, r(true, null)),
      done(1, put('b', 'y'), 2, 3, r(true, null)),
      done(2, get('x'), 4, 5, r(true, 'a')),
      done(2, get('y'), 4, 5, r(true, 'b')),
    ]);
  });
});

describe('checkLinearizable: violations', () => {
  it('rejects a stale read after a completed write', () => {
    const detail = expectViolation([done(1, put('a'), 0, 1, r(true, null)), done(2, get(), 2, 3, r(true, null))]);
    expect(detail).toMatch(/c2#\d+ get\(\) -> ok=true value=absent \[2, 3\]/);
  });

  it('rejects a read of a value never written', () => {
    const detail = expectViolation([
      done(1, put('a'), 0, 10, r(true, null)),
      done(2, get(), 0, 10, r(true, 'ghost')),
    ]);
    expect(detail).toMatch(/"ghost"/);
  });

  it('rejects two cas ops succeeding from the same expected value', () => {
    expectViolation([
      done(1, put('a'), 0, 1, r(true, null)),
      done(2, cas('a', 'b'), 2, 10, r(true, 'a')),
      done(3, cas('a', 'c'), 2, 10, r(true, 'a')),
    ]);
    // Also with expected null: only one creator can win.
    expectViolation([done(2, cas(null, 'b'), 0, 10, r(true, null)), done(3, cas(null, 'c'), 0, 10, r(true, null))]);
  });

  it('rejects a lost write', () => {
    expectViolation([
      done(1, put('a'), 0, 1, r(true, null)),
      done(1, put('b'), 2, 3, r(true, 'a')),
      done(2, get(), 4, 5, r(true, 'a')),
    ]);
  });

  it('rejects a read one instant after a write completed', () => {
    expectViolation([done(1, put('a'), 0, 10, r(true, null)), done(2, get(), 11, 20, r(true, null))]);
  });

  it('rejects a read that goes back in time', () => {
    expectViolation([
      done(1, put('a'), 0, 1, r(true, null)),
      done(1, put('b'), 2, 20, r(true, 'a')),
      done(2, get(), 3, 4, r(true, 'b')),
      done(2, get(), 5, 6, r(true, 'a')),
    ]);
  });

  it('names the violating key among several', () => {
    expectViolation(
      [
        done(1, put('a', 'x'), 0, 1, r(true, null)),
        done(2, get('x'), 2, 3, r(true, 'a')),
        done(1, put('b', 'y'), 0, 1, r(true, null)),
        done(2, get('y'), 2, 3, r(true, null)),
      ],
      'y',
    );
  });

  it('rejects wrong results of failing ops', () => {
    expectViolation([done(1, del(), 0, 1, r(true, null))]);
    expectViolation([done(1, put('a'), 0, 1, r(true, null)), done(1, cas('b', 'c'), 2, 3, r(false, 'b'))]);
  });
});

describe('checkLinearizable: pending ops', () => {
  const base = [done(1, put('a'), 0, 1, r(true, null))];

  it('accepts a pending write that took effect', () => {
    expectOk([...base, pending(2, put('b'), 2), done(3, get(), 10, 11, r(true, 'b'))]);
  });

  it('accepts a pending write that never took effect', () => {
    expectOk([...base, pending(2, put('b'), 2), done(3, get(), 10, 11, r(true, 'a'))]);
  });

  it('accepts a pending write that takes effect late', () => {
    expectOk([...base, pending(2, put('b'), 2), done(3, get(), 10, 11, r(true, 'a')), done(3, get(), 20, 21, r(true, 'b'))]);
  });

  it('rejects a pending write seen before it was invoked', () => {
    expectViolation([...base, done(3, get(), 2, 3, r(true, 'b')), pending(2, put('b'), 4)]);
  });

  it('rejects a pending write that takes effect and is then undone', () => {
    expectViolation([...base, pending(2, put('b'), 2), done(3, get(), 10, 11, r(true, 'b')), done(3, get(), 20, 21, r(true, 'a'))]);
  });

  it('accepts pending gets and pending no-ops', () => {
    expectOk([...base, pending(2, get(), 2), pending(2, cas('z', 'q'), 3), done(3, get(), 10, 11, r(true, 'a'))]);
  });
});

describe('checkLinearizable: bounds and input checks', () => {
  it('reports an exhausted search as inconclusive, not as ok', () => {
    const history = [done(1, put('a'), 0, 1, r(true, null)), done(1, put('b'), 2, 3, r(true, 'a'))];
    const verdict = checkLinearizable(history, { maxStatesPerKey: 1 });
    expect(verdict).toMatchObject({ ok: false, key: 'k' });
    if (!verdict.ok) expect(verdict.detail).toMatch(/inconclusive/);
    expect(checkLinearizable(history, { maxStatesPerKey: 2 })).toEqual({ ok: true });
  });

  it('rejects malformed histories', () => {
    expect(() => checkLinearizable([done(1, get(), 5, 4, r(true, null))])).toThrow(/before its invocation/);
    expect(() => checkLinearizable([{ ...pending(1, get(), 0), result: r(true, null) }])).toThrow(/both completedAt and result/);
    expect(() => checkLinearizable([], { maxStatesPerKey: 0 })).toThrow(/maxStatesPerKey/);
  });
});

describe('checkLinearizable: scale', () => {
  it('checks ~200 ops on one key with heavy overlap quickly', () => {
    const random = rng(7);
    const history = sequentialHistory(randomOps(200, random), 80, random);
    const start = performance.now();
    expectOk(history);
    expect(performance.now() - start).toBeLessThan(2000);
  });

  it('checks 200 mutually concurrent ops on one key quickly', () => {
    const random = rng(11);
    const history = sequentialHistory(randomOps(200, random), 0, random).map((h) => ({ ...h, invokedAt: 0, completedAt: 10_000 }));
    const start = performance.now();
    expectOk(history);
    expect(performance.now() - start).toBeLessThan(2000);
  });

  it('finds a violation in a long history quickly', () => {
    const random = rng(13);
    const history = sequentialHistory(randomOps(200, random), 40, random);
    const last = history.length - 1;
    history[last] = { ...history[last]!, op: get(), result: r(true, 'never') };
    const start = performance.now();
    expectViolation(history);
    expect(performance.now() - start).toBeLessThan(2000);
  });
});

describe('checkLinearizable: properties', () => {
  const opArb: fc.Arbitrary<KvOp> = fc.oneof(
    fc.record({ type: fc.constant('put' as const), key: fc.constantFrom('a', 'b'), value: fc.constantFrom('x', 'y', 'z') }),
    fc.record({ type: fc.constant('get' as const), key: fc.constantFrom('a', 'b') }),
    fc.record({ type: fc.constant('delete' as const), key: fc.constantFrom('a', 'b') }),
    fc.record({
      type: fc.constant('cas' as const),
      key: fc.constantFrom('a', 'b'),
      expected: fc.constantFrom(null, 'x', 'y', 'z'),
      value: fc.constantFrom('x', 'y', 'z'),
    }),
  );
  // Each op runs at time 10 * (index + 1); before/after widen its interval around that point.
  const entryArb = fc.record({
    op: opArb,
    before: fc.nat({ max: 30 }),
    after: fc.nat({ max: 30 }),
    outcome: fc.constantFrom('completed', 'completed', 'completed', 'pending-applied', 'pending-lost'),
  });

  function build(entries: readonly { op: KvOp; before: number; after: number; outcome: string }[]): HistoryOp[] {
    const state = new Map<string, string | null>();
    return entries.map((e, i) => {
      const at = 10 * (i + 1);
      const invokedAt = at - e.before;
      if (e.outcome === 'pending-lost') return pending(i % 4, e.op, invokedAt);
      const step = kvModelStep(state.get(e.op.key) ?? null, e.op);
      state.set(e.op.key, step.next);
      if (e.outcome === 'pending-applied') return pending(i % 4, e.op, invokedAt);
      return done(i % 4, e.op, invokedAt, at + e.after, step.result);
    });
  }

  it('accepts every history produced by a sequential execution inside the intervals', () => {
    fc.assert(
      fc.property(fc.array(entryArb, { maxLength: 40 }), (entries) => {
        expect(checkLinearizable(build(entries))).toEqual({ ok: true });
      }),
    );
  });

  it('rejects such a history once one completed get returns a value never written', () => {
    fc.assert(
      fc.property(fc.array(entryArb, { maxLength: 40 }), fc.nat(), (entries, pick) => {
        const history = build(entries);
        const gets = history.flatMap((h, i) => (h.op.type === 'get' && h.result !== null ? [i] : []));
        fc.pre(gets.length > 0);
        const victim = gets[pick % gets.length]!;
        history[victim] = { ...history[victim]!, result: r(true, 'never') };
        const verdict = checkLinearizable(history);
        expect(verdict).toMatchObject({ ok: false, key: history[victim]!.op.key });
      }),
    );
  });
});

/** Exhaustive Wing & Gong search without memo or pruning: the reference for small histories. */
function bruteForceLinearizable(history: readonly HistoryOp[]): boolean {
  const taken = new Array<boolean>(history.length).fill(false);
  const search = (state: Map<string, string | null>): boolean => {
    const open = history.filter((h, i) => !taken[i] && h.completedAt !== null);
    if (open.length === 0) return true;
    const earliestReturn = Math.min(...open.map((h) => h.completedAt!));
    for (let i = 0; i < history.length; i++) {
      const h = history[i]!;
      // Real time: nothing may go before an op whose return precedes its invocation.
      if (taken[i] || h.invokedAt > earliestReturn) continue;
      const step = kvModelStep(state.get(h.op.key) ?? null, h.op);
      if (h.result !== null && (step.result.ok !== h.result.ok || step.result.value !== h.result.value)) continue;
      taken[i] = true;
      const nextState = new Map(state).set(h.op.key, step.next);
      if (search(nextState)) return true;
      taken[i] = false;
    }
    return false;
  };
  return search(new Map());
}

describe('checkLinearizable: agrees with exhaustive search', () => {
  const value = fc.constantFrom(null, 'x', 'y');
  const nonNull = fc.constantFrom('x', 'y');
  const opArb: fc.Arbitrary<KvOp> = fc.oneof(
    fc.record({ type: fc.constant('put' as const), key: fc.constantFrom('a', 'b'), value: nonNull }),
    fc.record({ type: fc.constant('get' as const), key: fc.constantFrom('a', 'b') }),
    fc.record({ type: fc.constant('delete' as const), key: fc.constantFrom('a', 'b') }),
    fc.record({ type: fc.constant('cas' as const), key: fc.constantFrom('a', 'b'), expected: value, value: nonNull }),
  );
  const entryArb = fc.record({
    op: opArb,
    invokedAt: fc.nat({ max: 12 }),
    length: fc.nat({ max: 6 }),
    result: fc.option(fc.record({ ok: fc.boolean(), value }), { nil: null, freq: 4 }),
  });

  it('on arbitrary small histories, valid or not', () => {
    fc.assert(
      fc.property(fc.array(entryArb, { maxLength: 7 }), (entries) => {
        const history: HistoryOp[] = entries.map((e, i) => ({
          clientId: i,
          seq: i,
          op: e.op,
          invokedAt: e.invokedAt,
          completedAt: e.result === null ? null : e.invokedAt + e.length,
          result: e.result,
        }));
        expect(checkLinearizable(history).ok).toBe(bruteForceLinearizable(history));
      }),
      { numRuns: 3000 },
    );
  });
});
