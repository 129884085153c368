import { afterEach, describe, expect, it } from 'vitest';
import { multiaddr } from '@multiformats/multiaddr';
import type { Libp2p } from 'libp2p';
import { encodeFrames } from '../../src/transport/frames.ts';
import { peerIdOf } from '../../src/transport/identity.ts';
import { createLibp2pTransport, PROTOCOL, type Libp2pTransport } from '../../src/transport/libp2p.ts';
import type { PeerName, PeerSpec, TransportOptions } from '../../src/transport/transport.ts';
import { bytes, freePorts, keyOf, loopback, rawNode, sleep, text, utf8, waitFor } from './helpers.ts';

// Every transport and raw node a test starts is stopped after it, pass or fail.
const running: Array<{ stop(): void | Promise<void> }> = [];
afterEach(async () => {
  await Promise.all(running.splice(0).map((t) => t.stop()));
});

type Inbox = Array<{ from: PeerName; message: string }>;

interface Member {
  readonly name: PeerName;
  readonly index: number;
  readonly port: number;
}

function specOf(m: Member): PeerSpec {
  return { publicKey: keyOf(m.index).publicKey, addrs: [loopback(m.port)] };
}

async function start(
  self: Member | { name: PeerName; index: number; port?: undefined },
  peers: ReadonlyArray<[PeerName, PeerSpec]>,
  inbox: Inbox,
  extra: Partial<TransportOptions> = {},
): Promise<Libp2pTransport> {
  const transport = await createLibp2pTransport({
    secretKey: keyOf(self.index).secretKey,
    listen: self.port === undefined ? [] : [loopback(self.port)],
    peers: new Map(peers),
    onMessage: (from, message) => inbox.push({ from, message: text(message) }),
    ...extra,
  });
  running.push(transport);
  return transport;
}

async function members(count: number): Promise<Member[]> {
  const ports = await freePorts(count);
  return ports.map((port, index) => ({ name: `n${index}`, index, port }));
}

function othersOf(all: readonly Member[], self: Member): Array<[PeerName, PeerSpec]> {
  return all.filter((m) => m !== self).map((m) => [m.name, specOf(m)]);
}

async function raw(index: number, listen: readonly string[] = []): Promise<Libp2p> {
  const node = await rawNode(keyOf(index).secretKey, listen);
  running.push(node);
  return node;
}

describe('libp2p transport', () => {
  it('derives the PeerId from the ed25519 public key', async () => {
    const [m] = await members(1);
    const t = await start(m!, [], []);
    expect(t.peerId).toBe(peerIdOf(keyOf(0).publicKey));
    expect(t.addrs).toEqual([`${loopback(m!.port)}/p2p/${t.peerId}`]);
  });

  it('three members exchange messages both ways, in order, coalesced per turn', async () => {
    const all = await members(3);
    const inboxes: Inbox[] = all.map(() => []);
    const ts = await Promise.all(all.map((m, i) => start(m, othersOf(all, m), inboxes[i]!)));
    const perLink = 200;
    // All in one synchronous turn: each link's messages leave in one write.
    for (const [i, t] of ts.entries()) {
      for (const to of all) {
        if (to.index === i) continue;
        for (let k = 0; k < perLink; k += 1) expect(t.send(to.name, utf8(`n${i}->${to.name}#${k}`))).toBe(true);
      }
    }
    await waitFor('all messages', () => inboxes.every((inbox) => inbox.length === 2 * perLink));
    for (const [j, inbox] of inboxes.entries()) {
      for (const from of all) {
        if (from.index === j) continue;
        const got = inbox.filter((e) => e.from === from.name).map((e) => e.message);
        expect(got).toEqual(Array.from({ length: perLink }, (_, k) => `${from.name}->n${j}#${k}`));
      }
    }
    const stats = ts[0]!.stats;
    expect(stats.messagesOut).toBe(2 * perLink);
    expect(stats.messagesIn).toBe(2 * perLink);
    expect(stats.peers['n1']!.messagesIn).toBe(perLink);
    // Coalescing: each link's 200 messages left in one stream write.
    for (const t of ts) for (const p of Object.values(t.stats.peers)) expect(p.writes).toBe(1);
    expect(Object.values(stats.drops).reduce((a, b) => a + b, 0)).toBe(0);
    // Replies flow on the streams that exist; a second round needs no new dial.
    const dialsBefore = ts.map((t) => Object.values(t.stats.peers).reduce((a, p) => a + p.dials, 0));
    ts[1]!.send('n0', utf8('again'));
    await waitFor('second round', () => inboxes[0]!.some((e) => e.message === 'again'));
    const dialsAfter = ts.map((t) => Object.values(t.stats.peers).reduce((a, p) => a + p.dials, 0));
    expect(dialsAfter).toEqual(dialsBefore);
  });

  it('flush() writes what is queued at once, in one write per link, instead of at the end of the turn', async () => {
    const all = await members(2);
    const inboxes: Inbox[] = [[], []];
    const [a, b] = await Promise.all(all.map((m, i) => start(m, othersOf(all, m), inboxes[i]!)));
    a!.send('n1', utf8('open'));
    await waitFor('a stream', () => inboxes[1]!.length === 1);
    b!.send('n0', utf8('open'));
    await waitFor('a stream back', () => inboxes[0]!.length === 1);
    const writes = () => a!.stats.peers['n1']!.writes;
    const before = writes();
    for (let k = 0; k < 3; k += 1) a!.send('n1', utf8(`m${k}`));
    expect(writes()).toBe(before);
    a!.flush!();
    expect(writes()).toBe(before + 1);
    // Nothing is left for the turn's own flush, and a flush with nothing queued writes nothing.
    a!.flush!();
    await sleep(20);
    expect(writes()).toBe(before + 1);
    await waitFor('the flushed messages', () => inboxes[1]!.length === 4);
    expect(inboxes[1]!.map((e) => e.message)).toEqual(['open', 'm0', 'm1', 'm2']);
  });

  it('large messages cross intact and wait for the stream to drain', async () => {
    const all = await members(2);
    const received: Uint8Array[] = [];
    const big = 3 * 1024 * 1024;
    const ts = await Promise.all(
      all.map((m) =>
        createLibp2pTransport({
          secretKey: keyOf(m.index).secretKey,
          listen: [loopback(m.port)],
          peers: new Map(othersOf(all, m)),
          onMessage: (_from, message) => received.push(message),
          queueBytesMax: 16 * 1024 * 1024, // the default (8 MiB) holds only two of these
        }),
      ),
    );
    running.push(...ts);
    const messages = [0, 1, 2, 3].map((k) => new Uint8Array(big).fill(k + 1));
    for (const message of messages) expect(ts[0]!.send('n1', message)).toBe(true);
    expect(ts[0]!.send('n1', new Uint8Array(4 * 1024 * 1024 + 1))).toBe(false); // above the default max
    expect(ts[0]!.stats.drops.oversize).toBe(1);
    await waitFor('big messages', () => received.length === 4, 10_000);
    for (const [k, message] of received.entries()) {
      expect(message.length).toBe(big);
      expect(message.every((b) => b === k + 1)).toBe(true);
    }
    expect(ts[0]!.stats.peers['n1']!.writes).toBe(4); // one per message: each is above the chunk size
  });

  it('a first dial that fails is retried with nothing queued, so a client refused at start connects once the member is up', async () => {
    const [m] = await members(1);
    const c = await start({ name: 'c1', index: 10 }, [['n0', specOf(m!)]], [], { backoffBaseMs: 20, backoffMaxMs: 100 });
    await waitFor('two failed dials, nothing sent', () => c.stats.peers['n0']!.dialFailures >= 2);
    expect(c.stats.messagesOut).toBe(0);
    // The member never dials a client (it has no address): only the client's own retry connects them.
    const member = await start(m!, [['c1', { publicKey: keyOf(10).publicKey, addrs: [] }]], []);
    await waitFor('the client connected', () => c.stats.peers['n0']!.streamsOpen > 0, 5_000);
    expect(member.stats.peers['c1']!.dials).toBe(0);
    const dials = c.stats.peers['n0']!.dials;
    await sleep(300);
    // Connected once: no more dials with nothing to send.
    expect(c.stats.peers['n0']!.dials).toBe(dials);
  });

  it('a client with no addresses dials a member and gets replies on its stream', async () => {
    const [m] = await members(1);
    const client = { name: 'c1', index: 10 };
    const memberInbox: Inbox = [];
    const clientInbox: Inbox = [];
    const member = await start(m!, [['c1', { publicKey: keyOf(10).publicKey, addrs: [] }]], memberInbox);
    // Before the client ever connects, the member has no route to it.
    expect(member.send('c1', utf8('too early'))).toBe(false);
    expect(member.stats.drops['no-route']).toBe(1);
    const c = await start(client, [['n0', specOf(m!)]], clientInbox);
    expect(c.addrs).toEqual([]);
    for (let k = 0; k < 5; k += 1) c.send('n0', utf8(`req${k}`));
    await waitFor('requests', () => memberInbox.length === 5);
    expect(memberInbox.every((e) => e.from === 'c1')).toBe(true);
    for (let k = 0; k < 5; k += 1) expect(member.send('c1', utf8(`reply${k}`))).toBe(true);
    await waitFor('replies', () => clientInbox.length === 5);
    expect(clientInbox.map((e) => e.message)).toEqual(['reply0', 'reply1', 'reply2', 'reply3', 'reply4']);
    expect(member.stats.peers['c1']!.dials).toBe(0);
    expect(member.stats.peers['c1']!.streamsOpen).toBe(1);
  });

  it('processes sharing a client key (concurrent CLI commands) each get every message to the client, in order', async () => {
    const [m] = await members(1);
    const memberInbox: Inbox = [];
    const member = await start(m!, [['c1', { publicKey: keyOf(10).publicKey, addrs: [] }]], memberInbox);
    const processes = 6; // more than STREAMS_PER_PEER_MAX, which would evict the oldest streams
    const inboxes: Inbox[] = Array.from({ length: processes }, () => []);
    const clients = await Promise.all(inboxes.map((inbox) => start({ name: 'c1', index: 10 }, [['n0', specOf(m!)]], inbox)));
    clients.forEach((c, i) => c.send('n0', utf8(`hello from ${i}`)));
    await waitFor('every process connected', () => memberInbox.length === processes);
    for (let k = 0; k < 3; k += 1) expect(member.send('c1', utf8(`reply${k}`))).toBe(true);
    await waitFor('replies in every process', () => inboxes.every((inbox) => inbox.length === 3));
    for (const inbox of inboxes) expect(inbox.map((e) => e.message)).toEqual(['reply0', 'reply1', 'reply2']);
    expect(member.stats.peers['c1']!.streamsOpen).toBe(processes);
    expect(member.stats.drops['stream-limit']).toBe(0);
  });

  it('a peer whose key is not configured cannot connect or inject messages', async () => {
    const [m] = await members(1);
    const inbox: Inbox = [];
    const member = await start(m!, [['n1', { publicKey: keyOf(1).publicKey, addrs: [] }]], inbox);
    const intruder = await raw(66);
    const target = multiaddr(member.addrs[0]!);
    let failed = false;
    try {
      const stream = await intruder.dialProtocol(target, PROTOCOL, { signal: AbortSignal.timeout(3_000) });
      stream.send(encodeFrames([utf8('forged')]));
      await sleep(200);
    } catch {
      failed = true;
    }
    expect(failed).toBe(true);
    expect(inbox).toEqual([]);
    expect(member.stats.connectionsDenied).toBeGreaterThanOrEqual(1);
    expect(member.stats.drops['unknown-peer']).toBeGreaterThanOrEqual(1);
    // Our side never dials an unknown PeerId either: send() to an unknown name is refused.
    expect(member.send('n66', utf8('x'))).toBe(false);
  });

  it('truncated, oversize and garbage frames abort their stream, are counted, and the node keeps serving', async () => {
    const all = await members(2);
    const inboxes: Inbox[] = [[], []];
    const maxMessageBytes = 1024;
    const ts = await Promise.all(all.map((m, i) => start(m, [...othersOf(all, m), ['n2', { publicKey: keyOf(2).publicKey, addrs: [] }]], inboxes[i]!, { maxMessageBytes })));
    const evil = await raw(2); // an allowed identity, speaking raw bytes
    const target = multiaddr(ts[0]!.addrs[0]!);
    const attacks: Array<{ reason: string; wire: Uint8Array; close: boolean; reset?: boolean }> = [
      // a good frame, then half of another, then end of stream
      { reason: 'truncated', wire: concat(encodeFrames([utf8('ok-before-truncation')]), encodeFrames([new Uint8Array(100)]).subarray(0, 50)), close: true },
      // half a frame, then a reset instead of a clean end
      { reason: 'truncated', wire: encodeFrames([new Uint8Array(100)]).subarray(0, 50), close: false, reset: true },
      // a length prefix of 1025 > 1024
      { reason: 'oversize', wire: bytes(0x81, 0x08, 1, 2, 3), close: false },
      // an overlong varint (value 0 with continuation bits)
      { reason: 'malformed-prefix', wire: bytes(0x80, 0x80, 0x80, 0x80), close: false },
    ];
    const expected: Record<string, number> = {};
    for (const [i, attack] of attacks.entries()) {
      const stream = await evil.dialProtocol(target, PROTOCOL);
      stream.send(attack.wire);
      if (attack.close) await stream.close();
      if (attack.reset === true) {
        await sleep(50); // let the half frame arrive first
        stream.abort(new Error('reset by test'));
      }
      expected[attack.reason] = (expected[attack.reason] ?? 0) + 1;
      await waitFor(attack.reason, () => ts[0]!.stats.drops[attack.reason as 'oversize'] === expected[attack.reason]);
      await waitFor('stream gone', () => ts[0]!.stats.peers['n2']!.streamsOpen === 0);
      // the well-behaved member is still served, both ways
      ts[1]!.send('n0', utf8(`after-${i}`));
      ts[0]!.send('n1', utf8(`back-${i}`));
      await waitFor('n1 served', () => inboxes[0]!.some((e) => e.message === `after-${i}`));
      await waitFor('n0 served', () => inboxes[1]!.some((e) => e.message === `back-${i}`));
    }
    expect(ts[0]!.stats.drops).toMatchObject({ truncated: 2, oversize: 1, 'malformed-prefix': 1 });
    expect(ts[1]!.stats.drops).toMatchObject({ truncated: 0, oversize: 0, 'malformed-prefix': 0 });
    const fromEvil = inboxes[0]!.filter((e) => e.from === 'n2').map((e) => e.message);
    expect(fromEvil).toEqual(['ok-before-truncation']);
    // a later, well-formed stream from the same peer is unaffected
    const good = await evil.dialProtocol(target, PROTOCOL);
    good.send(encodeFrames([utf8('fine'), utf8('now')]));
    await waitFor('later stream', () => inboxes[0]!.filter((e) => e.from === 'n2').length === 3);
    expect(inboxes[0]!.filter((e) => e.from === 'n2').map((e) => e.message)).toEqual(['ok-before-truncation', 'fine', 'now']);
  });

  it('resumes after a peer restarts, with backoff, and caps the queue toward a down peer', async () => {
    const all = await members(2);
    const [m0, m1] = all as [Member, Member];
    const inbox0: Inbox = [];
    let inbox1: Inbox = [];
    const t0 = await start(m0, othersOf(all, m0), inbox0, { queueMessagesMax: 10, backoffBaseMs: 20, backoffMaxMs: 200 });
    let t1 = await start(m1, othersOf(all, m1), inbox1);
    t0.send('n1', utf8('first'));
    await waitFor('first', () => inbox1.length === 1);
    await t1.stop();
    // Both ends dialled at start, so two streams close. Usually within a second; once, in CI, n0
    // had not seen both closes after 10 s (not reproduced since): the bound is generous.
    await waitFor('n0 sees the stream close', () => t0.stats.peers['n1']!.streamsOpen === 0, 30_000);
    let accepted = 0;
    for (let k = 0; k < 50; k += 1) if (t0.send('n1', utf8(`down${k}`))) accepted += 1;
    expect(accepted).toBe(10);
    expect(t0.stats.drops['queue-full']).toBe(40);
    await sleep(600);
    const down = t0.stats.peers['n1']!;
    expect(down.dialFailures).toBeGreaterThanOrEqual(2);
    expect(down.lastDialError).toMatch(/ECONNREFUSED/);
    // 20 ms doubling to 200 ms over 600 ms: a handful of dials, not a busy loop
    expect(down.dials).toBeLessThan(12);
    inbox1 = [];
    t1 = await start(m1, othersOf(all, m1), inbox1);
    await waitFor('queued messages after restart', () => inbox1.length === 10, 3_000);
    expect(inbox1.map((e) => e.message)).toEqual(Array.from({ length: 10 }, (_, k) => `down${k}`));
    t0.send('n1', utf8('later'));
    t1.send('n0', utf8('reply'));
    await waitFor('both ways after restart', () => inbox1.length === 11 && inbox0.some((e) => e.message === 'reply'));
    // The link came back by n1 dialling in as it started, or by n0's redial, whichever was first.
    expect(t0.stats.peers['n1']!.reconnects + t1.stats.peers['n0']!.dials).toBeGreaterThanOrEqual(1);
  });

  // Issue 10: a member back from a restart may have nothing to send for seconds, while its
  // peers sit in a long backoff toward it from the dials that failed while it was down.
  const LONG_BACKOFF = { backoffBaseMs: 20_000, backoffMaxMs: 20_000 };

  it('a member that starts with nothing to send dials every member, so a peer in a long backoff toward it is reached at once', async () => {
    const all = await members(2);
    const [m0, m1] = all as [Member, Member];
    const inbox1: Inbox = [];
    const t0 = await start(m0, othersOf(all, m0), [], LONG_BACKOFF);
    t0.send('n1', utf8('queued while n1 was down'));
    await waitFor('a failed dial toward n1', () => t0.stats.peers['n1']!.dialFailures >= 1);
    // n1 comes up and sends nothing; n0 would redial only 10-20 s from now (hence waits under 10 s).
    await start(m1, othersOf(all, m1), inbox1);
    await waitFor('the queued message, over the stream n1 opened', () => inbox1.length === 1, 8_000);
    expect(inbox1[0]).toEqual({ from: 'n0', message: 'queued while n1 was down' });
  });

  it('a peer connecting in voids the backoff toward it: once that stream closes, the next send dials at once', async () => {
    const all = await members(2);
    const [m0, m1] = all as [Member, Member];
    const t0 = await start(m0, othersOf(all, m0), [], LONG_BACKOFF);
    t0.send('n1', utf8('a'));
    await waitFor('a failed dial toward n1', () => t0.stats.peers['n1']!.dialFailures >= 1);
    // n1, played by a bare node that dials in on its own and counts the streams n0 opens to it.
    const n1 = await raw(1, [loopback(m1.port)]);
    let dialledIn = 0;
    await n1.handle(PROTOCOL, () => {
      dialledIn += 1;
    });
    const stream = await n1.dialProtocol(multiaddr(t0.addrs[0]!), PROTOCOL, { signal: AbortSignal.timeout(3_000) });
    await waitFor('n0 adopts the stream n1 opened', () => t0.stats.peers['n1']!.streamsOpen === 1);
    stream.abort(new Error('gone'));
    await waitFor('n0 sees it close', () => t0.stats.peers['n1']!.streamsOpen === 0);
    t0.send('n1', utf8('b'));
    await waitFor('n0 to dial n1 again', () => dialledIn >= 1, 8_000);
  });

  it('stop() resolves, is idempotent, and send() after it is refused', async () => {
    const [m] = await members(1);
    const t = await start(m!, [['n1', { publicKey: keyOf(1).publicKey, addrs: [loopback(1)] }]], []);
    expect(t.send('n1', utf8('x'))).toBe(true); // queued; the dial will fail
    await Promise.all([t.stop(), t.stop()]);
    expect(t.send('n1', utf8('y'))).toBe(false);
    expect(t.stats.drops.stopped).toBe(1);
  });
});

function concat(a: Uint8Array, b: Uint8Array): Uint8Array {
  const out = new Uint8Array(a.length + b.length);
  out.set(a);
  out.set(b, a.length);
  return out;
}
