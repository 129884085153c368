// The JSON form of one simulated run's message flow: what `sim --trace-json` writes and what the
// flow diagram (flow-html.ts) draws. A recorder the simulator feeds as the run happens; it only
// observes, so a run with it has the same trace hash as one without.
import type { Ballot, NodeId } from '../base/types.ts';
import { formatBallot } from '../base/ballot.ts';
import { evidenceEnvelopes, type Evidence } from '../messages/evidence.ts';
import { CodecError, decodeMessage } from '../messages/codec.ts';
import { formatMessage, type OpFormatter } from '../messages/format.ts';
import type { Message } from '../messages/types.ts';

/** The clients' side of the network, as an endpoint of a message. */
export const CLIENTS = -1;
/** Bumped when a field changes meaning; readers check it. */
export const FLOW_TRACE_VERSION = 1;

export type MessageFate =
  /** Reached a live node (or a client) at `deliveredMs`. */
  | 'delivered'
  /** Lost by the network's drop fault. */
  | 'dropped'
  /** Not sent across a partition. */
  | 'partitioned'
  /** Arrived at a crashed node, or was lost by a scripted hook. */
  | 'lost'
  /** Still in flight when the run ended. */
  | 'in-flight';

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
  readonly sentMs: number;
  deliveredMs: number | null;
  fate: MessageFate;
  /** The second copy of a duplicated send. */
  readonly duplicate: boolean;
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
  readonly mode: string;
  readonly seed: number;
  readonly n: number;
  readonly f: number;
  readonly nodes: readonly { readonly id: NodeId; readonly byzantine: string | null }[];
  readonly endMs: number;
  readonly messages: readonly FlowMessage[];
  readonly events: readonly FlowEvent[];
  readonly decisions: readonly FlowDecision[];
  readonly evidence: readonly FlowEvidence[];
}

/** Microsecond resolution keeps the file small and its bytes stable. */
function ms(t: number): number {
  return Math.round(t * 1000) / 1000;
}

/** Where a message carries them, its slot and ballot (looking inside a signed envelope). */
function slotAndBallot(msg: Message): { type: string; slot: number | null; ballot: string | null } {
  let inner: Message = msg;
  if (msg.type === 'signed') {
    try {
      inner = decodeMessage(msg.payload);
    } catch (e) {
      if (!(e instanceof CodecError)) throw e;
      return { type: 'signed', slot: null, ballot: null };
    }
  }
  const fields = inner as { slot?: unknown; ballot?: unknown };
  return {
    type: inner.type,
    slot: typeof fields.slot === 'number' ? fields.slot : null,
    ballot: typeof fields.ballot === 'object' && fields.ballot !== null ? formatBallot(fields.ballot as Ballot) : null,
  };
}

export class FlowRecorder {
  private readonly messages: FlowMessage[] = [];
  private readonly events: FlowEvent[] = [];
  private readonly decisions: FlowDecision[] = [];
  private readonly evidence: FlowEvidence[] = [];

  private readonly formatOp: OpFormatter;

  constructor(formatOp: OpFormatter) {
    this.formatOp = formatOp;
  }

  /** Records a send; returns its id for `arrived` (a message in flight until then). */
  sent(atMs: number, from: number, to: number, msg: Message, fate: MessageFate, duplicate = false): number {
    const id = this.messages.length;
    this.messages.push({
      id,
      from,
      to,
      ...slotAndBallot(msg),
      signed: msg.type === 'signed',
      sentMs: ms(atMs),
      deliveredMs: null,
      fate,
      duplicate,
      text: formatMessage(msg, this.formatOp),
    });
    return id;
  }

  arrived(id: number, atMs: number, fate: 'delivered' | 'lost'): void {
    const message = this.messages[id]!;
    message.fate = fate;
    message.deliveredMs = fate === 'delivered' ? ms(atMs) : null;
  }

  event(event: FlowEvent): void {
    this.events.push({ ...event, atMs: ms(event.atMs) });
  }

  decided(atMs: number, node: NodeId, slot: number, commands: number): void {
    this.decisions.push({ atMs: ms(atMs), node, slot, commands });
  }

  proved(atMs: number, reporter: NodeId, culprit: NodeId, evidence: Evidence): void {
    const envelopes = evidenceEnvelopes(evidence);
    this.evidence.push({
      id: this.evidence.length,
      atMs: ms(atMs),
      reporter,
      culprit,
      kind: evidence.kind,
      slot: slotAndBallot(envelopes[0]!).slot,
      messages: envelopes.map((e) => formatMessage(e, this.formatOp)),
    });
  }

  finish(run: { mode: string; seed: number; n: number; f: number; endMs: number; byzantine: ReadonlyMap<NodeId, { name: string }> }): FlowTrace {
    return {
      version: FLOW_TRACE_VERSION,
      mode: run.mode,
      seed: run.seed,
      n: run.n,
      f: run.f,
      nodes: [...Array(run.n).keys()].map((id) => ({ id, byzantine: run.byzantine.get(id)?.name ?? null })),
      endMs: ms(run.endMs),
      messages: this.messages,
      events: this.events,
      decisions: this.decisions,
      evidence: this.evidence,
    };
  }
}

/** One line per message, so a diff of two runs' files reads message by message. */
export function encodeFlowTrace(trace: FlowTrace): string {
  const { messages, events, decisions, evidence, ...head } = trace;
  const list = (items: readonly unknown[]) => (items.length === 0 ? '[]' : `[\n${items.map((i) => `  ${JSON.stringify(i)}`).join(',\n')}\n]`);
  const body = Object.entries(head).map(([k, v]) => `${JSON.stringify(k)}: ${JSON.stringify(v)}`);
  body.push(`"messages": ${list(messages)}`, `"events": ${list(events)}`, `"decisions": ${list(decisions)}`, `"evidence": ${list(evidence)}`);
  return `{\n${body.join(',\n')}\n}\n`;
}

/** A trace file is wrong; `message` is one line naming what (the path is added by the caller). */
export class FlowTraceError extends Error {
  override name = 'FlowTraceError';
}

const FATES: readonly MessageFate[] = ['delivered', 'dropped', 'partitioned', 'lost', 'in-flight'];
const EVENT_KINDS: readonly FlowEvent['kind'][] = ['crash', 'restart', 'wipe', 'partition', 'partition-heal', 'heal-all', 'leader'];

function check(ok: boolean, what: string): void {
  if (!ok) throw new FlowTraceError(what);
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function isInt(v: unknown): v is number {
  return Number.isSafeInteger(v);
}

function isTime(v: unknown): v is number {
  return typeof v === 'number' && Number.isFinite(v) && v >= 0;
}

function list(trace: Record<string, unknown>, field: string): unknown[] {
  const items = trace[field];
  check(Array.isArray(items), `"${field}" must be an array`);
  return items as unknown[];
}

/**
 * Reads a trace file back (what `sim --trace-json` wrote, or another tool): checks every field
 * the diagram relies on, so a bad file fails here in one line rather than as a blank page.
 */
export function parseFlowTrace(text: string): FlowTrace {
  let trace: unknown;
  try {
    trace = JSON.parse(text);
  } catch (e) {
    throw new FlowTraceError(`not JSON (${(e as Error).message})`);
  }
  check(isObject(trace), 'not a trace object');
  const t = trace as Record<string, unknown>;
  check(t.version === FLOW_TRACE_VERSION, `"version" must be ${FLOW_TRACE_VERSION}, got ${JSON.stringify(t.version)}`);
  check(typeof t.mode === 'string', '"mode" must be a string');
  check(isInt(t.seed) && isInt(t.f), '"seed" and "f" must be integers');
  check(isInt(t.n) && (t.n as number) >= 1, '"n" must be a positive integer');
  check(isTime(t.endMs), '"endMs" must be a time in ms');
  const n = t.n as number;
  const nodes = list(t, 'nodes');
  check(nodes.length === n, `"nodes" must list the ${n} nodes`);
  nodes.forEach((node, i) => check(isObject(node) && node.id === i && (node.byzantine === null || typeof node.byzantine === 'string'), `nodes[${i}] must be {"id": ${i}, "byzantine": null or a name}`));
  const isNode = (v: unknown) => isInt(v) && v >= 0 && v < n;
  const isEndpoint = (v: unknown) => v === CLIENTS || isNode(v);
  const slotOk = (v: unknown) => v === null || (isInt(v) && v >= 0);
  list(t, 'messages').forEach((m, i) => {
    const where = `messages[${i}]`;
    check(isObject(m), `${where} must be an object`);
    const msg = m as Record<string, unknown>;
    check(msg.id === i, `${where}.id must be ${i}`);
    check(isEndpoint(msg.from) && isEndpoint(msg.to), `${where}: "from" and "to" must be node ids or ${CLIENTS} (the clients)`);
    check(typeof msg.type === 'string' && typeof msg.text === 'string', `${where}: "type" and "text" must be strings`);
    check(slotOk(msg.slot), `${where}.slot must be null or a slot number`);
    check(isTime(msg.sentMs) && (msg.deliveredMs === null || isTime(msg.deliveredMs)), `${where}: "sentMs" must be a time and "deliveredMs" a time or null`);
    check(FATES.includes(msg.fate as MessageFate), `${where}.fate must be one of ${FATES.join(', ')}`);
    check((msg.fate === 'delivered') === (msg.deliveredMs !== null), `${where}: "deliveredMs" is set exactly when the fate is delivered`);
  });
  list(t, 'events').forEach((e, i) => {
    check(isObject(e) && EVENT_KINDS.includes(e.kind as FlowEvent['kind']) && isTime(e.atMs), `events[${i}] must have a known "kind" and an "atMs"`);
    const event = e as Record<string, unknown>;
    if (event.kind === 'crash' || event.kind === 'restart' || event.kind === 'wipe' || event.kind === 'leader') check(isNode(event.node), `events[${i}].node must be a node id`);
    if (event.kind === 'partition') check(Array.isArray(event.side) && event.side.every(isNode), `events[${i}].side must list node ids`);
  });
  list(t, 'decisions').forEach((d, i) => check(isObject(d) && isTime(d.atMs) && isNode(d.node) && slotOk(d.slot), `decisions[${i}] must have "atMs", "node" and "slot"`));
  list(t, 'evidence').forEach((e, i) => {
    check(isObject(e) && e.id === i && isTime(e.atMs) && isNode(e.reporter) && isNode(e.culprit) && slotOk(e.slot), `evidence[${i}] must have "id": ${i}, "atMs", "reporter", "culprit" and "slot"`);
    const messages = (e as Record<string, unknown>).messages;
    check(Array.isArray(messages) && messages.length > 0 && messages.every((s) => typeof s === 'string'), `evidence[${i}].messages must list the proof's messages`);
  });
  return trace as FlowTrace;
}
