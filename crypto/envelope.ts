// Domain-separated sign-bytes (the libp2p signed-envelope and CometBFT VoteSignBytes idea): a
// signature binds the protocol tag and version, the cluster, the message type and the message's
// canonical body, so it cannot be replayed under another version, cluster or type. Callers
// choose the types and encode the bodies (which carry ballot and slot).
import { DIGEST_BYTES, bytesEqual, domainDigest, toHex } from './digest.ts';
import { SIGNATURE_BYTES, type SignatureBackend } from './ed25519.ts';
import { FifoCache } from './fifo-cache.ts';

/** Protocol tag and version; bump the version whenever the signed layout changes. */
export const SIGN_DOMAIN = 'byzpaxos/sig/v1';
export const CLUSTER_ID_BYTES = DIGEST_BYTES;
const CLUSTER_ID_DOMAIN = 'byzpaxos/cluster-id/v1';

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
  /** The signer's public key: with a cached verifier, the new signature is remembered as valid. */
  publicKey?: Uint8Array,
): Uint8Array {
  if (publicKey !== undefined && isCachedVerifier(backend)) return backend.signMessage(secretKey, publicKey, clusterId, type, body);
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
  if (isCachedVerifier(backend)) return backend.verifyMessage(publicKey, clusterId, type, body, signature);
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
  /** verifyMessage through the verdict cache: a hit costs no digest and no curve arithmetic. */
  verifyMessage(publicKey: Uint8Array, clusterId: Uint8Array, type: string, body: Uint8Array, signature: Uint8Array): boolean;
  /**
   * signMessage, remembering the signature as valid under `publicKey`, so that the nodes that
   * receive it (in one process: the simulator's) or the signer itself, when it comes back
   * relayed, need not verify it. The first signature of each key pair is verified for real:
   * a public key that is not the secret key's is never vouched for.
   */
  signMessage(secretKey: Uint8Array, publicKey: Uint8Array, clusterId: Uint8Array, type: string, body: Uint8Array): Uint8Array;
}

/** Entries a cached verifier keeps by default, and the bytes it may hold: bodies plus each entry's overhead. */
export const VERDICT_CACHE_ENTRIES = 16384;
export const VERDICT_CACHE_BYTES_MAX = 16 * 1024 * 1024;
/**
 * What one remembered verdict costs besides its body: the hex key, the copied key, cluster id and
 * body arrays, the verdict and the map entry. Measured ≈ 2.8 KiB per entry on Node 24 (16,384
 * verdicts of 100-byte bodies: 2,842 bytes each); charging only the body let a full cache hold
 * ≈ 48 MiB under a 4 MiB bound (experiments/soak/README.md).
 */
export const VERDICT_ENTRY_OVERHEAD_BYTES = 3 * 1024;

/** What a verdict was given for; a hit must match all of it byte for byte. */
interface Verdict {
  readonly publicKey: Uint8Array;
  readonly clusterId: Uint8Array;
  /** '' for a raw `verify` of pre-hashed bytes (signBytes refuses the empty type). */
  readonly type: string;
  readonly body: Uint8Array;
  readonly valid: boolean;
}

const cachedVerifiers = new WeakSet<SignatureBackend>();

function isCachedVerifier(backend: SignatureBackend): backend is CachedVerifier {
  return cachedVerifiers.has(backend);
}

/**
 * Remembers each verdict, so n nodes checking one signature cost one real verification, and a
 * signature this process made costs none. Verdicts are keyed by the signature and a hit
 * compares every input (key, cluster, type, body) byte for byte, so caching cannot change any
 * answer and rests on no hash. Beyond `capacity` entries or `bytesMax` bytes (bodies plus
 * VERDICT_ENTRY_OVERHEAD_BYTES each) the oldest are forgotten; bodies are copied, so a cached verdict never pins a larger frame.
 */
export function cachedVerifier(
  backend: SignatureBackend,
  capacity = VERDICT_CACHE_ENTRIES,
  bytesMax = VERDICT_CACHE_BYTES_MAX,
): CachedVerifier {
  const verdicts = new FifoCache<Verdict>(capacity, bytesMax);
  // Key pairs checked once: secret key object -> public key hex -> whether it is that key's.
  const pairs = new WeakMap<Uint8Array, Map<string, boolean>>();
  const stats: SignatureStats = { signs: 0, verifies: 0, cacheHits: 0 };
  // Inputs are copied: a verdict must not follow a caller's later writes, and a body may be a
  // view into a larger received frame.
  const remember = (signature: Uint8Array, verdict: Verdict): void => {
    const body = verdict.body.slice();
    verdicts.set(toHex(signature), { ...verdict, body, publicKey: verdict.publicKey.slice(), clusterId: verdict.clusterId.slice() }, body.length + VERDICT_ENTRY_OVERHEAD_BYTES);
  };
  const recall = (publicKey: Uint8Array, clusterId: Uint8Array, type: string, body: Uint8Array, signature: Uint8Array): boolean | undefined => {
    const known = verdicts.get(toHex(signature));
    if (
      known === undefined ||
      known.type !== type ||
      !bytesEqual(known.publicKey, publicKey) ||
      !bytesEqual(known.clusterId, clusterId) ||
      !bytesEqual(known.body, body)
    ) return undefined;
    stats.cacheHits++;
    return known.valid;
  };
  const check = (publicKey: Uint8Array, clusterId: Uint8Array, type: string, body: Uint8Array, signature: Uint8Array, message: Uint8Array): boolean => {
    stats.verifies++;
    const valid = backend.verify(publicKey, message, signature);
    // A malformed signature is rejected before any arithmetic: not worth a cache slot.
    if (signature.length === SIGNATURE_BYTES) remember(signature, { publicKey, clusterId, type, body, valid });
    return valid;
  };
  const cached: CachedVerifier = {
    name: `cached(${backend.name})`,
    stats,
    sign(secretKey: Uint8Array, message: Uint8Array): Uint8Array {
      stats.signs++;
      return backend.sign(secretKey, message);
    },
    verify(publicKey: Uint8Array, message: Uint8Array, signature: Uint8Array): boolean {
      return recall(publicKey, EMPTY, '', message, signature) ?? check(publicKey, EMPTY, '', message, signature, message);
    },
    verifyMessage(publicKey, clusterId, type, body, signature): boolean {
      return recall(publicKey, clusterId, type, body, signature) ?? check(publicKey, clusterId, type, body, signature, signBytes(clusterId, type, body));
    },
    signMessage(secretKey, publicKey, clusterId, type, body): Uint8Array {
      const message = signBytes(clusterId, type, body);
      const signature = cached.sign(secretKey, message);
      let checked = pairs.get(secretKey);
      if (checked === undefined) pairs.set(secretKey, (checked = new Map()));
      const id = toHex(publicKey);
      const matches = checked.get(id);
      if (matches === undefined) checked.set(id, check(publicKey, clusterId, type, body, signature, message));
      else if (matches) remember(signature, { publicKey, clusterId, type, body, valid: true });
      return signature;
    },
  };
  cachedVerifiers.add(cached);
  return cached;
}

const EMPTY = new Uint8Array(0);
