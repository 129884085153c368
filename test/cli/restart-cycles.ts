// kill -9 / restart cycles on a deployed Byzantine-mode cluster of processes (issue 10 item 3),
// shared by test/cli/rejoin.test.ts (a few cycles) and experiments/restart/ (30 and more): under
// a running client workload, each cycle kills a follower or the leader, waits for the others to
// serve without it, restarts it from its store, and measures how long until every member is back
// in one ballot. A restarted member that strands itself in a higher ballot never gets there.
//
// To meet the restarted member the way the issue saw it (clients reach it before its peers do), a
// fresh client connects as soon as it answers a status query and submits one command, then goes
// quiet: that command waits at the member until it learns the decision from its peers.
import { connectClient, describeBallots, oneBallot, quorumLeader, sleep, statusRows, waitFor, type Members, type Workload } from './deploy-helpers.ts';

export type Victim = 'follower' | 'leader';

export interface CycleResult {
  readonly victim: Victim;
  readonly id: number;
  /** kill -9 until the others completed `progressOps` more operations. */
  readonly servedWithoutMs: number;
  /** Restart (the last fault healed) until every member reported one ballot. */
  readonly oneBallotMs: number;
  readonly ballots: string;
}

export interface CycleOptions {
  readonly members: Members;
  readonly workload: Workload;
  /** Client id used for status queries only. */
  readonly statusClient: number;
  /** Client id of the one-command client that meets each restarted member. */
  readonly probeClient: number;
  /** Byzantine quorum, 2f+1. */
  readonly quorum: number;
  /** Operations the others must complete while the victim is down. */
  readonly progressOps: number;
  /** Give up on a cycle (and throw) when one ballot takes longer than this after the restart. */
  readonly oneBallotTimeoutMs: number;
}

/** One cycle; throws, naming the ballots seen, if the cluster does not come back to one ballot in time. */
export async function killRestartCycle(o: CycleOptions, victim: Victim, cycle: number): Promise<CycleResult> {
  const { members, workload } = o;
  const n = members.procs.length;
  let rows = await statusRows(members.configPath, o.statusClient);
  const leader = quorumLeader(rows, o.quorum) ?? 0;
  // Followers in turn, so every member is a victim over a run.
  const id = victim === 'leader' ? leader : (leader + 1 + (cycle % (n - 1))) % n;
  const killedAt = performance.now();
  await members.kill9(id);
  const before = workload.completed;
  await waitFor(`progress without n${id}`, () => workload.completed >= before + o.progressOps, 30_000, () => `(${workload.completed - before} ops)`);
  const servedWithoutMs = performance.now() - killedAt;
  const restartedAt = performance.now();
  members.start(id);
  await waitFor(`n${id} to answer`, async () => (rows = await statusRows(members.configPath, o.statusClient))[id]!.reachable, o.oneBallotTimeoutMs);
  const probe = await connectClient(members.configPath, o.probeClient);
  try {
    await probe.execute({ type: 'put', key: 'probe', value: `cycle-${cycle}` });
  } finally {
    await probe.close();
  }
  await waitFor(
    `every member in one ballot after n${id} (${victim}) restarted`,
    async () => {
      rows = await statusRows(members.configPath, o.statusClient);
      return oneBallot(rows);
    },
    o.oneBallotTimeoutMs,
    () => `(last seen: ${describeBallots(rows)}; n${id}: ${members.tail(id, 3)})`,
  );
  return { victim, id, servedWithoutMs, oneBallotMs: performance.now() - restartedAt, ballots: describeBallots(rows) };
}

/** Followers and leaders alternately, `cycles` in all; `onCycle` sees each result as it comes. */
export async function killRestartCycles(o: CycleOptions, cycles: number, onCycle: (r: CycleResult, cycle: number) => void = () => {}): Promise<CycleResult[]> {
  const results: CycleResult[] = [];
  for (let cycle = 0; cycle < cycles; cycle++) {
    const r = await killRestartCycle(o, cycle % 2 === 0 ? 'follower' : 'leader', cycle);
    results.push(r);
    onCycle(r, cycle);
    // Let the restarted member serve a moment before the next kill.
    await sleep(200);
  }
  return results;
}
