// The witness (src/evidence/witness.ts): a node's memory of what others signed where an honest
// node signs once. It must prove exactly what the verifier accepts, in either arrival order, and
// stay within its bound.
import { describe, expect, it } from 'vitest';
import { verifyEvidence } from '../../src/evidence/verify.ts';
import { Witness } from '../../src/evidence/witness.ts';
import type { SignedEnvelope } from '../../src/messages/types.ts';
import type { SignedPayload } from '../../src/modes/byzantine/auth.ts';
import { ballot, prepared, promise, seal, verifyVote } from '../modes/byzantine/fixtures.ts';
import { A, B, B1, B2, KEY_1, KEY_2, commitment, fx, reveal } from './fixtures.ts';

const open = (e: SignedEnvelope): SignedPayload => fx.auths[0]!.open(e)!;
const acceptOf = (batch: typeof A, decidedUpTo = 0) => seal(fx, 0, { type: 'accept', ballot: B1, slot: 5, batch, decidedUpTo });

function observe(w: Witness, e: SignedEnvelope) {
  return w.observe(e, open(e));
}

describe('Witness', () => {
  const pairs: [string, SignedEnvelope, SignedEnvelope][] = [
    ['two Accepts with different batches', acceptOf(A), acceptOf(B)],
    ['two Verifies with different digests', verifyVote(fx, 2, B1, 5, A), verifyVote(fx, 2, B1, 5, B)],
    ['two commitments for one vote', commitment(2, B1, 5, A, KEY_1), commitment(2, B1, 5, A, KEY_2)],
    ['two promises for one ballot', promise(fx, 3, ballot(3), []), promise(fx, 3, ballot(3), [prepared(fx, B1, 0, A)])],
  ];
  for (const [name, first, second] of pairs) {
    it(`proves ${name}, whichever arrives first, and the verifier agrees`, () => {
      for (const [x, y] of [[first, second], [second, first]] as const) {
        const w = new Witness(4, 64);
        expect(observe(w, x)).toBeNull();
        const proof = observe(w, y);
        expect(proof).not.toBeNull();
        const verdict = verifyEvidence(fx.cluster, proof!);
        expect(verdict.ok && verdict.culprit).toBe(x.signer);
      }
    });
  }

  it('does not prove a retransmission or a change only where an honest node may change its mind', () => {
    const w = new Witness(4, 64);
    expect(observe(w, acceptOf(A, 0))).toBeNull();
    expect(observe(w, acceptOf(A, 0))).toBeNull();
    // Same batch, later decidedUpTo: an honest leader's resend.
    expect(observe(w, acceptOf(A, 3))).toBeNull();
    // Same signer, other position; other signer, same position.
    expect(observe(w, seal(fx, 0, { type: 'accept', ballot: B1, slot: 6, batch: B, decidedUpTo: 0 }))).toBeNull();
    expect(observe(w, verifyVote(fx, 1, B1, 5, A))).toBeNull();
    expect(observe(w, verifyVote(fx, 2, B1, 5, B))).toBeNull();
    // Heartbeats and the like are not claims.
    expect(observe(w, seal(fx, 0, { type: 'heartbeat', ballot: B1, decidedUpTo: 0 }))).toBeNull();
  });

  it('answers evidence queries with what it holds at (ballot, slot)', () => {
    const w = new Witness(4, 64);
    const held = [acceptOf(A), verifyVote(fx, 1, B1, 5, A), reveal(2, B1, 5, A, KEY_1)];
    for (const e of held) observe(w, e);
    observe(w, verifyVote(fx, 1, B2, 5, A));
    expect(new Set(w.heldAt(B1, 5))).toEqual(new Set(held));
    expect(w.heldAt(B1, 4)).toEqual([]);
  });

  it('forgets the oldest entries beyond its bound, so memory stays fixed', () => {
    const w = new Witness(4, 2);
    observe(w, verifyVote(fx, 1, B1, 1, A));
    observe(w, verifyVote(fx, 1, B1, 2, A));
    observe(w, verifyVote(fx, 1, B1, 3, A));
    expect(observe(w, verifyVote(fx, 1, B1, 1, B))).toBeNull(); // forgotten
    expect(observe(w, verifyVote(fx, 1, B1, 3, B))).not.toBeNull();
  });
});
