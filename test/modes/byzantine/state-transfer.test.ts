// State transfer in parts (src/core/state-transfer.ts and the node's handlers), on a
// hand-driven 4-node cluster: member 3 is cut off while the others pass checkpoints, then fetches
// the certified state: the manifest first, then the parts it lacks, each checked on arrival.
import { describe, expect, it } from 'vitest';
import type { NodeId } from '../../../src/base/types.ts';
import type { PeerMessage, StateManifest, StateParts, StateRequest } from '../../../src/messages/types.ts';
import { toHex } from '../../../crypto/digest.ts';
import { nativeBackend } from '../../../crypto/ed25519.ts';
import { STATE_REPLIES_PER_PEER_PER_PERIOD } from '../../../src/core/state-transfer.ts';
import { command, dropped, innerOf, makeFixture, Net, seal, type Fixture } from './fixtures.ts';

const LAGGARD: NodeId = 3;
const fx: Fixture = makeFixture(1, nativeBackend, { checkpointInterval: 2, watermarkSlots: 4, windowSlots: 1 });

type Tamper = (from: NodeId, to: NodeId, msg: PeerMessage) => PeerMessage;

/** Delivers FIFO until quiet, losing what does not run between two of `among`; `tamper` may replace a message. */
function deliverAmong(net: Net, among: readonly NodeId[], tamper: Tamper = (_f, _t, m) => m): void {
  for (let i = 0; net.inFlight.length > 0; i++) {
    if (i > 20_000) throw new Error('network did not quiesce');
    const m = net.inFlight.shift()!;
    if (among.includes(m.from) && among.includes(m.to)) net.deliver(m.to, m.from, tamper(m.from, m.to, m.msg));
  }
}

/** Client 1's puts k<seq> = v<seq> for seq in [from, to], each delivered among `among` before the next. */
function puts(net: Net, from: number, to: number, among: readonly NodeId[]): void {
  for (let seq = from; seq <= to; seq++) {
    const cmd = command(fx, 1, seq, { type: 'put', key: `k${seq}`, value: `v${seq}` });
    for (const id of among) net.request(id, cmd);
    deliverAmong(net, among);
  }
}

/** What member `from` sent member `to` of a type, as it was signed. */
function sent<T extends 'state-request' | 'state-manifest' | 'state-parts'>(net: Net, from: NodeId, to: NodeId, type: T) {
  return net.log
    .filter((l) => l.node === from)
    .flatMap((l) => l.effects)
    .flatMap((e) => (e.type === 'send' && e.to === to ? [innerOf(fx, e.msg)] : []))
    .filter((m): m is Extract<typeof m & object, { type: T }> => m !== null && m.type === type);
}

/** The leader's heartbeat tells the laggard how far the cluster is: it asks to catch up. */
function reconnect(net: Net, tamper?: Tamper): void {
  net.step(0, { type: 'timeout', timer: 'retransmit' });
  deliverAmong(net, [0, 1, 2, LAGGARD], tamper);
}

const digestOf = (net: Net, id: NodeId) => toHex(net.nodes[id]!.replica.snapshot().digest);

/** A cluster whose members 0-2 passed the checkpoints at slots 2, 4, 6 while member 3 heard nothing. */
function laggingCluster(): Net {
  const net = new Net(fx);
  puts(net, 1, 6, [0, 1, 2]);
  expect(net.nodes[0]!.footprint().decided).toBeLessThan(6); // the log was truncated at a stable checkpoint
  expect(net.nodes[LAGGARD]!.decidedUpTo).toBe(0);
  return net;
}

describe('state transfer: manifest, then the missing parts, each checked against the certified digests', () => {
  it('a member that missed the checkpoints fetches the state and ends with the same state as the others', () => {
    const net = laggingCluster();
    reconnect(net);
    expect(sent(net, 0, LAGGARD, 'state-manifest')).toHaveLength(1);
    expect(sent(net, LAGGARD, 0, 'state-request').length).toBeGreaterThan(0);
    expect(net.nodes[LAGGARD]!.replica.executedUpTo).toBeGreaterThanOrEqual(6);
    expect(net.apps[LAGGARD]!.get('k3')).toBe('v3');
    expect(net.nodes[LAGGARD]!.decidedUpTo).toBe(net.nodes[0]!.decidedUpTo);
    expect(digestOf(net, LAGGARD)).toBe(digestOf(net, 0));
    // It now takes part: with member 2 gone, members 0, 1 and 3 still decide.
    puts(net, 7, 7, [0, 1, LAGGARD]);
    expect(net.apps[LAGGARD]!.get('k7')).toBe('v7');
    expect(net.apps[0]!.get('k7')).toBe('v7');
  });

  it('a part that does not match the manifest is dropped and counted, and the next peer is asked', () => {
    const net = laggingCluster();
    let corrupted = 0;
    reconnect(net, (from, to, msg) => {
      const inner = innerOf(fx, msg);
      if (from !== 0 || to !== LAGGARD || inner?.type !== 'state-parts') return msg;
      // Member 0 turns Byzantine: one part's bytes changed, signed as its own.
      corrupted++;
      const parts = (inner as StateParts).parts.map((p, i) => (i === 0 ? { ...p, bytes: Uint8Array.of(...p.bytes, 0) } : p));
      return seal(fx, 0, { ...(inner as StateParts), parts });
    });
    expect(corrupted).toBeGreaterThan(0);
    expect(dropped(net.nodes[LAGGARD]!, 'state-parts:bad-part')).toBe(corrupted);
    // Asked member 1 next, and got the state from it.
    expect(sent(net, LAGGARD, 1, 'state-request').length).toBeGreaterThan(0);
    expect(digestOf(net, LAGGARD)).toBe(digestOf(net, 1));
    expect(net.apps[LAGGARD]!.get('k6')).toBe('v6');
  });

  it('a manifest whose digests do not hash to the certified state digest starts no transfer', () => {
    const net = laggingCluster();
    reconnect(net, (from, to, msg) => {
      const inner = innerOf(fx, msg);
      if (inner?.type !== 'state-manifest') return msg;
      const digests = (inner as StateManifest).digests.map((d, i) => (i === 0 ? new Uint8Array(32).fill(7) : d));
      return seal(fx, from, { ...(inner as StateManifest), digests });
    });
    expect(dropped(net.nodes[LAGGARD]!, 'state-manifest:bad-certificate')).toBeGreaterThan(0);
    expect(sent(net, LAGGARD, 0, 'state-request')).toHaveLength(0);
    expect(net.nodes[LAGGARD]!.replica.executedUpTo).toBe(0);
  });

  it('a member that fell behind again fetches only the parts that changed', () => {
    const net = laggingCluster();
    reconnect(net);
    puts(net, 7, 8, [0, 1, 2]);
    const before = net.log.length;
    reconnect(net);
    const requests = net.log
      .slice(before)
      .filter((l) => l.node === LAGGARD)
      .flatMap((l) => l.effects)
      .flatMap((e) => (e.type === 'send' ? [innerOf(fx, e.msg)] : []))
      .filter((m): m is StateRequest => m?.type === 'state-request');
    expect(requests.length).toBeGreaterThan(0);
    // Client 1's session part and the parts of k7 and k8, out of thousands.
    expect(requests[0]!.parts.length).toBeLessThanOrEqual(3);
    expect(digestOf(net, LAGGARD)).toBe(digestOf(net, 0));
    expect(net.apps[LAGGARD]!.get('k8')).toBe('v8');
  });

  it('a member answers at most STATE_REPLIES_PER_PEER_PER_PERIOD state requests (and catch-up requests it answers with a manifest) per peer each retransmit period', () => {
    const net = laggingCluster();
    // The stable checkpoint of members 0-2.
    const slot = 6;
    const request = seal(fx, LAGGARD, { type: 'state-request', slot, parts: [0, 1, 2] });
    const replies = () => sent(net, 0, LAGGARD, 'state-parts').length;
    for (let i = 0; i < 3 * STATE_REPLIES_PER_PEER_PER_PERIOD; i++) net.deliver(0, LAGGARD, request);
    expect(replies()).toBe(STATE_REPLIES_PER_PEER_PER_PERIOD);
    expect(dropped(net.nodes[0]!, 'state-request:rate-limited')).toBe(2 * STATE_REPLIES_PER_PEER_PER_PERIOD);
    // A catch-up request from below the checkpoint would get a manifest: also out of this period's share.
    net.deliver(0, LAGGARD, seal(fx, LAGGARD, { type: 'catchup-request', fromSlot: 0 }));
    expect(sent(net, 0, LAGGARD, 'state-manifest')).toHaveLength(0);
    net.step(0, { type: 'timeout', timer: 'retransmit' });
    net.deliver(0, LAGGARD, request);
    expect(replies()).toBe(STATE_REPLIES_PER_PEER_PER_PERIOD + 1);
    net.deliver(0, LAGGARD, seal(fx, LAGGARD, { type: 'catchup-request', fromSlot: 0 }));
    expect(sent(net, 0, LAGGARD, 'state-manifest')).toHaveLength(1);
  });
});
