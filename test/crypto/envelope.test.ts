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
import { VERDICT_ENTRY_OVERHEAD_BYTES } from '../../crypto/envelope.ts';

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
    // One signature under several keys and messages: a verdict is reused only for exactly its inputs.
    fc.assert(
      fc.property(fc.array(fc.constantFrom(...candidates), { maxLength: 30 }), (picks) => {
        for (const [key, msg, sig] of picks) expect(cached.verify(key, msg, sig)).toBe(nativeBackend.verify(key, msg, sig));
      }),
    );
    expect(cached.stats.cacheHits).toBeGreaterThan(0);
  });

  it('verifyMessage answers exactly as the backend, for every change to key, cluster, type, body or signature', () => {
    const cached = cachedVerifier(nativeBackend);
    const body = utf8.encode('ballot 3, slot 7');
    const sig = signMessage(cached, alice.secretKey, cluster, 'accept', body, alice.publicKey);
    const flipped = sig.slice();
    flipped[5] ^= 1;
    const candidates = [
      [alice.publicKey, cluster, 'accept', body, sig],
      [bob.publicKey, cluster, 'accept', body, sig],
      [alice.publicKey, otherCluster, 'accept', body, sig],
      [alice.publicKey, cluster, 'accepted', body, sig],
      [alice.publicKey, cluster, 'accept', utf8.encode('ballot 3, slot 8'), sig],
      [alice.publicKey, cluster, 'accept', body, flipped],
    ] as const;
    fc.assert(
      fc.property(fc.array(fc.constantFrom(...candidates), { maxLength: 30 }), (picks) => {
        for (const [key, id, type, b, s] of picks)
          expect(verifyMessage(cached, key, id, type, b, s)).toBe(verifyMessage(nativeBackend, key, id, type, b, s));
      }),
    );
  });

  it('remembers its own signatures as valid once the key pair has been checked, so verifying them costs nothing', () => {
    const cached = cachedVerifier(nativeBackend);
    const bodies = ['a', 'b', 'c'].map((m) => utf8.encode(m));
    const sigs = bodies.map((b) => signMessage(cached, alice.secretKey, cluster, 'accept', b, alice.publicKey));
    // Only the pair's first signature was verified for real.
    expect(cached.stats).toEqual({ signs: 3, verifies: 1, cacheHits: 0 });
    for (let node = 0; node < 4; node++)
      sigs.forEach((s, i) => expect(verifyMessage(cached, alice.publicKey, cluster, 'accept', bodies[i], s)).toBe(true));
    expect(cached.stats).toEqual({ signs: 3, verifies: 1, cacheHits: 12 });
  });

  it('never vouches for a public key that is not the signing key\'s', () => {
    const cached = cachedVerifier(nativeBackend);
    const body = utf8.encode('x');
    const sigs = [0, 1].map(() => signMessage(cached, alice.secretKey, cluster, 'accept', body, bob.publicKey));
    expect(verifyMessage(cached, bob.publicKey, cluster, 'accept', body, sigs[1])).toBe(false);
    expect(verifyMessage(cached, alice.publicKey, cluster, 'accept', body, sigs[1])).toBe(true);
  });

  it('forgets the oldest verdicts beyond its byte bound, and copies what it keeps', () => {
    const cached = cachedVerifier(nativeBackend, 100, 3 * (VERDICT_ENTRY_OVERHEAD_BYTES + 1000));
    const bodies = [1, 2, 3, 4].map((n) => new Uint8Array(1000).fill(n));
    const sigs = bodies.map((b) => nativeBackend.sign(alice.secretKey, signBytes(cluster, 'accept', b)));
    bodies.forEach((b, i) => verifyMessage(cached, alice.publicKey, cluster, 'accept', b, sigs[i]));
    expect(cached.stats).toMatchObject({ verifies: 4, cacheHits: 0 });
    // The fourth pushed the first out; the second is still there.
    verifyMessage(cached, alice.publicKey, cluster, 'accept', bodies[1], sigs[1]);
    expect(cached.stats).toMatchObject({ verifies: 4, cacheHits: 1 });
    verifyMessage(cached, alice.publicKey, cluster, 'accept', bodies[0], sigs[0]);
    expect(cached.stats).toMatchObject({ verifies: 5, cacheHits: 1 });
    // Changing the caller's bytes after the fact does not change a remembered verdict's inputs.
    bodies[3].fill(9);
    expect(verifyMessage(cached, alice.publicKey, cluster, 'accept', bodies[3], sigs[3])).toBe(false);
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
