// Public surface of the crypto module.
export {
  DIGEST_BYTES,
  bytesEqual,
  createHasher,
  domainDigest,
  fromHex,
  sha256,
  toHex,
} from './digest.ts';
export type { Hasher } from './digest.ts';
