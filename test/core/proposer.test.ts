// The proposer / leader, rule by rule (seeds 002, 003, 004). The learner side is a stub
// DecisionView, so each test states exactly which slots the new leader knows are decided.
import type { Ballot } from '../../src/base/types.ts';
import { describe, expect, it } from 'vitest';
import { defaultConfig } from '../../src/core/config.ts';
import { Proposer, type DecisionView } from '../../src/core/proposer.ts';
import { StaticConfiguration, type Membership } from '../../src/core/configuration.ts';
import { crashQuorums } from '../../src/core/quorum.ts';
import { NOOP, type Batch, type Command, type PValue, type Slot } from '../../src/base/types.ts';
import type { Accept, Promise1b } from '../../src/messages/types.ts';

const b = (round: number, leader: number): Ballot => ({ round, leader });
const enc = new TextEncoder();
const cmd = (clientId: number, seq: number, op = `c${clientId}.${seq}`): Command => ({ clientId, session: 1, seq, op: enc.encode(op), signature: new Uint8Array(0) });
const value = (tag: string): Batch => ({ commands: [cmd(90, tag.length, tag)] });
const pv = (ballot: Ballot, slot: Slot, batch: Batch): PValue => ({ ballot, slot, batch });

function promise(ballot: Ballot, fromSlot: Slot, accepted: PValue[], truncated = false): Promise1b {
  return { type: 'promise', ballot, fromSlot, accepted, truncated, decidedUpTo: fromSlot };
}

/** A learner stub: the given slots are decided. */
class Decisions implements DecisionView {
  readonly decided = new Set<Slot>();
  constructor(slots: Iterable<Slot> = []) {
    for (const s of slots) this.decided.add(s);
  }
  get firstUndecided(): Slot {
    let s = 0;
    while (this.decided.has(s)) s++;
    return s;
  }
  get highestDecided(): Slot {
    return this.decided.size === 0 ? -1 : Math.max(...this.decided);
  }
  isDecided(slot: Slot): boolean {
    return this.decided.has(slot);
  }
  /** A static cluster of three. */
  membershipAt(): Membership {
    return new StaticConfiguration(crashQuorums(1)).at();
  }
  readonly configurationSettledFrom = 0;
}

const range = (lo: number, hi: number): number[] => Array.from({ length: hi - lo + 1 }, (_, i) => lo + i);

/** A proposer that has won phase 1 (n = 3) with no values reported. */
function leader(config = defaultConfig(1), decisions = new Decisions()): { p: Proposer; accepts: Accept[] } {
  const p = new Proposer(0, config, 0);
  const prep = p.startPhase1(decisions.firstUndecided);
  expect(p.onPromise(0, promise(prep.ballot, prep.fromSlot, []))).toBe('pending');
  expect(p.onPromise(1, promise(prep.ballot, prep.fromSlot, []))).toBe('elected');
  return { p, accepts: p.becomeLeader(decisions) };
}

describe('seed 002 "Is there a problem?": the new leader and slots 135–140', () => {
  // "a consensus has been reached in runs 1-134, 138-139 ... only 135 and 140 were accepted by a
  // majority of acceptors ... Suppose he knows 1-134, 138-139." (Slots are 0-based here, so the
  // new leader knows 0–134 and 138–139.)
  const known = new Decisions([...range(0, 134), 138, 139]);
  const V135old = value('135 in (1,1)');
  const V135 = value('135 in (2,2)');
  const V140old = value('140 in (2,0)');
  const V140 = value('140 in (2,1)');

  function elect(): { p: Proposer; accepts: Accept[]; ballot: Ballot } {
    const config = defaultConfig(1, { eagerSlots: 16, windowSlots: 16 });
    const p = new Proposer(0, config, 3);
    // "He will execute phase 1 of the algorithm for runs 135-137 and 140+."
    const prep = p.startPhase1(known.firstUndecided);
    expect(prep).toEqual({ type: 'prepare', ballot: b(4, 0), fromSlot: 135 });
    expect(p.role).toBe('candidate');
    // "135 and 140 will return with promised values" — from different ballots at different acceptors.
    expect(
      p.onPromise(0, promise(prep.ballot, 135, [pv(b(1, 1), 135, V135old), pv(b(2, 1), 140, V140)])),
    ).toBe('pending');
    expect(
      p.onPromise(2, promise(prep.ballot, 135, [pv(b(2, 2), 135, V135), pv(b(1, 2), 138, value('138')), pv(b(2, 0), 140, V140old)])),
    ).toBe('elected');
    const accepts = p.becomeLeader(known);
    return { p, accepts, ballot: prep.ballot };
  }

  it('seed 002: 135 and 140 "are completed with their previous promises" — the highest-ballot value, in the new ballot', () => {
    const { accepts, ballot } = elect();
    const bySlot = new Map(accepts.map((a) => [a.slot, a]));
    // 135: (2,2) beats (1,1) on round. 140: (2,1) beats (2,0) on the leader-id tie-break.
    expect(bySlot.get(135)).toEqual({ type: 'accept', ballot, slot: 135, batch: V135, decidedUpTo: 135 });
    expect(bySlot.get(140)).toEqual({ type: 'accept', ballot, slot: 140, batch: V140, decidedUpTo: 135 });
  });

  it('seed 002: for 136 and 137 "a special no-op operation is sent in the 2nd phase"', () => {
    const { accepts, ballot } = elect();
    const bySlot = new Map(accepts.map((a) => [a.slot, a]));
    for (const s of [136, 137]) {
      expect(bySlot.get(s)?.ballot).toEqual(ballot);
      expect(bySlot.get(s)?.batch).toEqual(NOOP);
    }
  });

  it('seed 002: the leader re-proposes nothing it already knows decided (≤134, 138–139) — exactly 135,136,137,140', () => {
    const { accepts } = elect();
    expect(accepts.map((a) => a.slot)).toEqual([135, 136, 137, 140]);
  });

  it('seed 002: "for operations 141+, the new leader can work normally" — fresh commands open at 141', () => {
    const { p } = elect();
    expect(p.isLeader).toBe(true);
    p.enqueue(cmd(7, 1));
    p.enqueue(cmd(8, 1));
    const fresh = p.proposeReady(known);
    expect(fresh.map((a) => a.slot)).toEqual([141]);
    expect(fresh[0]!.batch.commands).toEqual([cmd(7, 1), cmd(8, 1)]);
    expect(fresh[0]!.ballot).toEqual(b(4, 0));
  });

  it('seed 002: when phase 1 reports nothing, nothing is re-proposed and fresh commands open at the first undecided slot', () => {
    const config = defaultConfig(1, { windowSlots: 16 });
    const p = new Proposer(0, config, 3);
    const decisions = new Decisions(range(0, 134));
    const prep = p.startPhase1(decisions.firstUndecided);
    p.onPromise(0, promise(prep.ballot, 135, []));
    p.onPromise(1, promise(prep.ballot, 135, []));
    expect(p.becomeLeader(decisions)).toEqual([]);
    p.enqueue(cmd(1, 1));
    expect(p.proposeReady(decisions).map((a) => a.slot)).toEqual([135]);
  });

  it('holes below a slot the leader already knows decided are filled even if no Promise reports beyond them', () => {
    const p = new Proposer(0, defaultConfig(1, { eagerSlots: 16 }), 3);
    const decisions = new Decisions([...range(0, 134), 138, 139]);
    const prep = p.startPhase1(135);
    p.onPromise(0, promise(prep.ballot, 135, [pv(b(1, 1), 135, value('135'))]));
    p.onPromise(1, promise(prep.ballot, 135, []));
    const accepts = p.becomeLeader(decisions);
    expect(accepts.map((a) => [a.slot, a.batch])).toEqual([
      [135, value('135')],
      [136, NOOP],
      [137, NOOP],
    ]);
    p.enqueue(cmd(1, 1));
    expect(p.proposeReady(decisions).map((a) => a.slot)).toEqual([140]);
  });

  it('seed 002: pvalues reported below fromSlot are not re-proposed', () => {
    const p = new Proposer(0, defaultConfig(1), 3);
    const decisions = new Decisions(range(0, 9));
    const prep = p.startPhase1(10);
    p.onPromise(0, promise(prep.ballot, 10, [pv(b(1, 1), 9, value('old'))]));
    p.onPromise(1, promise(prep.ballot, 10, [pv(b(1, 1), 11, value('eleven'))]));
    const accepts = p.becomeLeader(decisions);
    expect(accepts.map((a) => [a.slot, a.batch])).toEqual([
      [10, NOOP],
      [11, value('eleven')],
    ]);
  });
});

describe('seed 003 Multi-Paxos steady state: pipelining window α and batching', () => {
  it('proposeReady never opens a slot >= firstUndecided + windowSlots', () => {
    const config = defaultConfig(1, { eagerSlots: 16, windowSlots: 4, batchCommandsMax: 2 });
    const decisions = new Decisions();
    const { p } = leader(config, decisions);
    for (let i = 1; i <= 11; i++) expect(p.enqueue(cmd(i, 1))).toBe(true);
    const first = p.proposeReady(decisions);
    expect(first.map((a) => a.slot)).toEqual([0, 1, 2, 3]);
    expect(p.queueLength).toBe(3);
    // Window full: nothing more until slots get decided.
    expect(p.proposeReady(decisions)).toEqual([]);
    // Deciding slot 1 alone does not move firstUndecided (slot 0 still open).
    decisions.decided.add(1);
    expect(p.proposeReady(decisions)).toEqual([]);
    decisions.decided.add(0);
    // firstUndecided = 2: slots 4 and 5 may open.
    const second = p.proposeReady(decisions);
    expect(second.map((a) => a.slot)).toEqual([4, 5]);
    expect(second.every((a) => a.slot < decisions.firstUndecided + config.windowSlots)).toBe(true);
    expect(p.queueLength).toBe(0);
  });

  it('each slot carries at most batchCommandsMax commands, in arrival order, with no command twice', () => {
    const config = defaultConfig(1, { eagerSlots: 16, windowSlots: 8, batchCommandsMax: 3 });
    const decisions = new Decisions();
    const { p } = leader(config, decisions);
    const sent = range(1, 8).map((i) => cmd(i, 1));
    for (const c of sent) p.enqueue(c);
    const accepts = p.proposeReady(decisions);
    expect(accepts.map((a) => a.batch.commands.length)).toEqual([3, 3, 2]);
    expect(accepts.flatMap((a) => a.batch.commands)).toEqual(sent);
    expect(accepts.map((a) => a.decidedUpTo)).toEqual([0, 0, 0]);
  });

  it('seed 001 (client sessions): a duplicate of a queued command is absorbed', () => {
    const config = defaultConfig(1, { eagerSlots: 16, windowSlots: 1 });
    const decisions = new Decisions();
    const { p } = leader(config, decisions);
    p.enqueue(cmd(1, 1));
    p.proposeReady(decisions); // slot 0 takes it; window now full
    expect(p.enqueue(cmd(2, 5))).toBe(true);
    expect(p.enqueue(cmd(2, 5))).toBe(true);
    expect(p.enqueue(cmd(2, 6))).toBe(true);
    expect(p.queueLength).toBe(2);
    decisions.decided.add(0);
    const next = p.proposeReady(decisions);
    expect(next.flatMap((a) => a.batch.commands)).toEqual([cmd(2, 5), cmd(2, 6)]);
  });

  it('seed 001 (client sessions): a resend of a command proposed in a still-undecided slot is absorbed too', () => {
    const decisions = new Decisions();
    const { p } = leader(defaultConfig(1, { windowSlots: 4 }), decisions);
    p.enqueue(cmd(1, 1));
    expect(p.proposeReady(decisions).map((a) => a.slot)).toEqual([0]);
    expect(p.enqueue(cmd(1, 1))).toBe(true);
    expect(p.queueLength).toBe(0);
    expect(p.proposeReady(decisions)).toEqual([]);
    // Once its slot is decided the proposer forgets it (the replica's session table takes over).
    decisions.decided.add(0);
    p.onDecided(0);
    p.enqueue(cmd(1, 1));
    expect(p.queueLength).toBe(1);
  });

  it('a follower or candidate proposes nothing', () => {
    const p = new Proposer(0, defaultConfig(1), 0);
    p.enqueue(cmd(1, 1));
    expect(p.proposeReady(new Decisions())).toEqual([]);
    p.startPhase1(0);
    expect(p.proposeReady(new Decisions())).toEqual([]);
  });

  it('stepping down forgets the queue and the open proposals', () => {
    const decisions = new Decisions();
    const { p } = leader(defaultConfig(1), decisions);
    p.enqueue(cmd(1, 1));
    p.stepDown();
    expect(p.role).toBe('follower');
    expect(p.queueLength).toBe(0);
    expect(p.proposeReady(decisions)).toEqual([]);
    expect(p.retransmit(decisions)).toEqual([]);
  });

  it('undecided proposals are retransmitted every second heartbeat; decided ones are dropped', () => {
    const config = defaultConfig(1, { eagerSlots: 16, windowSlots: 4 });
    const decisions = new Decisions();
    const { p } = leader(config, decisions);
    p.enqueue(cmd(1, 1));
    p.enqueue(cmd(2, 1));
    p.proposeReady(decisions); // one slot, 0
    p.enqueue(cmd(3, 1));
    p.proposeReady(decisions); // slot 1
    expect(p.retransmit(decisions)).toEqual([]);
    decisions.decided.add(0);
    const again = p.retransmit(decisions);
    expect(again.map((a) => a.slot)).toEqual([1]);
    expect(again[0]!.batch.commands).toEqual([cmd(3, 1)]);
    expect(again[0]!.decidedUpTo).toBe(1);
  });
});

describe('batches that grow with the load (core/pipeline.ts, eagerSlots)', () => {
  it('a lone command goes out at once; what arrives while its slot is open leaves together in the next', () => {
    const config = defaultConfig(1, { eagerSlots: 1, windowSlots: 8, batchCommandsMax: 8 });
    const decisions = new Decisions();
    const { p } = leader(config, decisions);
    p.enqueue(cmd(1, 1));
    expect(p.proposeReady(decisions).map((a) => a.batch.commands)).toEqual([[cmd(1, 1)]]);
    for (let c = 2; c <= 6; c++) p.enqueue(cmd(c, 1));
    // The window has room, but one slot is open: the five wait for it.
    expect(p.proposeReady(decisions)).toEqual([]);
    expect(p.queueLength).toBe(5);
    decisions.decided.add(0);
    p.onDecided(0);
    const next = p.proposeReady(decisions);
    expect(next.map((a) => a.slot)).toEqual([1]);
    expect(next[0]!.batch.commands).toEqual([2, 3, 4, 5, 6].map((c) => cmd(c, 1)));
  });

  it('a full batch opens a further slot while others are open, up to the window', () => {
    const config = defaultConfig(1, { eagerSlots: 1, windowSlots: 3, batchCommandsMax: 2 });
    const decisions = new Decisions();
    const { p } = leader(config, decisions);
    p.enqueue(cmd(1, 1));
    expect(p.proposeReady(decisions).map((a) => a.slot)).toEqual([0]);
    for (let c = 2; c <= 8; c++) p.enqueue(cmd(c, 1));
    // Full batches of two open slots 1 and 2; the window (3) stops there.
    expect(p.proposeReady(decisions).map((a) => a.batch.commands.length)).toEqual([2, 2]);
    expect(p.queueLength).toBe(3);
    decisions.decided.add(0);
    p.onDecided(0);
    // One more full batch fits the window; the last command waits (two slots still open).
    expect(p.proposeReady(decisions).map((a) => a.slot)).toEqual([3]);
    expect(p.queueLength).toBe(1);
  });

  it('eagerSlots = k keeps up to k slots of one command each open', () => {
    const config = defaultConfig(1, { eagerSlots: 2, windowSlots: 8, batchCommandsMax: 8 });
    const decisions = new Decisions();
    const { p } = leader(config, decisions);
    for (let c = 1; c <= 3; c++) {
      p.enqueue(cmd(c, 1));
      p.proposeReady(decisions);
    }
    expect(p.queueLength).toBe(1);
  });
});

describe('seed 002/004 phase 1: which Promises count', () => {
  it('seed 004: a leader needs promises from a majority of distinct acceptors', () => {
    const p = new Proposer(1, defaultConfig(2), 0); // n = 5, quorum 3
    const prep = p.startPhase1(0);
    expect(p.onPromise(1, promise(prep.ballot, 0, []))).toBe('pending');
    expect(p.onPromise(1, promise(prep.ballot, 0, []))).toBe('pending');
    expect(p.onPromise(3, promise(prep.ballot, 0, []))).toBe('pending');
    expect(p.onPromise(4, promise(prep.ballot, 0, []))).toBe('elected');
  });

  it('a Promise for a different ballot (older attempt or someone else) is ignored', () => {
    const p = new Proposer(0, defaultConfig(1), 0);
    const first = p.startPhase1(0);
    const second = p.startPhase1(0);
    expect(second.ballot).toEqual(b(2, 0));
    expect(p.onPromise(1, promise(first.ballot, 0, []))).toBe('ignored');
    expect(p.onPromise(2, promise(b(2, 1), 0, []))).toBe('ignored');
    expect(p.onPromise(0, promise(second.ballot, 0, []))).toBe('pending');
    // The ignored ones did not count toward the quorum.
    expect(p.onPromise(0, promise(second.ballot, 0, []))).toBe('pending');
    expect(p.onPromise(1, promise(second.ballot, 0, []))).toBe('elected');
  });

  it('a Promise for a different fromSlot is ignored', () => {
    const p = new Proposer(0, defaultConfig(1), 0);
    const prep = p.startPhase1(5);
    expect(p.onPromise(1, promise(prep.ballot, 0, []))).toBe('ignored');
  });

  it('a Promise arriving when not a candidate is ignored', () => {
    const { p } = leader();
    expect(p.onPromise(2, promise(p.ballot, 0, [pv(b(9, 9), 0, value('late'))]))).toBe('ignored');
    const f = new Proposer(0, defaultConfig(1), 0);
    expect(f.onPromise(1, promise(f.ballot, 0, []))).toBe('ignored');
  });

  it('a truncated Promise means the candidate lags too far to lead: "lagging"', () => {
    const p = new Proposer(0, defaultConfig(1), 0);
    const prep = p.startPhase1(0);
    expect(p.onPromise(1, promise(prep.ballot, 0, [], true))).toBe('lagging');
    // And it did not count as a promise.
    expect(p.onPromise(0, promise(prep.ballot, 0, []))).toBe('pending');
  });

  it('every new phase 1 uses a ballot above every round observed, led by this proposer', () => {
    const p = new Proposer(2, defaultConfig(1), 4);
    p.observeRound(9);
    p.observeRound(3);
    expect(p.startPhase1(0).ballot).toEqual(b(10, 2));
    expect(p.startPhase1(0).ballot).toEqual(b(11, 2));
  });
});
