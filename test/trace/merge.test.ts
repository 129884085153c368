// Merging the members' traces of a deployed run (`flow N0.json N1.json …`): a send and its receipt
// become one arrow only when they are of the same frame on the same link (digests that differ are
// never paired), identical frames pair in order, what one end alone recorded stays with the fate
// that end can vouch for, and traces of different runs are refused.
import { describe, expect, it } from 'vitest';
import { formatKvOp } from '../../src/app/kv.ts';
import { renderFlowHtml } from '../../src/sim/flow-html.ts';
import { CLIENTS, encodeFlowTrace, FlowTraceError, parseFlowTrace, type FlowMessage, type FlowTrace } from '../../src/trace/flow-trace.ts';
import { MemberTraceRecorder, parseMemberTrace, type MemberRun, type MemberTrace } from '../../src/trace/member-trace.ts';
import { mergeMemberTraces, parseTraceFile, type NamedMemberTrace } from '../../src/trace/merge.ts';
import type { WireMessage } from '../../src/messages/types.ts';
import { frame, heartbeat, RUN, signedVerify } from './fixtures.ts';

function recorder(member: number, startedMs: number, run: Partial<MemberRun> = {}, limit?: number): MemberTraceRecorder {
  return new MemberTraceRecorder({ ...RUN, member, startedMs, ...run }, formatKvOp, limit);
}

/** Through the file, as `flow` reads it. */
function named(rec: MemberTraceRecorder, endMs: number, stopped = true): NamedMemberTrace {
  const trace: MemberTrace = parseMemberTrace(rec.encode(endMs, stopped));
  return { name: `n${trace.member}.json`, trace };
}

function send(rec: MemberTraceRecorder, atMs: number, to: number, msg: WireMessage, queued = true): void {
  rec.sent(atMs, to, msg, frame(msg), queued);
}

function receive(rec: MemberTraceRecorder, atMs: number, from: number, msg: WireMessage): void {
  rec.received(atMs, from, msg, frame(msg));
}

/** The fields that say how a message was paired, in the order the merge lists them (by time sent). */
function arrows(trace: FlowTrace): Pick<FlowMessage, 'from' | 'to' | 'type' | 'sentMs' | 'deliveredMs' | 'fate' | 'recordedBy'>[] {
  return trace.messages.map(({ from, to, type, sentMs, deliveredMs, fate, recordedBy }) => ({ from, to, type, sentMs, deliveredMs, fate, recordedBy }));
}

describe('merging member traces', () => {
  it('pairs each send with the receipt of the same frame, identical frames in order, and keeps what one end alone recorded', () => {
    const n0 = recorder(0, 1_000);
    const n1 = recorder(1, 1_002);
    const n2 = recorder(2, 1_001);
    // Paired: the same frame on the same link; two identical frames pair first with first.
    send(n0, 1_010, 1, heartbeat(1));
    receive(n1, 1_011, 0, heartbeat(1));
    send(n0, 1_020, 1, heartbeat(2));
    send(n0, 1_030, 1, heartbeat(2));
    receive(n1, 1_022, 0, heartbeat(2));
    receive(n1, 1_031, 0, heartbeat(2));
    send(n2, 1_012, 0, signedVerify(3, 2));
    receive(n0, 1_013, 2, signedVerify(3, 2));
    // Refused by the transport; to a member without a trace; to a client.
    send(n0, 1_014, 2, heartbeat(1), false);
    send(n0, 1_015, 3, heartbeat(1));
    send(n0, 1_016, CLIENTS, heartbeat(1));
    // Received from a member without a trace, and from a client.
    receive(n1, 1_017, 3, heartbeat(9));
    receive(n2, 1_018, CLIENTS, heartbeat(8));
    const merged = mergeMemberTraces([named(n1, 1_100), named(n0, 1_100), named(n2, 1_100)]);
    expect(merged).toMatchObject({ source: 'deployed', mode: 'byzantine', n: 4, f: 1, seed: null, cluster: 'c0ffee', epochMs: 1_000, endMs: 100, unrecorded: 0 });
    expect(arrows(merged)).toEqual([
      { from: 0, to: 1, type: 'heartbeat', sentMs: 10, deliveredMs: 11, fate: 'delivered', recordedBy: 'both' },
      { from: 2, to: 0, type: 'verify', sentMs: 12, deliveredMs: 13, fate: 'delivered', recordedBy: 'both' },
      { from: 0, to: 2, type: 'heartbeat', sentMs: 14, deliveredMs: null, fate: 'dropped', recordedBy: 'sender' },
      { from: 0, to: 3, type: 'heartbeat', sentMs: 15, deliveredMs: null, fate: 'in-flight', recordedBy: 'sender' },
      { from: 0, to: CLIENTS, type: 'heartbeat', sentMs: 16, deliveredMs: null, fate: 'in-flight', recordedBy: 'sender' },
      { from: 3, to: 1, type: 'heartbeat', sentMs: 17, deliveredMs: 17, fate: 'delivered', recordedBy: 'receiver' },
      { from: CLIENTS, to: 2, type: 'heartbeat', sentMs: 18, deliveredMs: 18, fate: 'delivered', recordedBy: 'receiver' },
      { from: 0, to: 1, type: 'heartbeat', sentMs: 20, deliveredMs: 22, fate: 'delivered', recordedBy: 'both' },
      { from: 0, to: 1, type: 'heartbeat', sentMs: 30, deliveredMs: 31, fate: 'delivered', recordedBy: 'both' },
    ]);
    expect(merged.messages.map((m) => m.id)).toEqual([...merged.messages.keys()]);
    // What the page draws reads back as a flow trace of its own.
    expect(parseFlowTrace(encodeFlowTrace(merged))).toEqual(JSON.parse(JSON.stringify(merged)));
    expect(renderFlowHtml(merged)).toContain('<title>byzpaxos byzantine n=4 f=1 deployed, cluster c0ffee…, 0 ms = 1970-01-01T00:00:01.000Z</title>');
  });

  it('can fail to pair: a receipt of other bytes, or from another sender, is no receipt of the send', () => {
    const n0 = recorder(0, 1_000);
    const n1 = recorder(1, 1_000);
    const n2 = recorder(2, 1_000);
    send(n0, 1_010, 2, signedVerify(3));
    // n2 got a Verify of another slot from n0 (other bytes), and the very frame n0 sent, but from n1.
    receive(n2, 1_011, 0, signedVerify(4));
    receive(n2, 1_012, 1, signedVerify(3));
    const merged = mergeMemberTraces([named(n0, 1_050), named(n1, 1_050), named(n2, 1_050)]);
    expect(arrows(merged)).toEqual([
      { from: 0, to: 2, type: 'verify', sentMs: 10, deliveredMs: null, fate: 'lost', recordedBy: 'sender' },
      { from: 0, to: 2, type: 'verify', sentMs: 11, deliveredMs: 11, fate: 'delivered', recordedBy: 'receiver' },
      { from: 1, to: 2, type: 'verify', sentMs: 12, deliveredMs: 12, fate: 'delivered', recordedBy: 'receiver' },
    ]);
    expect(merged.messages.filter((m) => m.recordedBy === 'both')).toEqual([]);
  });

  it('calls a send lost only where its receiver was recording: not past the end of a killed member\'s file, nor past a full trace', () => {
    const n0 = recorder(0, 1_000);
    const killed = recorder(1, 1_000);
    const full = recorder(2, 1_000, {}, 1);
    receive(full, 1_005, 0, heartbeat(7));
    receive(full, 1_006, 0, heartbeat(8)); // past its bound: unrecorded
    send(n0, 1_004, 2, heartbeat(6)); // before n2's last record: it was recording, so lost
    send(n0, 1_010, 1, heartbeat(1)); // n1's file, not a stopped one, ends at 1 020: it was recording
    send(n0, 1_030, 1, heartbeat(2)); // after that file ends: unknown
    send(n0, 1_030, 2, heartbeat(3)); // after n2's trace filled up: unknown
    const merged = mergeMemberTraces([named(n0, 1_050), named(killed, 1_020, false), named(full, 1_050)]);
    expect(merged.unrecorded).toBe(1);
    expect(arrows(merged).filter((m) => m.recordedBy === 'sender')).toEqual([
      { from: 0, to: 2, type: 'heartbeat', sentMs: 4, deliveredMs: null, fate: 'lost', recordedBy: 'sender' },
      { from: 0, to: 1, type: 'heartbeat', sentMs: 10, deliveredMs: null, fate: 'lost', recordedBy: 'sender' },
      { from: 0, to: 1, type: 'heartbeat', sentMs: 30, deliveredMs: null, fate: 'in-flight', recordedBy: 'sender' },
      { from: 0, to: 2, type: 'heartbeat', sentMs: 30, deliveredMs: null, fate: 'in-flight', recordedBy: 'sender' },
    ]);
  });

  it('carries each member\'s decisions, the ballots it came to lead, its proofs and its adversary, on one time axis', () => {
    const n0 = recorder(0, 1_000, { adversary: 'equivocating-leader' });
    const n1 = recorder(1, 1_010);
    n0.leader(1_001, { round: 1, leader: 0 });
    n1.decided(1_020, 0, 2);
    n0.decided(1_015, 0, 2);
    n1.proved(1_030, { kind: 'equivocation', first: signedVerify(1), second: signedVerify(2) });
    const merged = mergeMemberTraces([named(n0, 1_040), named(n1, 1_040)]);
    expect(merged.nodes).toEqual([
      { id: 0, byzantine: 'equivocating-leader' },
      { id: 1, byzantine: null },
      { id: 2, byzantine: null },
      { id: 3, byzantine: null },
    ]);
    expect(merged.events).toEqual([{ kind: 'leader', atMs: 1, node: 0, ballot: '(1,n0)' }]);
    expect(merged.decisions).toEqual([
      { atMs: 15, node: 0, slot: 0, commands: 2 },
      { atMs: 20, node: 1, slot: 0, commands: 2 },
    ]);
    expect(merged.evidence).toEqual([expect.objectContaining({ id: 0, atMs: 30, reporter: 1, culprit: 0, kind: 'equivocation', slot: 1 })]);
  });

  it('refuses traces of different runs, and one member twice, naming the files', () => {
    const n0 = named(recorder(0, 1_000), 1_010);
    const cases: [NamedMemberTrace[], RegExp][] = [
      [[n0, named(recorder(1, 1_000, { cluster: 'beef' }), 1_010)], /^n1\.json is of cluster beef…, n0\.json of cluster c0ffee…: give the traces of one run$/],
      [[n0, named(recorder(1, 1_000, { mode: 'crash', n: 3 }), 1_010)], /^n1\.json is a crash run of 3 members, n0\.json a byzantine run of 4/],
      [[n0, { ...named(recorder(0, 1_000), 1_010), name: 'again.json' }], /^n0\.json and again\.json are both member n0's trace$/],
      [[], /no member traces/],
    ];
    for (const [inputs, pattern] of cases) {
      expect(() => mergeMemberTraces(inputs)).toThrow(FlowTraceError);
      expect(() => mergeMemberTraces(inputs)).toThrow(pattern);
    }
  });

  it('tells a member trace from a flow trace by its format, and checks each as its own kind', () => {
    const member = recorder(0, 1_000).encode(1_001, true);
    expect(parseTraceFile(member).kind).toBe('member');
    const merged = encodeFlowTrace(mergeMemberTraces([named(recorder(0, 1_000), 1_001)]));
    expect(parseTraceFile(merged).kind).toBe('flow');
    expect(() => parseTraceFile(member.replace('"version": 1', '"version": 2'))).toThrow(/"version" must be 1, got 2/);
    expect(() => parseTraceFile('{"hello": "world"}')).toThrow(/"version" must be 2/);
  });
});
