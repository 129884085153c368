// Cheap Paxos (src/core/cheap.ts, auxiliary.ts) on the hand-driven network: n = 3, f = 1, main
// members n0 and n1, auxiliary n2. Who is asked what, and when the auxiliary is engaged.
import { describe, expect, it } from 'vitest';
import { KvStore, encodeKvOp } from '../../src/app/kv.ts';
import type { Command, NodeId } from '../../src/base/types.ts';
import { AuxiliaryNode } from '../../src/core/auxiliary.ts';
import { Engagement, isAuxiliary, mainsOf } from '../../src/core/cheap.ts';
import { defaultConfig } from '../../src/core/config.ts';
import type { Effect } from '../../src/core/effects.ts';
import { PaxosNode } from '../../src/core/node.ts';
import type { ProtocolNode } from '../../src/core/protocol.ts';
import { SeededRng } from '../../src/core/rng.ts';
import { ManualNetwork } from '../../src/sim/manual-network.ts';

const config = defaultConfig(1, { auxiliaries: 1 });
const AUX = 2;

function cluster(): ManualNetwork<ProtocolNode> {
  return new ManualNetwork<ProtocolNode>(3, (id, state) =>
    isAuxiliary(config, id) ? new AuxiliaryNode({ id, config, state }) : new PaxosNode({ id, config, state, rng: new SeededRng(7, id), app: new KvStore() }),
  );
}

let seq = 0;
function command(): Command {
  seq += 1;
  return { clientId: 1, session: 1, seq, op: encodeKvOp({ type: 'put', key: 'k', value: `v${seq}` }), signature: new Uint8Array(0) };
}

/** Messages of `type` node `from` addressed to `to` in these effects (a broadcast reaches everyone). */
function sentTo(effects: readonly Effect[], to: NodeId, type: string): number {
  return effects.filter((e) => (e.type === 'broadcast' || (e.type === 'send' && e.to === to)) && e.msg.type === type).length;
}

function messagesTo(c: ManualNetwork<ProtocolNode>, to: NodeId): number {
  return c.log.filter((l) => l.node !== to).reduce((sum, l) => sum + l.effects.filter((e) => e.type === 'broadcast' || (e.type === 'send' && e.to === to)).length, 0);
}

function decidedBy(c: ManualNetwork<ProtocolNode>, slot: number): NodeId[] {
  return c.decisions.filter((d) => d.slot === slot).map((d) => d.node).sort((a, b) => a - b);
}

describe('Cheap Paxos roles and configuration', () => {
  it('the last `auxiliaries` members are auxiliary; they must leave the main members a quorum', () => {
    expect(mainsOf(config)).toBe(2);
    expect([0, 1, 2].map((id) => isAuxiliary(config, id))).toEqual([false, false, true]);
    expect(mainsOf(defaultConfig(2, { auxiliaries: 2 }))).toBe(3);
    expect(() => defaultConfig(1, { auxiliaries: 2 })).toThrow(/leaves 1 main acceptors, fewer than a quorum/);
    expect(() => defaultConfig(1, { auxiliaries: -1 })).toThrow(/non-negative integer/);
  });

  it('Engagement: a silent main acceptor is suspected until it answers; a retried phase 1 suspects every other main one', () => {
    const e = new Engagement(0, 3);
    expect(e.engaged).toBe(false);
    e.suspectSilent(new Set([0, 2]));
    expect(e.engaged).toBe(true);
    e.heard(2);
    expect(e.engaged).toBe(true);
    e.heard(1);
    expect(e.engaged).toBe(false);
    e.beginPhase1(true);
    e.heard(1);
    expect(e.engaged).toBe(true);
    e.heard(2);
    expect(e.engaged).toBe(false);
  });
});

describe('Cheap Paxos message flow (seed 003, "Message flow: Cheap Multi-Paxos")', () => {
  it('with every main member up, the auxiliary hears nothing: election, Accepts, Accepted and heartbeats stay among the main members', () => {
    const c = cluster();
    c.fire(0, 'election');
    c.deliverAll();
    expect(c.nodes[0]!.isLeader).toBe(true);
    for (let i = 0; i < 3; i++) {
      c.request(0, command());
      c.deliverAll();
      c.fire(0, 'heartbeat');
      c.deliverAll();
    }
    expect(decidedBy(c, 0)).toEqual([0, 1]);
    expect(c.decisions.filter((d) => d.node === AUX)).toEqual([]);
    expect(messagesTo(c, AUX)).toBe(0);
    expect(c.nodes[AUX]!.stats.received.size).toBe(0);
  });

  it('a silent main acceptor gets the auxiliary engaged at the next retransmission, and disengaged once it answers again', () => {
    const c = cluster();
    c.fire(0, 'election');
    c.deliverAll();
    c.isolate(1);
    c.request(0, command());
    c.deliverAll();
    expect(decidedBy(c, 0)).toEqual([]); // n0's own vote is not a quorum of 3
    c.fire(0, 'heartbeat');
    c.deliverAll();
    expect(messagesTo(c, AUX)).toBe(0);
    const resent = c.fire(0, 'heartbeat'); // a full interval without n1's vote: suspect it, ask n2
    expect(sentTo(resent, AUX, 'accept')).toBe(1);
    c.deliverAll();
    expect(decidedBy(c, 0)).toEqual([0]);
    // While n1 is suspected, new slots go to n2 at once.
    expect(sentTo(c.request(0, command()), AUX, 'accept')).toBe(1);
    c.deliverAll();
    expect(decidedBy(c, 1)).toEqual([0]);
    c.heal();
    c.request(0, command());
    c.deliverAll(); // n1 accepts slot 2 (it catches up on 0 and 1): its Accepted clears the suspicion
    expect(decidedBy(c, 2)).toContain(1);
    expect(sentTo(c.request(0, command()), AUX, 'accept')).toBe(0);
    c.deliverAll();
    expect(decidedBy(c, 3)).toEqual([0, 1]);
  });

  it('a candidate asks the main acceptors first and, when that fails, every acceptor', () => {
    const c = cluster();
    c.isolate(1);
    expect(sentTo(c.fire(0, 'election'), AUX, 'prepare')).toBe(0);
    c.deliverAll();
    expect(c.nodes[0]!.isLeader).toBe(false);
    expect(sentTo(c.fire(0, 'election'), AUX, 'prepare')).toBe(1);
    c.deliverAll();
    expect(c.nodes[0]!.isLeader).toBe(true);
    // Elected with the auxiliary's promise: n1 is still suspected, so Accepts go to n2 too.
    expect(sentTo(c.request(0, command()), AUX, 'accept')).toBe(1);
    c.deliverAll();
    expect(decidedBy(c, 0)).toEqual([0]);
  });

  it('the auxiliary persists its promise and pvalues before answering, keeps them across a restart, and takes no other part', () => {
    const c = cluster();
    c.isolate(1);
    c.fire(0, 'election');
    c.fire(0, 'election');
    c.deliverAll();
    c.request(0, command());
    c.deliverAll();
    const aux = c.effectsOf(AUX);
    const firstSend = aux.findIndex((e) => e.type === 'send');
    expect(aux.slice(0, firstSend).map((e) => e.type)).toEqual(['persist']);
    expect(aux.filter((e) => e.type === 'setTimer' || e.type === 'decide' || e.type === 'execute' || e.type === 'broadcast')).toEqual([]);
    // Its Accepted go to the learners, the main members, only.
    expect(aux.filter((e) => e.type === 'send' && e.msg.type === 'accepted').map((e) => (e as { to: NodeId }).to)).toEqual([0, 1]);
    const before = c.nodes[AUX] as AuxiliaryNode;
    c.boot(AUX);
    const after = c.nodes[AUX] as AuxiliaryNode;
    expect(after.ballot).toEqual(before.ballot);
    expect(after.acceptor.acceptedAt(0)).toEqual(before.acceptor.acceptedAt(0));
    c.deliver(AUX, 0, { type: 'heartbeat', ballot: after.ballot, decidedUpTo: 1 });
    expect(after.stats.dropped.get('heartbeat:not-for-auxiliary')).toBe(1);
  });
});
