import { describe, expect, it } from 'vitest';
import { MemoryNetwork } from '../../src/transport/memory.ts';
import type { PeerName } from '../../src/transport/transport.ts';
import { sleep, text, utf8 } from './helpers.ts';

type Inbox = Array<[PeerName, string]>;

function endpoint(net: MemoryNetwork, name: PeerName, inbox: Inbox, peers?: PeerName[]) {
  return net.transport(name, (from, m) => inbox.push([from, text(m)]), peers === undefined ? {} : { peers });
}

describe('memory transport', () => {
  it('delivers asynchronously, FIFO per link', async () => {
    const net = new MemoryNetwork();
    const a: Inbox = [];
    const b: Inbox = [];
    const ta = endpoint(net, 'a', a);
    const tb = endpoint(net, 'b', b);
    for (let k = 0; k < 100; k += 1) ta.send('b', utf8(`${k}`));
    tb.send('a', utf8('hi'));
    expect(b).toEqual([]); // not synchronous
    await sleep(0);
    await sleep(0);
    expect(b.map(([, m]) => Number(m))).toEqual(Array.from({ length: 100 }, (_, k) => k));
    expect(a).toEqual([['b', 'hi']]);
    expect(ta.stats.messagesOut).toBe(100);
    expect(ta.stats.peers['b']!.messagesIn).toBe(1);
    expect(tb.stats.peers['a']!.messagesIn).toBe(100);
  });

  it('a cut node neither sends nor receives until restored; drops are counted', async () => {
    const net = new MemoryNetwork();
    const a: Inbox = [];
    const b: Inbox = [];
    const ta = endpoint(net, 'a', a);
    const tb = endpoint(net, 'b', b);
    net.cut('b');
    ta.send('b', utf8('lost'));
    tb.send('a', utf8('lost too'));
    await sleep(5);
    expect(a).toEqual([]);
    expect(b).toEqual([]);
    expect(ta.stats.drops.unreachable).toBe(1);
    expect(tb.stats.drops.unreachable).toBe(1);
    net.restore('b');
    ta.send('b', utf8('back'));
    await sleep(5);
    expect(b).toEqual([['a', 'back']]);
  });

  it('bounds: unknown peers, oversize, a full link, stop, restart under the same name', async () => {
    const net = new MemoryNetwork();
    const a: Inbox = [];
    const ta = net.transport('a', (from, m) => a.push([from, text(m)]), { peers: ['b'], maxMessageBytes: 8, queueMessagesMax: 3 });
    expect(ta.send('zz', utf8('x'))).toBe(false);
    expect(ta.send('b', new Uint8Array(9))).toBe(false);
    expect([1, 2, 3, 4].map((k) => ta.send('b', utf8(`${k}`)))).toEqual([true, true, true, false]);
    expect(ta.stats.drops).toMatchObject({ 'unknown-peer': 1, oversize: 1, 'queue-full': 1 });
    const b1: Inbox = [];
    const tb1 = endpoint(net, 'b', b1);
    expect(() => endpoint(net, 'b', [])).toThrow(/already running/);
    await tb1.stop();
    const b2: Inbox = [];
    endpoint(net, 'b', b2);
    await sleep(5);
    expect(b1).toEqual([]);
    expect(b2.map(([, m]) => m)).toEqual(['1', '2', '3']);
    await ta.stop();
    expect(ta.send('b', utf8('x'))).toBe(false);
    expect(ta.stats.drops.stopped).toBe(1);
  });
});
