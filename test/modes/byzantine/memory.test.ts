// Memory under a flood (issue 9): a Byzantine member signs maximal messages at many positions.
// An honest node keeps of them at most its witness budget for that signer, and the flood
// pushes out none of what an honest member signed.
import { describe, expect, it } from 'vitest';
import { FRAME_BYTES_MAX, OP_BYTES_MAX, SIGNATURE_BYTES, witnessSignerBytesMax } from '../../../src/base/limits.ts';
import type { Batch } from '../../../src/base/types.ts';
import { ballot, batchOf, command, makeFixture, Net, promise, seal, verifyVote } from './fixtures.ts';

const fx = makeFixture(1);
const FLOODER = 3;
const HONEST = 1;
const VICTIM = 0;

/** A batch of junk commands (unsigned: the witness stores before anyone checks them) just under a frame. */
function maximalBatch(fill: number): Batch {
  const commands = Array.from({ length: Math.floor((FRAME_BYTES_MAX - 1024) / (OP_BYTES_MAX + SIGNATURE_BYTES + 8)) }, (_, i) => ({
    clientId: 1,
    session: 1,
    seq: i + 1,
    op: new Uint8Array(OP_BYTES_MAX).fill(fill),
    signature: new Uint8Array(SIGNATURE_BYTES),
  }));
  return { commands };
}

describe('memory under a flood of maximal signed messages', () => {
  it('an honest node keeps at most its per-signer budget of the flood, and no honest entry is pushed out', () => {
    const net = new Net(fx);
    const w = fx.config.watermarkSlots;
    const budget = witnessSignerBytesMax(w, fx.config.batchCommandsMax);
    // Member 1 votes in round 2 at slot 1: no vote table holds it (node 0 is in round 1), only the witness.
    const A = batchOf(command(fx, 1, 1, { type: 'put', key: 'k', value: 'A' }));
    const B = batchOf(command(fx, 2, 1, { type: 'put', key: 'k', value: 'B' }));
    net.deliver(VICTIM, HONEST, verifyVote(fx, HONEST, ballot(2), 1, A));

    const batch = maximalBatch(0xfe);
    let floodBytes = 0;
    const flood = (msg: Parameters<typeof seal>[2]) => {
      const envelope = seal(fx, FLOODER, msg);
      floodBytes += envelope.payload.length;
      net.deliver(VICTIM, FLOODER, envelope);
    };
    // Accepts in the rounds it leads, within reach and beyond, in the window and beyond it.
    for (const round of [4, 8, 12, 16, 40]) {
      for (let slot = 0; slot < 2 * w; slot += 8) flood({ type: 'accept', ballot: ballot(round), slot, batch, decidedUpTo: 0 });
    }
    // Promises carrying a maximal (unjustified) certificate, for rounds up to and past reach.
    for (let round = 1; round <= 24; round++) {
      flood({ type: 'certified-promise', ballot: ballot(round), checkpoint: null, prepared: [{ ballot: ballot(1), slot: 0, batch, verifies: [] }] });
    }
    // And many small votes at positions nobody could ever ask about.
    for (let round = 100; round < 2600; round++) flood({ type: 'verify', ballot: ballot(round), slot: 1, digest: new Uint8Array(32) });
    expect(floodBytes).toBeGreaterThan(8 * budget);

    const footprint = net.nodes[VICTIM]!.footprint();
    // The flooder's budget, plus member 1's one vote.
    expect(footprint.witnessBytes).toBeLessThanOrEqual(budget + 1024);
    expect(footprint.witnessBytes).toBeLessThanOrEqual((fx.n - 1) * budget);
    // The honest member's vote is still there: its other half makes a proof.
    const effects = net.deliver(VICTIM, HONEST, verifyVote(fx, HONEST, ballot(2), 1, B));
    const proofs = effects.flatMap((e) => (e.type === 'evidence' ? [e.evidence] : []));
    expect(proofs.map((e) => e.kind === 'equivocation' && e.first.signer)).toEqual([HONEST]);
  });

  it('a promise from the honest member for a coming round survives the flood too', () => {
    const net = new Net(fx);
    net.deliver(VICTIM, HONEST, promise(fx, HONEST, ballot(3)));
    const batch = maximalBatch(0xfd);
    for (let round = 1; round <= 17; round++) {
      net.deliver(VICTIM, FLOODER, seal(fx, FLOODER, { type: 'certified-promise', ballot: ballot(round), checkpoint: null, prepared: [{ ballot: ballot(1), slot: 0, batch, verifies: [] }] }));
    }
    const other = batchOf(command(fx, 1, 1, { type: 'put', key: 'k', value: 'A' }));
    const effects = net.deliver(VICTIM, HONEST, promise(fx, HONEST, ballot(3), [{ ballot: ballot(1), slot: 0, batch: other, verifies: [] }]));
    const proofs = effects.flatMap((e) => (e.type === 'evidence' ? [e.evidence] : []));
    expect(proofs.map((e) => e.kind === 'equivocation' && e.first.signer)).toEqual([HONEST]);
  });
});
