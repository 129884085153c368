// SHA-256 digests and byte helpers. Knows nothing of Paxos: callers choose domains.
// OpenSSL's SHA-256 (node:crypto): several times noble's on the kilobyte bodies we sign;
// test/crypto/digest.test.ts holds it to noble's digests.
import { createHash, type Hash } from 'node:crypto';

/** Length of every digest produced here, in bytes. */
export const DIGEST_BYTES = 32;

/** Largest part domainDigest accepts: lengths are framed as uint32. */
const PART_BYTES_MAX = 0xffff_ffff;

export function sha256(bytes: Uint8Array): Uint8Array {
  return digestOf(createHash('sha256').update(bytes));
}

/** SHA-256 of the parts' concatenation (no framing: the caller's encoding must be unambiguous). */
export function sha256Concat(parts: Iterable<Uint8Array>): Uint8Array {
  const state = createHash('sha256');
  for (const part of parts) state.update(part);
  return digestOf(state);
}

/** A plain, unpooled Uint8Array: callers may keep or compare it without Buffer semantics. */
function digestOf(hash: Hash): Uint8Array {
  return new Uint8Array(hash.digest());
}

/** Lowercase hex, two characters per byte. Node's encoder gives a flat string in one call; the caches key their maps by it, per message. */
export function toHex(bytes: Uint8Array): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('hex');
}

function hexNibble(code: number): number {
  if (code >= 48 && code <= 57) return code - 48; // 0-9
  if (code >= 97 && code <= 102) return code - 87; // a-f
  if (code >= 65 && code <= 70) return code - 55; // A-F
  return -1;
}

/** Parses hex (either case, no prefix, no separators); throws on anything else. */
export function fromHex(hex: string): Uint8Array {
  if (hex.length % 2 !== 0) throw new Error(`fromHex: odd length ${hex.length}`);
  const out = new Uint8Array(hex.length / 2);
  for (let i = 0; i < out.length; i++) {
    const hi = hexNibble(hex.charCodeAt(2 * i));
    const lo = hexNibble(hex.charCodeAt(2 * i + 1));
    if (hi < 0 || lo < 0) {
      throw new Error(`fromHex: invalid character at offset ${hi < 0 ? 2 * i : 2 * i + 1}`);
    }
    out[i] = (hi << 4) | lo;
  }
  return out;
}

/** Not constant-time: the digests compared in this project are public. */
export function bytesEqual(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

export interface Hasher {
  /** A string is hashed as its UTF-8 bytes: callers skip encoding it into a fresh array. */
  update(bytes: Uint8Array | string): void;
  /** Digest of everything so far, as hex; does not end the stream, so it may be called repeatedly. */
  digestHex(): string;
}

export function createHasher(): Hasher {
  const state = createHash('sha256');
  return {
    update(bytes: Uint8Array | string): void {
      state.update(bytes);
    },
    digestHex(): string {
      return state.copy().digest('hex');
    },
  };
}

const utf8 = new TextEncoder();

/** Inputs up to this size are framed into one buffer and hashed in one call: each call into OpenSSL costs more than copying them. */
const FRAMED_COPY_BYTES_MAX = 16 * 1024;

function framedLength(parts: readonly Uint8Array[]): number {
  let total = 0;
  for (const part of parts) {
    if (part.length > PART_BYTES_MAX) throw new Error(`domainDigest: part of ${part.length} bytes exceeds ${PART_BYTES_MAX}`);
    total += 4 + part.length;
  }
  return total;
}

function lengthPrefix(length: number): Uint8Array {
  const prefix = new Uint8Array(4);
  new DataView(prefix.buffer).setUint32(0, length);
  return prefix;
}

function framed(parts: readonly Uint8Array[], total: number): Uint8Array {
  const out = new Uint8Array(total);
  const view = new DataView(out.buffer);
  let at = 0;
  for (const part of parts) {
    view.setUint32(at, part.length);
    out.set(part, at + 4);
    at += 4 + part.length;
  }
  return out;
}

/**
 * SHA-256 over uint32-BE-length-prefixed UTF-8 `domain` then each part. Framing every field
 * means no two (domain, parts) tuples share an input, so different splits never collide.
 */
/** Callers use a handful of constant domains; a caller inventing domains only fills the cache once. */
const DOMAINS_CACHED_MAX = 64;
const domainBytes = new Map<string, Uint8Array>();

function encodedDomain(domain: string): Uint8Array {
  let bytes = domainBytes.get(domain);
  if (bytes === undefined) {
    bytes = utf8.encode(domain);
    if (domainBytes.size < DOMAINS_CACHED_MAX) domainBytes.set(domain, bytes);
  }
  return bytes;
}

export function domainDigest(domain: string, ...parts: Uint8Array[]): Uint8Array {
  const all = [encodedDomain(domain), ...parts];
  const total = framedLength(all);
  const state = createHash('sha256');
  if (total <= FRAMED_COPY_BYTES_MAX) {
    state.update(framed(all, total));
  } else {
    // Large parts stream through as they are: copying them would cost more than the calls.
    for (const part of all) state.update(lengthPrefix(part.length)).update(part);
  }
  return digestOf(state);
}
