// Bit commitment (seed 000 §6): an acceptor commits to its vote before revealing it.
//
//   C = SHA-256(len‖"byzpaxos/commitment/v1" ‖ len‖clusterId ‖ len‖ballot ‖ len‖slot ‖ len‖digest ‖ len‖key)
//
// with a fresh, uniformly random 32-byte key per vote, never reused. Binding: opening C to a
// second (digest, key) means finding a SHA-256 collision. Hiding: without the key, C reveals
// nothing about the digest beyond what SHA-256 modelled as a random oracle leaks, because the
// 256-bit key is unpredictable; the digest alone is often guessable (few candidate batches),
// which is exactly why the key must be fresh and secret until the reveal. Binding the cluster,
// ballot and slot stops a commitment from being replayed for another vote.
import { DIGEST_BYTES, bytesEqual, domainDigest } from './digest.ts';

export const COMMITMENT_KEY_BYTES = 32;
const COMMITMENT_DOMAIN = 'byzpaxos/commitment/v1';

export interface CommittedVote {
  readonly clusterId: Uint8Array;
  readonly round: number;
  readonly leader: number;
  readonly slot: number;
  readonly digest: Uint8Array;
}

export function commit(vote: CommittedVote, key: Uint8Array): Uint8Array {
  if (key.length !== COMMITMENT_KEY_BYTES) throw new RangeError(`commitment key must be ${COMMITMENT_KEY_BYTES} bytes, got ${key.length}`);
  if (vote.digest.length !== DIGEST_BYTES) throw new RangeError(`commitment digest must be ${DIGEST_BYTES} bytes, got ${vote.digest.length}`);
  return domainDigest(COMMITMENT_DOMAIN, vote.clusterId, u64(vote.round), u64(vote.leader + 1), u64(vote.slot), vote.digest, key);
}

/** Does (digest, key) open `commitment` for this vote? Never throws: malformed inputs do not open. */
export function opens(commitment: Uint8Array, vote: CommittedVote, key: Uint8Array): boolean {
  if (key.length !== COMMITMENT_KEY_BYTES || vote.digest.length !== DIGEST_BYTES || commitment.length !== DIGEST_BYTES) return false;
  return bytesEqual(commit(vote, key), commitment);
}

function u64(value: number): Uint8Array {
  const bytes = new Uint8Array(8);
  new DataView(bytes.buffer).setBigUint64(0, BigInt(value));
  return bytes;
}
