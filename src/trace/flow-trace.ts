// The flow trace: the JSON form of one run's message flow, what the flow diagram (src/sim/flow-html.ts)
// draws. A simulated run's comes from the simulator's recorder (src/sim/trace-json.ts, `sim
// --trace-json`); a deployed run's is merged (merge.ts) from what each member recorded of its own
// sends and receives (member-trace.ts, `start --trace-json`). Both kinds share one shape, told
// apart by `source`, and one reader, parseFlowTrace.
import type { Ballot, NodeId } from '../base/types.ts';
import { formatBallot } from '../base/ballot.ts';
import { evidenceEnvelopes, type Evidence } from '../messages/evidence.ts';
import { CodecError, decodeMessage } from '../messages/codec.ts';
import { formatMessage, type OpFormatter } from '../messages/format.ts';
import type { Message, WireMessage } from '../messages/types.ts';

/** The clients' side of the network, as an endpoint of a message. */
export const CLIENTS = -1;
/** Bumped when a field changes meaning or the shape changes; readers check it. 2: `source`, `cluster`, `epochMs`, `unrecorded`, `recordedBy`; `seed` may be null. */
export const FLOW_TRACE_VERSION = 2;

/** 'sim': one simulated run, in virtual time; 'deployed': merged from the members' own recordings, in wall-clock time. */
export type FlowSource = 'sim' | 'deployed';
export const FLOW_SOURCES: readonly FlowSource[] = ['sim', 'deployed'];

export type MessageFate =
  /** Reached a live node (or a client) at `deliveredMs`. */
  | 'delivered'
  /** Lost by the network's drop fault; deployed: the transport refused it (its queue to that peer was full). */
  | 'dropped'
  /** Not sent across a partition. */
  | 'partitioned'
  /** Arrived at a crashed node, or was lost by a scripted hook; deployed: its receiver recorded no arrival. */
  | 'lost'
  /** Still in flight when the run ended; deployed: nothing recorded whether it arrived (a client, or a member without a trace). */
  | 'in-flight';

/** Whose records a message is drawn from: a simulator sees both ends; a deployed member only its own. */
export type RecordedBy = 'both' | 'sender' | 'receiver';
export const RECORDED_BY: readonly RecordedBy[] = ['both', 'sender', 'receiver'];

export interface FlowMessage {
  readonly id: number;
  /** A node id, or CLIENTS. */
  readonly from: number;
  readonly to: number;
  /** The message type; for a signed envelope, the type it carries. */
  readonly type: string;
  readonly signed: boolean;
  readonly slot: number | null;
  readonly ballot: string | null;
  /** When only the receiver recorded it ('receiver'), the time it arrived: when it left is unknown. */
  readonly sentMs: number;
  deliveredMs: number | null;
  fate: MessageFate;
  /** The second copy of a duplicated send. */
  readonly duplicate: boolean;
  readonly recordedBy: RecordedBy;
  readonly text: string;
}

export type FlowEvent =
  | { readonly kind: 'crash' | 'restart' | 'wipe'; readonly atMs: number; readonly node: NodeId }
  | { readonly kind: 'partition'; readonly atMs: number; readonly side: readonly NodeId[] }
  | { readonly kind: 'partition-heal' | 'heal-all'; readonly atMs: number }
  /** A view change: `node` became leader of `ballot`. */
  | { readonly kind: 'leader'; readonly atMs: number; readonly node: NodeId; readonly ballot: string };

export interface FlowDecision {
  readonly atMs: number;
  readonly node: NodeId;
  readonly slot: number;
  readonly commands: number;
}

export interface FlowEvidence {
  readonly id: number;
  readonly atMs: number;
  readonly reporter: NodeId;
  readonly culprit: NodeId;
  readonly kind: Evidence['kind'];
  readonly slot: number | null;
  /** The signed messages the proof consists of (two conflicting ones, or one unjustified), readable. */
  readonly messages: readonly string[];
}

export interface FlowTrace {
  readonly version: number;
  readonly source: FlowSource;
  readonly mode: string;
  /** The simulated run's seed; null for a deployed run. */
  readonly seed: number | null;
  /** A deployed run's cluster id (hex); null for a simulated run. */
  readonly cluster: string | null;
  /** A deployed run's time 0, in ms since the Unix epoch; null for a simulated run (virtual time from 0). */
  readonly epochMs: number | null;
  readonly n: number;
  readonly f: number;
  readonly nodes: readonly { readonly id: NodeId; readonly byzantine: string | null }[];
  readonly endMs: number;
  /** Messages a member sent or received after its trace was full (TRACE_RECORDS_MAX); 0 for a simulated run. */
  readonly unrecorded: number;
  readonly messages: readonly FlowMessage[];
  readonly events: readonly FlowEvent[];
  readonly decisions: readonly FlowDecision[];
  readonly evidence: readonly FlowEvidence[];
}

/** Microsecond resolution keeps the file small and its bytes stable. */
export function roundMs(t: number): number {
  return Math.round(t * 1000) / 1000;
}

/** What a trace says of a message besides its endpoints and times. */
export interface MessageLabel {
  /** The message type; for a signed envelope, the type it carries ('signed' if that does not decode). */
  readonly type: string;
  readonly signed: boolean;
  readonly slot: number | null;
  readonly ballot: string | null;
}

/** A message's label: where it carries them, its slot and ballot (looking inside a signed envelope). */
export function labelMessage(msg: WireMessage): MessageLabel {
  let inner: WireMessage = msg;
  if (msg.type === 'signed') {
    try {
      inner = decodeMessage(msg.payload);
    } catch (e) {
      if (!(e instanceof CodecError)) throw e;
      return { type: 'signed', signed: true, slot: null, ballot: null };
    }
  }
  const fields = inner as { slot?: unknown; ballot?: unknown };
  return {
    type: inner.type,
    signed: msg.type === 'signed',
    slot: typeof fields.slot === 'number' ? fields.slot : null,
    ballot: typeof fields.ballot === 'object' && fields.ballot !== null ? formatBallot(fields.ballot as Ballot) : null,
  };
}

/** A proof as the trace holds it: its signed messages readable, its slot that of its first message. */
export function flowEvidence(id: number, atMs: number, reporter: NodeId, culprit: NodeId, evidence: Evidence, formatOp: OpFormatter): FlowEvidence {
  const envelopes = evidenceEnvelopes(evidence);
  return {
    id,
    atMs: roundMs(atMs),
    reporter,
    culprit,
    kind: evidence.kind,
    slot: labelMessage(envelopes[0]!).slot,
    messages: envelopes.map((e: Message) => formatMessage(e, formatOp)),
  };
}

/** One line per message, so a diff of two runs' files reads message by message. */
export function encodeFlowTrace(trace: FlowTrace): string {
  const { messages, events, decisions, evidence, ...head } = trace;
  const lines = (items: readonly unknown[]) => items.map((item) => JSON.stringify(item));
  return encodeWithLines(head, { messages: lines(messages), events: lines(events), decisions: lines(decisions), evidence: lines(evidence) });
}

/** The layout of every trace file: `head`'s fields one a line, then each list one item (already JSON) a line. */
export function encodeWithLines(head: object, lists: Readonly<Record<string, readonly string[]>>): string {
  const list = (lines: readonly string[]) => (lines.length === 0 ? '[]' : `[\n${lines.map((line) => `  ${line}`).join(',\n')}\n]`);
  const body = Object.entries(head).map(([k, v]) => `${JSON.stringify(k)}: ${JSON.stringify(v)}`);
  for (const [name, lines] of Object.entries(lists)) body.push(`${JSON.stringify(name)}: ${list(lines)}`);
  return `{\n${body.join(',\n')}\n}\n`;
}

/** A trace file is wrong; `message` is one line naming what (the path is added by the caller). */
export class FlowTraceError extends Error {
  override name = 'FlowTraceError';
}

const FATES: readonly MessageFate[] = ['delivered', 'dropped', 'partitioned', 'lost', 'in-flight'];
const EVENT_KINDS: readonly FlowEvent['kind'][] = ['crash', 'restart', 'wipe', 'partition', 'partition-heal', 'heal-all', 'leader'];

// --- field checks, shared with the member trace's reader (member-trace.ts) ------------------------

export function check(ok: boolean, what: string): void {
  if (!ok) throw new FlowTraceError(what);
}

export function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

export function isInt(v: unknown): v is number {
  return Number.isSafeInteger(v);
}

export function isTime(v: unknown): v is number {
  return typeof v === 'number' && Number.isFinite(v) && v >= 0;
}

export function isSlot(v: unknown): boolean {
  return v === null || (isInt(v) && v >= 0);
}

export function list(trace: Record<string, unknown>, field: string): unknown[] {
  const items = trace[field];
  check(Array.isArray(items), `"${field}" must be an array`);
  return items as unknown[];
}

/** The text as a JSON object, or a FlowTraceError. */
export function parseObject(text: string): Record<string, unknown> {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (e) {
    throw new FlowTraceError(`not JSON (${(e as Error).message})`);
  }
  check(isObject(value), 'not a trace object');
  return value as Record<string, unknown>;
}

/** A decision, a view change and a proof, as both kinds of trace hold them; `isNode` says which ids are nodes. */
export function checkDecision(d: unknown, where: string, isNode: (v: unknown) => boolean): void {
  check(isObject(d) && isTime(d.atMs) && isNode(d.node) && isSlot(d.slot) && isInt(d.commands), `${where} must have "atMs", "node", "slot" and "commands"`);
}

export function checkEvidence(e: unknown, where: string, id: number, isNode: (v: unknown) => boolean): void {
  check(isObject(e) && e.id === id && isTime(e.atMs) && isNode(e.reporter) && isNode(e.culprit) && isSlot(e.slot), `${where} must have "id": ${id}, "atMs", "reporter", "culprit" and "slot"`);
  const messages = (e as Record<string, unknown>).messages;
  check(Array.isArray(messages) && messages.length > 0 && messages.every((s) => typeof s === 'string'), `${where}.messages must list the proof's messages`);
}

/**
 * Reads a trace file back (what `sim --trace-json` wrote, or another tool): checks every field
 * the diagram relies on, so a bad file fails here in one line rather than as a blank page.
 */
export function parseFlowTrace(text: string): FlowTrace {
  return checkFlowTrace(parseObject(text));
}

export function checkFlowTrace(t: Record<string, unknown>): FlowTrace {
  check(t.version === FLOW_TRACE_VERSION, `"version" must be ${FLOW_TRACE_VERSION}, got ${JSON.stringify(t.version)}`);
  check(FLOW_SOURCES.includes(t.source as FlowSource), `"source" must be one of ${FLOW_SOURCES.join(', ')}`);
  const deployed = t.source === 'deployed';
  check(typeof t.mode === 'string', '"mode" must be a string');
  check(deployed ? t.seed === null : isInt(t.seed), deployed ? 'a deployed trace\'s "seed" must be null' : '"seed" must be an integer');
  check(deployed ? typeof t.cluster === 'string' : t.cluster === null, deployed ? '"cluster" must be the cluster id' : 'a simulated trace\'s "cluster" must be null');
  check(deployed ? isTime(t.epochMs) : t.epochMs === null, deployed ? '"epochMs" must be a time in ms' : 'a simulated trace\'s "epochMs" must be null');
  check(isInt(t.f), '"f" must be an integer');
  check(isInt(t.n) && (t.n as number) >= 1, '"n" must be a positive integer');
  check(isTime(t.endMs), '"endMs" must be a time in ms');
  check(isInt(t.unrecorded) && (t.unrecorded as number) >= 0, '"unrecorded" must be a count');
  const n = t.n as number;
  const nodes = list(t, 'nodes');
  check(nodes.length === n, `"nodes" must list the ${n} nodes`);
  nodes.forEach((node, i) => check(isObject(node) && node.id === i && (node.byzantine === null || typeof node.byzantine === 'string'), `nodes[${i}] must be {"id": ${i}, "byzantine": null or a name}`));
  const isNode = (v: unknown) => isInt(v) && v >= 0 && v < n;
  const isEndpoint = (v: unknown) => v === CLIENTS || isNode(v);
  list(t, 'messages').forEach((m, i) => {
    const where = `messages[${i}]`;
    check(isObject(m), `${where} must be an object`);
    const msg = m as Record<string, unknown>;
    check(msg.id === i, `${where}.id must be ${i}`);
    check(isEndpoint(msg.from) && isEndpoint(msg.to), `${where}: "from" and "to" must be node ids or ${CLIENTS} (the clients)`);
    check(typeof msg.type === 'string' && typeof msg.text === 'string', `${where}: "type" and "text" must be strings`);
    check(isSlot(msg.slot), `${where}.slot must be null or a slot number`);
    check(isTime(msg.sentMs) && (msg.deliveredMs === null || isTime(msg.deliveredMs)), `${where}: "sentMs" must be a time and "deliveredMs" a time or null`);
    check(FATES.includes(msg.fate as MessageFate), `${where}.fate must be one of ${FATES.join(', ')}`);
    check((msg.fate === 'delivered') === (msg.deliveredMs !== null), `${where}: "deliveredMs" is set exactly when the fate is delivered`);
    check(RECORDED_BY.includes(msg.recordedBy as RecordedBy), `${where}.recordedBy must be one of ${RECORDED_BY.join(', ')}`);
  });
  list(t, 'events').forEach((e, i) => {
    check(isObject(e) && EVENT_KINDS.includes(e.kind as FlowEvent['kind']) && isTime(e.atMs), `events[${i}] must have a known "kind" and an "atMs"`);
    const event = e as Record<string, unknown>;
    if (event.kind === 'crash' || event.kind === 'restart' || event.kind === 'wipe' || event.kind === 'leader') check(isNode(event.node), `events[${i}].node must be a node id`);
    if (event.kind === 'partition') check(Array.isArray(event.side) && event.side.every(isNode), `events[${i}].side must list node ids`);
  });
  list(t, 'decisions').forEach((d, i) => checkDecision(d, `decisions[${i}]`, isNode));
  list(t, 'evidence').forEach((e, i) => checkEvidence(e, `evidence[${i}]`, i, isNode));
  return t as unknown as FlowTrace;
}
