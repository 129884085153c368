// Issue 10 item 3, rule by rule: what keeps a member from stranding itself alone in a ballot above
// the one the others work in (a member promising round r may never again take part below r, so
// once alone up there it can only wait for the others). On the hand-driven 4-node cluster (f = 1).
import { describe, expect, it } from 'vitest';
import { UNHEARD_LEADER_STALLS_MAX } from '../../../src/core/limits.ts';
import { encodeMessage } from '../../../src/messages/codec.ts';
import type { SignedEnvelope } from '../../../src/messages/types.ts';
import type { Effect } from '../../../src/core/effects.ts';
import { ballot, command, innerOf, makeFixture, Net, promise, seal, sentOfType } from './fixtures.ts';

const fx = makeFixture(1);
const B1 = ballot(1);

function heartbeatFrom0(): SignedEnvelope {
  return seal(fx, 0, { type: 'heartbeat', ballot: B1, decidedUpTo: 0 });
}

/** Node `id` holds a client command that never executes, and its progress period runs out `times` times; the last step's effects. */
function stall(net: Net, id: number, times: number, clientId = 1): Effect[] {
  let effects = net.request(id, command(fx, clientId, 1, { type: 'put', key: 'x', value: 'v' }));
  for (let i = 0; i < times; i++) effects = net.step(id, { type: 'timeout', timer: 'progress' });
  return effects;
}

const promisesIn = (effects: readonly Effect[]) => sentOfType(fx, effects, 'certified-promise');
const promiseEnvelopes = (effects: readonly Effect[]) =>
  effects.flatMap((e) => (e.type === 'broadcast' && innerOf(fx, e.msg)?.type === 'certified-promise' ? [e.msg] : []));

describe('a member does not suspect a leader it has not heard from since it started', () => {
  it(`lets ${UNHEARD_LEADER_STALLS_MAX} progress periods stall first (its links may not be up), then suspects`, () => {
    const net = new Net(fx);
    stall(net, 1, UNHEARD_LEADER_STALLS_MAX);
    expect(net.nodes[1]!.ballot).toEqual(B1);
    expect(net.nodes[1]!.stats.viewChanges).toBe(0);
    // The leader may really be gone: the next stalled period suspects it.
    const effects = net.step(1, { type: 'timeout', timer: 'progress' });
    expect(promisesIn(effects).map((p) => p.ballot.round)).toEqual([2]);
  });

  it('once it has heard from the leader, the first stalled period suspects it', () => {
    const net = new Net(fx);
    net.deliver(1, 0, heartbeatFrom0());
    stall(net, 1, 1);
    expect(net.nodes[1]!.ballot.round).toBe(2);
  });
});

describe('a member back from a restart', () => {
  it('in the middle of a change sends the very promise it had sent, and stays in that round', () => {
    // n2, changing to round 2 (led by n1: a member changing to a round it leads leaves it, as a leader does).
    const net = new Net(fx);
    net.deliver(2, 0, heartbeatFrom0());
    const sent = promiseEnvelopes(stall(net, 2, 1));
    expect(sent).toHaveLength(1);
    const again = promiseEnvelopes(net.boot(2));
    expect(net.nodes[2]!.ballot.round).toBe(2);
    // Byte for byte: peers that hold the first one see no second promise for round 2.
    expect(again.map((m) => encodeMessage(m))).toEqual(sent.map((m) => encodeMessage(m)));
  });

  it('as leader leaves its round for the next one, but arms no view-change timer alone', () => {
    const net = new Net(fx);
    net.request(0, command(fx, 1, 1, { type: 'put', key: 'x', value: 'v' }));
    expect(net.storages[0]!.load().byzantine.verified.size).toBe(1);
    const effects = net.boot(0);
    expect(promisesIn(effects).map((p) => p.ballot.round)).toEqual([2]);
    expect(effects.some((e) => e.type === 'setTimer' && e.timer === 'view-change')).toBe(false);
  });
});

describe("members follow their own leader's promise for a higher round, to the next round", () => {
  it('directly: the leader of round 1 promising round 3 moves a follower to round 2', () => {
    const net = new Net(fx);
    net.deliver(1, 0, promise(fx, 0, ballot(3)));
    expect(net.nodes[1]!.ballot.round).toBe(2);
  });

  it('passed on by another member, so a leader cannot send away only some of them', () => {
    const net = new Net(fx);
    const share = seal(fx, 3, { type: 'evidence-share', envelopes: [promise(fx, 0, ballot(2))] });
    net.deliver(2, 3, share);
    expect(net.nodes[2]!.ballot.round).toBe(2);
  });

  it('but a single other member ahead moves nobody (f+1 are needed)', () => {
    const net = new Net(fx);
    net.deliver(1, 2, promise(fx, 2, ballot(3)));
    net.deliver(1, 3, seal(fx, 3, { type: 'evidence-share', envelopes: [promise(fx, 2, ballot(3))] }));
    expect(net.nodes[1]!.ballot).toEqual(B1);
  });
});

describe('the working ballot', () => {
  it('is the round the latest decision came from; a member changing alone reports itself outside it', () => {
    const net = new Net(fx);
    net.request(0, command(fx, 1, 1, { type: 'put', key: 'x', value: 'v' }));
    for (const id of [1, 2, 3]) net.request(id, command(fx, 1, 1, { type: 'put', key: 'x', value: 'v' }));
    net.deliverAll();
    expect(net.nodes[1]!.working).toEqual({ round: 1, outside: false });
    // Cut off, n1 suspects the leader alone; the others go on in round 1.
    stall(net, 1, 1, 2);
    expect(net.nodes[1]!.ballot.round).toBe(2);
    expect(net.nodes[1]!.working).toEqual({ round: 1, outside: true });
    expect(net.nodes[2]!.working).toEqual({ round: 1, outside: false });
  });
});
