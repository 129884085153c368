// What the largest messages a member seals weigh, so that config can bound batches in bytes and
// every sealed message fits one frame by construction. Promises carry the prepared batches of
// every slot between the watermarks, and a NewBallot carries a quorum of promises: the per-slot
// batch budget is what is left of one frame divided among those batches.
//
// Sizes are exact, from the codec on representative messages: worst-case varints (ROUND_MAX,
// SLOT_MAX, NODE_ID_MAX), an empty batch, then each batch's bytes added on; batches are embedded
// without a length prefix, so adding them on is exact. Certificates gathered from others may hold
// up to n signatures (the checks accept that many); prepared certificates a member builds hold 2f+1.
import type { Ballot, Batch } from '../../base/types.ts';
import {
  CERTIFICATE_SIGNATURES_MAX,
  CLIENT_ID_MAX,
  NODE_ID_MAX,
  OP_BYTES_MAX,
  ROUND_MAX,
  SESSION_ID_MAX,
  SIGNATURE_BYTES,
  SIGNED_PAYLOAD_BYTES_MAX,
  SLOT_MAX,
} from '../../base/limits.ts';
import { batchSize, encodedSize, envelopeSize } from '../../messages/codec.ts';
import type { CheckpointCertificate, PreparedCertificate, SignedEnvelope } from '../../messages/types.ts';
import type { SignedPayload } from './auth.ts';

/** The config fields the budget depends on. */
export interface FrameShape {
  readonly quorums: { readonly n: number; readonly phase1: number; readonly phase2: number };
  readonly watermarkSlots: number;
}

const BALLOT: Ballot = { round: ROUND_MAX, leader: NODE_ID_MAX };
const DIGEST = new Uint8Array(32);
const EMPTY: Batch = { commands: [] };
const EMPTY_BYTES = batchSize(EMPTY);

/** A batch of one command as large as the wire allows: every config must carry at least this. */
export const MAXIMAL_COMMAND_BATCH_BYTES = batchSize({
  commands: [{ clientId: CLIENT_ID_MAX, session: SESSION_ID_MAX, seq: Number.MAX_SAFE_INTEGER, op: new Uint8Array(OP_BYTES_MAX), signature: new Uint8Array(SIGNATURE_BYTES) }],
});

function envelopeOf(payload: SignedPayload): SignedEnvelope {
  return envelopeOfBytes(encodedSize(payload));
}

function envelopeOfBytes(payloadBytes: number): SignedEnvelope {
  return { type: 'signed', signer: NODE_ID_MAX, payload: new Uint8Array(payloadBytes), signature: new Uint8Array(SIGNATURE_BYTES) };
}

function varintSize(value: number): number {
  let size = 1;
  while (value >= 128) {
    value = Math.floor(value / 128);
    size++;
  }
  return size;
}

function times<T>(count: number, item: T): T[] {
  return Array.from({ length: count }, () => item);
}

/** Payload bytes of the largest CertifiedPromise an honest member seals, with batches of `batchBytes`. */
export function promiseBytesMax(shape: FrameShape, batchBytes: number): number {
  const { n, phase2: quorum } = shape.quorums;
  const verify = envelopeOf({ type: 'verify', ballot: BALLOT, slot: SLOT_MAX, digest: DIGEST });
  const checkpoint = envelopeOf({ type: 'checkpoint', slot: SLOT_MAX, stateDigest: DIGEST });
  const certificate: PreparedCertificate = { ballot: BALLOT, slot: SLOT_MAX, batch: EMPTY, verifies: times(quorum, verify) };
  const stable: CheckpointCertificate = { slot: SLOT_MAX, stateDigest: DIGEST, signatures: times(n, checkpoint) };
  const empty = encodedSize({ type: 'certified-promise', ballot: BALLOT, checkpoint: stable, prepared: times(shape.watermarkSlots, certificate) });
  return empty + shape.watermarkSlots * (batchBytes - EMPTY_BYTES);
}

/**
 * Payload bytes of the largest message a member seals whose batches hold `batchBytes` each: a
 * NewBallot of promises at promiseBytesMax, a commit-reveal Bundle, a catch-up reply of one entry
 * (2n envelopes: commitments and reveals), an Accept.
 */
export function sealedBytesMax(shape: FrameShape, batchBytes: number): number {
  const { n, phase1, phase2 } = shape.quorums;
  const extra = batchBytes - EMPTY_BYTES;
  // Promises are sized by arithmetic, not encodedSize: the codec refuses to size what overflows.
  const promiseBytes = promiseBytesMax(shape, batchBytes);
  const promises = Math.max(phase1, phase2);
  const newBallot =
    encodedSize({ type: 'new-ballot', ballot: BALLOT, promises: times(promises, envelopeOfBytes(0)) }) +
    promises * (promiseBytes + varintSize(promiseBytes) - varintSize(0));
  const commitment = envelopeOf({ type: 'commitment', ballot: BALLOT, slot: SLOT_MAX, commitment: DIGEST });
  const bundle = encodedSize({ type: 'bundle', ballot: BALLOT, slot: SLOT_MAX, batch: EMPTY, commitments: times(n, commitment) }) + extra;
  const reveal = envelopeOf({ type: 'reveal', ballot: BALLOT, slot: SLOT_MAX, digest: DIGEST, key: DIGEST });
  const entry = { slot: SLOT_MAX, batch: EMPTY, accepteds: times(2 * n, reveal) };
  const catchup = encodedSize({ type: 'certified-catchup-reply', entries: [entry], decidedUpTo: SLOT_MAX }) + extra;
  const accept = encodedSize({ type: 'accept', ballot: BALLOT, slot: SLOT_MAX, batch: EMPTY, decidedUpTo: SLOT_MAX }) + extra;
  return Math.max(newBallot, bundle, catchup, accept);
}

/** The largest per-slot batch, in encoded bytes, for which every sealed message fits one frame. */
export function batchBytesBudget(shape: FrameShape): number {
  // sealedBytesMax grows with batchBytes (by at least one byte per byte): search the largest fit.
  let low = EMPTY_BYTES - 1;
  let high = SIGNED_PAYLOAD_BYTES_MAX;
  while (low < high) {
    const mid = Math.ceil((low + high) / 2);
    if (sealedBytesMax(shape, mid) <= SIGNED_PAYLOAD_BYTES_MAX) low = mid;
    else high = mid - 1;
  }
  return low;
}

/** Room for envelopes in one evidence-share; its count prefix may grow to two bytes (at most CERTIFICATE_SIGNATURES_MAX). */
const SHARE_ROOM_BYTES = SIGNED_PAYLOAD_BYTES_MAX - encodedSize({ type: 'evidence-share', envelopes: [] }) - 1;

/**
 * Envelopes packed in order into evidence-shares of at most `countMax` that each fit one frame;
 * an envelope too large to fit even alone is skipped (the count says how many).
 */
export function packShares(envelopes: readonly SignedEnvelope[], countMax: number): { shares: SignedEnvelope[][]; skipped: number } {
  const shares: SignedEnvelope[][] = [];
  const limit = Math.min(countMax, CERTIFICATE_SIGNATURES_MAX);
  let skipped = 0;
  let share: SignedEnvelope[] = [];
  let bytes = 0;
  for (const envelope of envelopes) {
    const size = envelopeSize(envelope);
    if (size > SHARE_ROOM_BYTES) {
      skipped++;
      continue;
    }
    if (share.length >= limit || bytes + size > SHARE_ROOM_BYTES) {
      shares.push(share);
      share = [];
      bytes = 0;
    }
    share.push(envelope);
    bytes += size;
  }
  if (share.length > 0) shares.push(share);
  return { shares, skipped };
}

/** Encoded bytes of a batch of `count` commands whose own encodings total `commandBytes`. */
export function batchBytesOf(count: number, commandBytes: number): number {
  return varintSize(count) + commandBytes;
}
