// The witness (src/modes/byzantine/witness.ts): a node's memory of what others signed where an honest
// node signs once. It must prove exactly what the verifier accepts, in either arrival order, and
// stay within its byte budget per signer, so one signer's flood never pushes out another's entries.
import { describe, expect, it } from 'vitest';
import { verifyEvidence } from '../../../src/evidence/verify.ts';
import { Witness } from '../../../src/modes/byzantine/witness.ts';
import { WITNESS_ENTRY_OVERHEAD_BYTES } from '../../../src/base/limits.ts';
import type { SignedEnvelope } from '../../../src/messages/types.ts';
import type { SignedPayload } from '../../../src/modes/byzantine/auth.ts';
import { ballot, prepared, promise, seal, verifyVote } from './fixtures.ts';
import { A, B, B1, B2, KEY_1, KEY_2, commitment, fx, reveal } from '../../evidence/fixtures.ts';

const open = (e: SignedEnvelope): SignedPayload => fx.auths[0]!.open(e)!;
const acceptOf = (batch: typeof A, decidedUpTo = 0) => seal(fx, 0, { type: 'accept', ballot: B1, slot: 5, batch, decidedUpTo });

function observe(w: Witness, e: SignedEnvelope) {
  return w.observe(e, open(e));
}

/** A budget no test here fills. */
const ROOMY = 1 << 20;
/** What one envelope is charged. */
const charge = (e: SignedEnvelope) => e.payload.length + e.signature.length + WITNESS_ENTRY_OVERHEAD_BYTES;

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
        const w = new Witness(4, ROOMY);
        expect(observe(w, x)).toBeNull();
        const proof = observe(w, y);
        expect(proof).not.toBeNull();
        const verdict = verifyEvidence(fx.cluster, proof!);
        expect(verdict.ok && verdict.culprit).toBe(x.signer);
      }
    });
  }

  it('does not prove a retransmission or a change only where an honest node may change its mind', () => {
    const w = new Witness(4, ROOMY);
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
    const w = new Witness(4, ROOMY);
    const held = [acceptOf(A), verifyVote(fx, 1, B1, 5, A), reveal(2, B1, 5, A, KEY_1)];
    for (const e of held) observe(w, e);
    observe(w, verifyVote(fx, 1, B2, 5, A));
    expect(new Set(w.heldAt(B1, 5))).toEqual(new Set(held));
    expect(w.heldAt(B1, 4)).toEqual([]);
  });

  it('forgets a signer\'s oldest entries beyond its byte budget, so memory stays fixed', () => {
    const votes = [1, 2, 3].map((slot) => verifyVote(fx, 1, B1, slot, A));
    const w = new Witness(4, charge(votes[0]!) * 2);
    for (const v of votes) observe(w, v);
    expect(w.entries).toBe(2);
    expect(w.bytesOf(1)).toBe(charge(votes[1]!) + charge(votes[2]!));
    expect(observe(w, verifyVote(fx, 1, B1, 1, B))).toBeNull(); // forgotten
    expect(observe(w, verifyVote(fx, 1, B1, 3, B))).not.toBeNull();
  });

  it('charges each signer alone: a flooding signer pushes out only its own entries', () => {
    const honest = verifyVote(fx, 1, B1, 1, A);
    const w = new Witness(4, charge(honest) * 3);
    observe(w, honest);
    for (let slot = 0; slot < 100; slot++) observe(w, verifyVote(fx, 3, B1, slot, B));
    expect(w.bytesOf(3)).toBeLessThanOrEqual(charge(honest) * 3);
    expect(w.bytesOf(1)).toBe(charge(honest));
    expect(w.bytes).toBe(w.bytesOf(1) + w.bytesOf(3));
    expect(w.entries).toBe(4);
    // The honest signer's entry survived the flood: its other half still makes a proof.
    expect(observe(w, verifyVote(fx, 1, B1, 1, B))).not.toBeNull();
    expect(observe(w, verifyVote(fx, 3, B1, 0, A))).toBeNull(); // the flooder's oldest, gone
  });

  it('keeps no entry larger than a whole budget, and nothing of it is charged', () => {
    const big = promise(fx, 2, ballot(3), [prepared(fx, B1, 0, A), prepared(fx, B1, 1, B)]);
    const w = new Witness(4, charge(big) - 1);
    observe(w, big);
    expect(w.entries).toBe(0);
    expect(w.bytes).toBe(0);
  });

  it('forgets slots below the low watermark and checkpoints at or below it, not ballot messages', () => {
    const w = new Witness(4, ROOMY);
    const digest = (fill: number) => new Uint8Array(32).fill(fill);
    const checkpoint = (slot: number, fill = 1) => seal(fx, 2, { type: 'checkpoint', slot, stateDigest: digest(fill) });
    const kept = [verifyVote(fx, 1, B1, 16, A), checkpoint(32), promise(fx, 3, ballot(3))];
    for (const e of [verifyVote(fx, 1, B1, 15, A), checkpoint(16), ...kept]) observe(w, e);
    w.forgetBelow(16);
    expect(w.entries).toBe(3);
    expect(w.bytes).toBe(kept.reduce((sum, e) => sum + charge(e), 0));
    expect(observe(w, verifyVote(fx, 1, B1, 15, B))).toBeNull();
    expect(observe(w, checkpoint(16, 2))).toBeNull();
    expect(observe(w, verifyVote(fx, 1, B1, 16, B))).not.toBeNull();
    expect(observe(w, checkpoint(32, 2))).not.toBeNull();
    expect(observe(w, promise(fx, 3, ballot(3), [prepared(fx, B1, 0, A)]))).not.toBeNull();
  });
});
