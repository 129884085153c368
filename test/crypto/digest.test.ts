import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { sha256 as nobleSha256 } from '@noble/hashes/sha2.js';
import {
  DIGEST_BYTES,
  bytesEqual,
  createHasher,
  domainDigest,
  fromHex,
  sha256,
  toHex,
} from '../../crypto/index.ts';

const ascii = (s: string): Uint8Array => new TextEncoder().encode(s);

describe('sha256', () => {
  it('matches the FIPS 180-2 vectors', () => {
    expect(toHex(sha256(new Uint8Array(0)))).toBe(
      'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855',
    );
    expect(toHex(sha256(ascii('abc')))).toBe(
      'ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad',
    );
  });

  it('yields DIGEST_BYTES bytes, as a plain Uint8Array', () => {
    expect(sha256(ascii('x')).length).toBe(DIGEST_BYTES);
    expect(Object.getPrototypeOf(sha256(ascii('x')))).toBe(Uint8Array.prototype);
  });

  it('agrees with noble on any input, and so does the incremental hasher', () => {
    fc.assert(
      fc.property(fc.array(fc.uint8Array({ maxLength: 3000 }), { maxLength: 4 }), (parts) => {
        const whole = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
        let at = 0;
        for (const p of parts) whole.set(p, (at += p.length) - p.length);
        expect(toHex(sha256(whole))).toBe(toHex(nobleSha256(whole)));
        const hasher = createHasher();
        for (const p of parts) hasher.update(p);
        expect(hasher.digestHex()).toBe(toHex(nobleSha256(whole)));
      }),
    );
  });
});

describe('hex', () => {
  it('round-trips any bytes, lowercase', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 64 }), (bytes) => {
        const hex = toHex(bytes);
        expect(hex).toMatch(/^[0-9a-f]*$/);
        expect(hex.length).toBe(bytes.length * 2);
        expect(fromHex(hex)).toEqual(bytes);
      }),
    );
  });

  it('accepts uppercase', () => {
    expect(fromHex('00FFaB')).toEqual(Uint8Array.of(0x00, 0xff, 0xab));
  });

  it.each(['0', 'abc', 'zz', '0g', ' 00', '0x00', '00 ', '-1', 'é0'])('rejects %j', (bad) => {
    expect(() => fromHex(bad)).toThrow(/^fromHex: /);
  });
});

describe('bytesEqual', () => {
  it('compares contents and length', () => {
    expect(bytesEqual(Uint8Array.of(1, 2), Uint8Array.of(1, 2))).toBe(true);
    expect(bytesEqual(Uint8Array.of(1, 2), Uint8Array.of(1, 3))).toBe(false);
    expect(bytesEqual(Uint8Array.of(1, 2), Uint8Array.of(1, 2, 0))).toBe(false);
    expect(bytesEqual(new Uint8Array(0), new Uint8Array(0))).toBe(true);
  });
});

describe('domainDigest', () => {
  it('separates different splits of the same bytes', () => {
    const a = domainDigest('d', ascii('ab'), ascii('c'));
    const b = domainDigest('d', ascii('a'), ascii('bc'));
    expect(bytesEqual(a, b)).toBe(false);
    expect(bytesEqual(domainDigest('d', ascii('abc')), a)).toBe(false);
    expect(bytesEqual(domainDigest('d'), domainDigest('d', new Uint8Array(0)))).toBe(false);
  });

  it('separates domains, including domain/part boundary shifts', () => {
    const part = ascii('payload');
    expect(bytesEqual(domainDigest('x/v1', part), domainDigest('x/v2', part))).toBe(false);
    expect(bytesEqual(domainDigest('ab', ascii('c')), domainDigest('a', ascii('bc')))).toBe(false);
  });

  it('is deterministic and not plain sha256 of the concatenation', () => {
    const part = ascii('abc');
    expect(domainDigest('d', part)).toEqual(domainDigest('d', part));
    expect(domainDigest('d', part).length).toBe(DIGEST_BYTES);
    expect(bytesEqual(domainDigest('', part), sha256(part))).toBe(false);
  });

  it('is injective over random (domain, parts) pairs', () => {
    const input = fc.tuple(fc.string({ maxLength: 4 }), fc.array(fc.uint8Array({ maxLength: 4 }), { maxLength: 3 }));
    fc.assert(
      fc.property(input, input, ([d1, p1], [d2, p2]) => {
        const same = d1 === d2 && p1.length === p2.length && p1.every((p, i) => bytesEqual(p, p2[i]!));
        expect(bytesEqual(domainDigest(d1, ...p1), domainDigest(d2, ...p2))).toBe(same);
      }),
    );
  });
});

describe('toHex', () => {
  it('is two lowercase digits per byte, views into a larger buffer included', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 64 }), fc.nat(8), fc.nat(8), (whole, skip, cut) => {
        const view = whole.subarray(Math.min(skip, whole.length), Math.max(Math.min(skip, whole.length), whole.length - cut));
        const expected = Array.from(view, (b) => b.toString(16).padStart(2, '0')).join('');
        expect(toHex(view)).toBe(expected);
        expect(fromHex(expected)).toEqual(view.slice());
      }),
    );
  });
});

describe('createHasher', () => {
  it('equals one-shot sha256 of the concatenation, however it is chunked', () => {
    fc.assert(
      fc.property(fc.array(fc.uint8Array({ maxLength: 100 }), { maxLength: 8 }), (chunks) => {
        const hasher = createHasher();
        for (const chunk of chunks) hasher.update(chunk);
        const all = new Uint8Array(chunks.reduce((n, c) => n + c.length, 0));
        let at = 0;
        for (const chunk of chunks) {
          all.set(chunk, at);
          at += chunk.length;
        }
        expect(hasher.digestHex()).toBe(toHex(sha256(all)));
      }),
    );
  });

  it('hashes a string as its UTF-8 bytes', () => {
    fc.assert(
      fc.property(fc.array(fc.string({ unit: 'grapheme' }), { maxLength: 6 }), (texts) => {
        const byText = createHasher();
        const byBytes = createHasher();
        for (const text of texts) {
          byText.update(text);
          byBytes.update(new TextEncoder().encode(text));
        }
        expect(byText.digestHex()).toBe(byBytes.digestHex());
      }),
    );
  });

  it('keeps hashing after digestHex', () => {
    const hasher = createHasher();
    hasher.update(ascii('a'));
    expect(hasher.digestHex()).toBe(toHex(sha256(ascii('a'))));
    expect(hasher.digestHex()).toBe(toHex(sha256(ascii('a'))));
    hasher.update(ascii('bc'));
    expect(hasher.digestHex()).toBe(toHex(sha256(ascii('abc'))));
  });
});
