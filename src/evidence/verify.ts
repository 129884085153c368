// Checking Evidence: anyone holding the cluster configuration reaches the same verdict, so a
// culprit can be named to people who saw none of the traffic. Evidence is untrusted input: the
// verdict is "genuine" only when every rule holds, and nothing a prover sends makes it throw.
import { ballotEquals, compareBallots, formatBallot } from '../base/ballot.ts';
import { byzantineQuorums } from '../core/quorum.ts';
import type { NodeId } from '../base/types.ts';
import type { SignedEnvelope } from '../messages/types.ts';
import { Verifier, type SignedPayload } from '../modes/byzantine/auth.ts';
import { checkNewBallot, type CertificateContext } from '../modes/byzantine/certificates.ts';
import { leaderOf, validateCluster, type ClusterConfig } from '../modes/byzantine/cluster.ts';
import { opens } from '../../crypto/commitment.ts';
import { bytesEqual } from '../../crypto/digest.ts';
import { nobleBackend, type SignatureBackend } from '../../crypto/ed25519.ts';
import { at, claimOf, voteOf } from '../modes/byzantine/claim.ts';
import type { Evidence } from '../messages/evidence.ts';

export type EvidenceVerdict =
  | { readonly ok: true; readonly culprit: NodeId; readonly summary: string }
  | { readonly ok: false; readonly reason: string };

interface Finding {
  readonly culprit: NodeId;
  readonly summary: string;
}

/**
 * `backend` defaults to the reference one, so a verdict never rests on OpenSSL's build; a caller
 * judging many proofs may pass a cached verifier over it.
 */
export function verifyEvidence(cluster: ClusterConfig, evidence: Evidence, backend: SignatureBackend = nobleBackend): EvidenceVerdict {
  try {
    return { ok: true, ...judge(cluster, evidence, backend) };
  } catch (e) {
    // Every rule that fails throws its reason; so does anything malformed enough to break a
    // helper, which must also mean "not proven" rather than escape to the caller.
    return { ok: false, reason: e instanceof Error ? e.message : String(e) };
  }
}

function judge(cluster: ClusterConfig, evidence: Evidence, backend: SignatureBackend): Finding {
  validateCluster(cluster);
  // Verification only: no secret key (seal would throw) and no member id (open never skips a check).
  const auth = new Verifier(cluster, backend);
  const open = (envelope: SignedEnvelope, name: string): SignedPayload => {
    if (envelope.signer >= cluster.members.length) throw new Error(`${name}: signer n${envelope.signer} is not a member of the cluster`);
    const msg = auth.open(envelope);
    if (msg === null) throw new Error(`${name}: not a well-formed message validly signed by n${envelope.signer} in this cluster`);
    return msg;
  };
  switch (evidence.kind) {
    case 'equivocation':
      return equivocation(open(evidence.first, 'first'), open(evidence.second, 'second'), evidence);
    case 'commitment-mismatch':
      return commitmentMismatch(open(evidence.commitment, 'commitment'), open(evidence.reveal, 'reveal'), evidence, auth.clusterId);
    case 'unjustified-new-ballot':
      return unjustifiedNewBallot(open(evidence.newBallot, 'newBallot'), evidence.newBallot.signer, cluster, auth);
    case 'omitted-vote':
      return omittedVote(open(evidence.vote, 'vote'), open(evidence.promise, 'promise'), evidence);
    default:
      throw new Error(`unknown evidence kind ${JSON.stringify((evidence as { kind: unknown }).kind)}`);
  }
}

function equivocation(first: SignedPayload, second: SignedPayload, evidence: Extract<Evidence, { kind: 'equivocation' }>): Finding {
  const signer = evidence.first.signer;
  if (evidence.second.signer !== signer) throw new Error(`signed by two different nodes (n${signer}, n${evidence.second.signer})`);
  if (first.type !== second.type) return splitVote(first, second, signer);
  const a = claimOf(first, evidence.first.payload);
  const b = claimOf(second, evidence.second.payload);
  if (a === null || b === null) throw new Error(`${first.type} messages are not evidence: an honest node may sign many that differ`);
  if (a.position !== b.position) throw new Error(`different positions (${a.position}; ${b.position})`);
  if (bytesEqual(evidence.first.payload, evidence.second.payload)) throw new Error('identical messages: a retransmission, not equivocation');
  if (a.content.every((part, i) => bytesEqual(part, b.content[i]!))) {
    throw new Error(`same content at ${a.position}: the messages differ only where an honest node may change its mind`);
  }
  return { culprit: signer, summary: `signed two different ${first.type} messages for ${a.position}` };
}

/** A Verify and a second vote (or two kinds of second vote) of one acceptor at one position. */
function splitVote(first: SignedPayload, second: SignedPayload, signer: NodeId): Finding {
  const a = voteOf(first);
  const b = voteOf(second);
  if (a === null || b === null) throw new Error(`messages of different types (${first.type}, ${second.type})`);
  if (a.position !== b.position) throw new Error(`different positions (${a.position}; ${b.position})`);
  if (bytesEqual(a.digest, b.digest)) throw new Error(`${first.type} and ${second.type} for one digest at ${a.position}: one vote`);
  return { culprit: signer, summary: `signed ${first.type} and ${second.type} messages for two different digests at ${a.position}` };
}

function commitmentMismatch(
  commitment: SignedPayload,
  reveal: SignedPayload,
  evidence: Extract<Evidence, { kind: 'commitment-mismatch' }>,
  clusterId: Uint8Array,
): Finding {
  if (commitment.type !== 'commitment') throw new Error(`commitment: a ${commitment.type} message, not a commitment`);
  if (reveal.type !== 'reveal') throw new Error(`reveal: a ${reveal.type} message, not a reveal`);
  const signer = evidence.commitment.signer;
  if (evidence.reveal.signer !== signer) throw new Error(`signed by two different nodes (n${signer}, n${evidence.reveal.signer})`);
  const position = at(commitment.ballot, commitment.slot);
  if (!ballotEquals(commitment.ballot, reveal.ballot) || commitment.slot !== reveal.slot) {
    throw new Error(`the reveal is for ${at(reveal.ballot, reveal.slot)}, the commitment for ${position}`);
  }
  const vote = { clusterId, round: reveal.ballot.round, leader: reveal.ballot.leader, slot: reveal.slot, digest: reveal.digest };
  if (opens(commitment.commitment, vote, reveal.key)) throw new Error('the reveal opens the commitment: honest behaviour');
  return { culprit: signer, summary: `revealed a digest and key for ${position} that do not open its commitment` };
}

function unjustifiedNewBallot(msg: SignedPayload, signer: NodeId, cluster: ClusterConfig, auth: Verifier): Finding {
  if (msg.type !== 'new-ballot') throw new Error(`newBallot: a ${msg.type} message, not a new-ballot`);
  const { n, phase1 } = byzantineQuorums(cluster.f);
  // checkNewBallot fails these too, but then the message is nobody's claim to lead: no evidence.
  if (msg.ballot.round < 1 || msg.ballot.leader !== leaderOf(msg.ballot.round, n) || signer !== msg.ballot.leader) {
    throw new Error(`newBallot: n${signer} is not the leader of ballot ${formatBallot(msg.ballot)}`);
  }
  const ctx: CertificateContext = { n, quorum: phase1, open: (e) => auth.open(e) };
  const result = checkNewBallot(ctx, msg, signer);
  if (result.ok) throw new Error(`the new-ballot for ballot ${formatBallot(msg.ballot)} is justified by its promises: honest behaviour`);
  return { culprit: signer, summary: `sent a new-ballot for ballot ${formatBallot(msg.ballot)} that its promises do not justify (${result.reason})` };
}

/**
 * An acceptor casts its second vote at (b, s) only once it holds a prepared certificate there,
 * keeps the highest-ballot one per slot until a stable checkpoint passes the slot, and never
 * returns to a lower round; so every promise it signs for a later ballot reports one at (≥ b, s).
 */
function omittedVote(vote: SignedPayload, promise: SignedPayload, evidence: Extract<Evidence, { kind: 'omitted-vote' }>): Finding {
  if (vote.type !== 'accepted' && vote.type !== 'commitment' && vote.type !== 'reveal') throw new Error(`vote: a ${vote.type} message, not a second vote`);
  if (promise.type !== 'certified-promise') throw new Error(`promise: a ${promise.type} message, not a certified-promise`);
  const signer = evidence.vote.signer;
  if (evidence.promise.signer !== signer) throw new Error(`signed by two different nodes (n${signer}, n${evidence.promise.signer})`);
  const position = at(vote.ballot, vote.slot);
  if (compareBallots(promise.ballot, vote.ballot) <= 0) throw new Error(`the promise is for ballot ${formatBallot(promise.ballot)}, not after the vote at ${position}`);
  const low = promise.checkpoint?.slot ?? 0;
  if (low > vote.slot) throw new Error(`the promise's checkpoint at slot ${low} settles slot ${vote.slot}`);
  const reported = promise.prepared.find((c) => c.slot === vote.slot && compareBallots(c.ballot, vote.ballot) >= 0);
  if (reported !== undefined) throw new Error(`the promise reports slot ${vote.slot} prepared at ballot ${formatBallot(reported.ballot)}: honest behaviour`);
  return {
    culprit: signer,
    summary: `cast its ${vote.type} at ${position}, then promised ballot ${formatBallot(promise.ballot)} reporting nothing prepared there since`,
  };
}
