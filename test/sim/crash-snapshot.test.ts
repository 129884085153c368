// Crash mode snapshots and log truncation (issue 11 item 5), in the simulator: over thousands of
// slots every member's log, pvalues and learner window stay bounded; a member cut off for longer
// than the truncation horizon comes back through a snapshot sent in parts, and then holds the
// same state as the others.
import { describe, expect, it } from 'vitest';
import { LOG_RETAIN_SLOTS, SNAPSHOT_INTERVAL_SLOTS } from '../../src/base/limits.ts';
import type { PaxosNode } from '../../src/core/node.ts';
import type { NodeId } from '../../src/base/types.ts';
import { NO_FAULTS } from '../../src/sim/faults.ts';
import { simulate } from '../../src/sim/simulator.ts';
import { toHex } from '../../crypto/digest.ts';

const WINDOW_SLOTS = 8;
/** What a member may hold at most: the retained log, a snapshot interval not yet truncated, the open window. */
const HELD_SLOTS_MAX = LOG_RETAIN_SLOTS + SNAPSHOT_INTERVAL_SLOTS + WINDOW_SLOTS;
/** One command per slot, so slots run into the thousands. */
const config = { batchCommandsMax: 1, windowSlots: WINDOW_SLOTS };

interface Peak {
  decided: number;
  accepted: number;
  open: number;
}

describe('crash mode: snapshots bound the log (seed 001 replica, etcd raft log compaction)', () => {
  it('seed 5: over 4,000 slots the decided map, the pvalues and the learner window stay within the truncation bound', () => {
    const cores: (PaxosNode | null)[] = [null, null, null];
    const peak: Peak = { decided: 0, accepted: 0, open: 0 };
    let deliveries = 0;
    const r = simulate({
      seed: 5,
      f: 1,
      clients: 4,
      commands: 4_000,
      thinkMs: 0,
      faults: { ...NO_FAULTS, drop: 0.02, dup: 0.02, reorder: true, crash: true },
      config,
      hooks: {
        onBoot: (id, core) => {
          cores[id] = core as PaxosNode;
        },
        onDeliver: () => {
          if (++deliveries % 64 !== 0) return;
          for (const core of cores) {
            if (core === null) continue;
            const held = core.learner.footprint;
            peak.decided = Math.max(peak.decided, held.decided);
            peak.accepted = Math.max(peak.accepted, core.acceptor.acceptedCount);
            peak.open = Math.max(peak.open, held.votes, held.batches);
          }
        },
      },
    });
    expect(r.safetyViolations).toEqual([]);
    expect(r.livenessFailure).toBeNull();
    const executed = Math.min(...cores.map((c) => c!.replica.executedUpTo));
    expect(executed).toBeGreaterThan(4 * HELD_SLOTS_MAX);
    for (const core of cores) expect(core!.learner.logFrom).toBeGreaterThan(executed - HELD_SLOTS_MAX);
    expect(peak.decided).toBeLessThanOrEqual(HELD_SLOTS_MAX);
    expect(peak.accepted).toBeLessThanOrEqual(HELD_SLOTS_MAX);
    expect(peak.open).toBeLessThanOrEqual(WINDOW_SLOTS * 4);
  });

  function cutOff(seed: number) {
    const LAGGARD: NodeId = 2;
    const cores: (PaxosNode | null)[] = [null, null, null];
    /** Commands completed before the laggard's links come back: far more slots than the others keep. */
    const HEAL_AFTER = 3 * HELD_SLOTS_MAX;
    let completed = 0;
    let partsReceived = 0;
    let entriesBelowPeerLog = 0;
    let compared: { at: number; digests: string[] } | null = null;
    const r = simulate({
      seed,
      f: 1,
      clients: 3,
      commands: HEAL_AFTER + 900,
      thinkMs: 0,
      config,
      hooks: {
        onBoot: (id, core) => {
          cores[id] = core as PaxosNode;
        },
        onClientComplete: () => {
          completed++;
        },
        onDeliver: (from, to, msg) => {
          const cut = completed < HEAL_AFTER && (from === LAGGARD || to === LAGGARD);
          if (cut) return false;
          if (to === LAGGARD && msg.type === 'state-parts') partsReceived += msg.parts.length;
          if (to === LAGGARD && msg.type === 'catchup-reply') {
            const peerLog = cores[from]!.learner.logFrom;
            entriesBelowPeerLog += msg.entries.filter((e) => e.slot < peerLog).length;
          }
          const all = cores.map((c) => c!.replica.executedUpTo);
          if (compared === null && completed >= HEAL_AFTER && cores[LAGGARD]!.learner.logFrom > 0 && all.every((s) => s === all[0])) {
            compared = { at: all[0]!, digests: cores.map((c) => toHex(c!.replica.stateDigest())) };
          }
          return true;
        },
      },
    });
    return { r, partsReceived, entriesBelowPeerLog, compared: compared as { at: number; digests: string[] } | null, HEAL_AFTER };
  }

  it('seed 9: a member cut off past the truncation horizon catches up by snapshot; its state digest equals the others\'', () => {
    const { r, partsReceived, entriesBelowPeerLog, compared, HEAL_AFTER } = cutOff(9);
    expect(r.safetyViolations).toEqual([]);
    expect(r.livenessFailure).toBeNull();
    expect(partsReceived).toBeGreaterThan(0);
    expect(entriesBelowPeerLog).toBe(0);
    expect(compared, 'the laggard never reached the others').not.toBeNull();
    expect(compared!.at).toBeGreaterThan(HEAL_AFTER);
    expect(new Set(compared!.digests).size).toBe(1);
    // State transfer keeps the run a function of its seed.
    expect(cutOff(9).r.traceHash).toBe(r.traceHash);
  });
});
