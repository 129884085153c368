// Issue 10 item 3, rule by rule: what keeps a member from stranding itself alone in a ballot above
// the one the others work in (a member promising round r may never again take part below r, so
// once alone up there it can only wait for the others). On the hand-driven 4-node cluster (f = 1).
import { describe, expect, it } from 'vitest';
import { UNHEARD_LEADER_STALLS_MAX } from '../../../src/base/limits.ts';
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
function stall(net: Net, id: number, times: number): Effect[] {
  let effects = net.request(id, command(fx, 1, 1, { type: 'put', key: 'x', value: 'v' }));
  for (let i = 0; i < times; i++) effects = net.step(id, { type: 'timeout', timer: 'progress' });
  return effects;
}

const promisesIn = (effects: readonly Effect[]) => sentOfType(fx, effects, 'certified-promise');
const suspectsIn = (effects: readonly Effect[]) => sentOfType(fx, effects, 'suspect');
const promiseEnvelopes = (effects: readonly Effect[]) =>
  effects.flatMap((e) => (e.type === 'broadcast' && innerOf(fx, e.msg)?.type === 'certified-promise' ? [e.msg] : []));

describe('a member whose command stalls suspects its ballot, but leaves it only with f+1 suspecting', () => {
  it('alone it says so (Suspect) and stays: it would strand itself in a round nobody else joins', () => {
    const net = new Net(fx);
    net.deliver(1, 0, heartbeatFrom0());
    const effects = stall(net, 1, 1);
    expect(suspectsIn(effects).map((m) => m.ballot)).toEqual([B1]);
    expect(promisesIn(effects)).toEqual([]);
    expect(net.nodes[1]!.ballot).toEqual(B1);
    // Repeated while it stands, for peers whose links come up later.
    expect(suspectsIn(net.step(1, { type: 'timeout', timer: 'retransmit' }))).toHaveLength(1);
  });

  it('with a second member suspecting the round (f+1 = 2), it leaves for the next one and passes both Suspects on', () => {
    const net = new Net(fx);
    net.deliver(1, 0, heartbeatFrom0());
    stall(net, 1, 1);
    const effects = net.deliver(1, 2, seal(fx, 2, { type: 'suspect', ballot: B1 }));
    expect(promisesIn(effects).map((p) => p.ballot.round)).toEqual([2]);
    const shared = sentOfType(fx, effects, 'evidence-share').flatMap((m) => m.envelopes.map((e) => e.signer));
    expect(shared.sort()).toEqual([1, 2]);
    // And again later: lost, they would leave it alone in round 2.
    const repeated = sentOfType(fx, net.step(1, { type: 'timeout', timer: 'retransmit' }), 'evidence-share').flatMap((m) => m.envelopes.map((e) => e.signer));
    expect(repeated.sort()).toEqual([1, 2]);
    // A member that suspected nothing leaves on the Suspects passed on.
    const passedOn = effects.find((e) => e.type === 'broadcast' && innerOf(fx, e.msg)?.type === 'evidence-share')!;
    net.deliver(3, 1, (passedOn as { msg: SignedEnvelope }).msg);
    expect(net.nodes[3]!.ballot.round).toBe(2);
  });

  it('Suspects of a round that came before the member got there count once it is there (peers repeat them)', () => {
    const net = new Net(fx);
    const suspect2 = (id: number) => seal(fx, id, { type: 'suspect', ballot: ballot(2) });
    net.deliver(3, 1, suspect2(1));
    net.deliver(3, 2, suspect2(2));
    expect(net.nodes[3]!.ballot).toEqual(B1);
    net.deliver(3, 1, promise(fx, 1, ballot(2)));
    net.deliver(3, 2, promise(fx, 2, ballot(2)));
    expect(net.nodes[3]!.ballot.round).toBe(2);
    net.deliver(3, 1, suspect2(1));
    expect(net.nodes[3]!.ballot.round).toBe(3);
  });

  it('f Suspects (one faulty member) move nobody', () => {
    const net = new Net(fx);
    net.deliver(1, 2, seal(fx, 2, { type: 'suspect', ballot: B1 }));
    expect(net.nodes[1]!.ballot).toEqual(B1);
  });

  it(`does not suspect a leader it has not heard from since it started for ${UNHEARD_LEADER_STALLS_MAX} periods (its links may not be up), then does`, () => {
    const net = new Net(fx);
    const quiet = stall(net, 1, UNHEARD_LEADER_STALLS_MAX);
    expect(suspectsIn(quiet)).toEqual([]);
    expect(suspectsIn(net.step(1, { type: 'timeout', timer: 'progress' })).map((m) => m.ballot)).toEqual([B1]);
  });
});

describe('a member back from a restart', () => {
  it('in the middle of a change sends the very promise it had sent, and stays in that round', () => {
    // n2 follows f+1 members to round 2 (led by n1: a member changing to a round it leads leaves it, as a leader does).
    const net = new Net(fx);
    net.deliver(2, 1, promise(fx, 1, ballot(2)));
    const sent = promiseEnvelopes(net.deliver(2, 3, promise(fx, 3, ballot(2))));
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
  it('is the round the latest decision came from; a member sent on alone reports itself outside it', () => {
    const net = new Net(fx);
    net.request(0, command(fx, 1, 1, { type: 'put', key: 'x', value: 'v' }));
    for (const id of [1, 2, 3]) net.request(id, command(fx, 1, 1, { type: 'put', key: 'x', value: 'v' }));
    net.deliverAll();
    expect(net.nodes[1]!.working).toEqual({ round: 1, outside: false });
    // n1 (only) is sent to round 3 by f+1 members; the others go on in round 1.
    net.deliver(1, 2, promise(fx, 2, ballot(3)));
    net.deliver(1, 3, promise(fx, 3, ballot(3)));
    expect(net.nodes[1]!.ballot.round).toBe(3);
    expect(net.nodes[1]!.working).toEqual({ round: 1, outside: true });
    expect(net.nodes[2]!.working).toEqual({ round: 1, outside: false });
  });
});
