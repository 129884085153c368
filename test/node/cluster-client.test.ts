// ClusterClient's session handling against a scripted transport: the test plays the members,
// reading the requests the client sends and answering them, so each rule is checked in isolation.
import { describe, expect, it } from 'vitest';
import { encodeKvResult } from '../../src/app/kv.ts';
import { CLIENT_SESSIONS_PER_CLIENT_MAX } from '../../src/base/limits.ts';
import { decodeWireMessage, encodeMessage } from '../../src/messages/codec.ts';
import type { ClientReply, ClientRequest } from '../../src/messages/types.ts';
import { ClusterClient, SessionEvictedError } from '../../src/node/cluster-client.ts';
import { StatsCounter, type PeerName, type Transport } from '../../src/transport/transport.ts';
import { deploymentOf, key } from './cluster.ts';

interface Scripted {
  readonly factory: (onMessage: (from: PeerName, bytes: Uint8Array) => void) => Promise<Transport>;
  /** Every request the client sent, in order. */
  readonly sent: ClientRequest[];
  readonly deliver: (from: PeerName, reply: ClientReply) => void;
}

/** A transport that records what the client sends and lets the test deliver replies. */
function scripted(): Scripted {
  const sent: ClientRequest[] = [];
  let receive: (from: PeerName, bytes: Uint8Array) => void = () => {};
  const stats = new StatsCounter();
  const factory = async (onMessage: (from: PeerName, bytes: Uint8Array) => void): Promise<Transport> => {
    receive = onMessage;
    return {
      send: (_to, bytes) => {
        const msg = decodeWireMessage(bytes);
        if (msg.type === 'request') sent.push(msg);
        return true;
      },
      get stats() {
        return stats.snapshot(() => ({ queuedMessages: 0, streamsOpen: 1 }));
      },
      stop: async () => {},
    };
  };
  return { factory, sent, deliver: (from, reply) => receive(from, encodeMessage(reply)) };
}

describe('ClusterClient sessions', () => {
  it('an evicted session fails its operation with SessionEvictedError; the next operation runs in a new session from seq 1', async () => {
    const sessions = [11, 22];
    const t = scripted();
    const client = await ClusterClient.connect({
      deployment: deploymentOf('crash'),
      clientId: 1,
      secretKey: key('client', 1).secretKey,
      transport: t.factory,
      newSession: () => sessions.shift()!,
      timeoutMs: 5_000,
    });
    try {
      const first = client.put('a', '1');
      await expect.poll(() => t.sent.length).toBeGreaterThan(0);
      const request = t.sent.at(-1)!.command;
      expect([request.session, request.seq]).toEqual([11, 1]);
      const answer = { type: 'reply', clientId: 1, session: 11, seq: 1, result: new Uint8Array(0), leaderHint: 0 } as const;
      // A reply to another session of the same client is not this one's.
      t.deliver('n0', { ...answer, session: 99, status: 'ok', result: encodeKvResult({ ok: true, value: null }) });
      t.deliver('n0', { ...answer, status: 'evicted' });
      const error = await first.catch((e: unknown) => e);
      expect(error).toBeInstanceOf(SessionEvictedError);
      expect((error as Error).message).toMatch(
        new RegExp(`^put "a": the cluster evicted session 11 of client 1 \\(more than ${CLIENT_SESSIONS_PER_CLIENT_MAX} newer sessions of this client id\\), so it did not run now`),
      );

      const second = client.put('b', '2');
      await expect.poll(() => t.sent.at(-1)!.command.session).toBe(22);
      expect(t.sent.at(-1)!.command.seq).toBe(1);
      t.deliver('n0', { ...answer, session: 22, status: 'ok', result: encodeKvResult({ ok: true, value: null }) });
      expect(await second).toEqual({ ok: true, value: null });
    } finally {
      await client.close();
    }
  });
});
