import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  CLUSTER_ID_BYTES,
  DIGEST_BYTES,
  SIGN_DOMAIN,
  cachedVerifier,
  clusterIdOf,
  domainDigest,
  keyPairFromSeed,
  nativeBackend,
  nobleBackend,
  sha256,
  signBytes,
  signMessage,
  verifyMessage,
  type SignatureBackend,
} from '../../crypto/index.ts';

const backends: readonly SignatureBackend[] = [nobleBackend, nativeBackend];
const utf8 = new TextEncoder();
const alice = keyPairFromSeed(new Uint8Array(32).fill(1));
const bob = keyPairFromSeed(new Uint8Array(32).fill(2));
const cluster = clusterIdOf(utf8.encode('members: alice, bob'));
const otherCluster = clusterIdOf(utf8.encode('members: alice, carol'));

describe('clusterIdOf', () => {
  it('is a domain-separated SHA-256 of the configuration', () => {
    const config = utf8.encode('config');
    expect(clusterIdOf(config).length).toBe(CLUSTER_ID_BYTES);
    expect(clusterIdOf(config)).toEqual(clusterIdOf(utf8.encode('config')));
    expect(clusterIdOf(config)).not.toEqual(sha256(config));
    expect(cluster).not.toEqual(otherCluster);
  });
});

describe('signBytes', () => {
  it('is a domain digest of tag, cluster, type and body', () => {
    const body = utf8.encode('ballot 3, slot 7');
    expect(signBytes(cluster, 'accept', body)).toEqual(
      domainDigest(SIGN_DOMAIN, cluster, utf8.encode('accept'), body),
    );
    expect(signBytes(cluster, 'accept', body).length).toBe(DIGEST_BYTES);
  });

  it('never collides across (type, body) splits', () => {
    fc.assert(
      fc.property(
        fc.string({ unit: 'grapheme-ascii', minLength: 2 }),
        fc.nat(),
        fc.nat(),
        (text, x, y) => {
          // Same bytes in total, split at two different points between type and body.
          const [a, b] = [1 + (x % (text.length - 1)), 1 + (y % (text.length - 1))];
          fc.pre(a !== b);
          const bytes = utf8.encode(text);
          expect(signBytes(cluster, text.slice(0, a), bytes.subarray(a))).not.toEqual(
            signBytes(cluster, text.slice(0, b), bytes.subarray(b)),
          );
        },
      ),
    );
  });

  it('rejects malformed cluster ids and types', () => {
    const body = new Uint8Array(1);
    expect(() => signBytes(new Uint8Array(31), 'accept', body)).toThrow(/32 bytes/);
    expect(() => signBytes(cluster, '', body)).toThrow(/well-formed/);
    // Both would otherwise encode to the same UTF-8 bytes (U+FFFD).
    expect(() => signBytes(cluster, 'a\ud800', body)).toThrow(/well-formed/);
  });
});

describe('signMessage and verifyMessage', () => {
  const body = utf8.encode('promise: ballot 5');

  it('round-trip under both backends with identical signatures', () => {
    const signatures = backends.map((b) =>
      signMessage(b, alice.secretKey, cluster, 'promise', body),
    );
    expect(signatures[1]).toEqual(signatures[0]);
    for (const b of backends) {
      expect(verifyMessage(b, alice.publicKey, cluster, 'promise', body, signatures[0])).toBe(true);
    }
  });

  it.each(backends.map((b) => [b.name, b] as const))(
    '%s: a signature binds cluster, type, body and signer',
    (_, b) => {
      const signature = signMessage(b, alice.secretKey, cluster, 'promise', body);
      expect(verifyMessage(b, alice.publicKey, otherCluster, 'promise', body, signature)).toBe(
        false,
      );
      expect(verifyMessage(b, alice.publicKey, cluster, 'accepted', body, signature)).toBe(false);
      expect(verifyMessage(b, bob.publicKey, cluster, 'promise', body, signature)).toBe(false);
      expect(
        verifyMessage(b, alice.publicKey, cluster, 'promise', body, signature.subarray(0, 63)),
      ).toBe(false);
      expect(
        verifyMessage(b, alice.publicKey, cluster, 'promise', body, Uint8Array.of(...signature, 0)),
      ).toBe(false);
      for (let i = 0; i < body.length; i++) {
        const flipped = body.slice();
        flipped[i] ^= 0x01;
        expect(verifyMessage(b, alice.publicKey, cluster, 'promise', flipped, signature)).toBe(
          false,
        );
      }
      expect(
        verifyMessage(b, alice.publicKey, cluster, 'promise', Uint8Array.of(...body, 0), signature),
      ).toBe(false);
      expect(
        verifyMessage(b, alice.publicKey, cluster, 'promise', body.subarray(1), signature),
      ).toBe(false);
    },
  );

  it('rejects any flipped body or signature byte', () => {
    const signature = signMessage(nativeBackend, alice.secretKey, cluster, 'promise', body);
    fc.assert(
      fc.property(fc.boolean(), fc.nat(), fc.integer({ min: 1, max: 255 }), (inBody, at, mask) => {
        const b = body.slice();
        const s = signature.slice();
        const target = inBody ? b : s;
        target[at % target.length] ^= mask;
        for (const backend of backends)
          expect(verifyMessage(backend, alice.publicKey, cluster, 'promise', b, s)).toBe(false);
      }),
      { numRuns: 50 },
    );
  });

  it('never throws on garbage keys, bodies or signatures', () => {
    fc.assert(
      fc.property(
        fc.uint8Array({ maxLength: 70 }),
        fc.uint8Array({ maxLength: 70 }),
        fc.uint8Array({ maxLength: 70 }),
        (key, b, sig) => {
          for (const backend of backends)
            expect(verifyMessage(backend, key, cluster, 'promise', b, sig)).toBe(false);
        },
      ),
      { numRuns: 200 },
    );
  });
});

describe('cachedVerifier', () => {
  it('answers exactly as the backend, negatives included', () => {
    const cached = cachedVerifier(nativeBackend);
    const good = nativeBackend.sign(alice.secretKey, utf8.encode('x'));
    const candidates = [
      [alice.publicKey, utf8.encode('x'), good],
      [alice.publicKey, utf8.encode('y'), good],
      [bob.publicKey, utf8.encode('x'), good],
      [alice.publicKey, utf8.encode('x'), good.subarray(1)],
      [new Uint8Array(3), new Uint8Array(0), new Uint8Array(64)],
    ] as const;
    fc.assert(
      fc.property(fc.array(fc.constantFrom(...candidates), { maxLength: 30 }), (picks) => {
        for (const [key, msg, sig] of picks)
          expect(cached.verify(key, msg, sig)).toBe(nativeBackend.verify(key, msg, sig));
      }),
    );
    // Every candidate was seen, so each cost exactly one real verification.
    expect(cached.stats.verifies).toBe(candidates.length);
  });

  it('verifies each distinct signature once however many nodes check it', () => {
    const cached = cachedVerifier(nobleBackend);
    const msg = signBytes(cluster, 'accepted', utf8.encode('slot 1'));
    const signature = cached.sign(alice.secretKey, msg);
    for (let node = 0; node < 7; node++)
      expect(cached.verify(alice.publicKey, msg, signature)).toBe(true);
    for (let node = 0; node < 7; node++)
      expect(cached.verify(bob.publicKey, msg, signature)).toBe(false);
    expect(cached.stats).toEqual({ signs: 1, verifies: 2, cacheHits: 12 });
    expect(cached.name).toBe('cached(noble)');
  });

  it('forgets the oldest verdict beyond its capacity', () => {
    const cached = cachedVerifier(nativeBackend, 2);
    const msgs = ['a', 'b', 'c'].map((m) => utf8.encode(m));
    const sigs = msgs.map((m) => nativeBackend.sign(alice.secretKey, m));
    msgs.forEach((m, i) => cached.verify(alice.publicKey, m, sigs[i]));
    cached.verify(alice.publicKey, msgs[2], sigs[2]);
    expect(cached.stats).toMatchObject({ verifies: 3, cacheHits: 1 });
    expect(cached.verify(alice.publicKey, msgs[0], sigs[0])).toBe(true);
    expect(cached.stats).toMatchObject({ verifies: 4, cacheHits: 1 });
  });

  it('rejects a capacity below one', () => {
    expect(() => cachedVerifier(nativeBackend, 0)).toThrow(/positive integer/);
  });
});
