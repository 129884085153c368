// The message flow of a deployed run, end to end: four `byzpaxos start --trace-json` processes on
// loopback serve a few puts and are stopped with SIGTERM; each has written its own trace, and
// `byzpaxos flow` pairs their sends with the receipts the others recorded into one diagram; and
// the same through `byzpaxos up --trace-json` in crash mode. Every child is killed by PID in
// afterAll, whatever happened.
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { CLIENTS, type FlowTrace } from '../../src/trace/flow-trace.ts';
import { parseMemberTrace } from '../../src/trace/member-trace.ts';
import { memberTracePath } from '../../src/cli/up.ts';
import { byzpaxos, connectClient, foreignPids, freeBasePort, initDeployment, killEverything, Members, spawnByzpaxos, waitFor } from './deploy-helpers.ts';

const tmp = mkdtempSync(join(tmpdir(), 'byzpaxos-flow-deployed-'));
afterAll(() => {
  killEverything();
  rmSync(tmp, { recursive: true, force: true });
});

const N = 4;

/** `byzpaxos flow FILES --html OUT`, and the trace the page embeds (flow-html.ts). */
async function drawn(files: readonly string[], html: string, members: number): Promise<FlowTrace> {
  const r = await byzpaxos(['flow', ...files, '--html', html]);
  expect(r.code, r.stderr).toBe(0);
  expect(r.stdout).toMatch(new RegExp(`: \\d+ messages, 0 evidence, ${members} nodes \\(${members} member traces, \\d+ messages recorded by both ends\\)\n$`));
  const match = /<script type="application\/json" id="flow-data">([^<]*)<\/script>/.exec(readFileSync(html, 'utf8'));
  expect(match).not.toBeNull();
  return JSON.parse(match![1]!) as FlowTrace;
}

/** Messages of `type` drawn as one arrow from the sender's record to the receiver's, between two members. */
function paired(flow: FlowTrace, type: string): FlowTrace['messages'] {
  return flow.messages.filter((m) => m.type === type && m.recordedBy === 'both' && m.from >= 0 && m.to >= 0 && m.from !== m.to);
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
    const flow = await drawn(traces, html, N);
    expect(existsSync(html)).toBe(true);
    expect(flow).toMatchObject({ source: 'deployed', mode: 'byzantine', n: N, unrecorded: 0 });

    // Between members, each vote is one arrow from its sender's record to its receiver's.
    for (const type of ['accept', 'verify', 'accepted']) expect(paired(flow, type).length, type).toBeGreaterThanOrEqual(3);
    for (const m of flow.messages.filter((x) => x.recordedBy === 'both')) {
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

  it('up --trace-json, crash mode: each member writes its own file, and flow pairs the election and the votes', async () => {
    const dir = join(tmp, 'up');
    const base = await freeBasePort(3);
    const trace = join(tmp, 'up-run.json');
    const up = spawnByzpaxos(['up', '--nodes', '3', '--mode', 'crash', '--dir', dir, '--base-port', String(base), '--json', '--trace-json', trace]);
    let stdout = '';
    up.stdout!.setEncoding('utf8').on('data', (s: string) => (stdout += s));
    up.stderr!.resume();
    const exit = new Promise<number | null>((resolve) => up.on('exit', (code) => resolve(code)));
    await waitFor('up to print its JSON line', () => stdout.endsWith('\n'), 15_000, () => stdout);
    const printed = JSON.parse(stdout) as { members: { pid: number; traceJson: string }[] };
    for (const m of printed.members) foreignPids.add(m.pid);
    const files = [0, 1, 2].map((id) => memberTracePath(trace, id));
    expect(printed.members.map((m) => m.traceJson)).toEqual(files);
    const put = await byzpaxos(['put', 'k', 'v', '--config', join(dir, 'cluster.json'), '--timeout-ms', '10000']);
    expect(put.stdout, put.stderr).toBe('ok\n');
    process.kill(up.pid!, 'SIGINT');
    expect(await exit).toBe(0);

    const flow = await drawn(files, join(tmp, 'up-run.html'), 3);
    expect(flow).toMatchObject({ mode: 'crash', n: 3 });
    for (const type of ['prepare', 'promise', 'accept', 'accepted']) expect(paired(flow, type).length, type).toBeGreaterThanOrEqual(1);
    expect(flow.events.filter((e) => e.kind === 'leader')).not.toEqual([]);
  }, 30_000);

  it('up names member I\'s trace file by inserting -nI before the extension', () => {
    expect(memberTracePath('/tmp/run.json', 0)).toBe('/tmp/run-n0.json');
    expect(memberTracePath('x.trace.json', 12)).toBe('x.trace-n12.json');
    expect(memberTracePath('/a.b/run', 2)).toBe('/a.b/run-n2');
  });

  it('start refuses a trace file it cannot write, in one line, before it starts', async () => {
    const configPath = join(tmp, 'cluster', 'cluster.json');
    const r = await byzpaxos(['start', '--config', configPath, '--id', '0', '--trace-json', join(tmp, 'missing', 'n0.json')]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/^byzpaxos: --trace-json: cannot write '.*missing\/n0\.json' \(ENOENT\)\n/);
  });
});
