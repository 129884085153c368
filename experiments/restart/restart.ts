// Question: after a member of a Byzantine-mode cluster is killed with SIGKILL and restarted, how
// long until every member is back in one ballot? (Issue 10 item 3: a restarted member could
// strand itself alone in a higher ballot and never come back.)
//
//   npx node experiments/restart/restart.ts [--cycles 30] [--think-ms 0]
//
// Four `byzpaxos start` processes on loopback (libp2p, SQLite stores), three closed-loop clients,
// and `--cycles` kill -9 / restart cycles, followers and leaders in turn (test/cli/restart-cycles.ts).
// Prints one line per cycle and a summary; exits 1 if a cycle never reached one ballot within
// 30 s of its restart or the history is not linearizable. Every process it starts is killed by
// PID on the way out. Bounded: about 5 s per cycle.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import type { ClusterClient } from '../../src/node/cluster-client.ts';
import { checkLinearizable } from '../../src/sim/linearizability.ts';
import { connectClient, initDeployment, killEverything, median, Members, oneBallot, statusRows, waitFor, Workload } from '../../test/cli/deploy-helpers.ts';
import { killRestartCycles, type CycleResult } from '../../test/cli/restart-cycles.ts';

const WORKERS = [1, 2, 3];
const STATUS_CLIENT = 4;
const PROBE_CLIENT = 5;
const CYCLES_MAX = 500;

function usage(message: string): never {
  console.error(`restart: ${message}\nusage: npx node experiments/restart/restart.ts [--cycles N (1..${CYCLES_MAX}, default 30)] [--think-ms MS (0..5000, default 0)]`);
  process.exit(2);
}

function intArg(name: string, text: string, max: number): number {
  const value = Number(text);
  if (!Number.isInteger(value) || value < 0 || value > max) usage(`--${name} needs an integer in 0..${max}, got '${text}'`);
  return value;
}

async function main(): Promise<number> {
  let values;
  try {
    ({ values } = parseArgs({ options: { cycles: { type: 'string', default: '30' }, 'think-ms': { type: 'string', default: '0' } } }));
  } catch (e) {
    usage((e as Error).message);
  }
  const cycles = intArg('cycles', values.cycles, CYCLES_MAX);
  if (cycles < 1) usage('--cycles needs at least 1');
  const thinkMs = intArg('think-ms', values['think-ms'], 5_000);

  const tmp = mkdtempSync(join(tmpdir(), 'byzpaxos-restart-'));
  const members = new Members(await initDeployment(join(tmp, 'cluster'), 'byzantine', 4, PROBE_CLIENT), 4);
  const workers: ClusterClient[] = [];
  let workload: Workload | null = null;
  const startedAt = performance.now();
  try {
    members.startAll();
    await waitFor('every member in one ballot', async () => oneBallot(await statusRows(members.configPath, STATUS_CLIENT)), 30_000);
    for (const id of WORKERS) workers.push(await connectClient(members.configPath, id));
    workload = new Workload(workers, ['x', 'y', 'z'], thinkMs);
    workload.start();
    const running = workload;
    await waitFor('the workload to run', () => running.completed >= 10, 20_000);

    let results: CycleResult[] = [];
    let failure: string | null = null;
    try {
      results = await killRestartCycles(
        { members, workload, statusClient: STATUS_CLIENT, probeClient: PROBE_CLIENT, quorum: 3, progressOps: 5, oneBallotTimeoutMs: 30_000 },
        cycles,
        (r, i) => {
          results.push(r);
          console.log(
            `cycle ${String(i + 1).padStart(3)}  ${r.victim.padEnd(8)} n${r.id}  served without it after ${r.servedWithoutMs.toFixed(0).padStart(5)} ms  ` +
              `one ballot ${r.oneBallotMs.toFixed(0).padStart(5)} ms after restart  (${r.ballots})`,
          );
        },
      );
    } catch (e) {
      failure = (e as Error).message;
      console.log(`cycle ${results.length + 1}: FAILED: ${failure}`);
    }
    await workload.stop();
    const verdict = checkLinearizable(workload.history);
    const times = results.map((r) => r.oneBallotMs);
    const byVictim = (v: string) => results.filter((r) => r.victim === v).map((r) => r.oneBallotMs);
    console.log(
      `\n${results.length} of ${cycles} cycles (${byVictim('follower').length} followers, ${byVictim('leader').length} leaders) back in one ballot; ` +
        `restart to one ballot: longest ${Math.max(...times).toFixed(0)} ms, median ${median(times).toFixed(0)} ms ` +
        `(followers longest ${Math.max(...byVictim('follower')).toFixed(0)} ms, leaders longest ${Math.max(...byVictim('leader')).toFixed(0)} ms)`,
    );
    console.log(
      `${workload.completed} operations completed, ${workload.timeouts} timed out; history ${verdict.ok ? 'linearizable' : `NOT linearizable: ${JSON.stringify(verdict)}`}; ` +
        `${((performance.now() - startedAt) / 1000).toFixed(0)} s in all`,
    );
    return failure === null && verdict.ok ? 0 : 1;
  } finally {
    workload?.abandon();
    await Promise.all(workers.map((c) => c.close()));
    await members.stopAll();
    killEverything();
    rmSync(tmp, { recursive: true, force: true });
  }
}

process.exitCode = await main();
