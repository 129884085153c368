// Canonical binary encoding of PersistRecord: what a durable Storage writes, one record per row.
//
// Layout: [RECORD_VERSION][tag][fields in PersistRecord order]. The fields reuse the message
// codec's layouts (LAYOUTS), so a record has exactly one encoding, and decode rejects anything
// encode could not have produced with a CodecError naming the field
// (`accepted.pvalue.batch.commands.op: truncated`).
import type { Ballot } from '../base/types.ts';
import { BOTTOM, compareBallots } from '../base/ballot.ts';
import type { PersistRecord } from '../core/effects.ts';
import { FRAME_BYTES_MAX } from '../base/limits.ts';
import { LAYOUTS } from '../messages/codec.ts';
import { CodecError, Reader, Writer, constant, digest, nullable, struct, type FieldCodec, type Fields } from '../messages/schema.ts';
import { roundSlotOf, type StateAccumulator } from '../core/storage.ts';

export { CodecError };

/** First byte of every encoded record; bump with any change to the layouts below or to LAYOUTS. */
/** 2: commands carry the client's session. */
export const RECORD_VERSION = 2;

/**
 * Largest encoded record. The largest records hold what arrived in one frame (a decided batch, a
 * checkpoint certificate, a part of the state), plus a few bytes.
 */
export const RECORD_BYTES_MAX = 2 * FRAME_BYTES_MAX;

type RecordType = PersistRecord['type'];
type RecordOf<K extends RecordType> = Extract<PersistRecord, { type: K }>;

interface RecordSchema<K extends RecordType> {
  readonly tag: number;
  readonly fields: Fields<Omit<RecordOf<K>, 'type'>>;
}

const { round, slot, ballot, batch, pvalue, envelope, preparedCertificate, checkpointCertificate, certifiedEntry, partIndex, part, partCount } =
  LAYOUTS;

// Tags are part of the on-disk format: never renumber, only append.
const SCHEMAS: { readonly [K in RecordType]: RecordSchema<K> } = {
  promised: { tag: 1, fields: { ballot } },
  accepted: { tag: 2, fields: { pvalue } },
  round: { tag: 3, fields: { round } },
  decided: { tag: 4, fields: { slot, batch } },
  joined: { tag: 5, fields: { round, by: nullable(envelope) } },
  verified: { tag: 6, fields: { ballot, slot, digest } },
  prepared: { tag: 7, fields: { certificate: preparedCertificate } },
  committed: { tag: 8, fields: { ballot, slot, key: digest } },
  certified: { tag: 9, fields: { entry: certifiedEntry } },
  // Tag 10 was a checkpoint with its whole snapshot, retired: a state may be larger than a record.
  'state-part': { tag: 11, fields: { index: partIndex, part } },
  checkpoint: { tag: 12, fields: { certificate: checkpointCertificate, executedUpTo: slot, partCount } },
  snapshot: { tag: 13, fields: { executedUpTo: slot, partCount, logFrom: slot } },
};

interface RecordCodec extends FieldCodec<PersistRecord> {
  readonly tag: number;
}

const BY_TYPE = new Map<string, RecordCodec>();
const BY_TAG: (RecordCodec | undefined)[] = [];
for (const [type, { tag, fields }] of Object.entries(SCHEMAS)) {
  if (BY_TAG[tag] !== undefined) throw new Error(`records: tag ${tag} used twice`);
  // `type` is implied by the tag, and comes first in every record.
  const body = struct({ type: constant(type), ...fields } as Fields<PersistRecord>)(type);
  const codec: RecordCodec = { ...body, tag };
  BY_TYPE.set(type, codec);
  BY_TAG[tag] = codec;
}

function checkRecordSize(size: number): void {
  if (size > RECORD_BYTES_MAX) throw new CodecError(`record: length ${size} exceeds RECORD_BYTES_MAX ${RECORD_BYTES_MAX}`);
}

/** Throws CodecError on a record the layout cannot hold (out-of-range number, wrong digest length, oversize). */
export function encodeRecord(record: PersistRecord): Uint8Array {
  const codec = BY_TYPE.get(record.type);
  if (codec === undefined) throw new CodecError(`record: unknown type ${JSON.stringify(record.type)}`);
  const size = 2 + codec.size(record);
  checkRecordSize(size);
  const w = new Writer(size);
  w.byte(RECORD_VERSION);
  w.byte(codec.tag);
  codec.write(w, record);
  if (w.pos !== size) throw new Error(`records: wrote ${w.pos} bytes of a ${size}-byte ${record.type} record`);
  return w.buf;
}

/** Strict inverse of encodeRecord: throws CodecError on anything encodeRecord could not have produced. */
export function decodeRecord(bytes: Uint8Array): PersistRecord {
  checkRecordSize(bytes.length);
  // A Buffer's slice() is a view, not a copy; reading through a plain Uint8Array keeps copies real.
  const input = bytes.constructor === Uint8Array ? bytes : new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.length);
  if (input.length < 2) throw new CodecError(`record: truncated (${input.length} bytes, need version and tag)`);
  if (input[0] !== RECORD_VERSION) {
    throw new CodecError(`record: version ${input[0]} unsupported (expected ${RECORD_VERSION})`);
  }
  const codec = BY_TAG[input[1]];
  if (codec === undefined) throw new CodecError(`record: unknown tag ${input[1]}`);
  const r = new Reader(input, 2);
  const record = codec.read(r);
  const trailing = input.length - r.pos;
  if (trailing !== 0) throw new CodecError(`${record.type}: ${trailing} trailing byte(s) after record`);
  return record;
}

/**
 * The state keeps only the round of a verified/committed ballot (its key); any ballot of that
 * round folds to the same state. Leader 0 is a valid leader for every round > 0.
 */
function ballotOfRound(roundValue: number): Ballot {
  return roundValue === 0 ? BOTTOM : { round: roundValue, leader: 0 };
}

/**
 * A minimal record list that a fresh StateAccumulator folds into the same state as `state`: one record per
 * map entry and per non-initial scalar. The checkpoint comes before the Byzantine maps, and the
 * crash-mode snapshot before the pvalues and decisions, so the entries each would prune (kept
 * because they arrived after it) survive the replay as they did.
 */
export function stateRecords(state: StateAccumulator): PersistRecord[] {
  const out: PersistRecord[] = [];
  if (compareBallots(state.promised, BOTTOM) > 0) out.push({ type: 'promised', ballot: state.promised });
  if (state.round > 0) out.push({ type: 'round', round: state.round });
  if (state.localSnapshot !== null) {
    const { executedUpTo, logFrom, parts } = state.localSnapshot;
    parts.forEach((p, index) => out.push({ type: 'state-part', index, part: p }));
    out.push({ type: 'snapshot', executedUpTo, partCount: parts.length, logFrom });
  }
  for (const pv of state.accepted.values()) out.push({ type: 'accepted', pvalue: pv });
  for (const [s, b] of state.decided) out.push({ type: 'decided', slot: s, batch: b });
  if (state.joined !== null) out.push({ type: 'joined', round: state.joined.round, by: state.joined.by });
  if (state.checkpoint !== null) {
    const { certificate, executedUpTo, parts } = state.checkpoint;
    parts.forEach((p, index) => out.push({ type: 'state-part', index, part: p }));
    out.push({ type: 'checkpoint', certificate, executedUpTo, partCount: parts.length });
  }
  for (const [key, d] of state.verified) {
    const at = roundSlotOf(key);
    out.push({ type: 'verified', ballot: ballotOfRound(at.round), slot: at.slot, digest: d });
  }
  for (const [key, k] of state.committed) {
    const at = roundSlotOf(key);
    out.push({ type: 'committed', ballot: ballotOfRound(at.round), slot: at.slot, key: k });
  }
  for (const certificate of state.prepared.values()) out.push({ type: 'prepared', certificate });
  for (const entry of state.certified.values()) out.push({ type: 'certified', entry });
  return out;
}

/** stateRecords(state).length, without building the list. */
export function stateRecordCount(state: StateAccumulator): number {
  return (
    (compareBallots(state.promised, BOTTOM) > 0 ? 1 : 0) +
    (state.round > 0 ? 1 : 0) +
    state.accepted.size +
    state.decided.size +
    (state.joined !== null ? 1 : 0) +
    (state.checkpoint !== null ? 1 + state.checkpoint.parts.length : 0) +
    (state.localSnapshot !== null ? 1 + state.localSnapshot.parts.length : 0) +
    state.verified.size +
    state.committed.size +
    state.prepared.size +
    state.certified.size
  );
}
