import { hash } from 'node:crypto';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { OP_BYTES_MAX, RESULT_BYTES_MAX, STATE_PART_BYTES_MAX } from '../../src/base/limits.ts';
import {
  KV_ERROR_RESULT,
  KV_KEY_BYTES_MAX,
  KV_OP_BYTES_MAX,
  KV_PARTS,
  KV_RESULT_BYTES_MAX,
  KV_VALUE_BYTES_MAX,
  KvStore,
  decodeKvOp,
  decodeKvResult,
  encodeKvOp,
  encodeKvResult,
  kvModelStep,
  kvPartOf,
} from '../../src/app/kv.ts';
import type { KvOp, KvResult } from '../../src/app/kv.ts';

function run(store: KvStore, op: KvOp): KvResult {
  return decodeKvResult(store.apply(encodeKvOp(op)));
}

const put = (key: string, value: string): KvOp => ({ type: 'put', key, value });
const get = (key: string): KvOp => ({ type: 'get', key });
const del = (key: string): KvOp => ({ type: 'delete', key });
const cas = (key: string, expected: string | null, value: string): KvOp => ({ type: 'cas', key, expected, value });

function hex(b: Uint8Array): string {
  return Buffer.from(b).toString('hex');
}

function parts(store: KvStore): Uint8Array[] {
  return Array.from({ length: store.partCount }, (_, i) => store.part(i));
}

/** A copy of `from`, through its parts. */
function restored(from: KvStore, keysMax?: number): KvStore {
  const store = new KvStore(keysMax);
  store.restore(parts(from));
  return store;
}

/** `count` distinct keys that all land in kvPartOf('k0')'s part: searched with node:crypto (fast), each confirmed by kvPartOf. */
function keysInOnePart(count: number): string[] {
  const keys: string[] = [];
  const top = (key: string) => hash('sha256', key, 'buffer').readUInt16BE(0);
  const target = top('k0') >>> 4;
  for (let i = 0; keys.length < count; i++) if (top(`k${i}`) >>> 4 === target) keys.push(`k${i}`);
  const part = kvPartOf(new TextEncoder().encode('k0'));
  for (const key of keys) expect(kvPartOf(new TextEncoder().encode(key))).toBe(part);
  return keys;
}

// Strings whose UTF-8 fits the bounds; includes astral characters and U+FEFF.
const keyArb = fc.string({ unit: 'grapheme', maxLength: 64 }).filter((s) => Buffer.byteLength(s) <= KV_KEY_BYTES_MAX);
const valueArb = fc.string({ unit: 'grapheme', maxLength: 256 }).filter((s) => Buffer.byteLength(s) <= KV_VALUE_BYTES_MAX);
const opArb: fc.Arbitrary<KvOp> = fc.oneof(
  fc.record({ type: fc.constant('put' as const), key: keyArb, value: valueArb }),
  fc.record({ type: fc.constant('get' as const), key: keyArb }),
  fc.record({ type: fc.constant('delete' as const), key: keyArb }),
  fc.record({ type: fc.constant('cas' as const), key: keyArb, expected: fc.option(valueArb, { nil: null }), value: valueArb }),
);

describe('KvStore semantics', () => {
  it('put returns the previous value', () => {
    const s = new KvStore();
    expect(run(s, put('a', '1'))).toEqual({ ok: true, value: null });
    expect(run(s, put('a', '2'))).toEqual({ ok: true, value: '1' });
    expect(s.get('a')).toBe('2');
    expect(s.size).toBe(1);
  });

  it('get returns the current value or null', () => {
    const s = new KvStore();
    expect(run(s, get('a'))).toEqual({ ok: true, value: null });
    run(s, put('a', 'x'));
    expect(run(s, get('a'))).toEqual({ ok: true, value: 'x' });
    expect(s.size).toBe(1);
  });

  it('delete reports whether the key existed and its previous value', () => {
    const s = new KvStore();
    expect(run(s, del('a'))).toEqual({ ok: false, value: null });
    run(s, put('a', 'x'));
    expect(run(s, del('a'))).toEqual({ ok: true, value: 'x' });
    expect(s.get('a')).toBeNull();
    expect(s.size).toBe(0);
  });

  it('cas succeeds only when the current value equals expected', () => {
    const s = new KvStore();
    run(s, put('a', 'x'));
    expect(run(s, cas('a', 'x', 'y'))).toEqual({ ok: true, value: 'x' });
    expect(s.get('a')).toBe('y');
    expect(run(s, cas('a', 'x', 'z'))).toEqual({ ok: false, value: 'y' });
    expect(s.get('a')).toBe('y');
    expect(run(s, cas('a', null, 'z'))).toEqual({ ok: false, value: 'y' });
    expect(s.get('a')).toBe('y');
  });

  it('cas with expected null creates an absent key and fails on a missing expected value', () => {
    const s = new KvStore();
    expect(run(s, cas('a', 'x', 'y'))).toEqual({ ok: false, value: null });
    expect(s.get('a')).toBeNull();
    expect(run(s, cas('a', null, 'y'))).toEqual({ ok: true, value: null });
    expect(s.get('a')).toBe('y');
  });

  it('the empty string is a value, distinct from absent', () => {
    const s = new KvStore();
    run(s, put('a', ''));
    expect(run(s, get('a'))).toEqual({ ok: true, value: '' });
    expect(run(s, cas('a', null, 'z'))).toEqual({ ok: false, value: '' });
    expect(run(s, cas('a', '', 'z'))).toEqual({ ok: true, value: '' });
  });

  it('refuses to create keys beyond the bound but still updates and deletes', () => {
    const s = new KvStore(2);
    run(s, put('a', '1'));
    run(s, put('b', '1'));
    expect(run(s, put('c', '1'))).toEqual({ ok: false, value: null });
    expect(run(s, cas('c', null, '1'))).toEqual({ ok: false, value: null });
    expect(s.get('c')).toBeNull();
    expect(run(s, put('a', '2'))).toEqual({ ok: true, value: '1' });
    run(s, del('b'));
    expect(run(s, put('c', '1'))).toEqual({ ok: true, value: null });
    expect(s.size).toBe(2);
  });

  it('the store agrees with kvModelStep on arbitrary op sequences', () => {
    const smallKey = fc.constantFrom('a', 'b');
    const smallValue = fc.constantFrom('', 'x', 'y');
    const smallOp: fc.Arbitrary<KvOp> = fc.oneof(
      fc.record({ type: fc.constant('put' as const), key: smallKey, value: smallValue }),
      fc.record({ type: fc.constant('get' as const), key: smallKey }),
      fc.record({ type: fc.constant('delete' as const), key: smallKey }),
      fc.record({ type: fc.constant('cas' as const), key: smallKey, expected: fc.option(smallValue, { nil: null }), value: smallValue }),
    );
    fc.assert(
      fc.property(fc.array(smallOp, { maxLength: 50 }), (ops) => {
        const s = new KvStore();
        const model = new Map<string, string | null>();
        for (const op of ops) {
          const step = kvModelStep(model.get(op.key) ?? null, op);
          model.set(op.key, step.next);
          expect(run(s, op)).toEqual(step.result);
          expect(s.get(op.key)).toBe(step.next);
        }
      }),
    );
  });
});

describe('KV codec', () => {
  it('op round-trips and encodes canonically', () => {
    fc.assert(
      fc.property(opArb, (op) => {
        const bytes = encodeKvOp(op);
        expect(bytes.length).toBeLessThanOrEqual(OP_BYTES_MAX);
        const decoded = decodeKvOp(bytes);
        expect(decoded).toEqual(op);
        expect(hex(encodeKvOp(decoded))).toBe(hex(bytes));
      }),
    );
  });

  it('result round-trips', () => {
    fc.assert(
      fc.property(fc.boolean(), fc.option(valueArb, { nil: null }), (ok, value) => {
        const bytes = encodeKvResult({ ok, value });
        expect(decodeKvResult(bytes)).toEqual({ ok, value });
      }),
    );
  });

  it('a leading U+FEFF survives the round trip', () => {
    const op = put('\uFEFFk', '\uFEFFv');
    expect(decodeKvOp(encodeKvOp(op))).toEqual(op);
  });

  it('maximal ops and results fit the consensus bounds', () => {
    expect(KV_OP_BYTES_MAX).toBeLessThanOrEqual(OP_BYTES_MAX);
    expect(KV_RESULT_BYTES_MAX).toBeLessThanOrEqual(RESULT_BYTES_MAX);
    const k = 'k'.repeat(KV_KEY_BYTES_MAX);
    const v = 'v'.repeat(KV_VALUE_BYTES_MAX);
    expect(encodeKvOp(cas(k, v, v)).length).toBe(KV_OP_BYTES_MAX);
    expect(encodeKvResult({ ok: true, value: v }).length).toBe(KV_RESULT_BYTES_MAX);
  });

  it('encode rejects oversize and ill-formed strings', () => {
    expect(() => encodeKvOp(get('k'.repeat(KV_KEY_BYTES_MAX + 1)))).toThrow(/key too long/);
    expect(() => encodeKvOp(put('k', 'v'.repeat(KV_VALUE_BYTES_MAX + 1)))).toThrow(/value too long/);
    // Multi-byte characters count by bytes, not code units.
    expect(() => encodeKvOp(get('é'.repeat(KV_KEY_BYTES_MAX / 2 + 1)))).toThrow(/key too long/);
    expect(() => encodeKvOp(get('\uD800'))).toThrow(/lone surrogate/);
  });

  it('decode rejects every strict prefix as truncated', () => {
    const bytes = encodeKvOp(cas('key', 'old', 'new'));
    for (let n = 0; n < bytes.length; n++) {
      expect(() => decodeKvOp(bytes.subarray(0, n))).toThrow(/truncated/);
    }
  });

  it('decode rejects trailing bytes', () => {
    const bytes = encodeKvOp(put('k', 'v'));
    const longer = new Uint8Array([...bytes, 0]);
    expect(() => decodeKvOp(longer)).toThrow(/1 trailing bytes/);
    const result = new Uint8Array([...encodeKvResult({ ok: true, value: null }), 7, 7]);
    expect(() => decodeKvResult(result)).toThrow(/2 trailing bytes/);
  });

  it('decode rejects unknown tags', () => {
    expect(() => decodeKvOp(new Uint8Array([0, 0, 0]))).toThrow(/unknown tag 0/);
    expect(() => decodeKvOp(new Uint8Array([99, 0, 0]))).toThrow(/unknown tag 99/);
  });

  it('decode rejects non-0/1 flag bytes', () => {
    const bytes = encodeKvOp(cas('k', null, 'v'));
    bytes[4] = 2;
    expect(() => decodeKvOp(bytes)).toThrow(/expected-present byte must be 0 or 1/);
    expect(() => decodeKvResult(new Uint8Array([2, 0]))).toThrow(/ok byte must be 0 or 1/);
  });

  it('decode rejects invalid UTF-8', () => {
    // get with a 1-byte key 0xFF.
    expect(() => decodeKvOp(new Uint8Array([2, 0, 1, 0xff]))).toThrow(/key is not valid UTF-8/);
    // Overlong encoding of '/' and an encoded surrogate are not canonical UTF-8 either.
    expect(() => decodeKvOp(new Uint8Array([2, 0, 2, 0xc0, 0xaf]))).toThrow(/not valid UTF-8/);
    expect(() => decodeKvOp(new Uint8Array([2, 0, 3, 0xed, 0xa0, 0x80]))).toThrow(/not valid UTF-8/);
    // put 'k' with value 0xFF.
    expect(() => decodeKvOp(new Uint8Array([1, 0, 1, 0x6b, 0, 1, 0xff]))).toThrow(/value is not valid UTF-8/);
  });

  it('decode rejects an oversize key or value before reading it', () => {
    const len = KV_KEY_BYTES_MAX + 1;
    expect(() => decodeKvOp(new Uint8Array([2, len >> 8, len & 0xff]))).toThrow(/key too long: 257 bytes > 256/);
    const vlen = KV_VALUE_BYTES_MAX + 1;
    expect(() => decodeKvOp(new Uint8Array([1, 0, 1, 0x6b, vlen >> 8, vlen & 0xff]))).toThrow(/value too long/);
  });
});

describe('KvStore as a state machine', () => {
  it('apply on garbage returns the error result and does not throw', () => {
    const s = new KvStore();
    run(s, put('a', '1'));
    const digest = hex(s.stateDigest());
    for (const garbage of [new Uint8Array([]), new Uint8Array([0xff]), new Uint8Array([1, 0, 9]), new Uint8Array(OP_BYTES_MAX + 1)]) {
      const out = s.apply(garbage);
      expect(hex(out)).toBe(hex(KV_ERROR_RESULT));
      expect(decodeKvResult(out)).toEqual({ ok: false, value: null });
    }
    expect(hex(s.stateDigest())).toBe(digest);
  });

  it('apply never throws on arbitrary bytes', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 64 }), (bytes) => {
        const out = new KvStore().apply(bytes);
        expect(() => decodeKvResult(out)).not.toThrow();
      }),
    );
  });

  it('the returned error result is a copy', () => {
    const out = new KvStore().apply(new Uint8Array([0xff]));
    out[0] = 9;
    expect(decodeKvResult(KV_ERROR_RESULT)).toEqual({ ok: false, value: null });
  });

  it('stateDigest depends only on the state, not on how it was reached', () => {
    const a = new KvStore();
    for (const op of [put('x', '1'), put('y', '2'), put('z', '3'), del('z')]) run(a, op);
    const b = new KvStore();
    for (const op of [put('y', '0'), put('x', '1'), cas('y', '0', '2'), get('w')]) run(b, op);
    expect(hex(a.stateDigest())).toBe(hex(b.stateDigest()));
    expect(a.stateDigest().length).toBe(32);

    const c = new KvStore();
    for (const op of [put('x', '1'), put('y', '3')]) run(c, op);
    expect(hex(c.stateDigest())).not.toBe(hex(a.stateDigest()));
    const d = new KvStore();
    run(d, put('x', '1'));
    expect(hex(d.stateDigest())).not.toBe(hex(a.stateDigest()));
    // Empty value versus absent key.
    const e = new KvStore();
    run(e, put('x', ''));
    expect(hex(e.stateDigest())).not.toBe(hex(new KvStore().stateDigest()));
  });

  it('stateDigest is order-independent for arbitrary insertion orders', () => {
    fc.assert(
      fc.property(fc.uniqueArray(fc.tuple(keyArb, valueArb), { selector: ([k]) => k, maxLength: 20 }), fc.nat(), (entries, seed) => {
        const a = new KvStore();
        for (const [k, v] of entries) run(a, put(k, v));
        const shuffled = [...entries];
        let r = seed;
        for (let i = shuffled.length - 1; i > 0; i--) {
          r = (r * 1103515245 + 12345) % 2 ** 31;
          const j = r % (i + 1);
          [shuffled[i], shuffled[j]] = [shuffled[j]!, shuffled[i]!];
        }
        const b = new KvStore();
        for (const [k, v] of shuffled) run(b, put(k, v));
        expect(hex(b.stateDigest())).toBe(hex(a.stateDigest()));
        expect(parts(b).map(hex)).toEqual(parts(a).map(hex));
      }),
    );
  });

  it('parts/restore round-trip', () => {
    fc.assert(
      fc.property(fc.array(opArb, { maxLength: 30 }), (ops) => {
        const s = new KvStore();
        for (const op of ops) run(s, op);
        const r = restored(s);
        expect(r.size).toBe(s.size);
        expect(r.stateBytes).toBe(s.stateBytes);
        expect(parts(r).map(hex)).toEqual(parts(s).map(hex));
        expect(hex(r.stateDigest())).toBe(hex(s.stateDigest()));
        for (const op of ops) expect(r.get(op.key)).toBe(s.get(op.key));
      }),
      // Each run encodes and decodes all KV_PARTS parts.
      { numRuns: 25 },
    );
  });

  it('reports exactly the parts a write changed, and none after a restore', () => {
    const s = new KvStore();
    run(s, put('a', '1'));
    run(s, put('b', '1'));
    run(s, get('c'));
    const a = kvPartOf(new TextEncoder().encode('a'));
    const b = kvPartOf(new TextEncoder().encode('b'));
    expect(s.takeChangedParts().sort()).toEqual([...new Set([a, b])].sort());
    expect(s.takeChangedParts()).toEqual([]);
    run(s, put('a', '1')); // the same value: nothing changed
    expect(s.takeChangedParts()).toEqual([]);
    const r = new KvStore();
    run(r, put('z', '1'));
    r.restore(parts(s));
    expect(r.takeChangedParts()).toEqual([]);
  });

  it('restore rejects non-canonical parts, changing nothing', () => {
    const keys = keysInOnePart(2).sort();
    const s = new KvStore();
    run(s, put(keys[0]!, '1'));
    run(s, put(keys[1]!, '2'));
    const index = kvPartOf(new TextEncoder().encode(keys[0]!));
    const good = parts(s);
    const withPart = (part: Uint8Array) => good.map((p, i) => (i === index ? part : p));
    const part = good[index]!;
    const target = new KvStore();
    run(target, put('kept', 'x'));
    expect(() => target.restore(withPart(part.subarray(0, part.length - 1)))).toThrow(/truncated/);
    expect(() => target.restore(withPart(new Uint8Array([...part, 0])))).toThrow(/trailing/);
    // The same entries in the wrong order.
    const swapped = encodePart([
      [keys[1]!, '2'],
      [keys[0]!, '1'],
    ]);
    expect(() => target.restore(withPart(swapped))).toThrow(/not strictly ascending/);
    // A key in a part its hash does not name.
    expect(() => target.restore(good.map((p, i) => (i === (index + 1) % KV_PARTS ? part : p)))).toThrow(/belongs to part/);
    expect(() => target.restore(good.slice(1))).toThrow(/parts, expected/);
    expect(() => new KvStore(1).restore(good)).toThrow(/2 keys > 1/);
    expect(() => new KvStore(undefined, 4).restore(good)).toThrow(/bytes of entries > 4/);
    expect(target.get('kept')).toBe('x');
    expect(target.size).toBe(1);
  });
});

/** A part's encoding, entries in the order given: u32 count, then u16-prefixed key and value. */
function encodePart(entries: [string, string][]): Uint8Array {
  const bytes: number[] = [0, 0, 0, entries.length];
  for (const [key, value] of entries) {
    for (const text of [key, value]) {
      const utf8 = new TextEncoder().encode(text);
      bytes.push(utf8.length >> 8, utf8.length & 0xff, ...utf8);
    }
  }
  return Uint8Array.from(bytes);
}

describe('KvStore state bound: a client-visible error, never a failure', () => {
  it('a write past stateBytesMax fails with {ok:false} and changes nothing; updates that fit and deletes still work', () => {
    // Each entry of a one-byte key and a 10-byte value takes 2 + 1 + 2 + 10 = 15 bytes.
    const s = new KvStore(undefined, 30);
    expect(run(s, put('a', '0123456789'))).toEqual({ ok: true, value: null });
    expect(run(s, put('b', '0123456789'))).toEqual({ ok: true, value: null });
    expect(s.stateBytes).toBe(30);
    expect(run(s, put('c', ''))).toEqual({ ok: false, value: null });
    expect(run(s, cas('c', null, ''))).toEqual({ ok: false, value: null });
    expect(run(s, put('a', '0123456789x'))).toEqual({ ok: false, value: null });
    expect(s.get('c')).toBeNull();
    expect(s.get('a')).toBe('0123456789');
    expect(s.takeChangedParts().length).toBeGreaterThan(0);
    expect(run(s, put('a', '012345678'))).toEqual({ ok: true, value: '0123456789' });
    expect(run(s, del('b'))).toEqual({ ok: true, value: '0123456789' });
    expect(run(s, put('c', '0123456789'))).toEqual({ ok: true, value: null });
    expect(s.stateBytes).toBe(29);
  });

  it('a write that would take its part past STATE_PART_BYTES_MAX fails, so every part fits a frame', () => {
    const value = 'v'.repeat(KV_VALUE_BYTES_MAX);
    const s = new KvStore();
    const keys = keysInOnePart(Math.ceil(STATE_PART_BYTES_MAX / (value.length + 8)) + 1);
    const results = keys.map((key) => run(s, put(key, value)));
    const refused = results.findIndex((r) => !r.ok);
    expect(refused).toBeGreaterThan(0);
    expect(results.slice(refused).every((r) => !r.ok)).toBe(true);
    const index = kvPartOf(new TextEncoder().encode(keys[0]!));
    expect(s.part(index).length).toBeLessThanOrEqual(STATE_PART_BYTES_MAX);
    expect(s.part(index).length + value.length + 4 + 8).toBeGreaterThan(STATE_PART_BYTES_MAX);
    // Other parts still take writes.
    expect(run(s, put('elsewhere', value)).ok).toBe(true);
  });
});
