// The message flow of a deployed run, end to end: four `byzpaxos start --trace-json` processes on
// loopback serve a few puts and are stopped with SIGTERM; each has written its own trace, and
// `byzpaxos flow` pairs their sends with the receipts the others recorded into one diagram. Every
// child is killed by PID in afterAll, whatever happened.
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { CLIENTS, type FlowTrace } from '../../src/trace/flow-trace.ts';
import { parseMemberTrace } from '../../src/trace/member-trace.ts';
import { byzpaxos, connectClient, initDeployment, killEverything, Members, waitFor } from './deploy-helpers.ts';

const tmp = mkdtempSync(join(tmpdir(), 'byzpaxos-flow-deployed-'));
afterAll(() => {
  killEverything();
  rmSync(tmp, { recursive: true, force: true });
});

const N = 4;

/** The trace a page embeds (flow-html.ts). */
function embedded(html: string): FlowTrace {
  const match = /<script type="application\/json" id="flow-data">([^<]*)<\/script>/.exec(html);
  expect(match).not.toBeNull();
  return JSON.parse(match![1]!) as FlowTrace;
}

describe('the flow of a deployed run', () => {
  it('byzantine, 4 processes with --trace-json: after three puts and SIGTERM, flow pairs their sends and receipts', async () => {
    const configPath = await initDeployment(join(tmp, 'cluster'), 'byzantine', N, 1);
    const traces = Array.from({ length: N }, (_, id) => join(tmp, `n${id}.json`));
    const members = new Members(configPath, N);
    for (let id = 0; id < N; id++) members.start(id, ['--trace-json', traces[id]!]);
    const started = (id: number) => members.logs[id]!.some((l) => l.includes('"node started"'));
    await waitFor('every member to start', () => [...Array(N).keys()].every(started), 15_000, () => members.tail(0));
    const client = await connectClient(configPath, 1);
    try {
      for (const key of ['a', 'b', 'c']) await client.put(key, `value of ${key}`, { timeoutMs: 10_000 });
    } finally {
      await client.close();
    }
    expect(await members.stopAll()).toEqual([0, 0, 0, 0]);

    for (const [id, path] of traces.entries()) {
      const trace = parseMemberTrace(readFileSync(path, 'utf8'));
      expect(trace).toMatchObject({ member: id, mode: 'byzantine', n: N, stopped: true, truncated: false });
    }
    const html = join(tmp, 'flow.html');
    const r = await byzpaxos(['flow', ...traces, '--html', html]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/: \d+ messages, 0 evidence, 4 nodes \(4 member traces, \d+ messages recorded by both ends\)\n$/);
    expect(existsSync(html)).toBe(true);
    const flow = embedded(readFileSync(html, 'utf8'));
    expect(flow).toMatchObject({ source: 'deployed', mode: 'byzantine', n: N, unrecorded: 0 });

    // Between members, each vote is one arrow from its sender's record to its receiver's.
    const paired = flow.messages.filter((m) => m.recordedBy === 'both');
    for (const type of ['accept', 'verify', 'accepted']) expect(paired.filter((m) => m.type === type).length, type).toBeGreaterThanOrEqual(3);
    for (const m of paired) {
      expect(m.from !== m.to && m.from >= 0 && m.to >= 0, `message ${m.id}`).toBe(true);
      // One machine's clock: a receipt is not before its send (a millisecond of slack for the
      // processes' clock origins, each read once as it started).
      expect(m.deliveredMs!, `message ${m.id}: ${m.text}`).toBeGreaterThanOrEqual(m.sentMs - 1);
    }
    // Clients keep no trace: what they sent is drawn from the receiver's record, what they got from the sender's.
    expect(flow.messages.some((m) => m.from === CLIENTS && m.type === 'request' && m.recordedBy === 'receiver')).toBe(true);
    expect(flow.messages.some((m) => m.to === CLIENTS && m.type === 'reply' && m.recordedBy === 'sender')).toBe(true);
    // Each put is decided at every member.
    for (let id = 0; id < N; id++) expect(flow.decisions.filter((d) => d.node === id).length, `n${id}`).toBeGreaterThanOrEqual(1);
  }, 30_000);

  it('start refuses a trace file it cannot write, in one line, before it starts', async () => {
    const configPath = join(tmp, 'cluster', 'cluster.json');
    const r = await byzpaxos(['start', '--config', configPath, '--id', '0', '--trace-json', join(tmp, 'missing', 'n0.json')]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/^byzpaxos: --trace-json: cannot write '.*missing\/n0\.json' \(ENOENT\)\n/);
  });
});
