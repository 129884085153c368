// Reconfiguration through the log in the byzantine mode, pitfall by pitfall (docs/PROTOCOL.md,
// "Reconfiguration"): scripted churn (SimOptions.churnPlan) takes a cluster from 4 members to 7
// and back, removes a leader, lets the window stall with no load, races a change with a view
// change, and adds a spare that can only catch up by certified state transfer.
import { describe, expect, it } from 'vitest';
import { decodeMembershipChange, isMembershipOp, type MembershipChange } from '../../src/core/configuration.ts';
import { RECONFIG_WINDOW_SLOTS } from '../../src/base/limits.ts';
import { commandKey, type NodeId } from '../../src/base/types.ts';
import type { ProtocolNode } from '../../src/core/protocol.ts';
import { frameType } from '../../src/messages/codec.ts';
import { parseFaults } from '../../src/sim/faults.ts';
import { simulate, type SimOptions } from '../../src/sim/simulator.ts';

describe('pitfalls, by scripted churn in byzantine mode', () => {
  interface Seen {
    /** Slot each membership change was decided in (the first decision of it anywhere). */
    readonly changeSlots: number[];
    /** Highest slot decided, per node. */
    readonly highest: Map<NodeId, number>;
    /** Nodes that ever led, with when. */
    readonly leaders: { id: NodeId; at: number }[];
    /** Nodes that led when they executed the change removing them. */
    readonly removedLeaders: NodeId[];
    /** Slots decided with an empty batch (a no-op), by slot. */
    readonly noops: Set<number>;
    cores: Map<NodeId, ProtocolNode>;
  }

  function scripted(plan: SimOptions['churnPlan'], extra: Partial<SimOptions> = {}) {
    const seen: Seen = { changeSlots: [], highest: new Map(), leaders: [], removedLeaders: [], noops: new Set(), cores: new Map() };
    const wasLeader = new Set<NodeId>();
    const keys = new Set<string>();
    const r = simulate({
      mode: 'byzantine',
      seed: 1,
      f: 1,
      commands: 40,
      faults: parseFaults('churn'),
      faultPhaseMs: 4000,
      churnPlan: plan,
      ...extra,
      hooks: {
        onBoot: (id, core) => void seen.cores.set(id, core),
        onEffect: (id, effect, sim) => {
          const core = seen.cores.get(id);
          if (core?.isLeader === true && !wasLeader.has(id)) {
            wasLeader.add(id);
            seen.leaders.push({ id, at: sim.now() });
          }
          if (core?.isLeader === false) wasLeader.delete(id);
          if (effect.type === 'execute' && isMembershipOp(effect.command.op) && core?.isLeader === true) {
            const change = decodeMembershipChange(effect.command.op)!;
            if ((change.kind === 'remove' ? change.node : change.kind === 'replace' ? change.out : null) === id) seen.removedLeaders.push(id);
          }
          if (effect.type !== 'decide') return;
          if (effect.batch.commands.length === 0) seen.noops.add(effect.slot);
          seen.highest.set(id, Math.max(seen.highest.get(id) ?? -1, effect.slot));
          for (const command of effect.batch.commands) {
            if (!isMembershipOp(command.op) || keys.has(commandKey(command))) continue;
            keys.add(commandKey(command));
            seen.changeSlots.push(effect.slot);
          }
        },
        ...extra.hooks,
      },
    });
    return { r, seen };
  }

  it('4 → 7 members (f 1 → 2) and back to 4, one change at a time: the new members decide, no violation', () => {
    const plan: MembershipChange[] = [...[4, 5, 6].map((node) => ({ kind: 'add' as const, node })), ...[0, 1, 2].map((node) => ({ kind: 'remove' as const, node }))];
    const { r, seen } = scripted(plan, { faultPhaseMs: 6000, commands: 50 });
    expect(r.safetyViolations).toEqual([]);
    expect(r.livenessFailure).toBeNull();
    expect(seen.changeSlots).toHaveLength(6);
    // The last configuration, {3,4,5,6}, decides on its own after the last change took effect.
    for (const id of [4, 5, 6]) expect(seen.highest.get(id)!).toBeGreaterThanOrEqual(seen.changeSlots.at(-1)! + RECONFIG_WINDOW_SLOTS);
  });

  it('a removed leader steps down and never leads again; another member leads', () => {
    const { r, seen } = scripted([{ kind: 'remove', node: 0 }]);
    expect(r.safetyViolations).toEqual([]);
    expect(r.livenessFailure).toBeNull();
    // Node 0 led the first ballot, still led when it executed its own removal, and never led again.
    expect(seen.leaders[0]!.id).toBe(0);
    expect(seen.removedLeaders).toEqual([0]);
    expect(seen.leaders.filter((l) => l.id === 0)).toHaveLength(1);
    expect(seen.leaders.filter((l) => l.id !== 0).length).toBeGreaterThan(0);
  });

  it('the window stalls until α slots pass: with no load after the change, no-ops fill the slots so it takes effect', () => {
    // Three commands: the clients go quiet early, and only the no-op fill carries the log to c + α.
    const { r, seen } = scripted([{ kind: 'add', node: 4 }], { commands: 3, faultPhaseMs: 2000 });
    expect(r.safetyViolations).toEqual([]);
    expect(r.livenessFailure).toBeNull();
    expect(seen.changeSlots).toHaveLength(1);
    const c = seen.changeSlots[0]!;
    const filled = [...seen.noops].filter((slot) => slot > c && slot < c + RECONFIG_WINDOW_SLOTS);
    expect(filled.length).toBeGreaterThan(0);
    expect(Math.max(...seen.highest.values())).toBeGreaterThanOrEqual(c + RECONFIG_WINDOW_SLOTS);
  });

  it('a change racing a view change: the leader is cut off as its replace is submitted; no violation, the change holds', () => {
    let cutFrom = -1;
    const { r, seen } = scripted([{ kind: 'replace', out: 1, in: 4 }], {
      hooks: {
        onDeliver: (from, to, msg, sim) => {
          if (cutFrom < 0 && msg.type === 'request' && isMembershipOp(msg.command.op)) cutFrom = sim.now();
          // The first leader's links are cut for 600 ms from the moment the change reaches it.
          return !(cutFrom >= 0 && sim.now() < cutFrom + 600 && (from === 0 || to === 0));
        },
      },
    });
    expect(r.safetyViolations).toEqual([]);
    expect(r.livenessFailure).toBeNull();
    expect(seen.changeSlots).toHaveLength(1);
    expect(seen.leaders.some((l) => l.id !== 0)).toBe(true);
  });
});

describe('a new member far behind catches up by certified state transfer, configuration included', () => {
  it('a spare added while cut off falls past the checkpoints, fetches the state parts, then decides with the others', () => {
    const HEAL_MS = 4000;
    let partsReceived = 0;
    let decidedAfterHeal = 0;
    const r = simulate({
      mode: 'byzantine',
      seed: 1,
      f: 1,
      clients: 3,
      commands: 300,
      faults: parseFaults('churn'),
      faultPhaseMs: 2000,
      churnPlan: [{ kind: 'add', node: 4 }],
      hooks: {
        onDeliver: (from, to, msg, sim) => {
          if (sim.now() < HEAL_MS && (from >= 4 || to >= 4)) return false;
          if (to === 4 && msg.type === 'signed' && frameType(msg.payload) === 'state-parts') partsReceived++;
          return true;
        },
        onEffect: (id, effect, sim) => {
          if (id === 4 && effect.type === 'decide' && sim.now() >= HEAL_MS) decidedAfterHeal++;
        },
      },
    });
    expect(r.safetyViolations).toEqual([]);
    expect(r.livenessFailure).toBeNull();
    expect(partsReceived).toBeGreaterThan(0);
    expect(decidedAfterHeal).toBeGreaterThan(0);
  });
});
