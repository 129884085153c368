// Forensics beyond the bound ("BFT Protocol Forensics", CCS'21; Accountable Tendermint): when
// more than f members are Byzantine and two honest learners hold decision certificates for
// different digests in one slot, the certificates themselves name at least f+1 culprits. Two
// certificates of one ballot share f+1 acceptors, each of which voted for both digests there
// (equivocation). Of two ballots b1 < b2, the NewBallot of b2 carries 2f+1 promises: if the
// highest prepared certificate they report for the slot is from b1 or later, it is a Verify
// quorum for the second digest, traced back the same way; if none is, the f+1 acceptors of the
// b1 certificate among the promisers each hid their vote (omitted-vote). Every proof is checked
// with verifyEvidence before it is named: the analysis never accuses on its own say-so.
import { compareBallots } from '../base/ballot.ts';
import type { Ballot, NodeId, Slot } from '../base/types.ts';
import { byzantineQuorums } from '../core/quorum.ts';
import { batchDigest } from '../messages/codec.ts';
import type { Evidence } from '../messages/evidence.ts';
import type { CertifiedEntry, NewBallot, PreparedCertificate, SignedEnvelope } from '../messages/types.ts';
import { Verifier } from '../modes/byzantine/auth.ts';
import { checkNewBallot, validCommit, type CertificateContext } from '../modes/byzantine/certificates.ts';
import type { ClusterConfig } from '../modes/byzantine/cluster.ts';
import { toHex } from '../../crypto/digest.ts';
import { nobleBackend, type SignatureBackend } from '../../crypto/ed25519.ts';
import { evidenceId } from './file.ts';
import { verifyEvidence } from './verify.ts';

/** What honest members hold: their decision certificates and the NewBallots they joined by. */
export interface Transcript {
  readonly certificates: readonly CertifiedEntry[];
  readonly newBallots: readonly SignedEnvelope[];
}

export interface Culprit {
  readonly node: NodeId;
  /** Each accepted by verifyEvidence, naming `node`. */
  readonly proofs: readonly Evidence[];
}

export interface Forensics {
  /** Slots for which the transcript holds certificates of two or more digests. */
  readonly conflictingSlots: readonly Slot[];
  /** By node id. */
  readonly culprits: readonly Culprit[];
  /** Certificates and NewBallots that do not verify: untrusted input, dropped. */
  readonly dropped: number;
}

/** Votes of one ballot for one digest at a slot, by signer: a certificate's second votes or a prepared certificate's Verifies. */
interface Quorum {
  readonly ballot: Ballot;
  readonly digestHex: string;
  readonly votes: ReadonlyMap<NodeId, SignedEnvelope>;
}

export function analyse(cluster: ClusterConfig, transcript: Transcript, backend: SignatureBackend = nobleBackend): Forensics {
  const auth = new Verifier(cluster, backend);
  const { n, phase2 } = byzantineQuorums(cluster.f);
  const ctx: CertificateContext = { n, quorum: phase2, clusterId: auth.clusterId, open: (e) => auth.open(e) };
  let dropped = 0;
  // Per slot, the first certificate seen of each digest.
  const bySlot = new Map<Slot, Map<string, Quorum>>();
  for (const entry of transcript.certificates) {
    const quorum = validCommit(ctx, entry) ? secondVotes(ctx, entry) : null;
    if (quorum === null) {
      dropped++;
      continue;
    }
    let digests = bySlot.get(entry.slot);
    if (digests === undefined) bySlot.set(entry.slot, (digests = new Map()));
    if (!digests.has(quorum.digestHex)) digests.set(quorum.digestHex, quorum);
  }
  // By round: an equivocating leader may have had honest members join different ones, at most
  // one each; more than n for one round cannot all be what honest members hold (and would let
  // the walk below branch without bound).
  const joinedBy = new Map<number, NewBallot[]>();
  for (const envelope of transcript.newBallots) {
    const msg = auth.open(envelope);
    const list = msg?.type === 'new-ballot' ? (joinedBy.get(msg.ballot.round) ?? []) : [];
    // Honest members join only a justified NewBallot: anything else here is not what they hold.
    if (msg?.type !== 'new-ballot' || list.length >= n || !checkNewBallot(ctx, msg, envelope.signer).ok) {
      dropped++;
      continue;
    }
    list.push(msg);
    joinedBy.set(msg.ballot.round, list);
  }
  const proofs = new Map<string, { node: NodeId; evidence: Evidence }>();
  const name = (evidence: Evidence): void => {
    const id = evidenceId(evidence);
    if (proofs.has(id)) return;
    const verdict = verifyEvidence(cluster, evidence, backend);
    if (verdict.ok) proofs.set(id, { node: verdict.culprit, evidence });
  };
  const conflictingSlots: Slot[] = [];
  for (const [slot, digests] of [...bySlot].sort(([a], [b]) => a - b)) {
    if (digests.size < 2) continue;
    conflictingSlots.push(slot);
    const quorums = [...digests.values()].sort((a, b) => compareBallots(a.ballot, b.ballot));
    for (let i = 0; i < quorums.length; i++) {
      for (let j = i + 1; j < quorums.length; j++) trace(ctx, slot, quorums[i]!, quorums[j]!, joinedBy, name);
    }
  }
  const culprits = new Map<NodeId, Evidence[]>();
  for (const { node, evidence } of proofs.values()) culprits.set(node, [...(culprits.get(node) ?? []), evidence]);
  return {
    conflictingSlots,
    culprits: [...culprits].sort(([a], [b]) => a - b).map(([node, list]) => ({ node, proofs: list })),
    dropped,
  };
}

/** A valid certificate's second votes: its Accepteds, or in commit-reveal its Reveals (which name the digest). */
function secondVotes(ctx: CertificateContext, entry: CertifiedEntry): Quorum | null {
  const first = ctx.open(entry.accepteds[0]!);
  const votes = first?.type === 'commitment' ? entry.accepteds.slice(entry.accepteds.length / 2) : entry.accepteds;
  const opened = ctx.open(votes[0]!);
  if (opened === null || (opened.type !== 'accepted' && opened.type !== 'reveal')) return null;
  return { ballot: opened.ballot, digestHex: toHex(batchDigest(entry.batch)), votes: new Map(votes.map((e) => [e.signer, e])) };
}

/**
 * `lower` (ballot b1, a certificate's second votes) against `upper` (ballot b2 ≥ b1, for another
 * digest): one ballot, the shared signers equivocated; else follow what the NewBallot of b2 chose.
 * Ballots strictly decrease at each step (a promise's certificates are below its ballot), so the
 * walk ends.
 */
function trace(
  ctx: CertificateContext,
  slot: Slot,
  lower: Quorum,
  upper: Quorum,
  joinedBy: ReadonlyMap<number, readonly NewBallot[]>,
  name: (evidence: Evidence) => void,
): void {
  if (compareBallots(lower.ballot, upper.ballot) === 0) {
    for (const [signer, first] of lower.votes) {
      const second = upper.votes.get(signer);
      if (second !== undefined) name({ kind: 'equivocation', first, second });
    }
    return;
  }
  for (const newBallot of joinedBy.get(upper.ballot.round) ?? []) {
    const promises = newBallot.promises.flatMap((envelope) => {
      const promise = ctx.open(envelope);
      return promise?.type === 'certified-promise' ? [{ envelope, promise }] : [];
    });
    let best: PreparedCertificate | undefined;
    for (const { promise } of promises) {
      for (const cert of promise.prepared) if (cert.slot === slot && (best === undefined || compareBallots(cert.ballot, best.ballot) > 0)) best = cert;
    }
    if (best !== undefined && compareBallots(best.ballot, lower.ballot) >= 0) {
      const digestHex = toHex(batchDigest(best.batch));
      if (digestHex !== lower.digestHex) trace(ctx, slot, lower, { ballot: best.ballot, digestHex, votes: new Map(best.verifies.map((e) => [e.signer, e])) }, joinedBy, name);
      continue;
    }
    // Nothing prepared at b1 or later reported: each promiser that voted in `lower` hid it.
    for (const { envelope } of promises) {
      const vote = lower.votes.get(envelope.signer);
      if (vote !== undefined) name({ kind: 'omitted-vote', vote, promise: envelope });
    }
  }
}

export interface AccountabilityClaim {
  readonly cluster: ClusterConfig;
  /** The members that really were Byzantine in the run. */
  readonly byzantine: ReadonlySet<NodeId>;
  /** Honest learners decided different batches for some slot. */
  readonly agreementBroken: boolean;
  readonly culprits: readonly Culprit[];
}

/**
 * The forensic guarantee, checked from outside the analysis: when agreement broke with at most 2f
 * Byzantine members, at least f+1 members are named; and every member named is Byzantine and
 * proven so by each of its proofs.
 * Returns what fails; empty when the run is accountable.
 */
export function accountabilityProblems(claim: AccountabilityClaim, backend: SignatureBackend = nobleBackend): string[] {
  const problems: string[] = [];
  for (const { node, proofs } of claim.culprits) {
    if (!claim.byzantine.has(node)) problems.push(`honest n${node} named a culprit`);
    if (proofs.length === 0) problems.push(`n${node} named without a proof`);
    for (const proof of proofs) {
      const verdict = verifyEvidence(claim.cluster, proof, backend);
      if (!verdict.ok) problems.push(`${proof.kind} proof against n${node} does not verify: ${verdict.reason}`);
      else if (verdict.culprit !== node) problems.push(`${proof.kind} proof filed against n${node} proves n${verdict.culprit}`);
    }
  }
  const needed = claim.cluster.f + 1;
  // Beyond 2f Byzantine members a certificate may hold no honest vote: f+1 is not promised there.
  if (claim.agreementBroken && claim.byzantine.size <= 2 * claim.cluster.f && claim.culprits.length < needed) {
    problems.push(`agreement broke but ${claim.culprits.length} culprit(s) named, fewer than f+1 = ${needed}`);
  }
  return problems;
}
