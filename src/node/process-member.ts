// A LocalCluster member run as its own `byzpaxos start` process (member-process.ts) from a cluster
// directory on disk: what an operator deploys, with a process boundary, its own event loop and
// heap, and SQLite storage. What it counts comes from outside: its metrics endpoint (decisions,
// view changes, messages and bytes sent) and /proc (CPU time, RSS). Counters only visible inside
// the process (signatures, fsyncs) are not reported.
import type { NodeId } from '../base/types.ts';
import { emptyMemberStats, type MemberHandle, type MemberStats } from './member-handle.ts';
import { signalMembers, spawnMember, stopMembers, type MemberProcess } from './member-process.ts';
import { procUsage, type ProcUsage } from './proc-usage.ts';

/** Bound on a member process's start, and on one metrics scrape. */
const PROCESS_START_MS_MAX = 30_000;
const SCRAPE_MS_MAX = 5_000;
/** How long a member has to stop after SIGTERM before it is killed. */
const STOP_GRACE_MS = 5_000;
const METRICS_HOST = '127.0.0.1';

/** Every member process still running: killed by PID if this process exits first, however it exits. */
const running = new Set<MemberProcess>();
let exitHookInstalled = false;

function track(member: MemberProcess): void {
  running.add(member);
  void member.exit.then(() => running.delete(member));
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  process.on('exit', () => signalMembers([...running], 'SIGKILL'));
}

export class ProcessMember implements MemberHandle {
  readonly id: NodeId;
  /** Not known outside the process; clients dial by the cluster file's addresses. */
  readonly peerId = '';
  readonly addrs: readonly string[];
  readonly pid: number;
  private readonly member: MemberProcess;
  /** Its /metrics URL; /healthz and /readyz beside it. */
  readonly metricsUrl: string;
  private stopping: Promise<void> | null = null;

  private constructor(member: MemberProcess, addrs: readonly string[], metricsPort: number) {
    this.id = member.id;
    this.member = member;
    this.pid = member.child.pid!;
    this.addrs = addrs;
    this.metricsUrl = `http://${METRICS_HOST}:${metricsPort}/metrics`;
  }

  /** Spawns `byzpaxos start --config clusterPath --id id` and resolves once it runs. */
  static async start(clusterPath: string, id: NodeId, addrs: readonly string[]): Promise<ProcessMember> {
    const member = spawnMember(clusterPath, id, { args: ['--metrics-port', '0', '--log-level', 'info'] });
    track(member);
    let timer: ReturnType<typeof setTimeout> | undefined;
    try {
      const fields = await Promise.race([
        member.started,
        new Promise<never>((_, reject) => {
          timer = setTimeout(() => reject(new Error(`${member.name} did not start within ${PROCESS_START_MS_MAX} ms`)), PROCESS_START_MS_MAX);
        }),
      ]);
      const port = fields.metricsPort;
      if (typeof port !== 'number') throw new Error(`${member.name}: its start line names no metrics port`);
      return new ProcessMember(member, addrs, port);
    } catch (e) {
      await stopMembers([member], STOP_GRACE_MS);
      throw e;
    } finally {
      clearTimeout(timer);
    }
  }

  async stats(): Promise<MemberStats> {
    const response = await fetch(this.metricsUrl, { signal: AbortSignal.timeout(SCRAPE_MS_MAX) });
    const text = await response.text();
    // Only what the metrics endpoint exposes; the counters inside the process stay 0.
    return {
      ...emptyMemberStats(),
      messagesOut: metricSum(text, 'byzpaxos_messages_out_total'),
      bytesOut: metricSum(text, 'byzpaxos_bytes_out_total'),
      decisions: metricSum(text, 'byzpaxos_decisions_total'),
      viewChanges: metricSum(text, 'byzpaxos_view_changes_total'),
    };
  }

  /** CPU time and RSS of the member process; null once it is gone (or without /proc). */
  usage(): ProcUsage | null {
    return this.member.exited ? null : procUsage(this.pid);
  }

  stop(): Promise<void> {
    this.stopping ??= stopMembers([this.member], STOP_GRACE_MS);
    return this.stopping;
  }
}

/** The sum over every series of metric `name` in a Prometheus text exposition. */
export function metricSum(text: string, name: string): number {
  let sum = 0;
  for (const line of text.split('\n')) {
    if (!line.startsWith(name) || (line[name.length] !== ' ' && line[name.length] !== '{')) continue;
    const value = Number(line.slice(line.lastIndexOf(' ') + 1));
    if (Number.isFinite(value)) sum += value;
  }
  return sum;
}
