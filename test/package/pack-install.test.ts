// The package as a user gets it: `npm pack` (its prepack compiles dist/), the tarball installed
// into an empty project without devDependencies, then the installed bin and library used from
// there, on this very Node. One pack and one install for every check (they are the slow part).
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const STEP_TIMEOUT_MS = 240_000;
// npm and the bin's `#!/usr/bin/env node` run the Node that runs this test, not the machine's.
const ENV: NodeJS.ProcessEnv = { ...process.env, PATH: `${dirname(process.execPath)}:${process.env.PATH ?? ''}` };
delete ENV.BYZPAXOS_DEBUG;

let work = '';
let project = '';
let tarball = '';

function run(cmd: string, args: string[], cwd: string): { status: number | null; stdout: string; stderr: string } {
  const r = spawnSync(cmd, args, { cwd, env: ENV, encoding: 'utf8', timeout: STEP_TIMEOUT_MS });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

beforeAll(() => {
  work = mkdtempSync(join(tmpdir(), 'byzpaxos-pack-'));
  execFileSync('npm', ['pack', '--silent', '--pack-destination', work], { cwd: ROOT, env: ENV, stdio: ['ignore', 'ignore', 'inherit'], timeout: STEP_TIMEOUT_MS });
  tarball = join(work, readdirSync(work).find((f) => f.endsWith('.tgz'))!);
  project = join(work, 'project');
  mkdirSync(project);
  writeFileSync(join(project, 'package.json'), JSON.stringify({ name: 'uses-byzpaxos', private: true, type: 'module' }));
  execFileSync('npm', ['install', '--omit=dev', '--no-audit', '--no-fund', '--silent', tarball], { cwd: project, env: ENV, stdio: ['ignore', 'ignore', 'inherit'], timeout: STEP_TIMEOUT_MS });
}, 2 * STEP_TIMEOUT_MS);

afterAll(() => {
  if (work !== '') rmSync(work, { recursive: true, force: true });
});

describe('the packed tarball', () => {
  it('holds the build and the bin, no sources, tests or CI', () => {
    const listing = execFileSync('tar', ['-tzf', tarball], { encoding: 'utf8' }).split('\n');
    expect(listing).toContain('package/dist/src/index.js');
    expect(listing).toContain('package/dist/src/index.d.ts');
    expect(listing).toContain('package/src/cli/byzpaxos.mjs');
    expect(listing.filter((f) => /^package\/(test|\.ci|experiments)\//.test(f) || /\.ts$/.test(f) && !f.endsWith('.d.ts'))).toEqual([]);
  });

  it('passes publint and attw', () => {
    const publint = run(join(ROOT, 'node_modules/.bin/publint'), ['run', '--strict', ROOT], ROOT);
    expect(publint.stdout + publint.stderr).toMatch(/All good/);
    expect(publint.status).toBe(0);
    const attw = run(join(ROOT, 'node_modules/.bin/attw'), [tarball, '--profile', 'esm-only'], ROOT);
    expect(attw.stderr).toBe('');
    expect(attw.status).toBe(0);
  });
});

describe('installed into an empty project', () => {
  it('runs `byzpaxos --version` and a small sim', () => {
    const version = run('npx', ['byzpaxos', '--version'], project);
    expect(version.stdout.trim()).toMatch(/^\d+\.\d+\.\d+$/);
    const sim = run('npx', ['byzpaxos', 'sim', '--seeds', '3', '--commands', '10', '--faults', 'drop=0.1', '--json'], project);
    expect(sim.stderr).toBe('');
    expect(JSON.parse(sim.stdout)).toMatchObject({ mode: 'crash', seeds: 3, safetyViolations: [], livenessFailures: 0 });
  });

  it('embeds a three-node cluster in memory through the library', () => {
    writeFileSync(
      join(project, 'cluster.mjs'),
      `import { NodeRuntime, ClusterClient, MemoryNetwork, memberName } from 'byzpaxos/node';
import { MemoryStorage } from 'byzpaxos';
import { keyPairFromSeed } from 'byzpaxos/crypto';
const key = (role, i) => { const s = new Uint8Array(32); s[0] = role; s[1] = i; return keyPairFromSeed(s); };
const deployment = { mode: 'crash', f: 1, n: 3,
  members: [0, 1, 2].map((id) => ({ id, publicKey: key(1, id).publicKey, addrs: [] })),
  clients: [{ id: 1, publicKey: key(2, 1).publicKey }] };
const network = new MemoryNetwork();
const nodes = [];
for (const id of [0, 1, 2]) {
  const node = new NodeRuntime({ deployment, id, secretKey: key(1, id).secretKey, storage: new MemoryStorage(),
    transport: (onMessage) => network.transport(memberName(id), onMessage), seed: id });
  await node.start();
  nodes.push(node);
}
const client = await ClusterClient.connect({ deployment, clientId: 1, secretKey: key(2, 1).secretKey,
  transport: (onMessage) => network.transport('c1', onMessage), timeoutMs: 10000 });
await client.put('color', 'blue');
console.log(JSON.stringify({ value: await client.get('color') }));
await client.close();
for (const node of nodes) await node.stop();
`,
    );
    const r = run(process.execPath, ['cluster.mjs'], project);
    expect(r.stderr).toBe('');
    expect(JSON.parse(r.stdout)).toEqual({ value: 'blue' });
  });

  it('loads a custom adversary written against the installed package', () => {
    // Sends no peer message at all: one silent member of four, which f = 1 tolerates.
    writeFileSync(
      join(project, 'mute.mjs'),
      `import { Tamper } from 'byzpaxos';
class Mute extends Tamper {
  rewrite(effect) { return effect.type === 'send' || effect.type === 'broadcast' ? [] : [effect]; }
}
export default { name: 'mute', description: 'sends nothing', create: (ctx) => new Mute(ctx) };
`,
    );
    const r = run('npx', ['byzpaxos', 'sim', '--mode', 'byzantine', '--seeds', '2', '--commands', '5', '--adversary-module', './mute.mjs', '--json'], project);
    expect(r.stderr).toBe('');
    const result = JSON.parse(r.stdout);
    expect(result.byzantine.strategies).toContain('mute');
    expect(result).toMatchObject({ safetyViolations: [], livenessFailures: 0 });
  });
});
