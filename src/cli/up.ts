// `byzpaxos up --nodes 4 --mode byzantine [--dir DIR] [--base-port P]`: a whole local cluster in
// one command. Runs `init` into DIR (a fresh temporary directory by default; an existing DIR is
// reused only if it holds a cluster.json of the same mode and size, and refused if it holds
// anything else), then runs one `byzpaxos start` child process per member, its output prefixed
// `[n0] ` etc. A child that dies is reported and the others keep running. SIGINT/SIGTERM stops
// every child (SIGTERM by PID, SIGKILL after STOP_GRACE_MS) and exits 0.
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { CLUSTER_FILE_NAME, ConfigError, loadClusterFile, MODES, type DeploymentConfig } from '../deploy/cluster-file.ts';
import { memberName } from '../node/build.ts';
import { parseOptions, UsageError } from './args.ts';
import { RefusalError, reportRefusals } from './deployment.ts';
import { initCluster, parseInitArgs, type InitOptions } from './init.ts';

const OPTIONS = {
  nodes: { type: 'string' },
  mode: { type: 'string' },
  dir: { type: 'string' },
  'base-port': { type: 'string' },
} as const;

/** How long the children have to stop after SIGTERM before they are killed. */
export const STOP_GRACE_MS = 10_000;
const MAIN_PATH = fileURLToPath(new URL('./main.ts', import.meta.url));

interface Member {
  readonly name: string;
  readonly child: ChildProcess;
  exited: boolean;
}

export function runUp(argv: readonly string[]): Promise<number> {
  const { values } = parseOptions('up', argv, OPTIONS);
  if (values.nodes === undefined) throw new UsageError('up: missing --nodes N');
  if (values.mode === undefined) throw new UsageError(`up: missing --mode (one of ${MODES.join(', ')})`);
  const given = values.dir;
  const dir = given ?? mkdtempSync(join(tmpdir(), 'byzpaxos-up-'));
  const basePort = values['base-port'] === undefined ? [] : ['--base-port', values['base-port']];
  const init = parseInitArgs(['--nodes', values.nodes, '--mode', values.mode, '--dir', dir, ...basePort]);
  return reportRefusals(async () => {
    const { config, clusterPath, reused } = prepare(init);
    return runCluster(config, clusterPath, reused);
  });
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
  if (config.mode !== init.mode || config.n !== init.nodes) {
    throw new UsageError(
      `up: ${clusterPath} is a ${config.mode} cluster of ${config.n} nodes, not ${init.mode} with ${init.nodes}; use another --dir`,
    );
  }
  return { config, clusterPath, reused: true };
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

function runCluster(config: DeploymentConfig, clusterPath: string, reused: boolean): Promise<number> {
  const out = (line: string): void => void process.stdout.write(`${line}\n`);
  out(`${reused ? 'reusing' : 'created'} ${clusterPath}: ${config.mode} mode, f=${config.f}, ${config.n} members (${config.members.map((m) => m.addrs[0]).join(' ')})`);
  const members: Member[] = config.members.map((m) => spawnMember(clusterPath, m.id));
  for (const m of members) out(`[up] ${m.name} pid ${m.child.pid}`);
  out('');
  out('try, in another terminal:');
  out(`  byzpaxos put k v --config ${clusterPath}`);
  out(`  byzpaxos get k --config ${clusterPath}`);
  out(`  byzpaxos status --config ${clusterPath}`);
  out('Ctrl-C stops every node.');

  return new Promise<number>((resolve) => {
    let stopping = false;
    let graceTimer: ReturnType<typeof setTimeout> | null = null;
    const killAll = (signal: NodeJS.Signals): void => {
      for (const m of members) if (!m.exited) killPid(m.child.pid, signal);
    };
    const finish = (code: number): void => {
      if (graceTimer !== null) clearTimeout(graceTimer);
      for (const signal of ['SIGINT', 'SIGTERM'] as const) process.off(signal, onSignal);
      process.off('exit', onExit);
      resolve(code);
    };
    const onSignal = (signal: NodeJS.Signals): void => {
      if (stopping) {
        process.stderr.write(`[up] second ${signal}: killing every node\n`);
        return killAll('SIGKILL');
      }
      stopping = true;
      process.stderr.write(`[up] ${signal}: stopping ${members.filter((m) => !m.exited).length} nodes\n`);
      killAll('SIGTERM');
      graceTimer = setTimeout(() => {
        process.stderr.write(`[up] nodes still running after ${STOP_GRACE_MS} ms: killing them\n`);
        killAll('SIGKILL');
      }, STOP_GRACE_MS);
      if (members.every((m) => m.exited)) finish(0);
    };
    // Whatever ends this process, no child outlives it.
    const onExit = (): void => killAll('SIGKILL');
    for (const signal of ['SIGINT', 'SIGTERM'] as const) process.on(signal, onSignal);
    process.on('exit', onExit);
    for (const m of members) {
      m.child.on('exit', (code, signal) => {
        m.exited = true;
        if (!stopping) {
          const how = signal === null ? `code ${code}` : `signal ${signal}`;
          process.stderr.write(`[up] ${m.name} (pid ${m.child.pid}) exited unexpectedly (${how}); the other nodes keep running\n`);
        }
        if (!members.every((x) => x.exited)) return;
        process.stderr.write(stopping ? `[up] every node stopped\n` : `[up] every node has exited\n`);
        finish(stopping ? 0 : 1);
      });
      m.child.on('error', (e) => process.stderr.write(`[up] ${m.name}: ${e.message}\n`));
    }
  });
}

/** `byzpaxos start` for member `id`, in its own process group (a terminal's Ctrl-C reaches `up` only). */
function spawnMember(clusterPath: string, id: number): Member {
  const name = memberName(id);
  const child = spawn(process.execPath, [MAIN_PATH, 'start', '--config', clusterPath, '--id', String(id)], {
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: true,
  });
  prefixLines(child.stdout!, process.stdout, name);
  prefixLines(child.stderr!, process.stderr, name);
  return { name, child, exited: false };
}

function prefixLines(from: NodeJS.ReadableStream, to: NodeJS.WritableStream, name: string): void {
  createInterface({ input: from, crlfDelay: Infinity }).on('line', (line) => to.write(`[${name}] ${line}\n`));
}

function killPid(pid: number | undefined, signal: NodeJS.Signals): void {
  if (pid === undefined) return;
  try {
    process.kill(pid, signal);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'ESRCH') throw e;
  }
}
