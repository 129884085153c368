// Secret randomness: bytes nobody else may predict, such as commitment keys. Kept apart from any
// scheduling PRNG: a fast non-cryptographic generator (sfc32) gives its seed away after a few
// outputs, and everything it draws later with it. Knows nothing of Paxos.
import { hmac } from '@noble/hashes/hmac.js';
import { sha256 } from '@noble/hashes/sha2.js';
import { DIGEST_BYTES } from './digest.ts';

export interface Entropy {
  /** `length` fresh bytes, never handed out before. */
  bytes(length: number): Uint8Array;
}

/** Largest single request: crypto.getRandomValues refuses more than 65,536 bytes at once. */
export const ENTROPY_BYTES_MAX = 65_536;

/** The operating system's CSPRNG (crypto.getRandomValues): what a deployed node uses. */
export const systemEntropy: Entropy = {
  bytes(length: number): Uint8Array {
    checkLength(length);
    return globalThis.crypto.getRandomValues(new Uint8Array(length));
  },
};

/** Shortest key derivedEntropy accepts: a full SHA-256 output, so the key is not guessable. */
export const DERIVED_KEY_BYTES_MIN = DIGEST_BYTES;

/**
 * A deterministic source for replayable runs (the simulator, tests): call i returns the first
 * `length` bytes of HMAC-SHA256(key, u64(i) ‖ u32(0)) ‖ HMAC-SHA256(key, u64(i) ‖ u32(1)) ‖ ….
 * Its output is as secret as `key` and no more: a deployment must use systemEntropy, because
 * anyone who can derive the key can derive every byte.
 */
export function derivedEntropy(key: Uint8Array): Entropy {
  if (key.length < DERIVED_KEY_BYTES_MIN) throw new RangeError(`derivedEntropy: key must be at least ${DERIVED_KEY_BYTES_MIN} bytes, got ${key.length}`);
  const secret = Uint8Array.from(key);
  let call = 0n;
  return {
    bytes(length: number): Uint8Array {
      checkLength(length);
      const out = new Uint8Array(length);
      const input = new Uint8Array(12);
      const view = new DataView(input.buffer);
      view.setBigUint64(0, call++);
      for (let block = 0; block * DIGEST_BYTES < length; block++) {
        view.setUint32(8, block);
        out.set(hmac(sha256, secret, input).subarray(0, length - block * DIGEST_BYTES), block * DIGEST_BYTES);
      }
      return out;
    },
  };
}

function checkLength(length: number): void {
  if (!Number.isInteger(length) || length < 0 || length > ENTROPY_BYTES_MAX) {
    throw new RangeError(`entropy: length must be an integer in 0..${ENTROPY_BYTES_MAX}, got ${length}`);
  }
}
