// Cheap Paxos in the simulator (src/core/cheap.ts): f+1 main members and f auxiliary acceptors,
// judged by the same safety and linearizability checker as every crash-mode run.
import { describe, expect, it } from 'vitest';
import type { NodeId } from '../../src/base/types.ts';
import type { ProtocolNode } from '../../src/core/protocol.ts';
import { InvariantError } from '../../src/base/assert.ts';
import { parseFaults } from '../../src/sim/faults.ts';
import { simulate, type SimOptions } from '../../src/sim/simulator.ts';
import { CHEAP_MUTANTS } from './mutants.ts';

const ALL_FAULTS = parseFaults('drop=0.2,dup=0.1,reorder,partition,crash');
const SWEEP_SEEDS = 100;

/** Accepts delivered to the auxiliaries (ids f+1..2f) in a run of `options`. */
function run(options: SimOptions): { result: ReturnType<typeof simulate>; acceptsToAuxiliaries: number } {
  let acceptsToAuxiliaries = 0;
  const result = simulate({
    ...options,
    hooks: {
      ...options.hooks,
      onDeliver: (from, to, msg, sim) => {
        if (to > options.f && msg.type === 'accept') acceptsToAuxiliaries++;
        return options.hooks?.onDeliver?.(from, to, msg, sim);
      },
    },
  });
  return { result, acceptsToAuxiliaries };
}

describe('Cheap Paxos sweep: drops, duplicates, reordering, partitions and crashes', () => {
  for (const f of [1, 2]) {
    it(`f=${f}: ${SWEEP_SEEDS} seeds, no safety or linearizability violation, every command completes after healing`, () => {
      let engaged = 0;
      for (let seed = 1; seed <= SWEEP_SEEDS; seed++) {
        const { result, acceptsToAuxiliaries } = run({ seed, f, commands: 50, faults: ALL_FAULTS, config: { auxiliaries: f }, replayArgs: '--cheap' });
        const replay = `replay: ${result.replayCommand}`;
        expect(result.safetyViolations, replay).toEqual([]);
        expect(result.livenessFailure, replay).toBeNull();
        if (acceptsToAuxiliaries > 0) engaged++;
      }
      // The faults silence main acceptors often enough that the auxiliaries were really used.
      expect(engaged).toBeGreaterThan(SWEEP_SEEDS / 2);
    });
  }

  it('the same seed gives the same run', () => {
    const options = { seed: 9, f: 1, commands: 40, faults: ALL_FAULTS, config: { auxiliaries: 1 } };
    expect(simulate(options).traceHash).toBe(simulate(options).traceHash);
    expect(simulate(options).traceHash).not.toBe(simulate({ ...options, config: {} }).traceHash);
  });
});

describe('Cheap Paxos without faults and with a main acceptor down', () => {
  for (const f of [1, 2]) {
    it(`f=${f}: without faults the auxiliaries receive no message at all`, () => {
      for (let seed = 1; seed <= 10; seed++) {
        let toAuxiliaries = 0;
        const result = simulate({ seed, f, commands: 30, config: { auxiliaries: f }, hooks: { onDeliver: (_from, to) => void (to > f && toAuxiliaries++) } });
        expect(result.completed).toBe(30);
        expect(toAuxiliaries, `seed ${seed}`).toBe(0);
      }
    });

    it(`f=${f}: with a main follower down for good, the auxiliaries stand in and every command completes before anything heals`, () => {
      const cores: ProtocolNode[] = [];
      let done = 0;
      const faultPhaseMs = 600_000;
      const { result, acceptsToAuxiliaries } = run({
        seed: 3,
        f,
        commands: 40,
        faultPhaseMs,
        thinkMs: 10,
        config: { auxiliaries: f },
        hooks: {
          onBoot: (id, core) => void (cores[id] = core),
          onClientComplete: (_op, sim) => {
            if (++done !== 5) return;
            const follower: NodeId = [...Array(f + 1).keys()].find((id) => !cores[id]!.isLeader)!;
            sim.crash(follower);
          },
        },
      });
      expect(result.safetyViolations).toEqual([]);
      expect(result.completed).toBe(40);
      expect(result.endTimeMs).toBeLessThan(faultPhaseMs);
      expect(result.coverage.restarts).toBe(0);
      expect(acceptsToAuxiliaries).toBeGreaterThan(0);
    });
  }
});

describe('the checker catches broken Cheap Paxos rules (mutation tests)', () => {
  for (const [name, makeNode] of Object.entries(CHEAP_MUTANTS)) {
    it(`reports a violation when the ${name}`, () => {
      const kinds = new Set<string>();
      for (let seed = 1; seed <= 150 && kinds.size === 0; seed++) {
        try {
          for (const v of simulate({ seed, f: 1, commands: 50, faults: ALL_FAULTS, config: { auxiliaries: 1 }, makeNode }).safetyViolations) kinds.add(v.kind);
        } catch (e) {
          if (!(e instanceof InvariantError)) throw e;
          kinds.add(e.message);
        }
      }
      expect(kinds.size, `no seed in 1..150 exposed: ${name}`).toBeGreaterThan(0);
    });
  }

  for (const f of [1, 2]) {
    it(`f=${f}: reports an agreement violation when the f live main acceptors are taken for a phase-2 quorum (built past validateConfig's quorum math)`, () => {
      const quorums = Object.freeze({ n: 2 * f + 1, f, phase1: f + 1, phase2: f });
      const kinds = new Set<string>();
      for (let seed = 1; seed <= 150 && kinds.size === 0; seed++) {
        for (const v of simulate({ seed, f, commands: 50, faults: ALL_FAULTS, config: { auxiliaries: f, quorums } }).safetyViolations) kinds.add(v.kind);
      }
      expect([...kinds]).toContain('agreement');
    });
  }
});
