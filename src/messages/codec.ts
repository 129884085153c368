// Canonical, versioned, strict binary wire format for every Message.
//
// Frame: [WIRE_VERSION][type tag][fields in interface order]. Unsigned integers are minimal
// LEB128 varints, byte strings are varint-length-prefixed, digests are raw 32 bytes, booleans and
// reply statuses are one byte. Every message has exactly one encoding: decode rejects anything
// encode could not have produced, so equal bytes <=> equal messages and digests over encodings
// are meaningful.
//
// Encoding runs two passes: a validating size pass (also `encodedSize`) that rejects oversize
// frames before allocating anything, then an unchecked write into an exactly sized buffer.
import { DIGEST_BYTES, domainDigest } from '../../crypto/index.ts';
import type { Ballot } from '../core/ballot.ts';
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
} from '../core/limits.ts';
import type { Batch, Command, PValue } from '../core/types.ts';
import type {
  Accept,
  Accepted,
  CatchupReply,
  ClientReply,
  DecidedEntry,
  Message,
  Promise1b,
  ReplyStatus,
} from './types.ts';

export const WIRE_VERSION = 1;

/** Domain of batchDigest; bump the version with any change to encodeBatch. */
const BATCH_DIGEST_DOMAIN = 'byzpaxos/batch/v1';

export class CodecError extends Error {
  override readonly name = 'CodecError';
}

// Tags are part of the wire format: never renumber, only append.
const TAG_PREPARE = 1;
const TAG_PROMISE = 2;
const TAG_ACCEPT = 3;
const TAG_ACCEPTED = 4;
const TAG_NACK = 5;
const TAG_HEARTBEAT = 6;
const TAG_CATCHUP_REQUEST = 7;
const TAG_CATCHUP_REPLY = 8;
const TAG_REQUEST = 9;
const TAG_REPLY = 10;

const STATUS_OK = 0;
const STATUS_REDIRECT = 1;
const STATUS_BUSY = 2;

/** ceil(53 / 7): a safe integer never needs more varint bytes. */
const VARINT_BYTES_MAX = 8;

/** An upper bound on a decoded integer, named for error messages. */
interface Bound {
  readonly max: number;
  readonly name: string;
  readonly what: 'value' | 'count' | 'length';
}

const ROUND: Bound = { max: ROUND_MAX, name: 'ROUND_MAX', what: 'value' };
const SLOT: Bound = { max: SLOT_MAX, name: 'SLOT_MAX', what: 'value' };
const CLIENT_ID: Bound = { max: CLIENT_ID_MAX, name: 'CLIENT_ID_MAX', what: 'value' };
// limits.ts has no sequence-number bound; the varint's own limit is the only one.
const SEQ: Bound = { max: Number.MAX_SAFE_INTEGER, name: 'MAX_SAFE_INTEGER', what: 'value' };
const OP_LENGTH: Bound = { max: OP_BYTES_MAX, name: 'OP_BYTES_MAX', what: 'length' };
const RESULT_LENGTH: Bound = { max: RESULT_BYTES_MAX, name: 'RESULT_BYTES_MAX', what: 'length' };
const COMMANDS: Bound = { max: BATCH_COMMANDS_MAX, name: 'BATCH_COMMANDS_MAX', what: 'count' };
const PVALUES: Bound = { max: PROMISE_PVALUES_MAX, name: 'PROMISE_PVALUES_MAX', what: 'count' };
const ENTRIES: Bound = { max: CATCHUP_ENTRIES_MAX, name: 'CATCHUP_ENTRIES_MAX', what: 'count' };

// Paths are passed as (where, field) literals and joined only when failing, keeping the hot
// path free of string building.
function fail(where: string, field: string, detail: string): never {
  throw new CodecError(`${where}.${field}: ${detail}`);
}

function varintSize(value: number): number {
  let size = 1;
  while (value > 0x7f) {
    value = Math.floor(value / 128);
    size++;
  }
  return size;
}

// ---------------------------------------------------------------------------------------------
// Size pass: validates everything the write pass relies on.

function uintSize(value: number, bound: Bound, where: string, field: string): number {
  if (!Number.isSafeInteger(value) || value < 0) {
    fail(where, field, `${value} is not a non-negative safe integer`);
  }
  if (value > bound.max) fail(where, field, `${bound.what} ${value} exceeds ${bound.name} ${bound.max}`);
  return varintSize(value);
}

/** Node ids that may be -1 ("none") travel as id + 1. */
function nodeIdOrNoneSize(id: number, where: string, field: string): number {
  if (!Number.isInteger(id) || id < -1 || id > NODE_ID_MAX) {
    fail(where, field, `node id ${id} is not an integer in [-1, NODE_ID_MAX ${NODE_ID_MAX}]`);
  }
  return varintSize(id + 1);
}

function checkBallotShape(round: number, leader: number, where: string): void {
  // Only BOTTOM may have round 0 or leader -1, so isBottom and ballotEquals(BOTTOM) agree.
  if ((round === 0) !== (leader === -1)) {
    fail(where, 'leader', `leader ${leader} with round ${round}: round 0 and leader -1 occur only together, as BOTTOM`);
  }
}

function ballotSize(ballot: Ballot, where: string): number {
  const size =
    uintSize(ballot.round, ROUND, where, 'round') + nodeIdOrNoneSize(ballot.leader, where, 'leader');
  checkBallotShape(ballot.round, ballot.leader, where);
  return size;
}

function bytesSize(bytes: Uint8Array, bound: Bound, where: string, field: string): number {
  return uintSize(bytes.length, bound, where, field) + bytes.length;
}

function batchSize(batch: Batch, where: string): number {
  const commands = batch.commands;
  let size = uintSize(commands.length, COMMANDS, where, 'commands');
  for (let i = 0; i < commands.length; i++) {
    const command = commands[i];
    size +=
      uintSize(command.clientId, CLIENT_ID, where, 'commands.clientId') +
      uintSize(command.seq, SEQ, where, 'commands.seq') +
      bytesSize(command.op, OP_LENGTH, where, 'commands.op');
  }
  return size;
}

function bodySize(msg: Message): number {
  switch (msg.type) {
    case 'prepare':
      return ballotSize(msg.ballot, 'prepare.ballot') + uintSize(msg.fromSlot, SLOT, 'prepare', 'fromSlot');
    case 'promise': {
      const accepted = msg.accepted;
      let size =
        ballotSize(msg.ballot, 'promise.ballot') +
        uintSize(msg.fromSlot, SLOT, 'promise', 'fromSlot') +
        uintSize(accepted.length, PVALUES, 'promise', 'accepted');
      for (let i = 0; i < accepted.length; i++) {
        const pvalue = accepted[i];
        size +=
          ballotSize(pvalue.ballot, 'promise.accepted.ballot') +
          uintSize(pvalue.slot, SLOT, 'promise.accepted', 'slot') +
          batchSize(pvalue.batch, 'promise.accepted.batch');
      }
      return size + 1 + uintSize(msg.decidedUpTo, SLOT, 'promise', 'decidedUpTo');
    }
    case 'accept':
      return (
        ballotSize(msg.ballot, 'accept.ballot') +
        uintSize(msg.slot, SLOT, 'accept', 'slot') +
        batchSize(msg.batch, 'accept.batch') +
        uintSize(msg.decidedUpTo, SLOT, 'accept', 'decidedUpTo')
      );
    case 'accepted':
      if (msg.digest.length !== DIGEST_BYTES) {
        fail('accepted', 'digest', `length ${msg.digest.length}, expected ${DIGEST_BYTES}`);
      }
      return ballotSize(msg.ballot, 'accepted.ballot') + uintSize(msg.slot, SLOT, 'accepted', 'slot') + DIGEST_BYTES;
    case 'nack':
      return ballotSize(msg.ballot, 'nack.ballot') + ballotSize(msg.promised, 'nack.promised');
    case 'heartbeat':
      return ballotSize(msg.ballot, 'heartbeat.ballot') + uintSize(msg.decidedUpTo, SLOT, 'heartbeat', 'decidedUpTo');
    case 'catchup-request':
      return uintSize(msg.fromSlot, SLOT, 'catchup-request', 'fromSlot');
    case 'catchup-reply': {
      const entries = msg.entries;
      let size = uintSize(entries.length, ENTRIES, 'catchup-reply', 'entries');
      for (let i = 0; i < entries.length; i++) {
        const entry = entries[i];
        size +=
          uintSize(entry.slot, SLOT, 'catchup-reply.entries', 'slot') +
          batchSize(entry.batch, 'catchup-reply.entries.batch');
      }
      return size + uintSize(msg.decidedUpTo, SLOT, 'catchup-reply', 'decidedUpTo');
    }
    case 'request': {
      const command = msg.command;
      return (
        uintSize(command.clientId, CLIENT_ID, 'request.command', 'clientId') +
        uintSize(command.seq, SEQ, 'request.command', 'seq') +
        bytesSize(command.op, OP_LENGTH, 'request.command', 'op')
      );
    }
    case 'reply':
      statusTag(msg.status);
      return (
        uintSize(msg.clientId, CLIENT_ID, 'reply', 'clientId') +
        uintSize(msg.seq, SEQ, 'reply', 'seq') +
        1 +
        bytesSize(msg.result, RESULT_LENGTH, 'reply', 'result') +
        nodeIdOrNoneSize(msg.leaderHint, 'reply', 'leaderHint')
      );
    default:
      return unknownType(msg);
  }
}

function unknownType(msg: never): never {
  throw new CodecError(`message: unknown type ${JSON.stringify((msg as { type: unknown }).type)}`);
}

function statusTag(status: ReplyStatus): number {
  switch (status) {
    case 'ok':
      return STATUS_OK;
    case 'redirect':
      return STATUS_REDIRECT;
    case 'busy':
      return STATUS_BUSY;
    default:
      return fail('reply', 'status', `unknown status ${JSON.stringify(status)}`);
  }
}

function checkFrameSize(size: number, what: string): void {
  if (size > FRAME_BYTES_MAX) {
    throw new CodecError(`${what}: length ${size} exceeds FRAME_BYTES_MAX ${FRAME_BYTES_MAX}`);
  }
}

/** Exact length of encodeMessage(msg), without encoding; throws CodecError exactly when encodeMessage would. */
export function encodedSize(msg: Message): number {
  const size = 2 + bodySize(msg);
  checkFrameSize(size, 'frame');
  return size;
}

// ---------------------------------------------------------------------------------------------
// Write pass: input already validated and buffer exactly sized, so no checks here.

class Writer {
  readonly buf: Uint8Array;
  pos = 0;

  constructor(size: number) {
    this.buf = new Uint8Array(size);
  }

  byte(value: number): void {
    this.buf[this.pos++] = value;
  }

  uint(value: number): void {
    const buf = this.buf;
    let pos = this.pos;
    while (value > 0x7f) {
      // `& 0x7f` is exact above 2^32 too: ToInt32 reduces modulo 2^32, keeping the low bits.
      buf[pos++] = (value & 0x7f) | 0x80;
      value = Math.floor(value / 128);
    }
    buf[pos++] = value;
    this.pos = pos;
  }

  raw(bytes: Uint8Array): void {
    this.buf.set(bytes, this.pos);
    this.pos += bytes.length;
  }

  bytes(bytes: Uint8Array): void {
    this.uint(bytes.length);
    this.raw(bytes);
  }

  ballot(ballot: Ballot): void {
    this.uint(ballot.round);
    this.uint(ballot.leader + 1);
  }

  batch(batch: Batch): void {
    const commands = batch.commands;
    this.uint(commands.length);
    for (let i = 0; i < commands.length; i++) this.command(commands[i]);
  }

  command(command: Command): void {
    this.uint(command.clientId);
    this.uint(command.seq);
    this.bytes(command.op);
  }
}

function writeBody(w: Writer, msg: Message): void {
  switch (msg.type) {
    case 'prepare':
      w.byte(TAG_PREPARE);
      w.ballot(msg.ballot);
      w.uint(msg.fromSlot);
      return;
    case 'promise':
      w.byte(TAG_PROMISE);
      w.ballot(msg.ballot);
      w.uint(msg.fromSlot);
      w.uint(msg.accepted.length);
      for (const pvalue of msg.accepted) {
        w.ballot(pvalue.ballot);
        w.uint(pvalue.slot);
        w.batch(pvalue.batch);
      }
      w.byte(msg.truncated ? 1 : 0);
      w.uint(msg.decidedUpTo);
      return;
    case 'accept':
      w.byte(TAG_ACCEPT);
      w.ballot(msg.ballot);
      w.uint(msg.slot);
      w.batch(msg.batch);
      w.uint(msg.decidedUpTo);
      return;
    case 'accepted':
      w.byte(TAG_ACCEPTED);
      w.ballot(msg.ballot);
      w.uint(msg.slot);
      w.raw(msg.digest);
      return;
    case 'nack':
      w.byte(TAG_NACK);
      w.ballot(msg.ballot);
      w.ballot(msg.promised);
      return;
    case 'heartbeat':
      w.byte(TAG_HEARTBEAT);
      w.ballot(msg.ballot);
      w.uint(msg.decidedUpTo);
      return;
    case 'catchup-request':
      w.byte(TAG_CATCHUP_REQUEST);
      w.uint(msg.fromSlot);
      return;
    case 'catchup-reply':
      w.byte(TAG_CATCHUP_REPLY);
      w.uint(msg.entries.length);
      for (const entry of msg.entries) {
        w.uint(entry.slot);
        w.batch(entry.batch);
      }
      w.uint(msg.decidedUpTo);
      return;
    case 'request':
      w.byte(TAG_REQUEST);
      w.command(msg.command);
      return;
    case 'reply':
      w.byte(TAG_REPLY);
      w.uint(msg.clientId);
      w.uint(msg.seq);
      w.byte(statusTag(msg.status));
      w.bytes(msg.result);
      w.uint(msg.leaderHint + 1);
      return;
    default:
      unknownType(msg);
  }
}

export function encodeMessage(msg: Message): Uint8Array {
  const w = new Writer(encodedSize(msg));
  w.byte(WIRE_VERSION);
  writeBody(w, msg);
  return w.buf;
}

/** Canonical encoding of a batch on its own (count, then commands), as embedded in messages. */
export function encodeBatch(batch: Batch): Uint8Array {
  const size = batchSize(batch, 'batch');
  checkFrameSize(size, 'batch');
  const w = new Writer(size);
  w.batch(batch);
  return w.buf;
}

/** Learners compare batches by this digest; domain-separated from every other digest. */
export function batchDigest(batch: Batch): Uint8Array {
  return domainDigest(BATCH_DIGEST_DOMAIN, encodeBatch(batch));
}

// ---------------------------------------------------------------------------------------------
// Decoding.

class Reader {
  readonly bytes: Uint8Array;
  pos = 0;

  constructor(bytes: Uint8Array) {
    this.bytes = bytes;
  }

  byte(where: string, field: string): number {
    if (this.pos >= this.bytes.length) fail(where, field, 'truncated');
    return this.bytes[this.pos++];
  }

  uint(bound: Bound, where: string, field: string): number {
    const value = this.varint(where, field);
    if (value > bound.max) fail(where, field, `${bound.what} ${value} exceeds ${bound.name} ${bound.max}`);
    return value;
  }

  varint(where: string, field: string): number {
    const bytes = this.bytes;
    const end = bytes.length;
    let pos = this.pos;
    if (pos >= end) fail(where, field, 'truncated');
    let b = bytes[pos++];
    if (b < 0x80) {
      this.pos = pos;
      return b;
    }
    let value = b & 0x7f;
    let scale = 128;
    for (let i = 1; ; i++) {
      if (i === VARINT_BYTES_MAX) fail(where, field, `varint longer than ${VARINT_BYTES_MAX} bytes`);
      if (pos >= end) fail(where, field, 'truncated');
      b = bytes[pos++];
      value += (b & 0x7f) * scale;
      if (b < 0x80) {
        if (b === 0) fail(where, field, 'non-minimal varint');
        break;
      }
      scale *= 128;
    }
    // Past 2^53 the sum may round, but never back below 2^53, so this check is exact.
    if (value > Number.MAX_SAFE_INTEGER) fail(where, field, 'varint exceeds MAX_SAFE_INTEGER');
    this.pos = pos;
    return value;
  }

  nodeIdOrNone(where: string, field: string): number {
    const encoded = this.varint(where, field);
    if (encoded > NODE_ID_MAX + 1) fail(where, field, `node id ${encoded - 1} exceeds NODE_ID_MAX ${NODE_ID_MAX}`);
    return encoded - 1;
  }

  bool(where: string, field: string): boolean {
    const b = this.byte(where, field);
    if (b > 1) fail(where, field, `boolean byte ${b}, expected 0 or 1`);
    return b === 1;
  }

  /** A copy, so callers may reuse the input buffer. */
  raw(length: number, where: string, field: string): Uint8Array {
    const start = this.pos;
    const available = this.bytes.length - start;
    if (length > available) fail(where, field, `truncated (need ${length} bytes, have ${available})`);
    this.pos = start + length;
    return this.bytes.slice(start, this.pos);
  }

  byteString(bound: Bound, where: string, field: string): Uint8Array {
    return this.raw(this.uint(bound, where, field), where, field);
  }

  ballot(where: string): Ballot {
    const round = this.uint(ROUND, where, 'round');
    const leader = this.nodeIdOrNone(where, 'leader');
    checkBallotShape(round, leader, where);
    return { round, leader };
  }

  batch(where: string): Batch {
    const count = this.uint(COMMANDS, where, 'commands');
    const commands: Command[] = [];
    for (let i = 0; i < count; i++) {
      commands.push({
        clientId: this.uint(CLIENT_ID, where, 'commands.clientId'),
        seq: this.uint(SEQ, where, 'commands.seq'),
        op: this.byteString(OP_LENGTH, where, 'commands.op'),
      });
    }
    return { commands };
  }
}

function readPromise(r: Reader): Promise1b {
  const ballot = r.ballot('promise.ballot');
  const fromSlot = r.uint(SLOT, 'promise', 'fromSlot');
  const count = r.uint(PVALUES, 'promise', 'accepted');
  const accepted: PValue[] = [];
  for (let i = 0; i < count; i++) {
    accepted.push({
      ballot: r.ballot('promise.accepted.ballot'),
      slot: r.uint(SLOT, 'promise.accepted', 'slot'),
      batch: r.batch('promise.accepted.batch'),
    });
  }
  return {
    type: 'promise',
    ballot,
    fromSlot,
    accepted,
    truncated: r.bool('promise', 'truncated'),
    decidedUpTo: r.uint(SLOT, 'promise', 'decidedUpTo'),
  };
}

function readAccept(r: Reader): Accept {
  return {
    type: 'accept',
    ballot: r.ballot('accept.ballot'),
    slot: r.uint(SLOT, 'accept', 'slot'),
    batch: r.batch('accept.batch'),
    decidedUpTo: r.uint(SLOT, 'accept', 'decidedUpTo'),
  };
}

function readAccepted(r: Reader): Accepted {
  return {
    type: 'accepted',
    ballot: r.ballot('accepted.ballot'),
    slot: r.uint(SLOT, 'accepted', 'slot'),
    digest: r.raw(DIGEST_BYTES, 'accepted', 'digest'),
  };
}

function readCatchupReply(r: Reader): CatchupReply {
  const count = r.uint(ENTRIES, 'catchup-reply', 'entries');
  const entries: DecidedEntry[] = [];
  for (let i = 0; i < count; i++) {
    entries.push({
      slot: r.uint(SLOT, 'catchup-reply.entries', 'slot'),
      batch: r.batch('catchup-reply.entries.batch'),
    });
  }
  return { type: 'catchup-reply', entries, decidedUpTo: r.uint(SLOT, 'catchup-reply', 'decidedUpTo') };
}

function readStatus(r: Reader): ReplyStatus {
  const tag = r.byte('reply', 'status');
  switch (tag) {
    case STATUS_OK:
      return 'ok';
    case STATUS_REDIRECT:
      return 'redirect';
    case STATUS_BUSY:
      return 'busy';
    default:
      return fail('reply', 'status', `unknown status tag ${tag}`);
  }
}

function readReply(r: Reader): ClientReply {
  return {
    type: 'reply',
    clientId: r.uint(CLIENT_ID, 'reply', 'clientId'),
    seq: r.uint(SEQ, 'reply', 'seq'),
    status: readStatus(r),
    result: r.byteString(RESULT_LENGTH, 'reply', 'result'),
    leaderHint: r.nodeIdOrNone('reply', 'leaderHint'),
  };
}

// Object literal properties initialize in source order, so reading inside them follows wire order.
function readBody(r: Reader, tag: number): Message {
  switch (tag) {
    case TAG_PREPARE:
      return { type: 'prepare', ballot: r.ballot('prepare.ballot'), fromSlot: r.uint(SLOT, 'prepare', 'fromSlot') };
    case TAG_PROMISE:
      return readPromise(r);
    case TAG_ACCEPT:
      return readAccept(r);
    case TAG_ACCEPTED:
      return readAccepted(r);
    case TAG_NACK:
      return { type: 'nack', ballot: r.ballot('nack.ballot'), promised: r.ballot('nack.promised') };
    case TAG_HEARTBEAT:
      return {
        type: 'heartbeat',
        ballot: r.ballot('heartbeat.ballot'),
        decidedUpTo: r.uint(SLOT, 'heartbeat', 'decidedUpTo'),
      };
    case TAG_CATCHUP_REQUEST:
      return { type: 'catchup-request', fromSlot: r.uint(SLOT, 'catchup-request', 'fromSlot') };
    case TAG_CATCHUP_REPLY:
      return readCatchupReply(r);
    case TAG_REQUEST:
      return {
        type: 'request',
        command: {
          clientId: r.uint(CLIENT_ID, 'request.command', 'clientId'),
          seq: r.uint(SEQ, 'request.command', 'seq'),
          op: r.byteString(OP_LENGTH, 'request.command', 'op'),
        },
      };
    case TAG_REPLY:
      return readReply(r);
    default:
      throw new CodecError(`frame: unknown message tag ${tag}`);
  }
}

export function decodeMessage(bytes: Uint8Array): Message {
  checkFrameSize(bytes.length, 'frame');
  // A Buffer's slice() is a view, not a copy; reading through a plain Uint8Array keeps copies real.
  const input = bytes.constructor === Uint8Array ? bytes : new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.length);
  if (input.length < 2) throw new CodecError(`frame: truncated (${input.length} bytes, need version and tag)`);
  if (input[0] !== WIRE_VERSION) {
    throw new CodecError(`frame: wire version ${input[0]} unsupported (expected ${WIRE_VERSION})`);
  }
  const r = new Reader(input);
  r.pos = 2;
  const msg = readBody(r, input[1]);
  const trailing = input.length - r.pos;
  if (trailing !== 0) {
    throw new CodecError(`${msg.type}: ${trailing} trailing byte(s) after message`);
  }
  return msg;
}
