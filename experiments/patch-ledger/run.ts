// The patch ledger over libp2p with real files (seed 000 §6): a 4-member Byzantine cluster, each
// member its own `byzpaxos start` process on 127.0.0.1, member 0 (the first ballot's leader)
// running skips-validation, a malicious proposer. A developer's git working directory makes the
// patches (`git diff`), `byzpaxos ledger propose` sends them; a second, rogue developer pushes a
// patch that breaks the tree (a line holding TODO-BREAK), the malicious leader proposes it, and
// the honest acceptors refuse to Verify it; an honest patch made against a stale tree conflicts
// and is refused at apply. Then every member is stopped by PID and each one's own repository is
// rebuilt from its store (`ledger replica`): every one holds the same history and the same tree.
//
//   npx node experiments/patch-ledger/run.ts           # prints each step; exit 0 if all held
//   npx node experiments/patch-ledger/run.ts --json    # one JSON object
//   npx node experiments/patch-ledger/run.ts --keep    # keep the cluster directory
import { execFile } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { initCluster } from '../../src/cli/init.ts';
import { formatClusterFile, loadClusterFile } from '../../src/deploy/cluster-file.ts';
import { freeLoopbackPorts } from '../../src/node/local-cluster.ts';
import { spawnMember, stopMembers, type MemberProcess } from '../../src/node/member-process.ts';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const BYZPAXOS = join(ROOT, 'src/cli/byzpaxos.mjs');
const NODES = 4;
const MALICIOUS = 0;
/** Bounds: a member's start, one CLI command, the rogue patch's wait, a member's stop. */
const START_MS_MAX = 30_000;
const COMMAND_MS_MAX = 20_000;
// Counted from the CLI process's start: on a loaded machine loading and connecting alone took 4 s.
const ROGUE_WAIT_MS = 10_000;
const STOP_GRACE_MS = 5_000;
/** `status` calls while waiting for the first ballot to settle (each up to its 2 s timeout). */
const READY_TRIES_MAX = 10;

export interface Step {
  readonly command: string;
  readonly code: number | null;
  readonly output: string;
  readonly ms: number;
}

export interface Replica {
  readonly node: number;
  readonly head: string;
  readonly count: number;
  readonly tree: string;
  readonly broken: boolean;
}

/** What a member's metrics say it dropped as invalid (validated proposals). */
export interface Refusals {
  readonly node: number;
  /** Accepts (or NewBallot slots) whose batch its application refuses: it did not Verify them. */
  readonly invalidBatches: number;
  /** Client requests its application refuses: it never proposed or waited for them. */
  readonly invalidRequests: number;
}

export interface DemoResult {
  readonly ok: boolean;
  readonly refusals: readonly Refusals[];
  readonly steps: readonly Step[];
  readonly replicas: readonly Replica[];
  /** Why ok is false, each one line. */
  readonly problems: readonly string[];
  readonly dir: string;
  readonly ms: number;
}

function run(file: string, args: readonly string[], cwd: string, timeoutMs = COMMAND_MS_MAX): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(file, args, { cwd, timeout: timeoutMs, killSignal: 'SIGKILL', encoding: 'utf8' }, (error, stdout, stderr) => {
      const code = error === null ? 0 : typeof error.code === 'number' ? error.code : null;
      resolve({ code, stdout, stderr });
    });
  });
}

/** Runs the whole story in `dir` (default a fresh temporary one, removed unless `keep`). */
export async function runPatchLedgerDemo(options: { readonly dir?: string; readonly keep?: boolean; readonly say?: (line: string) => void } = {}): Promise<DemoResult> {
  const started = performance.now();
  const say = options.say ?? (() => {});
  const dir = options.dir ?? mkdtempSync(join(tmpdir(), 'byzpaxos-ledger-'));
  const steps: Step[] = [];
  const problems: string[] = [];
  const members: MemberProcess[] = [];
  const metricsPorts: number[] = [];
  const refusals: Refusals[] = [];
  const work = join(dir, 'work');
  const rogue = join(dir, 'rogue');
  const config = join(dir, 'cluster.json');

  const byzpaxos = async (args: readonly string[], expect: 'ok' | 'refused', timeoutMs?: number): Promise<Step> => {
    const t = performance.now();
    const r = await run(process.execPath, [BYZPAXOS, ...args], dir, timeoutMs);
    const step = { command: `byzpaxos ${args.map((a) => (a.includes(' ') ? JSON.stringify(a) : a)).join(' ')}`, code: r.code, output: (r.stdout + r.stderr).trim(), ms: Math.round(performance.now() - t) };
    steps.push(step);
    say(`$ ${step.command}\n${step.output.replace(/^/gm, '  ')}`);
    if ((expect === 'ok') !== (r.code === 0)) problems.push(`${step.command}: expected ${expect}, exit ${r.code}: ${step.output.split('\n')[0]}`);
    return step;
  };
  const git = async (cwd: string, ...args: string[]): Promise<string> => {
    const r = await run('git', ['-c', 'user.name=dev', '-c', 'user.email=dev@example.invalid', '-c', 'init.defaultBranch=main', ...args], cwd);
    if (r.code !== 0) throw new Error(`git ${args.join(' ')}: ${r.stderr.trim()}`);
    return r.stdout;
  };
  /** Stages everything, writes the patch against the last commit, commits it: one developer's change. */
  const change = async (cwd: string, name: string): Promise<string> => {
    await git(cwd, 'add', '-A');
    const patch = await git(cwd, 'diff', '--cached');
    await git(cwd, 'commit', '-q', '-m', name);
    const file = join(dir, `${name}.patch`);
    writeFileSync(file, patch);
    return file;
  };

  try {
    // init, then the cluster's addresses moved to free ports (addresses are no part of what keys and stores are bound to).
    initCluster({ mode: 'byzantine', nodes: NODES, dir, basePort: 7000, host: '127.0.0.1', clients: 2, app: 'patch-ledger', force: false, json: false });
    const ports = await freeLoopbackPorts(NODES);
    const deployment = loadClusterFile(config);
    writeFileSync(config, formatClusterFile({ ...deployment, members: deployment.members.map((m, i) => ({ ...m, addrs: [`/ip4/127.0.0.1/tcp/${ports[i]}`] })) }));
    say(`cluster: ${config} (byzantine, n=${NODES}, f=1, app patch-ledger); n${MALICIOUS} runs skips-validation`);
    for (let id = 0; id < NODES; id++) {
      const args = ['--metrics-port', '0', ...(id === MALICIOUS ? ['--adversary', 'skips-validation'] : [])];
      members.push(spawnMember(config, id, { args }));
    }
    const started = await Promise.all(members.map((m) => within(m.started, START_MS_MAX, `${m.name} to start`)));
    metricsPorts.push(...started.map((fields) => Number(fields.metricsPort)));
    say(`members running, pids ${members.map((m) => m.child.pid).join(', ')}`);
    const client = (c: number) => ['--config', config, '--client', String(c)];
    /** Who leads, as `byzpaxos status` reports it: the member that claims to, if every member follows one ballot. */
    const leader = async (): Promise<number | null> => {
      const r = await run(process.execPath, [BYZPAXOS, 'status', '--json', ...client(1)], dir);
      if (r.code !== 0) return null;
      const rows = (JSON.parse(r.stdout) as { members: { reachable: boolean; isLeader?: boolean; ballot?: { round: number } }[] }).members;
      if (!rows.every((m) => m.reachable) || new Set(rows.map((m) => m.ballot!.round)).size !== 1) return null;
      return rows.findIndex((m) => m.isLeader === true);
    };
    for (let tries = 0; (await leader()) !== MALICIOUS; tries++) {
      if (tries >= READY_TRIES_MAX) throw new Error(`n${MALICIOUS} did not come to lead a ballot every member follows`);
    }
    say(`n${MALICIOUS} leads the first ballot`);

    // The developer's first two patches, from a git working directory.
    mkdirSync(join(work, 'src'), { recursive: true });
    await git(work, 'init', '-q');
    writeFileSync(join(work, 'README'), 'byzpaxos patch ledger demo\n');
    writeFileSync(join(work, 'src', 'main.c'), 'int main(void) {\n  return 0;\n}\n');
    await byzpaxos(['ledger', 'propose', await change(work, 'initial'), '--message', 'initial tree', ...client(1)], 'ok');
    writeFileSync(join(work, 'src', 'main.c'), 'int main(void) {\n  puts("hello");\n  return 0;\n}\n');
    await byzpaxos(['ledger', 'propose', await change(work, 'hello'), '--message', 'say hello', ...client(1)], 'ok');

    // The rogue developer: refused locally first; forced, the honest members drop it and the malicious leader's batch is refused.
    mkdirSync(rogue);
    await byzpaxos(['ledger', 'checkout', join(rogue, 'tree'), ...client(2)], 'ok');
    await git(join(rogue, 'tree'), 'init', '-q');
    await change(join(rogue, 'tree'), 'base');
    writeFileSync(join(rogue, 'tree', 'src', 'main.c'), readFileSync(join(rogue, 'tree', 'src', 'main.c'), 'utf8').replace('  return 0;\n', '  TODO-BREAK;\n  return 0;\n'));
    const broken = await change(join(rogue, 'tree'), 'broken');
    await byzpaxos(['ledger', 'propose', broken, '--message', 'break the build', ...client(2)], 'refused');
    // The story needs the malicious member to lead when the patch arrives; on a loaded machine a view change may have come first.
    const leading = await leader();
    say(`n${leading ?? '?'} leads`);
    if (leading !== MALICIOUS) problems.push(`n${MALICIOUS} no longer leads (n${leading ?? '?'} does): rerun on a quieter machine`);
    await byzpaxos(['ledger', 'propose', broken, '--message', 'break the build', '--force', '--timeout-ms', String(ROGUE_WAIT_MS), ...client(2)], 'refused', ROGUE_WAIT_MS + COMMAND_MS_MAX);

    // Honest work goes on (the stalled slot makes the honest members replace the malicious leader); then a stale patch conflicts.
    writeFileSync(join(work, 'README'), 'byzpaxos patch ledger demo, replicated\nevery member keeps this tree\n');
    await byzpaxos(['ledger', 'propose', await change(work, 'readme'), '--message', 'explain the demo', ...client(1)], 'ok');
    // Made against the tree of before 'explain the demo': its README line 1 is gone, so the patch conflicts.
    await git(join(rogue, 'tree'), 'reset', '-q', '--hard', 'HEAD~1');
    writeFileSync(join(rogue, 'tree', 'README'), 'a stale edit\n');
    await byzpaxos(['ledger', 'propose', await change(join(rogue, 'tree'), 'stale'), '--message', 'stale edit', ...client(2)], 'refused');
    await byzpaxos(['ledger', 'log', ...client(1)], 'ok');
    for (let id = 0; id < NODES; id++) {
      const text = await (await fetch(`http://127.0.0.1:${metricsPorts[id]}/metrics`, { signal: AbortSignal.timeout(COMMAND_MS_MAX) })).text();
      refusals.push({ node: id, invalidBatches: droppedFor(text, 'accept:invalid-batch'), invalidRequests: droppedFor(text, 'request:invalid-command') });
      say(`n${id} metrics: byzpaxos_core_dropped_total accept:invalid-batch ${refusals[id]!.invalidBatches}, request:invalid-command ${refusals[id]!.invalidRequests}`);
    }
    if (refusals.filter((r) => r.node !== MALICIOUS && r.invalidBatches > 0).length === 0) problems.push('no honest acceptor refused an invalid batch: the malicious leader never proposed the broken patch');
  } catch (e) {
    problems.push((e as Error).message.split('\n')[0]!);
  } finally {
    await stopMembers(members, STOP_GRACE_MS);
  }

  // Each member's own repository, from its own store.
  const replicas: Replica[] = [];
  for (let id = 0; id < NODES && members.length === NODES; id++) {
    const out = join(dir, `replica-n${id}`);
    const step = await byzpaxos(['ledger', 'replica', '--config', config, '--id', String(id), '--out', out, '--json'], 'ok');
    if (step.code !== 0) continue;
    const r = JSON.parse(step.output.split('\n')[0]!) as { head: string; count: number; tree: string };
    const text = (await run('grep', ['-r', '-l', 'TODO-BREAK', out], dir)).stdout;
    replicas.push({ node: id, head: r.head, count: r.count, tree: r.tree, broken: text.trim() !== '' });
  }
  const first = replicas[0];
  if (replicas.length !== NODES) problems.push(`only ${replicas.length} of ${NODES} replicas rebuilt`);
  if (first !== undefined && first.count !== 3) problems.push(`n0 holds ${first.count} patches, expected 3`);
  for (const r of replicas) {
    if (first !== undefined && (r.head !== first.head || r.tree !== first.tree)) problems.push(`n${r.node} holds another history or tree than n0`);
    if (r.broken) problems.push(`n${r.node}'s tree holds TODO-BREAK`);
  }
  for (const r of replicas) say(`n${r.node}: head ${r.head.slice(0, 16)}, ${r.count} patches, tree ${r.tree.slice(0, 16)}${r.broken ? ', BROKEN' : ''}`);
  if (options.keep !== true && options.dir === undefined) rmSync(dir, { recursive: true, force: true });
  return { ok: problems.length === 0, refusals, steps, replicas, problems, dir, ms: Math.round(performance.now() - started) };
}

function droppedFor(metrics: string, reason: string): number {
  const line = metrics.split('\n').find((l) => l.startsWith('byzpaxos_core_dropped_total{') && l.includes(`reason="${reason}"`));
  return line === undefined ? 0 : Number(line.split(' ').at(-1));
}

async function within<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  try {
    return await Promise.race([promise, new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms waiting for ${what}`)), ms)))]);
  } finally {
    clearTimeout(timer);
  }
}

if (process.argv[1] !== undefined && fileURLToPath(import.meta.url) === process.argv[1]) {
  const json = process.argv.includes('--json');
  const result = await runPatchLedgerDemo({ keep: process.argv.includes('--keep'), ...(json ? {} : { say: (line: string) => console.log(line) }) });
  if (json) console.log(JSON.stringify(result));
  else console.log(result.ok ? `ok: every member holds the same history and tree, without the broken patch (${result.ms} ms)` : `FAILED:\n  ${result.problems.join('\n  ')}`);
  process.exitCode = result.ok ? 0 : 1;
}
