// One member's own recording of a deployed run (`start --trace-json FILE`): every frame it sent
// and received, when (wall-clock ms since the Unix epoch, the one clock every member shares), and
// a digest of the frame's bytes, so that the sender's record and the receiver's record of one
// frame can be paired (merge.ts); and its decisions, the ballots it came to lead and the proofs
// it gathered. Pure: the runtime reads the clock and passes the times in. Bounded: at
// TRACE_RECORDS_MAX records it stops recording and its file says so (`truncated`, `unrecorded`).
//
// Each record is encoded to its JSON line as it is made (a record never changes afterwards), so
// writing the file again, as the member does every few seconds, only joins the lines.
import { formatBallot } from '../base/ballot.ts';
import { TRACE_RECORDS_MAX, TRACE_TEXT_CHARS_MAX } from '../base/limits.ts';
import type { Ballot, NodeId } from '../base/types.ts';
import { evidenceEnvelopes, type Evidence } from '../messages/evidence.ts';
import { formatWireMessage, type OpFormatter } from '../messages/format.ts';
import type { WireMessage } from '../messages/types.ts';
import { sha256, toHex } from '../../crypto/digest.ts';
import {
  CLIENTS,
  check,
  checkDecision,
  checkEvidence,
  encodeWithLines,
  flowEvidence,
  isInt,
  isObject,
  isSlot,
  isTime,
  labelMessage,
  list,
  parseObject,
  roundMs,
  type FlowDecision,
  type FlowEvent,
  type FlowEvidence,
  type MessageLabel,
} from './flow-trace.ts';

/** What tells a member's trace from a flow trace (flow-trace.ts), which has no `format`. */
export const MEMBER_TRACE_FORMAT = 'byzpaxos-member-trace';
/** Bumped when a field changes meaning or the shape changes; readers check it. */
export const MEMBER_TRACE_VERSION = 1;
/** Hex characters of a frame's SHA-256 kept: 64 bits, so two different frames of one link collide only by accident. */
export const FRAME_DIGEST_HEX = 16;

/** 'sent': handed to the transport; 'refused': the transport would not queue it (its queue to that peer was full); 'received': decoded from a known peer. */
export type MemberMessageKind = 'sent' | 'refused' | 'received';
const MESSAGE_KINDS: readonly MemberMessageKind[] = ['sent', 'refused', 'received'];

export interface MemberMessage extends MessageLabel {
  readonly kind: MemberMessageKind;
  /** Wall-clock ms since the Unix epoch. */
  readonly atMs: number;
  /** The other end: a member id, or CLIENTS. */
  readonly peer: number;
  /** frameDigest of the encoded frame, as both ends see the same bytes. */
  readonly digest: string;
  /** Readable, cut to TRACE_TEXT_CHARS_MAX characters. */
  readonly text: string;
}

/** What a member knows of the run it is part of. */
export interface MemberRun {
  readonly mode: string;
  readonly n: number;
  readonly f: number;
  /** The cluster id (hex), so that traces of different clusters are not merged. */
  readonly cluster: string;
  readonly member: NodeId;
  /** The built-in strategy it runs instead of the protocol, or null. */
  readonly adversary: string | null;
  /** When it started recording, wall-clock ms. */
  readonly startedMs: number;
}

export interface MemberTrace extends MemberRun {
  readonly format: typeof MEMBER_TRACE_FORMAT;
  readonly version: number;
  /** When the file was written, wall-clock ms: the member recorded until then. */
  readonly endMs: number;
  /** Written by a graceful stop; false in a file written while it ran (it may have been killed since). */
  readonly stopped: boolean;
  /** It held TRACE_RECORDS_MAX records and recorded nothing after. */
  readonly truncated: boolean;
  /** Messages sent or received after it was full. */
  readonly unrecorded: number;
  readonly messages: readonly MemberMessage[];
  /** 'leader' events: the ballots this member came to lead. */
  readonly events: readonly FlowEvent[];
  readonly decisions: readonly FlowDecision[];
  readonly evidence: readonly FlowEvidence[];
}

/** The digest that pairs a frame's send with its receipt: the first FRAME_DIGEST_HEX hex characters of its SHA-256. */
export function frameDigest(frame: Uint8Array): string {
  return toHex(sha256(frame).subarray(0, FRAME_DIGEST_HEX / 2));
}

function cut(text: string): string {
  return text.length <= TRACE_TEXT_CHARS_MAX ? text : `${text.slice(0, TRACE_TEXT_CHARS_MAX - 1)}…`;
}

/** A frame's label, digest and text, worked out once (a broadcast sends one frame to every peer). */
interface Described {
  readonly frame: Uint8Array;
  readonly label: MessageLabel;
  readonly digest: string;
  readonly text: string;
}

export class MemberTraceRecorder {
  private readonly run: MemberRun;
  private readonly formatOp: OpFormatter;
  private readonly limit: number;
  private readonly messages: string[] = [];
  private readonly events: string[] = [];
  private readonly decisions: string[] = [];
  private readonly evidence: string[] = [];
  private unrecorded = 0;
  private full = false;
  private last: Described | null = null;
  private changed = true;

  /** `limit` is for tests; a member keeps TRACE_RECORDS_MAX. */
  constructor(run: MemberRun, formatOp: OpFormatter, limit = TRACE_RECORDS_MAX) {
    this.run = run;
    this.formatOp = formatOp;
    this.limit = limit;
  }

  get records(): number {
    return this.messages.length + this.events.length + this.decisions.length + this.evidence.length;
  }

  get truncated(): boolean {
    return this.full;
  }

  /** Something was recorded (or went unrecorded) since the last encode. */
  get dirty(): boolean {
    return this.changed;
  }

  /** `queued` is what the transport answered: false, it refused the frame. */
  sent(atMs: number, to: number, msg: WireMessage, frame: Uint8Array, queued: boolean): void {
    this.message(queued ? 'sent' : 'refused', atMs, to, msg, frame);
  }

  received(atMs: number, from: number, msg: WireMessage, frame: Uint8Array): void {
    this.message('received', atMs, from, msg, frame);
  }

  /** This member came to lead `ballot`. */
  leader(atMs: number, ballot: Ballot): void {
    const event: FlowEvent = { kind: 'leader', atMs: roundMs(atMs), node: this.run.member, ballot: formatBallot(ballot) };
    this.add(this.events, event);
  }

  decided(atMs: number, slot: number, commands: number): void {
    const decision: FlowDecision = { atMs: roundMs(atMs), node: this.run.member, slot, commands };
    this.add(this.decisions, decision);
  }

  /** A proof this member gathered; its culprit is the signer of its messages. */
  proved(atMs: number, evidence: Evidence): void {
    if (!this.room()) return;
    const culprit = evidenceEnvelopes(evidence)[0]!.signer;
    this.add(this.evidence, flowEvidence(this.evidence.length, atMs, this.run.member, culprit, evidence, this.formatOp));
  }

  /** The file as of `endMs`; `stopped` when the member is stopping (the last write). */
  encode(endMs: number, stopped: boolean): string {
    this.changed = false;
    const head = {
      format: MEMBER_TRACE_FORMAT,
      version: MEMBER_TRACE_VERSION,
      ...this.run,
      startedMs: roundMs(this.run.startedMs),
      endMs: roundMs(endMs),
      stopped,
      truncated: this.full,
      unrecorded: this.unrecorded,
    };
    return encodeWithLines(head, { messages: this.messages, events: this.events, decisions: this.decisions, evidence: this.evidence });
  }

  private message(kind: MemberMessageKind, atMs: number, peer: number, msg: WireMessage, frame: Uint8Array): void {
    if (!this.room()) {
      this.unrecorded++;
      this.changed = true;
      return;
    }
    const d = this.describe(msg, frame);
    const record: MemberMessage = { kind, atMs: roundMs(atMs), peer, ...d.label, digest: d.digest, text: d.text };
    this.add(this.messages, record);
  }

  private describe(msg: WireMessage, frame: Uint8Array): Described {
    if (this.last?.frame === frame) return this.last;
    this.last = { frame, label: labelMessage(msg), digest: frameDigest(frame), text: cut(formatWireMessage(msg, this.formatOp)) };
    return this.last;
  }

  /** Whether one more record fits; the first time one does not, the trace is marked truncated. */
  private room(): boolean {
    if (!this.full && this.records >= this.limit) this.full = true;
    return !this.full;
  }

  private add(lines: string[], record: object): void {
    if (!this.room()) return;
    lines.push(JSON.stringify(record));
    this.changed = true;
  }
}

const DIGEST_PATTERN = new RegExp(`^[0-9a-f]{${FRAME_DIGEST_HEX}}$`);

/** Checks a member trace's every field the merge relies on (as parseFlowTrace does a flow trace's). */
export function checkMemberTrace(t: Record<string, unknown>): MemberTrace {
  check(t.format === MEMBER_TRACE_FORMAT, `"format" must be "${MEMBER_TRACE_FORMAT}"`);
  check(t.version === MEMBER_TRACE_VERSION, `"version" must be ${MEMBER_TRACE_VERSION}, got ${JSON.stringify(t.version)}`);
  check(typeof t.mode === 'string', '"mode" must be a string');
  check(isInt(t.n) && (t.n as number) >= 1, '"n" must be a positive integer');
  check(isInt(t.f), '"f" must be an integer');
  check(typeof t.cluster === 'string' && /^[0-9a-f]+$/.test(t.cluster), '"cluster" must be the cluster id in hex');
  const n = t.n as number;
  const isNode = (v: unknown) => isInt(v) && v >= 0 && v < n;
  check(isNode(t.member), `"member" must be a member id, 0..${n - 1}`);
  check(t.adversary === null || typeof t.adversary === 'string', '"adversary" must be null or a name');
  check(isTime(t.startedMs) && isTime(t.endMs) && (t.endMs as number) >= (t.startedMs as number), '"startedMs" and "endMs" must be times, the end not before the start');
  check(typeof t.stopped === 'boolean' && typeof t.truncated === 'boolean', '"stopped" and "truncated" must be true or false');
  check(isInt(t.unrecorded) && (t.unrecorded as number) >= 0, '"unrecorded" must be a count');
  const member = t.member as number;
  list(t, 'messages').forEach((m, i) => {
    const where = `messages[${i}]`;
    check(isObject(m), `${where} must be an object`);
    const msg = m as Record<string, unknown>;
    check(MESSAGE_KINDS.includes(msg.kind as MemberMessageKind), `${where}.kind must be one of ${MESSAGE_KINDS.join(', ')}`);
    check(isTime(msg.atMs), `${where}.atMs must be a time`);
    check((msg.peer === CLIENTS || isNode(msg.peer)) && msg.peer !== member, `${where}.peer must be another member's id or ${CLIENTS} (the clients)`);
    check(typeof msg.type === 'string' && typeof msg.text === 'string' && typeof msg.signed === 'boolean', `${where}: "type" and "text" must be strings, "signed" true or false`);
    check(isSlot(msg.slot) && (msg.ballot === null || typeof msg.ballot === 'string'), `${where}: "slot" must be null or a slot number, "ballot" null or a ballot`);
    check(typeof msg.digest === 'string' && DIGEST_PATTERN.test(msg.digest), `${where}.digest must be ${FRAME_DIGEST_HEX} hex characters`);
  });
  list(t, 'events').forEach((e, i) =>
    check(isObject(e) && e.kind === 'leader' && isTime(e.atMs) && e.node === member && typeof e.ballot === 'string', `events[${i}] must be {"kind": "leader", "atMs", "node": ${member}, "ballot"}`),
  );
  list(t, 'decisions').forEach((d, i) => checkDecision(d, `decisions[${i}]`, (v) => v === member));
  list(t, 'evidence').forEach((e, i) => checkEvidence(e, `evidence[${i}]`, i, isNode));
  return t as unknown as MemberTrace;
}

export function parseMemberTrace(text: string): MemberTrace {
  return checkMemberTrace(parseObject(text));
}
