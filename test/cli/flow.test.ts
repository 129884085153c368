// `sim --html/--trace-json` and `flow`: the files they write, `flow` merging members' traces, and
// one-line errors for bad input.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { formatKvOp } from '../../src/app/kv.ts';
import { encodeMessage } from '../../src/messages/codec.ts';
import type { Heartbeat } from '../../src/messages/types.ts';
import { parseFlowTrace } from '../../src/trace/flow-trace.ts';
import { MemberTraceRecorder, type MemberRun } from '../../src/trace/member-trace.ts';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const dir = mkdtempSync(join(tmpdir(), 'byzpaxos-flow-cli-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function byzpaxos(...args: string[]): { status: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, ['src/cli/main.ts', ...args], { cwd: ROOT, encoding: 'utf8' });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

function expectUsageError(r: ReturnType<typeof byzpaxos>, message: RegExp): void {
  expect(r.status).toBe(2);
  const [line, hint] = r.stderr.trimEnd().split('\n');
  expect(line).toMatch(message);
  expect(hint).toBe("run 'byzpaxos help' for usage");
}

const RUN = ['sim', '--mode', 'byzantine', '--seeds', '1', '--commands', '5', '--adversary', 'equivocating-leader', '--byzantine', '0'];

describe('sim --html / --trace-json, flow', () => {
  it('sim writes the page and the trace; flow draws the same page from the trace; the trace hash is the one without them', () => {
    const html = join(dir, 'run.html');
    const json = join(dir, 'run.json');
    const r = byzpaxos(...RUN, '--html', html, '--trace-json', json);
    expect(r.status, r.stderr).toBe(0);
    const hash = /trace hash: (\w+)/.exec(r.stdout)![1];
    expect(/trace hash: (\w+)/.exec(byzpaxos(...RUN).stdout)![1]).toBe(hash);
    const trace = parseFlowTrace(readFileSync(json, 'utf8'));
    expect(trace).toMatchObject({ mode: 'byzantine', seed: 1, n: 4, f: 1 });
    const again = join(dir, 'again.html');
    const f = byzpaxos('flow', json, '--html', again);
    expect(f.status, f.stderr).toBe(0);
    expect(f.stdout).toBe(`${again}: ${trace.messages.length} messages, ${trace.evidence.length} evidence, 4 nodes\n`);
    expect(readFileSync(again, 'utf8')).toBe(readFileSync(html, 'utf8'));
  });

  it('bad input is one line and exit 2', () => {
    const bad = join(dir, 'bad.json');
    writeFileSync(bad, '{"version": 1, "mode": "crash"');
    expectUsageError(byzpaxos('sim', '--html'), /option '--html' needs a value/);
    expectUsageError(byzpaxos('sim', '--html', ''), /--html needs a file name/);
    expectUsageError(byzpaxos('sim', '--seeds', '2', '--trace-json', join(dir, 'x.json')), /--trace-json draws one run and requires --seeds 1/);
    expectUsageError(byzpaxos('sim', '--seeds', '1', '--commands', '1', '--html', join(dir, 'missing', 'x.html')), /--html: cannot write .* \(ENOENT\)/);
    expectUsageError(byzpaxos('flow', '--html', join(dir, 'x.html')), /flow needs a trace file/);
    expectUsageError(byzpaxos('flow', bad), /flow needs --html OUT/);
    expectUsageError(byzpaxos('flow', join(dir, 'none.json'), '--html', join(dir, 'x.html')), /cannot read trace .*none\.json' \(ENOENT\)/);
    expectUsageError(byzpaxos('flow', bad, '--html', join(dir, 'x.html')), /trace .*bad\.json' is not a byzpaxos flow trace: not JSON/);
  });

  it('flow merges members\' traces into one page; mixing runs, a sim trace among them or a member twice is one line and exit 2', () => {
    const heartbeat: Heartbeat = { type: 'heartbeat', ballot: { round: 1, leader: 0 }, decidedUpTo: 0 };
    const bytes = encodeMessage(heartbeat);
    const write = (name: string, run: Partial<MemberRun>, record: (r: MemberTraceRecorder) => void): string => {
      const recorder = new MemberTraceRecorder({ mode: 'byzantine', n: 4, f: 1, cluster: 'ab12', member: 0, adversary: null, startedMs: 1_000, ...run }, formatKvOp);
      record(recorder);
      const path = join(dir, name);
      writeFileSync(path, recorder.encode(1_100, true));
      return path;
    };
    const n0 = write('n0.json', {}, (r) => r.sent(1_010, 1, heartbeat, bytes, true));
    const n1 = write('n1.json', { member: 1 }, (r) => r.received(1_011, 0, heartbeat, bytes));
    const html = join(dir, 'deployed.html');
    const r = byzpaxos('flow', n0, n1, '--html', html);
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toBe(`${html}: 1 messages, 0 evidence, 4 nodes (2 member traces, 1 messages recorded by both ends)\n`);
    expect(readFileSync(html, 'utf8')).toContain('deployed, cluster ab12…');

    const sim = join(dir, 'sim.json');
    expect(byzpaxos(...RUN, '--trace-json', sim).status).toBe(0);
    const other = write('other.json', { member: 1, cluster: 'cd34' }, () => {});
    const badDigest = join(dir, 'bad-digest.json');
    writeFileSync(badDigest, readFileSync(n1, 'utf8').replace(/"digest":"[0-9a-f]+"/, '"digest":"xyz"'));
    expectUsageError(byzpaxos('flow', n0, sim, '--html', html), /flow: '.*sim\.json' is a whole run's trace \(sim\); draw it alone/);
    expectUsageError(byzpaxos('flow', n0, other, '--html', html), /flow: '.*other\.json' is of cluster cd34…, '.*n0\.json' of cluster ab12…: give the traces of one run/);
    expectUsageError(byzpaxos('flow', n0, n1, n0, '--html', html), /flow: '.*n0\.json' and '.*n0\.json' are both member n0's trace/);
    expectUsageError(byzpaxos('flow', n0, badDigest, '--html', html), /trace '.*bad-digest\.json' is not a byzpaxos flow trace: messages\[0\]\.digest must be 16 hex characters/);
  });
});
