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
export {
  PUBLIC_KEY_BYTES,
  SECRET_KEY_BYTES,
  SIGNATURE_BYTES,
  checkPublicKey,
  generateKeyPair,
  keyPairFromSeed,
  nativeBackend,
  nobleBackend,
} from './ed25519.ts';
export type { KeyPair, SignatureBackend } from './ed25519.ts';
export {
  CLUSTER_ID_BYTES,
  SIGN_DOMAIN,
  cachedVerifier,
  clusterIdOf,
  signBytes,
  signMessage,
  verifyMessage,
} from './envelope.ts';
export type { CachedVerifier, SignatureStats } from './envelope.ts';
export * from './commitment.ts';
export { DERIVED_KEY_BYTES_MIN, ENTROPY_BYTES_MAX, derivedEntropy, systemEntropy } from './entropy.ts';
export type { Entropy } from './entropy.ts';
