// The `byzpaxos` command line is a contract other tools rely on: run it as they would, in a
// child process (process.execPath is the pinned Node inside vitest), and check exit codes,
// stdout and stderr.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { BUILT_IN_ADVERSARIES } from '../../src/adversary/strategies.ts';
import { decodeEvidenceFile } from '../../src/evidence/file.ts';
import { verifyEvidence } from '../../src/evidence/verify.ts';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const HELP_HINT = "run 'byzpaxos help' for usage";

function byzpaxos(...args: string[]): { status: number | null; stdout: string; stderr: string } {
  const env = { ...process.env };
  delete env.BYZPAXOS_DEBUG;
  const r = spawnSync(process.execPath, ['src/cli/main.ts', ...args], { cwd: ROOT, env, encoding: 'utf8' });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

function simJson(...args: string[]): Record<string, unknown> {
  const r = byzpaxos('sim', ...args, '--json');
  expect(r.status, r.stderr).toBe(0);
  expect(r.stdout.trimEnd().split('\n')).toHaveLength(1);
  return JSON.parse(r.stdout) as Record<string, unknown>;
}

const SMALL = ['--mode', 'crash', '--f', '1', '--seeds', '3', '--commands', '20', '--faults', 'drop=0.1,dup=0.05,reorder,partition,crash'];

describe('byzpaxos sim', () => {
  it('--json prints one object with the contract fields', () => {
    const out = simJson(...SMALL, '--seed-start', '7');
    expect(out).toMatchObject({ mode: 'crash', n: 3, f: 1, seeds: 3, seedStart: 7, commands: 20, faults: 'drop=0.1,dup=0.05,reorder,partition,crash' });
    expect(out.safetyViolations).toEqual([]);
    expect(out.livenessFailures).toBe(0);
    expect(out.livenessFailedSeeds).toEqual([]);
    expect(out.decided).toBe(60);
    expect(out.completed).toBe(60);
    expect(out.traceHash).toMatch(/^[0-9a-f]{64}$/);
    for (const key of ['wallMs', 'decisionsPerSecond']) expect(typeof out[key], key).toBe('number');
    expect(out).toMatchObject({ byzantine: null, signaturesPerDecision: 0, verificationsPerDecision: 0 });
  });

  it('flexible quorums (crash mode): --nodes N --q1 A --q2 B with A + B > N stay safe under faults', () => {
    const out = simJson('--nodes', '5', '--q1', '4', '--q2', '2', '--seeds', '3', '--commands', '20', '--faults', 'drop=0.1,reorder,partition,crash');
    expect(out).toMatchObject({ mode: 'crash', n: 5, f: 1, quorums: { phase1: 4, phase2: 2 }, safetyViolations: [], livenessFailures: 0, completed: 60 });
    expect(simJson(...SMALL).quorums).toEqual({ phase1: 2, phase2: 2 });
    const text = byzpaxos('sim', '--nodes', '5', '--q1', '4', '--q2', '2', '--seeds', '1', '--commands', '5');
    expect(text.stdout).toMatch(/^sim: mode=crash n=5 f=1 q1=4 q2=2 seed 1,/);
  });

  it('membership churn in every mode: --faults churn stays safe and live, a Byzantine cluster growing from 4 toward 7', () => {
    for (const mode of ['crash', 'byzantine', 'commit-reveal']) {
      const out = simJson('--mode', mode, '--seeds', '2', '--commands', '20', '--faults', 'drop=0.05,crash,churn');
      expect(out, mode).toMatchObject({ mode, safetyViolations: [], livenessFailures: 0, completed: 40 });
    }
  });

  it('Cheap Paxos (crash mode): --cheap runs f+1 main members and f auxiliary acceptors, safe under faults', () => {
    const out = simJson('--cheap', '--f', '2', '--seeds', '3', '--commands', '20', '--faults', 'drop=0.1,reorder,partition,crash');
    expect(out).toMatchObject({ mode: 'crash', n: 5, f: 2, auxiliaries: 2, quorums: { phase1: 3, phase2: 3 }, safetyViolations: [], livenessFailures: 0, completed: 60 });
    expect(simJson(...SMALL).auxiliaries).toBe(0);
    const text = byzpaxos('sim', '--cheap', '--seeds', '1', '--commands', '5');
    expect(text.stdout).toMatch(/^sim: mode=crash n=3 f=1 cheap \(main n0\.\.n1, auxiliary n2\) seed 1,/);
  });

  it('the trace hash is a function of the arguments', () => {
    const a = simJson(...SMALL, '--seed-start', '1');
    const b = simJson(...SMALL, '--seed-start', '1');
    const c = simJson(...SMALL, '--seed-start', '2');
    expect(a.traceHash).toBe(b.traceHash);
    expect(c.traceHash).not.toBe(a.traceHash);
  });

  it('--trace prints the readable trace, then the summary', () => {
    const r = byzpaxos('sim', '--seeds', '1', '--commands', '5', '--trace');
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/Prepare b=/);
    expect(r.stdout).toMatch(/Accept b=/);
    expect(r.stdout.trimEnd().split('\n').at(-1)).toMatch(/^trace hash: [0-9a-f]{64}$/);
  });
});

describe('bad command lines exit 2 with one line naming the problem', () => {
  const cases: [string[], RegExp][] = [
    [['sim', '--bogus'], /unknown option '--bogus'/],
    [['sim', '--f', 'x'], /--f .*'x'/],
    [['sim', '--f', '8'], /--f .*0\.\.7/],
    [['sim', '--f'], /'--f' needs a value/],
    [['sim', '--seeds', '0'], /--seeds/],
    [['sim', '--faults', 'drop=2'], /--faults: drop/],
    [['sim', '--faults', 'bogus'], /--faults: unknown fault 'bogus'/],
    [['sim', '--cheap', '--faults', 'churn'], /--faults churn .* needs the default quorums/],
    [['sim', '--mode', 'bogus'], /--mode must be one of crash, byzantine, commit-reveal; got 'bogus'/],
    [['sim', '--mode', 'commit-reveal', '--f', '4'], /--f must be an integer in 1\.\.3/],
    [['sim', '--evidence-out', 'ev'], /--evidence-out needs --mode byzantine or commit-reveal \(got --mode crash\)/],
    [['sim', '--mode', 'commit-reveal', '--evidence-out', 'package.json/ev'], /--evidence-out: 'package\.json\/ev' cannot be created \(ENOTDIR\)$/],
    [['sim', '--trace', '--seeds', '5'], /--trace requires --seeds 1/],
    [['sim', '--nodes', '5', '--q1', '2', '--q2', '3'], /--nodes 5 --q1 2 --q2 3: phase1 \(2\) \+ phase2 \(3\) must exceed n \(5\)/],
    [['sim', '--nodes', '5', '--q1', '5'], /with f=1 crashed, 4 nodes remain, fewer than a quorum/],
    [['sim', '--nodes', '16'], /--nodes .*1\.\.15/],
    [['sim', '--mode', 'byzantine', '--nodes', '5'], /--nodes is for crash mode \(flexible quorums\)/],
    [['sim', '--mode', 'byzantine', '--cheap'], /--cheap is for crash mode \(Cheap Paxos: f\+1 main and f auxiliary acceptors\)/],
    [['sim', '--cheap', '--nodes', '5', '--q1', '4', '--q2', '2'], /--cheap uses majority quorums of 2f\+1 members and cannot be combined with --nodes, --q1 or --q2/],
    [['sim', '--cheap', '--f', '0'], /--cheap needs --f 1 or more/],
    [['frobnicate'], /unknown command 'frobnicate'/],
    [[], /missing command/],
    [['experiment', 'nope'], /unknown experiment 'nope'/],
    [['experiment', 'overhead', '--seeds', '3'], /--seeds does not apply to the overhead experiment/],
    [['experiment', 'faults', '--seeds', '0'], /--seeds/],
  ];
  it.each(cases)('byzpaxos %j', expectUsageError);
});

function expectUsageError(args: string[], message: RegExp): void {
  const r = byzpaxos(...args);
  expect(r.status).toBe(2);
  expect(r.stdout).toBe('');
  const lines = r.stderr.trimEnd().split('\n');
  expect(lines[0]).toMatch(/^byzpaxos: /);
  expect(lines[0]).toMatch(message);
  expect(lines.slice(1)).toEqual(lines.length > 1 ? [HELP_HINT] : []);
  expect(r.stderr).not.toMatch(/^\s+at /m);
}

/** A Node on PATH outside node_modules that cannot run TypeScript unflagged (the machine's own, say), or null. */
function oldSystemNode(): string | null {
  for (const dir of (process.env.PATH ?? '').split(delimiter)) {
    const node = join(dir, 'node');
    if (dir.includes('node_modules') || !existsSync(node)) continue;
    const version = spawnSync(node, ['-p', 'process.versions.node'], { encoding: 'utf8' }).stdout.trim();
    const [major, minor] = version.split('.').map(Number);
    if (major! < 22 || (major === 22 && minor! < 18)) return node;
  }
  return null;
}

describe('the bin launcher', () => {
  const launcher = join(ROOT, 'src/cli/byzpaxos.mjs');
  const old = oldSystemNode();

  it.skipIf(old === null)('on a Node without type stripping: one line naming the version needed and the fix, exit 1', () => {
    const r = spawnSync(old!, [launcher, 'help'], { cwd: ROOT, encoding: 'utf8' });
    expect(r.stdout).toBe('');
    expect(r.stderr).toMatch(/^byzpaxos: needs Node >= 22\.18 \(this is v\d+\.\d+\.\d+\); run `npm install` and use `npx byzpaxos`[^\n]*\n$/);
    expect(r.status).toBe(1);
  });

  // engines speaks for the installed package, which runs the compiled build: node:sqlite unflagged.
  it('on the pinned Node it runs the CLI; package.json points its bin at it, and engines name the Node the build needs', () => {
    const r = spawnSync(process.execPath, [launcher, 'help'], { cwd: ROOT, encoding: 'utf8' });
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/^usage: byzpaxos <command>/);
    const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { bin: Record<string, string>; engines: { node: string } };
    expect(pkg.bin.byzpaxos).toBe('src/cli/byzpaxos.mjs');
    expect(pkg.engines.node).toBe('>=22.13.0');
  });
});

describe('byzpaxos help and demo', () => {
  it('help lists every command, and every built-in adversary', () => {
    for (const args of [['help'], ['--help']]) {
      const r = byzpaxos(...args);
      expect(r.status).toBe(0);
      for (const command of ['sim', 'demo', 'experiment', 'put', 'start']) expect(r.stdout).toContain(command);
      for (const { name } of BUILT_IN_ADVERSARIES) expect(r.stdout).toContain(name);
    }
  });

  it('help CMD and CMD --help print only that command, --version the package version', () => {
    for (const args of [['help', 'sim'], ['sim', '--help']]) {
      const r = byzpaxos(...args);
      expect(r.status).toBe(0);
      expect(r.stdout).toMatch(/^usage: byzpaxos sim \[options\]\n/);
      for (const { name } of BUILT_IN_ADVERSARIES) expect(r.stdout).toContain(name);
      expect(r.stdout).not.toContain('--metrics-port');
    }
    const put = byzpaxos('put', '--help');
    expect(put.stdout).toContain('--timeout-ms');
    expect(put.stdout).not.toContain('--seeds');
    const unknown = byzpaxos('help', 'frobnicate');
    expect(unknown.status).toBe(2);
    expect(unknown.stderr).toMatch(/^byzpaxos: help: unknown command 'frobnicate'/);
    const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { version: string };
    expect(byzpaxos('--version').stdout).toBe(`${pkg.version}\n`);
  });

  it('demo tells a short story: election, crash, new leader, restart, clean check', () => {
    const r = byzpaxos('demo');
    expect(r.status, r.stderr).toBe(0);
    const lines = r.stdout.trimEnd().split('\n');
    expect(lines.length).toBeLessThanOrEqual(30);
    const crashed = /n(\d) CRASHES/.exec(r.stdout)?.[1];
    expect(crashed).toBeDefined();
    const leaders = [...r.stdout.matchAll(/n(\d) leads ballot/g)].map((m) => m[1]);
    expect(leaders[0]).toBe(crashed);
    expect(leaders.at(-1)).not.toBe(crashed);
    expect(r.stdout).toMatch(/re-proposes slot \d+/);
    expect(r.stdout).toMatch(new RegExp(`n${crashed} restarts from its store`));
    expect(r.stdout).toMatch(/identical state digest/);
    expect(r.stdout).toMatch(/no violations/);
  });

  it('demo --json: one JSON object holding the verdict and the same story', () => {
    const text = byzpaxos('demo');
    const r = byzpaxos('demo', '--json');
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout.trimEnd().split('\n')).toHaveLength(1);
    const printed = JSON.parse(r.stdout) as { ok: boolean; failure: string | null; story: string[] };
    expect(printed).toMatchObject({ ok: true, failure: null });
    expect(printed.story).toEqual(text.stdout.trimEnd().split('\n'));
  });
});

const BYZ = ['--mode', 'byzantine', '--f', '1', '--commands', '10'];
const EXAMPLE = 'experiments/adversary-example/censor.ts';

describe('byzpaxos sim --mode byzantine', () => {
  it('--json adds the Byzantine nodes, strategies and signature costs; within the bound, no violations', () => {
    const out = simJson(...BYZ, '--seeds', '2', '--adversary', 'equivocating-leader', '--byzantine', '0', '--faults', 'drop=0.1,reorder');
    expect(out).toMatchObject({ mode: 'byzantine', n: 4, f: 1, seeds: 2, decided: 20, completed: 20, livenessFailures: 0 });
    expect(out.safetyViolations).toEqual([]);
    expect(out.byzantine).toEqual({ nodes: [0], strategies: ['equivocating-leader'] });
    expect(out.signaturesPerDecision).toBeGreaterThan(0);
    expect(out.verificationsPerDecision).toBeGreaterThan(out.signaturesPerDecision as number);
  });

  it('without --byzantine each seed picks the nodes, and --json lists them per seed', () => {
    const out = simJson(...BYZ, '--seeds', '3', '--adversary', 'silent');
    const byzantine = out.byzantine as { nodes: unknown; nodesBySeed: number[][] };
    expect(byzantine.nodes).toBe('per-seed');
    expect(byzantine.nodesBySeed).toHaveLength(3);
    for (const nodes of byzantine.nodesBySeed) expect(nodes).toEqual([expect.any(Number)]);
  });

  it('loads the example strategy module', () => {
    const out = simJson(...BYZ, '--seeds', '1', '--adversary-module', EXAMPLE, '--byzantine', '0');
    expect(out).toMatchObject({ completed: 10, safetyViolations: [], byzantine: { nodes: [0], strategies: ['censor'] } });
  });

  it('--beyond-bound: an equivocating leader and acceptor together break agreement (exit 1, said to be on purpose)', () => {
    const r = byzpaxos('sim', ...BYZ, '--seeds', '5', '--beyond-bound', '--adversary', 'equivocating-leader,equivocating-acceptor', '--byzantine', '0,1');
    expect(r.status, r.stderr).toBe(1);
    expect(r.stdout).toMatch(/beyond the bound on purpose/);
    expect(r.stdout).toMatch(/^ {2}agreement: slot \d+/m);
    expect(r.stdout).toMatch(/^forensics: 5 of 5 run\(s\) that broke agreement named f\+1=2 or more culprits with verified proofs \(10 culprit\(s\) over all runs: n0, n1\); no honest member named$/m);
    expect(r.stdout).toMatch(/^ {2}culprit: n0, \d+ proof\(s\) \(equivocation\)$/m);
  });

  it('--beyond-bound --json: a culprits array, each proof an evidence file `evidence verify` accepts', () => {
    const r = byzpaxos('sim', ...BYZ, '--commands', '3', '--seeds', '2', '--beyond-bound', '--adversary', 'equivocating-leader,equivocating-acceptor', '--byzantine', '0,1', '--json');
    expect(r.status, r.stderr).toBe(1);
    const summary = JSON.parse(r.stdout) as { culprits: { seed: number; node: number; proofs: unknown[] }[]; forensics: unknown };
    expect(summary.forensics).toEqual({ agreementBroken: 2, accountable: 2, honestNamed: 0 });
    expect(summary.culprits.map((c) => [c.seed, c.node])).toEqual([[1, 0], [1, 1], [2, 0], [2, 1]]);
    const dir = mkdtempSync(join(tmpdir(), 'byzpaxos-culprit-'));
    try {
      const file = join(dir, 'proof.json');
      writeFileSync(file, `${JSON.stringify(summary.culprits[1]!.proofs[0])}\n`);
      const verdict = byzpaxos('evidence', 'verify', file);
      expect(verdict.status, verdict.stderr).toBe(0);
      expect(verdict.stdout).toMatch(/^genuine: equivocation by n1 /);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('the printed replay command reproduces the run, Byzantine nodes the seed picked included', () => {
    // Seed 13 picks n0 (the first leader) and n3 for the two strategies: agreement breaks at once.
    const run = ['--seed-start', '13', '--seeds', '1', '--beyond-bound', '--adversary', 'equivocating-leader,equivocating-acceptor'];
    const first = byzpaxos('sim', ...BYZ, ...run);
    const replay = /^ {2}replay: npx byzpaxos (.*)$/m.exec(first.stdout)?.[1];
    expect(replay, first.stdout).toMatch(/--byzantine \d,\d .*--trace$/);
    const again = byzpaxos(...replay!.split(' '));
    const hash = (stdout: string) => /^trace hash: ([0-9a-f]{64})$/m.exec(stdout)?.[1];
    expect(hash(again.stdout)).toBeDefined();
    expect(hash(again.stdout)).toBe(hash(first.stdout));
  });
});

describe('byzpaxos sim --mode commit-reveal', () => {
  const dir = mkdtempSync(join(tmpdir(), 'byzpaxos-evidence-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('--json adds evidence, falseEvidence, suspicions and commitments; --evidence-out writes one verifiable file per proof', () => {
    const out = join(dir, 'made-by-sim');
    const summary = simJson('--mode', 'commit-reveal', '--f', '1', '--seeds', '2', '--commands', '10', '--adversary', 'reveal-mismatch', '--byzantine', '1', '--evidence-out', out);
    expect(summary).toMatchObject({ mode: 'commit-reveal', n: 4, completed: 20, safetyViolations: [], livenessFailures: 0, falseEvidence: 0 });
    expect(summary.evidence).toBeGreaterThan(0);
    expect(typeof summary.suspicions).toBe('number');
    // n−1 boxes to the leader per slot, at least (the leader's own never leaves it).
    expect(summary.commitmentsPerDecision).toBeGreaterThanOrEqual(3);
    const files = readdirSync(out).sort();
    expect(files).toHaveLength(summary.evidence as number);
    for (const name of files) {
      expect(name).toMatch(/^[0-9a-f]{16}\.json$/);
      const { cluster, evidence } = decodeEvidenceFile(readFileSync(join(out, name), 'utf8'));
      expect(verifyEvidence(cluster, evidence), name).toMatchObject({ ok: true, culprit: 1 });
    }

    const file = join(out, files[0]!);
    const genuine = byzpaxos('evidence', 'verify', file);
    expect(genuine.status, genuine.stderr).toBe(0);
    expect(genuine.stdout).toMatch(/^genuine: commitment-mismatch by n1 /);

    // One hex digit of the reveal's signature, changed: the file still parses, the proof does not hold.
    const text = readFileSync(file, 'utf8');
    const at = text.lastIndexOf('"signature":"') + '"signature":"'.length + 10;
    const tampered = join(dir, 'tampered.json');
    writeFileSync(tampered, `${text.slice(0, at)}${text[at] === '0' ? '1' : '0'}${text.slice(at + 1)}`);
    const rejected = byzpaxos('evidence', 'verify', tampered);
    expect(rejected.status).toBe(1);
    expect(rejected.stdout).toBe('');
    expect(rejected.stderr).toMatch(/^byzpaxos: evidence rejected: reveal: not a well-formed message validly signed by n1/);
  });

  it('the summary reports proofs and suspicions, and commitments per slot', () => {
    const r = byzpaxos('sim', '--mode', 'commit-reveal', '--seeds', '1', '--commands', '10', '--adversary', 'commit-equivocation', '--byzantine', '2');
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/^commitments: [\d.]+ sent per decided slot$/m);
    expect(r.stdout).toMatch(/^evidence: [1-9]\d* distinct proof\(s\), none against honest nodes; \d+ suspicion\(s\)$/m);
  });
});

describe('bad Byzantine command lines exit 2 with one line naming the problem', () => {
  const dir = mkdtempSync(join(tmpdir(), 'byzpaxos-cli-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  const module = (name: string, source: string) => {
    const path = join(dir, name);
    writeFileSync(path, source);
    return path;
  };
  const noDefault = module('no-default.mjs', 'export const adversary = {};\n');
  const noCreate = module('no-create.mjs', "export default { name: 'half' };\n");
  const throws = module('throws.mjs', "throw new Error('strategy exploded\\nsecond line');\n");
  const cases: [string[], RegExp][] = [
    [['--adversary', 'nope'], /unknown strategy 'nope' \(one of silent, .*twins/],
    [['--adversary-module', join(dir, 'missing.ts')], /--adversary-module: no such file '.*missing\.ts'/],
    [['--adversary-module', noDefault], /no-default\.mjs: it has no default export/],
    [['--adversary-module', noCreate], /no-create\.mjs: its default export 'half' has no create\(ctx\) function/],
    [['--adversary-module', throws], /throws\.mjs: import failed: strategy exploded$/],
    [['--adversary', 'silent,slow'], /2 Byzantine nodes exceed f=1; add --beyond-bound to see what breaks/],
    [['--adversary', 'silent', '--byzantine', '4'], /--byzantine: node ids must be integers in 0\.\.3, got '4'/],
    [['--adversary', 'silent', '--byzantine', '2,2'], /--byzantine: node 2 is listed twice/],
    [['--adversary', 'silent,slow', '--byzantine', '2', '--beyond-bound'], /1 node\(s\) for 2 strategies/],
    [['--byzantine', '0'], /--byzantine 0 needs a strategy/],
    [['--f', '4'], /--f must be an integer in 1\.\.3/],
  ];
  it.each(cases)('byzpaxos sim --mode byzantine %j', (args, message) => expectUsageError(['sim', '--mode', 'byzantine', ...args], message));
  it('--adversary in crash mode', () => expectUsageError(['sim', '--adversary', 'silent'], /--adversary needs --mode byzantine/));
});
