// Shared by the evidence tests: the 4-node Byzantine test cluster (deterministic keys, one
// Authenticator per member) and one genuine piece of evidence of each kind.
import type { Ballot, Batch, Slot } from '../../src/base/types.ts';
import type { Evidence, EvidenceKind } from '../../src/messages/evidence.ts';
import { batchDigest } from '../../src/messages/codec.ts';
import type { SignedEnvelope } from '../../src/messages/types.ts';
import { commit } from '../../crypto/commitment.ts';
import { ballot, batchOf, command, flipSignature, makeFixture, prepared, promise, seal } from '../modes/byzantine/fixtures.ts';

export const fx = makeFixture(1);
/** Led by n0 and n1. */
export const B1 = ballot(1);
export const B2 = ballot(2);
export const A = batchOf(command(fx, 1, 1, { type: 'put', key: 'k', value: 'A' }));
export const B = batchOf(command(fx, 2, 1, { type: 'put', key: 'k', value: 'B' }));
export const KEY_1 = new Uint8Array(32).fill(0x11);
export const KEY_2 = new Uint8Array(32).fill(0x22);

/** `signer`'s Commitment to digest(batch) at (b, slot), opened by `key`. */
export function commitment(signer: number, b: Ballot, slot: Slot, batch: Batch, key: Uint8Array): SignedEnvelope {
  const vote = { clusterId: fx.clusterId, round: b.round, leader: b.leader, slot, digest: batchDigest(batch) };
  return seal(fx, signer, { type: 'commitment', ballot: b, slot, commitment: commit(vote, key) });
}

export function reveal(signer: number, b: Ballot, slot: Slot, batch: Batch, key: Uint8Array): SignedEnvelope {
  return seal(fx, signer, { type: 'reveal', ballot: b, slot, digest: batchDigest(batch), key });
}

const validCertificate = prepared(fx, B1, 0, A);

/** n1's NewBallot for B2 over 2f+1 promises, n2's carrying `certificate` (by default a valid one). */
export function newBallot(certificate = validCertificate): SignedEnvelope {
  const promises = [promise(fx, 0, B2), promise(fx, 1, B2), promise(fx, 2, B2, [certificate])];
  return seal(fx, 1, { type: 'new-ballot', ballot: B2, promises });
}

export const GENUINE: { readonly [K in EvidenceKind]: Extract<Evidence, { kind: K }> } = {
  // The leader n0 proposes two batches for one slot.
  equivocation: {
    kind: 'equivocation',
    first: seal(fx, 0, { type: 'accept', ballot: B1, slot: 5, batch: A, decidedUpTo: 0 }),
    second: seal(fx, 0, { type: 'accept', ballot: B1, slot: 5, batch: B, decidedUpTo: 0 }),
  },
  // n2 committed to A, then revealed B.
  'commitment-mismatch': {
    kind: 'commitment-mismatch',
    commitment: commitment(2, B1, 5, A, KEY_1),
    reveal: reveal(2, B1, 5, B, KEY_1),
  },
  // n1 leads B2 on a promise whose prepared certificate carries a forged Verify.
  'unjustified-new-ballot': {
    kind: 'unjustified-new-ballot',
    newBallot: newBallot({ ...validCertificate, verifies: validCertificate.verifies.with(2, flipSignature(validCertificate.verifies[2]!)) }),
  },
  // n2 accepted A at slot 0 in B1, then promised B2 reporting nothing prepared there.
  'omitted-vote': {
    kind: 'omitted-vote',
    vote: seal(fx, 2, { type: 'accepted', ballot: B1, slot: 0, digest: batchDigest(A) }),
    promise: promise(fx, 2, B2),
  },
};
