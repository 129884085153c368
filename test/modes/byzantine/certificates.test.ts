// Certificates as pure functions (src/modes/byzantine/certificates.ts): each accepts the genuine
// article and rejects every way a Byzantine node could pad, splice or re-label one.
import type { Ballot } from '../../../src/base/types.ts';
import { describe, expect, it } from 'vitest';
import { PREPARED_CERTIFICATES_MAX } from '../../../src/base/limits.ts';
import { NOOP, type Batch } from '../../../src/base/types.ts';
import { batchDigest, stateDigestOf as digestOfState, statePartDigest } from '../../../src/messages/codec.ts';
import type { CertifiedEntry, CheckpointCertificate, PreparedCertificate, SignedEnvelope } from '../../../src/messages/types.ts';
import {
  checkNewBallot,
  chooseFromPromises,
  validCheckpoint,
  validCommit,
  validPrepared,
  validPromise,
} from '../../../src/modes/byzantine/certificates.ts';
import { toHex } from '../../../crypto/digest.ts';

/** A state digest as checkpoints sign it, of a state of this one part. */
const stateDigestOf = (part: Uint8Array): Uint8Array => digestOfState({ executedUpTo: 16, digests: [statePartDigest(part)] });
import {
  acceptedVote,
  ballot,
  batchOf,
  certificateContext,
  checkpointCert,
  command,
  flipSignature,
  makeFixture,
  prepared,
  promise,
  seal,
  verifyVote,
} from './fixtures.ts';

const fx = makeFixture(1);
const ctx = certificateContext(fx);
const B1 = ballot(1);
const B2 = ballot(2);
const A = batchOf(command(fx, 1, 1, { type: 'put', key: 'k', value: 'A' }));
const B = batchOf(command(fx, 2, 1, { type: 'put', key: 'k', value: 'B' }));

describe('validPrepared: Accept(b, s, batch) + 2f+1 signed Verify(b, s, digest(batch))', () => {
  const genuine = prepared(fx, B1, 5, A, [0, 1, 2]);
  const v = (signer: number, b: Ballot = B1, slot = 5, batch: Batch = A) => verifyVote(fx, signer, b, slot, batch);
  const withVerifies = (verifies: SignedEnvelope[]): PreparedCertificate => ({ ...genuine, verifies });

  it('accepts a genuine certificate, with 2f+1 or with all n signers', () => {
    expect(validPrepared(ctx, genuine)).toBe(true);
    expect(validPrepared(ctx, withVerifies([v(3), v(0), v(2), v(1)]))).toBe(true);
    // Every member judges alike.
    for (let viewer = 0; viewer < fx.n; viewer++) expect(validPrepared(certificateContext(fx, viewer), genuine)).toBe(true);
  });

  it.each([
    ['a duplicated signer', () => withVerifies([v(0), v(1), v(1)])],
    ['a duplicated signer padding a full set', () => withVerifies([v(0), v(1), v(2), v(2)])],
    ['too few signatures', () => withVerifies([v(0), v(1)])],
    ['no signatures', () => withVerifies([])],
    ['a signature over another slot', () => withVerifies([v(0), v(1), v(2, B1, 6)])],
    ['a signature over another ballot', () => withVerifies([v(0), v(1), v(2, B2)])],
    ['a signature over another digest', () => withVerifies([v(0), v(1), v(2, B1, 5, B)])],
    ['a batch not matching the digest', () => ({ ...genuine, batch: B })],
    ['a slot the votes are not for', () => ({ ...genuine, slot: 6 })],
    ['a ballot the votes are not for', () => ({ ...genuine, ballot: B2 })],
    ['a ballot whose leader field is wrong', () => ({ ...prepared(fx, { round: 1, leader: 2 }, 5, A) })],
    ['round 0', () => ({ ...prepared(fx, { round: 0, leader: -1 }, 5, A) })],
    ['a flipped signature', () => withVerifies([v(0), v(1), flipSignature(v(2))])],
    ['a signer field relabelled', () => withVerifies([v(0), v(1), { ...v(2), signer: 3 }])],
    ['an Accepted where a Verify belongs', () => withVerifies([v(0), v(1), acceptedVote(fx, 2, B1, 5, A)])],
    ['a signer outside the cluster', () => withVerifies([v(0), v(1), { ...v(2), signer: 9 }])],
  ])('rejects %s', (_name, make) => {
    expect(validPrepared(ctx, make())).toBe(false);
  });
});

describe('validCommit: 2f+1 signed Accepted for one ballot and digest(batch)', () => {
  const a = (signer: number, b: Ballot = B1, slot = 3, batch: Batch = A) => acceptedVote(fx, signer, b, slot, batch);
  const entry = (accepteds: SignedEnvelope[], batch: Batch = A, slot = 3): CertifiedEntry => ({ slot, batch, accepteds });

  it('accepts a genuine commit certificate, in any ballot', () => {
    expect(validCommit(ctx, entry([a(0), a(1), a(2)]))).toBe(true);
    expect(validCommit(ctx, entry([a(3, B2), a(1, B2), a(0, B2)]))).toBe(true);
  });

  it.each([
    ['a duplicated signer', () => entry([a(0), a(0), a(1)])],
    ['too few signatures', () => entry([a(0), a(1)])],
    ['signatures from different ballots', () => entry([a(0), a(1), a(2, B2)])],
    ['a signature over another slot', () => entry([a(0), a(1), a(2, B1, 4)])],
    ['a signature over another digest', () => entry([a(0), a(1), a(2, B1, 3, B)])],
    ['a batch not matching the digest', () => entry([a(0), a(1), a(2)], B)],
    ['a slot the votes are not for', () => entry([a(0), a(1), a(2)], A, 4)],
    ['a Verify where an Accepted belongs', () => entry([a(0), a(1), verifyVote(fx, 2, B1, 3, A)])],
    ['a flipped signature', () => entry([a(0), a(1), flipSignature(a(2))])],
  ])('rejects %s', (_name, make) => {
    expect(validCommit(ctx, make())).toBe(false);
  });
});

describe('validCheckpoint: 2f+1 signed Checkpoint(slot, stateDigest)', () => {
  const state = stateDigestOf(new Uint8Array([1, 2, 3]));
  const otherState = stateDigestOf(new Uint8Array([1, 2, 4]));
  const c = (signer: number, slot = 16, digest = state) => seal(fx, signer, { type: 'checkpoint', slot, stateDigest: digest });
  const cert = (signatures: SignedEnvelope[]): CheckpointCertificate => ({ slot: 16, stateDigest: state, signatures });

  it('accepts a genuine checkpoint certificate', () => {
    expect(validCheckpoint(ctx, checkpointCert(fx, 16, state))).toBe(true);
    expect(validCheckpoint(ctx, cert([c(3), c(2), c(1), c(0)]))).toBe(true);
  });

  it.each([
    ['a duplicated signer', () => cert([c(0), c(1), c(1)])],
    ['too few signatures', () => cert([c(0), c(1)])],
    ['a signature over another slot', () => cert([c(0), c(1), c(2, 32)])],
    ['a signature over another state digest', () => cert([c(0), c(1), c(2, 16, otherState)])],
    ['a state digest the votes are not for', () => ({ ...checkpointCert(fx, 16, state), stateDigest: otherState })],
    ['a slot the votes are not for', () => ({ ...checkpointCert(fx, 16, state), slot: 32 })],
    ['a flipped signature', () => cert([c(0), c(1), flipSignature(c(2))])],
  ])('rejects %s', (_name, make) => {
    expect(validCheckpoint(ctx, make())).toBe(false);
  });
});

describe('validPromise: a promise is consistent on its own', () => {
  const B3 = ballot(3);
  it('accepts prepared certificates from lower ballots, above its checkpoint', () => {
    const cp = checkpointCert(fx, 16, stateDigestOf(new Uint8Array([9])));
    expect(validPromise(ctx, { type: 'certified-promise', ballot: B3, checkpoint: cp, prepared: [prepared(fx, B1, 16, A), prepared(fx, B2, 17, B)] })).toBe(true);
  });
  it.each([
    ['a certificate of its own ballot', () => [prepared(fx, B3, 0, A)]],
    ['two certificates for one slot', () => [prepared(fx, B1, 0, A), prepared(fx, B2, 0, B)]],
    ['an invalid certificate', () => [{ ...prepared(fx, B1, 0, A), batch: B }]],
  ])('rejects %s', (_name, make) => {
    expect(validPromise(ctx, { type: 'certified-promise', ballot: B3, checkpoint: null, prepared: make() })).toBe(false);
  });
  it('rejects a certificate below its own checkpoint, and an invalid checkpoint', () => {
    const cp = checkpointCert(fx, 16, stateDigestOf(new Uint8Array([9])));
    expect(validPromise(ctx, { type: 'certified-promise', ballot: B3, checkpoint: cp, prepared: [prepared(fx, B1, 15, A)] })).toBe(false);
    const bad = { ...cp, signatures: cp.signatures.slice(0, 2) };
    expect(validPromise(ctx, { type: 'certified-promise', ballot: B3, checkpoint: bad, prepared: [] })).toBe(false);
  });
});

describe('chooseFromPromises: the NewBallot rule', () => {
  const B3 = ballot(3);
  const B4 = ballot(4);

  it('picks the highest-ballot prepared certificate per slot, wherever it appears, and no-ops for gaps', () => {
    const promises = [
      promise(fx, 0, B4, [prepared(fx, B1, 0, A), prepared(fx, B3, 2, A)]),
      promise(fx, 1, B4, [prepared(fx, B2, 0, B), prepared(fx, B1, 2, B)]),
      promise(fx, 3, B4, [prepared(fx, B1, 0, A)]),
    ];
    const result = chooseFromPromises(ctx, B4, promises);
    if (!result.ok) throw new Error(result.reason);
    expect([...result.choice.slots].map(([s, batch]) => [s, toHex(batchDigest(batch))])).toEqual([
      [0, toHex(batchDigest(B))], // ballot 2 beats ballot 1 (twice reported)
      [1, toHex(batchDigest(NOOP))], // nobody prepared slot 1
      [2, toHex(batchDigest(A))], // ballot 3 beats ballot 1
    ]);
    expect(result.choice.checkpoint).toBeNull();
    expect(result.choice.promisers).toEqual([0, 1, 3]);
    // Any order of the same promises gives the same choice.
    const reversed = chooseFromPromises(ctx, B4, [...promises].reverse());
    expect(reversed.ok && [...reversed.choice.slots.values()].map((b) => toHex(batchDigest(b)))).toEqual(
      [...result.choice.slots.values()].map((b) => toHex(batchDigest(b))),
    );
  });

  it("seed 002's slots 135–140, Byzantine edition: re-propose 135 and 140, no-ops for the gaps, new commands from 141", () => {
    // Stable checkpoint at 128 (so slots below it are settled). Slots 128–134 and 138–139 were
    // decided: 2f+1 nodes prepared them, so at least f+1 of any 2f+1 promisers report them.
    // 135 was prepared in two ballots (the later one wins), 140 in one; 136–137 nowhere.
    const cp = checkpointCert(fx, 128, stateDigestOf(new Uint8Array([1, 2, 8])));
    const value = (slot: number, tag = '') => batchOf(command(fx, 1, slot, { type: 'put', key: `s${slot}`, value: `v${slot}${tag}` }));
    const decided = [128, 129, 130, 131, 132, 133, 134, 138, 139].map((s) => prepared(fx, B1, s, value(s)));
    const old135 = prepared(fx, B1, 135, value(135, 'old'));
    const new135 = prepared(fx, B2, 135, value(135, 'new'));
    const p140 = prepared(fx, B2, 140, value(140));
    const B5 = ballot(5);
    const promises = [
      promise(fx, 1, B5, [...decided, old135], cp),
      promise(fx, 2, B5, [...decided, new135, p140], cp),
      // This promiser has no checkpoint yet and still reports a slot below 128: ignored.
      promise(fx, 3, B5, [prepared(fx, B1, 100, value(100)), old135]),
    ];
    const result = chooseFromPromises(ctx, B5, promises);
    if (!result.ok) throw new Error(result.reason);
    const { slots, checkpoint } = result.choice;
    expect(checkpoint?.slot).toBe(128);
    expect([...slots.keys()]).toEqual([128, 129, 130, 131, 132, 133, 134, 135, 136, 137, 138, 139, 140]);
    const at = (s: number) => toHex(batchDigest(slots.get(s)!));
    expect(at(135)).toBe(toHex(batchDigest(value(135, 'new'))));
    expect(at(136)).toBe(toHex(batchDigest(NOOP)));
    expect(at(137)).toBe(toHex(batchDigest(NOOP)));
    expect(at(138)).toBe(toHex(batchDigest(value(138))));
    expect(at(140)).toBe(toHex(batchDigest(value(140))));
    expect(slots.has(100)).toBe(false);
    // New commands go above every settled slot.
    expect(Math.max(...slots.keys()) + 1).toBe(141);
  });

  it('with nothing prepared, the choice is empty', () => {
    const result = chooseFromPromises(ctx, B3, [promise(fx, 0, B3), promise(fx, 1, B3), promise(fx, 2, B3)]);
    expect(result.ok && result.choice.slots.size).toBe(0);
  });

  const ok = () => [promise(fx, 0, B3, [prepared(fx, B1, 0, A)]), promise(fx, 1, B3), promise(fx, 2, B3)];
  it.each([
    ['fewer than 2f+1 promises', () => ok().slice(0, 2)],
    ['a duplicated promiser', () => [ok()[0]!, ok()[0]!, ok()[1]!]],
    ['a promise for another ballot', () => [ok()[0]!, promise(fx, 1, B2), ok()[2]!]],
    ['a forged promise signature', () => [ok()[0]!, flipSignature(ok()[1]!), ok()[2]!]],
    ['a promise carrying an invalid prepared certificate', () => [promise(fx, 0, B3, [{ ...prepared(fx, B1, 0, A), batch: B }]), ok()[1]!, ok()[2]!]],
    ['a promise carrying an invalid checkpoint', () => [promise(fx, 0, B3, [], { ...checkpointCert(fx, 16, stateDigestOf(new Uint8Array([1]))), slot: 32 }), ok()[1]!, ok()[2]!]],
    ['something other than a promise', () => [ok()[0]!, verifyVote(fx, 1, B3, 0, A), ok()[2]!]],
    ['more envelopes than members', () => [...ok(), promise(fx, 3, B3), promise(fx, 3, B3)]],
  ])('rejects %s', (_name, make) => {
    expect(chooseFromPromises(ctx, B3, make()).ok).toBe(false);
  });

  it(`rejects prepared slots spanning more than PREPARED_CERTIFICATES_MAX (${PREPARED_CERTIFICATES_MAX}) above the checkpoint`, () => {
    const far = promise(fx, 0, B3, [prepared(fx, B1, PREPARED_CERTIFICATES_MAX, A)]);
    expect(chooseFromPromises(ctx, B3, [far, promise(fx, 1, B3), promise(fx, 2, B3)]).ok).toBe(false);
    const near = promise(fx, 0, B3, [prepared(fx, B1, PREPARED_CERTIFICATES_MAX - 1, A)]);
    expect(chooseFromPromises(ctx, B3, [near, promise(fx, 1, B3), promise(fx, 2, B3)]).ok).toBe(true);
  });

  it('checkNewBallot: only the leader of the ballot may send it', () => {
    const msg = { type: 'new-ballot' as const, ballot: B3, promises: ok() };
    expect(checkNewBallot(ctx, msg, 2).ok).toBe(true);
    expect(checkNewBallot(ctx, msg, 1).ok).toBe(false);
    expect(checkNewBallot(ctx, { ...msg, ballot: { round: 3, leader: 1 } }, 1).ok).toBe(false);
  });
});
