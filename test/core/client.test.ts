// The client session's resend pace (src/core/client.ts): a Byzantine-mode client backs off, a
// crash-mode one keeps looking for the leader at a steady pace; a new command starts afresh.
import { describe, expect, it } from 'vitest';
import { Client, type ClientEffect } from '../../src/core/client.ts';
import { CLIENT_RETRY_DOUBLINGS_MAX } from '../../src/core/limits.ts';
import { SeededRng } from '../../src/core/rng.ts';

const RETRY_MS = 300;
const delays = (effects: ClientEffect[]): number[] => effects.flatMap((e) => (e.type === 'setTimer' ? [e.delayMs] : []));
const sends = (effects: ClientEffect[]): number => effects.filter((e) => e.type === 'send').length;

function client(broadcast: boolean): Client {
  const options = broadcast ? { replyQuorum: 2, broadcast, sign: () => new Uint8Array(64) } : { replyQuorum: 1, broadcast, sign: null };
  return new Client(1, 7, 4, new SeededRng(1, 0), RETRY_MS, options);
}

describe('client resends', () => {
  it(`a Byzantine-mode client doubles its wait before each resend, ${CLIENT_RETRY_DOUBLINGS_MAX} times at most, to every replica`, () => {
    const c = client(true);
    const first = c.submit(new Uint8Array([1]));
    expect(sends(first)).toBe(4);
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
    for (const from of [0, 1]) c.onReply(from, { type: 'reply', clientId: 1, session: 7, seq: 1, status: 'ok', result: new Uint8Array([9]), leaderHint: 0 });
    expect(delays(c.submit(new Uint8Array([2])))).toEqual([RETRY_MS]);
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
