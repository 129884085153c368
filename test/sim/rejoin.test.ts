// Issue 10 item 3 in the simulator: members of a Byzantine-mode cluster are crashed and restarted,
// a follower and then the leader, again and again. As on a real mesh, a restarted member's links
// to the other members come up only a while after it does, while clients reach it at once. When
// every fault is over, every member must be back in one ballot within a bound, and not merely
// agree on the slots it learns.
import { describe, expect, it } from 'vitest';
import type { ProtocolNode } from '../../src/core/protocol.ts';
import type { NodeId } from '../../src/base/types.ts';
import { simulate, type SimControl } from '../../src/sim/simulator.ts';

/** A restarted member hears no member, and no member hears it, for this long. */
const LINKS_UP_AFTER_MS = 1_500;
/** A victim stays down this long. */
const DOWN_MS = 800;
/** A cycle every this many ms: kill, restart, links up, settle. */
const CYCLE_MS = 4_000;
/** After the last cycle has settled, every member must be in one ballot within this bound. */
const BOUND_MS = 4_000;

type Victim = 'follower' | 'leader';

interface Outcome {
  /** Per member at `checkAt`: round, and whether it is outside the ballot the cluster decides in. */
  readonly ballots: { readonly round: number; readonly outside: boolean }[];
  readonly replay: string;
  readonly safety: number;
  readonly liveness: string | null;
  readonly killed: string[];
}

function run(seed: number, victims: readonly Victim[]): Outcome {
  const n = 4;
  const cores: (ProtocolNode | null)[] = Array.from({ length: n }, () => null);
  const upAt = new Map<NodeId, number>();
  const killed: string[] = [];
  const healAt = victims.length * CYCLE_MS;
  const checkAt = healAt + BOUND_MS;
  let cycle = 0;
  let down: { id: NodeId; restartAt: number } | null = null;
  let ballots: Outcome['ballots'] | null = null;

  /** The leader most members follow. */
  const leader = (): NodeId => {
    const counts = new Map<number, number>();
    for (const core of cores) if (core !== null) counts.set(core.ballot.leader, (counts.get(core.ballot.leader) ?? 0) + 1);
    return [...counts.entries()].sort((a, b) => b[1] - a[1] || a[0] - b[0])[0]![0];
  };

  /** Driven by every delivery: the run's own clock. */
  const tick = (sim: SimControl): void => {
    const now = sim.now();
    if (down !== null && now >= down.restartAt) {
      upAt.set(down.id, now + LINKS_UP_AFTER_MS);
      sim.restart(down.id);
      down = null;
    }
    if (down === null && cycle < victims.length && now >= 1_000 + cycle * CYCLE_MS) {
      const head = leader();
      const id = victims[cycle] === 'leader' ? head : (head + 1 + cycle) % n;
      killed.push(`${victims[cycle]} n${id} at ${now.toFixed(0)} ms`);
      sim.crash(id);
      down = { id, restartAt: now + DOWN_MS };
      cycle++;
    }
    if (ballots === null && now >= checkAt) {
      ballots = cores.map((core) => ({ round: core?.ballot.round ?? -1, outside: core?.working?.outside ?? true }));
    }
  };

  const r = simulate({
    mode: 'byzantine',
    seed,
    f: 1,
    clients: 3,
    commands: 150,
    // Faults stay on (crashed nodes stay down) until the cycles are done; clients keep going past the check.
    faultPhaseMs: healAt,
    livenessBoundMs: 20_000,
    // Long enough that a command a cut-off member holds stays the same past its progress timeout.
    thinkMs: 1_500,
    hooks: {
      onBoot: (id, core) => {
        cores[id] = core;
      },
      onDeliver: (from, to, _msg, sim) => {
        tick(sim);
        if (from < 0) return true; // clients reach a restarted member at once
        const now = sim.now();
        return !((upAt.get(from) ?? 0) > now || (upAt.get(to) ?? 0) > now);
      },
    },
  });
  return {
    ballots: ballots ?? [],
    replay: r.replayCommand,
    safety: r.safetyViolations.length,
    liveness: r.livenessFailure,
    killed,
  };
}

describe('restarted members come back to the ballot the cluster works in (byzantine, f=1)', () => {
  const victims: Victim[] = ['follower', 'leader', 'follower', 'leader', 'follower'];
  for (const seed of [1, 2, 3]) {
    it(`seed ${seed}: ${victims.join(', ')} killed and restarted with late links; one ballot ${BOUND_MS} ms after the last`, () => {
      const o = run(seed, victims);
      const context = `${o.killed.join('; ')}\nballots: ${JSON.stringify(o.ballots)}\nreplay (without the scripted kills): ${o.replay}`;
      expect(o.safety, context).toBe(0);
      expect(o.ballots, `the run ended before the check: ${context}`).toHaveLength(4);
      expect(new Set(o.ballots.map((b) => b.round)).size, context).toBe(1);
      expect(o.ballots.filter((b) => b.outside), context).toEqual([]);
      expect(o.liveness, context).toBeNull();
    });
  }
});
