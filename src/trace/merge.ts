// A deployed run's flow trace from its members' own recordings (member-trace.ts): each member saw
// only its end of a message, so a frame member X sent to member Y becomes one arrow by pairing
// X's 'sent' record with Y's 'received' record of the same frame: same (from, to, digest), the
// k-th send with the k-th receipt (a libp2p stream delivers a link's frames in order). What the
// other end did not record stays, drawn from the one end that did:
//   - a send nobody received is 'lost' if its receiver was recording then, else 'in-flight'
//     (the receiver is a client, has no trace, had stopped recording, or its file ends earlier);
//   - a receipt with no send (from a client, or a member without a trace) is drawn arriving at
//     the moment it was received, `recordedBy: 'receiver'`: when it left is unknown.
// Times are wall-clock, so arrows between machines are only as true as their clocks' agreement.
import type { NodeId } from '../base/types.ts';
import {
  CLIENTS,
  checkFlowTrace,
  FLOW_TRACE_VERSION,
  FlowTraceError,
  parseObject,
  roundMs,
  type FlowMessage,
  type FlowTrace,
  type MessageFate,
  type RecordedBy,
} from './flow-trace.ts';
import { checkMemberTrace, MEMBER_TRACE_FORMAT, type MemberMessage, type MemberTrace } from './member-trace.ts';

/** A trace file as read: a flow trace (a simulated run's, or one merged already), or one member's. */
export type TraceFile = { readonly kind: 'flow'; readonly trace: FlowTrace } | { readonly kind: 'member'; readonly trace: MemberTrace };

/** Reads either kind of trace file, told apart by the member trace's `format`; FlowTraceError if it is neither. */
export function parseTraceFile(text: string): TraceFile {
  const value = parseObject(text);
  if (value.format === MEMBER_TRACE_FORMAT) return { kind: 'member', trace: checkMemberTrace(value) };
  return { kind: 'flow', trace: checkFlowTrace(value) };
}

/** A member trace and the name to blame it by (its path). */
export interface NamedMemberTrace {
  readonly name: string;
  readonly trace: MemberTrace;
}

interface Draft {
  from: number;
  to: number;
  type: string;
  signed: boolean;
  slot: number | null;
  ballot: string | null;
  sentMs: number;
  deliveredMs: number | null;
  fate: MessageFate;
  recordedBy: RecordedBy;
  text: string;
  /** The send's wall-clock time, to judge whether its receiver was recording then. */
  atMs: number;
}

function shortId(cluster: string): string {
  return `${cluster.slice(0, 12)}…`;
}

/** Refuses traces that are not of one run: another mode, size or cluster, or one member twice. */
function checkOneRun(inputs: readonly NamedMemberTrace[]): void {
  const first = inputs[0]!;
  const a = first.trace;
  const seen = new Map<NodeId, string>();
  for (const { name, trace: b } of inputs) {
    if (b.mode !== a.mode || b.n !== a.n || b.f !== a.f) {
      throw new FlowTraceError(`${name} is a ${b.mode} run of ${b.n} members, ${first.name} a ${a.mode} run of ${a.n}: give the traces of one run`);
    }
    if (b.cluster !== a.cluster) throw new FlowTraceError(`${name} is of cluster ${shortId(b.cluster)}, ${first.name} of cluster ${shortId(a.cluster)}: give the traces of one run`);
    const other = seen.get(b.member);
    if (other !== undefined) throw new FlowTraceError(`${other} and ${name} are both member n${b.member}'s trace`);
    seen.set(b.member, name);
  }
}

function pairKey(from: number, to: number, digest: string): string {
  return `${from}>${to}#${digest}`;
}

/** When the member last recorded anything: a full trace stopped at its last record, not at its file's end. */
function recordedUntil(trace: MemberTrace): number {
  if (!trace.truncated) return trace.endMs;
  let last = trace.startedMs;
  for (const list of [trace.messages, trace.events, trace.decisions, trace.evidence]) for (const r of list) last = Math.max(last, r.atMs);
  return last;
}

/**
 * Whether a send nobody recorded receiving was lost: its receiver is a member with a trace that
 * covers the send (it was recording, or had stopped for good, when it left). Otherwise nothing
 * says whether it arrived.
 */
function lostAt(receiver: MemberTrace | undefined, atMs: number): boolean {
  if (receiver === undefined) return false;
  if (receiver.truncated) return atMs <= recordedUntil(receiver);
  return receiver.stopped || atMs <= receiver.endMs;
}

export function mergeMemberTraces(inputs: readonly NamedMemberTrace[]): FlowTrace {
  if (inputs.length === 0) throw new FlowTraceError('no member traces to merge');
  checkOneRun(inputs);
  const traces = inputs.map((i) => i.trace).sort((a, b) => a.member - b.member);
  const run = traces[0]!;
  const byMember = new Map(traces.map((t) => [t.member, t]));
  const epochMs = Math.min(...traces.map((t) => t.startedMs));
  const at = (t: number) => roundMs(t - epochMs);
  const draft = (m: MemberMessage, from: number, to: number, fate: MessageFate, recordedBy: RecordedBy): Draft => ({
    from,
    to,
    type: m.type,
    signed: m.signed,
    slot: m.slot,
    ballot: m.ballot,
    sentMs: at(m.atMs),
    deliveredMs: fate === 'delivered' ? at(m.atMs) : null,
    fate,
    recordedBy,
    text: m.text,
    atMs: m.atMs,
  });

  const drafts: Draft[] = [];
  /** Sends not yet paired with a receipt, per (from, to, digest), oldest first. */
  const unpaired = new Map<string, Draft[]>();
  for (const trace of traces) {
    for (const m of trace.messages) {
      if (m.kind === 'received') continue;
      const d = draft(m, trace.member, m.peer, m.kind === 'refused' ? 'dropped' : 'in-flight', 'sender');
      drafts.push(d);
      if (m.kind !== 'sent' || m.peer === CLIENTS) continue;
      const key = pairKey(trace.member, m.peer, m.digest);
      const queue = unpaired.get(key);
      if (queue === undefined) unpaired.set(key, [d]);
      else queue.push(d);
    }
  }
  for (const trace of traces) {
    for (const m of trace.messages) {
      if (m.kind !== 'received') continue;
      const send = m.peer === CLIENTS ? undefined : unpaired.get(pairKey(m.peer, trace.member, m.digest))?.shift();
      if (send === undefined) {
        drafts.push(draft(m, m.peer, trace.member, 'delivered', 'receiver'));
        continue;
      }
      send.deliveredMs = at(m.atMs);
      send.fate = 'delivered';
      send.recordedBy = 'both';
    }
  }
  for (const queue of unpaired.values()) for (const d of queue) d.fate = lostAt(byMember.get(d.to), d.atMs) ? 'lost' : 'in-flight';

  // In order of sending (a stable sort: one member's records keep their order within a millisecond).
  drafts.sort((a, b) => a.sentMs - b.sentMs);
  const messages: FlowMessage[] = drafts.map((d, id) => ({
    id,
    from: d.from,
    to: d.to,
    type: d.type,
    signed: d.signed,
    slot: d.slot,
    ballot: d.ballot,
    sentMs: d.sentMs,
    deliveredMs: d.deliveredMs,
    fate: d.fate,
    duplicate: false,
    recordedBy: d.recordedBy,
    text: d.text,
  }));
  const byTime = <T extends { atMs: number }>(items: T[]) => items.sort((a, b) => a.atMs - b.atMs);
  const trace: FlowTrace = {
    version: FLOW_TRACE_VERSION,
    source: 'deployed',
    mode: run.mode,
    seed: null,
    cluster: run.cluster,
    epochMs,
    n: run.n,
    f: run.f,
    nodes: [...Array(run.n).keys()].map((id) => ({ id, byzantine: byMember.get(id)?.adversary ?? null })),
    // No spread over the messages: a few hundred thousand arguments overflow the stack.
    endMs: messages.reduce((end, m) => Math.max(end, m.deliveredMs ?? m.sentMs), Math.max(...traces.map((t) => at(t.endMs)))),
    unrecorded: traces.reduce((sum, t) => sum + t.unrecorded, 0),
    messages,
    events: byTime(traces.flatMap((t) => t.events.map((e) => ({ ...e, atMs: at(e.atMs) })))),
    decisions: byTime(traces.flatMap((t) => t.decisions.map((d) => ({ ...d, atMs: at(d.atMs) })))),
    evidence: byTime(traces.flatMap((t) => t.evidence.map((e) => ({ ...e, atMs: at(e.atMs) })))).map((e, id) => ({ ...e, id })),
  };
  return trace;
}
