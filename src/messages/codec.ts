// Canonical, versioned, strict binary wire format for every Message.
//
// Frame: [WIRE_VERSION][type tag][fields in interface order]. Unsigned integers are minimal
// LEB128 varints, byte strings are varint-length-prefixed, digests are raw 32 bytes, booleans and
// reply statuses are one byte. Every message has exactly one encoding: decode rejects anything
// encode could not have produced, so equal bytes <=> equal messages and digests over encodings
// are meaningful.
//
// Each message's layout is declared once, in SCHEMAS; the field types in schema.ts derive the
// validating size pass (also `encodedSize`), which rejects oversize frames before allocating
// anything, the unchecked write, and the strict read from it.
import type { Ballot, Batch, Command, PValue } from '../base/types.ts';
import { domainDigest } from '../../crypto/index.ts';
import {
  BATCH_COMMANDS_MAX,
  CATCHUP_ENTRIES_MAX,
  CERTIFICATE_SIGNATURES_MAX,
  CLIENT_SESSIONS_MAX,
  CLIENT_SESSIONS_PER_CLIENT_MAX,
  CONFIGURATION_MEMBERS_MAX,
  RECONFIG_WINDOW_SLOTS,
  NODE_ID_MAX,
  PREPARED_CERTIFICATES_MAX,
  SIGNATURE_BYTES,
  SESSION_PARTS,
  STATE_PART_BYTES_MAX,
  STATE_PARTS_MAX,
  STATE_REQUEST_PARTS_MAX,
  CLIENT_ID_MAX,
  FRAME_BYTES_MAX,
  OP_BYTES_MAX,
  PROMISE_PVALUES_MAX,
  RESULT_BYTES_MAX,
  ROUND_MAX,
  SESSION_ID_MAX,
  SLOT_MAX,
} from '../base/limits.ts';
import {
  CodecError,
  Reader,
  Writer,
  bool,
  bytes,
  choice,
  constant,
  digest,
  fail,
  list,
  nodeIdOrNone,
  nullable,
  struct,
  uint,
  type Bound,
  type Field,
  type FieldCodec,
  type Fields,
} from './schema.ts';
import type {
  CertifiedEntry,
  CheckpointCertificate,
  DecidedEntry,
  Message,
  PreparedCertificate,
  SignedEnvelope,
  StatusCounts,
  WireMessage,
  WireMessageType,
} from './types.ts';

export { CodecError };

/** 2: commands and replies carry the client's session. */
export const WIRE_VERSION = 2;

/** Domain of batchDigest; bump the version with any change to encodeBatch. */
const BATCH_DIGEST_DOMAIN = 'byzpaxos/batch/v2';

const ROUND: Bound = { max: ROUND_MAX, name: 'ROUND_MAX', what: 'value' };
const SLOT: Bound = { max: SLOT_MAX, name: 'SLOT_MAX', what: 'value' };
const CLIENT_ID: Bound = { max: CLIENT_ID_MAX, name: 'CLIENT_ID_MAX', what: 'value' };
// limits.ts has no sequence-number bound; the varint's own limit is the only one.
const SEQ: Bound = { max: Number.MAX_SAFE_INTEGER, name: 'MAX_SAFE_INTEGER', what: 'value' };
const SESSION: Bound = { max: SESSION_ID_MAX, name: 'SESSION_ID_MAX', what: 'value' };
const OP_LENGTH: Bound = { max: OP_BYTES_MAX, name: 'OP_BYTES_MAX', what: 'length' };
const RESULT_LENGTH: Bound = { max: RESULT_BYTES_MAX, name: 'RESULT_BYTES_MAX', what: 'length' };
const COMMANDS: Bound = { max: BATCH_COMMANDS_MAX, name: 'BATCH_COMMANDS_MAX', what: 'count' };
const PVALUES: Bound = { max: PROMISE_PVALUES_MAX, name: 'PROMISE_PVALUES_MAX', what: 'count' };
const ENTRIES: Bound = { max: CATCHUP_ENTRIES_MAX, name: 'CATCHUP_ENTRIES_MAX', what: 'count' };
const NODE_ID: Bound = { max: NODE_ID_MAX, name: 'NODE_ID_MAX', what: 'value' };
const SIGNATURE_LENGTH: Bound = { max: SIGNATURE_BYTES, name: 'SIGNATURE_BYTES', what: 'length' };
const PAYLOAD_LENGTH: Bound = { max: FRAME_BYTES_MAX, name: 'FRAME_BYTES_MAX', what: 'length' };
const SIGNATURES: Bound = { max: CERTIFICATE_SIGNATURES_MAX, name: 'CERTIFICATE_SIGNATURES_MAX', what: 'count' };
const PREPARED: Bound = { max: PREPARED_CERTIFICATES_MAX, name: 'PREPARED_CERTIFICATES_MAX', what: 'count' };
const PART_LENGTH: Bound = { max: STATE_PART_BYTES_MAX, name: 'STATE_PART_BYTES_MAX', what: 'length' };
const PARTS: Bound = { max: STATE_PARTS_MAX, name: 'STATE_PARTS_MAX', what: 'count' };
const PART_INDEX: Bound = { max: STATE_PARTS_MAX - 1, name: 'STATE_PARTS_MAX - 1', what: 'value' };
const REQUESTED_PARTS: Bound = { max: STATE_REQUEST_PARTS_MAX, name: 'STATE_REQUEST_PARTS_MAX', what: 'count' };

// ---------------------------------------------------------------------------------------------
// Layouts.

const slot = uint(SLOT);

const ballot: Field<Ballot> = struct({ round: uint(ROUND), leader: nodeIdOrNone }, (b, path) => {
  // Only BOTTOM may have round 0 or leader -1, so isBottom and ballotEquals(BOTTOM) agree.
  if ((b.round === 0) !== (b.leader === -1)) {
    fail(`${path}.leader`, `leader ${b.leader} with round ${b.round}: round 0 and leader -1 occur only together, as BOTTOM`);
  }
});

const signature = bytes(SIGNATURE_LENGTH);
const command: Field<Command> = struct({ clientId: uint(CLIENT_ID), session: uint(SESSION), seq: uint(SEQ), op: bytes(OP_LENGTH), signature });
const batch: Field<Batch> = struct({ commands: list(command, COMMANDS) });
const pvalue: Field<PValue> = struct({ ballot, slot, batch });
const decidedEntry: Field<DecidedEntry> = struct({ slot, batch });

const envelopeFields = { signer: uint(NODE_ID), payload: bytes(PAYLOAD_LENGTH), signature };
const envelope: Field<SignedEnvelope> = struct({ type: constant('signed' as const), ...envelopeFields });
const envelopes = list(envelope, SIGNATURES);
const preparedCertificate: Field<PreparedCertificate> = struct({ ballot, slot, batch, verifies: envelopes });
const checkpointCertificate: Field<CheckpointCertificate> = struct({ slot, stateDigest: digest, signatures: envelopes });
const certifiedEntry: Field<CertifiedEntry> = struct({ slot, batch, accepteds: envelopes });

// Status counters and uptime: no protocol bound applies, only the varint's own.
const COUNT: Bound = { max: Number.MAX_SAFE_INTEGER, name: 'MAX_SAFE_INTEGER', what: 'value' };
const NONCE: Bound = { max: 2 ** 32 - 1, name: 'NONCE_MAX', what: 'value' };
const CONFIGURATION_MEMBERS: Bound = { max: CONFIGURATION_MEMBERS_MAX, name: 'CONFIGURATION_MEMBERS_MAX', what: 'count' };
/** The configuration of one slot and one per slot of the window after it, at most. */
const KNOWN_CONFIGURATIONS: Bound = { max: RECONFIG_WINDOW_SLOTS + 1, name: 'RECONFIG_WINDOW_SLOTS + 1', what: 'count' };
const count = uint(COUNT);
const statusCounts: Field<StatusCounts> = struct({
  decisions: count,
  viewChanges: count,
  messagesIn: count,
  messagesOut: count,
  rejected: count,
  evidence: count,
  suspicions: count,
});

/** Layouts of the types messages embed, for canonical formats built on this codec (storage records). */
export const LAYOUTS = {
  round: uint(ROUND),
  slot,
  ballot,
  batch,
  pvalue,
  envelope,
  preparedCertificate,
  checkpointCertificate,
  certifiedEntry,
  partIndex: uint(PART_INDEX),
  part: bytes(PART_LENGTH),
  partCount: uint(PARTS),
} as const;

type MessageOf<K extends WireMessageType> = Extract<WireMessage, { type: K }>;

interface MessageSchema<K extends WireMessageType> {
  readonly tag: number;
  readonly fields: Fields<Omit<MessageOf<K>, 'type'>>;
}

// Tags are part of the wire format: never renumber, only append.
const SCHEMAS: { readonly [K in WireMessageType]: MessageSchema<K> } = {
  prepare: { tag: 1, fields: { ballot, fromSlot: slot } },
  promise: {
    tag: 2,
    fields: { ballot, fromSlot: slot, accepted: list(pvalue, PVALUES), truncated: bool, decidedUpTo: slot },
  },
  accept: { tag: 3, fields: { ballot, slot, batch, decidedUpTo: slot } },
  accepted: { tag: 4, fields: { ballot, slot, digest } },
  nack: { tag: 5, fields: { ballot, promised: ballot } },
  heartbeat: { tag: 6, fields: { ballot, decidedUpTo: slot } },
  'catchup-request': { tag: 7, fields: { fromSlot: slot } },
  'catchup-reply': { tag: 8, fields: { entries: list(decidedEntry, ENTRIES), decidedUpTo: slot } },
  request: { tag: 9, fields: { command } },
  reply: {
    tag: 10,
    fields: {
      clientId: uint(CLIENT_ID),
      session: uint(SESSION),
      seq: uint(SEQ),
      status: choice('status', ['ok', 'redirect', 'busy', 'evicted', 'refused']),
      result: bytes(RESULT_LENGTH),
      leaderHint: nodeIdOrNone,
    },
  },
  signed: { tag: 11, fields: envelopeFields },
  verify: { tag: 12, fields: { ballot, slot, digest } },
  'certified-promise': {
    tag: 13,
    fields: { ballot, checkpoint: nullable(checkpointCertificate), prepared: list(preparedCertificate, PREPARED) },
  },
  'new-ballot': { tag: 14, fields: { ballot, promises: envelopes } },
  checkpoint: { tag: 15, fields: { slot, stateDigest: digest } },
  'certified-catchup-reply': { tag: 16, fields: { entries: list(certifiedEntry, ENTRIES), decidedUpTo: slot } },
  // Tag 17 was the whole-snapshot StateReply, retired: a state may be larger than a frame.
  commitment: { tag: 18, fields: { ballot, slot, commitment: digest } },
  reveal: { tag: 19, fields: { ballot, slot, digest, key: digest } },
  bundle: { tag: 20, fields: { ballot, slot, batch, commitments: envelopes } },
  'reveal-request': { tag: 21, fields: { ballot, slot } },
  'evidence-query': { tag: 22, fields: { ballot, slot, checkpoint: bool } },
  'evidence-share': { tag: 23, fields: { envelopes } },
  'status-request': { tag: 24, fields: { nonce: uint(NONCE) } },
  suspect: { tag: 26, fields: { ballot } },
  'status-reply': {
    tag: 25,
    fields: {
      nonce: uint(NONCE),
      node: uint(NODE_ID),
      mode: choice('mode', ['crash', 'byzantine', 'commit-reveal']),
      ballot,
      isLeader: bool,
      decidedUpTo: slot,
      uptimeMs: count,
      counts: statusCounts,
      workingRound: count,
      outsideWorkingBallot: bool,
      configurations: list(struct({ from: slot, members: list(uint(NODE_ID), CONFIGURATION_MEMBERS) }), KNOWN_CONFIGURATIONS),
    },
  },
  'state-manifest': { tag: 27, fields: { checkpoint: checkpointCertificate, executedUpTo: slot, digests: list(digest, PARTS) } },
  'state-request': { tag: 28, fields: { slot, parts: list(uint(PART_INDEX), REQUESTED_PARTS) } },
  'state-parts': { tag: 29, fields: { slot, parts: list(struct({ index: uint(PART_INDEX), bytes: bytes(PART_LENGTH) }), PARTS) } },
};

/** Tags of the status exchange: a wire message, but not one the protocol core carries. */
const STATUS_TAGS: ReadonlySet<number> = new Set([SCHEMAS['status-request'].tag, SCHEMAS['status-reply'].tag]);

interface MessageCodec extends FieldCodec<WireMessage> {
  readonly tag: number;
}

const BY_TYPE = new Map<string, MessageCodec>();
const BY_TAG: (MessageCodec | undefined)[] = [];
for (const [type, { tag, fields }] of Object.entries(SCHEMAS)) {
  if (BY_TAG[tag] !== undefined) throw new Error(`codec: tag ${tag} used twice`);
  // `type` is implied by the tag, and comes first in every message interface.
  const body = struct({ type: constant(type), ...fields } as Fields<WireMessage>)(type);
  const codec: MessageCodec = { ...body, tag };
  BY_TYPE.set(type, codec);
  BY_TAG[tag] = codec;
}

const BATCH = batch('batch');
const COMMAND = command('command');
const ENVELOPE = envelope('envelope');
const CERTIFIED_ENTRY = certifiedEntry('entry');
const PVALUE = pvalue('pvalue');

/** The message type a frame announces (its tag byte), without decoding it; undefined if unknown. */
export function frameType(frame: Uint8Array): WireMessageType | undefined {
  const tag = frame[1];
  return tag === undefined ? undefined : (TYPE_OF_TAG[tag] as WireMessageType | undefined);
}
const TYPE_OF_TAG: (string | undefined)[] = [];
for (const [type, { tag }] of Object.entries(SCHEMAS)) TYPE_OF_TAG[tag] = type;

/** One session of a client as the replica's state holds it: its last command executed and the result. */
export interface SessionEntry {
  readonly session: number;
  readonly seq: number;
  readonly result: Uint8Array;
}
/** A client's sessions in a session part, least recently used first (eviction order). */
export interface ClientSessions {
  readonly clientId: number;
  readonly sessions: readonly SessionEntry[];
}
const CLIENTS: Bound = { max: CLIENT_SESSIONS_MAX, name: 'CLIENT_SESSIONS_MAX', what: 'count' };
const SESSIONS: Bound = { max: CLIENT_SESSIONS_PER_CLIENT_MAX, name: 'CLIENT_SESSIONS_PER_CLIENT_MAX', what: 'count' };
const sessionEntry: Field<SessionEntry> = struct({ session: uint(SESSION), seq: uint(SEQ), result: bytes(RESULT_LENGTH) });
const clientSessions: Field<ClientSessions> = struct({ clientId: uint(CLIENT_ID), sessions: list(sessionEntry, SESSIONS) });
const SESSION_PART = list(clientSessions, CLIENTS)('session-part');
/**
 * Bytes one session adds to its part, at most: its entry, plus its client's header (a part has
 * no more clients than sessions, since none is empty).
 */
export const SESSION_BYTES_MAX =
  sessionEntry('session').size({ session: SESSION_ID_MAX, seq: Number.MAX_SAFE_INTEGER, result: new Uint8Array(RESULT_BYTES_MAX) }) +
  clientSessions('client').size({ clientId: CLIENT_ID_MAX, sessions: [] }) +
  3;

/** What a checkpoint's state digest covers: the position, and the digest of every part (sessions', then the application's). */
interface StateDigestInput {
  readonly executedUpTo: number;
  readonly digests: readonly Uint8Array[];
}
const STATE_DIGEST_INPUT = struct<StateDigestInput>({ executedUpTo: slot, digests: list(digest, PARTS) })('state');
const STATE_DOMAIN = 'byzpaxos/state/v2';
const STATE_PART_DOMAIN = 'byzpaxos/state-part/v1';

// ---------------------------------------------------------------------------------------------
// Encoding and decoding.

function checkFrameSize(size: number, what: string): void {
  if (size > FRAME_BYTES_MAX) {
    throw new CodecError(`${what}: length ${size} exceeds FRAME_BYTES_MAX ${FRAME_BYTES_MAX}`);
  }
}

function codecOf(msg: WireMessage): MessageCodec {
  const codec = BY_TYPE.get(msg.type);
  if (codec === undefined) throw new CodecError(`message: unknown type ${JSON.stringify(msg.type)}`);
  return codec;
}

function frameSize(codec: MessageCodec, msg: WireMessage): number {
  const size = 2 + codec.size(msg);
  checkFrameSize(size, 'frame');
  return size;
}

/** Exact length of encodeMessage(msg), without encoding; throws CodecError exactly when encodeMessage would. */
export function encodedSize(msg: WireMessage): number {
  return frameSize(codecOf(msg), msg);
}

export function encodeMessage(msg: WireMessage): Uint8Array {
  const codec = codecOf(msg);
  const w = new Writer(frameSize(codec, msg));
  w.byte(WIRE_VERSION);
  w.byte(codec.tag);
  codec.write(w, msg);
  return w.buf;
}

/** Bytes a batch takes inside a message (the length of encodeBatch), without encoding it. */
export function batchSize(batch: Batch): number {
  return BATCH.size(batch);
}

/** Bytes one command takes inside a batch. */
export function commandSize(c: Command): number {
  return COMMAND.size(c);
}

/** Bytes one envelope takes inside a list of envelopes (evidence shares, certificates). */
export function envelopeSize(e: SignedEnvelope): number {
  return ENVELOPE.size(e);
}

/** Bytes one pvalue takes inside a Promise. */
export function pvalueSize(p: PValue): number {
  return PVALUE.size(p);
}

/** Bytes one entry takes inside a certified catch-up reply. */
export function certifiedEntrySize(entry: CertifiedEntry): number {
  return CERTIFIED_ENTRY.size(entry);
}

/** Canonical encoding of a batch on its own (count, then commands), as embedded in messages. */
export function encodeBatch(batch: Batch): Uint8Array {
  const size = BATCH.size(batch);
  checkFrameSize(size, 'batch');
  const w = new Writer(size);
  BATCH.write(w, batch);
  return w.buf;
}

/** Learners compare batches by this digest; domain-separated from every other digest. */
export function batchDigest(batch: Batch): Uint8Array {
  return domainDigest(BATCH_DIGEST_DOMAIN, encodeBatch(batch));
}

/** Clients of one part, clientId strictly ascending, each in the part SESSION_PARTS assigns it. */
export function encodeSessionPart(clients: readonly ClientSessions[]): Uint8Array {
  const w = new Writer(SESSION_PART.size(clients));
  SESSION_PART.write(w, clients);
  return w.buf;
}

/** Strict inverse of encodeSessionPart for part `index`: throws CodecError on anything it could not have produced. */
export function decodeSessionPart(bytes: Uint8Array, index: number): ClientSessions[] {
  const path = `session-part ${index}`;
  if (bytes.length > STATE_PART_BYTES_MAX) fail(path, `length ${bytes.length} exceeds STATE_PART_BYTES_MAX ${STATE_PART_BYTES_MAX}`);
  const r = new Reader(bytes, 0);
  const clients = SESSION_PART.read(r) as ClientSessions[];
  if (r.pos !== bytes.length) fail(path, `${bytes.length - r.pos} trailing byte(s)`);
  // One encoding per state: clients strictly ascending, each with distinct sessions, none empty.
  for (let i = 0; i < clients.length; i++) {
    const { clientId, sessions } = clients[i]!;
    if (clientId % SESSION_PARTS !== index) fail(path, `client ${clientId} belongs to part ${clientId % SESSION_PARTS}`);
    if (i > 0 && clients[i - 1]!.clientId >= clientId) fail(path, `client ${clientId} is not strictly ascending`);
    if (sessions.length === 0) fail(path, `client ${clientId} has no session`);
    if (new Set(sessions.map((e) => e.session)).size !== sessions.length) fail(path, `client ${clientId} lists a session twice`);
  }
  return clients;
}

/** The digest of one part of the replicated state, as a state manifest lists it. */
export function statePartDigest(part: Uint8Array): Uint8Array {
  return domainDigest(STATE_PART_DOMAIN, part);
}

/** The digest checkpoints sign: over the position and the part digests, so a checkpoint rehashes only parts that changed. */
export function stateDigestOf(state: StateDigestInput): Uint8Array {
  const w = new Writer(STATE_DIGEST_INPUT.size(state));
  STATE_DIGEST_INPUT.write(w, state);
  return domainDigest(STATE_DOMAIN, w.buf);
}

/** A protocol message; a status frame is rejected like any other unexpected input. */
export function decodeMessage(bytes: Uint8Array): Message {
  return decodeFrame(bytes, false) as Message;
}

/** Any wire message, the status exchange included (what a deployed node or client receives). */
export function decodeWireMessage(bytes: Uint8Array): WireMessage {
  return decodeFrame(bytes, true);
}

function decodeFrame(bytes: Uint8Array, statusAllowed: boolean): WireMessage {
  checkFrameSize(bytes.length, 'frame');
  // A Buffer's slice() is a view, not a copy; reading through a plain Uint8Array keeps copies real.
  const input = bytes.constructor === Uint8Array ? bytes : new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.length);
  if (input.length < 2) throw new CodecError(`frame: truncated (${input.length} bytes, need version and tag)`);
  if (input[0] !== WIRE_VERSION) {
    throw new CodecError(`frame: wire version ${input[0]} unsupported (expected ${WIRE_VERSION})`);
  }
  const codec = BY_TAG[input[1]];
  if (codec === undefined) throw new CodecError(`frame: unknown message tag ${input[1]}`);
  if (!statusAllowed && STATUS_TAGS.has(codec.tag)) {
    throw new CodecError(`frame: unknown message tag ${codec.tag} (${TYPE_OF_TAG[codec.tag]} is not a protocol message)`);
  }
  const r = new Reader(input, 2);
  const msg = codec.read(r);
  const trailing = input.length - r.pos;
  if (trailing !== 0) {
    throw new CodecError(`${msg.type}: ${trailing} trailing byte(s) after message`);
  }
  return msg;
}
