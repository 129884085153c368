// Rules of the Byzantine-mode node (seed 000 §4: signed messages and the VERIFY round between
// ACCEPT and ACCEPTED), one test per rule, on a hand-driven 4-node cluster (f = 1): the test
// signs with any member's key and decides which envelope reaches which node.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { decodeKvResult } from '../../../src/app/kv.ts';
import { Client, type ClientEffect } from '../../../src/core/client.ts';
import type { Effect } from '../../../src/core/effects.ts';
import { SeededRng } from '../../../src/core/rng.ts';
import { NOOP, type Batch, type Command } from '../../../src/base/types.ts';
import { batchDigest, encodeMessage } from '../../../src/messages/codec.ts';
import type { Accept, ClientRequest, PreparedCertificate, SignedEnvelope } from '../../../src/messages/types.ts';
import { signCommand } from '../../../src/modes/byzantine/auth.ts';
import { validPrepared } from '../../../src/modes/byzantine/certificates.ts';
import { clusterIdOf, validateCluster, type ClusterConfig } from '../../../src/modes/byzantine/cluster.ts';
import { ByzantineNode } from '../../../src/modes/byzantine/node.ts';
import { verifiedKey } from '../../../src/core/storage.ts';
import { bytesEqual, toHex } from '../../../crypto/digest.ts';
import { nativeBackend, nobleBackend } from '../../../crypto/ed25519.ts';
import { signMessage } from '../../../crypto/envelope.ts';
import {
  acceptedVote,
  ballot,
  batchOf,
  certificateContext,
  command,
  dropped,
  flipSignature,
  makeFixture,
  Net,
  persisted,
  prepared,
  promise,
  seal,
  sentOfType,
  sentPayloads,
  testKey,
  verifyVote,
} from './fixtures.ts';
import { REFUSED_MARK, RefusingKv } from '../../app/refusing-kv.ts';

const B1 = ballot(1); // (1, n0): the ballot every node starts in
const fx = makeFixture(1);

function accept(slot: number, batch: Batch, b = B1, decidedUpTo = 0): Accept {
  return { type: 'accept', ballot: b, slot, batch, decidedUpTo };
}

const hex = (bytes: Uint8Array): string => toHex(bytes);
const digestHex = (batch: Batch): string => hex(batchDigest(batch));

describe('happy path: Request → Accept → Verify → Accepted → decide → f+1 matching replies', () => {
  for (const backend of [nobleBackend, nativeBackend]) {
    it(`every honest node decides and executes the command; the client takes f+1 matching replies (${backend.name})`, () => {
      const f = makeFixture(1, backend);
      const net = new Net(f);
      const key = f.clientKeys.get(1)!;
      // A real op: put k=v, signed by the client and sent to the leader, as a first attempt is.
      const cmd = command(f, 1, 1, { type: 'put', key: 'k', value: 'v' });
      net.request(0, cmd);
      net.deliverAll();

      // Message flow: the leader (n0) sent one Accept; every node signed one Verify and one Accepted.
      const sentBy = <T extends 'accept' | 'verify' | 'accepted'>(id: number, type: T) =>
        net.log.filter((l) => l.node === id).flatMap((l) => sentOfType(f, l.effects, type));
      expect(sentBy(0, 'accept')).toHaveLength(1);
      for (let id = 1; id < f.n; id++) expect(sentBy(id, 'accept')).toHaveLength(0);
      const batch = batchOf(cmd);
      for (let id = 0; id < f.n; id++) {
        for (const type of ['verify', 'accepted'] as const) {
          const votes = sentBy(id, type);
          expect(votes.map((v) => [v.slot, hex(v.digest)]), `n${id} ${type}`).toEqual([[0, digestHex(batch)]]);
        }
        // Accepted only after Verify: the prepared certificate came first.
        const order = net.log.filter((l) => l.node === id).flatMap((l) => sentPayloads(f, l.effects).map((m) => m.type));
        expect(order.indexOf('verify')).toBeLessThan(order.indexOf('accepted'));
      }

      // Every honest node decided slot 0 = [cmd] and executed it once.
      for (let id = 0; id < f.n; id++) {
        expect(net.decisions.filter((d) => d.node === id).map((d) => [d.slot, digestHex(d.batch)])).toEqual([[0, digestHex(batch)]]);
        expect(net.executions.filter((e) => e.node === id).map((e) => [e.slot, e.command.clientId, e.command.seq])).toEqual([[0, 1, 1]]);
        expect(net.apps[id]!.get('k')).toBe('v');
        expect(net.nodes[id]!.decidedUpTo).toBe(1);
      }

      // Client 1's f+1 designated repliers answered (followers n2, n3), naming the leader; the
      // leader did not. f+1 matching replies complete the command at the client, f do not.
      const replies = net.replies.filter((r) => r.msg.seq === 1 && r.msg.clientId === 1);
      expect(replies.map((r) => [r.node, r.msg.status, r.msg.leaderHint])).toEqual([[2, 'ok', 0], [3, 'ok', 0]]);
      const client = new Client(1, 1, f.n, new SeededRng(9, 9), 300, {
        replyQuorum: f.f + 1,
        resendToAll: true,
        sign: (c) => signCommand(backend, key.secretKey, f.clusterId, c),
      });
      // The client signs the very command the replicas executed (signatures are deterministic).
      const sent = client.submit(cmd.op).filter((e): e is Extract<ClientEffect, { type: 'send' }> => e.type === 'send');
      expect(sent).toHaveLength(1);
      expect(sent.every((e) => bytesEqual(e.msg.command.signature, cmd.signature))).toBe(true);
      const completions: ClientEffect[] = [];
      replies.forEach((r, i) => {
        const effects = client.onReply(r.node, r.msg).filter((e) => e.type === 'complete');
        if (i < f.f) expect(effects, `completed after only ${i + 1} replies`).toEqual([]);
        completions.push(...effects);
      });
      expect(completions).toHaveLength(1);
      const done = completions[0]!;
      expect(done.type === 'complete' && decodeKvResult(done.result)).toEqual({ ok: true, value: null });
    });
  }

  it('one lying replica cannot complete a command: f+1 matching replies are needed', () => {
    const client = new Client(1, 1, fx.n, new SeededRng(1, 1), 300, { replyQuorum: fx.f + 1, resendToAll: true, sign: () => new Uint8Array(64) });
    client.submit(new Uint8Array([1]));
    const reply = (result: number[]) => ({ type: 'reply' as const, clientId: 1, session: 1, seq: 1, status: 'ok' as const, result: new Uint8Array(result), leaderHint: 0 });
    expect(client.onReply(3, reply([9, 9]))).toEqual([]);
    expect(client.onReply(2, reply([1]))).toEqual([]);
    expect(client.onReply(3, reply([9, 9]))).toEqual([]); // the liar repeating itself does not count twice
    expect(client.onReply(1, reply([1]))).toEqual([{ type: 'complete', seq: 1, result: new Uint8Array([1]) }]);
  });

  it("a session ends as evicted only on f+1 'evicted' replies; replies to another session of the same client are not its own", () => {
    const client = new Client(1, 77, fx.n, new SeededRng(1, 1), 300, { replyQuorum: fx.f + 1, resendToAll: true, sign: () => new Uint8Array(64) });
    client.submit(new Uint8Array([1]));
    const reply = (session: number, status: 'ok' | 'evicted') => ({ type: 'reply' as const, clientId: 1, session, seq: 1, status, result: new Uint8Array(0), leaderHint: 0 });
    expect(client.onReply(0, reply(78, 'ok'))).toEqual([]);
    expect(client.onReply(1, reply(78, 'ok'))).toEqual([]);
    expect(client.onReply(3, reply(77, 'evicted'))).toEqual([]); // one liar alone
    expect(client.onReply(2, reply(77, 'evicted'))).toEqual([{ type: 'evicted', seq: 1 }]);
    expect(() => client.submit(new Uint8Array([2]))).toThrow(/after session 77 was evicted/);
  });
});

describe('who answers a client: f+1 designated followers unasked, every follower the client asked', () => {
  const okReplies = (net: Net, clientId: number) => net.replies.filter((r) => r.msg.clientId === clientId && r.msg.status === 'ok').map((r) => r.node).sort();

  it('the designated followers move with the client id, so the replies spread over the followers; the leader never answers unasked', () => {
    const net = new Net(fx);
    for (const clientId of [1, 2]) net.request(0, command(fx, clientId, 1, { type: 'put', key: `k${clientId}`, value: 'v' }));
    net.deliverAll();
    expect([1, 2].map((c) => okReplies(net, c))).toEqual([[2, 3], [1, 3]]);
  });

  it('a follower the client asked redirects it to the leader at once, and answers once the command executes', () => {
    const net = new Net(fx);
    // Client 1's designated repliers are n2 and n3; it asked n1, the wrong member.
    const cmd = command(fx, 1, 1, { type: 'put', key: 'k', value: 'v' });
    net.request(1, cmd);
    net.deliverAll();
    expect(net.replies.map((r) => [r.node, r.msg.status, r.msg.leaderHint])).toEqual([[1, 'redirect', 0]]);
    net.request(0, cmd);
    net.deliverAll();
    expect(okReplies(net, 1)).toEqual([1, 2, 3]);
  });

  it('a resend to every replica is answered by every follower: f+1 honest answers whichever f are faulty', () => {
    const net = new Net(fx);
    const cmd = command(fx, 1, 1, { type: 'put', key: 'k', value: 'v' });
    for (let id = 0; id < fx.n; id++) net.request(id, cmd);
    net.deliverAll();
    expect(okReplies(net, 1)).toEqual([1, 2, 3]);
    // Asked again after it executed, every replica (the leader too) answers from the session table.
    net.replies.length = 0;
    for (let id = 0; id < fx.n; id++) net.request(id, cmd);
    net.deliverAll();
    expect(okReplies(net, 1)).toEqual([0, 1, 2, 3]);
  });
});

describe('an acceptor never signs Verify for two different digests in one (ballot, slot)', () => {
  it('refuses a conflicting Accept, counts it, and still refuses after a restart', () => {
    const net = new Net(fx);
    const a = batchOf(command(fx, 1, 1, { type: 'put', key: 'x', value: 'A' }));
    const b = batchOf(command(fx, 1, 1, { type: 'put', key: 'x', value: 'B' }));
    const acceptA = seal(fx, 0, accept(0, a));
    const acceptB = seal(fx, 0, accept(0, b));

    const first = net.deliver(1, 0, acceptA);
    expect(sentOfType(fx, first, 'verify').map((v) => hex(v.digest))).toEqual([digestHex(a)]);
    // The vote is persisted before it leaves.
    const persistAt = first.findIndex((e) => e.type === 'persist' && e.record.type === 'verified');
    const sendAt = first.findIndex((e) => e.type === 'broadcast');
    expect(persistAt).toBeGreaterThanOrEqual(0);
    expect(persistAt).toBeLessThan(sendAt);

    const second = net.deliver(1, 0, acceptB);
    expect(sentOfType(fx, second, 'verify')).toEqual([]);
    expect(dropped(net.nodes[1]!, 'accept:conflicting-accept')).toBe(1);

    // Restart from what was persisted: the signed digest survives and binds the node.
    expect(hex(net.storages[1]!.load().byzantine.verified.get(verifiedKey(1, 0))!)).toBe(digestHex(a));
    net.boot(1);
    expect(net.nodes[1]!.stats.dropped.size).toBe(0); // a genuinely new instance
    const afterRestart = net.deliver(1, 0, acceptB);
    expect(sentOfType(fx, afterRestart, 'verify')).toEqual([]);
    expect(dropped(net.nodes[1]!, 'accept:would-equivocate')).toBe(1);
    // ...while the digest it did sign is still vouched for.
    const again = net.deliver(1, 0, acceptA);
    expect(sentOfType(fx, again, 'verify').map((v) => hex(v.digest))).toEqual([digestHex(a)]);
  });
});

describe('Accept checks: no Verify for an Accept that fails any of them', () => {
  const good = command(fx, 1, 1, { type: 'put', key: 'k', value: 'v' });
  const forged: Command = { ...good, signature: flipSignature({ type: 'signed', signer: 0, payload: new Uint8Array(0), signature: good.signature }).signature };
  const unknownClient = command(fx, 1, 1, { type: 'put', key: 'k', value: 'v' });
  const cases: { name: string; from: number; msg: () => SignedEnvelope; reason: string }[] = [
    { name: 'signed by a node that does not lead the ballot', from: 2, msg: () => seal(fx, 2, accept(0, batchOf(good))), reason: 'accept:not-leader' },
    { name: 'claiming a ballot whose leader is someone else', from: 2, msg: () => seal(fx, 2, accept(0, batchOf(good), { round: 1, leader: 2 })), reason: 'accept:not-leader' },
    { name: 'for a ballot the node has not joined', from: 1, msg: () => seal(fx, 1, accept(0, batchOf(good), ballot(2))), reason: 'accept:not-joined' },
    { name: 'carrying a command with a bad client signature', from: 0, msg: () => seal(fx, 0, accept(0, batchOf(forged))), reason: 'accept:bad-client-signature' },
    { name: 'carrying a command of an unknown client', from: 0, msg: () => seal(fx, 0, accept(0, batchOf({ ...unknownClient, clientId: 77 }))), reason: 'accept:bad-client-signature' },
    { name: 'at the high watermark', from: 0, msg: () => seal(fx, 0, accept(fx.config.watermarkSlots, batchOf(good))), reason: 'accept:out-of-watermarks' },
    { name: 'far beyond the watermarks', from: 0, msg: () => seal(fx, 0, accept(1_000_000, batchOf(good))), reason: 'accept:out-of-watermarks' },
  ];
  for (const c of cases) {
    it(`drops and counts an Accept ${c.name}`, () => {
      const net = new Net(fx);
      const effects = net.deliver(3, c.from, c.msg());
      expect(sentOfType(fx, effects, 'verify')).toEqual([]);
      expect(persisted(effects).filter((r) => r.type === 'verified')).toEqual([]);
      expect(dropped(net.nodes[3]!, c.reason)).toBe(1);
      // The same node does verify a proper Accept for that slot afterwards.
      const fine = net.deliver(3, 0, seal(fx, 0, accept(0, batchOf(good))));
      expect(sentOfType(fx, fine, 'verify').map((v) => v.slot)).toEqual([0]);
    });
  }
});

describe('validated proposals (seed 000 §6)', () => {
  const good = command(fx, 1, 1, { type: 'put', key: 'k', value: 'v' });
  const refused = command(fx, 2, 1, { type: 'put', key: 'k', value: `${REFUSED_MARK}!` });

  it('an acceptor never Verifies a batch holding a command its application refuses, and counts it', () => {
    const net = new Net(fx, () => new RefusingKv());
    const effects = net.deliver(3, 0, seal(fx, 0, accept(0, batchOf(good, refused))));
    expect(sentOfType(fx, effects, 'verify')).toEqual([]);
    expect(persisted(effects).filter((r) => r.type === 'verified')).toEqual([]);
    expect(dropped(net.nodes[3]!, 'accept:invalid-batch')).toBe(1);
    const fine = net.deliver(3, 0, seal(fx, 0, accept(0, batchOf(good))));
    expect(sentOfType(fx, fine, 'verify').map((v) => v.slot)).toEqual([0]);
  });

  it('a replica refuses a request its application refuses, saying why: as leader it never proposes it, and it never waits for it', () => {
    const net = new Net(fx, () => new RefusingKv());
    const effects = net.request(0, refused);
    const replies = effects.flatMap((e) => (e.type === 'reply' ? [e.msg] : []));
    expect(replies.map((r) => r.status)).toEqual(['refused']);
    expect(new TextDecoder().decode(replies[0]!.result)).toBe('the application refuses this op');
    expect(net.request(1, refused).flatMap((e) => (e.type === 'reply' ? [e.msg.status] : []))).toEqual(['refused']);
    expect(sentOfType(fx, effects, 'accept')).toEqual([]);
    expect(effects.filter((e) => e.type === 'setTimer' && e.timer === 'progress')).toEqual([]);
    expect(dropped(net.nodes[0]!, 'request:invalid-command')).toBe(1);
    // The leader it is proposes a valid request at once.
    expect(sentOfType(fx, net.request(0, good), 'accept').map((a) => a.batch.commands.length)).toEqual([1]);
  });

  it('the key-value store refuses nothing: the same Accept is verified', () => {
    const net = new Net(fx);
    expect(sentOfType(fx, net.deliver(3, 0, seal(fx, 0, accept(0, batchOf(good, refused)))), 'verify')).toHaveLength(1);
  });
});

describe('quorum thresholds', () => {
  const a = batchOf(command(fx, 1, 1, { type: 'put', key: 'k', value: 'a' }));
  const other = batchOf(command(fx, 2, 1, { type: 'put', key: 'k', value: 'z' }));

  it('no prepared certificate (no Accepted) before 2f+1 matching Verify, own included', () => {
    const net = new Net(fx);
    const noAccepted = (effects: Effect[]) => expect(sentOfType(fx, effects, 'accepted')).toEqual([]);
    noAccepted(net.deliver(1, 0, seal(fx, 0, accept(0, a)))); // own Verify: 1
    noAccepted(net.deliver(1, 2, verifyVote(fx, 2, B1, 0, a))); // 2 matching
    noAccepted(net.deliver(1, 3, verifyVote(fx, 3, B1, 0, other))); // a third Verify, for another digest
    noAccepted(net.deliver(1, 3, verifyVote(fx, 3, B1, 0, a))); // n3 changing its mind is equivocation
    expect(dropped(net.nodes[1]!, 'verify:equivocation')).toBe(1);
    noAccepted(net.deliver(1, 2, verifyVote(fx, 2, ballot(2), 0, a))); // a Verify of another ballot does not count
    noAccepted(net.deliver(1, 2, verifyVote(fx, 2, B1, 0, a))); // nor does a duplicate

    const third = net.deliver(1, 0, verifyVote(fx, 0, B1, 0, a)); // 3 = 2f+1 matching
    expect(sentOfType(fx, third, 'accepted').map((m) => [m.slot, hex(m.digest)])).toEqual([[0, digestHex(a)]]);
    const certs = persisted(third).flatMap((r) => (r.type === 'prepared' ? [r.certificate] : []));
    expect(certs).toHaveLength(1);
    expect(certs[0]!.verifies.map((e) => e.signer).sort()).toEqual([0, 1, 2]);
    expect(validPrepared(certificateContext(fx), certs[0]!)).toBe(true);
  });

  it('2f+1 matching Verify from others do not prepare a node that never saw the Accept', () => {
    const net = new Net(fx);
    for (const from of [0, 1, 3]) expect(sentOfType(fx, net.deliver(2, from, verifyVote(fx, from, B1, 0, a)), 'accepted')).toEqual([]);
    // The Accept arrives late: its own Verify completes the certificate at once.
    const late = net.deliver(2, 0, seal(fx, 0, accept(0, a)));
    expect(sentOfType(fx, late, 'accepted').map((m) => m.slot)).toEqual([0]);
  });

  it('a learner does not decide on 2f matching Accepted', () => {
    const net = new Net(fx);
    const decided = (effects: Effect[]) => effects.filter((e) => e.type === 'decide');
    net.deliver(2, 0, seal(fx, 0, accept(0, a))); // knows the batch
    expect(decided(net.deliver(2, 0, acceptedVote(fx, 0, B1, 0, a)))).toEqual([]);
    expect(decided(net.deliver(2, 3, acceptedVote(fx, 3, B1, 0, a)))).toEqual([]);
    expect(decided(net.deliver(2, 1, acceptedVote(fx, 1, B1, 0, other)))).toEqual([]); // 2f+1 Accepted, not matching
    expect(net.nodes[2]!.decidedUpTo).toBe(0);
    // n1 cannot switch its vote within the ballot.
    expect(decided(net.deliver(2, 1, acceptedVote(fx, 1, B1, 0, a)))).toEqual([]);
    expect(dropped(net.nodes[2]!, 'accepted:equivocation')).toBe(1);
  });

  it('a learner decides on 2f+1 matching Accepted of one ballot', () => {
    const net = new Net(fx);
    net.deliver(2, 0, seal(fx, 0, accept(0, a)));
    net.deliver(2, 0, acceptedVote(fx, 0, B1, 0, a));
    net.deliver(2, 3, acceptedVote(fx, 3, B1, 0, a));
    const third = net.deliver(2, 1, acceptedVote(fx, 1, B1, 0, a));
    expect(third.filter((e) => e.type === 'decide').map((e) => e.type === 'decide' && [e.slot, digestHex(e.batch)])).toEqual([[0, digestHex(a)]]);
    // The decision is persisted with its proof: 2f+1 Accepted.
    const entries = persisted(third).flatMap((r) => (r.type === 'certified' ? [r.entry] : []));
    expect(entries.map((e) => e.accepteds.length)).toEqual([3]);
  });

  it('a learner does not decide on 2f+1 matching Accepted from different ballots', () => {
    const net = new Net(fx);
    const decided = (effects: Effect[]) => effects.filter((e) => e.type === 'decide');
    net.deliver(3, 0, seal(fx, 0, accept(0, a))); // knows the batch
    expect(decided(net.deliver(3, 0, acceptedVote(fx, 0, ballot(1), 0, a)))).toEqual([]);
    expect(decided(net.deliver(3, 1, acceptedVote(fx, 1, ballot(2), 0, a)))).toEqual([]);
    expect(decided(net.deliver(3, 2, acceptedVote(fx, 2, ballot(3), 0, a)))).toEqual([]);
    expect(net.nodes[3]!.decidedUpTo).toBe(0);
    // Each acceptor's latest vote counts: once 2f+1 of them are in ballot 3, the slot is decided.
    expect(decided(net.deliver(3, 1, acceptedVote(fx, 1, ballot(3), 0, a)))).toEqual([]);
    expect(decided(net.deliver(3, 0, acceptedVote(fx, 0, ballot(3), 0, a))).map((e) => e.type === 'decide' && e.slot)).toEqual([0]);
  });
});

describe('envelopes: forged, mislabelled or garbage input is dropped and counted, never thrown', () => {
  const genuine = () => verifyVote(fx, 2, B1, 0, NOOP);

  it('a signer field that differs from the authenticated sender is impersonation', () => {
    const net = new Net(fx);
    expect(net.deliver(1, 3, genuine())).toEqual([]);
    expect(dropped(net.nodes[1]!, 'signed:impersonation')).toBe(1);
    expect(net.nodes[1]!.stats.received.get('verify') ?? 0).toBe(0);
  });

  it('a flipped signature byte (in R or in S) is a bad signature', () => {
    const net = new Net(fx);
    expect(net.deliver(1, 2, flipSignature(genuine(), 0))).toEqual([]);
    expect(net.deliver(1, 2, flipSignature(genuine(), 40))).toEqual([]);
    expect(dropped(net.nodes[1]!, 'signed:bad-signature')).toBe(2);
    // The genuine one is received.
    net.deliver(1, 2, genuine());
    expect(net.nodes[1]!.stats.received.get('verify')).toBe(1);
  });

  it('a flipped payload byte, another cluster’s signature or another type’s signature is a bad signature', () => {
    const net = new Net(fx);
    const env = genuine();
    const payload = env.payload.slice();
    payload[payload.length - 1]! ^= 0x01; // inside the digest: still decodes
    expect(net.deliver(1, 2, { ...env, payload })).toEqual([]);
    // Same member keys, no clients: another cluster, another cluster id; its signatures do not carry over.
    const foreignId = clusterIdOf({ ...fx.cluster, clients: [] });
    expect(bytesEqual(foreignId, fx.clusterId)).toBe(false);
    const foreignSig = signMessage(nativeBackend, fx.memberKeys[2]!.secretKey, foreignId, 'verify', env.payload);
    expect(net.deliver(1, 2, { ...env, signature: foreignSig })).toEqual([]);
    const wrongType = signMessage(nativeBackend, fx.memberKeys[2]!.secretKey, fx.clusterId, 'accepted', env.payload);
    expect(net.deliver(1, 2, { ...env, signature: wrongType })).toEqual([]);
    expect(dropped(net.nodes[1]!, 'signed:bad-signature')).toBe(3);
    expect(net.nodes[1]!.stats.received.size).toBe(0);
  });

  it('a garbage payload is dropped, even when properly signed', () => {
    const net = new Net(fx);
    const garbage = new Uint8Array([1, 250, 7, 7, 7]);
    const signature = signMessage(nativeBackend, fx.memberKeys[2]!.secretKey, fx.clusterId, 'verify', garbage);
    expect(net.deliver(1, 2, { type: 'signed', signer: 2, payload: garbage, signature })).toEqual([]);
    expect(net.deliver(1, 2, { type: 'signed', signer: 2, payload: new Uint8Array(0), signature: new Uint8Array(0) })).toEqual([]);
    // A client request or a nested envelope, signed by a member, is not a node message either.
    const signedAs = (type: string, payload: Uint8Array): SignedEnvelope => ({
      type: 'signed',
      signer: 2,
      payload,
      signature: signMessage(nativeBackend, fx.memberKeys[2]!.secretKey, fx.clusterId, type, payload),
    });
    const request: ClientRequest = { type: 'request', command: command(fx, 1, 1, { type: 'get', key: 'k' }) };
    expect(net.deliver(1, 2, signedAs('request', encodeMessage(request)))).toEqual([]);
    expect(net.deliver(1, 2, signedAs('signed', encodeMessage(genuine())))).toEqual([]);
    expect(dropped(net.nodes[1]!, 'signed:bad-signature')).toBe(4);
    expect(net.nodes[1]!.stats.received.size).toBe(0);
  });

  it('unsigned messages, unknown senders and crash-mode messages are dropped', () => {
    const net = new Net(fx);
    expect(net.deliver(1, 2, { type: 'verify', ballot: B1, slot: 0, digest: batchDigest(NOOP) })).toEqual([]);
    expect(dropped(net.nodes[1]!, 'verify:unsigned')).toBe(1);
    expect(net.deliver(1, 4, genuine())).toEqual([]);
    expect(net.deliver(1, -1, genuine())).toEqual([]);
    expect(net.deliver(1, 1, seal(fx, 1, { type: 'verify', ballot: B1, slot: 0, digest: batchDigest(NOOP) }))).toEqual([]);
    expect(dropped(net.nodes[1]!, 'any:bad-sender')).toBe(3);
    expect(net.deliver(1, 2, seal(fx, 2, { type: 'prepare', ballot: B1, fromSlot: 0 }))).toEqual([]);
    expect(dropped(net.nodes[1]!, 'prepare:wrong-mode')).toBe(1);
  });

  it('random envelopes never throw and never make a node speak (300 cases)', () => {
    const net = new Net(fx);
    const before = net.nodes[1]!.stats.received.size;
    fc.assert(
      fc.property(
        fc.integer({ min: -2, max: 6 }),
        fc.integer({ min: 0, max: 6 }),
        fc.uint8Array({ maxLength: 200 }),
        fc.uint8Array({ minLength: 0, maxLength: 70 }),
        (from, signer, payload, signature) => {
          const effects = net.deliver(1, from, { type: 'signed', signer, payload, signature });
          return effects.length === 0;
        },
      ),
      { numRuns: 300, seed: 424242 },
    );
    expect(net.nodes[1]!.stats.received.size).toBe(before);
    const total = [...net.nodes[1]!.stats.dropped.values()].reduce((s, v) => s + v, 0);
    expect(total).toBe(300);
  });
});

describe('leader change: NewBallot is recomputed by every acceptor', () => {
  // Round 3 is led by n2. Slot 0 was prepared in round 1 (value A) and in round 2 (value B);
  // slot 2 in round 1 (value C); slot 1 never: the new leader must re-propose B, a no-op, C.
  const B3 = ballot(3);
  const A = batchOf(command(fx, 1, 1, { type: 'put', key: 's0', value: 'A' }));
  const B = batchOf(command(fx, 2, 1, { type: 'put', key: 's0', value: 'B' }));
  const C = batchOf(command(fx, 1, 2, { type: 'put', key: 's2', value: 'C' }));
  const certA = prepared(fx, ballot(1), 0, A, [0, 1, 2]);
  const certB = prepared(fx, ballot(2), 0, B, [1, 2, 3]);
  const certC = prepared(fx, ballot(1), 2, C, [0, 2, 3]);
  const promises = [promise(fx, 0, B3, [certA, certC]), promise(fx, 1, B3, [certB]), promise(fx, 2, B3, [])];
  const newBallot = (signer: number, ps: readonly SignedEnvelope[], b = B3) => seal(fx, signer, { type: 'new-ballot', ballot: b, promises: ps });

  const tampered: PreparedCertificate = { ...certB, batch: A }; // B's Verify signatures, A's batch
  const rejected: { name: string; from: number; msg: () => SignedEnvelope }[] = [
    { name: 'fewer than 2f+1 promises', from: 2, msg: () => newBallot(2, promises.slice(0, 2)) },
    { name: 'the same promiser twice', from: 2, msg: () => newBallot(2, [promises[0]!, promises[0]!, promises[1]!]) },
    { name: 'a promise for another ballot', from: 2, msg: () => newBallot(2, [promises[0]!, promise(fx, 1, ballot(2), [certA]), promises[2]!]) },
    { name: 'a promise with a tampered prepared certificate', from: 2, msg: () => newBallot(2, [promises[0]!, promise(fx, 1, B3, [tampered]), promises[2]!]) },
    { name: 'a prepared certificate from the new ballot itself', from: 2, msg: () => newBallot(2, [promises[0]!, promise(fx, 1, B3, [prepared(fx, B3, 0, A)]), promises[2]!]) },
    { name: 'a promise whose signature was tampered with', from: 2, msg: () => newBallot(2, [promises[0]!, flipSignature(promises[1]!), promises[2]!]) },
    { name: 'signed by a node that does not lead the ballot', from: 1, msg: () => newBallot(1, promises) },
    { name: 'for a ballot whose leader field is wrong', from: 1, msg: () => newBallot(1, promises, { round: 3, leader: 1 }) },
  ];
  for (const c of rejected) {
    it(`rejects a NewBallot with ${c.name}; the node does not join`, () => {
      const net = new Net(fx);
      const effects = net.deliver(3, c.from, c.msg());
      expect(dropped(net.nodes[3]!, 'new-ballot:unjustified')).toBe(1);
      expect(net.nodes[3]!.ballot).toEqual(B1);
      expect(persisted(effects).filter((r) => r.type === 'joined')).toEqual([]);
      expect(sentOfType(fx, effects, 'verify')).toEqual([]);
      expect(net.storages[3]!.load().byzantine.joined).toBeNull();
    });
  }

  it('joins on a valid NewBallot and re-proposes the highest-ballot prepared value per slot, no-ops for gaps', () => {
    const net = new Net(fx);
    const effects = net.deliver(3, 2, newBallot(2, promises));
    expect(dropped(net.nodes[3]!, 'new-ballot:unjustified')).toBe(0);
    expect(net.nodes[3]!.ballot).toEqual(B3);
    expect(net.storages[3]!.load().byzantine.joined?.round).toBe(3);
    const verifies = sentOfType(fx, effects, 'verify');
    expect(verifies.map((v) => [v.ballot.round, v.slot, hex(v.digest)])).toEqual([
      [3, 0, digestHex(B)],
      [3, 1, digestHex(NOOP)],
      [3, 2, digestHex(C)],
    ]);
    // Bound by it: a conflicting Accept for a settled slot in the new ballot gets no Verify.
    const conflicting = net.deliver(3, 2, seal(fx, 2, accept(0, A, B3)));
    expect(sentOfType(fx, conflicting, 'verify')).toEqual([]);
    expect(dropped(net.nodes[3]!, 'accept:conflicting-accept')).toBe(1);
  });

  it('joins on the leader\'s NewBallot passed on by another node (it stands on its own signatures); other relayed types stay impersonation', () => {
    const net = new Net(fx);
    net.deliver(3, 0, newBallot(2, promises));
    expect(net.nodes[3]!.ballot).toEqual(B3);
    expect(dropped(net.nodes[3]!, 'signed:impersonation')).toBe(0);
    net.deliver(3, 0, promise(fx, 1, B3, [certB]));
    expect(dropped(net.nodes[3]!, 'signed:impersonation')).toBe(1);
  });

  it('passes its NewBallot to a node still promising for an older ballot (back from a restart), which then joins', () => {
    const net = new Net(fx);
    const nb = newBallot(2, promises);
    net.deliver(3, 2, nb);
    const effects = net.deliver(3, 0, promise(fx, 0, ballot(2), []));
    const relayed = effects.flatMap((e) => (e.type === 'send' && e.to === 0 && e.msg.type === 'signed' ? [e.msg] : []));
    expect(relayed).toEqual([nb]);
    net.deliver(0, 3, relayed[0]!);
    expect(net.nodes[0]!.ballot).toEqual(B3);
  });

  it('proves a split promise: one version inside a NewBallot, another sent to this node directly', () => {
    const net = new Net(fx);
    net.deliver(3, 1, promise(fx, 1, B3, []));
    const effects = net.deliver(3, 2, newBallot(2, promises));
    const proofs = effects.flatMap((e) => (e.type === 'evidence' ? [e.evidence] : []));
    expect(proofs.map((e) => e.kind === 'equivocation' && [e.first.signer, e.second.signer])).toEqual([[1, 1]]);
  });

  it('promise order does not matter: the highest ballot wins wherever it appears', () => {
    const net = new Net(fx);
    const reordered = [promise(fx, 1, B3, [certB]), promise(fx, 3, B3, [certA, certC]), promise(fx, 2, B3, [])];
    const verifies = sentOfType(fx, net.deliver(0, 2, newBallot(2, reordered)), 'verify');
    expect(verifies.find((v) => v.slot === 0)?.digest).toEqual(batchDigest(B));
  });
});

describe('checkPublicKey: the cluster refuses unusable member keys', () => {
  const members = [0, 1, 2, 3].map((id) => ({ id, publicKey: testKey('member', id).publicKey }));
  const base: ClusterConfig = { f: 1, members, clients: [{ id: 1, publicKey: testKey('client', 1).publicKey }] };
  const oneLine = (fn: () => void): string => {
    try {
      fn();
    } catch (e) {
      return (e as Error).message;
    }
    return '<no error>';
  };

  it('accepts the genuine configuration', () => {
    expect(() => validateCluster(base)).not.toThrow();
  });

  it('rejects a small-order member key with a one-line message', () => {
    const identity = new Uint8Array(32);
    identity[0] = 1; // the neutral point: order 1
    const message = oneLine(() => validateCluster({ ...base, members: members.map((m) => (m.id === 1 ? { id: 1, publicKey: identity } : m)) }));
    expect(message).toMatch(/member 1 .*small order/);
    expect(message).not.toContain('\n');
  });

  it('rejects a duplicate key with a one-line message', () => {
    const dup = members.map((m) => (m.id === 2 ? { id: 2, publicKey: members[1]!.publicKey } : m));
    const message = oneLine(() => validateCluster({ ...base, members: dup }));
    expect(message).toMatch(/member 2 .*reuses/);
    expect(message).not.toContain('\n');
    const clientReuse = oneLine(() => validateCluster({ ...base, clients: [{ id: 1, publicKey: members[0]!.publicKey }] }));
    expect(clientReuse).toMatch(/client 1 .*reuses/);
    expect(clientReuse).not.toContain('\n');
  });
});

describe('progress watchdog: a slow leader is not a faulty one (seed 000 §4: replace a leader that does not order a command)', () => {
  const x = command(fx, 1, 1, { type: 'put', key: 'x', value: '1' });
  const y = command(fx, 2, 1, { type: 'put', key: 'y', value: '1' });
  const z = command(fx, 2, 2, { type: 'put', key: 'z', value: '1' });
  const progress = (net: Net): Effect[] => net.step(1, { type: 'timeout', timer: 'progress' });
  const suspects = (effects: Effect[]): number => sentOfType(fx, effects, 'suspect').length;
  /** n1 takes slot `slot` with `batch` from n0 and, when `decide`, the 2f+1 Accepted that decide it. */
  const slotAt = (net: Net, slot: number, batch: Batch, decide: boolean): void => {
    net.deliver(1, 0, seal(fx, 0, accept(slot, batch)));
    if (!decide) return;
    for (const from of [0, 2]) net.deliver(1, from, verifyVote(fx, from, B1, slot, batch));
    for (const from of [0, 2, 3]) net.deliver(1, from, acceptedVote(fx, from, B1, slot, batch));
  };

  it('a waiting command the leader has proposed, in a period that executed other slots, is no reason to suspect', () => {
    const net = new Net(fx);
    net.request(1, x);
    slotAt(net, 0, batchOf(y), true);
    slotAt(net, 1, batchOf(x), false);
    expect(net.nodes[1]!.decidedUpTo).toBe(1);
    expect(suspects(progress(net))).toBe(0);
    // A period in which nothing executed: the leader is holding slot 1 back, or cut off.
    expect(suspects(progress(net))).toBe(1);
  });

  it('a command the leader leaves out while it orders others is suspected after one period of grace', () => {
    const net = new Net(fx);
    net.request(1, x);
    slotAt(net, 0, batchOf(y), true);
    expect(suspects(progress(net))).toBe(0); // it may not have reached the leader yet
    slotAt(net, 1, batchOf(z), true);
    expect(net.nodes[1]!.decidedUpTo).toBe(2);
    expect(suspects(progress(net))).toBe(1);
  });

  it('the grace for an unproposed command is per stall: after a period with nothing waiting, the next one gets it again', () => {
    const net = new Net(fx);
    net.request(1, x);
    slotAt(net, 0, batchOf(y), true);
    expect(suspects(progress(net))).toBe(0); // x: its period of grace
    slotAt(net, 1, batchOf(x), true); // x executes after all
    expect(suspects(progress(net))).toBe(0); // nothing waited through this period
    const w = command(fx, 1, 2, { type: 'put', key: 'w', value: '1' });
    net.request(1, w);
    slotAt(net, 2, batchOf(z), true);
    expect(suspects(progress(net))).toBe(0); // w gets its own period of grace
    slotAt(net, 3, batchOf(command(fx, 2, 3, { type: 'put', key: 'v', value: '1' })), true);
    expect(suspects(progress(net))).toBe(1);
  });

  it('a command in a slot decided without it is not counted as proposed', () => {
    const net = new Net(fx);
    net.request(1, x);
    // n1 took x's Accept for slot 0, but the others decided another batch there (n0 equivocated);
    // n1 learns the decision, with its 2f+1 Accepted, from a catch-up reply.
    net.deliver(1, 0, seal(fx, 0, accept(0, batchOf(x))));
    const accepteds = [0, 2, 3].map((from) => acceptedVote(fx, from, B1, 0, batchOf(y)));
    net.deliver(1, 2, seal(fx, 2, { type: 'certified-catchup-reply', entries: [{ slot: 0, batch: batchOf(y), accepteds }], decidedUpTo: 1 }));
    expect(net.nodes[1]!.decidedUpTo).toBe(1);
    expect(suspects(progress(net))).toBe(0); // one period of grace, as for any unproposed command
    slotAt(net, 1, batchOf(z), true);
    expect(suspects(progress(net))).toBe(1);
  });
});

// Not a rule of its own, but every test above leans on it: the fixture's nodes are honest ByzantineNodes.
it('fixture sanity: the nodes are ByzantineNodes in ballot (1, n0), n0 leading', () => {
  const net = new Net(fx);
  expect(net.nodes.every((n) => n instanceof ByzantineNode)).toBe(true);
  expect(net.nodes.map((n) => n.isLeader)).toEqual([true, false, false, false]);
});
