// Transferable proofs of misbehaviour (CometBFT's DuplicateVoteEvidence, generalized): each is
// self-contained and checkable by anyone holding the cluster configuration. Behaviour that
// cannot be proven (withholding, slowness) is a Suspicion, never Evidence.
import type { NodeId } from '../base/types.ts';
import type { SignedEnvelope } from '../messages/types.ts';

export type Evidence =
  /** Two validly signed messages from one node that an honest node would never both sign. */
  | { readonly kind: 'equivocation'; readonly first: SignedEnvelope; readonly second: SignedEnvelope }
  /** A signed Commitment and a signed Reveal for the same (ballot, slot) that does not open it. */
  | { readonly kind: 'commitment-mismatch'; readonly commitment: SignedEnvelope; readonly reveal: SignedEnvelope }
  /** A leader's signed NewBallot whose own attached promises do not justify it. */
  | { readonly kind: 'unjustified-new-ballot'; readonly newBallot: SignedEnvelope }
  /**
   * A second vote (Accepted, Commitment or Reveal) at (ballot, slot), which an acceptor casts only
   * once the slot is prepared there, and the same node's later CertifiedPromise that reports no
   * prepared certificate for the slot at that ballot or higher (forensics beyond the bound).
   */
  | { readonly kind: 'omitted-vote'; readonly vote: SignedEnvelope; readonly promise: SignedEnvelope };

export type EvidenceKind = Evidence['kind'];

export interface Suspicion {
  readonly node: NodeId;
  /** e.g. 'withheld-reveal', 'withheld-commitment', 'late-reveal'. */
  readonly reason: string;
}

/** The signed messages a proof consists of; all are signed by the accused node. */
export function evidenceEnvelopes(evidence: Evidence): readonly SignedEnvelope[] {
  switch (evidence.kind) {
    case 'equivocation':
      return [evidence.first, evidence.second];
    case 'commitment-mismatch':
      return [evidence.commitment, evidence.reveal];
    case 'unjustified-new-ballot':
      return [evidence.newBallot];
    case 'omitted-vote':
      return [evidence.vote, evidence.promise];
  }
}
