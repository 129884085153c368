// A cluster member as its own `byzpaxos start` child process: spawned with this very Node, in its
// own process group (a terminal's Ctrl-C reaches the parent only), its output read line by line.
// It has started once it logs "node started" (that line's JSON is kept: it names the metrics
// port); it refused to start if it exits first (its `byzpaxos: …` line says why). Stopping is
// SIGTERM by PID, then SIGKILL by PID after a grace period. Used by `byzpaxos up` and by
// `byzpaxos bench --processes` (through LocalCluster).
import { spawn, type ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { memberName } from './build.ts';
import { siblingModuleUrl } from './module-url.ts';

const MAIN_PATH = fileURLToPath(siblingModuleUrl('../cli/main.ts', import.meta.url));
/** What a member's start logs once it runs, and how a refusal to start begins (start.ts, deployment.ts). */
const STARTED_LOG = '"msg":"node started"';
const REFUSAL_PREFIX = 'byzpaxos: ';

export type OutputStream = 'stdout' | 'stderr';

export interface MemberProcess {
  readonly id: number;
  readonly name: string;
  readonly child: ChildProcess;
  /** Set once the process has exited and its output is read. */
  exited: boolean;
  /** Resolves, with how it ended ('code 0', 'signal SIGTERM'), once it has exited and its output is read. */
  readonly exit: Promise<string>;
  /** Resolves with the fields of its "node started" line, or rejects with why it did not start. */
  readonly started: Promise<Record<string, unknown>>;
}

export interface SpawnMemberOptions {
  /** Arguments after `start --config PATH --id I`. */
  readonly args?: readonly string[];
  /** Every line the member prints, in order. */
  readonly onLine?: (stream: OutputStream, text: string) => void;
}

export function spawnMember(clusterPath: string, id: number, options: SpawnMemberOptions = {}): MemberProcess {
  const name = memberName(id);
  const child = spawn(process.execPath, [MAIN_PATH, 'start', '--config', clusterPath, '--id', String(id), ...(options.args ?? [])], {
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: true,
  });
  let reportStarted: (fields: Record<string, unknown>) => void = () => {};
  let reportRefused: (why: Error) => void = () => {};
  const started = new Promise<Record<string, unknown>>((resolve, reject) => {
    reportStarted = resolve;
    reportRefused = reject;
  });
  started.catch(() => {}); // a caller that never asks must not see an unhandled rejection
  let refusal: string | null = null;
  const line = (stream: OutputStream, text: string): void => {
    options.onLine?.(stream, text);
    if (text.startsWith(REFUSAL_PREFIX)) refusal = text.slice(REFUSAL_PREFIX.length);
    else if (text.includes(STARTED_LOG)) reportStarted(startedFields(text));
  };
  createInterface({ input: child.stdout!, crlfDelay: Infinity }).on('line', (text) => line('stdout', text));
  createInterface({ input: child.stderr!, crlfDelay: Infinity }).on('line', (text) => line('stderr', text));
  const member: MemberProcess = {
    id,
    name,
    child,
    exited: false,
    // 'close', not 'exit': its output has been read by then, the refusal line included.
    exit: new Promise((resolve) =>
      child.on('close', (code, signal) => {
        member.exited = true;
        const how = signal === null ? `code ${code}` : `signal ${signal}`;
        reportRefused(new Error(`${name} did not start: ${refusal ?? `it exited (${how})`}`));
        resolve(how);
      }),
    ),
    started,
  };
  child.on('error', (e) => reportRefused(new Error(`${name} did not start: ${e.message}`)));
  return member;
}

function startedFields(text: string): Record<string, unknown> {
  try {
    const parsed: unknown = JSON.parse(text);
    return typeof parsed === 'object' && parsed !== null ? (parsed as Record<string, unknown>) : {};
  } catch {
    return {};
  }
}

/** SIGTERM to every running member, SIGKILL to those left after `graceMs`; resolves when all have exited. */
export async function stopMembers(members: readonly MemberProcess[], graceMs: number, onKill?: () => void): Promise<void> {
  signalMembers(members, 'SIGTERM');
  const grace = setTimeout(() => {
    onKill?.();
    signalMembers(members, 'SIGKILL');
  }, graceMs);
  await Promise.all(members.map((m) => m.exit));
  clearTimeout(grace);
}

/** `signal` to every member still running, by PID. */
export function signalMembers(members: readonly MemberProcess[], signal: NodeJS.Signals): void {
  for (const m of members) if (!m.exited) killPid(m.child.pid, signal);
}

function killPid(pid: number | undefined, signal: NodeJS.Signals): void {
  if (pid === undefined) return;
  try {
    process.kill(pid, signal);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'ESRCH') throw e;
  }
}
