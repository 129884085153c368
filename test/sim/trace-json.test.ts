// The flow trace (`sim --trace-json`): recording it changes nothing in the run, it records what
// the run did (faults, view changes, proofs), and its file parses back to the same trace, while
// a malformed file is refused with a line naming the field.
import { describe, expect, it } from 'vitest';
import { adversaryNamed } from '../../src/adversary/strategies.ts';
import { parseFaults } from '../../src/sim/faults.ts';
import { simulate, type SimOptions } from '../../src/sim/simulator.ts';
import { CLIENTS, encodeFlowTrace, FlowTraceError, parseFlowTrace, type FlowTrace } from '../../src/trace/flow-trace.ts';

const FAULTY: SimOptions = { seed: 3, f: 1, commands: 20, faults: parseFaults('drop=0.1,dup=0.05,reorder,partition,crash') };
const EQUIVOCATING: SimOptions = { mode: 'byzantine', seed: 1, f: 1, commands: 10, byzantine: { strategies: [adversaryNamed('equivocating-leader')!], nodes: [0] } };

function flowOf(options: SimOptions): FlowTrace {
  const flow = simulate({ ...options, flow: true }).flow;
  expect(flow).not.toBeNull();
  return flow!;
}

describe('flow trace', () => {
  it('recording it leaves the run unchanged (same trace hash), in crash mode with faults and with a Byzantine leader', () => {
    for (const options of [FAULTY, EQUIVOCATING]) {
      const plain = simulate(options);
      const recorded = simulate({ ...options, flow: true });
      expect(recorded.traceHash).toBe(plain.traceHash);
      expect(plain.flow).toBeNull();
    }
  });

  it('records the faults of a faulty run: drops, partitions, crashes and restarts, a leader', () => {
    const flow = flowOf(FAULTY);
    const fates = new Set(flow.messages.map((m) => m.fate));
    for (const fate of ['delivered', 'dropped', 'partitioned'] as const) expect(fates, fate).toContain(fate);
    const kinds = new Set(flow.events.map((e) => e.kind));
    for (const kind of ['crash', 'restart', 'partition', 'heal-all', 'leader'] as const) expect(kinds, kind).toContain(kind);
    expect(flow.messages.some((m) => m.from === CLIENTS && m.type === 'request')).toBe(true);
    expect(flow.messages.some((m) => m.to === CLIENTS && m.type === 'reply')).toBe(true);
    for (const m of flow.messages) expect(m.deliveredMs === null || m.deliveredMs >= m.sentMs, `message ${m.id}`).toBe(true);
  });

  it('names the Byzantine node and holds its proofs, each with two conflicting signed messages', () => {
    const flow = flowOf(EQUIVOCATING);
    expect(flow.nodes.map((n) => n.byzantine)).toEqual(['equivocating-leader', null, null, null]);
    expect(flow.evidence.length).toBeGreaterThan(0);
    for (const e of flow.evidence) {
      expect(e).toMatchObject({ kind: 'equivocation', culprit: 0 });
      expect(e.messages).toHaveLength(2);
      expect(e.messages[0]).not.toBe(e.messages[1]);
      for (const text of e.messages) expect(text).toMatch(/\[signed n0\]$/);
    }
  });

  it('names each message by the type it carries inside its signed envelope (commit-reveal)', () => {
    const flow = flowOf({ mode: 'commit-reveal', seed: 1, f: 1, commands: 5 });
    const types = new Set(flow.messages.map((m) => m.type));
    for (const type of ['request', 'accept', 'verify', 'commitment', 'reveal', 'bundle', 'reply']) expect(types, type).toContain(type);
    expect(types).not.toContain('signed');
    expect(flow.messages.some((m) => m.type === 'commitment' && m.signed && m.slot !== null)).toBe(true);
  });

  it('its file parses back to the same trace, and encodes to the same bytes', () => {
    for (const options of [FAULTY, EQUIVOCATING]) {
      const flow = flowOf(options);
      const text = encodeFlowTrace(flow);
      const parsed = parseFlowTrace(text);
      expect(parsed).toEqual(JSON.parse(JSON.stringify(flow)));
      expect(encodeFlowTrace(parsed)).toBe(text);
    }
  });

  it('a malformed file is refused, naming the field', () => {
    const good = JSON.parse(encodeFlowTrace(flowOf(EQUIVOCATING))) as Record<string, unknown>;
    const messages = good.messages as Record<string, unknown>[];
    const cases: [string, unknown, RegExp][] = [
      ['not json', '{', /not JSON/],
      ['array', [], /not a trace object/],
      ['version', { ...good, version: 1 }, /"version" must be 2, got 1/],
      ['source', { ...good, source: 'live' }, /"source" must be one of sim, deployed/],
      ['sim with a cluster', { ...good, cluster: 'ab' }, /a simulated trace's "cluster" must be null/],
      ['deployed without a cluster', { ...good, source: 'deployed', seed: null }, /"cluster" must be the cluster id/],
      ['recorded by', { ...good, messages: [{ ...messages[0], recordedBy: 'nobody' }, ...messages.slice(1)] }, /messages\[0\]\.recordedBy/],
      ['node count', { ...good, nodes: (good.nodes as unknown[]).slice(1) }, /"nodes" must list the 4 nodes/],
      ['endpoint', { ...good, messages: [{ ...messages[0], to: 9 }, ...messages.slice(1)] }, /messages\[0\]: "from" and "to"/],
      ['fate', { ...good, messages: [{ ...messages[0], fate: 'eaten' }, ...messages.slice(1)] }, /messages\[0\]\.fate/],
      ['delivery time', { ...good, messages: [{ ...messages[0], deliveredMs: null }, ...messages.slice(1)] }, /"deliveredMs" is set exactly/],
      ['event', { ...good, events: [{ kind: 'meteor', atMs: 1 }] }, /events\[0\]/],
      ['evidence', { ...good, evidence: [{ ...(good.evidence as object[])[0], messages: [] }] }, /evidence\[0\]\.messages/],
    ];
    for (const [name, value, message] of cases) {
      const text = typeof value === 'string' ? value : JSON.stringify(value);
      expect(() => parseFlowTrace(text), name).toThrow(FlowTraceError);
      expect(() => parseFlowTrace(text), name).toThrow(message);
    }
  });
});
