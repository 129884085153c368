// State transfer for a member behind a peer's snapshot (a Byzantine-mode stable checkpoint, or a
// crash-mode local snapshot), as a pure state machine, with the serving side's two helpers.
// First the manifest (the digest of every part of the state, hashing to the checkpoint's
// stateDigest: the caller checks it, and in Byzantine modes the certificate too), then the parts it lacks, STATE_REQUEST_PARTS_MAX at a time,
// each checked against the manifest on arrival. A part whose digest the member already holds is
// never fetched, so a laggard fetches only what changed. A peer that sends a part that does not
// match is asked nothing more in this transfer; the member asks the next one.
import type { PersistRecord } from './effects.ts';
import { STATE_REQUEST_PARTS_MAX } from '../base/limits.ts';
import type { StateSnapshot } from './replica.ts';
import type { NodeId, Slot } from '../base/types.ts';
import { encodedSize, statePartDigest } from '../messages/codec.ts';
import type { CheckpointCertificate, StatePart, StateParts, StateRequest } from '../messages/types.ts';
import { bytesEqual, toHex } from '../../crypto/digest.ts';

/** Most state-transfer replies (manifests, parts) a member sends one peer per retransmit period: what a requester can make it ship. */
export const STATE_REPLIES_PER_PEER_PER_PERIOD = 8;

interface Target {
  readonly certificate: CheckpointCertificate;
  readonly digests: readonly Uint8Array[];
  readonly parts: (Uint8Array | null)[];
  missing: number;
}

export type TransferProgress =
  /** Not for this transfer (another slot, none running): nothing to do. */
  | { readonly kind: 'ignored' }
  /** Some parts did not match the manifest: `bad` of them, dropped; the sender is asked nothing more. */
  | { readonly kind: 'bad'; readonly bad: number }
  | { readonly kind: 'progress' }
  | { readonly kind: 'complete'; readonly certificate: CheckpointCertificate; readonly snapshot: StateSnapshot };

export class StateTransfer {
  private readonly self: NodeId;
  private readonly n: number;
  private target: Target | null = null;
  private peer: NodeId = 0;
  /** Peers that sent a part not matching the manifest, during this transfer. */
  private readonly excluded = new Set<NodeId>();

  constructor(self: NodeId, n: number) {
    this.self = self;
    this.n = n;
  }

  /** The checkpoint slot being fetched, or null. */
  get slot(): Slot | null {
    return this.target?.certificate.slot ?? null;
  }

  /** Parts still to fetch (0 when idle). */
  get missing(): number {
    return this.target?.missing ?? 0;
  }

  /**
   * Fetch the state `certificate` vouches for, whose part digests (checked by the caller) are
   * `digests`, from `peer` first; parts of `held` or of a transfer in progress with a matching
   * digest are reused.
   */
  begin(certificate: CheckpointCertificate, digests: readonly Uint8Array[], held: StateSnapshot, peer: NodeId): void {
    const known = new Map<string, Uint8Array>();
    held.parts.forEach((part, i) => known.set(toHex(held.digests[i]!), part));
    const previous = this.target;
    previous?.parts.forEach((part, i) => {
      if (part !== null) known.set(toHex(previous.digests[i]!), part);
    });
    const parts = digests.map((d) => known.get(toHex(d)) ?? null);
    this.target = { certificate, digests, parts, missing: parts.filter((p) => p === null).length };
    this.excluded.clear();
    this.peer = peer;
  }

  abort(): void {
    this.target = null;
  }

  /** The next request, for the parts still missing; null when idle. */
  request(): { readonly to: NodeId; readonly msg: StateRequest } | null {
    const target = this.target;
    if (target === null) return null;
    const parts: number[] = [];
    for (let i = 0; i < target.parts.length && parts.length < STATE_REQUEST_PARTS_MAX; i++) if (target.parts[i] === null) parts.push(i);
    return { to: this.peer, msg: { type: 'state-request', slot: target.certificate.slot, parts } };
  }

  /** The request went unanswered, or its answer was bad: ask the next peer not excluded. */
  nextPeer(): void {
    if (this.n < 2) return;
    if (this.excluded.size >= this.n - 1) this.excluded.clear();
    do this.peer = (this.peer + 1) % this.n;
    while (this.peer === this.self || this.excluded.has(this.peer));
  }

  receive(from: NodeId, msg: StateParts): TransferProgress {
    const target = this.target;
    if (target === null || msg.slot !== target.certificate.slot) return { kind: 'ignored' };
    let bad = 0;
    for (const { index, bytes } of msg.parts) {
      if (index >= target.parts.length) bad++;
      else if (target.parts[index] !== null) continue;
      else if (!bytesEqual(statePartDigest(bytes), target.digests[index]!)) bad++;
      else {
        target.parts[index] = bytes;
        target.missing--;
      }
    }
    if (bad > 0) {
      this.excluded.add(from);
      if (from === this.peer) this.nextPeer();
      return { kind: 'bad', bad };
    }
    if (target.missing > 0) return { kind: 'progress' };
    this.target = null;
    const { certificate } = target;
    const snapshot: StateSnapshot = {
      executedUpTo: certificate.slot,
      parts: target.parts as Uint8Array[],
      digests: target.digests,
      digest: certificate.stateDigest,
    };
    return { kind: 'complete', certificate, snapshot };
  }
}

/**
 * The parts `msg` asks for, in its order, as many as fit `roomBytes` of a state-parts message
 * (its count prefix may grow by two bytes; each part costs its index, length and bytes); null if
 * it names a part the snapshot does not have.
 */
export function partsFor(snapshot: StateSnapshot, msg: StateRequest, roomBytes: number): StatePart[] | null {
  const empty = encodedSize({ type: 'state-parts', slot: msg.slot, parts: [] });
  let room = roomBytes - empty - 2;
  const parts: StatePart[] = [];
  for (const index of msg.parts) {
    const bytes = snapshot.parts[index];
    if (bytes === undefined) return null;
    room -= encodedSize({ type: 'state-parts', slot: msg.slot, parts: [{ index, bytes }] }) - empty;
    if (room < 0) break;
    parts.push({ index, bytes });
  }
  return parts;
}

/** `state-part` records of the parts of `snapshot` that differ from `previous` (every part without one): storage keeps the rest. */
export function changedPartRecords(previous: StateSnapshot | undefined, snapshot: StateSnapshot): PersistRecord[] {
  const records: PersistRecord[] = [];
  snapshot.parts.forEach((part, index) => {
    if (previous !== undefined && (previous.parts[index] === part || bytesEqual(previous.digests[index]!, snapshot.digests[index]!))) return;
    records.push({ type: 'state-part', index, part });
  });
  return records;
}
