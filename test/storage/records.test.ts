// The on-disk encoding of PersistRecords (src/storage/records.ts): canonical, strict, and the
// compaction's record set (stateRecords) folds back into the same state.
import type { Ballot, Batch, PValue } from '../../src/base/types.ts';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { commandArb, digestArb, envelopeArb, natIn, rec } from '../messages/arbitraries.ts';
import type { PersistRecord } from '../../src/core/effects.ts';
import { NODE_ID_MAX, ROUND_MAX, SLOT_MAX } from '../../src/base/limits.ts';
import {
  CodecError,
  RECORD_BYTES_MAX,
  RECORD_VERSION,
  decodeRecord,
  encodeRecord,
  stateRecordCount,
  stateRecords,
} from '../../src/storage/records.ts';
import { StateAccumulator } from '../../src/core/storage.ts';

// --- arbitraries (objects built in key order) -------------------------------------------------


type RecordType = PersistRecord['type'];
type RecordArbs = { readonly [K in RecordType]: fc.Arbitrary<Extract<PersistRecord, { type: K }>> };

/** Arbitraries of every record variant, over the given slot and round ranges. */
function recordArbs(slotArb: fc.Arbitrary<number>, roundArb: fc.Arbitrary<number>): RecordArbs {
  const ballotArb: fc.Arbitrary<Ballot> = fc.oneof(
    fc.constant({ round: 0, leader: -1 }),
    rec({ round: roundArb.filter((r) => r > 0), leader: natIn(0, NODE_ID_MAX) }),
  );
  const batchArb: fc.Arbitrary<Batch> = rec({ commands: fc.array(commandArb, { maxLength: 4 }) });
  const pvalueArb: fc.Arbitrary<PValue> = rec({ ballot: ballotArb, slot: slotArb, batch: batchArb });
  const envelopesArb = fc.array(envelopeArb, { maxLength: 3 });
  return {
    promised: rec({ type: fc.constant('promised'), ballot: ballotArb }),
    accepted: rec({ type: fc.constant('accepted'), pvalue: pvalueArb }),
    round: rec({ type: fc.constant('round'), round: roundArb }),
    decided: rec({ type: fc.constant('decided'), slot: slotArb, batch: batchArb }),
    joined: rec({ type: fc.constant('joined'), round: roundArb, by: fc.option(envelopeArb, { nil: null }) }),
    verified: rec({ type: fc.constant('verified'), ballot: ballotArb, slot: slotArb, digest: digestArb }),
    prepared: rec({
      type: fc.constant('prepared'),
      certificate: rec({ ballot: ballotArb, slot: slotArb, batch: batchArb, verifies: envelopesArb }),
    }),
    committed: rec({ type: fc.constant('committed'), ballot: ballotArb, slot: slotArb, key: digestArb }),
    certified: rec({ type: fc.constant('certified'), entry: rec({ slot: slotArb, batch: batchArb, accepteds: envelopesArb }) }),
    'state-part': rec({ type: fc.constant('state-part'), index: natIn(0, 3), part: fc.uint8Array({ maxLength: 128 }) }),
    // No parts: a checkpoint of parts comes with its part records (the dedicated tests below).
    checkpoint: rec({
      type: fc.constant('checkpoint'),
      certificate: rec({ slot: slotArb, stateDigest: digestArb, signatures: envelopesArb }),
      executedUpTo: slotArb,
      partCount: fc.constant(0),
    }),
    snapshot: rec({ type: fc.constant('snapshot'), executedUpTo: slotArb, partCount: fc.constant(0), logFrom: slotArb }),
  };
}

const FULL_RANGE = recordArbs(natIn(0, SLOT_MAX), natIn(0, ROUND_MAX));
const RECORD_TYPES = Object.keys(FULL_RANGE) as RecordType[];
const anyRecord: fc.Arbitrary<PersistRecord> = fc.oneof(...RECORD_TYPES.map((t) => FULL_RANGE[t] as fc.Arbitrary<PersistRecord>));

/** Small slot and round ranges, so records overwrite and checkpoints prune each other's entries. */
const COLLIDING = recordArbs(fc.integer({ min: 0, max: 12 }), fc.integer({ min: 0, max: 5 }));
const collidingRecords = fc.array(fc.oneof(...RECORD_TYPES.map((t) => COLLIDING[t] as fc.Arbitrary<PersistRecord>)), {
  maxLength: 80,
});

function fold(records: readonly PersistRecord[]): StateAccumulator {
  const acc = new StateAccumulator();
  for (const r of records) acc.applyRecord(r);
  return acc;
}

function codecMessage(bytes: Uint8Array): string {
  try {
    decodeRecord(bytes);
  } catch (e) {
    expect(e).toBeInstanceOf(CodecError);
    return (e as Error).message;
  }
  throw new Error('decodeRecord accepted the input');
}

const SAMPLE: PersistRecord = {
  type: 'accepted',
  pvalue: { ballot: { round: 3, leader: 1 }, slot: 9, batch: { commands: [{ clientId: 2, session: 1, seq: 5, op: Uint8Array.of(1, 2, 3), signature: new Uint8Array(0) }] } },
};

// --- tests ------------------------------------------------------------------------------------

describe('record encoding', () => {
  it.each(RECORD_TYPES)('%s records round-trip, and decoding then re-encoding gives the same bytes', (type) => {
    fc.assert(
      fc.property(FULL_RANGE[type] as fc.Arbitrary<PersistRecord>, (record) => {
        const bytes = encodeRecord(record);
        expect(bytes[0]).toBe(RECORD_VERSION);
        const decoded = decodeRecord(bytes);
        expect(decoded).toEqual(record);
        expect(encodeRecord(decoded)).toEqual(bytes);
      }),
      { numRuns: 150 },
    );
  });

  it('every strict prefix of an encoding is refused as truncated, and so is a trailing byte', () => {
    fc.assert(
      fc.property(anyRecord, (record) => {
        const bytes = encodeRecord(record);
        for (let n = 0; n < bytes.length; n++) expect(codecMessage(bytes.subarray(0, n))).toMatch(/truncated/);
        const longer = new Uint8Array(bytes.length + 1);
        longer.set(bytes);
        expect(codecMessage(longer)).toBe(`${record.type}: 1 trailing byte(s) after record`);
      }),
      { numRuns: 100 },
    );
  });

  it('a wrong version, an unknown tag and an out-of-range field are refused with a message naming them', () => {
    const bytes = encodeRecord(SAMPLE);
    expect(codecMessage(Uint8Array.of(RECORD_VERSION + 1, ...bytes.subarray(1)))).toBe(
      `record: version ${RECORD_VERSION + 1} unsupported (expected ${RECORD_VERSION})`,
    );
    expect(codecMessage(Uint8Array.of(RECORD_VERSION, 0, ...bytes.subarray(2)))).toBe('record: unknown tag 0');
    expect(codecMessage(Uint8Array.of(RECORD_VERSION, 14, ...bytes.subarray(2)))).toBe('record: unknown tag 14');
    // Tag 10, the whole-snapshot checkpoint, is retired.
    expect(codecMessage(Uint8Array.of(RECORD_VERSION, 10, ...bytes.subarray(2)))).toBe('record: unknown tag 10');
    // Ballot round 0 with a leader: only BOTTOM may have round 0.
    expect(codecMessage(Uint8Array.of(RECORD_VERSION, 1, 0, 3))).toMatch(/^promised\.ballot\.leader: leader 2 with round 0/);
    expect(codecMessage(new Uint8Array(RECORD_BYTES_MAX + 1))).toBe(
      `record: length ${RECORD_BYTES_MAX + 1} exceeds RECORD_BYTES_MAX ${RECORD_BYTES_MAX}`,
    );
  });

  it('encoding refuses a record the format cannot hold, naming the field', () => {
    const bad = { type: 'verified', ballot: { round: 1, leader: 0 }, slot: 1, digest: new Uint8Array(31) } as const;
    expect(() => encodeRecord(bad)).toThrow(new CodecError('verified.digest: length 31, expected 32'));
    expect(() => encodeRecord({ type: 'round', round: ROUND_MAX + 1 })).toThrow(
      new CodecError(`round.round: value ${ROUND_MAX + 1} exceeds ROUND_MAX ${ROUND_MAX}`),
    );
    expect(() => encodeRecord({ type: 'nonsense' } as unknown as PersistRecord)).toThrow(new CodecError('record: unknown type "nonsense"'));
  });

  it('tags and layouts are pinned: a known record has a known encoding', () => {
    expect([...encodeRecord({ type: 'promised', ballot: { round: 300, leader: 2 } })]).toEqual([2, 1, 0xac, 0x02, 3]);
    expect([...encodeRecord({ type: 'round', round: 5 })]).toEqual([2, 3, 5]);
    expect([...encodeRecord({ type: 'joined', round: 2, by: null })]).toEqual([2, 5, 2, 0]);
    expect([...encodeRecord(SAMPLE)]).toEqual([2, 2, 3, 2, 9, 1, 2, 1, 5, 3, 1, 2, 3, 0]);
  });
});

describe('stateRecords (what compaction writes)', () => {
  it('folds back into the same state, one record per live entry, never more records than it replaces', () => {
    fc.assert(
      fc.property(collidingRecords, (records) => {
        const acc = fold(records);
        const live = stateRecords(acc);
        expect(fold(live).snapshot()).toEqual(acc.snapshot());
        expect(live.length).toBe(stateRecordCount(acc));
        expect(live.length).toBeLessThanOrEqual(records.length);
        // Compacting the compacted log changes nothing.
        expect(fold(stateRecords(fold(live))).snapshot()).toEqual(acc.snapshot());
      }),
      { numRuns: 300 },
    );
  });

  it('keeps entries below the checkpoint that arrived after it, as the fold did', () => {
    const checkpoint: PersistRecord = {
      type: 'checkpoint',
      certificate: { slot: 10, stateDigest: new Uint8Array(32), signatures: [] },
      executedUpTo: 10,
      partCount: 0,
    };
    const late: PersistRecord = { type: 'verified', ballot: { round: 2, leader: 1 }, slot: 3, digest: new Uint8Array(32).fill(9) };
    const early: PersistRecord = { ...late, slot: 4 };
    const acc = fold([early, checkpoint, late]);
    expect([...acc.verified.keys()]).toEqual(['2/3']);
    expect(fold(stateRecords(acc)).snapshot()).toEqual(acc.snapshot());
  });

  it('a checkpoint takes the latest part of each index, so only changed parts need writing; compaction writes them all', () => {
    const part = (index: number, byte: number): PersistRecord => ({ type: 'state-part', index, part: Uint8Array.of(byte) });
    const checkpoint = (slot: number): PersistRecord => ({
      type: 'checkpoint',
      certificate: { slot, stateDigest: new Uint8Array(32).fill(slot), signatures: [] },
      executedUpTo: slot,
      partCount: 3,
    });
    const acc = fold([part(0, 1), part(1, 1), part(2, 1), checkpoint(4), part(1, 2), checkpoint(8)]);
    expect(acc.checkpoint?.certificate.slot).toBe(8);
    expect(acc.checkpoint?.parts.map((p) => p[0])).toEqual([1, 2, 1]);
    const live = stateRecords(acc);
    expect(live.map((r) => r.type)).toEqual(['state-part', 'state-part', 'state-part', 'checkpoint']);
    expect(fold(live).snapshot()).toEqual(acc.snapshot());
    expect(live.length).toBe(stateRecordCount(acc));
    for (const r of live) expect(decodeRecord(encodeRecord(r))).toEqual(r);
  });

  it('a crash-mode snapshot drops the pvalues and decisions below its logFrom, keeps its parts, and compacts to parts, snapshot, then the rest', () => {
    const batch = { commands: [] };
    const decided = (slot: number): PersistRecord => ({ type: 'decided', slot, batch });
    const accepted = (slot: number): PersistRecord => ({ type: 'accepted', pvalue: { ballot: { round: 1, leader: 0 }, slot, batch } });
    const part = (index: number, byte: number): PersistRecord => ({ type: 'state-part', index, part: Uint8Array.of(byte) });
    const records = [0, 1, 2, 3, 4, 5].flatMap((slot) => [accepted(slot), decided(slot)]);
    const acc = fold([...records, part(0, 7), part(1, 8), { type: 'snapshot', executedUpTo: 5, partCount: 2, logFrom: 3 }]);
    expect([...acc.decided.keys()]).toEqual([3, 4, 5]);
    expect([...acc.accepted.keys()]).toEqual([3, 4, 5]);
    expect(acc.snapshot().snapshot).toEqual({ executedUpTo: 5, logFrom: 3, parts: [Uint8Array.of(7), Uint8Array.of(8)] });
    const live = stateRecords(acc);
    expect(live.map((r) => r.type)).toEqual(['state-part', 'state-part', 'snapshot', 'accepted', 'accepted', 'accepted', 'decided', 'decided', 'decided']);
    expect(fold(live).snapshot()).toEqual(acc.snapshot());
    expect(live.length).toBe(stateRecordCount(acc));
    // An older snapshot record (replayed, or out of order) changes nothing.
    const again = fold([...records, part(0, 7), part(1, 8), { type: 'snapshot', executedUpTo: 5, partCount: 2, logFrom: 3 }, { type: 'snapshot', executedUpTo: 4, partCount: 2, logFrom: 4 }]);
    expect(again.snapshot()).toEqual(acc.snapshot());
  });

  it('a checkpoint whose parts were never written is refused: the log is damaged', () => {
    expect(() => fold([{ type: 'state-part', index: 0, part: Uint8Array.of(1) }, { type: 'checkpoint', certificate: { slot: 4, stateDigest: new Uint8Array(32), signatures: [] }, executedUpTo: 4, partCount: 2 }])).toThrow(/lacks state part 1/);
  });

  it('an empty state needs no records', () => {
    expect(stateRecords(new StateAccumulator())).toEqual([]);
    expect(stateRecordCount(new StateAccumulator())).toBe(0);
  });
});
