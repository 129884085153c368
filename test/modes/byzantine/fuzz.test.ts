// A Byzantine peer may send anything it can sign. Whatever it sends, an honest node must not
// throw, and must not retain more than its bounds allow (watermarks, one vote per signer per
// slot, one promise per peer), while still serving honest traffic.
import type { Ballot, Batch } from '../../../src/base/types.ts';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { PeerMessage } from '../../../src/messages/types.ts';
import type { SignedPayload } from '../../../src/modes/byzantine/auth.ts';
import { ballot, batchOf, command, makeFixture, Net, prepared, seal } from './fixtures.ts';

const fx = makeFixture(1);
const BYZANTINE = 3;
const W = fx.config.watermarkSlots;

// Mostly the current ballot and slots near the watermarks, where messages are taken and stored.
const roundArb = fc.oneof({ arbitrary: fc.constant(1), weight: 4 }, { arbitrary: fc.integer({ min: 1, max: 40 }), weight: 1 });
const slotArb = fc.oneof(
  { arbitrary: fc.integer({ min: 0, max: W + 8 }), weight: 6 },
  { arbitrary: fc.integer({ min: 0, max: 2 ** 40 }), weight: 1 },
);
const digestArb = fc.uint8Array({ minLength: 32, maxLength: 32 });
const ballotArb: fc.Arbitrary<Ballot> = fc.oneof(
  { arbitrary: roundArb.map((r) => ballot(r)), weight: 4 },
  { arbitrary: fc.record({ round: roundArb, leader: fc.integer({ min: 0, max: 3 }) }), weight: 1 },
);
const batchArb: fc.Arbitrary<Batch> = fc.oneof(
  fc.constant(batchOf()),
  fc.integer({ min: 1, max: 1000 }).map((seq) => batchOf(command(fx, 1, seq, { type: 'put', key: 'k', value: `v${seq}` }))),
  // A command whose client signature is garbage.
  fc.integer({ min: 1, max: 1000 }).map((seq) => ({
    commands: [{ ...command(fx, 2, seq, { type: 'get', key: 'k' }), signature: new Uint8Array(64).fill(seq % 256) }],
  })),
);

/** Anything node 3 could sign. */
const payloadArb: fc.Arbitrary<SignedPayload> = fc.oneof(
  fc.record({ type: fc.constant('accept' as const), ballot: ballotArb, slot: slotArb, batch: batchArb, decidedUpTo: slotArb }),
  fc.record({ type: fc.constant('verify' as const), ballot: ballotArb, slot: slotArb, digest: digestArb }),
  fc.record({ type: fc.constant('accepted' as const), ballot: ballotArb, slot: slotArb, digest: digestArb }),
  fc.record({ type: fc.constant('checkpoint' as const), slot: slotArb, stateDigest: digestArb }),
  fc.record({ type: fc.constant('heartbeat' as const), ballot: ballotArb, decidedUpTo: slotArb }),
  fc.record({ type: fc.constant('catchup-request' as const), fromSlot: slotArb }),
  fc.record({
    type: fc.constant('certified-promise' as const),
    ballot: roundArb.map((r) => ballot(r)),
    checkpoint: fc.constant(null),
    prepared: fc.array(fc.tuple(fc.integer({ min: 0, max: W }), batchArb).map(([slot, batch]) => prepared(fx, ballot(1), slot, batch)), { maxLength: 2 }),
  }),
  fc.record({ type: fc.constant('new-ballot' as const), ballot: roundArb.map((r) => ballot(r)), promises: fc.constant([]) }),
  fc.record({ type: fc.constant('certified-catchup-reply' as const), entries: fc.constant([]), decidedUpTo: slotArb }),
);

const wireArb: fc.Arbitrary<PeerMessage> = fc.oneof(
  { arbitrary: payloadArb.map((p): PeerMessage => seal(fx, BYZANTINE, p)), weight: 6 },
  // Signed by someone else (impersonation), or with a broken signature, or garbage.
  payloadArb.map((p) => seal(fx, 1, p)),
  payloadArb.map((p) => ({ ...seal(fx, BYZANTINE, p), signature: new Uint8Array(64) })),
  fc.uint8Array({ maxLength: 80 }).map((payload) => ({ type: 'signed' as const, signer: BYZANTINE, payload, signature: new Uint8Array(64) })),
);

describe('an honest node under arbitrary signed traffic from a Byzantine peer', () => {
  it('never throws, retains only what its bounds allow, and still decides honest commands', () => {
    const retained = { verifyVotes: 0, acceptedVotes: 0 };
    fc.assert(
      fc.property(fc.array(wireArb, { minLength: 1, maxLength: 120 }), (messages) => {
        const net = new Net(fx);
        for (const msg of messages) net.deliver(0, BYZANTINE, msg);
        const footprint = net.nodes[0]!.footprint();
        retained.verifyVotes = Math.max(retained.verifyVotes, footprint.verifyVotes!);
        retained.acceptedVotes = Math.max(retained.acceptedVotes, footprint.acceptedVotes!);
        // One vote per signer per slot within the watermarks; one promise per peer.
        expect(footprint.verifyVotes).toBeLessThanOrEqual(W * fx.n);
        expect(footprint.acceptedVotes).toBeLessThanOrEqual(W * fx.n);
        expect(footprint.checkpointVotes).toBeLessThanOrEqual((W / fx.config.checkpointInterval) * fx.n);
        expect(footprint.promises).toBeLessThanOrEqual(fx.n);
        expect(footprint.verified).toBeLessThanOrEqual(W);
        // No forged message moved node 0 out of its ballot, and the cluster still decides a
        // command through the noise (the network's node 3 is an honest instance).
        expect(net.nodes[0]!.ballot.round).toBe(1);
        net.inFlight = [];
        const cmd = command(fx, 1, 5000, { type: 'put', key: 'x', value: 'y' });
        for (let id = 0; id < fx.n; id++) net.request(id, cmd);
        net.deliverAll();
        const decidedBy = new Set(net.decisions.filter((d) => d.batch.commands.some((c) => c.seq === 5000)).map((d) => d.node));
        expect([...decidedBy].sort()).toEqual([0, 1, 2, 3]);
      }),
      { numRuns: 60, seed: 42 },
    );
    // The generator did reach the stores whose bounds are checked.
    expect(retained.verifyVotes).toBeGreaterThan(0);
    expect(retained.acceptedVotes).toBeGreaterThan(0);
  });
});
