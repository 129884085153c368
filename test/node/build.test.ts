import { describe, expect, it } from 'vitest';
import { toHex } from '../../crypto/digest.ts';
import { CodecError, decodeMessage, decodeWireMessage, encodeMessage, frameType } from '../../src/messages/codec.ts';
import type { StatusReply } from '../../src/messages/types.ts';
import { buildDeployment, parsePeerName, peersOf, validateDeployment } from '../../src/node/build.ts';
import { deploymentOf, key } from './cluster.ts';

describe('deployment', () => {
  it('accepts 2f+1 members in crash mode and 3f+1 in the Byzantine modes', () => {
    expect(buildDeployment(deploymentOf('crash', 1)).n).toBe(3);
    expect(buildDeployment(deploymentOf('byzantine', 1)).n).toBe(4);
    expect(buildDeployment(deploymentOf('commit-reveal', 2)).n).toBe(7);
  });

  it('refuses a wrong member count, ids out of order, and reused keys', () => {
    const crash = deploymentOf('crash', 1);
    expect(() => validateDeployment({ ...crash, members: crash.members.slice(1) })).toThrow('deployment: f=1 needs n=3 members in crash mode, got n=3 and 2 members');
    expect(() => validateDeployment({ ...crash, members: [...crash.members].reverse() })).toThrow(/ids must be 0..2 in order/);
    expect(() => validateDeployment({ ...crash, clients: [{ id: 9, publicKey: key('member', 0).publicKey }] })).toThrow(/reuses/);
    const byz = deploymentOf('byzantine', 1);
    expect(() => validateDeployment({ ...byz, members: byz.members.slice(1), n: 3 })).toThrow(/needs n=4 members/);
    expect(() => validateDeployment({ ...byz, clients: [{ id: 1, publicKey: new Uint8Array(32) }] })).toThrow(/client 1 public key rejected/);
  });

  it('a reconfigurable crash-mode deployment: its universe runs, the first members are its first configuration', () => {
    const five = deploymentOf('crash', 2);
    const spares = { ...five, f: 1, firstMembers: [0, 1, 2] };
    const build = buildDeployment(spares);
    expect(build.n).toBe(5);
    const reconfigurationOf = (b: ReturnType<typeof buildDeployment>) => (b.mode === 'crash' ? b.config.reconfiguration : 'not crash mode');
    expect(reconfigurationOf(build)).toEqual({ members: [0, 1, 2], universe: 5 });
    expect(reconfigurationOf(buildDeployment(deploymentOf('crash', 1)))).toBeNull();
    expect(() => validateDeployment({ ...spares, firstMembers: [0, 1] })).toThrow('deployment: f=1 needs 3 first members in crash mode, got 2, and n=5 with 5 members');
    expect(() => validateDeployment({ ...spares, firstMembers: [0, 2, 1] })).toThrow(/ascending order/);
    expect(() => validateDeployment({ ...spares, firstMembers: [0, 1, 5] })).toThrow(/ids of 0..4/);
    const byz = deploymentOf('byzantine', 1);
    expect(() => validateDeployment({ ...byz, firstMembers: [0, 1, 2, 3] })).toThrow('deployment: byzantine mode is not reconfigurable yet (firstMembers: crash mode only)');
  });

  it('names peers n<id> and c<id>, and nothing else', () => {
    expect(parsePeerName('n0')).toEqual({ kind: 'member', id: 0 });
    expect(parsePeerName('c12')).toEqual({ kind: 'client', id: 12 });
    for (const bad of ['n', 'n01', 'x1', 'n-1', 'c1 ', 'c99999999999']) expect(parsePeerName(bad)).toBeNull();
  });

  it('a member talks to the other members and every client; a client to the members', () => {
    const d = deploymentOf('byzantine', 1);
    expect([...peersOf(d, 'n1').keys()]).toEqual(['n0', 'n2', 'n3', 'c1', 'c2', 'c3']);
    expect([...peersOf(d, 'c2').keys()]).toEqual(['n0', 'n1', 'n2', 'n3']);
  });
});

describe('status messages on the wire', () => {
  const reply: StatusReply = {
    type: 'status-reply',
    nonce: 7,
    node: 2,
    mode: 'commit-reveal',
    ballot: { round: 3, leader: 2 },
    isLeader: true,
    decidedUpTo: 300,
    uptimeMs: 1234,
    counts: { decisions: 1, viewChanges: 2, messagesIn: 3, messagesOut: 4, rejected: 5, evidence: 6, suspicions: 7 },
    workingRound: 4,
    outsideWorkingBallot: true,
    configurations: [
      { from: 300, members: [0, 1, 2] },
      { from: 305, members: [0, 1, 2, 3] },
    ],
  };

  it('round-trip with the next free tags, 24 and 25', () => {
    const request = encodeMessage({ type: 'status-request', nonce: 0xffff_ffff });
    expect(toHex(request)).toBe('0218ffffffff0f');
    expect(decodeWireMessage(request)).toEqual({ type: 'status-request', nonce: 0xffff_ffff });
    const bytes = encodeMessage(reply);
    // version, tag, nonce, node, mode (index 2), round, leader+1, isLeader, decidedUpTo, uptimeMs, counts, workingRound, outside,
    // configurations (count, then each: from, member count, members)
    expect(toHex(bytes)).toBe(['02', '19', '07', '02', '02', '03', '03', '01', 'ac02', 'd209', '01020304050607', '04', '01', '02', 'ac0203000102', 'b1020400010203'].join(''));
    expect(decodeWireMessage(bytes)).toStrictEqual(reply);
    expect(frameType(bytes)).toBe('status-reply');
  });

  it('are not protocol messages: decodeMessage refuses them', () => {
    expect(() => decodeMessage(encodeMessage(reply))).toThrow(CodecError);
    expect(() => decodeMessage(encodeMessage({ type: 'status-request', nonce: 1 }))).toThrow('frame: unknown message tag 24 (status-request is not a protocol message)');
  });

  it('bound the nonce', () => {
    expect(() => encodeMessage({ type: 'status-request', nonce: 2 ** 32 })).toThrow(CodecError);
  });
});
