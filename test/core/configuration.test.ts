// Reconfiguration through the log, rule by rule (seed 001, "Paxos Made Moderately Complex": a
// change decided in slot c governs from c + WINDOW on; seed 003, Multi-Paxos).
import { describe, expect, it } from 'vitest';
import {
  applyChange,
  ConfigurationHistory,
  decodeMembershipChange,
  encodeMembershipChange,
  hasQuorum,
  isMembershipOp,
  majorityOf,
  type MembershipChange,
} from '../../src/core/configuration.ts';
import { RECONFIG_WINDOW_SLOTS as ALPHA } from '../../src/base/limits.ts';
import { Learner } from '../../src/core/learner.ts';
import { crashQuorums } from '../../src/core/quorum.ts';
import { encodeKvOp } from '../../src/app/kv.ts';
import { batchDigest } from '../../src/messages/codec.ts';
import { NOOP, type Batch, type Command, type Slot } from '../../src/base/types.ts';
import { defaultConfig } from '../../src/core/config.ts';
import { Proposer } from '../../src/core/proposer.ts';
import type { Accept } from '../../src/messages/types.ts';

const change = (c: MembershipChange): Batch => ({ commands: [{ clientId: 9, session: 1, seq: 1, op: encodeMembershipChange(c), signature: new Uint8Array(0) }] });
const members = (h: ConfigurationHistory, slot: Slot, firstUndecided: Slot): number[] | null => {
  const m = h.at(slot, firstUndecided);
  return m === null ? null : [...m.members!].sort();
};

describe('membership commands', () => {
  it('round-trip add, remove and replace; a kv op is never one', () => {
    for (const c of [{ kind: 'add', node: 3 }, { kind: 'remove', node: 0 }, { kind: 'replace', out: 1, in: 4 }] as MembershipChange[]) {
      expect(decodeMembershipChange(encodeMembershipChange(c))).toEqual(c);
    }
    expect(isMembershipOp(encodeKvOp({ type: 'put', key: 'k', value: 'v' }))).toBe(false);
  });

  it('a malformed one decodes to null (it changes nothing, on every replica alike)', () => {
    const bytes = encodeMembershipChange({ kind: 'add', node: 3 });
    expect(decodeMembershipChange(bytes.subarray(0, bytes.length - 1))).toBeNull();
    expect(decodeMembershipChange(Uint8Array.from([...bytes, 7]))).toBeNull();
  });

  it('a change that does not apply is ignored: removing a non-member, adding a member, emptying, leaving the universe', () => {
    const m = new Set([0, 1, 2]);
    expect(applyChange(m, { kind: 'remove', node: 5 }, 6)).toBeNull();
    expect(applyChange(m, { kind: 'add', node: 1 }, 6)).toBeNull();
    expect(applyChange(m, { kind: 'add', node: 6 }, 6)).toBeNull();
    expect(applyChange(new Set([0]), { kind: 'remove', node: 0 }, 6)).toBeNull();
    expect([...applyChange(m, { kind: 'replace', out: 2, in: 5 }, 6)!].sort()).toEqual([0, 1, 5]);
  });

  it('quorums follow the members: majorities, counted over members only', () => {
    expect(majorityOf(new Set([0, 1, 2, 3])).phase2).toBe(3);
    expect(majorityOf(new Set([0, 1, 2, 3, 4])).phase1).toBe(3);
    const m = majorityOf(new Set([0, 1, 3]));
    expect(hasQuorum(m, [1, 2], 2)).toBe(false);
    expect(hasQuorum(m, [1, 3], 2)).toBe(true);
  });
});

describe('the window α: a change decided in slot c governs from c + α', () => {
  it('the configuration of s is known only once every slot up to s − α is decided', () => {
    const h = new ConfigurationHistory([0, 1, 2], 5);
    expect(members(h, ALPHA - 1, 0)).toEqual([0, 1, 2]);
    expect(members(h, ALPHA, 0)).toBeNull();
    expect(members(h, ALPHA, 1)).toEqual([0, 1, 2]);
  });

  it('slots before c + α keep the old configuration, slots from it on have the new one', () => {
    const h = new ConfigurationHistory([0, 1, 2], 5);
    h.record(4, change({ kind: 'add', node: 3 }));
    expect(members(h, 4 + ALPHA - 1, 5)).toEqual([0, 1, 2]);
    expect(members(h, 4 + ALPHA, 5)).toEqual([0, 1, 2, 3]);
    expect(h.settledFrom).toBe(4 + ALPHA);
  });

  it('changes recorded out of slot order apply in slot order', () => {
    const h = new ConfigurationHistory([0, 1, 2], 5);
    h.record(6, change({ kind: 'remove', node: 3 }));
    h.record(2, change({ kind: 'add', node: 3 }));
    expect(members(h, 2 + ALPHA, 7)).toEqual([0, 1, 2, 3]);
    expect(members(h, 6 + ALPHA, 7)).toEqual([0, 1, 2]);
  });

  it('forgetting settled slots keeps every configuration still asked for', () => {
    const h = new ConfigurationHistory([0, 1, 2], 5);
    h.record(1, change({ kind: 'add', node: 3 }));
    h.record(3, change({ kind: 'remove', node: 0 }));
    h.forgetBelow(1 + ALPHA);
    expect(members(h, 1 + ALPHA, 4)).toEqual([0, 1, 2, 3]);
    expect(members(h, 3 + ALPHA, 4)).toEqual([1, 2, 3]);
  });
});

describe('a snapshot carries the configuration history', () => {
  it('the part at X holds what changes below X make of the slots from X on; installing it restores them', () => {
    const h = new ConfigurationHistory([0, 1, 2], 5);
    h.record(1, change({ kind: 'add', node: 3 }));
    h.record(20, change({ kind: 'remove', node: 1 }));
    h.record(23, change({ kind: 'replace', out: 0, in: 4 }));
    h.record(30, change({ kind: 'remove', node: 2 }));
    const X = 25;
    const fresh = new ConfigurationHistory([0, 1, 2], 5);
    fresh.install(fresh.decodePart(h.encodeAt(X)), X);
    // The change at 30, beyond the snapshot, is not in the part: it is decided after X.
    for (const slot of [X, 20 + ALPHA, 23 + ALPHA]) expect(members(fresh, slot, X + 1)).toEqual(members(h, slot, X + 1));
    expect(members(fresh, 30 + ALPHA, 31)).toEqual([2, 3, 4]);
  });

  it('a malformed part is refused, and nothing changes', () => {
    const h = new ConfigurationHistory([0, 1, 2], 5);
    const part = h.encodeAt(0);
    for (const bad of [new Uint8Array(0), part.subarray(0, part.length - 1), Uint8Array.from([...part, 0]), Uint8Array.from([1, 0, 0, 0, 0, 0, 0, 1, 7])]) {
      expect(() => h.decodePart(bad)).toThrow(RangeError);
    }
    expect(members(h, 0, 0)).toEqual([0, 1, 2]);
  });
});

describe('the learner counts votes of the slot configuration only, and holds a slot until it knows it', () => {
  const ballot = { round: 1, leader: 0 };
  const value = { commands: [{ clientId: 1, session: 1, seq: 1, op: encodeKvOp({ type: 'put', key: 'k', value: 'v' }), signature: new Uint8Array(0) }] };

  it('a slot beyond the window waits for the slots up to s − α, then decides', () => {
    const learner = new Learner(crashQuorums(1), new Map(), 0, new ConfigurationHistory([0, 1, 2], 5));
    learner.recordBatch(ALPHA, batchDigest(value), value);
    expect(learner.onAccepted(0, ballot, ALPHA, batchDigest(value))).toBe('pending');
    expect(learner.onAccepted(1, ballot, ALPHA, batchDigest(value))).toBe('pending');
    expect(learner.learnDecided(0, NOOP)).toBe(true);
    expect(learner.decideHeld()).toEqual([ALPHA]);
  });

  it('after a replace, the new member counts and the removed one does not', () => {
    const learner = new Learner(crashQuorums(1), new Map(), 0, new ConfigurationHistory([0, 1, 2], 5));
    learner.learnDecided(0, change({ kind: 'replace', out: 2, in: 4 }));
    for (let s = 1; s < ALPHA; s++) learner.learnDecided(s, NOOP);
    learner.recordBatch(ALPHA, batchDigest(value), value);
    expect(learner.onAccepted(2, ballot, ALPHA, batchDigest(value))).toBe('pending');
    expect(learner.onAccepted(1, ballot, ALPHA, batchDigest(value))).toBe('pending');
    expect(learner.onAccepted(4, ballot, ALPHA, batchDigest(value))).toBe('decided');
  });
});

describe('the proposer in a reconfigurable cluster: the window stalls it, the change takes effect, a removed leader stops', () => {
  const config = defaultConfig(1, { reconfiguration: { members: [0, 1, 2], universe: 5 }, eagerSlots: ALPHA, batchCommandsMax: 1 });
  const put = (seq: number): Command => ({ clientId: 1, session: 1, seq, op: encodeKvOp({ type: 'put', key: 'k', value: `${seq}` }), signature: new Uint8Array(0) });
  const membership = (c: MembershipChange): Command => change(c).commands[0]!;

  /** Leader 0 elected by {0, 1} at slot 0, with a real learner as its view of the decisions. */
  function leader() {
    const learner = new Learner(config.quorums, new Map(), 0, new ConfigurationHistory([0, 1, 2], 5));
    const proposer = new Proposer(0, config, 0);
    const prepare = proposer.startPhase1(0, learner.membershipAt(0)!);
    const promise = { type: 'promise', ballot: prepare.ballot, fromSlot: 0, accepted: [], truncated: false, decidedUpTo: 0 } as const;
    expect(proposer.onPromise(0, promise)).toBe('pending');
    expect(proposer.onPromise(1, promise)).toBe('elected');
    expect(proposer.becomeLeader(learner)).toEqual([]);
    /** Every open slot up to `slot` decided as proposed. */
    const decide = (accepts: readonly Accept[], upTo: Slot) => {
      for (const a of accepts) if (a.slot <= upTo) learner.learnDecided(a.slot, a.batch);
    };
    return { learner, proposer, promise, decide };
  }

  it('it opens slots only up to first undecided + α, then, after a change adds a member, waits for that member to promise', () => {
    const { learner, proposer, promise, decide } = leader();
    proposer.enqueue(membership({ kind: 'add', node: 3 }));
    for (let seq = 2; seq <= 12; seq++) proposer.enqueue(put(seq));
    const first = proposer.proposeReady(learner);
    expect(first.map((a) => a.slot)).toEqual([...Array(ALPHA).keys()]);
    decide(first, 0);
    // Slot α is governed by {0, 1, 2, 3}: three promises needed, two held.
    expect(proposer.proposeReady(learner)).toEqual([]);
    expect(proposer.stall(learner)).toBe('no-quorum');
    // The new member's promise, arriving after the election, counts.
    expect(proposer.onPromise(3, promise)).toBe('pending');
    expect(proposer.proposeReady(learner).map((a) => a.slot)).toEqual([ALPHA]);
  });

  it('with nothing queued it fills the window with no-ops, so the change takes effect', () => {
    const { learner, proposer, decide } = leader();
    proposer.enqueue(membership({ kind: 'add', node: 3 }));
    const change = proposer.proposeReady(learner);
    expect(change.map((a) => a.slot)).toEqual([0]);
    decide(change, 0);
    const fill = proposer.proposeReady(learner);
    expect(fill.map((a) => a.slot)).toEqual([...Array(ALPHA).keys()].slice(1));
    expect(fill.every((a) => a.batch.commands.length === 0)).toBe(true);
  });

  it('a leader the change removes leads the slots before it takes effect, then stops', () => {
    const { learner, proposer, decide } = leader();
    proposer.enqueue(membership({ kind: 'remove', node: 0 }));
    for (let seq = 2; seq <= 12; seq++) proposer.enqueue(put(seq));
    decide(proposer.proposeReady(learner), 0);
    expect(proposer.proposeReady(learner)).toEqual([]);
    expect(proposer.stall(learner)).toBe('removed');
  });
});
