// `byzpaxos up --nodes 4 --mode byzantine [--dir DIR] [--base-port P] [--spares K]`: a whole local
// cluster in one command (with --spares, a reconfigurable one: its spares run too, as non-members). Runs `init` into DIR (a fresh temporary directory by default; an existing DIR is
// reused only if it holds a cluster.json of the same mode and size, and refused if it holds
// anything else), then runs one `byzpaxos start` child process per member, its output prefixed
// `[n0] ` etc. Only once every member has started does it print how to use the cluster; if one
// cannot start (a port in use), every member is stopped, what up created is removed, and the
// refusal is one line. A child that dies later is reported and the others keep running.
// SIGINT/SIGTERM stops every child (SIGTERM by PID, SIGKILL after STOP_GRACE_MS) and exits 0; a
// temporary directory (it holds keys) is removed then. With --trace-json FILE each member records
// its message flow into its own file (memberTracePath), written when it stops, for `flow`.
import { existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { extname, join } from 'node:path';
import { MODES } from '../base/mode.ts';
import { CLUSTER_FILE_NAME, ConfigError, loadClusterFile, type DeploymentConfig } from '../deploy/cluster-file.ts';
import { memberName } from '../node/build.ts';
import { signalMembers, spawnMember as spawnMemberProcess, stopMembers, type MemberProcess } from '../node/member-process.ts';
import { parseOptions, UsageError } from './args.ts';
import { RefusalError, reportRefusals } from './deployment.ts';
import { CLUSTER_OPTIONS, initCluster, parseInitArgs, type InitOptions } from './init.ts';

const OPTIONS = { ...CLUSTER_OPTIONS, 'trace-json': { type: 'string' } } as const;

/** How long the children have to stop after SIGTERM before they are killed. */
export const STOP_GRACE_MS = 10_000;
/** How long every member has to log that it started before up gives up. */
export const STARTUP_TIMEOUT_MS = 30_000;

/** `up --trace-json run.json`: member I writes run-nI.json (its name, -nI before the extension). */
export function memberTracePath(path: string, id: number): string {
  const extension = extname(path);
  return `${path.slice(0, path.length - extension.length)}-${memberName(id)}${extension}`;
}

interface Member {
  readonly process: MemberProcess;
  /** Where it writes its trace; null without --trace-json. */
  readonly tracePath: string | null;
  /** Resolves null once it logs that it started, or why it did not. */
  readonly started: Promise<string | null>;
  /** Stops holding its output: prints what was held, then passes each line through. */
  readonly release: () => void;
}

export function runUp(argv: readonly string[]): Promise<number> {
  const { values } = parseOptions('up', argv, OPTIONS);
  if (values.nodes === undefined) throw new UsageError('up: missing --nodes N');
  if (values.mode === undefined) throw new UsageError(`up: missing --mode (one of ${MODES.join(', ')})`);
  const basePort = values['base-port'] === undefined ? [] : ['--base-port', values['base-port']];
  const app = values.app === undefined ? [] : ['--app', values.app];
  const spares = values.spares === undefined ? [] : ['--spares', values.spares];
  const trace = values['trace-json'];
  if (trace === '') throw new UsageError('--trace-json needs a file name');
  // Checked before the temporary directory exists: a bad command line leaves nothing behind.
  const init = parseInitArgs(['--nodes', values.nodes, '--mode', values.mode, '--dir', values.dir ?? tmpdir(), ...basePort, ...app, ...spares]);
  return reportRefusals(async () => {
    const workspace = openWorkspace(values.dir);
    let running = false;
    try {
      const { config, clusterPath, reused } = prepare({ ...init, dir: workspace.dir });
      const json = values.json === true;
      const members = await startMembers(config, clusterPath, json, trace ?? null);
      running = true;
      if (json) printJson(config, clusterPath, reused, members, workspace.temporary);
      else printBanner(config, clusterPath, reused, members, workspace.temporary, trace ?? null);
      return await supervise(members);
    } finally {
      // What up created goes if it never ran; a temporary directory (it holds keys) goes always.
      if (!running || workspace.temporary) workspace.removeCreated();
    }
  });
}

interface Workspace {
  readonly dir: string;
  readonly temporary: boolean;
  /** Removes what this run added: the directory if it made it, else the entries it added. */
  readonly removeCreated: () => void;
}

function openWorkspace(given: string | undefined): Workspace {
  if (given === undefined) {
    const dir = mkdtempSync(join(tmpdir(), 'byzpaxos-up-'));
    return { dir, temporary: true, removeCreated: () => rmSync(dir, { recursive: true, force: true }) };
  }
  const existed = existsSync(given);
  const before = new Set(listDir(given));
  const removeCreated = (): void => {
    if (!existed) return rmSync(given, { recursive: true, force: true });
    for (const name of listDir(given)) if (!before.has(name)) rmSync(join(given, name), { recursive: true, force: true });
  };
  return { dir: given, temporary: false, removeCreated };
}

/** Initialises `dir`, or reuses the cluster already there if it has the same shape. */
function prepare(init: InitOptions): { config: DeploymentConfig; clusterPath: string; reused: boolean } {
  const clusterPath = join(init.dir, CLUSTER_FILE_NAME);
  const entries = listDir(init.dir);
  if (entries.length === 0) return { config: initCluster(init).config, clusterPath, reused: false };
  if (!entries.includes(CLUSTER_FILE_NAME)) {
    throw new UsageError(`up: --dir ${init.dir} is not empty and holds no ${CLUSTER_FILE_NAME}; use an empty or new directory`);
  }
  let config: DeploymentConfig;
  try {
    config = loadClusterFile(clusterPath);
  } catch (e) {
    if (e instanceof ConfigError) throw new RefusalError(e.message);
    throw e;
  }
  const found = shapeOf(config.n, config.firstMembers?.length ?? null);
  const wanted = shapeOf(init.nodes + (init.spares ?? 0), init.spares === undefined ? null : init.nodes);
  if (config.mode !== init.mode || found !== wanted) {
    throw new UsageError(`up: ${clusterPath} is a ${config.mode} cluster of ${found}, not ${init.mode} with ${wanted}; use another --dir`);
  }
  if ((config.app ?? 'kv') !== (init.app ?? 'kv')) {
    throw new UsageError(`up: ${clusterPath} runs the ${config.app ?? 'kv'} application, not ${init.app ?? 'kv'}; use another --dir`);
  }
  return { config, clusterPath, reused: true };
}

/** A cluster's size as up compares it: `4 nodes`, or a reconfigurable one's `3 first members and 2 spares`. */
function shapeOf(universe: number, firstMembers: number | null): string {
  return firstMembers === null ? `${universe} nodes` : `${firstMembers} first members and ${universe - firstMembers} spares`;
}

/** The names in `dir`; [] if it does not exist. */
function listDir(dir: string): string[] {
  if (!existsSync(dir)) return [];
  try {
    return readdirSync(dir);
  } catch (e) {
    throw new UsageError(`up: --dir ${dir} cannot be listed (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`);
  }
}

/**
 * Spawns every member and resolves once each has logged that it started. If one exits first (a
 * port in use, say) or none of this happens within STARTUP_TIMEOUT_MS, every member is stopped and
 * the refusal says which and why; output is held until then, so a failed up prints one line.
 */
async function startMembers(config: DeploymentConfig, clusterPath: string, json: boolean, trace: string | null): Promise<Member[]> {
  const members = config.members.map((m) => spawnMember(clusterPath, m.id, json, trace === null ? null : memberTracePath(trace, m.id)));
  const failure = await new Promise<string | null>((resolve) => {
    let waiting = members.length;
    const timer = setTimeout(() => resolve(`the members did not all start within ${STARTUP_TIMEOUT_MS} ms`), STARTUP_TIMEOUT_MS);
    const settle = (result: string | null): void => {
      clearTimeout(timer);
      resolve(result);
    };
    for (const m of members) void m.started.then((why) => (why !== null ? settle(why) : --waiting === 0 ? settle(null) : undefined));
  });
  if (failure !== null) {
    await stopAll(members);
    throw new RefusalError(`up: ${failure}; every member stopped`);
  }
  return members;
}

function printBanner(config: DeploymentConfig, clusterPath: string, reused: boolean, members: readonly Member[], temporary: boolean, trace: string | null): void {
  const out = (line: string): void => void process.stdout.write(`${line}\n`);
  const shape = config.firstMembers === undefined ? `${config.n} members` : `${shapeOf(config.n, config.firstMembers.length)}`;
  out(`${reused ? 'reusing' : 'created'} ${clusterPath}: ${config.mode} mode, f=${config.f}, ${shape} (${config.members.map((m) => m.addrs[0]).join(' ')})`);
  for (const m of members) out(`[up] ${m.process.name} pid ${m.process.child.pid}`);
  out('');
  out('try, in another terminal:');
  out(`  npx byzpaxos put k v --config ${clusterPath}`);
  out(`  npx byzpaxos get k --config ${clusterPath}`);
  out(`  npx byzpaxos status --config ${clusterPath}`);
  if (config.firstMembers !== undefined) out(`  npx byzpaxos member list --config ${clusterPath}`);
  if (trace !== null) {
    out(`each member records its message flow; once they stop, draw it:`);
    out(`  npx byzpaxos flow ${members.map((m) => m.tracePath).join(' ')} --html ${trace.slice(0, trace.length - extname(trace).length)}.html`);
  }
  out(temporary ? 'Ctrl-C stops every node (and removes this temporary directory; --dir DIR keeps one).' : 'Ctrl-C stops every node.');
  for (const m of members) m.release();
}

/** The banner's facts as one JSON line: the cluster, and each member's pid and address. */
function printJson(config: DeploymentConfig, clusterPath: string, reused: boolean, members: readonly Member[], temporary: boolean): void {
  const listed = members.map((m, id) => ({ id, name: m.process.name, pid: m.process.child.pid, addrs: config.members[id]!.addrs, traceJson: m.tracePath }));
  process.stdout.write(`${JSON.stringify({ clusterPath, reused, temporary, mode: config.mode, f: config.f, n: config.n, firstMembers: config.firstMembers ?? null, members: listed })}\n`);
  for (const m of members) m.release();
}

/** Runs until a signal (exit 0) or until every member has exited by itself (exit 1). */
function supervise(members: readonly Member[]): Promise<number> {
  return new Promise<number>((resolve) => {
    let stopping = false;
    const finish = (code: number): void => {
      for (const signal of ['SIGINT', 'SIGTERM'] as const) process.off(signal, onSignal);
      process.off('exit', onExit);
      resolve(code);
    };
    const onSignal = (signal: NodeJS.Signals): void => {
      if (stopping) {
        process.stderr.write(`[up] second ${signal}: killing every node\n`);
        return killAll(members, 'SIGKILL');
      }
      stopping = true;
      process.stderr.write(`[up] ${signal}: stopping ${members.filter((m) => !m.process.exited).length} nodes\n`);
      void stopAll(members).then(() => {
        process.stderr.write(`[up] every node stopped\n`);
        finish(0);
      });
    };
    // Whatever ends this process, no child outlives it.
    const onExit = (): void => killAll(members, 'SIGKILL');
    for (const signal of ['SIGINT', 'SIGTERM'] as const) process.on(signal, onSignal);
    process.on('exit', onExit);
    for (const m of members) {
      void m.process.exit.then((how) => {
        if (stopping) return;
        process.stderr.write(`[up] ${m.process.name} (pid ${m.process.child.pid}) exited unexpectedly (${how}); the other nodes keep running\n`);
        if (!members.every((x) => x.process.exited)) return;
        process.stderr.write(`[up] every node has exited\n`);
        finish(1);
      });
    }
  });
}

/** Stops every member (SIGTERM, then SIGKILL after STOP_GRACE_MS); resolves when all have exited. */
function stopAll(members: readonly Member[]): Promise<void> {
  return stopMembers(
    members.map((m) => m.process),
    STOP_GRACE_MS,
    () => process.stderr.write(`[up] nodes still running after ${STOP_GRACE_MS} ms: killing them\n`),
  );
}

function killAll(members: readonly Member[], signal: NodeJS.Signals): void {
  signalMembers(members.map((m) => m.process), signal);
}

/**
 * `byzpaxos start` for member `id` (member-process.ts), its output held until release(), then
 * prefixed `[nI] `; with `json` all of it goes to stderr, so that stdout is up's one JSON line.
 */
function spawnMember(clusterPath: string, id: number, json: boolean, tracePath: string | null): Member {
  let held: [NodeJS.WritableStream, string][] | null = [];
  const child = spawnMemberProcess(clusterPath, id, {
    args: tracePath === null ? [] : ['--trace-json', tracePath],
    onLine: (stream, text) => {
      const to = stream === 'stdout' && !json ? process.stdout : process.stderr;
      if (held === null) to.write(`[${memberName(id)}] ${text}\n`);
      else held.push([to, text]);
    },
  });
  return {
    process: child,
    tracePath,
    started: child.started.then(
      () => null,
      (e: unknown) => (e as Error).message,
    ),
    release: () => {
      const lines = held ?? [];
      held = null;
      for (const [to, text] of lines) to.write(`[${child.name}] ${text}\n`);
    },
  };
}
