// The one rule for envelopes: a node trusts an envelope only if its signature verifies, whoever it
// claims to be from, unless it is the very envelope the node sealed itself. A Byzantine member
// relays other members' envelopes inside NewBallots, promises, certificates, bundles, shares and
// catch-up replies; here it forges the recipient's own messages into each, which the recipient
// once believed without a check. Each forgery is dropped and counted, and changes nothing.
import { describe, expect, it } from 'vitest';
import type { Effect } from '../../../src/core/effects.ts';
import type { NodeId } from '../../../src/base/types.ts';
import { verifyEvidence } from '../../../src/evidence/verify.ts';
import { batchDigest } from '../../../src/messages/codec.ts';
import type { SignedEnvelope } from '../../../src/messages/types.ts';
import type { SignedPayload } from '../../../src/modes/byzantine/auth.ts';
import { commit } from '../../../crypto/commitment.ts';
import { acceptedVote, ballot, batchOf, command, dropped, makeFixture, Net, persisted, prepared, promise, seal, sentOfType, verifyVote } from './fixtures.ts';

const fx = makeFixture(1);
const B1 = ballot(1);
const B3 = ballot(3); // led by n2
const A = batchOf(command(fx, 1, 1, { type: 'put', key: 'k', value: 'A' }));
const B = batchOf(command(fx, 2, 1, { type: 'put', key: 'k', value: 'B' }));

/** `msg` under `victim`'s name, signed by `forger`: what a Byzantine member can make. */
function forged(forger: NodeId, victim: NodeId, msg: SignedPayload): SignedEnvelope {
  return { ...seal(fx, forger, msg), signer: victim };
}

const evidenceOf = (effects: readonly Effect[]) => effects.flatMap((e) => (e.type === 'evidence' ? [e.evidence] : []));

describe('an envelope claiming the recipient as signer is verified like any other', () => {
  it('NewBallot: a forged promise of the recipient does not let it join, nor free a slot for another batch', () => {
    const net = new Net(fx);
    // The leader n2 stands an empty promise "from n3" in for n3's real one (which names slot 0).
    const nb = seal(fx, 2, { type: 'new-ballot', ballot: B3, promises: [promise(fx, 2, B3), forged(2, 3, { type: 'certified-promise', ballot: B3, checkpoint: null, prepared: [] }), promise(fx, 1, B3)] });
    const effects = net.deliver(3, 2, nb);
    expect(net.nodes[3]!.ballot).toEqual(B1);
    expect(dropped(net.nodes[3]!, 'new-ballot:bad-promise')).toBe(1);
    expect(dropped(net.nodes[3]!, 'new-ballot:unjustified')).toBe(1);
    expect(persisted(effects).filter((r) => r.type === 'joined')).toEqual([]);
    // Nor is B accepted into the slot it hoped to free.
    const accept = net.deliver(3, 2, seal(fx, 2, { type: 'accept', ballot: B3, slot: 0, batch: B, decidedUpTo: 0 }));
    expect(sentOfType(fx, accept, 'verify')).toEqual([]);
    // The leader signed a NewBallot its promises do not justify: provable, against the leader only.
    const proofs = evidenceOf(effects);
    expect(proofs.map((e) => e.kind)).toEqual(['unjustified-new-ballot']);
    expect(verifyEvidence(fx.cluster, proofs[0]!)).toMatchObject({ ok: true, culprit: 2 });
  });

  it('promise: a prepared certificate holding a forged Verify of the recipient is a bad certificate', () => {
    const net = new Net(fx);
    const cert = { ...prepared(fx, B1, 0, B, [1, 3]), verifies: [verifyVote(fx, 1, B1, 0, B), verifyVote(fx, 3, B1, 0, B), forged(3, 2, { type: 'verify', ballot: B1, slot: 0, digest: batchDigest(B) })] };
    net.deliver(2, 3, promise(fx, 3, B3, [cert]));
    expect(dropped(net.nodes[2]!, 'certified-promise:bad-certificate')).toBe(1);
  });

  it('catch-up: a decision certified with a forged Accepted of the recipient is not decided', () => {
    const net = new Net(fx);
    const entry = { slot: 0, batch: B, accepteds: [acceptedVote(fx, 1, B1, 0, B), acceptedVote(fx, 3, B1, 0, B), forged(3, 0, { type: 'accepted', ballot: B1, slot: 0, digest: batchDigest(B) })] };
    net.deliver(0, 3, seal(fx, 3, { type: 'certified-catchup-reply', entries: [entry], decidedUpTo: 1 }));
    expect(dropped(net.nodes[0]!, 'certified-catchup-reply:bad-certificate')).toBe(1);
    expect(net.decisions).toEqual([]);
  });

  it('evidence share: a forged vote of the recipient is dropped and counted, and proves nothing', () => {
    const net = new Net(fx);
    const share = seal(fx, 3, { type: 'evidence-share', envelopes: [forged(3, 1, { type: 'verify', ballot: B1, slot: 0, digest: batchDigest(A) })] });
    const effects = net.deliver(1, 3, share);
    expect(dropped(net.nodes[1]!, 'evidence-share:bad-envelope')).toBe(1);
    expect(evidenceOf(effects)).toEqual([]);
  });
});

describe('commit-reveal: forged commitments and reveals of the recipient', () => {
  const cr = makeFixture(1, undefined, { mode: 'commit-reveal' });
  const key = new Uint8Array(32).fill(7);
  const box = (signer: NodeId, digest: Uint8Array) =>
    seal(cr, signer, { type: 'commitment', ballot: B1, slot: 0, commitment: commit({ clusterId: cr.clusterId, round: 1, leader: 0, slot: 0, digest }, key) });
  const forgedIn = (forger: NodeId, victim: NodeId, msg: SignedPayload): SignedEnvelope => ({ ...seal(cr, forger, msg), signer: victim });

  it('bundle: the leader cannot put a forged commitment of the recipient in it', () => {
    const net = new Net(cr);
    const digest = batchDigest(A);
    const fake = forgedIn(0, 1, { type: 'commitment', ballot: B1, slot: 0, commitment: new Uint8Array(32) });
    const effects = net.deliver(1, 0, seal(cr, 0, { type: 'bundle', ballot: B1, slot: 0, batch: A, commitments: [box(0, digest), fake, box(2, digest)] }));
    expect(dropped(net.nodes[1]!, 'bundle:bad-commitment')).toBe(1);
    expect(evidenceOf(effects)).toEqual([]);
  });

  it('evidence share: the recipient\'s genuine reveal counts, a forged one for another digest proves nothing against it', () => {
    const net = new Net(cr);
    const genuine = seal(cr, 1, { type: 'reveal', ballot: B1, slot: 0, digest: batchDigest(A), key });
    const lie = forgedIn(3, 1, { type: 'reveal', ballot: B1, slot: 0, digest: batchDigest(B), key });
    net.deliver(1, 3, seal(cr, 3, { type: 'evidence-share', envelopes: [genuine] }));
    const effects = net.deliver(1, 3, seal(cr, 3, { type: 'evidence-share', envelopes: [lie] }));
    expect(dropped(net.nodes[1]!, 'evidence-share:bad-envelope')).toBe(1);
    expect(evidenceOf(effects)).toEqual([]);
  });
});

it('own envelopes are trusted unchecked only as the objects sealed: the same bytes re-made are checked, a changed signature fails', () => {
  const auth = fx.auths[0]!;
  const own = auth.seal({ type: 'verify', ballot: B1, slot: 0, digest: batchDigest(A) });
  const before = auth.stats.verifies;
  expect(auth.open(own)).not.toBeNull();
  expect(auth.stats.verifies).toBe(before);
  // As it arrives back over the wire: new objects, so verified (and genuine).
  expect(auth.open({ ...own, payload: own.payload.slice(), signature: own.signature.slice() })).not.toBeNull();
  expect(auth.stats.verifies).toBe(before + 1);
  // Its real payload under another's signature object: checked, and false.
  expect(auth.open({ ...own, signature: seal(fx, 1, { type: 'verify', ballot: B1, slot: 0, digest: batchDigest(A) }).signature })).toBeNull();
});
