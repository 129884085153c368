import { readFileSync } from 'node:fs';
import { Point, getPublicKey as nobleGetPublicKey, verify as nobleVerify } from '@noble/ed25519';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  PUBLIC_KEY_BYTES,
  SECRET_KEY_BYTES,
  SIGNATURE_BYTES,
  checkPublicKey,
  fromHex,
  generateKeyPair,
  keyPairFromSeed,
  nativeBackend,
  nobleBackend,
  toHex,
  type SignatureBackend,
} from '../../crypto/index.ts';

const backends: readonly SignatureBackend[] = [nobleBackend, nativeBackend];
const utf8 = new TextEncoder();
const L = Point.CURVE().n;
const P = Point.CURVE().p;

function loadVectors<T>(name: string): T {
  return JSON.parse(readFileSync(new URL(`./vectors/${name}`, import.meta.url), 'utf8')) as T;
}

interface CctvVector {
  readonly number: number;
  readonly key: string;
  readonly sig: string;
  readonly msg: string;
  readonly flags: readonly string[] | null;
}
const cctv = loadVectors<CctvVector[]>('cctv-ed25519vectors.json');

interface Speccheck {
  readonly cases: readonly { message: string; pub_key: string; signature: string }[];
  readonly results: Readonly<Record<string, string>>;
}
const speccheck = loadVectors<Speccheck>('speccheck.json');

function leBytes(n: bigint): Uint8Array {
  const out = new Uint8Array(32);
  for (let i = 0; i < 32; i++) out[i] = Number((n >> BigInt(8 * i)) & 0xffn);
  return out;
}

function leNumber(bytes: Uint8Array): bigint {
  let n = 0n;
  for (let i = bytes.length - 1; i >= 0; i--) n = (n << 8n) | BigInt(bytes[i]);
  return n;
}

const seed = fc.uint8Array({ minLength: SECRET_KEY_BYTES, maxLength: SECRET_KEY_BYTES });
const message = fc.uint8Array({ maxLength: 300 });

describe('keys', () => {
  it('derives RFC 8032 section 7.1 keys and signatures', () => {
    const rfc = [
      {
        secret: '9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60',
        public: 'd75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a',
        message: '',
        signature:
          'e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e065224901555fb8821590a33bacc61e39701cf9b46bd25bf5f0595bbe24655141438e7a100b',
      },
      {
        secret: '4ccd089b28ff96da9db6c346ec114e0f5b8a319f35aba624da8cf6ed4fb8a6fb',
        public: '3d4017c3e843895a92b70aa74d1b7ebc9c982ccf2ec4968cc0cd55f12af4660c',
        message: '72',
        signature:
          '92a009a9f0d4cab8720e820b5f642540a2b27b5416503f8fb3762223ebdb69da085ac1e43e15996e458f3613d0f11d8c387b2eaeb4302aeeb00d291612bb0c00',
      },
      {
        secret: 'c5aa8df43f9f837bedb7442f31dcb7b166d38535076f094b85ce3a2e0b4458f7',
        public: 'fc51cd8e6218a1a38da47ed00230f0580816ed13ba3303ac5deb911548908025',
        message: 'af82',
        signature:
          '6291d657deec24024827e69c3abe01a30ce548a284743a445e3680d7db5ac3ac18ff9b538d16f290ae67f760984dc6594a7c15e9716ed28dc027beceea1ec40a',
      },
    ];
    for (const v of rfc) {
      const pair = keyPairFromSeed(fromHex(v.secret));
      expect(toHex(pair.publicKey)).toBe(v.public);
      for (const backend of backends) {
        expect(toHex(backend.sign(pair.secretKey, fromHex(v.message)))).toBe(v.signature);
        expect(backend.verify(pair.publicKey, fromHex(v.message), fromHex(v.signature))).toBe(true);
      }
    }
  });

  it('derives keys deterministically and copies the seed', () => {
    const s = new Uint8Array(SECRET_KEY_BYTES).fill(7);
    const a = keyPairFromSeed(s);
    s[0] = 8;
    expect(a).toEqual(keyPairFromSeed(new Uint8Array(SECRET_KEY_BYTES).fill(7)));
    expect(a.secretKey.length).toBe(SECRET_KEY_BYTES);
    expect(a.publicKey.length).toBe(PUBLIC_KEY_BYTES);
  });

  it('derives the same public key as noble for any seed', () => {
    fc.assert(
      fc.property(fc.uint8Array({ minLength: SECRET_KEY_BYTES, maxLength: SECRET_KEY_BYTES }), (seed) => {
        expect(toHex(keyPairFromSeed(seed).publicKey)).toBe(toHex(nobleGetPublicKey(seed)));
      }),
      { numRuns: 50 },
    );
  });

  it('rejects seeds of the wrong length', () => {
    expect(() => keyPairFromSeed(new Uint8Array(31))).toThrow(/32 bytes/);
    expect(() => keyPairFromSeed(new Uint8Array(64))).toThrow(/32 bytes/);
  });

  it('generates fresh, acceptable key pairs', () => {
    const a = generateKeyPair();
    const b = generateKeyPair();
    expect(a.secretKey).not.toEqual(b.secretKey);
    expect(checkPublicKey(a.publicKey)).toBeNull();
    expect(a).toEqual(keyPairFromSeed(a.secretKey));
  });
});

describe('sign and verify', () => {
  it('round-trips and both backends produce byte-identical signatures', () => {
    fc.assert(
      fc.property(seed, message, (s, msg) => {
        const { secretKey, publicKey } = keyPairFromSeed(s);
        const signature = nobleBackend.sign(secretKey, msg);
        expect(signature.length).toBe(SIGNATURE_BYTES);
        expect(nativeBackend.sign(secretKey, msg)).toEqual(signature);
        for (const backend of backends)
          expect(backend.verify(publicKey, msg, signature)).toBe(true);
      }),
      { numRuns: 60 },
    );
  });

  it('both reject any single-bit change to key, message or signature', () => {
    fc.assert(
      fc.property(seed, message, fc.nat(), fc.integer({ min: 0, max: 7 }), (s, msg, at, bit) => {
        const { secretKey, publicKey } = keyPairFromSeed(s);
        const signature = nativeBackend.sign(secretKey, msg);
        const parts = [publicKey, msg, signature].map((p) => p.slice());
        const total = parts.reduce((n, p) => n + p.length, 0);
        let i = at % total;
        const target = parts.find((p) => (i < p.length ? true : ((i -= p.length), false)));
        if (target === undefined) throw new Error('unreachable: index is within the parts');
        target[i] ^= 1 << bit;
        for (const backend of backends)
          expect(backend.verify(parts[0], parts[1], parts[2])).toBe(false);
      }),
      { numRuns: 60 },
    );
  });

  it('rejects S >= L (no malleability through S + L)', () => {
    const { secretKey, publicKey } = keyPairFromSeed(new Uint8Array(32).fill(3));
    const msg = utf8.encode('malleable?');
    const signature = nobleBackend.sign(secretKey, msg);
    const s = leNumber(signature.subarray(32));
    for (const bigS of [s + L, L]) {
      const forged = new Uint8Array(signature);
      forged.set(leBytes(bigS), 32);
      for (const backend of backends) expect(backend.verify(publicKey, msg, forged)).toBe(false);
    }
  });

  it('rejects wrong lengths without throwing', () => {
    const { secretKey, publicKey } = keyPairFromSeed(new Uint8Array(32).fill(4));
    const msg = utf8.encode('length');
    const signature = nobleBackend.sign(secretKey, msg);
    for (const backend of backends) {
      expect(backend.verify(publicKey, msg, signature.subarray(0, 63))).toBe(false);
      expect(backend.verify(publicKey, msg, Uint8Array.of(...signature, 0))).toBe(false);
      expect(backend.verify(publicKey.subarray(0, 31), msg, signature)).toBe(false);
      expect(backend.verify(Uint8Array.of(...publicKey, 0), msg, signature)).toBe(false);
      expect(backend.verify(new Uint8Array(0), msg, new Uint8Array(0))).toBe(false);
      expect(() => backend.sign(new Uint8Array(31), msg)).toThrow();
    }
  });

  it('never throws on garbage, and both backends agree', () => {
    const point = fc.oneof(
      fc.uint8Array({ minLength: 32, maxLength: 32 }),
      fc.constantFrom(...cctv.map((v) => fromHex(v.key))),
    );
    const anyBytes = fc.uint8Array({ maxLength: 80 });
    fc.assert(
      fc.property(
        fc.oneof(point, anyBytes),
        anyBytes,
        fc.oneof(
          fc
            .tuple(point, fc.uint8Array({ minLength: 32, maxLength: 32 }))
            .map(([r, s]) => Uint8Array.of(...r, ...s)),
          anyBytes,
        ),
        (publicKey, msg, signature) => {
          const verdicts = backends.map((b) => b.verify(publicKey, msg, signature));
          expect(verdicts[1]).toBe(verdicts[0]);
        },
      ),
      { numRuns: 300 },
    );
  });
});

describe('the cluster rule on edge-case vectors', () => {
  // What the rule must do with each CCTV flag:
  //   low_order_A, non_canonical_A  reject (rule 1; every non-canonical A there has small order)
  //   low_order_R, non_canonical_R  reject (rule 2; rule 4's byte comparison would also reject
  //                                 a non-canonical R)
  //   low_order_residue             reject (rule 4 is cofactorless)
  //   low_order_component_A/R       no effect alone: mixed-order points pass when their torsion
  //                                 cancels in [S]B - [k]A
  //   reencoded_k                   no effect: k is hashed from the bytes as given
  const REJECTING = new Set([
    'low_order_A',
    'non_canonical_A',
    'low_order_R',
    'non_canonical_R',
    'low_order_residue',
  ]);
  const ruleAccepts = (v: CctvVector): boolean => !(v.flags ?? []).some((f) => REJECTING.has(f));

  it('holds all 914 CCTV vectors, 43 of which the rule accepts', () => {
    expect(cctv.map((v) => v.number)).toEqual(cctv.map((_, i) => i));
    expect(cctv.filter(ruleAccepts).length).toBe(43);
  });

  it.each(backends.map((b) => [b.name, b] as const))(
    '%s gives the rule verdict on every CCTV vector',
    (_, backend) => {
      const wrong = cctv.filter(
        (v) =>
          backend.verify(fromHex(v.key), utf8.encode(v.msg), fromHex(v.sig)) !== ruleAccepts(v),
      );
      expect(wrong.map((v) => v.number)).toEqual([]);
    },
  );

  it('vectors are intact: noble ZIP215 mode gives the verdicts CCTV documents for ZIP215', () => {
    // ZIP215 accepts everything except re-encoded k, where k matters only if A is not small order.
    const wrong = cctv.filter((v) => {
      const flags = v.flags ?? [];
      const expected = !flags.includes('reencoded_k') || flags.includes('low_order_A');
      return (
        nobleVerify(fromHex(v.sig), utf8.encode(v.msg), fromHex(v.key), { zip215: true }) !==
        expected
      );
    });
    expect(wrong.map((v) => v.number)).toEqual([]);
  });

  it("noble's own strict mode is cofactored, so it cannot be the reference", () => {
    // Mixed-order A and R whose torsion does not cancel: cofactored verifiers accept.
    const residueOnly = cctv.filter(
      (v) =>
        (v.flags ?? []).join() === 'low_order_component_R,low_order_component_A,low_order_residue',
    );
    expect(residueOnly.length).toBeGreaterThan(0);
    for (const v of residueOnly) {
      const [sig, msg, key] = [fromHex(v.sig), utf8.encode(v.msg), fromHex(v.key)];
      expect(nobleVerify(sig, msg, key, { zip215: false })).toBe(true);
      for (const backend of backends) expect(backend.verify(key, msg, sig)).toBe(false);
    }
  });

  it.each(backends.map((b) => [b.name, b] as const))(
    '%s matches libsodium on the 12 speccheck cases',
    (_, backend) => {
      // Cases 0-2 have small-order A or R (rejected), 3 is an ordinary mixed-order signature,
      // 4-5 pass only cofactored, 6-7 have S >= L, 8-9 a non-canonical R, 10-11 a non-canonical A.
      expect(speccheck.results.LibSodium).toBe('XXXVXXXXXXXX');
      const verdicts = speccheck.cases
        .map((c) => backend.verify(fromHex(c.pub_key), fromHex(c.message), fromHex(c.signature)))
        .map((ok) => (ok ? 'V' : 'X'))
        .join('');
      expect(verdicts).toBe(speccheck.results.LibSodium);
    },
  );
});

describe('checkPublicKey', () => {
  // The eight small-order points are the multiples of one point of order 8.
  const order8 = Point.fromBytes(
    fromHex('c7176a703d4dd84fba3c0b760d10670f2a2053fa2c39ccc64ec7fd7792ac037a'),
  );
  const torsion = Array.from({ length: 8 }, (_, i) =>
    i === 0 ? Point.ZERO : order8.multiply(BigInt(i)),
  );
  const canonicalTorsion = torsion.map((p) => p.toBytes());
  // Alternative encodings the lenient decoders accept (y + p for y in {0, 1}; x = 0 with sign 1).
  const nonCanonicalTorsion = [
    'edffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f',
    'edffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff',
    '0100000000000000000000000000000000000000000000000000000000000080',
    'eeffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f',
    'eeffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff',
    'ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff',
  ].map(fromHex);

  it('accepts honest keys', () => {
    fc.assert(
      fc.property(seed, (s) => {
        expect(checkPublicKey(keyPairFromSeed(s).publicKey)).toBeNull();
      }),
      { numRuns: 50 },
    );
  });

  it('rejects all 8 small-order points, canonically encoded', () => {
    expect(new Set(canonicalTorsion.map(toHex)).size).toBe(8);
    for (const encoding of canonicalTorsion)
      expect(checkPublicKey(encoding)).toMatch(/small order/);
  });

  it('rejects the 6 non-canonical encodings of small-order points', () => {
    for (const encoding of nonCanonicalTorsion) {
      const point = Point.fromBytes(encoding, true);
      expect(torsion.some((t) => t.equals(point))).toBe(true);
      expect(checkPublicKey(encoding)).toMatch(/not canonically encoded/);
    }
  });

  it('rejects non-canonical encodings of large-order points (y + p)', () => {
    let found = 0;
    for (let y = 2n; y < 19n; y++) {
      let point: Point;
      try {
        point = Point.fromBytes(leBytes(y), true);
      } catch {
        continue;
      }
      expect(point.isSmallOrder()).toBe(false);
      expect(checkPublicKey(leBytes(y))).toBeNull();
      expect(checkPublicKey(leBytes(y + P))).toMatch(/not canonically encoded/);
      found++;
    }
    expect(found).toBeGreaterThan(0);
  });

  it('rejects encodings that are not on the curve', () => {
    let found = 0;
    for (let y = 2n; y < 40n; y++) {
      try {
        Point.fromBytes(leBytes(y), true);
      } catch {
        expect(checkPublicKey(leBytes(y))).toMatch(/not a point on the curve/);
        found++;
      }
    }
    expect(found).toBeGreaterThan(0);
  });

  it('rejects wrong lengths', () => {
    for (const n of [0, 31, 33, 64])
      expect(checkPublicKey(new Uint8Array(n).fill(9))).toMatch(/32 bytes/);
  });
});
