// Where an honest node signs at most one message of a type, and what that message says there:
// the one definition the verifier, the nodes' witnesses and the adversaries' act records share.
import type { Ballot, Slot } from '../../base/types.ts';
import { formatBallot } from '../../base/ballot.ts';
import { batchDigest } from '../../messages/codec.ts';
import type { SignedPayload } from './auth.ts';

export interface Claim {
  /** Same type and position from one signer: the two messages must say the same. */
  readonly position: string;
  readonly content: readonly Uint8Array[];
}

export const at = (ballot: Ballot, slot: Slot): string => `ballot ${formatBallot(ballot)} slot ${slot}`;

/** Null for types an honest node may sign many different times at one position (heartbeats, catch-up). */
export function claimOf(msg: SignedPayload, payload: Uint8Array): Claim | null {
  switch (msg.type) {
    case 'accept':
      return { position: at(msg.ballot, msg.slot), content: [batchDigest(msg.batch)] };
    case 'verify':
    case 'accepted':
      return { position: at(msg.ballot, msg.slot), content: [msg.digest] };
    case 'commitment':
      return { position: at(msg.ballot, msg.slot), content: [msg.commitment] };
    case 'reveal':
      return { position: at(msg.ballot, msg.slot), content: [msg.digest, msg.key] };
    case 'checkpoint':
      return { position: `slot ${msg.slot}`, content: [msg.stateDigest] };
    case 'certified-promise':
    case 'new-ballot':
      return { position: `ballot ${formatBallot(msg.ballot)}`, content: [payload] };
    default:
      return null;
  }
}

/**
 * The digest an acceptor's vote names at (ballot, slot): an honest acceptor signs Verify there for
 * one digest only and casts its second vote (Accepted, Reveal) for that same digest, so any two of
 * them naming different digests are equivocation, whatever their types. Null for other messages.
 */
export function voteOf(msg: SignedPayload): { readonly position: string; readonly digest: Uint8Array } | null {
  return msg.type === 'verify' || msg.type === 'accepted' || msg.type === 'reveal' ? { position: at(msg.ballot, msg.slot), digest: msg.digest } : null;
}
