import type { Ballot } from '../../src/base/types.ts';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { commandArb, digestArb, envelopeArb, natIn, rec } from './arbitraries.ts';
import { bytesEqual, fromHex, toHex } from '../../crypto/index.ts';
import {
  BATCH_COMMANDS_MAX,
  CATCHUP_ENTRIES_MAX,
  CLIENT_ID_MAX,
  FRAME_BYTES_MAX,
  NODE_ID_MAX,
  OP_BYTES_MAX,
  PROMISE_PVALUES_MAX,
  RESULT_BYTES_MAX,
  ROUND_MAX,
  SLOT_MAX,
  STATE_PARTS_MAX,
} from '../../src/base/limits.ts';
import { NOOP, type Batch, type Command, type PValue } from '../../src/base/types.ts';
import {
  CodecError,
  WIRE_VERSION,
  batchDigest,
  decodeMessage,
  encodeBatch,
  encodeMessage,
  encodedSize,
} from '../../src/messages/codec.ts';
import { MESSAGE_TYPES, type Message, type SignedEnvelope } from '../../src/messages/types.ts';

// --- arbitraries (objects built in interface key order) --------------------------------------


const slotArb = natIn(0, SLOT_MAX);
const ballotArb: fc.Arbitrary<Ballot> = fc.oneof(
  fc.constant({ round: 0, leader: -1 }),
  rec({ round: natIn(1, ROUND_MAX), leader: natIn(0, NODE_ID_MAX) }),
);
const batchArb: fc.Arbitrary<Batch> = rec({ commands: fc.array(commandArb, { maxLength: 6 }) });
const pvalueArb: fc.Arbitrary<PValue> = rec({ ballot: ballotArb, slot: slotArb, batch: batchArb });

const envelopesArb = fc.array(envelopeArb, { maxLength: 4 });
const checkpointCertArb = rec({ slot: slotArb, stateDigest: digestArb, signatures: envelopesArb });

const messageArbs: { readonly [K in Message['type']]: fc.Arbitrary<Extract<Message, { type: K }>> } = {
  prepare: rec({ type: fc.constant('prepare'), ballot: ballotArb, fromSlot: slotArb }),
  promise: rec({
    type: fc.constant('promise'),
    ballot: ballotArb,
    fromSlot: slotArb,
    accepted: fc.array(pvalueArb, { maxLength: 4 }),
    truncated: fc.boolean(),
    decidedUpTo: slotArb,
  }),
  accept: rec({
    type: fc.constant('accept'),
    ballot: ballotArb,
    slot: slotArb,
    batch: batchArb,
    decidedUpTo: slotArb,
  }),
  accepted: rec({
    type: fc.constant('accepted'),
    ballot: ballotArb,
    slot: slotArb,
    digest: fc.uint8Array({ minLength: 32, maxLength: 32 }),
  }),
  nack: rec({ type: fc.constant('nack'), ballot: ballotArb, promised: ballotArb }),
  heartbeat: rec({ type: fc.constant('heartbeat'), ballot: ballotArb, decidedUpTo: slotArb }),
  'catchup-request': rec({ type: fc.constant('catchup-request'), fromSlot: slotArb }),
  'catchup-reply': rec({
    type: fc.constant('catchup-reply'),
    entries: fc.array(rec({ slot: slotArb, batch: batchArb }), { maxLength: 4 }),
    decidedUpTo: slotArb,
  }),
  request: rec({ type: fc.constant('request'), command: commandArb }),
  reply: rec({
    type: fc.constant('reply'),
    clientId: natIn(0, CLIENT_ID_MAX),
    session: natIn(0, Number.MAX_SAFE_INTEGER),
    seq: natIn(0, Number.MAX_SAFE_INTEGER),
    status: fc.constantFrom('ok', 'redirect', 'busy', 'evicted', 'refused'),
    result: fc.uint8Array({ maxLength: 48 }),
    leaderHint: natIn(-1, NODE_ID_MAX),
  }),
  signed: envelopeArb,
  verify: rec({ type: fc.constant('verify'), ballot: ballotArb, slot: slotArb, digest: digestArb }),
  'certified-promise': rec({
    type: fc.constant('certified-promise'),
    ballot: ballotArb,
    checkpoint: fc.option(checkpointCertArb, { nil: null }),
    prepared: fc.array(rec({ ballot: ballotArb, slot: slotArb, batch: batchArb, verifies: envelopesArb }), { maxLength: 3 }),
  }),
  'new-ballot': rec({ type: fc.constant('new-ballot'), ballot: ballotArb, promises: envelopesArb }),
  checkpoint: rec({ type: fc.constant('checkpoint'), slot: slotArb, stateDigest: digestArb }),
  'certified-catchup-reply': rec({
    type: fc.constant('certified-catchup-reply'),
    entries: fc.array(rec({ slot: slotArb, batch: batchArb, accepteds: envelopesArb }), { maxLength: 3 }),
    decidedUpTo: slotArb,
  }),
  'state-manifest': rec({ type: fc.constant('state-manifest'), checkpoint: checkpointCertArb, executedUpTo: slotArb, digests: fc.array(digestArb, { maxLength: 4 }) }),
  'state-request': rec({ type: fc.constant('state-request'), slot: slotArb, parts: fc.array(natIn(0, STATE_PARTS_MAX - 1), { maxLength: 4 }) }),
  'state-parts': rec({
    type: fc.constant('state-parts'),
    slot: slotArb,
    parts: fc.array(rec({ index: natIn(0, STATE_PARTS_MAX - 1), bytes: fc.uint8Array({ maxLength: 64 }) }), { maxLength: 3 }),
  }),
  commitment: rec({ type: fc.constant('commitment'), ballot: ballotArb, slot: slotArb, commitment: digestArb }),
  reveal: rec({ type: fc.constant('reveal'), ballot: ballotArb, slot: slotArb, digest: digestArb, key: digestArb }),
  bundle: rec({ type: fc.constant('bundle'), ballot: ballotArb, slot: slotArb, batch: batchArb, commitments: envelopesArb }),
  'reveal-request': rec({ type: fc.constant('reveal-request'), ballot: ballotArb, slot: slotArb }),
  'evidence-query': rec({ type: fc.constant('evidence-query'), ballot: ballotArb, slot: slotArb, checkpoint: fc.boolean() }),
  'evidence-share': rec({ type: fc.constant('evidence-share'), envelopes: envelopesArb }),
  suspect: rec({ type: fc.constant('suspect'), ballot: ballotArb }),
};
const messageArb: fc.Arbitrary<Message> = fc.oneof(...Object.values(messageArbs));

// --- helpers -------------------------------------------------------------------------------

/** Independent LEB128 encoder (BigInt-based) for hand-built frames. */
function varint(value: number | bigint): number[] {
  let v = BigInt(value);
  const out: number[] = [];
  while (v > 0x7fn) {
    out.push(Number(v & 0x7fn) | 0x80);
    v >>= 7n;
  }
  out.push(Number(v));
  return out;
}

function frame(...parts: (number | number[])[]): Uint8Array {
  return Uint8Array.from(parts.flat());
}

function expectCodecError(bytes: Uint8Array, message?: RegExp | string): void {
  let thrown: unknown;
  try {
    decodeMessage(bytes);
  } catch (e) {
    thrown = e;
  }
  expect(thrown).toBeInstanceOf(CodecError);
  if (message !== undefined) expect((thrown as CodecError).message).toMatch(message);
}

function expectEncodeError(msg: Message, message: RegExp | string): void {
  expect(() => encodeMessage(msg)).toThrow(CodecError);
  expect(() => encodeMessage(msg)).toThrow(message);
  expect(() => encodedSize(msg)).toThrow(message);
}

/** Key order and value kinds, recursively: the decoded shape must match the interfaces exactly. */
function shape(value: unknown): unknown {
  if (value instanceof Uint8Array) return Object.getPrototypeOf(value) === Uint8Array.prototype ? 'bytes' : 'view';
  if (Array.isArray(value)) return value.map(shape);
  if (typeof value === 'object' && value !== null) {
    return [Object.getPrototypeOf(value) === Object.prototype, Object.entries(value).map(([k, v]) => [k, shape(v)])];
  }
  return typeof value;
}

/** Decode, or undefined when the codec rejects; any other exception fails the test. */
function tryDecode(bytes: Uint8Array): Message | undefined {
  try {
    return decodeMessage(bytes);
  } catch (e) {
    expect(e).toBeInstanceOf(CodecError);
    return undefined;
  }
}

const cmd = (op: number[], clientId = 1, seq = 1): Command => ({ clientId, session: 1, seq, op: Uint8Array.from(op), signature: new Uint8Array(0) });
const ballot1: Ballot = { round: 1, leader: 0 };
/** Prepare{ballot (1,0), fromSlot 5}: version, tag, round, leader+1, fromSlot. */
const PREPARE = [WIRE_VERSION, 1, 1, 1, 5];

// --- round trip ----------------------------------------------------------------------------

describe('round trip', () => {
  it('has an arbitrary for every message type', () => {
    expect(Object.keys(messageArbs).sort()).toEqual([...MESSAGE_TYPES].sort());
  });

  it.each(MESSAGE_TYPES)('%s: decode(encode(m)) deep-equals m and re-encodes byte-identically', (type) => {
    fc.assert(
      fc.property(messageArbs[type], (msg) => {
        const bytes = encodeMessage(msg);
        expect(bytes[0]).toBe(WIRE_VERSION);
        expect(bytes.length).toBe(encodedSize(msg));
        const decoded = decodeMessage(bytes);
        expect(decoded).toStrictEqual(msg);
        expect(shape(decoded)).toEqual(shape(msg));
        expect(encodeMessage(decoded)).toEqual(bytes);
      }),
      { numRuns: 200 },
    );
  });

  it('decoded byte fields are fresh copies, even from a Buffer or an offset view', () => {
    const msg: Message = { type: 'request', command: cmd([1, 2, 3]) };
    const enc = encodeMessage(msg);
    const backing = new Uint8Array(enc.length + 10);
    backing.set(enc, 7);
    for (const input of [enc.slice(), Buffer.from(enc), backing.subarray(7, 7 + enc.length)]) {
      const decoded = decodeMessage(input);
      input.fill(0xee);
      expect(decoded).toStrictEqual(msg);
      expect(shape(decoded)).toEqual(shape(msg));
    }
  });

  it('accepts every limit exactly', () => {
    const fullOp = new Uint8Array(OP_BYTES_MAX).fill(7);
    const smallCommand = cmd([1]);
    const maxima: Message[] = [
      {
        type: 'prepare',
        ballot: { round: ROUND_MAX, leader: NODE_ID_MAX },
        fromSlot: SLOT_MAX,
      },
      { type: 'request', command: { clientId: CLIENT_ID_MAX, session: 1, seq: Number.MAX_SAFE_INTEGER, op: fullOp, signature: new Uint8Array(0) } },
      {
        type: 'reply',
        clientId: CLIENT_ID_MAX,
        session: Number.MAX_SAFE_INTEGER,
        seq: Number.MAX_SAFE_INTEGER,
        status: 'ok',
        result: new Uint8Array(RESULT_BYTES_MAX),
        leaderHint: NODE_ID_MAX,
      },
      {
        type: 'accept',
        ballot: ballot1,
        slot: 0,
        batch: { commands: Array.from({ length: BATCH_COMMANDS_MAX }, () => smallCommand) },
        decidedUpTo: 0,
      },
      {
        type: 'promise',
        ballot: ballot1,
        fromSlot: 0,
        accepted: Array.from({ length: PROMISE_PVALUES_MAX }, (_, slot) => ({
          ballot: ballot1,
          slot,
          batch: { commands: [smallCommand] },
        })),
        truncated: true,
        decidedUpTo: 0,
      },
      {
        type: 'catchup-reply',
        entries: Array.from({ length: CATCHUP_ENTRIES_MAX }, (_, slot) => ({ slot, batch: { commands: [] } })),
        decidedUpTo: CATCHUP_ENTRIES_MAX,
      },
    ];
    for (const msg of maxima) expect(decodeMessage(encodeMessage(msg))).toStrictEqual(msg);
  });

  it('produces the documented layout', () => {
    expect(encodeMessage({ type: 'prepare', ballot: ballot1, fromSlot: 5 })).toEqual(frame(PREPARE));
    const nack: Message = { type: 'nack', ballot: { round: 300, leader: 2 }, promised: { round: 0, leader: -1 } };
    expect(encodeMessage(nack)).toEqual(frame(WIRE_VERSION, 5, varint(300), 3, 0, 0));
  });
});

// --- golden vectors ------------------------------------------------------------------------

// Fixed encodings pin the wire format itself: a change here breaks every deployed peer.
describe('golden vectors', () => {
  const bottom: Ballot = { round: 0, leader: -1 };
  const batch: Batch = { commands: [cmd([0xde, 0xad], 7, 300), cmd([], 128, 0)] };
  const noop: Batch = { commands: [] };
  const none = new Uint8Array(0);
  const b21: Ballot = { round: 2, leader: 1 };
  const down = Uint8Array.from({ length: 32 }, (_, i) => 255 - i);
  const envelope: SignedEnvelope = {
    type: 'signed',
    signer: 2,
    payload: Uint8Array.of(1, 12),
    signature: Uint8Array.from({ length: 64 }, (_, i) => i),
  };
  const checkpointCert = { slot: 16, stateDigest: down, signatures: [envelope] };
  const vectors: [string, Message, string][] = [
    ['prepare', { type: 'prepare', ballot: ballot1, fromSlot: 5 }, '0201010105'],
    [
      'prepare at the limits',
      { type: 'prepare', ballot: { round: ROUND_MAX, leader: NODE_ID_MAX }, fromSlot: SLOT_MAX },
      '02018080808080208002808080808020',
    ],
    [
      'empty promise',
      { type: 'promise', ballot: bottom, fromSlot: 0, accepted: [], truncated: false, decidedUpTo: 0 },
      '0202000000000000',
    ],
    [
      'promise with pvalues',
      {
        type: 'promise',
        ballot: { round: 300, leader: 2 },
        fromSlot: 128,
        accepted: [
          { ballot: ballot1, slot: 128, batch },
          { ballot: { round: 2, leader: 1 }, slot: 129, batch: noop },
        ],
        truncated: true,
        decidedUpTo: 127,
      },
      '0202ac020380010201018001020701ac0202dead008001010000000202810100017f',
    ],
    [
      'accept',
      { type: 'accept', ballot: { round: 3, leader: 1 }, slot: 16384, batch, decidedUpTo: 16383 },
      '02030302808001020701ac0202dead00800101000000ff7f',
    ],
    ['accept of the no-op', { type: 'accept', ballot: ballot1, slot: 0, batch: noop, decidedUpTo: 0 }, '02030101000000'],
    [
      'accepted',
      { type: 'accepted', ballot: { round: 9, leader: 4 }, slot: 42, digest: Uint8Array.from({ length: 32 }, (_, i) => i) },
      '020409052a000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f',
    ],
    ['nack', { type: 'nack', ballot: { round: 300, leader: 2 }, promised: bottom }, '0205ac02030000'],
    ['heartbeat', { type: 'heartbeat', ballot: { round: 5, leader: 3 }, decidedUpTo: 1000 }, '02060504e807'],
    ['catchup-request', { type: 'catchup-request', fromSlot: 128 }, '02078001'],
    ['empty catchup-reply', { type: 'catchup-reply', entries: [], decidedUpTo: 0 }, '02080000'],
    [
      'catchup-reply',
      { type: 'catchup-reply', entries: [{ slot: 10, batch }, { slot: 11, batch: noop }], decidedUpTo: 12 },
      '0208020a020701ac0202dead008001010000000b000c',
    ],
    [
      'request',
      { type: 'request', command: cmd([1, 2, 3], CLIENT_ID_MAX, Number.MAX_SAFE_INTEGER) },
      '0209ffffffff0f01ffffffffffffff0f0301020300',
    ],
    [
      'ok reply',
      { type: 'reply', clientId: 7, session: 1, seq: 300, status: 'ok', result: Uint8Array.from([0xca, 0xfe]), leaderHint: 0 },
      '020a0701ac020002cafe01',
    ],
    [
      'redirect reply',
      { type: 'reply', clientId: 7, session: 1, seq: 301, status: 'redirect', result: none, leaderHint: NODE_ID_MAX },
      '020a0701ad0201008002',
    ],
    [
      'busy reply',
      { type: 'reply', clientId: 0, session: 1, seq: 0, status: 'busy', result: none, leaderHint: -1 },
      '020a000100020000',
    ],
    ['signed', envelope, '020b0202010c40000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f202122232425262728292a2b2c2d2e2f303132333435363738393a3b3c3d3e3f'],
    ['verify', { type: 'verify', ballot: b21, slot: 7, digest: down }, '020c020207fffefdfcfbfaf9f8f7f6f5f4f3f2f1f0efeeedecebeae9e8e7e6e5e4e3e2e1e0'],
    [
      'certified-promise without checkpoint',
      { type: 'certified-promise', ballot: b21, checkpoint: null, prepared: [] },
      '020d02020000',
    ],
    [
      'certified-promise',
      {
        type: 'certified-promise',
        ballot: b21,
        checkpoint: checkpointCert,
        prepared: [{ ballot: { round: 1, leader: 0 }, slot: 17, batch: noop, verifies: [envelope] }],
      },
      '020d02020110fffefdfcfbfaf9f8f7f6f5f4f3f2f1f0efeeedecebeae9e8e7e6e5e4e3e2e1e0010202010c40000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f202122232425262728292a2b2c2d2e2f303132333435363738393a3b3c3d3e3f0101011100010202010c40000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f202122232425262728292a2b2c2d2e2f303132333435363738393a3b3c3d3e3f',
    ],
    ['new-ballot', { type: 'new-ballot', ballot: b21, promises: [envelope] }, '020e0202010202010c40000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f202122232425262728292a2b2c2d2e2f303132333435363738393a3b3c3d3e3f'],
    ['checkpoint', { type: 'checkpoint', slot: 16, stateDigest: down }, '020f10fffefdfcfbfaf9f8f7f6f5f4f3f2f1f0efeeedecebeae9e8e7e6e5e4e3e2e1e0'],
    [
      'certified-catchup-reply',
      { type: 'certified-catchup-reply', entries: [{ slot: 3, batch: noop, accepteds: [envelope] }], decidedUpTo: 4 },
      '0210010300010202010c40000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f202122232425262728292a2b2c2d2e2f303132333435363738393a3b3c3d3e3f04',
    ],
    [
      'state-manifest',
      { type: 'state-manifest', checkpoint: checkpointCert, executedUpTo: 16, digests: [down] },
      '021b10fffefdfcfbfaf9f8f7f6f5f4f3f2f1f0efeeedecebeae9e8e7e6e5e4e3e2e1e0010202010c40000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f202122232425262728292a2b2c2d2e2f303132333435363738393a3b3c3d3e3f1001fffefdfcfbfaf9f8f7f6f5f4f3f2f1f0efeeedecebeae9e8e7e6e5e4e3e2e1e0',
    ],
    ['state-request', { type: 'state-request', slot: 16, parts: [0, 300] }, '021c100200ac02'],
    ['state-parts', { type: 'state-parts', slot: 16, parts: [{ index: 300, bytes: Uint8Array.of(9, 9) }] }, '021d1001ac02020909'],
    ['commitment', { type: 'commitment', ballot: b21, slot: 7, commitment: down }, '0212020207fffefdfcfbfaf9f8f7f6f5f4f3f2f1f0efeeedecebeae9e8e7e6e5e4e3e2e1e0'],
    ['reveal', { type: 'reveal', ballot: b21, slot: 7, digest: down, key: Uint8Array.from({ length: 32 }, (_, i) => i * 3) }, '0213020207fffefdfcfbfaf9f8f7f6f5f4f3f2f1f0efeeedecebeae9e8e7e6e5e4e3e2e1e0000306090c0f1215181b1e2124272a2d303336393c3f4245484b4e5154575a5d'],
    ['bundle', { type: 'bundle', ballot: b21, slot: 7, batch: noop, commitments: [envelope] }, '021402020700010202010c40000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f202122232425262728292a2b2c2d2e2f303132333435363738393a3b3c3d3e3f'],
    ['reveal-request', { type: 'reveal-request', ballot: b21, slot: 7 }, '0215020207'],
    ['evidence-query', { type: 'evidence-query', ballot: b21, slot: 7, checkpoint: true }, '021602020701'],
    ['evidence-share', { type: 'evidence-share', envelopes: [envelope] }, '0217010202010c40000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f202122232425262728292a2b2c2d2e2f303132333435363738393a3b3c3d3e3f'],
    ['suspect', { type: 'suspect', ballot: b21 }, '021a0202'],
  ];

  it('cover every message type', () => {
    expect(new Set(vectors.map(([, msg]) => msg.type))).toEqual(new Set(MESSAGE_TYPES));
  });

  it.each(vectors)('%s', (_, msg, hex) => {
    expect(toHex(encodeMessage(msg))).toBe(hex);
    expect(decodeMessage(fromHex(hex))).toStrictEqual(msg);
  });

  it('batch encoding and digest', () => {
    expect(toHex(encodeBatch(batch))).toBe('020701ac0202dead00800101000000');
    expect(toHex(batchDigest(batch))).toBe('179b9abf38a6e40f16bf342a33763f8236006248a6b931c93f76997b5a9c29f4');
  });
});

// --- decode rejections ---------------------------------------------------------------------

describe('decode rejects', () => {
  it('every strict prefix of a valid encoding', () => {
    fc.assert(
      fc.property(messageArb, (msg) => {
        const bytes = encodeMessage(msg);
        for (let n = 0; n < bytes.length; n++) expectCodecError(bytes.subarray(0, n));
      }),
      { numRuns: 150 },
    );
  });

  it('a trailing byte', () => {
    fc.assert(
      fc.property(messageArb, fc.integer({ min: 0, max: 255 }), (msg, extra) => {
        const bytes = encodeMessage(msg);
        expectCodecError(frame([...bytes], extra), /trailing byte/);
      }),
    );
  });

  it('an empty or one-byte frame', () => {
    expectCodecError(new Uint8Array(0), /^frame: truncated/);
    expectCodecError(frame(WIRE_VERSION), /^frame: truncated/);
  });

  it('a wrong wire version', () => {
    for (const version of [0, 1, 3, 255]) {
      expectCodecError(frame(version, PREPARE.slice(1)), `frame: wire version ${version} unsupported`);
    }
  });

  it('an unknown tag', () => {
    for (const tag of [0, 24, 0x80, 255]) {
      expectCodecError(frame(WIRE_VERSION, tag, PREPARE.slice(2)), `frame: unknown message tag ${tag}`);
    }
  });

  it('a non-minimal varint', () => {
    expectCodecError(frame(PREPARE.slice(0, 4), 0x85, 0x00), 'prepare.fromSlot: non-minimal varint');
    expectCodecError(frame(PREPARE.slice(0, 4), 0x80, 0x80, 0x00), 'prepare.fromSlot: non-minimal varint');
    expectCodecError(frame(WIRE_VERSION, 1, 0x81, 0x00, 1, 5), 'prepare.ballot.round: non-minimal varint');
  });

  it('an over-long or unsafe varint', () => {
    const nineBytes = frame(PREPARE.slice(0, 4), Array(8).fill(0xff), 0x01);
    expectCodecError(nineBytes, 'prepare.fromSlot: varint longer than 8 bytes');
    for (const big of [2n ** 53n, 2n ** 56n - 1n]) {
      expectCodecError(frame(WIRE_VERSION, 9, varint(1), varint(big), 0), 'request.command.session: varint exceeds MAX_SAFE_INTEGER');
      expectCodecError(frame(WIRE_VERSION, 9, varint(1), 1, varint(big), 0), 'request.command.seq: varint exceeds MAX_SAFE_INTEGER');
    }
  });

  it('an out-of-range node id', () => {
    expectCodecError(
      frame(WIRE_VERSION, 1, 1, varint(NODE_ID_MAX + 2), 5),
      `prepare.ballot.leader: node id ${NODE_ID_MAX + 1} exceeds NODE_ID_MAX ${NODE_ID_MAX}`,
    );
    const reply = (hint: number) => frame(WIRE_VERSION, 10, 1, 1, 1, 0, 0, varint(hint));
    expect(decodeMessage(reply(NODE_ID_MAX + 1))).toMatchObject({ leaderHint: NODE_ID_MAX });
    expectCodecError(reply(NODE_ID_MAX + 2), 'reply.leaderHint: node id 256 exceeds NODE_ID_MAX 255');
  });

  it('an out-of-range round, slot, or client id', () => {
    expectCodecError(
      frame(WIRE_VERSION, 1, varint(ROUND_MAX + 1), 1, 5),
      `prepare.ballot.round: value ${ROUND_MAX + 1} exceeds ROUND_MAX ${ROUND_MAX}`,
    );
    expectCodecError(
      frame(WIRE_VERSION, 7, varint(SLOT_MAX + 1)),
      `catchup-request.fromSlot: value ${SLOT_MAX + 1} exceeds SLOT_MAX`,
    );
    expectCodecError(
      frame(WIRE_VERSION, 9, varint(CLIENT_ID_MAX + 1), 1, 0),
      'request.command.clientId: value 4294967296 exceeds CLIENT_ID_MAX',
    );
  });

  it('a ballot mixing BOTTOM and a real ballot', () => {
    expectCodecError(frame(WIRE_VERSION, 1, 0, 4, 5), /^prepare\.ballot\.leader: leader 3 with round 0/);
    expectCodecError(frame(WIRE_VERSION, 1, 7, 0, 5), /^prepare\.ballot\.leader: leader -1 with round 7/);
  });

  it('an oversize batch, promise, catch-up reply, op, or result', () => {
    expectCodecError(
      frame(WIRE_VERSION, 3, 1, 1, 0, varint(300)),
      'accept.batch.commands: count 300 exceeds BATCH_COMMANDS_MAX 256',
    );
    expectCodecError(
      frame(WIRE_VERSION, 2, 1, 1, 0, varint(PROMISE_PVALUES_MAX + 1)),
      `promise.accepted: count ${PROMISE_PVALUES_MAX + 1} exceeds PROMISE_PVALUES_MAX`,
    );
    expectCodecError(
      frame(WIRE_VERSION, 8, varint(CATCHUP_ENTRIES_MAX + 1)),
      `catchup-reply.entries: count ${CATCHUP_ENTRIES_MAX + 1} exceeds CATCHUP_ENTRIES_MAX`,
    );
    expectCodecError(
      frame(WIRE_VERSION, 9, 1, 1, 1, varint(OP_BYTES_MAX + 1), new Array(OP_BYTES_MAX + 1).fill(0)),
      `request.command.op: length ${OP_BYTES_MAX + 1} exceeds OP_BYTES_MAX`,
    );
    expectCodecError(
      frame(WIRE_VERSION, 10, 1, 1, 1, 0, varint(RESULT_BYTES_MAX + 1)),
      `reply.result: length ${RESULT_BYTES_MAX + 1} exceeds RESULT_BYTES_MAX`,
    );
    expectCodecError(
      new Uint8Array(FRAME_BYTES_MAX + 1),
      `frame: length ${FRAME_BYTES_MAX + 1} exceeds FRAME_BYTES_MAX`,
    );
  });

  it('a bad boolean', () => {
    // promise: ballot (1,0), fromSlot 0, no pvalues, truncated, decidedUpTo 0
    expect(decodeMessage(frame(WIRE_VERSION, 2, 1, 1, 0, 0, 1, 0))).toMatchObject({ truncated: true });
    expectCodecError(frame(WIRE_VERSION, 2, 1, 1, 0, 0, 2, 0), 'promise.truncated: boolean byte 2, expected 0 or 1');
  });

  it('an unknown reply status', () => {
    expectCodecError(frame(WIRE_VERSION, 10, 1, 1, 1, 5, 0, 0), 'reply.status: unknown status tag 5');
  });

  it('a digest of the wrong length', () => {
    const head = [WIRE_VERSION, 4, 1, 1, 0];
    expect(decodeMessage(frame(head, new Array(32).fill(9)))).toMatchObject({ digest: new Uint8Array(32).fill(9) });
    expectCodecError(frame(head, new Array(31).fill(9)), 'accepted.digest: truncated (need 32 bytes, have 31)');
    expectCodecError(frame(head, new Array(33).fill(9)), 'accepted: 1 trailing byte(s) after message');
  });

  it('random garbage only with CodecError, and whatever decodes is canonical', () => {
    const garbage = fc.oneof(
      fc.uint8Array({ maxLength: 64 }),
      // A valid version and tag reach the field decoders.
      fc
        .tuple(fc.integer({ min: 0, max: 11 }), fc.uint8Array({ maxLength: 96 }))
        .map(([tag, rest]) => frame(WIRE_VERSION, tag, [...rest])),
    );
    fc.assert(
      fc.property(garbage, (bytes) => {
        const msg = tryDecode(bytes);
        if (msg !== undefined) expect(encodeMessage(msg)).toEqual(bytes);
      }),
      { numRuns: 5000 },
    );
  });

  it('mutated valid frames only with CodecError, and whatever decodes is canonical', () => {
    fc.assert(
      fc.property(messageArb, fc.nat(), fc.integer({ min: 0, max: 255 }), (msg, at, value) => {
        const bytes = encodeMessage(msg);
        bytes[at % bytes.length] = value;
        const decoded = tryDecode(bytes);
        if (decoded !== undefined) expect(encodeMessage(decoded)).toEqual(bytes);
      }),
      { numRuns: 3000 },
    );
  });
});

// --- encode rejections ---------------------------------------------------------------------

describe('encode rejects', () => {
  const accept = (batch: Batch, slot = 0): Message => ({ type: 'accept', ballot: ballot1, slot, batch, decidedUpTo: 0 });
  const emptyResult = new Uint8Array(0);
  const cases: [string, Message, RegExp | string][] = [
    [
      'too many commands',
      accept({ commands: Array.from({ length: BATCH_COMMANDS_MAX + 1 }, () => cmd([1])) }),
      'accept.batch.commands: count 257 exceeds BATCH_COMMANDS_MAX 256',
    ],
    [
      'oversize op',
      accept({ commands: [{ clientId: 1, session: 1, seq: 1, op: new Uint8Array(OP_BYTES_MAX + 1), signature: new Uint8Array(0) }] }),
      /^accept\.batch\.commands\.op: length 4097 exceeds OP_BYTES_MAX/,
    ],
    ['slot above SLOT_MAX', accept(NOOP, SLOT_MAX + 1), /^accept\.slot: value \d+ exceeds SLOT_MAX/],
    ['fractional slot', accept(NOOP, 1.5), 'accept.slot: 1.5 is not a non-negative safe integer'],
    ['negative slot', accept(NOOP, -1), 'accept.slot: -1 is not a non-negative safe integer'],
    ['NaN slot', accept(NOOP, Number.NaN), 'accept.slot: NaN is not a non-negative safe integer'],
    [
      'client id above CLIENT_ID_MAX',
      accept({ commands: [cmd([1], CLIENT_ID_MAX + 1)] }),
      /^accept\.batch\.commands\.clientId: value 4294967296 exceeds CLIENT_ID_MAX/,
    ],
    [
      'unsafe seq',
      accept({ commands: [cmd([1], 1, 2 ** 53)] }),
      'accept.batch.commands.seq: 9007199254740992 is not a non-negative safe integer',
    ],
    [
      'leader above NODE_ID_MAX',
      { type: 'prepare', ballot: { round: 1, leader: NODE_ID_MAX + 1 }, fromSlot: 0 },
      /^prepare\.ballot\.leader: node id 256 is not an integer/,
    ],
    [
      'round above ROUND_MAX',
      { type: 'prepare', ballot: { round: ROUND_MAX + 1, leader: 0 }, fromSlot: 0 },
      /^prepare\.ballot\.round: value \d+ exceeds ROUND_MAX/,
    ],
    [
      'round 0 with a leader',
      { type: 'prepare', ballot: { round: 0, leader: 1 }, fromSlot: 0 },
      /^prepare\.ballot\.leader: leader 1 with round 0/,
    ],
    [
      'leader -1 with a round',
      { type: 'nack', ballot: ballot1, promised: { round: 2, leader: -1 } },
      /^nack\.promised\.leader: leader -1 with round 2/,
    ],
    [
      'short digest',
      { type: 'accepted', ballot: ballot1, slot: 0, digest: new Uint8Array(31) },
      'accepted.digest: length 31, expected 32',
    ],
    [
      'leader hint below -1',
      { type: 'reply', clientId: 1, session: 1, seq: 1, status: 'ok', result: emptyResult, leaderHint: -2 },
      /^reply\.leaderHint: node id -2 is not an integer/,
    ],
    [
      'unknown status',
      { type: 'reply', clientId: 1, session: 1, seq: 1, status: 'maybe' as 'ok', result: emptyResult, leaderHint: -1 },
      'reply.status: unknown status "maybe"',
    ],
    ['unknown type', { type: 'bogus' } as unknown as Message, 'message: unknown type "bogus"'],
  ];

  it.each(cases)('%s', (_, msg, message) => expectEncodeError(msg, message));

  it('frames over FRAME_BYTES_MAX, before allocating them', () => {
    const bigBatch: Batch = { commands: [{ clientId: 1, session: 1, seq: 1, op: new Uint8Array(OP_BYTES_MAX), signature: new Uint8Array(0) }] };
    const msg: Message = {
      type: 'promise',
      ballot: ballot1,
      fromSlot: 0,
      accepted: Array.from({ length: 300 }, (_, slot) => ({ ballot: ballot1, slot, batch: bigBatch })),
      truncated: false,
      decidedUpTo: 0,
    };
    expectEncodeError(msg, /^frame: length \d+ exceeds FRAME_BYTES_MAX 1048576$/);
  });
});

// --- batches -------------------------------------------------------------------------------

describe('encodeBatch / batchDigest', () => {
  it('encodeBatch is the batch as embedded in an Accept', () => {
    fc.assert(
      fc.property(batchArb, (batch) => {
        const accept = encodeMessage({ type: 'accept', ballot: ballot1, slot: 0, batch, decidedUpTo: 0 });
        const body = encodeBatch(batch);
        // version, tag, round 1, leader+1 1, slot 0 | batch | decidedUpTo 0
        expect(accept.subarray(5, 5 + body.length)).toEqual(body);
        expect(accept.length).toBe(5 + body.length + 1);
      }),
    );
  });

  it('equal batches have equal digests; a one-byte op change changes it', () => {
    fc.assert(
      fc.property(
        rec({ commands: fc.array(commandArb, { minLength: 1, maxLength: 6 }) }),
        fc.nat(),
        fc.nat(),
        (batch, which, at) => {
          const copy: Batch = { commands: batch.commands.map((c) => ({ ...c, op: c.op.slice() })) };
          expect(batchDigest(copy)).toEqual(batchDigest(batch));
          expect(batchDigest(batch).length).toBe(32);
          const withOp = batch.commands.filter((c) => c.op.length > 0);
          fc.pre(withOp.length > 0);
          const target = withOp[which % withOp.length]!;
          const i = at % target.op.length;
          const changed: Batch = {
            commands: batch.commands.map((c) => {
              if (c !== target) return c;
              const op = c.op.slice();
              op[i] ^= 1;
              return { ...c, op };
            }),
          };
          expect(bytesEqual(batchDigest(changed), batchDigest(batch))).toBe(false);
        },
      ),
    );
  });

  it('separates op boundaries, command order, and the no-op', () => {
    const d = (...ops: number[][]) => batchDigest({ commands: ops.map((op) => cmd(op)) });
    expect(bytesEqual(d([1, 2], [3]), d([1], [2, 3]))).toBe(false);
    expect(bytesEqual(d([1], [2]), d([2], [1]))).toBe(false);
    expect(bytesEqual(d(), d([]))).toBe(false);
    expect(d()).toEqual(batchDigest(NOOP));
  });

  it('rejects an invalid batch', () => {
    expect(() => encodeBatch({ commands: [cmd([1], -1)] })).toThrow(
      'batch.commands.clientId: -1 is not a non-negative safe integer',
    );
    const tooMany: Batch = { commands: Array.from({ length: BATCH_COMMANDS_MAX + 1 }, () => cmd([])) };
    expect(() => batchDigest(tooMany)).toThrow(CodecError);
  });
});

describe('CodecError', () => {
  it('is a named Error', () => {
    const e = new CodecError('x');
    expect(e).toBeInstanceOf(Error);
    expect(e.name).toBe('CodecError');
  });
});
