// The client session (src/core/client.ts): a first attempt goes to the presumed leader alone; a
// Byzantine-mode client resends to every replica and backs off, a crash-mode one keeps looking
// for the leader at a steady pace; a new command starts afresh; leader hints are followed when
// they can be trusted.
import { describe, expect, it } from 'vitest';
import { Client, type ClientEffect } from '../../src/core/client.ts';
import { CLIENT_RETRY_DOUBLINGS_MAX } from '../../src/base/limits.ts';
import { SeededRng } from '../../src/core/rng.ts';
import { designatedReplier } from '../../src/modes/byzantine/repliers.ts';

const RETRY_MS = 300;
const delays = (effects: ClientEffect[]): number[] => effects.flatMap((e) => (e.type === 'setTimer' ? [e.delayMs] : []));
const sends = (effects: ClientEffect[]): number => effects.filter((e) => e.type === 'send').length;

const targets = (effects: ClientEffect[]): number[] => effects.flatMap((e) => (e.type === 'send' ? [e.to] : []));

function client(byzantine: boolean): Client {
  const options = byzantine ? { replyQuorum: 2, resendToAll: true, sign: () => new Uint8Array(64) } : { replyQuorum: 1, resendToAll: false, sign: null };
  return new Client(1, 7, 4, new SeededRng(1, 0), RETRY_MS, options);
}

const reply = (seq: number, status: 'ok' | 'redirect', leaderHint: number) =>
  ({ type: 'reply', clientId: 1, session: 7, seq, status, result: new Uint8Array([9]), leaderHint }) as const;

describe('client resends', () => {
  it(`a Byzantine-mode client asks one replica first, then doubles its wait before each resend, ${CLIENT_RETRY_DOUBLINGS_MAX} times at most, to every replica`, () => {
    const c = client(true);
    const first = c.submit(new Uint8Array([1]));
    expect(sends(first)).toBe(1);
    const waits = [delays(first)[0]];
    for (let i = 0; i < 5; i++) {
      const resend = c.onTimeout();
      expect(sends(resend)).toBe(4);
      waits.push(delays(resend)[0]);
    }
    expect(waits).toEqual([300, 600, 1200, 2400, 2400, 2400]);
  });

  it('the next command starts at the base wait again', () => {
    const c = client(true);
    c.submit(new Uint8Array([1]));
    c.onTimeout();
    c.onTimeout();
    for (const from of [0, 1]) c.onReply(from, reply(1, 'ok', 0));
    const next = c.submit(new Uint8Array([2]));
    expect(delays(next)).toEqual([RETRY_MS]);
    expect(sends(next)).toBe(1);
  });

  it('a crash-mode client resends at a steady pace, one replica at a time', () => {
    const c = client(false);
    expect(delays(c.submit(new Uint8Array([1])))).toEqual([RETRY_MS]);
    for (let i = 0; i < 4; i++) {
      const resend = c.onTimeout();
      expect(sends(resend)).toBe(1);
      expect(delays(resend)).toEqual([RETRY_MS]);
    }
  });
});

describe('client leader hints', () => {
  for (const byzantine of [true, false]) {
    it(`a redirect before any resend sends the command to the named leader (${byzantine ? 'byzantine' : 'crash'})`, () => {
      const c = client(byzantine);
      const [asked] = targets(c.submit(new Uint8Array([1])));
      const leader = (asked! + 1) % 4;
      expect(targets(c.onReply(asked!, reply(1, 'redirect', leader)))).toEqual([leader]);
    });
  }

  it('a Byzantine-mode client follows one redirect per command: two liars cannot bounce it between them', () => {
    const c = client(true);
    const [asked] = targets(c.submit(new Uint8Array([1])));
    const other = (asked! + 1) % 4;
    expect(targets(c.onReply(asked!, reply(1, 'redirect', other)))).toEqual([other]);
    expect(c.onReply(other, reply(1, 'redirect', asked!))).toEqual([]);
    // Its timer still fires, and the resend reaches every replica.
    expect(targets(c.onTimeout())).toEqual([0, 1, 2, 3]);
    // The next command may be redirected once again.
    for (const from of [1, 2]) c.onReply(from, reply(1, 'ok', other));
    const [next] = targets(c.submit(new Uint8Array([2])));
    expect(targets(c.onReply(next!, reply(2, 'redirect', (next! + 1) % 4)))).toEqual([(next! + 1) % 4]);
  });

  it('a Byzantine-mode client ignores redirects once it has asked every replica', () => {
    const c = client(true);
    const [asked] = targets(c.submit(new Uint8Array([1])));
    c.onTimeout();
    expect(c.onReply(asked!, reply(1, 'redirect', (asked! + 1) % 4))).toEqual([]);
  });

  it('the next command goes to the leader f+1 replies agree on, not to one a single reply names', () => {
    const c = client(true);
    c.submit(new Uint8Array([1]));
    c.onTimeout();
    // A liar (n3) names n3; n1 and n2 name n2: the result completes with n2 as the next target.
    c.onReply(3, { ...reply(1, 'ok', 3), result: new Uint8Array([6]) });
    c.onReply(1, reply(1, 'ok', 2));
    c.onReply(2, reply(1, 'ok', 2));
    expect(targets(c.submit(new Uint8Array([2])))).toEqual([2]);
  });

  it('without f+1 agreeing hints the target stays where it was', () => {
    const c = client(true);
    const [asked] = targets(c.submit(new Uint8Array([1])));
    c.onReply(1, reply(1, 'ok', 1));
    c.onReply(2, reply(1, 'ok', 2));
    expect(targets(c.submit(new Uint8Array([2])))).toEqual([asked]);
  });
});

describe('silent designated repliers', () => {
  // n = 4, f = 1: the repliers of the real build (repliers.ts), client 1.
  const designated = (replica: number, leader: number) => designatedReplier(replica, 1, leader, 4, 1);
  const byzantine = () => new Client(1, 7, 4, new SeededRng(1, 0), RETRY_MS, { replyQuorum: 2, resendToAll: true, sign: () => new Uint8Array(64), designated });
  const repliersOf = (leader: number) => [0, 1, 2, 3].filter((r) => designated(r, leader));

  /** A command answered by `answering`, the leader hint naming `leader`; the client ends on `leader`. */
  function settle(c: Client, seq: number, leader: number, answering: readonly number[]): void {
    c.submit(new Uint8Array([seq]));
    for (const from of answering) c.onReply(from, reply(seq, 'ok', leader));
  }

  it('one that stays silent while another answered is replaced: the next first attempts also ask a follower in its place', () => {
    const c = byzantine();
    // The first command's replies name leader 0: the client targets it from then on.
    settle(c, 1, 0, [1, 2, 3]);
    // Command 2: one designated replier answers, the other is down; the retry timer fires.
    const [up, down] = repliersOf(0) as [number, number];
    expect(targets(c.submit(new Uint8Array([2])))).toEqual([0]);
    c.onReply(up, reply(2, 'ok', 0));
    c.onTimeout();
    for (const from of [0, 1, 2, 3].filter((r) => r !== down)) c.onReply(from, reply(2, 'ok', 0));
    // Command 3 goes to the leader and to the one follower that is neither leader nor designated.
    const standIn = [1, 2, 3].find((r) => !designated(r, 0))!;
    expect(targets(c.submit(new Uint8Array([3]))).sort()).toEqual([0, standIn].sort());
    // Answered by `up` and the stand-in, it completes without a timeout; the next one asks the same.
    c.onReply(up, reply(3, 'ok', 0));
    expect(c.onReply(standIn, reply(3, 'ok', 0))).toContainEqual({ type: 'complete', seq: 3, result: new Uint8Array([9]) });
    expect(targets(c.submit(new Uint8Array([4]))).sort()).toEqual([0, standIn].sort());
    // Once the silent one answers again with the accepted result, first attempts go to the leader alone.
    for (const from of [up, down]) c.onReply(from, reply(4, 'ok', 0));
    expect(targets(c.submit(new Uint8Array([5])))).toEqual([0]);
  });

  it('a timeout with no answer at all (a slow cluster, or a faulty leader) marks nobody', () => {
    const c = byzantine();
    settle(c, 1, 0, [1, 2, 3]);
    c.submit(new Uint8Array([2]));
    c.onTimeout();
    for (const from of [1, 2, 3]) c.onReply(from, reply(2, 'ok', 0));
    expect(targets(c.submit(new Uint8Array([3])))).toEqual([0]);
  });
});

describe('refused commands', () => {
  const refusal = (seq: number) => ({ type: 'reply', clientId: 1, session: 7, seq, status: 'refused', result: new TextEncoder().encode('static'), leaderHint: -1 }) as const;

  it('a crash-mode client reports the first refusal, with its reason, and the next command reuses the seq', () => {
    const c = client(false);
    const [to] = targets(c.submit(new Uint8Array([1])));
    expect(c.onReply(to!, refusal(1))).toEqual([{ type: 'refused', seq: 1, reason: 'static' }]);
    expect(c.nextSeq).toBe(1);
  });

  it('a Byzantine-mode client needs f+1 matching refusals: one liar cannot refuse a command', () => {
    const c = client(true);
    c.submit(new Uint8Array([1]));
    expect(c.onReply(3, refusal(1))).toEqual([]);
    expect(c.onReply(2, reply(1, 'ok', 0))).toEqual([]);
    expect(c.onReply(1, refusal(1))).toEqual([{ type: 'refused', seq: 1, reason: 'static' }]);
  });
});

describe('preferred replicas', () => {
  it('a command goes to the preferred replicas first; a redirect still goes anywhere, and the next command follows it', () => {
    const c = client(false);
    c.prefer([1, 2]);
    const asked = [targets(c.submit(new Uint8Array([1])))[0], targets(c.onTimeout())[0]];
    expect([1, 2]).toEqual(expect.arrayContaining(asked));
    expect(targets(c.onReply(asked[1]!, reply(1, 'redirect', 3)))).toEqual([3]);
    c.onReply(3, reply(1, 'ok', 3));
    expect(targets(c.submit(new Uint8Array([2])))).toEqual([3]);
  });

  it('once every preferred replica had its turn, resends reach the others too (the preferred may all be gone)', () => {
    const c = client(false);
    c.prefer([1, 2]);
    const asked = [targets(c.submit(new Uint8Array([1])))[0]];
    for (let i = 0; i < 40; i++) asked.push(targets(c.onTimeout())[0]);
    expect([1, 2]).toEqual(expect.arrayContaining(asked.slice(0, 3)));
    expect(new Set(asked)).toEqual(new Set([0, 1, 2, 3]));
  });

  it('without preferred replicas, resends reach every replica', () => {
    const c = client(false);
    const asked = [targets(c.submit(new Uint8Array([1])))[0]];
    for (let i = 0; i < 40; i++) asked.push(targets(c.onTimeout())[0]);
    expect(new Set(asked)).toEqual(new Set([0, 1, 2, 3]));
  });
});
