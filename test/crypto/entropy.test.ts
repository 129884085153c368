import { createHmac } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { DERIVED_KEY_BYTES_MIN, ENTROPY_BYTES_MAX, derivedEntropy, systemEntropy, toHex } from '../../crypto/index.ts';

const key = (fill: number): Uint8Array => new Uint8Array(DERIVED_KEY_BYTES_MIN).fill(fill);

/** HMAC-SHA256(key, u64(call) ‖ u32(block)) through node:crypto, independent of the code under test. */
function block(k: Uint8Array, call: number, index: number): Buffer {
  const input = Buffer.alloc(12);
  input.writeBigUInt64BE(BigInt(call), 0);
  input.writeUInt32BE(index, 8);
  return createHmac('sha256', k).update(input).digest();
}

describe('systemEntropy', () => {
  it('returns the requested number of bytes, different every call', () => {
    const seen = new Set<string>();
    for (let i = 0; i < 100; i++) {
      const bytes = systemEntropy.bytes(32);
      expect(bytes.length).toBe(32);
      seen.add(toHex(bytes));
    }
    expect(seen.size).toBe(100);
  });

  it('refuses lengths getRandomValues cannot serve', () => {
    expect(systemEntropy.bytes(0).length).toBe(0);
    expect(systemEntropy.bytes(ENTROPY_BYTES_MAX).length).toBe(ENTROPY_BYTES_MAX);
    for (const bad of [-1, 1.5, ENTROPY_BYTES_MAX + 1, Number.NaN]) expect(() => systemEntropy.bytes(bad)).toThrow(RangeError);
  });
});

describe('derivedEntropy', () => {
  it('is HMAC-SHA256(key, u64(call) ‖ u32(block)), truncated to the length asked', () => {
    const source = derivedEntropy(key(7));
    expect(toHex(source.bytes(32))).toBe(block(key(7), 0, 0).toString('hex'));
    expect(toHex(source.bytes(40))).toBe(Buffer.concat([block(key(7), 1, 0), block(key(7), 1, 1)]).subarray(0, 40).toString('hex'));
    expect(toHex(source.bytes(5))).toBe(block(key(7), 2, 0).subarray(0, 5).toString('hex'));
  });

  it('replays: the same key gives the same sequence', () => {
    const a = derivedEntropy(key(1));
    const b = derivedEntropy(key(1));
    for (let i = 0; i < 10; i++) expect(toHex(a.bytes(32))).toBe(toHex(b.bytes(32)));
  });

  it('a different key gives a different sequence, and no call repeats an earlier one', () => {
    const a = derivedEntropy(key(1));
    const b = derivedEntropy(key(2));
    const seen = new Set<string>();
    for (let i = 0; i < 50; i++) {
      seen.add(toHex(a.bytes(32)));
      seen.add(toHex(b.bytes(32)));
    }
    expect(seen.size).toBe(100);
  });

  it('copies the key: changing the caller\'s array afterwards changes nothing', () => {
    const k = key(3);
    const source = derivedEntropy(k);
    k.fill(0);
    expect(toHex(source.bytes(32))).toBe(block(key(3), 0, 0).toString('hex'));
  });

  it('refuses a short key and bad lengths', () => {
    expect(() => derivedEntropy(new Uint8Array(DERIVED_KEY_BYTES_MIN - 1))).toThrow(RangeError);
    const source = derivedEntropy(key(1));
    for (const bad of [-1, 2.5, ENTROPY_BYTES_MAX + 1]) expect(() => source.bytes(bad)).toThrow(RangeError);
  });
});
