// Scripted scenarios on a tiny hand-driven network of PaxosNodes (etcd raft's interaction
// tests): the test decides which message goes where and when; a cut link is a black hole.
// The harness plays the driver: it applies every `persist` to the node's MemoryStorage at the
// point it appears in the effect list, and checks that each dependent send comes after it.
import type { Ballot, Command, NodeId } from '../../src/base/types.ts';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { KvStore, decodeKvResult, encodeKvOp, type KvOp, type KvResult } from '../../src/app/kv.ts';
import { BOTTOM, compareBallots } from '../../src/base/ballot.ts';
import { defaultConfig, type CoreConfig } from '../../src/core/config.ts';
import type { Effect, Input, TimerName } from '../../src/core/effects.ts';
import { CATCHUP_ENTRIES_MAX, LEARNER_WINDOW_SLOTS } from '../../src/base/limits.ts';
import { PaxosNode } from '../../src/core/node.ts';
import { SeededRng } from '../../src/core/rng.ts';
import { batchDigest } from '../../src/messages/codec.ts';
import type { ClientReply, PeerMessage } from '../../src/messages/types.ts';
import { MemoryStorage } from '../../src/storage/memory.ts';
import { ManualNetwork } from '../../src/sim/manual-network.ts';
import type { PersistentState } from '../../src/core/storage.ts';
import { toHex } from '../../crypto/index.ts';
import { REFUSED_MARK, RefusingKv } from '../app/refusing-kv.ts';
import { encodeMembershipChange } from '../../src/core/configuration.ts';

const b = (round: number, leader: number): Ballot => ({ round, leader });

interface ReplyRecord {
  readonly node: NodeId;
  readonly msg: ClientReply;
}

/**
 * n PaxosNodes on the hand-driven network (src/sim/manual-network.ts), which also checks that the
 * state each message or decision vouches for is in the sender's storage before it leaves.
 */
class Cluster extends ManualNetwork<PaxosNode> {
  readonly config: CoreConfig;
  readonly apps: KvStore[];
  /** Persist-before-send violations seen by the driver. */
  readonly violations: string[];
  /** How many dependent sends the driver checked, by message type. */
  readonly checked: Map<string, number>;

  /** `makeApp`: each node's application (RefusingKv for validated proposals). */
  constructor(f: number, overrides: Partial<CoreConfig> = {}, makeApp: () => KvStore = () => new KvStore()) {
    const config = defaultConfig(f, overrides);
    const apps: KvStore[] = [];
    const make = (id: NodeId, state: PersistentState): PaxosNode => new PaxosNode({ id, config, state, rng: new SeededRng(1234, id), app: (apps[id] = makeApp()) });
    // The nodes boot (and are checked) while the network is built, before `this` exists.
    const checks: Checks = { violations: [], checked: new Map() };
    super(config.quorums.n, make, (id, e, storage) => inspect(checks, id, e, storage));
    this.config = config;
    this.apps = apps;
    this.violations = checks.violations;
    this.checked = checks.checked;
  }

  /** Node 0 times out, runs phase 1, and every message is delivered. */
  electZero(): void {
    this.fire(0, 'election');
    this.deliverAll();
  }

  digest(id: NodeId): string {
    return toHex(this.nodes[id]!.replica.stateDigest());
  }

  checkPersisted(id: NodeId, msg: PeerMessage, storage = this.storages[id]!): void {
    checkMessage(this, id, msg, storage);
  }
}

interface Checks {
  readonly violations: string[];
  readonly checked: Map<string, number>;
}

function inspect(into: Checks, id: NodeId, e: Effect, storage: MemoryStorage): void {
  if (e.type === 'send' || e.type === 'broadcast') checkMessage(into, id, e.msg, storage);
  if (e.type === 'decide' && !storage.load().decided.has(e.slot)) into.violations.push(`n${id} decide ${e.slot} before persisting it`);
}

/** The state a message vouches for must already be in the sender's storage. */
function checkMessage(into: Checks, id: NodeId, msg: PeerMessage, storage: MemoryStorage): void {
  const state = storage.load();
  const bump = (): void => void into.checked.set(msg.type, (into.checked.get(msg.type) ?? 0) + 1);
  switch (msg.type) {
    case 'prepare':
    case 'accept':
      bump();
      if (state.round < msg.ballot.round) into.violations.push(`n${id} ${msg.type} in round ${msg.ballot.round} before persisting it`);
      return;
    case 'promise':
      bump();
      if (compareBallots(state.promised, msg.ballot) < 0) into.violations.push(`n${id} promise before persisting it`);
      return;
    case 'nack':
      bump();
      if (compareBallots(state.promised, msg.promised) < 0) into.violations.push(`n${id} nack cites an unpersisted promise`);
      return;
    case 'accepted': {
      bump();
      const pv = state.accepted.get(msg.slot);
      if (pv === undefined || compareBallots(pv.ballot, msg.ballot) !== 0 || toHex(batchDigest(pv.batch)) !== toHex(msg.digest)) {
        into.violations.push(`n${id} accepted slot ${msg.slot} before persisting the pvalue`);
      }
      return;
    }
    default:
      return;
  }
}

let nextClient = 100;
function command(op: KvOp, clientId = nextClient++, seq = 1): Command {
  return { clientId, session: 1, seq, op: encodeKvOp(op), signature: new Uint8Array(0) };
}
const put = (key: string, value: string): KvOp => ({ type: 'put', key, value });

function executes(effects: Effect[]): Extract<Effect, { type: 'execute' }>[] {
  return effects.filter((e): e is Extract<Effect, { type: 'execute' }> => e.type === 'execute');
}
function okReplies(c: Cluster, clientId: number): ReplyRecord[] {
  return c.replies.filter((r) => r.msg.clientId === clientId && r.msg.status === 'ok');
}
function result(bytes: Uint8Array): KvResult {
  return decodeKvResult(bytes);
}

describe('seed 003 "Multi-Paxos, start": election and the first decision on n = 3', () => {
  it('seed 003: an election timeout makes node 0 send Prepare; two Promises (its own and one more) make it leader', () => {
    const c = new Cluster(1);
    const effects = c.fire(0, 'election');
    const prepares = effects.filter((e) => e.type === 'broadcast' && e.msg.type === 'prepare');
    expect(prepares).toHaveLength(1);
    expect(c.nodes[0]!.proposer.role).toBe('candidate');
    expect(c.inFlight.map((e) => [e.to, e.msg.type])).toEqual([
      [1, 'prepare'],
      [2, 'prepare'],
    ]);
    // Only node 1 answers: with node 0's own promise that is a majority of 3.
    c.deliverWhere((e) => e.to === 1);
    expect(c.inFlight.filter((e) => e.msg.type === 'promise')).toHaveLength(1);
    c.deliverWhere((e) => e.msg.type === 'promise');
    expect(c.nodes[0]!.isLeader).toBe(true);
    expect(c.nodes[0]!.leaderHint).toBe(0);
    expect(c.timers[0]!.has('heartbeat')).toBe(true);
    expect(c.timers[0]!.has('election')).toBe(false);
    // Followers that promised know who leads.
    expect(c.nodes[1]!.leaderHint).toBe(0);
    expect(c.nodes[1]!.isLeader).toBe(false);
  });

  it('seed 003: a request to the leader is decided and executed on all three nodes; the reply carries the KV result', () => {
    const c = new Cluster(1);
    c.electZero();
    const cmd = command(put('color', 'blue'));
    c.request(0, cmd);
    c.deliverAll();
    for (let id = 0; id < 3; id++) {
      const ex = executes(c.effectsOf(id));
      expect(ex).toHaveLength(1);
      expect(ex[0]!.command).toEqual(cmd);
      expect(result(ex[0]!.result)).toEqual({ ok: true, value: null });
      expect(c.apps[id]!.get('color')).toBe('blue');
      expect(c.nodes[id]!.learner.firstUndecided).toBe(1);
    }
    const replies = okReplies(c, cmd.clientId);
    expect(replies).toHaveLength(1);
    expect(replies[0]!.node).toBe(0);
    expect(replies[0]!.msg.seq).toBe(cmd.seq);
    expect(result(replies[0]!.msg.result)).toEqual({ ok: true, value: null });
    // A second put of the same key returns the previous value.
    const cmd2 = command(put('color', 'red'));
    c.request(0, cmd2);
    c.deliverAll();
    expect(result(okReplies(c, cmd2.clientId)[0]!.msg.result)).toEqual({ ok: true, value: 'blue' });
    expect(new Set([0, 1, 2].map((id) => c.digest(id))).size).toBe(1);
    expect(c.violations).toEqual([]);
  });

  it('seed 003: the leader decides with a majority even when the third node hears nothing', () => {
    const c = new Cluster(1);
    c.electZero();
    c.isolate(2);
    const cmd = command(put('k', 'v'));
    c.request(0, cmd);
    c.deliverAll();
    expect(okReplies(c, cmd.clientId)).toHaveLength(1);
    expect(executes(c.effectsOf(1))).toHaveLength(1);
    expect(executes(c.effectsOf(2))).toHaveLength(0);
  });

  it('without a majority of Accepted nothing is decided, executed or answered', () => {
    const c = new Cluster(1);
    c.electZero();
    c.isolate(1);
    c.isolate(2);
    const cmd = command(put('k', 'v'));
    c.request(0, cmd);
    c.deliverAll();
    expect(c.nodes[0]!.learner.firstUndecided).toBe(0);
    expect(executes(c.effectsOf(0))).toHaveLength(0);
    expect(okReplies(c, cmd.clientId)).toHaveLength(0);
  });
});

describe('seed 002 "Is there a problem?" end to end: a leader fails with accepted-but-unlearned slots', () => {
  it('seed 002: the next leader completes slots accepted by a majority with their values, fills the gaps with no-ops, and exactly-once survives a resend', () => {
    const c = new Cluster(1, { batchCommandsMax: 1, windowSlots: 8 });
    c.electZero();
    const cmds = [0, 1, 2, 3].map((i) => command(put(`s${i}`, `v${i}`)));
    for (const cmd of cmds) c.request(0, cmd);
    const accepts = c.inFlight.filter((e) => e.msg.type === 'accept');
    expect(accepts.map((e) => [e.to, e.msg.type === 'accept' && e.msg.slot])).toEqual([
      [1, 0], [2, 0], [1, 1], [2, 1], [1, 2], [2, 2], [1, 3], [2, 3],
    ]);
    // Slots 0 and 3 reach node 1 (with node 0 itself, a majority accepted them); 1 and 2 reach nobody.
    c.deliverWhere((e) => e.to === 1 && e.msg.type === 'accept' && (e.msg.slot === 0 || e.msg.slot === 3));
    // ... "but for some reason leader fails and no logs are made": every Accepted is lost, node 0 is gone.
    c.inFlight = [];
    c.isolate(0);
    for (let id = 0; id < 3; id++) expect(c.nodes[id]!.learner.firstUndecided).toBe(0);
    expect(c.nodes[1]!.acceptor.acceptedAt(0)?.batch.commands).toEqual([cmds[0]]);
    expect(c.nodes[1]!.acceptor.acceptedAt(1)).toBeUndefined();

    // Node 2 takes over: phase 1 with node 1.
    c.fire(2, 'election');
    c.deliverWhere((e) => e.msg.type === 'prepare');
    c.deliverWhere((e) => e.msg.type === 'promise');
    expect(c.nodes[2]!.isLeader).toBe(true);
    const reproposed = c.inFlight.filter((e) => e.to === 1 && e.msg.type === 'accept').map((e) => e.msg);
    expect(reproposed.map((m) => m.type === 'accept' && [m.slot, m.ballot, m.batch.commands])).toEqual([
      [0, b(2, 2), [cmds[0]]],
      [1, b(2, 2), []],
      [2, b(2, 2), []],
      [3, b(2, 2), [cmds[3]]],
    ]);
    // The client of slot 3 resends to the new leader before slot 3 is decided there.
    c.request(2, cmds[3]!);
    const fresh = command(put('fresh', 'yes'));
    c.request(2, fresh);
    c.deliverAll();

    for (const id of [1, 2]) {
      const l = c.nodes[id]!.learner;
      expect(l.decision(0)?.commands).toEqual([cmds[0]]);
      expect(l.decision(1)?.commands).toEqual([]);
      expect(l.decision(2)?.commands).toEqual([]);
      expect(l.decision(3)?.commands).toEqual([cmds[3]]);
      // New commands go above 3; the resend of cmds[3] may occupy a slot but executes only once.
      const executed = executes(c.effectsOf(id)).map((e) => e.command.clientId);
      expect(executed).toEqual([cmds[0]!.clientId, cmds[3]!.clientId, fresh.clientId]);
      expect(c.apps[id]!.get('s3')).toBe('v3');
      expect(c.apps[id]!.get('s1')).toBeNull();
    }
    expect(okReplies(c, cmds[3]!.clientId)).toHaveLength(1);
    expect(okReplies(c, fresh.clientId)).toHaveLength(1);
    expect(c.digest(1)).toBe(c.digest(2));
    expect(c.violations).toEqual([]);
  });
});

describe('validated proposals in crash mode (seed 000 §6)', () => {
  it('the leader refuses a request its application refuses: it is never proposed or decided, and the client hears why', () => {
    const c = new Cluster(1, {}, () => new RefusingKv());
    c.electZero();
    const refused = command(put('k', `${REFUSED_MARK}!`));
    const out = c.request(0, refused).filter((e) => e.type === 'send' || e.type === 'broadcast' || e.type === 'reply');
    expect(out).toMatchObject([{ type: 'reply', msg: { status: 'refused', seq: refused.seq } }]);
    const reply = (out[0] as Extract<Effect, { type: 'reply' }>).msg;
    expect(new TextDecoder().decode(reply.result)).toBe('the application refuses this op');
    expect(c.nodes[0]!.stats.dropped.get('request:invalid-command')).toBe(1);
    const fine = command(put('k', 'v'));
    c.request(0, fine);
    c.deliverAll();
    for (let id = 0; id < 3; id++) expect(executes(c.effectsOf(id)).map((e) => e.command.seq === fine.seq && e.command.clientId === fine.clientId)).toEqual([true]);
  });
});

describe('membership commands in a static cluster', () => {
  it('are refused, saying the cluster is static, and never proposed', () => {
    const c = new Cluster(1);
    c.electZero();
    const change: Command = { clientId: nextClient++, session: 1, seq: 1, op: encodeMembershipChange({ kind: 'add', node: 3 }), signature: new Uint8Array(0) };
    const out = c.request(0, change).filter((e) => e.type === 'send' || e.type === 'broadcast' || e.type === 'reply');
    expect(out).toMatchObject([{ type: 'reply', msg: { status: 'refused' } }]);
    const reply = (out[0] as Extract<Effect, { type: 'reply' }>).msg;
    expect(new TextDecoder().decode(reply.result)).toMatch(/static/);
  });
});

describe('seed 001 "Clients": requests, redirects, exactly-once', () => {
  it('a follower answers a client request with redirect and the leader hint', () => {
    const c = new Cluster(1);
    const cmd = command(put('k', 'v'));
    // Before any election nobody knows a leader.
    c.request(1, cmd);
    expect(c.replies.at(-1)!.msg).toMatchObject({ status: 'redirect', leaderHint: -1, clientId: cmd.clientId, session: 1, seq: cmd.seq });
    c.electZero();
    const effects = c.request(1, cmd);
    expect(c.replies.at(-1)!.msg).toMatchObject({ status: 'redirect', leaderHint: 0, clientId: cmd.clientId, session: 1, seq: cmd.seq });
    // The follower neither proposes nor forwards it.
    expect(effects.filter((e) => e.type === 'send' || e.type === 'broadcast')).toEqual([]);
    c.deliverAll();
    expect(executes(c.effectsOf(1))).toHaveLength(0);
  });

  it('a duplicate (clientId, session, seq) after execution gets the cached reply and is not executed again', () => {
    const c = new Cluster(1);
    c.electZero();
    const cmd = command(put('k', 'first'));
    c.request(0, cmd);
    c.deliverAll();
    const first = okReplies(c, cmd.clientId);
    expect(first).toHaveLength(1);
    const before = c.log.length;
    // The client resends: same clientId, same seq.
    const effects = c.request(0, cmd);
    c.deliverAll();
    const later = c.log.slice(before).flatMap((l) => l.effects);
    expect(executes(later)).toEqual([]);
    expect(effects.filter((e) => e.type === 'broadcast' && e.msg.type === 'accept')).toEqual([]);
    const replies = okReplies(c, cmd.clientId);
    expect(replies).toHaveLength(2);
    expect(toHex(replies[1]!.msg.result)).toBe(toHex(first[0]!.msg.result));
    expect(result(replies[1]!.msg.result)).toEqual({ ok: true, value: null });
    // A follower, having executed it too, also answers from its cache.
    c.request(2, cmd);
    expect(c.replies.at(-1)!.msg.status).toBe('ok');
    expect(result(c.replies.at(-1)!.msg.result)).toEqual({ ok: true, value: null });
  });

  it('a resend while the command is in flight is absorbed: one slot, one execution, one reply', () => {
    const c = new Cluster(1);
    c.electZero();
    const cmd = command(put('k', 'v'));
    c.request(0, cmd);
    c.request(0, cmd);
    c.deliverAll();
    for (let id = 0; id < 3; id++) expect(executes(c.effectsOf(id))).toHaveLength(1);
    expect(c.nodes[0]!.learner.firstUndecided).toBe(1);
    expect(okReplies(c, cmd.clientId)).toHaveLength(1);
  });

  it('a request with an older seq than the last executed one is ignored', () => {
    const c = new Cluster(1);
    c.electZero();
    const id = nextClient++;
    c.request(0, command(put('k', 'a'), id, 1));
    c.request(0, command(put('k', 'b'), id, 2));
    c.deliverAll();
    const before = c.replies.length;
    const effects = c.request(0, command(put('k', 'a'), id, 1));
    expect(effects).toEqual([]);
    expect(c.replies.length).toBe(before);
    c.deliverAll();
    expect(c.apps[0]!.get('k')).toBe('b');
  });
});

describe('seed 002/004: persist before send', () => {
  it('seed 004: in every effect list, each promise/accept/accepted/prepare/nack comes after the persist it depends on', () => {
    const c = new Cluster(1, { windowSlots: 2, batchCommandsMax: 2 });
    c.electZero();
    for (let i = 0; i < 7; i++) c.request(0, command(put(`k${i}`, `${i}`)));
    c.deliverAll();
    // Node 1 takes over (Prepare with a higher ballot; node 0 steps down on it), more commands.
    c.fire(1, 'election');
    c.deliverAll();
    expect(c.nodes[1]!.isLeader).toBe(true);
    for (let i = 0; i < 5; i++) c.request(1, command(put(`j${i}`, `${i}`)));
    // A stale Accept from the deposed leader draws a Nack.
    c.step(2, {
      type: 'message',
      from: 0,
      msg: { type: 'accept', ballot: b(1, 0), slot: 40, batch: { commands: [] }, decidedUpTo: 0 },
    });
    c.deliverAll();
    // Node 2 lags through some decisions, then catches up.
    c.isolate(2);
    for (let i = 0; i < 5; i++) c.request(1, command(put(`m${i}`, `${i}`)));
    c.deliverAll();
    c.heal();
    c.fire(1, 'heartbeat');
    c.deliverAll();
    expect(c.violations).toEqual([]);
    for (const type of ['prepare', 'promise', 'accept', 'accepted', 'nack']) {
      expect(c.checked.get(type) ?? 0, type).toBeGreaterThan(0);
    }
    // Each node persisted its promise / accepted records at all.
    for (let id = 0; id < 3; id++) {
      expect(compareBallots(c.storages[id]!.load().promised, b(2, 1))).toBe(0);
    }
    expect(new Set([0, 1, 2].map((id) => c.digest(id))).size).toBe(1);
  });

  it('the persist-before-send check itself flags a send placed before its persist', () => {
    // Guard against a vacuous check: reorder a real effect list and replay it on a fresh storage.
    const c = new Cluster(1);
    c.fire(0, 'election');
    const effects = c.step(1, { type: 'message', from: 0, msg: c.inFlight[0]!.msg });
    const persistAt = effects.findIndex((e) => e.type === 'persist');
    const sendAt = effects.findIndex((e) => e.type === 'send' && e.msg.type === 'promise');
    expect(persistAt).toBeGreaterThanOrEqual(0);
    expect(persistAt).toBeLessThan(sendAt);
    const probe = new Cluster(1);
    const send = effects[sendAt]!;
    if (send.type !== 'send') throw new Error('unreachable');
    probe.checkPersisted(1, send.msg, new MemoryStorage());
    expect(probe.violations).toHaveLength(1);
  });
});

describe('catch-up: a lagging node reconnects and converges', () => {
  it('a node cut off during many decisions catches up via catchup-request/reply to the same firstUndecided and state digest', () => {
    const c = new Cluster(1, { batchCommandsMax: 1, windowSlots: 8 });
    c.electZero();
    c.isolate(2);
    const total = CATCHUP_ENTRIES_MAX + 6;
    for (let i = 0; i < total; i++) {
      c.request(0, command(put(`key${i % 5}`, `v${i}`)));
      c.deliverAll();
    }
    expect(c.nodes[0]!.learner.firstUndecided).toBe(total);
    expect(c.nodes[1]!.learner.firstUndecided).toBe(total);
    expect(c.nodes[2]!.learner.firstUndecided).toBe(0);
    expect(c.digest(2)).not.toBe(c.digest(0));

    c.heal();
    const before = c.log.length;
    c.fire(0, 'heartbeat');
    c.deliverAll();
    const sent = c.log.slice(before).flatMap((l) => l.effects.flatMap((e) => (e.type === 'send' ? [e.msg] : [])));
    const requests = sent.filter((m) => m.type === 'catchup-request');
    const replies = sent.filter((m) => m.type === 'catchup-reply');
    // More decided slots than one reply carries: at least two rounds.
    expect(requests.length).toBeGreaterThanOrEqual(2);
    expect(replies.length).toBeGreaterThanOrEqual(2);
    for (const r of replies) if (r.type === 'catchup-reply') expect(r.entries.length).toBeLessThanOrEqual(CATCHUP_ENTRIES_MAX);

    expect(c.nodes[2]!.learner.firstUndecided).toBe(total);
    expect(c.nodes[2]!.replica.executedUpTo).toBe(total);
    expect(c.digest(2)).toBe(c.digest(0));
    expect(c.digest(1)).toBe(c.digest(0));
    // It persisted what it learned, so a restart keeps it.
    expect(c.storages[2]!.load().decided.size).toBe(total);
    expect(c.violations).toEqual([]);
  });

  it('a lagging node also catches up from the decidedUpTo of the next Accept it sees', () => {
    const c = new Cluster(1);
    c.electZero();
    c.isolate(2);
    for (let i = 0; i < 3; i++) c.request(0, command(put('x', `${i}`)));
    c.deliverAll();
    c.heal();
    c.request(0, command(put('x', 'last')));
    c.deliverAll();
    expect(c.nodes[2]!.learner.firstUndecided).toBe(c.nodes[0]!.learner.firstUndecided);
    expect(c.digest(2)).toBe(c.digest(0));
    expect(c.apps[2]!.get('x')).toBe('last');
  });
});

describe('validation: unacceptable messages are dropped, counted, effect-free, and never throw', () => {
  const total = (m: Map<string, number>): number => [...m.values()].reduce((x, y) => x + y, 0);

  const cases: { name: string; to: NodeId; from: NodeId; msg: PeerMessage }[] = [
    { name: 'sender out of range (n)', to: 0, from: 3, msg: { type: 'prepare', ballot: b(5, 3), fromSlot: 0 } },
    { name: 'sender negative', to: 0, from: -1, msg: { type: 'catchup-request', fromSlot: 0 } },
    { name: 'sender not an integer', to: 0, from: 1.5, msg: { type: 'heartbeat', ballot: b(5, 1), decidedUpTo: 0 } },
    { name: 'sender is the receiver itself', to: 0, from: 0, msg: { type: 'prepare', ballot: b(5, 0), fromSlot: 0 } },
    { name: 'prepare whose ballot leader is not the sender', to: 0, from: 1, msg: { type: 'prepare', ballot: b(5, 2), fromSlot: 0 } },
    {
      name: 'accept whose ballot leader is not the sender',
      to: 0,
      from: 1,
      msg: { type: 'accept', ballot: b(5, 2), slot: 0, batch: { commands: [] }, decidedUpTo: 0 },
    },
    { name: 'heartbeat whose ballot leader is not the sender', to: 0, from: 1, msg: { type: 'heartbeat', ballot: b(5, 2), decidedUpTo: 9 } },
    { name: 'prepare with round 0', to: 0, from: 1, msg: { type: 'prepare', ballot: b(0, 1), fromSlot: 0 } },
    { name: 'prepare with ballot ⊥', to: 0, from: 1, msg: { type: 'prepare', ballot: BOTTOM, fromSlot: 0 } },
    { name: 'prepare whose leader id is out of range', to: 0, from: 1, msg: { type: 'prepare', ballot: b(5, 7), fromSlot: 0 } },
    {
      name: "promise for someone else's ballot",
      to: 0,
      from: 1,
      msg: { type: 'promise', ballot: b(5, 2), fromSlot: 0, accepted: [], truncated: false, decidedUpTo: 0 },
    },
    {
      name: 'promise reporting a pvalue with round 0',
      to: 0,
      from: 1,
      msg: {
        type: 'promise',
        ballot: b(5, 0),
        fromSlot: 0,
        accepted: [{ ballot: BOTTOM, slot: 0, batch: { commands: [] } }],
        truncated: false,
        decidedUpTo: 0,
      },
    },
    { name: 'accepted with round 0', to: 0, from: 1, msg: { type: 'accepted', ballot: b(0, 1), slot: 0, digest: new Uint8Array(32) } },
    { name: 'nack citing ⊥ as promised', to: 0, from: 1, msg: { type: 'nack', ballot: b(1, 0), promised: BOTTOM } },
    { name: 'nack citing a promised ballot of an unknown leader', to: 0, from: 1, msg: { type: 'nack', ballot: b(1, 0), promised: b(9, 3) } },
  ];

  it.each(cases)('drops $name', ({ to, from, msg }) => {
    const c = new Cluster(1);
    c.electZero();
    const node = c.nodes[to]!;
    const promised = node.acceptor.promised;
    const role = node.proposer.role;
    const round = node.proposer.round;
    const dropped = total(node.stats.dropped);
    const received = total(node.stats.received);
    let effects: Effect[] = [];
    expect(() => {
      effects = node.step({ type: 'message', from, msg });
    }).not.toThrow();
    expect(effects).toEqual([]);
    expect(total(node.stats.dropped)).toBe(dropped + 1);
    expect([...node.stats.dropped.keys()].some((k) => k.startsWith(msg.type))).toBe(true);
    expect(total(node.stats.received)).toBe(received);
    expect(node.acceptor.promised).toEqual(promised);
    expect(node.proposer.role).toBe(role);
    expect(node.proposer.round).toBe(round);
  });

  it('drops an Accept beyond the learner window without accepting it', () => {
    const c = new Cluster(1);
    c.electZero();
    const node = c.nodes[1]!;
    const slot = node.learner.firstUndecided + LEARNER_WINDOW_SLOTS;
    const dropped = total(node.stats.dropped);
    const effects = node.step({
      type: 'message',
      from: 0,
      msg: { type: 'accept', ballot: b(1, 0), slot, batch: { commands: [] }, decidedUpTo: 0 },
    });
    expect(effects).toEqual([]);
    expect(total(node.stats.dropped)).toBe(dropped + 1);
    expect(node.acceptor.acceptedAt(slot)).toBeUndefined();
    expect(c.storages[1]!.load().accepted.has(slot)).toBe(false);
  });

  it('random well-formed messages from random senders never throw, and a drop never has effects (property)', () => {
    const ballotArb = fc.oneof(
      fc.constant(BOTTOM),
      fc.record({ round: fc.integer({ min: 1, max: 4 }), leader: fc.integer({ min: 0, max: 4 }) }),
    );
    const slotArb = fc.integer({ min: 0, max: 40 });
    const batchArb = fc.constantFrom({ commands: [] }, { commands: [command(put('a', 'b'), 7, 1)] });
    const pvArb = fc.record({ ballot: ballotArb, slot: slotArb, batch: batchArb });
    const msgArb: fc.Arbitrary<PeerMessage> = fc.oneof(
      fc.record({ type: fc.constant('prepare' as const), ballot: ballotArb, fromSlot: slotArb }),
      fc.record({
        type: fc.constant('promise' as const),
        ballot: ballotArb,
        fromSlot: slotArb,
        accepted: fc.array(pvArb, { maxLength: 3 }),
        truncated: fc.boolean(),
        decidedUpTo: slotArb,
      }),
      fc.record({ type: fc.constant('accept' as const), ballot: ballotArb, slot: slotArb, batch: batchArb, decidedUpTo: slotArb }),
      fc.record({
        type: fc.constant('accepted' as const),
        ballot: ballotArb,
        slot: slotArb,
        digest: fc.constantFrom(batchDigest({ commands: [] }), new Uint8Array(32)),
      }),
      fc.record({ type: fc.constant('nack' as const), ballot: ballotArb, promised: ballotArb }),
      fc.record({ type: fc.constant('heartbeat' as const), ballot: ballotArb, decidedUpTo: slotArb }),
      fc.record({ type: fc.constant('catchup-request' as const), fromSlot: slotArb }),
      fc.record({
        type: fc.constant('catchup-reply' as const),
        entries: fc.array(fc.record({ slot: slotArb, batch: batchArb }), { maxLength: 3 }),
        decidedUpTo: slotArb,
      }),
    );
    const inputArb: fc.Arbitrary<Input> = fc.oneof(
      { weight: 8, arbitrary: fc.record({ type: fc.constant('message' as const), from: fc.integer({ min: -1, max: 4 }), msg: msgArb }) },
      { weight: 1, arbitrary: fc.record({ type: fc.constant('timeout' as const), timer: fc.constantFrom<TimerName>('election', 'heartbeat', 'catchup') }) },
    );
    fc.assert(
      fc.property(fc.array(inputArb, { minLength: 1, maxLength: 30 }), (inputs) => {
        const storage = new MemoryStorage();
        const node = new PaxosNode({ id: 0, config: defaultConfig(1), state: storage.load(), rng: new SeededRng(1, 0), app: new KvStore() });
        let promised = node.acceptor.promised;
        for (const input of inputs) {
          const dropped = total(node.stats.dropped);
          const received = total(node.stats.received);
          const effects = node.step(input);
          if (input.type === 'message') {
            // Each message is either received or rejected; a rejected one has no effect at all.
            const rejected = total(node.stats.received) === received;
            if (rejected) {
              expect(total(node.stats.dropped)).toBe(dropped + 1);
              expect(effects).toEqual([]);
            } else {
              expect(total(node.stats.received)).toBe(received + 1);
            }
          }
          // P1a: promised never goes down.
          expect(compareBallots(node.acceptor.promised, promised)).toBeGreaterThanOrEqual(0);
          promised = node.acceptor.promised;
        }
      }),
      { numRuns: 150 },
    );
  });
});

describe('seed 002: a proposer that sees a higher ballot steps down and backs off', () => {
  function leaderZero(): Cluster {
    const c = new Cluster(1);
    c.electZero();
    expect(c.nodes[0]!.isLeader).toBe(true);
    expect(c.nodes[0]!.proposer.ballot).toEqual(b(1, 0));
    return c;
  }

  function expectSteppedDown(c: Cluster, effects: Effect[], newLeader: NodeId): void {
    const node = c.nodes[0]!;
    expect(node.isLeader).toBe(false);
    expect(node.proposer.role).toBe('follower');
    expect(effects.some((e) => e.type === 'setTimer' && e.timer === 'election')).toBe(true);
    expect(effects.some((e) => e.type === 'clearTimer' && e.timer === 'heartbeat')).toBe(true);
    expect(c.timers[0]!.has('election')).toBe(true);
    expect(c.timers[0]!.has('heartbeat')).toBe(false);
    expect(node.leaderHint).toBe(newLeader);
    // A client now gets redirected to the new leader, not queued at the old one.
    c.request(0, command(put('k', 'v')));
    expect(c.replies.at(-1)!.msg).toMatchObject({ status: 'redirect', leaderHint: newLeader });
  }

  it('seed 002: on a Nack citing a higher promised ballot', () => {
    const c = leaderZero();
    const effects = c.step(0, { type: 'message', from: 1, msg: { type: 'nack', ballot: b(1, 0), promised: b(2, 2) } });
    expectSteppedDown(c, effects, 2);
    // The next attempt goes above the round it saw.
    const retry = c.fire(0, 'election');
    const prep = retry.find((e) => e.type === 'broadcast' && e.msg.type === 'prepare');
    expect(prep?.type === 'broadcast' && prep.msg.type === 'prepare' && prep.msg.ballot).toEqual(b(3, 0));
  });

  it('seed 002: on a Heartbeat of a higher ballot', () => {
    const c = leaderZero();
    const effects = c.step(0, { type: 'message', from: 2, msg: { type: 'heartbeat', ballot: b(2, 2), decidedUpTo: 0 } });
    expectSteppedDown(c, effects, 2);
  });

  it('seed 002: on a Prepare of a higher ballot (and it promises it)', () => {
    const c = leaderZero();
    const effects = c.step(0, { type: 'message', from: 1, msg: { type: 'prepare', ballot: b(2, 1), fromSlot: 0 } });
    expect(effects.some((e) => e.type === 'send' && e.to === 1 && e.msg.type === 'promise')).toBe(true);
    expectSteppedDown(c, effects, 1);
  });

  it('seed 002: the same round with a higher leader id is a higher ballot too', () => {
    const c = leaderZero();
    const effects = c.step(0, { type: 'message', from: 1, msg: { type: 'heartbeat', ballot: b(1, 1), decidedUpTo: 0 } });
    expectSteppedDown(c, effects, 1);
  });

  it('a Nack, Heartbeat or Prepare with a ballot not above its own leaves the leader in place', () => {
    // Node 2 leads in (1,2); node 1's ballots of round 1 are lower.
    const c = new Cluster(1);
    c.fire(2, 'election');
    c.deliverAll();
    const node = c.nodes[2]!;
    expect(node.proposer.ballot).toEqual(b(1, 2));
    expect(node.isLeader).toBe(true);
    const inputs: PeerMessage[] = [
      { type: 'nack', ballot: b(1, 2), promised: b(1, 2) },
      { type: 'nack', ballot: b(1, 2), promised: b(1, 1) },
      { type: 'heartbeat', ballot: b(1, 1), decidedUpTo: 0 },
      { type: 'prepare', ballot: b(1, 1), fromSlot: 0 },
    ];
    for (const msg of inputs) {
      const effects = c.step(2, { type: 'message', from: 1, msg });
      expect(node.isLeader, msg.type).toBe(true);
      expect(effects.some((e) => e.type === 'clearTimer' && e.timer === 'heartbeat')).toBe(false);
    }
    // The lower Prepare was refused with a Nack carrying the leader's promise.
    expect(c.inFlight.at(-1)).toEqual({ from: 2, to: 1, msg: { type: 'nack', ballot: b(1, 1), promised: b(1, 2) } });
    // And it still serves clients.
    const cmd = command(put('still', 'leader'));
    c.request(2, cmd);
    c.deliverAll();
    expect(okReplies(c, cmd.clientId)).toHaveLength(1);
  });

  it('a candidate that sees a higher ballot gives up its attempt too', () => {
    const c = new Cluster(1);
    c.fire(0, 'election');
    expect(c.nodes[0]!.proposer.role).toBe('candidate');
    c.inFlight = [];
    const effects = c.step(0, { type: 'message', from: 2, msg: { type: 'heartbeat', ballot: b(4, 2), decidedUpTo: 0 } });
    expect(c.nodes[0]!.proposer.role).toBe('follower');
    expect(effects.some((e) => e.type === 'setTimer' && e.timer === 'election')).toBe(true);
    // Late promises for the abandoned ballot do not make it leader.
    c.step(0, {
      type: 'message',
      from: 1,
      msg: { type: 'promise', ballot: b(1, 0), fromSlot: 0, accepted: [], truncated: false, decidedUpTo: 0 },
    });
    expect(c.nodes[0]!.isLeader).toBe(false);
  });
});

describe('seed 004 "persistent storage": a restarted node', () => {
  it('a node rebuilt from MemoryStorage.load() re-executes its persisted decided log and reaches the same state digest', () => {
    const c = new Cluster(1, { batchCommandsMax: 2 });
    c.electZero();
    const id = nextClient++;
    for (let seq = 1; seq <= 5; seq++) c.request(0, command(put(`k${seq % 2}`, `v${seq}`), id, seq));
    c.request(0, command({ type: 'delete', key: 'k0' }));
    c.deliverAll();
    const digestBefore = c.digest(1);
    const executedBefore = executes(c.effectsOf(1)).map((e) => [e.slot, e.command.clientId, e.command.seq]);
    expect(executedBefore.length).toBe(6);
    const firstUndecided = c.nodes[1]!.learner.firstUndecided;

    // Crash node 1: only its storage survives.
    const old = c.nodes[1]!;
    const restartEffects = c.boot(1);
    expect(c.nodes[1]).not.toBe(old);
    const replayed = executes(restartEffects).map((e) => [e.slot, e.command.clientId, e.command.seq]);
    expect(replayed).toEqual(executedBefore);
    expect(restartEffects.some((e) => e.type === 'setTimer' && e.timer === 'election')).toBe(true);
    // Replay sends nothing and answers no client.
    expect(restartEffects.filter((e) => e.type === 'send' || e.type === 'broadcast' || e.type === 'reply')).toEqual([]);
    expect(c.digest(1)).toBe(digestBefore);
    expect(c.digest(1)).toBe(c.digest(0));
    expect(c.nodes[1]!.learner.firstUndecided).toBe(firstUndecided);
    expect(c.nodes[1]!.acceptor.promised).toEqual(b(1, 0));
    // The session table was rebuilt too: the last command of the client is answered from cache.
    c.request(1, command(put('k1', 'v5'), id, 5));
    expect(c.replies.at(-1)!.msg.status).toBe('ok');
    // And it keeps participating.
    const next = command(put('after', 'restart'));
    c.request(0, next);
    c.deliverAll();
    expect(c.apps[1]!.get('after')).toBe('restart');
    expect(c.digest(1)).toBe(c.digest(0));
  });

  it('a restarted former leader never reuses its ballot: its next Prepare has a higher round', () => {
    const c = new Cluster(1);
    c.electZero();
    // A stale election timer at a sitting leader starts nothing.
    expect(c.fire(0, 'election')).toEqual([]);
    expect(c.storages[0]!.load().round).toBe(1);
    c.isolate(0);
    c.boot(0);
    const effects = c.fire(0, 'election');
    const prep = effects.find((e) => e.type === 'broadcast' && e.msg.type === 'prepare');
    expect(prep?.type === 'broadcast' && prep.msg.type === 'prepare' && prep.msg.ballot.round).toBe(2);
  });

  it('a restarted acceptor keeps its promise: a stale Prepare is refused after the restart', () => {
    const c = new Cluster(1);
    c.electZero();
    c.fire(1, 'election');
    c.deliverAll();
    c.boot(2);
    const effects = c.step(2, { type: 'message', from: 0, msg: { type: 'prepare', ballot: b(2, 0), fromSlot: 0 } });
    expect(effects).toContainEqual({ type: 'send', to: 0, msg: { type: 'nack', ballot: b(2, 0), promised: b(2, 1) } });
  });
});
