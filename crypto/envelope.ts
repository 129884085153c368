// Domain-separated sign-bytes (the libp2p signed-envelope and CometBFT VoteSignBytes idea): a
// signature binds the protocol tag and version, the cluster, the message type and the message's
// canonical body, so it cannot be replayed under another version, cluster or type. Callers
// choose the types and encode the bodies (which carry ballot and slot).
import { DIGEST_BYTES, domainDigest, toHex } from './digest.ts';
import type { SignatureBackend } from './ed25519.ts';
import { FifoCache } from './fifo-cache.ts';

/** Protocol tag and version; bump the version whenever the signed layout changes. */
export const SIGN_DOMAIN = 'byzpaxos/sig/v1';
export const CLUSTER_ID_BYTES = DIGEST_BYTES;
const CLUSTER_ID_DOMAIN = 'byzpaxos/cluster-id/v1';
const VERIFY_CACHE_DOMAIN = 'byzpaxos/verify-cache/v1';

const utf8 = new TextEncoder();

/** Domain-separated SHA-256 of the canonical cluster configuration. */
export function clusterIdOf(configBytes: Uint8Array): Uint8Array {
  return domainDigest(CLUSTER_ID_DOMAIN, configBytes);
}

/**
 * The bytes actually signed: a digest over length-framed parts, so no two (cluster id, type,
 * body) triples share an input however the bytes are split. Throws on a malformed cluster id or
 * type; both are local values, never wire input.
 */
export function signBytes(clusterId: Uint8Array, type: string, body: Uint8Array): Uint8Array {
  if (clusterId.length !== CLUSTER_ID_BYTES) {
    throw new RangeError(
      `signBytes: cluster id must be ${CLUSTER_ID_BYTES} bytes, got ${clusterId.length}`,
    );
  }
  // Lone surrogates all encode to U+FFFD, which would let distinct types collide.
  if (type.length === 0 || !type.isWellFormed()) {
    throw new RangeError('signBytes: type must be a non-empty, well-formed string');
  }
  return domainDigest(SIGN_DOMAIN, clusterId, utf8.encode(type), body);
}

export function signMessage(
  backend: SignatureBackend,
  secretKey: Uint8Array,
  clusterId: Uint8Array,
  type: string,
  body: Uint8Array,
): Uint8Array {
  return backend.sign(secretKey, signBytes(clusterId, type, body));
}

export function verifyMessage(
  backend: SignatureBackend,
  publicKey: Uint8Array,
  clusterId: Uint8Array,
  type: string,
  body: Uint8Array,
  signature: Uint8Array,
): boolean {
  return backend.verify(publicKey, signBytes(clusterId, type, body), signature);
}

export interface SignatureStats {
  signs: number;
  /** Verifications the wrapped backend actually performed (cache misses). */
  verifies: number;
  cacheHits: number;
}

export interface CachedVerifier extends SignatureBackend {
  readonly stats: Readonly<SignatureStats>;
}

/**
 * Remembers each verdict, so n nodes checking one signature cost one real verification.
 * Verification is a pure function of (key, message, signature) and the cache key is a
 * collision-resistant digest of all three, so caching cannot change any answer. Beyond
 * `capacity` entries the oldest is forgotten.
 */
export function cachedVerifier(backend: SignatureBackend, capacity = 65536): CachedVerifier {
  const verdicts = new FifoCache<boolean>(capacity);
  const stats: SignatureStats = { signs: 0, verifies: 0, cacheHits: 0 };
  return {
    name: `cached(${backend.name})`,
    stats,
    sign(secretKey: Uint8Array, message: Uint8Array): Uint8Array {
      stats.signs++;
      return backend.sign(secretKey, message);
    },
    verify(publicKey: Uint8Array, message: Uint8Array, signature: Uint8Array): boolean {
      const id = toHex(domainDigest(VERIFY_CACHE_DOMAIN, publicKey, message, signature));
      const known = verdicts.get(id);
      if (known !== undefined) {
        stats.cacheHits++;
        return known;
      }
      stats.verifies++;
      const verdict = backend.verify(publicKey, message, signature);
      verdicts.set(id, verdict);
      return verdict;
    },
  };
}
