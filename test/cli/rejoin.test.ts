// Issue 10 item 3 on a real mesh: a Byzantine-mode cluster of four `byzpaxos start` processes
// under a concurrent client workload; a follower and then the leader are killed with SIGKILL and
// restarted from their stores, a few times. After each restart (the last fault healed) every
// member must be back in one ballot within a bound, and the history must stay linearizable.
// experiments/restart/ runs the same cycles 30 times and more. Every child is killed by PID in
// afterAll, whatever happened.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import type { ClusterClient } from '../../src/node/cluster-client.ts';
import { checkLinearizable } from '../../src/sim/linearizability.ts';
import { connectClient, initDeployment, killEverything, Members, oneBallot, statusRows, waitFor, Workload } from './deploy-helpers.ts';
import { killRestartCycles } from './restart-cycles.ts';

const tmp = mkdtempSync(join(tmpdir(), 'byzpaxos-rejoin-'));
afterAll(() => {
  killEverything();
  rmSync(tmp, { recursive: true, force: true });
});

const WORKERS = [1, 2, 3];
const STATUS_CLIENT = 4;
const PROBE_CLIENT = 5;
const CYCLES = 4;
/** Generous for a loaded 2-core machine; a stranded member never makes it at all. */
const ONE_BALLOT_TIMEOUT_MS = 20_000;

describe('kill -9 and restart, followers and leaders in turn (byzantine, 4 processes)', () => {
  it(`${CYCLES} cycles under a client workload: every member back in one ballot after each restart; linearizable`, async () => {
    const configPath = await initDeployment(join(tmp, 'cluster'), 'byzantine', 4, PROBE_CLIENT);
    const members = new Members(configPath, 4);
    members.startAll();
    const workers: ClusterClient[] = [];
    let workload: Workload | null = null;
    try {
      await waitFor('every member in one ballot', async () => oneBallot(await statusRows(configPath, STATUS_CLIENT)), 20_000);
      for (const id of WORKERS) workers.push(await connectClient(configPath, id));
      workload = new Workload(workers, ['x', 'y', 'z']);
      workload.start();
      const running = workload;
      await waitFor('the workload to run', () => running.completed >= 10, 15_000);

      const results = await killRestartCycles(
        { members, workload, statusClient: STATUS_CLIENT, probeClient: PROBE_CLIENT, quorum: 3, progressOps: 5, oneBallotTimeoutMs: ONE_BALLOT_TIMEOUT_MS },
        CYCLES,
        (r, cycle) => console.log(`cycle ${cycle + 1}: ${r.victim} n${r.id}: served without it after ${r.servedWithoutMs.toFixed(0)} ms; one ballot ${r.oneBallotMs.toFixed(0)} ms after its restart (${r.ballots})`),
      );
      expect(results.map((r) => r.victim)).toEqual(['follower', 'leader', 'follower', 'leader']);
      console.log(`longest restart-to-one-ballot: ${Math.max(...results.map((r) => r.oneBallotMs)).toFixed(0)} ms over ${CYCLES} cycles`);

      await workload.stop();
      const verdict = checkLinearizable(workload.history);
      expect(verdict, JSON.stringify(verdict)).toEqual({ ok: true });
      expect(workload.completed).toBeGreaterThan(20);
    } finally {
      workload?.abandon();
      await Promise.all(workers.map((c) => c.close()));
      const codes = await members.stopAll();
      expect(codes.every((c) => c === 0), `exit codes ${codes.join(',')}`).toBe(true);
    }
  }, 120_000);
});
