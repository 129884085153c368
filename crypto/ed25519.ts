// Ed25519 (RFC 8032) keys and signatures under ONE verification rule for the whole cluster.
//
// Why one rule: Ed25519 verifiers disagree on edge cases (small-order keys and R, non-canonical
// point encodings, S >= L, cofactored vs cofactorless equation; Chalkias, Garillot, Nikolaenko,
// "Taming the many EdDSAs", 2020). If honest replicas ran different verifiers, a Byzantine signer
// could craft a signature that some accept and others reject, splitting honest nodes.
//
// The rule (OpenSSL 3.5's, as bundled with Node 24; libsodium's verdicts on the speccheck
// cases): accept (A, M, R || S) iff
//   1. A is the canonical 32-byte encoding of a curve point that is not of small order;
//   2. R is not one of the 14 encodings of a small-order point;
//   3. S < L;
//   4. [S]B - [k]A encodes to exactly the bytes R, where k = SHA-512(R || A || M) mod L.
// Rule 4 is cofactorless and compares bytes, which also rejects every non-canonical R.
//
// Why not ZIP215: it is cofactored and accepts non-canonical encodings, and no native verifier
// here implements it, so noble (~0.5k verifies/s) would be the only verifier. node:crypto's
// OpenSSL (~15x faster) computes exactly rule 4. noble's own strict mode ({ zip215: false }) is
// cofactored too, so the reference backend evaluates rule 4 itself on noble's point arithmetic.
// Rules 1-3 run here, before either backend's arithmetic, so the verdict does not depend on
// which extra checks a given OpenSSL build makes. The price: cofactorless rules out batch
// verification.
import {
  createPrivateKey,
  createPublicKey,
  sign as nodeSign,
  verify as nodeVerify,
  type KeyObject,
} from 'node:crypto';
import { Point, hashes, sign as nobleSign } from '@noble/ed25519';
import { sha512 } from '@noble/hashes/sha2.js';
import { bytesEqual, fromHex, toHex } from './digest.ts';
import { FifoCache } from './fifo-cache.ts';

// noble's synchronous API needs a SHA-512 provider; it is the one noble itself recommends.
hashes.sha512 = sha512;

export const PUBLIC_KEY_BYTES = 32;
/** The RFC 8032 seed, not the 64-byte expanded key. */
export const SECRET_KEY_BYTES = 32;
export const SIGNATURE_BYTES = 64;

export interface KeyPair {
  readonly secretKey: Uint8Array;
  readonly publicKey: Uint8Array;
}

export interface SignatureBackend {
  readonly name: string;
  /** Deterministic RFC 8032 signature; throws only on a secret key of the wrong length. */
  sign(secretKey: Uint8Array, message: Uint8Array): Uint8Array;
  /** The cluster rule above; false, never a throw, on any malformed input. */
  verify(publicKey: Uint8Array, message: Uint8Array, signature: Uint8Array): boolean;
}

/** Deterministic: the simulator derives every key from its seed. */
export function keyPairFromSeed(seed: Uint8Array): KeyPair {
  if (seed.length !== SECRET_KEY_BYTES) {
    throw new RangeError(
      `keyPairFromSeed: seed must be ${SECRET_KEY_BYTES} bytes, got ${seed.length}`,
    );
  }
  const secretKey = seed.slice();
  // OpenSSL derives the key ~20x faster than noble; the vectors test pins both to RFC 8032.
  const spki = createPublicKey(signingKey(secretKey)).export({ format: 'der', type: 'spki' });
  return { secretKey, publicKey: new Uint8Array(spki.subarray(spki.length - PUBLIC_KEY_BYTES)) };
}

export function generateKeyPair(): KeyPair {
  return keyPairFromSeed(globalThis.crypto.getRandomValues(new Uint8Array(SECRET_KEY_BYTES)));
}

const L = Point.CURVE().n;

// All encodings of the eight small-order points (C2SP CCTV ed25519 list): the canonical ones and
// the six non-canonical ones (y >= p, or x = 0 with the sign bit set) that lenient decoders accept.
const SMALL_ORDER_ENCODINGS: ReadonlySet<string> = new Set([
  '0000000000000000000000000000000000000000000000000000000000000000',
  'edffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f',
  '0000000000000000000000000000000000000000000000000000000000000080',
  'edffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff',
  '0100000000000000000000000000000000000000000000000000000000000000',
  '0100000000000000000000000000000000000000000000000000000000000080',
  'eeffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f',
  'eeffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff',
  '26e8958fc2b227b045c3f489f2ef98f0d5dfac05d3c63339b13802886d53fc05',
  '26e8958fc2b227b045c3f489f2ef98f0d5dfac05d3c63339b13802886d53fc85',
  'c7176a703d4dd84fba3c0b760d10670f2a2053fa2c39ccc64ec7fd7792ac037a',
  'c7176a703d4dd84fba3c0b760d10670f2a2053fa2c39ccc64ec7fd7792ac03fa',
  'ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f',
  'ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff',
]);

function littleEndian(bytes: Uint8Array): bigint {
  let n = 0n;
  for (let i = bytes.length - 1; i >= 0; i--) n = (n << 8n) | BigInt(bytes[i]);
  return n;
}

/** Rule 1: the decoded point, or why the key is unacceptable. */
function decodePublicKey(publicKey: Uint8Array): Point | string {
  if (publicKey.length !== PUBLIC_KEY_BYTES) {
    return `public key must be ${PUBLIC_KEY_BYTES} bytes, got ${publicKey.length}`;
  }
  let point: Point;
  try {
    // Lenient decoding, so that canonicity gets its own reason below.
    point = Point.fromBytes(publicKey, true);
  } catch {
    return 'public key is not a point on the curve';
  }
  if (!bytesEqual(point.toBytes(), publicKey)) return 'public key is not canonically encoded';
  if (point.isSmallOrder()) return 'public key has small order';
  return point;
}

/** Why a member key must be refused (wrong length, not on curve, non-canonical, small order), or null. */
export function checkPublicKey(publicKey: Uint8Array): string | null {
  // A pure function of the bytes that costs curve arithmetic; every cluster check repeats it.
  const id = toHex(publicKey);
  let verdict = keyVerdicts.get(id);
  if (verdict === undefined) {
    const decoded = decodePublicKey(publicKey);
    verdict = typeof decoded === 'string' ? decoded : null;
    keyVerdicts.set(id, verdict);
  }
  return verdict;
}

/** Rules 2 and 3: byte checks, before any curve arithmetic. */
function signatureShapeOk(signature: Uint8Array): boolean {
  return (
    signature.length === SIGNATURE_BYTES &&
    !SMALL_ORDER_ENCODINGS.has(toHex(signature.subarray(0, PUBLIC_KEY_BYTES))) &&
    littleEndian(signature.subarray(PUBLIC_KEY_BYTES)) < L
  );
}

/** The reference: rule 4 evaluated directly on noble's point arithmetic. */
export const nobleBackend: SignatureBackend = {
  name: 'noble',
  sign(secretKey: Uint8Array, message: Uint8Array): Uint8Array {
    return nobleSign(message, secretKey);
  },
  verify(publicKey: Uint8Array, message: Uint8Array, signature: Uint8Array): boolean {
    if (!signatureShapeOk(signature)) return false;
    const a = decodePublicKey(publicKey);
    if (typeof a === 'string') return false;
    const r = signature.subarray(0, PUBLIC_KEY_BYTES);
    const k =
      littleEndian(sha512.create().update(r).update(publicKey).update(message).digest()) % L;
    const s = littleEndian(signature.subarray(PUBLIC_KEY_BYTES));
    const expected = Point.BASE.multiply(s, false).subtract(a.multiply(k, false));
    return bytesEqual(expected.toBytes(), r);
  },
};

// DER prefixes wrapping a raw Ed25519 key as PKCS#8 and SPKI (RFC 8410).
const PKCS8_PREFIX = fromHex('302e020100300506032b657004220420');
const SPKI_PREFIX = fromHex('302a300506032b6570032100');
// Checking a key (rule 1, in JS) and parsing its DER together cost more than a verification;
// a cluster has few keys.
const KEY_CACHE_CAPACITY = 1024;
const signingKeys = new FifoCache<KeyObject>(KEY_CACHE_CAPACITY);
const keyVerdicts = new FifoCache<string | null>(KEY_CACHE_CAPACITY);
/** null: the key fails rule 1, so OpenSSL never sees it. */
const verifyingKeys = new FifoCache<KeyObject | null>(KEY_CACHE_CAPACITY);

function signingKey(secretKey: Uint8Array): KeyObject {
  if (secretKey.length !== SECRET_KEY_BYTES) {
    throw new RangeError(
      `sign: secret key must be ${SECRET_KEY_BYTES} bytes, got ${secretKey.length}`,
    );
  }
  const id = toHex(secretKey);
  let key = signingKeys.get(id);
  if (key === undefined) {
    key = createPrivateKey({
      key: Buffer.concat([PKCS8_PREFIX, secretKey]),
      format: 'der',
      type: 'pkcs8',
    });
    signingKeys.set(id, key);
  }
  return key;
}

function verifyingKey(publicKey: Uint8Array): KeyObject | null {
  if (publicKey.length !== PUBLIC_KEY_BYTES) return null;
  const id = toHex(publicKey);
  let key = verifyingKeys.get(id);
  if (key === undefined) {
    key =
      checkPublicKey(publicKey) === null
        ? createPublicKey({
            key: Buffer.concat([SPKI_PREFIX, publicKey]),
            format: 'der',
            type: 'spki',
          })
        : null;
    verifyingKeys.set(id, key);
  }
  return key;
}

/** OpenSSL through node:crypto for the arithmetic; same rule, same verdicts, same signatures. */
export const nativeBackend: SignatureBackend = {
  name: 'native',
  sign(secretKey: Uint8Array, message: Uint8Array): Uint8Array {
    // Copy out of the Buffer so callers get a plain, unpooled Uint8Array.
    return new Uint8Array(nodeSign(null, message, signingKey(secretKey)));
  },
  verify(publicKey: Uint8Array, message: Uint8Array, signature: Uint8Array): boolean {
    if (!signatureShapeOk(signature)) return false;
    const key = verifyingKey(publicKey);
    return key !== null && nodeVerify(null, message, key, signature);
  },
};
