// Forensics beyond the bound ("BFT Protocol Forensics", CCS'21): when honest learners hold
// decision certificates for two digests in one slot, the analysis names at least f+1 members,
// each with proofs `evidence verify` accepts, and never an honest one. First on hand-made
// certificates (both Byzantine modes, one ballot and two), then on simulated runs beyond the
// bound, then the checker of that promise, shown failing on mutated results.
import { describe, expect, it } from 'vitest';
import type { Ballot, Batch, NodeId } from '../../src/base/types.ts';
import { decodeEvidenceFile, encodeEvidenceFile } from '../../src/evidence/file.ts';
import { accountabilityProblems, analyse, type Culprit } from '../../src/evidence/forensics.ts';
import { verifyEvidence } from '../../src/evidence/verify.ts';
import type { Evidence } from '../../src/messages/evidence.ts';
import type { CertifiedEntry, SignedEnvelope } from '../../src/messages/types.ts';
import { frameType } from '../../src/messages/codec.ts';
import { simulate, type SimResult } from '../../src/sim/simulator.ts';
import { parseFaults } from '../../src/sim/faults.ts';
import { nativeBackend } from '../../crypto/ed25519.ts';
import { cachedVerifier } from '../../crypto/envelope.ts';
import { acceptedVote, flipSignature, Net, prepared, promise, seal, verifyVote } from '../modes/byzantine/fixtures.ts';
import { strategy } from '../adversary/sweep-helpers.ts';
import type { Adversary } from '../../src/adversary/adversary.ts';
import type { Mode } from '../../src/base/mode.ts';
import { splitBundle } from './split-bundle.ts';
import { A, B, B1, B2, KEY_1, KEY_2, commitment, fx, reveal } from './fixtures.ts';

const SLOT = 0;

/** Byzantine mode: 2f+1 signed Accepted for `batch` at (b, SLOT). */
function accepted(b: Ballot, batch: Batch, signers: readonly NodeId[]): CertifiedEntry {
  return { slot: SLOT, batch, accepteds: signers.map((s) => acceptedVote(fx, s, b, SLOT, batch)) };
}

/** Commit-reveal: 2f+1 Commitments, then the same acceptors' Reveals that open them. */
function revealed(b: Ballot, batch: Batch, signers: readonly NodeId[], key: Uint8Array): CertifiedEntry {
  const boxes = signers.map((s) => commitment(s, b, SLOT, batch, key));
  return { slot: SLOT, batch, accepteds: [...boxes, ...signers.map((s) => reveal(s, b, SLOT, batch, key))] };
}

/** n1's NewBallot for B2 over these promises. */
function newBallot(promises: SignedEnvelope[]): SignedEnvelope {
  return seal(fx, 1, { type: 'new-ballot', ballot: B2, promises });
}

const kindsOf = (culprits: readonly Culprit[]) => culprits.map((c) => [c.node, c.proofs.map((p) => p.kind)]);

describe('analyse: the certificates of a disagreement name f+1 culprits', () => {
  it('one ballot (Byzantine mode): the acceptors in both certificates signed two Accepted there', () => {
    const result = analyse(fx.cluster, { certificates: [accepted(B1, A, [0, 1, 2]), accepted(B1, B, [0, 1, 3])], newBallots: [] });
    expect(result.conflictingSlots).toEqual([SLOT]);
    expect(kindsOf(result.culprits)).toEqual([
      [0, ['equivocation']],
      [1, ['equivocation']],
    ]);
  });

  it('one ballot (commit-reveal): the acceptors in both certificates revealed two digests there', () => {
    const result = analyse(fx.cluster, { certificates: [revealed(B1, A, [0, 1, 2], KEY_1), revealed(B1, B, [0, 1, 3], KEY_2)], newBallots: [] });
    expect(result.culprits.map((c) => c.node)).toEqual([0, 1]);
    for (const c of result.culprits) expect(verifyEvidence(fx.cluster, c.proofs[0]!)).toMatchObject({ ok: true, summary: expect.stringMatching(/two different reveal messages/) });
  });

  it('two ballots, nothing prepared reported: the promisers who voted in the first hid their vote', () => {
    // n0 and n1 accepted A in B1, then promised B2 with nothing prepared; n1 led B2 to B.
    const joined = newBallot([promise(fx, 0, B2), promise(fx, 1, B2), promise(fx, 3, B2)]);
    for (const [first, second] of [
      [accepted(B1, A, [0, 1, 2]), accepted(B2, B, [1, 2, 3])],
      [revealed(B1, A, [0, 1, 2], KEY_1), revealed(B2, B, [1, 2, 3], KEY_2)],
    ] as const) {
      const result = analyse(fx.cluster, { certificates: [second, first], newBallots: [joined] });
      expect(kindsOf(result.culprits)).toEqual([
        [0, ['omitted-vote']],
        [1, ['omitted-vote']],
      ]);
    }
  });

  it('two ballots, a prepared certificate of the first ballot chosen: its Verifies contradict the Accepteds there', () => {
    const joined = newBallot([promise(fx, 0, B2), promise(fx, 1, B2), promise(fx, 3, B2, [prepared(fx, B1, SLOT, B, [0, 1, 3])])]);
    const result = analyse(fx.cluster, { certificates: [accepted(B1, A, [0, 1, 2]), accepted(B2, B, [1, 2, 3])], newBallots: [joined] });
    expect(result.culprits.map((c) => c.node)).toEqual([0, 1]);
    expect(verifyEvidence(fx.cluster, result.culprits[0]!.proofs[0]!)).toMatchObject({ ok: true, summary: expect.stringMatching(/accepted and verify messages for two different digests/) });
  });

  it('drops forged certificates and unjustified NewBallots, and accuses nobody on them', () => {
    const forged = accepted(B1, B, [0, 1, 3]);
    const tampered = { ...forged, accepteds: forged.accepteds.with(0, flipSignature(forged.accepteds[0]!)) };
    const unjustified = newBallot([promise(fx, 0, B2), promise(fx, 1, B2)]);
    const result = analyse(fx.cluster, { certificates: [accepted(B1, A, [0, 1, 2]), tampered], newBallots: [unjustified] });
    expect(result).toEqual({ conflictingSlots: [], culprits: [], dropped: 2 });
  });

  it('agreeing certificates name nobody, even from two ballots', () => {
    expect(analyse(fx.cluster, { certificates: [accepted(B1, A, [0, 1, 2]), accepted(B2, A, [1, 2, 3])], newBallots: [] }).culprits).toEqual([]);
  });
});

describe('a scripted disagreement across two ballots, on real honest nodes n2 and n3', () => {
  // The test signs as n0 and n1, the colluders, and decides which envelope reaches which node.
  it('n0 and n1 accept A in ballot 1 with n2, then lead ballot 2 to B with n3, hiding their votes: omitted-vote', () => {
    const net = new Net(fx);
    net.inFlight = [];
    const accept = (b: Ballot, batch: Batch) => seal(fx, b.leader, { type: 'accept', ballot: b, slot: SLOT, batch, decidedUpTo: 0 });
    const votes = (to: NodeId, b: Ballot, batch: Batch) => {
      for (const from of [0, 1]) net.deliver(to, from, verifyVote(fx, from, b, SLOT, batch));
      for (const from of [0, 1]) net.deliver(to, from, acceptedVote(fx, from, b, SLOT, batch));
    };
    // Ballot 1 (n0 leads): only n2 hears of the slot; its own votes to n3 are lost.
    net.deliver(2, 0, accept(B1, A));
    votes(2, B1, A);
    net.inFlight = [];
    // n0 and n1 promise ballot 2 with nothing prepared: n3 follows (f+1 left), and promises too.
    for (const from of [0, 1]) net.deliver(3, from, promise(fx, from, B2));
    const own = net.inFlight.find((m) => m.from === 3 && m.msg.type === 'signed' && frameType(m.msg.payload) === 'certified-promise')!.msg as SignedEnvelope;
    net.inFlight = [];
    // n1 leads ballot 2 on n0's, its own and n3's promises: slot 0 is free, so it proposes B.
    net.deliver(3, 1, newBallot([promise(fx, 0, B2), promise(fx, 1, B2), own]));
    net.deliver(3, 1, accept(B2, B));
    votes(3, B2, B);
    expect(net.decisions.map((d) => [d.node, d.slot, d.batch])).toEqual([
      [2, SLOT, A],
      [3, SLOT, B],
    ]);

    // What the two honest members hold: their certificates, and the NewBallot n3 joined by.
    const held = [2, 3].map((id) => net.storages[id]!.load().byzantine);
    const result = analyse(fx.cluster, { certificates: held.map((s) => s.certified.get(SLOT)!), newBallots: [held[1]!.joined!.by!] });
    expect(kindsOf(result.culprits)).toEqual([
      [0, ['omitted-vote']],
      [1, ['omitted-vote']],
    ]);
    expect(accountabilityProblems({ cluster: fx.cluster, byzantine: new Set([0, 1]), agreementBroken: true, culprits: result.culprits })).toEqual([]);
  });
});

// --- simulated runs beyond the bound ------------------------------------------------------

/** The colluding pair that breaks agreement: n0 leads ballot 1 with two batches, n1 votes for both. */
const PAIR = ['equivocating-leader', 'equivocating-acceptor'].map(strategy);
const verifier = cachedVerifier(nativeBackend);

interface Colluders {
  readonly mode: Mode;
  readonly strategies: readonly Adversary[];
  readonly faults?: string;
  readonly f?: number;
  /** Few: a run signs for real, and the first slot already breaks agreement. */
  readonly commands?: number;
}

/** The colluders on nodes 0, 1, …: n0 leads the first ballot. */
function run(seed: number, { mode, strategies, faults = 'none', f = 1, commands = 3 }: Colluders): SimResult {
  return simulate({ mode, seed, f, commands, faults: parseFaults(faults), byzantine: { strategies, nodes: strategies.map((_, i) => i) } });
}

const BYZANTINE: Colluders = { mode: 'byzantine', strategies: PAIR, commands: 2 };

const agreementBroken = (r: SimResult) => r.safetyViolations.some((v) => v.kind === 'agreement');
const claimOf = (r: SimResult) => ({ cluster: r.cluster!, byzantine: new Set(r.byzantineNodes), agreementBroken: agreementBroken(r), culprits: r.culprits });

describe('sim beyond the bound: every run that breaks agreement names f+1 proven culprits, all Byzantine', () => {
  it('one run: each proof, as an evidence file, is genuine against its culprit', () => {
    const r = run(1, BYZANTINE);
    expect(agreementBroken(r)).toBe(true);
    expect(r.culprits.map((c) => c.node)).toEqual([0, 1]);
    for (const { node, proofs } of r.culprits) {
      for (const proof of proofs) {
        // What `evidence verify` does with the file `sim --json` and `--evidence-out` give.
        const file = decodeEvidenceFile(encodeEvidenceFile(r.cluster!, proof));
        expect(verifyEvidence(file.cluster, file.evidence)).toMatchObject({ ok: true, culprit: node });
      }
    }
  });

  it('f=2 with three colluders: three culprits', () => {
    const r = run(1, { mode: 'byzantine', strategies: [PAIR[0]!, PAIR[1]!, PAIR[1]!], f: 2 });
    expect(agreementBroken(r)).toBe(true);
    expect(r.culprits.map((c) => c.node)).toEqual([0, 1, 2]);
    expect(accountabilityProblems(claimOf(r), verifier)).toEqual([]);
  });

  // ≥ 300 seeds per colluding pair; few commands keep a run to ~30 ms (Byzantine mode; ~50 with
  // faults) or ~90 ms (commit-reveal, which signs twice as much).
  // The third number: runs expected to name culprits through the NewBallot of a later ballot.
  it.each<[string, Colluders, number]>([
    ['byzantine, equivocating-leader + equivocating-acceptor, no faults', BYZANTINE, 0],
    // View changes leave a slot decided in two ballots (seeds 12, 93, 138, 189, 279).
    ['byzantine, the same on a lossy, partitioned network', { ...BYZANTINE, faults: 'drop=0.1,dup=0.05,reorder,partition', commands: 3 }, 5],
    ['commit-reveal, split-bundle on n0 and n1', { mode: 'commit-reveal', strategies: [splitBundle, splitBundle], commands: 1 }, 0],
  ])('300 seeds, %s', (_name, colluders, traced) => {
    const unaccountable: string[] = [];
    let broken = 0;
    let throughNewBallot = 0;
    for (let seed = 1; seed <= 300; seed++) {
      const r = run(seed, colluders);
      if (agreementBroken(r)) broken++;
      // Two certificates of one ballot yield pairs of one type; a Verify against an Accepted
      // comes only from a prepared certificate a later NewBallot chose.
      if (r.culprits.some((c) => c.proofs.some((p) => p.kind === 'equivocation' && frameType(p.first.payload) !== frameType(p.second.payload)))) throughNewBallot++;
      const problems = accountabilityProblems(claimOf(r), verifier);
      if (problems.length > 0) unaccountable.push(`${problems.join('; ')}\n  replay: ${r.replayCommand}`);
    }
    expect(unaccountable).toEqual([]);
    // The sweep means something only if the pair does break agreement.
    expect(broken).toBeGreaterThan(200);
    expect(throughNewBallot).toBeGreaterThanOrEqual(traced);
  });
});

describe('accountabilityProblems: the checker of the forensic promise can fail', () => {
  const r = run(1, BYZANTINE);
  const claim = claimOf(r);
  const [n0, n1] = r.culprits as [Culprit, Culprit];

  it('holds on the genuine result', () => {
    expect(accountabilityProblems(claim, verifier)).toEqual([]);
  });

  it('a mutant naming one culprit is short of f+1', () => {
    expect(accountabilityProblems({ ...claim, culprits: [n0] }, verifier)).toEqual(['agreement broke but 1 culprit(s) named, fewer than f+1 = 2']);
  });

  it('an honest member named, with a proof against someone else or none', () => {
    expect(accountabilityProblems({ ...claim, culprits: [n0, n1, { node: 2, proofs: n1.proofs }] }, verifier)).toEqual([
      'honest n2 named a culprit',
      ...n1.proofs.map((p) => `${p.kind} proof filed against n2 proves n1`),
    ]);
    expect(accountabilityProblems({ ...claim, culprits: [n0, n1, { node: 3, proofs: [] }] }, verifier)).toEqual(['honest n3 named a culprit', 'n3 named without a proof']);
  });

  it('a tampered proof', () => {
    const proof = n0.proofs[0] as Extract<Evidence, { kind: 'equivocation' }>;
    const tampered: Evidence = { ...proof, second: flipSignature(proof.second) };
    const problems = accountabilityProblems({ ...claim, culprits: [{ node: 0, proofs: [tampered] }, n1] }, verifier);
    expect(problems).toEqual([expect.stringMatching(/^equivocation proof against n0 does not verify: second: not .* validly signed/)]);
  });

  it('an honest run with nothing named passes; a broken one with nothing named fails, unless more than 2f were Byzantine', () => {
    expect(accountabilityProblems({ ...claim, agreementBroken: false, culprits: [] }, verifier)).toEqual([]);
    expect(accountabilityProblems({ ...claim, culprits: [] }, verifier)).toHaveLength(1);
    expect(accountabilityProblems({ ...claim, byzantine: new Set([0, 1, 2]), culprits: [] }, verifier)).toEqual([]);
  });
});
