// Every message an honest member seals fits one frame (FRAME_BYTES_MAX), whatever its peers send:
// oversized batches, near-frame promises, witnesses full of large envelopes. One test per case in
// which a node used to build a frame over the limit and throw from step(), a property test over
// arbitrary oversized traffic, and the config checks of the per-slot batch budget.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { Effect } from '../../../src/core/effects.ts';
import { BATCH_BYTES_PREFERRED, FRAME_BYTES_MAX, OP_BYTES_MAX, SIGNED_PAYLOAD_BYTES_MAX } from '../../../src/base/limits.ts';
import { byzantineQuorums } from '../../../src/core/quorum.ts';
import type { Batch, Command, Slot } from '../../../src/base/types.ts';
import { batchSize, encodedSize, encodeMessage } from '../../../src/messages/codec.ts';
import type { CertifiedEntry, PeerMessage, PreparedCertificate, SignedEnvelope } from '../../../src/messages/types.ts';
import { signCommand, type SignedPayload } from '../../../src/modes/byzantine/auth.ts';
import { defaultByzantineConfig } from '../../../src/modes/byzantine/config.ts';
import { batchBytesBudget, MAXIMAL_COMMAND_BATCH_BYTES, promiseBytesMax, sealedBytesMax } from '../../../src/modes/byzantine/frame-budget.ts';
import { acceptedVote, ballot, command, dropped, flipSignature, makeFixture, Net, prepared, promise, seal, sentOfType } from './fixtures.ts';

const fx = makeFixture(1);
const B1 = ballot(1); // led by node 0

/** A command with a maximal op; its client signature is not checked where these are used. */
function bigCommand(seq: number): Command {
  return { clientId: 1, session: 1, seq, op: new Uint8Array(OP_BYTES_MAX).fill(seq % 251), signature: new Uint8Array(64).fill(7) };
}

/** A batch of maximal commands taking at most `bytes` encoded bytes (and at least one command). */
function batchUpTo(bytes: number, seqBase = 1): Batch {
  const commands: Command[] = [bigCommand(seqBase)];
  while (batchSize({ commands: [...commands, bigCommand(seqBase + commands.length)] }) <= bytes) commands.push(bigCommand(seqBase + commands.length));
  return { commands };
}

/** A batch of exactly `bytes` encoded bytes: maximal commands, the last one trimmed. */
function batchOfSize(bytes: number): Batch {
  const commands = [...batchUpTo(bytes - 2 * MAXIMAL_COMMAND_BATCH_BYTES).commands];
  while (batchSize({ commands: [...commands, bigCommand(commands.length + 1)] }) + 200 <= bytes) commands.push(bigCommand(commands.length + 1));
  const last = bigCommand(commands.length + 1);
  for (let op = OP_BYTES_MAX; op >= 0; op--) {
    const batch = { commands: [...commands, { ...last, op: last.op.subarray(0, op) }] };
    if (batchSize(batch) <= bytes) return batch;
  }
  throw new Error('unreachable');
}

/** Every envelope the effects send encodes within one frame (encodeMessage throws beyond it). */
function expectFramesFit(effects: readonly Effect[]): void {
  for (const e of effects) {
    if (e.type !== 'send' && e.type !== 'broadcast') continue;
    expect(encodeMessage(e.msg).length).toBeLessThanOrEqual(FRAME_BYTES_MAX);
  }
}

function expectLogFits(net: Net): void {
  for (const { effects } of net.log) expectFramesFit(effects);
}

describe('promises passed on as evidence', () => {
  it('a valid promise of nearly a frame is dropped as oversized, not re-wrapped past the limit', () => {
    const net = new Net(fx);
    // One prepared certificate whose batch leaves the promise just inside a signable payload.
    const cert = prepared(fx, B1, 0, batchUpTo(SIGNED_PAYLOAD_BYTES_MAX - 2000));
    const big = promise(fx, 3, ballot(2), [cert]);
    expect(big.payload.length).toBeGreaterThan(SIGNED_PAYLOAD_BYTES_MAX - 8000);
    const effects = net.deliver(0, 3, big);
    expectFramesFit(effects);
    expect(sentOfType(fx, effects, 'evidence-share')).toEqual([]);
    expect(dropped(net.nodes[0]!, 'certified-promise:oversized')).toBe(1);
  });

  it('a promise is validated before it is shared: one with a forged certificate is not passed on', () => {
    const net = new Net(fx);
    const cert = prepared(fx, B1, 0, batchUpTo(1000));
    // Node 2's Verify forged (node 0 takes an envelope in its own name as its own: see openOwn).
    const forged: PreparedCertificate = { ...cert, verifies: [cert.verifies[0]!, flipSignature(cert.verifies[1]!), cert.verifies[2]!] };
    const effects = net.deliver(0, 3, promise(fx, 3, ballot(2), [forged]));
    expect(sentOfType(fx, effects, 'evidence-share')).toEqual([]);
    expect(dropped(net.nodes[0]!, 'certified-promise:bad-certificate')).toBe(1);
    // A valid one still is.
    const shared = sentOfType(fx, net.deliver(0, 2, promise(fx, 2, ballot(2), [cert])), 'evidence-share');
    expect(shared.length).toBe(1);
  });

  it('repeated promise shares are packed by size: several promises near the budget go out in shares that each fit', () => {
    const net = new Net(fx);
    const budget = promiseBytesMax(fx.config, fx.config.batchBytesMax);
    const cert = prepared(fx, B1, 0, batchUpTo(budget - 2000));
    const promises = [promise(fx, 1, ballot(2), [cert]), promise(fx, 2, ballot(2), [cert]), promise(fx, 3, ballot(2), [cert]), promise(fx, 1, ballot(3), [cert])];
    for (const p of promises) expect(p.payload.length).toBeLessThanOrEqual(budget);
    for (const p of promises) expectFramesFit(net.deliver(0, p.signer, p));
    const effects = net.step(0, { type: 'timeout', timer: 'retransmit' });
    expectFramesFit(effects);
    const shared = sentOfType(fx, effects, 'evidence-share').flatMap((s) => s.envelopes);
    expect(shared.length).toBe(promises.length);
  });
});

describe('evidence queries', () => {
  it('a witness holding a near-frame Accept answers with what fits and counts the envelope it skips', () => {
    const net = new Net(fx);
    // The leader (node 0, Byzantine here) sends node 1 an Accept as large as a frame allows.
    const huge = seal(fx, 0, { type: 'accept', ballot: B1, slot: 0, batch: batchOfSize(SIGNED_PAYLOAD_BYTES_MAX - 10), decidedUpTo: 0 });
    expect(huge.payload.length).toBeGreaterThan(SIGNED_PAYLOAD_BYTES_MAX - 20);
    expect(encodeMessage(huge).length).toBeLessThanOrEqual(FRAME_BYTES_MAX);
    net.deliver(1, 0, huge);
    net.deliver(1, 2, seal(fx, 2, { type: 'verify', ballot: B1, slot: 0, digest: new Uint8Array(32).fill(1) }));
    const effects = net.deliver(1, 3, seal(fx, 3, { type: 'evidence-query', ballot: B1, slot: 0, checkpoint: false }));
    expectFramesFit(effects);
    const shared = sentOfType(fx, effects, 'evidence-share').flatMap((s) => s.envelopes);
    expect(shared.map((e) => e.signer)).toEqual([2]);
    expect(dropped(net.nodes[1]!, 'evidence-share:oversized-envelope')).toBe(1);
  });
});

describe('batches within batchCommandsMax and batchBytesMax', () => {
  it('an Accept over either bound is dropped and counted before any client signature is checked', () => {
    const net = new Net(fx);
    const small = (seq: number) => command(fx, 1, seq, { type: 'put', key: 'k', value: `v${seq}` });
    const tooMany: Batch = { commands: Array.from({ length: fx.config.batchCommandsMax + 1 }, (_, i) => small(i + 1)) };
    const tooBig = batchUpTo(fx.config.batchBytesMax + 5000);
    expect(batchSize(tooBig)).toBeGreaterThan(fx.config.batchBytesMax);
    for (const [slot, batch] of [[0, tooMany], [1, tooBig]] as const) {
      const before = fx.auths[1]!.stats.verifies;
      const effects = net.deliver(1, 0, seal(fx, 0, { type: 'accept', ballot: B1, slot, batch, decidedUpTo: 0 }));
      // The envelope's own signature only.
      expect(fx.auths[1]!.stats.verifies - before).toBe(1);
      expect(sentOfType(fx, effects, 'verify')).toEqual([]);
    }
    expect(dropped(net.nodes[1]!, 'accept:oversized-batch')).toBe(2);
  });

  it('with large ops the leader batches by bytes, so prepared certificates, promises and the NewBallot all fit', () => {
    const net = new Net(fx);
    // Maximal ops (the store answers them with an error result; ordering is all that matters).
    const op = new Uint8Array(OP_BYTES_MAX).fill(0xff);
    const signed = (clientId: number, seq: number): Command => {
      const key = fx.clientKeys.get(clientId)!;
      return { clientId, session: 1, seq, op, signature: signCommand(fx.backend, key.secretKey, fx.clusterId, { clientId, session: 1, seq, op }) };
    };
    // Queued together, as a busy leader sees them: one session each, so none waits for another.
    for (let seq = 1; seq <= 96; seq++) {
      const cmd = signed(1 + (seq % 2), seq);
      for (let id = 0; id < fx.n; id++) net.request(id, cmd);
    }
    net.deliverAll();
    const accepts = net.log.filter((l) => l.node === 0).flatMap((l) => sentOfType(fx, l.effects, 'accept'));
    expect(accepts.length).toBeGreaterThan(0);
    for (const a of accepts) expect(batchSize(a.batch)).toBeLessThanOrEqual(fx.config.batchBytesMax);
    // A command only the followers hold: they suspect leader 0 and move to ballot 2 (led by node 1).
    const stuck = signed(1, 1000);
    for (const id of [1, 2, 3]) net.request(id, stuck);
    for (const id of [1, 2, 3]) net.step(id, { type: 'timeout', timer: 'progress' });
    net.deliverAll();
    const newBallots = net.log.filter((l) => l.node === 1).flatMap((l) => sentOfType(fx, l.effects, 'new-ballot'));
    expect(newBallots.length).toBeGreaterThan(0);
    for (const nb of newBallots) expect(nb.promises.length).toBe(fx.quorum);
    expectLogFits(net);
  });
});

describe('catch-up replies', () => {
  it('are packed by size: decided batches of 0.4 frame each go out two to a reply', () => {
    const net = new Net(fx);
    // Beyond the fault bound a decided batch may exceed the budget; replies must still fit.
    const entries: CertifiedEntry[] = [0, 1, 2].map((slot: Slot) => {
      const batch = batchUpTo(Math.floor(SIGNED_PAYLOAD_BYTES_MAX * 0.4), 1 + slot * 100);
      return { slot, batch, accepteds: [0, 2, 3].map((s) => acceptedVote(fx, s, B1, slot, batch)) };
    });
    for (const entry of entries) net.deliver(1, 2, seal(fx, 2, { type: 'certified-catchup-reply', entries: [entry], decidedUpTo: 3 }));
    expect(net.nodes[1]!.decidedUpTo).toBe(3);
    const effects = net.deliver(1, 3, seal(fx, 3, { type: 'catchup-request', fromSlot: 0 }));
    expectFramesFit(effects);
    const replies = sentOfType(fx, effects, 'certified-catchup-reply');
    expect(replies.map((r) => r.entries.map((e) => e.slot))).toEqual([[0, 1]]);
  });
});

// --- arbitrary oversized traffic -------------------------------------------------------------

const BYZANTINE = 0; // the leader of ballot 1
const TARGET = 1;
const big = {
  many: { commands: Array.from({ length: fx.config.batchCommandsMax + 1 }, (_, i) => command(fx, 1, i + 1, { type: 'get', key: 'k' })) },
  overBudget: batchUpTo(fx.config.batchBytesMax + 4200),
  third: batchUpTo(Math.floor(SIGNED_PAYLOAD_BYTES_MAX / 3)),
  nearFrame: batchUpTo(SIGNED_PAYLOAD_BYTES_MAX - 3000),
};
const batches: Batch[] = [{ commands: [] }, big.many, big.overBudget, big.third, big.nearFrame];
const certs: PreparedCertificate[] = batches.map((b, slot) => prepared(fx, B1, slot, b, [0, 2, 3]));
const manyCerts: PreparedCertificate[] = Array.from({ length: fx.config.watermarkSlots }, (_, slot) => prepared(fx, B1, slot, batchUpTo(2 * OP_BYTES_MAX + 500, slot * 10), [0, 2, 3]));

/** Only payloads whose envelope fits a frame can arrive; larger ones are left out. */
function fits(payload: SignedPayload): boolean {
  try {
    return encodedSize(payload) <= SIGNED_PAYLOAD_BYTES_MAX;
  } catch {
    return false;
  }
}

const promises: SignedEnvelope[] = [];
for (const signer of [0, 2, 3]) {
  for (const round of [2, 3, 5]) {
    for (const prepared of [[certs[3]!], [certs[4]!], manyCerts, [certs[3]!, certs[2]!]]) {
      const msg: SignedPayload = { type: 'certified-promise', ballot: ballot(round), checkpoint: null, prepared };
      if (fits(msg)) promises.push(seal(fx, signer, msg));
    }
  }
}
const accepts = batches.flatMap((batch, slot) => [seal(fx, BYZANTINE, { type: 'accept', ballot: B1, slot, batch, decidedUpTo: 0 })]);

const payloadArb: fc.Arbitrary<SignedPayload> = fc.oneof(
  fc.record({ type: fc.constant('accept' as const), ballot: fc.constant(B1), slot: fc.integer({ min: 0, max: 6 }), batch: fc.constantFrom(...batches), decidedUpTo: fc.constant(0) }),
  fc.record({ type: fc.constant('certified-promise' as const), ballot: fc.constantFrom(ballot(2), ballot(5)), checkpoint: fc.constant(null), prepared: fc.subarray([...certs, ...manyCerts.slice(0, 8)]) }),
  fc.record({ type: fc.constant('new-ballot' as const), ballot: fc.constant(ballot(5)), promises: fc.subarray(promises, { maxLength: 3 }) }),
  fc.record({ type: fc.constant('evidence-share' as const), envelopes: fc.subarray([...accepts, ...promises], { maxLength: 4 }) }),
  fc.record({ type: fc.constant('evidence-query' as const), ballot: fc.constantFrom(B1, ballot(2), ballot(5)), slot: fc.integer({ min: 0, max: 6 }), checkpoint: fc.boolean() }),
  fc.record({ type: fc.constant('catchup-request' as const), fromSlot: fc.integer({ min: 0, max: 4 }) }),
  fc.record({
    type: fc.constant('certified-catchup-reply' as const),
    entries: fc.subarray(batches.map((batch, slot) => ({ slot, batch, accepteds: [0, 2, 3].map((s) => acceptedVote(fx, s, B1, slot, batch)) })), { maxLength: 2 }),
    decidedUpTo: fc.constant(6),
  }),
);

const wireArb: fc.Arbitrary<{ from: number; msg: PeerMessage } | 'retransmit'> = fc.oneof(
  { arbitrary: payloadArb.filter(fits).map((p) => ({ from: BYZANTINE, msg: seal(fx, BYZANTINE, p) })), weight: 6 },
  // Relayed: honest members' promises, and NewBallots passed on by anyone.
  { arbitrary: fc.constantFrom(...promises).map((msg) => ({ from: msg.signer, msg })), weight: 2 },
  fc.constant('retransmit' as const),
);

describe('an honest node under arbitrary oversized traffic', () => {
  it('never throws, and every envelope it sends encodes within FRAME_BYTES_MAX', () => {
    fc.assert(
      fc.property(fc.array(wireArb, { minLength: 1, maxLength: 25 }), (inputs) => {
        const net = new Net(fx);
        for (const input of inputs) {
          const effects =
            input === 'retransmit' ? net.step(TARGET, { type: 'timeout', timer: 'retransmit' }) : input.from === TARGET ? [] : net.deliver(TARGET, input.from, input.msg);
          expectFramesFit(effects);
        }
      }),
      { numRuns: 40, seed: 9 },
    );
  });
});

// --- config ----------------------------------------------------------------------------------

describe('the per-slot batch byte budget', () => {
  it('defaults to the largest batch for which every sealed message fits, the watermarks lowered (not below WATERMARK_SLOTS_MIN) until a slot gets BATCH_BYTES_PREFERRED, and further until it holds a maximal command', () => {
    const expected = { 1: { watermarkSlots: 32, checkpointInterval: 16 }, 2: { watermarkSlots: 32, checkpointInterval: 16 }, 3: { watermarkSlots: 16, checkpointInterval: 8 } };
    for (const f of [1, 2, 3] as const) {
      const c = defaultByzantineConfig(f);
      expect({ watermarkSlots: c.watermarkSlots, checkpointInterval: c.checkpointInterval }).toEqual(expected[f]);
      expect(c.batchBytesMax).toBe(batchBytesBudget(c));
      expect(c.batchBytesMax).toBeGreaterThanOrEqual(MAXIMAL_COMMAND_BATCH_BYTES);
      // The preferred budget is met where WATERMARK_SLOTS_MIN allows: at f=1 (64 slots would leave 5,089 B).
      if (f === 1) expect(c.batchBytesMax).toBeGreaterThanOrEqual(BATCH_BYTES_PREFERRED);
      expect(sealedBytesMax(c, c.batchBytesMax)).toBeLessThanOrEqual(SIGNED_PAYLOAD_BYTES_MAX);
      expect(sealedBytesMax(c, c.batchBytesMax + 1)).toBeGreaterThan(SIGNED_PAYLOAD_BYTES_MAX);
    }
  });

  it('matches the encoded size of a real worst-case promise and NewBallot', () => {
    const shape = { quorums: byzantineQuorums(1), watermarkSlots: 3 };
    const batch = batchUpTo(3 * OP_BYTES_MAX);
    // Worst-case varints: round, slot and leader as large as the wire allows.
    const b = { round: 2 ** 40, leader: 255 };
    const cert: PreparedCertificate = { ballot: b, slot: 2 ** 40, batch, verifies: [0, 1, 2].map((s) => ({ ...seal(fx, s, { type: 'verify', ballot: b, slot: 2 ** 40, digest: new Uint8Array(32) }), signer: 255 })) };
    const checkpoint = { slot: 2 ** 40, stateDigest: new Uint8Array(32), signatures: [0, 1, 2, 3].map((s) => ({ ...seal(fx, s, { type: 'checkpoint', slot: 2 ** 40, stateDigest: new Uint8Array(32) }), signer: 255 })) };
    const msg: SignedPayload = { type: 'certified-promise', ballot: b, checkpoint, prepared: [cert, cert, cert] };
    expect(promiseBytesMax(shape, batchSize(batch))).toBe(encodedSize(msg));
    const envelope = { ...seal(fx, 0, msg), signer: 255 };
    expect(sealedBytesMax(shape, batchSize(batch))).toBe(encodedSize({ type: 'new-ballot', ballot: b, promises: [envelope, envelope, envelope] }));
    // An envelope around the largest signable payload still fits a frame.
    expect(encodeMessage({ ...envelope, payload: new Uint8Array(SIGNED_PAYLOAD_BYTES_MAX) }).length).toBe(FRAME_BYTES_MAX);
  });

  it('rejects a config that cannot carry one maximal command per slot, or whose batchBytesMax overflows a frame', () => {
    expect(() => defaultByzantineConfig(2, { watermarkSlots: 64 })).toThrow(/^config\.watermarkSlots 64 leaves 2667 bytes .*: lower watermarkSlots$/);
    expect(() => defaultByzantineConfig(1, { batchBytesMax: MAXIMAL_COMMAND_BATCH_BYTES - 1 })).toThrow(/batchBytesMax must be at least/);
    const budget = defaultByzantineConfig(1).batchBytesMax;
    expect(() => defaultByzantineConfig(1, { batchBytesMax: budget + 1 })).toThrow(/exceeds the frame budget .*: lower batchBytesMax/);
    expect(defaultByzantineConfig(1, { batchBytesMax: MAXIMAL_COMMAND_BATCH_BYTES }).batchBytesMax).toBe(MAXIMAL_COMMAND_BATCH_BYTES);
    expect(() => defaultByzantineConfig(1, { batchBytesMax: 0 })).toThrow(RangeError);
  });
});
