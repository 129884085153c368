// `npm start` (byzpaxos live-demo): the whole story in a child process, as a newcomer runs it: a
// real libp2p cluster with one malicious acceptor; it must prove the misbehaviour, keep the honest
// replicas in agreement, shut down and exit 0, well within 30 s.
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const DEMO_BOUND_MS = 30_000;

describe('byzpaxos live-demo (npm start)', () => {
  it('proves the malicious acceptor, keeps the honest nodes in agreement and exits 0', () => {
    const started = Date.now();
    const r = spawnSync(process.execPath, ['src/cli/main.ts', 'live-demo'], { cwd: ROOT, encoding: 'utf8', timeout: DEMO_BOUND_MS });
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    expect(Date.now() - started).toBeLessThan(DEMO_BOUND_MS);
    const out = r.stdout;
    expect(out).toMatch(/n0 {2}malicious \(reveal-mismatch\) +\/ip4\/127\.0\.0\.1\/tcp\/\d+\/p2p\/12D3KooW\w+/);
    for (const id of [1, 2, 3]) expect(out).toMatch(new RegExp(`n${id}  honest +/ip4/127\\.0\\.0\\.1/tcp/\\d+/p2p/12D3KooW`));
    expect(out).toMatch(/put x=1 +-> ok +decided in slot \d+/);
    expect(out).toMatch(/get x +-> "4" +decided in slot \d+/);
    expect(out).toMatch(/commitment-mismatch \(reported by n\d(, n\d)*\): verified: n0 revealed a digest and key for ballot \S+ slot \d+ that do not open its commitment/);
    expect(out).not.toMatch(/REJECTED/);
    expect(out).toMatch(/honest nodes agree: n1, n2, n3 decided slots 0\.\.\d+, state digest [0-9a-f]{16}/);
    expect(out.trimEnd().split('\n').at(-1)).toMatch(/^shut down cleanly in \d+ ms/);
  }, DEMO_BOUND_MS + 5_000);

  it('--json: one JSON object, the verdict and the story lines', () => {
    const r = spawnSync(process.execPath, ['src/cli/main.ts', 'live-demo', '--json'], { cwd: ROOT, encoding: 'utf8', timeout: DEMO_BOUND_MS });
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    expect(r.stdout.trimEnd().split('\n')).toHaveLength(1);
    const printed = JSON.parse(r.stdout) as { ok: boolean; failure: string | null; story: string[] };
    expect(printed).toMatchObject({ ok: true, failure: null });
    expect(printed.story.at(-1)).toMatch(/^shut down cleanly in \d+ ms/);
    expect(printed.story.some((line) => /honest nodes agree: n1, n2, n3/.test(line))).toBe(true);
  }, DEMO_BOUND_MS + 5_000);
});
