// verifyEvidence: each kind of evidence is accepted when genuine, naming the signer, and rejected
// when honest nodes could have produced it, when it is forged, or when it is for another cluster.
import type { Ballot, Slot } from '../../src/base/types.ts';
import { describe, expect, it } from 'vitest';
import type { Evidence } from '../../src/messages/evidence.ts';
import { verifyEvidence } from '../../src/evidence/verify.ts';
import { batchDigest } from '../../src/messages/codec.ts';
import type { SignedEnvelope } from '../../src/messages/types.ts';
import { Authenticator, type SignedPayload } from '../../src/modes/byzantine/auth.ts';
import type { ClusterConfig } from '../../src/modes/byzantine/cluster.ts';
import { nativeBackend } from '../../crypto/ed25519.ts';
import { ballot, flipSignature, prepared, promise, seal } from '../modes/byzantine/fixtures.ts';
import { A, B, B1, B2, GENUINE, KEY_1, KEY_2, commitment, fx, newBallot, reveal } from './fixtures.ts';

const B3 = ballot(3);
const DIGESTS = [batchDigest(A), batchDigest(B)] as const;

function expectGenuine(evidence: Evidence, culprit: number, summary: RegExp): void {
  const verdict = verifyEvidence(fx.cluster, evidence);
  expect(verdict).toEqual({ ok: true, culprit, summary: expect.stringMatching(summary) });
}

function expectRejected(evidence: Evidence, reason: RegExp, cluster: ClusterConfig = fx.cluster): void {
  const verdict = verifyEvidence(cluster, evidence);
  expect(verdict).toEqual({ ok: false, reason: expect.stringMatching(reason) });
}

/** Same keys, another cluster id: signatures made there must not count here. */
const OTHER_CLUSTERS: readonly [string, ClusterConfig][] = [
  ['another f', { ...fx.cluster, f: 2 }],
  ['another client list', { ...fx.cluster, clients: fx.cluster.clients.slice(1) }],
];

function sealIn(cluster: ClusterConfig, signer: number, msg: SignedPayload): SignedEnvelope {
  return new Authenticator(cluster, signer, fx.memberKeys[signer]!.secretKey, nativeBackend).seal(msg);
}

const pair = (first: SignedEnvelope, second: SignedEnvelope): Evidence => ({ kind: 'equivocation', first, second });

describe('equivocation: one signer, one type, one position, two contents', () => {
  type Dimension = 'ballot' | 'slot';
  /** Per type: the message at (b, slot) with content 0 or 1, and the dimensions of its position. */
  const TYPES: Record<string, { readonly make: (b: Ballot, slot: Slot, content: 0 | 1) => SignedPayload; readonly position: readonly Dimension[] }> = {
    accept: { make: (b, slot, c) => ({ type: 'accept', ballot: b, slot, batch: [A, B][c]!, decidedUpTo: 0 }), position: ['ballot', 'slot'] },
    verify: { make: (b, slot, c) => ({ type: 'verify', ballot: b, slot, digest: DIGESTS[c] }), position: ['ballot', 'slot'] },
    accepted: { make: (b, slot, c) => ({ type: 'accepted', ballot: b, slot, digest: DIGESTS[c] }), position: ['ballot', 'slot'] },
    commitment: { make: (b, slot, c) => ({ type: 'commitment', ballot: b, slot, commitment: DIGESTS[c] }), position: ['ballot', 'slot'] },
    reveal: { make: (b, slot, c) => ({ type: 'reveal', ballot: b, slot, digest: DIGESTS[c], key: KEY_1 }), position: ['ballot', 'slot'] },
    checkpoint: { make: (_b, slot, c) => ({ type: 'checkpoint', slot, stateDigest: DIGESTS[c] }), position: ['slot'] },
    'certified-promise': {
      make: (b, slot, c) => ({ type: 'certified-promise', ballot: b, checkpoint: null, prepared: c === 0 ? [] : [prepared(fx, B1, slot, A)] }),
      position: ['ballot'],
    },
    'new-ballot': {
      make: (b, _slot, c) => ({ type: 'new-ballot', ballot: b, promises: c === 0 ? [] : [promise(fx, 0, b)] }),
      position: ['ballot'],
    },
  };
  const SIGNER = 1;
  const at = { ballot: B2, slot: 5 };
  const moved: Record<Dimension, { ballot: Ballot; slot: Slot }> = { ballot: { ballot: B3, slot: 5 }, slot: { ballot: B2, slot: 6 } };

  describe.each(Object.entries(TYPES))('%s', (type, { make, position }) => {
    const msg = (content: 0 | 1, where = at) => make(where.ballot, where.slot, content);

    it('a genuine pair names its signer', () => {
      expectGenuine(pair(seal(fx, SIGNER, msg(0)), seal(fx, SIGNER, msg(1))), SIGNER, new RegExp(`^signed two different ${type} messages for `));
    });

    it('an identical pair is a retransmission', () => {
      expectRejected(pair(seal(fx, SIGNER, msg(0)), seal(fx, SIGNER, msg(0))), /identical messages: a retransmission/);
    });

    it('two signers are not one equivocating node', () => {
      expectRejected(pair(seal(fx, SIGNER, msg(0)), seal(fx, 2, msg(1))), /two different nodes \(n1, n2\)/);
    });

    it.each(position)('another %s is another position', (dimension) => {
      expectRejected(pair(seal(fx, SIGNER, msg(0)), seal(fx, SIGNER, msg(1, moved[dimension]))), /different positions/);
    });

    it('a bad signature on either message', () => {
      const [first, second] = [seal(fx, SIGNER, msg(0)), seal(fx, SIGNER, msg(1))];
      expectRejected(pair(flipSignature(first), second), /^first: not .* validly signed by n1/);
      expectRejected(pair(first, flipSignature(second, 63)), /^second: not .* validly signed by n1/);
      expectRejected(pair(first, { ...second, signer: 2 }), /^second: not .* validly signed by n2/);
    });

    it.each(OTHER_CLUSTERS)('signed in a cluster with %s', (_name, other) => {
      expectRejected(pair(sealIn(other, SIGNER, msg(0)), sealIn(other, SIGNER, msg(1))), /^first: not .* validly signed/);
    });
  });

  it('types an honest node signs many of are not evidence', () => {
    const heartbeats = [0, 1].map((d) => seal(fx, 0, { type: 'heartbeat', ballot: B1, decidedUpTo: d }));
    expectRejected(pair(heartbeats[0]!, heartbeats[1]!), /heartbeat messages are not evidence/);
    const requests = [0, 1].map((s) => seal(fx, 0, { type: 'catchup-request', fromSlot: s }));
    expectRejected(pair(requests[0]!, requests[1]!), /catchup-request messages are not evidence/);
  });

  it('a Verify and an Accepted for one digest are one vote', () => {
    const verify = seal(fx, 1, { type: 'verify', ballot: B1, slot: 5, digest: DIGESTS[0] });
    const accepted = seal(fx, 1, { type: 'accepted', ballot: B1, slot: 5, digest: DIGESTS[0] });
    expectRejected(pair(verify, accepted), /verify and accepted for one digest at ballot \(1,n0\) slot 5: one vote/);
  });

  it('a Verify and a second vote (Accepted, Reveal) for two digests at one position are equivocation', () => {
    // An acceptor casts its second vote only for the digest it verified there (seed 000 §4).
    const verify = seal(fx, 1, { type: 'verify', ballot: B1, slot: 5, digest: DIGESTS[0] });
    const accepted = seal(fx, 1, { type: 'accepted', ballot: B1, slot: 5, digest: DIGESTS[1] });
    expectGenuine(pair(verify, accepted), 1, /^signed verify and accepted messages for two different digests at ballot \(1,n0\) slot 5/);
    expectGenuine(pair(reveal(1, B1, 5, B, KEY_1), verify), 1, /^signed reveal and verify messages for two different digests/);
    const elsewhere = seal(fx, 1, { type: 'accepted', ballot: B1, slot: 6, digest: DIGESTS[1] });
    expectRejected(pair(verify, elsewhere), /different positions/);
  });

  it('a vote and a message of another type are not comparable', () => {
    const verify = seal(fx, 1, { type: 'verify', ballot: B1, slot: 5, digest: DIGESTS[0] });
    expectRejected(pair(verify, commitment(1, B1, 5, B, KEY_1)), /different types \(verify, commitment\)/);
  });

  it('Accepts that differ only in decidedUpTo propose the same batch', () => {
    const [first, second] = [0, 3].map((d) => seal(fx, 0, { type: 'accept', ballot: B1, slot: 5, batch: A, decidedUpTo: d }));
    expectRejected(pair(first!, second!), /same content at ballot \(1,n0\) slot 5/);
  });

  it('Reveals with one digest and two keys are two different claims', () => {
    expectGenuine(pair(reveal(2, B1, 5, A, KEY_1), reveal(2, B1, 5, A, KEY_2)), 2, /two different reveal messages for ballot \(1,n0\) slot 5/);
  });

  it('a signer outside the cluster', () => {
    const first = seal(fx, 1, { type: 'verify', ballot: B1, slot: 5, digest: DIGESTS[0] });
    expectRejected(pair({ ...first, signer: 9 }, first), /^first: signer n9 is not a member/);
  });
});

describe('commitment-mismatch: a signed Reveal that does not open the same signer’s Commitment', () => {
  const committed = commitment(2, B1, 5, A, KEY_1);
  const evidence = (commitmentEnvelope: SignedEnvelope, revealEnvelope: SignedEnvelope): Evidence => ({
    kind: 'commitment-mismatch',
    commitment: commitmentEnvelope,
    reveal: revealEnvelope,
  });

  it('genuine: another digest, or another key, names the signer', () => {
    expectGenuine(GENUINE['commitment-mismatch'], 2, /^revealed a digest and key for ballot \(1,n0\) slot 5 that do not open its commitment$/);
    expectGenuine(evidence(committed, reveal(2, B1, 5, A, KEY_2)), 2, /do not open/);
  });

  it('a reveal that opens the commitment is honest', () => {
    expectRejected(evidence(committed, reveal(2, B1, 5, A, KEY_1)), /opens the commitment: honest/);
  });

  it.each([
    ['another slot', reveal(2, B1, 6, B, KEY_1)],
    ['another ballot', reveal(2, B2, 5, B, KEY_1)],
  ])('a reveal for %s', (_name, r) => {
    expectRejected(evidence(committed, r), /the reveal is for .*, the commitment for ballot \(1,n0\) slot 5/);
  });

  it('a reveal from another signer', () => {
    expectRejected(evidence(committed, reveal(3, B1, 5, B, KEY_1)), /two different nodes \(n2, n3\)/);
  });

  it('messages in the wrong roles, or forged', () => {
    const r = reveal(2, B1, 5, B, KEY_1);
    expectRejected(evidence(r, committed), /^commitment: a reveal message, not a commitment/);
    expectRejected(evidence(committed, committed), /^reveal: a commitment message, not a reveal/);
    expectRejected(evidence(flipSignature(committed), r), /^commitment: not .* validly signed/);
    expectRejected(evidence(committed, flipSignature(r)), /^reveal: not .* validly signed/);
  });

  it.each(OTHER_CLUSTERS)('signed in a cluster with %s', (_name, other) => {
    const r = sealIn(other, 2, { type: 'reveal', ballot: B1, slot: 5, digest: DIGESTS[1], key: KEY_1 });
    expectRejected(evidence(committed, r), /^reveal: not .* validly signed/);
  });
});

describe('unjustified-new-ballot: the leader’s NewBallot that its own promises do not justify', () => {
  const sealed = (signer: number, b: Ballot, promises: SignedEnvelope[]): Evidence => ({
    kind: 'unjustified-new-ballot',
    newBallot: seal(fx, signer, { type: 'new-ballot', ballot: b, promises }),
  });

  it('genuine: a promise carrying a forged certificate', () => {
    expectGenuine(GENUINE['unjustified-new-ballot'], 1, /^sent a new-ballot for ballot \(2,n1\) .*a promise carries an invalid certificate/);
  });

  it('genuine: only 2f promises', () => {
    expectGenuine(sealed(1, B2, [promise(fx, 0, B2), promise(fx, 2, B2)]), 1, /needs 3 validly signed promises/);
  });

  it('genuine: a promise for another ballot', () => {
    expectGenuine(sealed(1, B2, [promise(fx, 0, B2), promise(fx, 2, B2), promise(fx, 3, B3)]), 1, /a promise is for another ballot/);
  });

  it('genuine: a promise whose signature was tampered with', () => {
    expectGenuine(sealed(1, B2, [promise(fx, 0, B2), promise(fx, 2, B2), flipSignature(promise(fx, 3, B2))]), 1, /validly signed promises/);
  });

  it('a justified NewBallot is honest', () => {
    expectRejected({ kind: 'unjustified-new-ballot', newBallot: newBallot() }, /justified by its promises: honest/);
  });

  it('a NewBallot not signed by its ballot’s leader proves nothing about the leader', () => {
    expectRejected(sealed(2, B2, []), /^newBallot: n2 is not the leader of ballot \(2,n1\)/);
    expectRejected(sealed(2, { round: 2, leader: 2 }, []), /^newBallot: n2 is not the leader of ballot \(2,n2\)/);
  });

  it('forged, or not a NewBallot at all', () => {
    const genuine = GENUINE['unjustified-new-ballot'].newBallot;
    expectRejected({ kind: 'unjustified-new-ballot', newBallot: flipSignature(genuine) }, /^newBallot: not .* validly signed/);
    expectRejected({ kind: 'unjustified-new-ballot', newBallot: promise(fx, 1, B2) }, /^newBallot: a certified-promise message, not a new-ballot/);
  });

  it.each(OTHER_CLUSTERS)('signed in a cluster with %s', (_name, other) => {
    const newBallotThere = sealIn(other, 1, { type: 'new-ballot', ballot: B2, promises: [] });
    expectRejected({ kind: 'unjustified-new-ballot', newBallot: newBallotThere }, /^newBallot: not .* validly signed/);
  });
});

describe('omitted-vote: a second vote, then a promise that reports nothing prepared there since', () => {
  const accepted = (signer: number, b: Ballot, slot: Slot, digest: Uint8Array = DIGESTS[0]) => seal(fx, signer, { type: 'accepted', ballot: b, slot, digest });
  const evidence = (vote: SignedEnvelope, p: SignedEnvelope): Evidence => ({ kind: 'omitted-vote', vote, promise: p });

  it('genuine: an Accepted, a Commitment or a Reveal, then an empty promise for a later ballot', () => {
    expectGenuine(GENUINE['omitted-vote'], 2, /^cast its accepted at ballot \(1,n0\) slot 0, then promised ballot \(2,n1\) reporting nothing prepared there since/);
    expectGenuine(evidence(commitment(2, B1, 4, A, KEY_1), promise(fx, 2, B3)), 2, /cast its commitment at ballot \(1,n0\) slot 4/);
    expectGenuine(evidence(reveal(2, B1, 4, A, KEY_1), promise(fx, 2, B3, [prepared(fx, B1, 3, A)])), 2, /cast its reveal/);
  });

  it('genuine: the promise reports the slot prepared only at a lower ballot', () => {
    expectGenuine(evidence(accepted(2, B2, 0), promise(fx, 2, B3, [prepared(fx, B1, 0, A)])), 2, /then promised ballot \(3,n2\)/);
  });

  it('a promise that reports the slot prepared at the vote’s ballot or later is honest', () => {
    expectRejected(evidence(accepted(2, B1, 0), promise(fx, 2, B2, [prepared(fx, B1, 0, A)])), /reports slot 0 prepared at ballot \(1,n0\): honest/);
    expectRejected(evidence(accepted(2, B1, 0), promise(fx, 2, B3, [prepared(fx, B2, 0, B)])), /prepared at ballot \(2,n1\): honest/);
  });

  it('a promise for the vote’s ballot or an earlier one, or whose checkpoint settles the slot', () => {
    expectRejected(evidence(accepted(2, B2, 0), promise(fx, 2, B2)), /the promise is for ballot \(2,n1\), not after the vote/);
    expectRejected(evidence(accepted(2, B2, 0), promise(fx, 2, B1)), /not after the vote/);
    const checkpoint = { slot: 4, stateDigest: DIGESTS[1], signatures: [] };
    expectRejected(evidence(accepted(2, B1, 3), promise(fx, 2, B2, [], checkpoint)), /checkpoint at slot 4 settles slot 3/);
    expectGenuine(evidence(accepted(2, B1, 4), promise(fx, 2, B2, [], checkpoint)), 2, /slot 4/);
  });

  it('two signers, messages in the wrong roles, or forged', () => {
    expectRejected(evidence(accepted(1, B1, 0), promise(fx, 2, B2)), /signed by two different nodes \(n1, n2\)/);
    expectRejected(evidence(seal(fx, 2, { type: 'verify', ballot: B1, slot: 0, digest: DIGESTS[0] }), promise(fx, 2, B2)), /^vote: a verify message, not a second vote/);
    expectRejected(evidence(accepted(2, B1, 0), accepted(2, B2, 0)), /^promise: a accepted message, not a certified-promise/);
    expectRejected(evidence(accepted(2, B1, 0), flipSignature(promise(fx, 2, B2))), /^promise: not .* validly signed/);
  });
});

describe('whatever the input, a verdict and never a throw', () => {
  it('an unusable cluster configuration', () => {
    expectRejected(GENUINE.equivocation, /^cluster: f=2 needs n=7 members, got 4/, { ...fx.cluster, f: 2 });
    expectRejected(GENUINE.equivocation, /^cluster: member 1 reuses/, { ...fx.cluster, members: fx.cluster.members.map((m, i) => (i === 1 ? { ...fx.cluster.members[0]!, id: 1 } : m)) });
  });

  it('genuine evidence judged against another cluster', () => {
    expectRejected(GENUINE.equivocation, /^first: not .* validly signed/, OTHER_CLUSTERS[1]![1]);
  });

  it('malformed evidence', () => {
    const first = GENUINE.equivocation.first;
    expectRejected({ kind: 'bogus' } as unknown as Evidence, /unknown evidence kind "bogus"/);
    expectRejected(pair({ ...first, payload: new Uint8Array(0) }, first), /^first: not a well-formed message/);
    expectRejected({ kind: 'equivocation', first } as unknown as Evidence, /./);
  });
});

describe('a proof whose envelopes do not verify is never genuine', () => {
  // What a member relaying others' messages can make: any genuine proof with its envelopes put
  // under another member's name (the signature left as it was).
  const renamed = (evidence: Evidence, signer: number): Evidence => {
    switch (evidence.kind) {
      case 'equivocation':
        return { ...evidence, first: { ...evidence.first, signer }, second: { ...evidence.second, signer } };
      case 'commitment-mismatch':
        return { ...evidence, commitment: { ...evidence.commitment, signer }, reveal: { ...evidence.reveal, signer } };
      case 'unjustified-new-ballot':
        return { ...evidence, newBallot: { ...evidence.newBallot, signer } };
      case 'omitted-vote':
        return { ...evidence, vote: { ...evidence.vote, signer }, promise: { ...evidence.promise, signer } };
    }
  };
  it.each(Object.values(GENUINE))('$kind, renamed to each other member', (evidence) => {
    const genuine = verifyEvidence(fx.cluster, evidence);
    expect(genuine.ok).toBe(true);
    for (let signer = 0; signer < fx.n; signer++) {
      if (genuine.ok && signer === genuine.culprit) continue;
      expect(verifyEvidence(fx.cluster, renamed(evidence, signer)).ok, `renamed to n${signer}`).toBe(false);
    }
  });
});
