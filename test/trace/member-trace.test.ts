// A deployed member's own trace (`start --trace-json`): what it records of a frame (the type a
// signed envelope carries, slot, ballot, a digest both ends compute alike), that it stops at its
// bound and says how much it left out, and that its file reads back or is refused naming the field.
import { describe, expect, it } from 'vitest';
import { formatKvOp } from '../../src/app/kv.ts';
import { TRACE_RECORDS_MAX, TRACE_TEXT_CHARS_MAX } from '../../src/base/limits.ts';
import type { WireMessage } from '../../src/messages/types.ts';
import { CLIENTS, FlowTraceError } from '../../src/trace/flow-trace.ts';
import { FRAME_DIGEST_HEX, frameDigest, MemberTraceRecorder, parseMemberTrace } from '../../src/trace/member-trace.ts';
import { frame, heartbeat, RUN, signedVerify } from './fixtures.ts';

describe('a member trace', () => {
  it('records each frame it sends and receives with the type inside a signed envelope, its slot and ballot, and a digest of its bytes', () => {
    const recorder = new MemberTraceRecorder(RUN, formatKvOp);
    const verify = signedVerify(3);
    recorder.sent(1_010.5, 2, verify, frame(verify), true);
    recorder.received(1_011.25, 0, heartbeat(1), frame(heartbeat(1)));
    recorder.sent(1_012, 3, heartbeat(1), frame(heartbeat(1)), false);
    const status: WireMessage = {
      type: 'status-reply',
      nonce: 9,
      node: 1,
      mode: 'byzantine',
      ballot: { round: 1, leader: 0 },
      isLeader: false,
      decidedUpTo: 4,
      uptimeMs: 5,
      counts: { decisions: 0, viewChanges: 0, messagesIn: 0, messagesOut: 0, rejected: 0, evidence: 0, suspicions: 0 },
      workingRound: 1,
      outsideWorkingBallot: false,
      configurations: [],
    };
    recorder.sent(1_013, CLIENTS, status, frame(status), true);
    recorder.leader(1_014, { round: 2, leader: 1 });
    recorder.decided(1_015, 0, 3);
    const trace = parseMemberTrace(recorder.encode(1_020, true));
    expect(trace).toMatchObject({ ...RUN, endMs: 1_020, stopped: true, truncated: false, unrecorded: 0 });
    expect(trace.messages).toEqual([
      { kind: 'sent', atMs: 1_010.5, peer: 2, type: 'verify', signed: true, slot: 3, ballot: '(1,n0)', digest: frameDigest(frame(verify)), text: 'Verify b=(1,n0) s=3 d=07070707 [signed n0]' },
      { kind: 'received', atMs: 1_011.25, peer: 0, type: 'heartbeat', signed: false, slot: null, ballot: '(1,n0)', digest: frameDigest(frame(heartbeat(1))), text: 'Heartbeat b=(1,n0) decided<0' },
      expect.objectContaining({ kind: 'refused', peer: 3, type: 'heartbeat' }),
      expect.objectContaining({ kind: 'sent', peer: CLIENTS, type: 'status-reply', text: 'StatusReply n1 b=(1,n0) decided<4' }),
    ]);
    expect(trace.events).toEqual([{ kind: 'leader', atMs: 1_014, node: 1, ballot: '(2,n1)' }]);
    expect(trace.decisions).toEqual([{ atMs: 1_015, node: 1, slot: 0, commands: 3 }]);
  });

  it('records a signed envelope whose payload does not decode (a Byzantine peer\'s) as "signed", without failing', () => {
    const recorder = new MemberTraceRecorder(RUN, formatKvOp);
    const garbage: WireMessage = { type: 'signed', signer: 2, payload: new Uint8Array([0xff, 0xff, 0xff]), signature: new Uint8Array(64) };
    recorder.received(1_001, 2, garbage, frame(garbage));
    const [m] = parseMemberTrace(recorder.encode(1_002, true)).messages;
    expect(m).toMatchObject({ type: 'signed', signed: true, slot: null, ballot: null, text: '<3 undecodable bytes> [signed n2]' });
  });

  it('its digest is the same for the same bytes, on both ends, and differs for different bytes', () => {
    const a = frameDigest(frame(heartbeat(1)));
    expect(a).toMatch(new RegExp(`^[0-9a-f]{${FRAME_DIGEST_HEX}}$`));
    expect(frameDigest(Uint8Array.from(frame(heartbeat(1))))).toBe(a);
    expect(frameDigest(frame(heartbeat(1, 1)))).not.toBe(a);
  });

  it('cuts a long text to TRACE_TEXT_CHARS_MAX characters', () => {
    const recorder = new MemberTraceRecorder(RUN, () => 'x'.repeat(10_000));
    const request: WireMessage = { type: 'request', command: { clientId: 1, session: 1, seq: 1, op: new Uint8Array([1]), signature: new Uint8Array(64) } };
    recorder.received(1_001, CLIENTS, request, frame(request));
    const [m] = parseMemberTrace(recorder.encode(1_002, true)).messages;
    expect(m!.text).toHaveLength(TRACE_TEXT_CHARS_MAX);
    expect(m!.text.endsWith('…')).toBe(true);
  });

  it('stops at its bound: the file says truncated and counts the messages it left out', () => {
    expect(TRACE_RECORDS_MAX).toBe(200_000);
    const limit = 5;
    const recorder = new MemberTraceRecorder(RUN, formatKvOp, limit);
    for (let i = 0; i < 4; i++) recorder.received(1_001 + i, 0, heartbeat(1, i), frame(heartbeat(1, i)));
    recorder.decided(1_005, 0, 1);
    expect(recorder.truncated).toBe(false);
    expect(recorder.records).toBe(limit);
    recorder.encode(1_006, false);
    expect(recorder.dirty).toBe(false);
    for (let i = 0; i < 7; i++) recorder.sent(1_010 + i, 2, heartbeat(1, i), frame(heartbeat(1, i)), true);
    recorder.decided(1_020, 1, 1);
    recorder.leader(1_021, { round: 2, leader: 1 });
    expect(recorder.dirty).toBe(true);
    const trace = parseMemberTrace(recorder.encode(1_030, true));
    expect(trace).toMatchObject({ truncated: true, unrecorded: 7 });
    expect(trace.messages).toHaveLength(4);
    expect(trace.decisions).toHaveLength(1);
    expect(trace.events).toHaveLength(0);
    expect(recorder.records).toBe(limit);
  });

  it('a malformed file is refused, naming the field', () => {
    const recorder = new MemberTraceRecorder(RUN, formatKvOp);
    recorder.received(1_001, 0, heartbeat(1), frame(heartbeat(1)));
    const good = JSON.parse(recorder.encode(1_002, true)) as Record<string, unknown>;
    const message = (good.messages as Record<string, unknown>[])[0]!;
    const cases: [string, unknown, RegExp][] = [
      ['not json', '[', /not JSON/],
      ['version', { ...good, version: 9 }, /"version" must be 1, got 9/],
      ['member', { ...good, member: 4 }, /"member" must be a member id, 0\.\.3/],
      ['cluster', { ...good, cluster: 'not hex' }, /"cluster" must be the cluster id in hex/],
      ['end before start', { ...good, endMs: 999 }, /the end not before the start/],
      ['kind', { ...good, messages: [{ ...message, kind: 'dreamt' }] }, /messages\[0\]\.kind/],
      ['peer is itself', { ...good, messages: [{ ...message, peer: 1 }] }, /messages\[0\]\.peer must be another member's id/],
      ['digest', { ...good, messages: [{ ...message, digest: 'abc' }] }, /messages\[0\]\.digest must be 16 hex characters/],
      ['another node leads', { ...good, events: [{ kind: 'leader', atMs: 1_001, node: 2, ballot: '(1,n2)' }] }, /events\[0\]/],
      ['truncated', { ...good, truncated: 'yes' }, /"stopped" and "truncated"/],
    ];
    for (const [name, value, pattern] of cases) {
      const text = typeof value === 'string' ? value : JSON.stringify(value);
      expect(() => parseMemberTrace(text), name).toThrow(FlowTraceError);
      expect(() => parseMemberTrace(text), name).toThrow(pattern);
    }
  });
});
