// The learner's rule (seeds 002/003): a value is chosen when a quorum of acceptors accepted it
// in the same ballot; this learner decides once it also holds the batch the digest names.
import type { Ballot } from '../../src/base/types.ts';
import { describe, expect, it } from 'vitest';
import { Learner } from '../../src/core/learner.ts';
import { LEARNER_WINDOW_SLOTS } from '../../src/base/limits.ts';
import { crashQuorums } from '../../src/core/quorum.ts';
import { NOOP, type Batch, type Slot } from '../../src/base/types.ts';
import { batchDigest } from '../../src/messages/codec.ts';

const b = (round: number, leader: number): Ballot => ({ round, leader });
const batch = (op: string, clientId = 1, seq = 1): Batch => ({
  commands: [{ clientId, session: 1, seq, op: new TextEncoder().encode(op), signature: new Uint8Array(0) }],
});
const X = batch('x');
const Y = batch('y');
const dX = batchDigest(X);
const dY = batchDigest(Y);

/** n = 3, majorities of 2. */
function learner3(decided: ReadonlyMap<Slot, Batch> = new Map()): Learner {
  return new Learner(crashQuorums(1), decided);
}

describe('seed 002/003 Phase 2b: decide only with a quorum of Accepted for the same (ballot, value)', () => {
  it('seed 003: one Accepted out of three is not enough; the second matching one decides', () => {
    const l = learner3();
    expect(l.recordBatch(0, dX, X)).toBe('pending');
    expect(l.onAccepted(0, b(1, 0), 0, dX)).toBe('pending');
    expect(l.isDecided(0)).toBe(false);
    expect(l.onAccepted(1, b(1, 0), 0, dX)).toBe('decided');
    expect(l.isDecided(0)).toBe(true);
    expect(l.decision(0)).toBe(X);
  });

  it('seed 003: the same acceptor counted twice is still one vote', () => {
    const l = learner3();
    l.recordBatch(0, dX, X);
    expect(l.onAccepted(2, b(1, 0), 0, dX)).toBe('pending');
    expect(l.onAccepted(2, b(1, 0), 0, dX)).toBe('pending');
    expect(l.isDecided(0)).toBe(false);
  });

  it('seed 003: a quorum split between two values in one ballot decides nothing', () => {
    const l = new Learner(crashQuorums(2), new Map()); // n = 5, quorum 3
    l.recordBatch(0, dX, X);
    l.recordBatch(0, dY, Y);
    expect(l.onAccepted(0, b(1, 0), 0, dX)).toBe('pending');
    expect(l.onAccepted(1, b(1, 0), 0, dX)).toBe('pending');
    expect(l.onAccepted(2, b(1, 0), 0, dY)).toBe('pending');
    expect(l.onAccepted(3, b(1, 0), 0, dY)).toBe('pending');
    expect(l.isDecided(0)).toBe(false);
    expect(l.onAccepted(4, b(1, 0), 0, dY)).toBe('decided');
    expect(l.decision(0)).toBe(Y);
  });

  it('seed 001/002: votes of different ballots for the same digest do NOT add up', () => {
    // n = 5, quorum 3. Acceptor 0 accepted X in ballot (1,0); acceptors 1,2 accepted X in (2,1).
    // Three acceptors vote for X, but no single ballot has three: X is not (yet) chosen.
    const l = new Learner(crashQuorums(2), new Map());
    l.recordBatch(4, dX, X);
    expect(l.onAccepted(0, b(1, 0), 4, dX)).toBe('pending');
    expect(l.onAccepted(1, b(2, 1), 4, dX)).toBe('pending');
    expect(l.onAccepted(2, b(2, 1), 4, dX)).toBe('pending');
    expect(l.isDecided(4)).toBe(false);
    // A third vote in (2,1) makes a quorum within one ballot.
    expect(l.onAccepted(3, b(2, 1), 4, dX)).toBe('decided');
    expect(l.decision(4)).toBe(X);
  });

  it('seed 001: ballots that tie on round but differ by leader are different ballots', () => {
    const l = learner3();
    l.recordBatch(0, dX, X);
    expect(l.onAccepted(0, b(3, 0), 0, dX)).toBe('pending');
    expect(l.onAccepted(1, b(3, 1), 0, dX)).toBe('pending');
    expect(l.isDecided(0)).toBe(false);
  });

  it('a later higher-ballot vote from the same acceptor replaces its older vote', () => {
    const l = learner3();
    l.recordBatch(0, dX, X);
    l.recordBatch(0, dY, Y);
    // Acceptor 0 first accepted X in (1,0), then Y in (2,1): its X vote is gone.
    expect(l.onAccepted(0, b(1, 0), 0, dX)).toBe('pending');
    expect(l.onAccepted(0, b(2, 1), 0, dY)).toBe('pending');
    // So acceptor 1's X vote in (1,0) does not meet acceptor 0's old vote.
    expect(l.onAccepted(1, b(1, 0), 0, dX)).toBe('pending');
    expect(l.isDecided(0)).toBe(false);
    // But it meets acceptor 0's new one.
    expect(l.onAccepted(2, b(2, 1), 0, dY)).toBe('decided');
    expect(l.decision(0)).toBe(Y);
  });

  it('an older vote arriving after a newer one from the same acceptor is stale and does not count', () => {
    const l = learner3();
    l.recordBatch(0, dX, X);
    expect(l.onAccepted(0, b(2, 1), 0, dY)).toBe('pending');
    // Reordered network: acceptor 0's earlier vote for X in (1,0) shows up late.
    expect(l.onAccepted(0, b(1, 0), 0, dX)).toBe('stale');
    expect(l.onAccepted(1, b(1, 0), 0, dX)).toBe('pending');
    expect(l.isDecided(0)).toBe(false);
  });

  it('seed 003 (hash of v): a quorum on a digest whose batch is unknown → missing-batch; recordBatch then decides', () => {
    const l = learner3();
    expect(l.onAccepted(0, b(1, 0), 7, dX)).toBe('pending');
    expect(l.onAccepted(1, b(1, 0), 7, dX)).toBe('missing-batch');
    expect(l.isDecided(7)).toBe(false);
    // A batch with another digest does not help.
    expect(l.recordBatch(7, dY, Y)).toBe('missing-batch');
    expect(l.isDecided(7)).toBe(false);
    expect(l.recordBatch(7, dX, X)).toBe('decided');
    expect(l.decision(7)).toBe(X);
  });

  it('votes and batches for a decided slot are stale', () => {
    const l = learner3();
    l.recordBatch(0, dX, X);
    l.onAccepted(0, b(1, 0), 0, dX);
    l.onAccepted(1, b(1, 0), 0, dX);
    expect(l.onAccepted(2, b(5, 2), 0, dY)).toBe('stale');
    expect(l.recordBatch(0, dY, Y)).toBe('stale');
    expect(l.decision(0)).toBe(X);
  });

  it('slots outside [firstUndecided, firstUndecided + LEARNER_WINDOW_SLOTS) are ignored', () => {
    const l = learner3();
    const far = LEARNER_WINDOW_SLOTS;
    expect(l.inWindow(far - 1)).toBe(true);
    expect(l.inWindow(far)).toBe(false);
    expect(l.recordBatch(far, dX, X)).toBe('out-of-window');
    expect(l.onAccepted(0, b(1, 0), far, dX)).toBe('out-of-window');
    expect(l.onAccepted(1, b(1, 0), far, dX)).toBe('out-of-window');
    expect(l.onAccepted(2, b(1, 0), far, dX)).toBe('out-of-window');
    expect(l.isDecided(far)).toBe(false);
    expect(l.onAccepted(0, b(1, 0), -1, dX)).toBe('out-of-window');
    // The last slot inside the window still works.
    l.recordBatch(far - 1, dX, X);
    l.onAccepted(0, b(1, 0), far - 1, dX);
    expect(l.onAccepted(1, b(1, 0), far - 1, dX)).toBe('decided');
  });

  it('the window moves with firstUndecided', () => {
    const l = learner3(new Map([[0, NOOP], [1, NOOP]]));
    expect(l.firstUndecided).toBe(2);
    expect(l.inWindow(LEARNER_WINDOW_SLOTS)).toBe(true);
    expect(l.inWindow(LEARNER_WINDOW_SLOTS + 2)).toBe(false);
  });
});

describe('the decided log: firstUndecided advances only over a contiguous prefix', () => {
  function decide(l: Learner, slot: Slot, value: Batch): void {
    const d = batchDigest(value);
    l.recordBatch(slot, d, value);
    l.onAccepted(0, b(1, 0), slot, d);
    expect(l.onAccepted(1, b(1, 0), slot, d)).toBe('decided');
  }

  it('deciding slots out of order: the prefix pointer waits for the gap to fill', () => {
    const l = learner3();
    expect(l.firstUndecided).toBe(0);
    expect(l.highestDecided).toBe(-1);
    decide(l, 2, Y);
    expect(l.firstUndecided).toBe(0);
    expect(l.highestDecided).toBe(2);
    decide(l, 1, X);
    expect(l.firstUndecided).toBe(0);
    decide(l, 0, NOOP);
    expect(l.firstUndecided).toBe(3);
    decide(l, 4, X);
    expect(l.firstUndecided).toBe(3);
    expect(l.highestDecided).toBe(4);
  });

  it('seed 002 (slots 135–140): a learner knowing 0–134 and 138–139 has firstUndecided 135', () => {
    const decided = new Map<Slot, Batch>();
    for (let s = 0; s <= 134; s++) decided.set(s, NOOP);
    decided.set(138, X);
    decided.set(139, Y);
    const l = learner3(decided);
    expect(l.firstUndecided).toBe(135);
    expect(l.highestDecided).toBe(139);
    expect(l.isDecided(136)).toBe(false);
    expect(l.isDecided(138)).toBe(true);
  });

  it('learnDecided (catch-up) fills gaps, advances the prefix, and never overwrites a decision', () => {
    const l = learner3();
    expect(l.learnDecided(1, X)).toBe(true);
    expect(l.firstUndecided).toBe(0);
    expect(l.learnDecided(0, Y)).toBe(true);
    expect(l.firstUndecided).toBe(2);
    expect(l.learnDecided(0, X)).toBe(false);
    expect(l.decision(0)).toBe(Y);
    expect(l.learnDecided(-1, X)).toBe(false);
  });
});

describe('crash-mode truncation: slots below logFrom count as decided, their batches forgotten', () => {
  it('truncating drops decisions, votes and batches below the point, and moves the first undecided slot up to it', () => {
    const l = learner3(new Map([0, 1, 2, 3].map((s): [Slot, Batch] => [s, X])));
    l.recordBatch(5, dY, Y);
    l.onAccepted(0, b(1, 0), 5, dY);
    l.truncateBelow(3);
    expect(l.footprint).toEqual({ decided: 1, votes: 1, batches: 1 });
    expect([l.isDecided(2), l.decision(2), l.firstUndecided]).toEqual([true, undefined, 4]);
    // A snapshot installed past every local decision: the open slot below it goes too.
    l.truncateBelow(7);
    expect(l.footprint).toEqual({ decided: 0, votes: 0, batches: 0 });
    expect([l.logFrom, l.firstUndecided, l.highestDecided, l.isDecided(6), l.isDecided(7)]).toEqual([7, 7, 6, true, false]);
    // A late vote or catch-up entry for a forgotten slot is out of the window, not a new decision.
    expect(l.onAccepted(1, b(1, 0), 5, dY)).toBe('out-of-window');
    expect(l.learnDecided(5, Y)).toBe(false);
  });

  it('a learner restarted at logFrom with the retained log decides on from there', () => {
    const l = new Learner(crashQuorums(1), new Map([[10, X], [11, X]]), 10);
    expect([l.firstUndecided, l.highestDecided, l.isDecided(9)]).toEqual([12, 11, true]);
  });
});
