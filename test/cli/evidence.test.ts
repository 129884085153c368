// `byzpaxos evidence verify`, run as other tools would run it: in a child process, judged by exit
// code and its one line of output.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { formatClusterFile } from '../../src/deploy/cluster-file.ts';
import { encodeEvidenceFile } from '../../src/evidence/file.ts';
import type { Evidence } from '../../src/messages/evidence.ts';
import { GENUINE, fx } from '../evidence/fixtures.ts';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const dir = mkdtempSync(join(tmpdir(), 'byzpaxos-evidence-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function write(name: string, text: string): string {
  const path = join(dir, name);
  writeFileSync(path, text);
  return path;
}

function byzpaxos(...args: string[]): { status: number | null; stdout: string; stderr: string } {
  const env = { ...process.env };
  delete env.BYZPAXOS_DEBUG;
  const r = spawnSync(process.execPath, ['src/cli/main.ts', ...args], { cwd: ROOT, env, encoding: 'utf8' });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

function expectRejected(args: string[], reason: RegExp): void {
  const r = byzpaxos('evidence', 'verify', ...args);
  expect(r.status, r.stderr).toBe(1);
  expect(r.stdout).toBe('');
  expect(r.stderr).toMatch(/^byzpaxos: evidence rejected: [^\n]*\n$/);
  expect(r.stderr).toMatch(reason);
}

const genuine = encodeEvidenceFile(fx.cluster, GENUINE.equivocation);
const genuinePath = write('genuine.json', genuine);
const clusterJson = JSON.stringify(JSON.parse(genuine).cluster, null, 2);

describe('byzpaxos evidence verify', () => {
  it.each(Object.entries(GENUINE))('genuine %s: exit 0, one line naming the culprit, and that without --config the cluster was not checked', (kind, evidence) => {
    const r = byzpaxos('evidence', 'verify', write(`${kind}.json`, encodeEvidenceFile(fx.cluster, evidence)));
    expect(r.status, r.stderr).toBe(0);
    expect(r.stderr).toBe('');
    const culprit = { equivocation: 0, 'commitment-mismatch': 2, 'unjustified-new-ballot': 1, 'omitted-vote': 2 }[kind];
    expect(r.stdout).toMatch(
      new RegExp(`^genuine: ${kind} by n${culprit} — [^\\n]+ \\(cluster [0-9a-f]{16} as the file names it, not checked: give --config CLUSTER\\.json to check it is yours\\)\\n$`),
    );
  });

  it('a pretty-printed file (jq ., CRLF) is read in its canonical layout; reordered keys are still rejected', () => {
    const pretty = `${JSON.stringify(JSON.parse(genuine), null, 2)}\n`;
    const config = ['--config', write('cluster.json', clusterJson)];
    for (const [name, text] of [['pretty.json', pretty], ['crlf.json', pretty.replaceAll('\n', '\r\n')]] as const) {
      const r = byzpaxos('evidence', 'verify', write(name, text), ...config);
      expect(r.status, r.stderr).toBe(0);
      expect(r.stdout).toMatch(/^genuine: equivocation by n0 — /);
    }
    const reordered = pretty.replace('"format": "byzpaxos-evidence/1",\n  "cluster"', '"cluster"').replace(',\n  "evidence"', ',\n  "format": "byzpaxos-evidence/1",\n  "evidence"');
    expect(reordered).not.toBe(pretty);
    expectRejected([write('reordered.json', reordered), ...config], /file: not in canonical form/);
  });

  it('the expected cluster given with --config', () => {
    const r = byzpaxos('evidence', 'verify', genuinePath, '--config', write('cluster.json', clusterJson));
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/^genuine: equivocation by n0 — signed two different accept messages for ballot \(1,n0\) slot 5 \(cluster [0-9a-f]{16}\)\n$/);
  });

  it('--json: one object, genuine or not', () => {
    const r = byzpaxos('evidence', 'verify', genuinePath, '--config', write('cluster.json', clusterJson), '--json');
    expect(r.status, r.stderr).toBe(0);
    expect(JSON.parse(r.stdout)).toMatchObject({ genuine: true, kind: 'equivocation', culprit: 0, clusterChecked: true });
    const other = JSON.stringify({ ...JSON.parse(clusterJson), clients: [] });
    const rejected = byzpaxos('evidence', 'verify', genuinePath, '--config', write('other.json', other), '--json');
    expect(rejected.status).toBe(1);
    expect(JSON.parse(rejected.stdout)).toEqual({ genuine: false, reason: 'evidence is for another cluster' });
  });

  it('a deployment cluster.json (as `init` writes it) works as --config too', () => {
    const deployment = formatClusterFile({
      mode: 'byzantine',
      f: fx.cluster.f,
      n: fx.cluster.members.length,
      members: fx.cluster.members.map((m) => ({ id: m.id, publicKey: m.publicKey, addrs: [`/ip4/127.0.0.1/tcp/${7000 + m.id}`] })),
      clients: fx.cluster.clients,
    });
    const r = byzpaxos('evidence', 'verify', genuinePath, '--config', write('deployment.json', deployment));
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/^genuine: equivocation by n0/);
  });

  it('a tampered file: exit 1', () => {
    // One hex digit of the first signature, changed.
    const at = genuine.indexOf('"signature":"') + 20;
    const tampered = `${genuine.slice(0, at)}${genuine[at] === '0' ? '1' : '0'}${genuine.slice(at + 1)}`;
    expectRejected([write('tampered.json', tampered)], /first: not a well-formed message validly signed by n0 in this cluster/);
  });

  it('a malformed file: exit 1', () => {
    expectRejected([write('upper.json', genuine.replace(/"signature":"([0-9a-f]+)"/, (_m, hex: string) => `"signature":"${hex.toUpperCase()}"`))], /evidence\.first\.signature: not lowercase hex/);
    expectRejected([write('empty.json', '')], /file: not valid JSON/);
  });

  it('honest messages: exit 1', () => {
    const retransmission: Evidence = { kind: 'equivocation', first: GENUINE.equivocation.first, second: GENUINE.equivocation.first };
    expectRejected([write('honest.json', encodeEvidenceFile(fx.cluster, retransmission))], /identical messages: a retransmission/);
  });

  it('--config naming another cluster: exit 1', () => {
    const other = JSON.stringify({ ...JSON.parse(clusterJson), clients: [] });
    expectRejected([genuinePath, '--config', write('other.json', other)], /: evidence is for another cluster$/m);
  });

  it.each([
    [['evidence'], /missing evidence action \(one of verify\)/],
    [['evidence', 'forge'], /unknown evidence action 'forge'/],
    [['evidence', 'verify'], /evidence verify: missing FILE/],
    [['evidence', 'verify', join(dir, 'missing.json')], /evidence verify: cannot read '.*missing\.json' \(ENOENT\)/],
    [['evidence', 'verify', dir], /evidence verify: cannot read '.*' \(EISDIR\)/],
    [['evidence', 'verify', genuinePath, '--config', join(dir, 'missing.json')], /--config: cannot read/],
    [['evidence', 'verify', genuinePath, '--config', write('bad-config.json', '{"f":1}')], /--config: cluster: missing key "members"/],
    [['evidence', 'verify', genuinePath, '--bogus'], /unknown option '--bogus' for evidence \(expected --config, --json\)/],
    [['evidence', 'verify', genuinePath, 'extra'], /unexpected argument 'extra' for evidence/],
  ])('usage error %j: exit 2, one line', (args, message) => {
    const r = byzpaxos(...args);
    expect(r.status).toBe(2);
    expect(r.stdout).toBe('');
    const [line, ...rest] = r.stderr.trimEnd().split('\n');
    expect(line).toMatch(/^byzpaxos: /);
    expect(line).toMatch(message);
    expect(rest).toEqual(["run 'byzpaxos help' for usage"]);
  });

  it('help lists the command', () => {
    expect(byzpaxos('help').stdout).toMatch(/^ {2}evidence verify FILE \[--config CLUSTER\.json\] \[--json\]$/m);
  });
});
