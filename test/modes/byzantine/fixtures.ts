// Shared fixtures for the Byzantine-mode rule tests: a 3f+1 cluster with deterministic keys, an
// Authenticator per member (so a test can sign anything any member could), signed client
// commands, hand-made votes and certificates, and a tiny hand-driven network of ByzantineNodes
// where the test decides which envelope goes where.
import type { Ballot, Batch, ClientId, Command, NodeId, Slot } from '../../../src/base/types.ts';
import { KvStore, encodeKvOp, type KvOp } from '../../../src/app/kv.ts';
import type { Effect, Input, PersistRecord, TimerName } from '../../../src/core/effects.ts';
import { SeededRng } from '../../../src/core/rng.ts';
import { nodeEntropy } from '../../../src/sim/modes.ts';
import { batchDigest } from '../../../src/messages/codec.ts';
import type {
  CertifiedPromise,
  CheckpointCertificate,
  ClientReply,
  PeerMessage,
  PreparedCertificate,
  SignedEnvelope,
} from '../../../src/messages/types.ts';
import { Authenticator, signCommand, type SignedPayload } from '../../../src/modes/byzantine/auth.ts';
import type { CertificateContext } from '../../../src/modes/byzantine/certificates.ts';
import { clusterIdOf, leaderOf, validateCluster, type ClusterConfig } from '../../../src/modes/byzantine/cluster.ts';
import { defaultByzantineConfig, type ByzantineConfig } from '../../../src/modes/byzantine/config.ts';
import { ByzantineNode } from '../../../src/modes/byzantine/node.ts';
import { MemoryStorage } from '../../../src/storage/memory.ts';
import { domainDigest } from '../../../crypto/digest.ts';
import { keyPairFromSeed, nativeBackend, type KeyPair, type SignatureBackend } from '../../../crypto/ed25519.ts';

export const CLIENT_IDS: readonly ClientId[] = [1, 2];

export interface Fixture {
  readonly f: number;
  readonly n: number;
  readonly quorum: number;
  readonly backend: SignatureBackend;
  readonly memberKeys: readonly KeyPair[];
  readonly clientKeys: ReadonlyMap<ClientId, KeyPair>;
  readonly cluster: ClusterConfig;
  readonly clusterId: Uint8Array;
  readonly config: ByzantineConfig;
  /** One per member: signs as that member, opens anyone's envelopes. */
  readonly auths: readonly Authenticator[];
}

const utf8 = new TextEncoder();

export function testKey(role: string, index: number): KeyPair {
  return keyPairFromSeed(domainDigest('byzpaxos/test-key/v1', utf8.encode(role), Uint8Array.of(index)));
}

export function makeFixture(f = 1, backend: SignatureBackend = nativeBackend, config: Partial<ByzantineConfig> = {}): Fixture {
  const n = 3 * f + 1;
  const memberKeys = Array.from({ length: n }, (_, id) => testKey('member', id));
  const clientKeys = new Map(CLIENT_IDS.map((id) => [id, testKey('client', id)] as const));
  const cluster: ClusterConfig = {
    f,
    members: memberKeys.map((k, id) => ({ id, publicKey: k.publicKey })),
    clients: [...clientKeys].map(([id, k]) => ({ id, publicKey: k.publicKey })),
  };
  validateCluster(cluster);
  const auths = memberKeys.map((k, id) => new Authenticator(cluster, id, k.secretKey, backend));
  return {
    f,
    n,
    quorum: 2 * f + 1,
    backend,
    memberKeys,
    clientKeys,
    cluster,
    clusterId: clusterIdOf(cluster),
    config: defaultByzantineConfig(f, config),
    auths,
  };
}

export const ballot = (round: number, n = 4): Ballot => ({ round, leader: leaderOf(round, n) });

/** A command signed by its client. */
export function command(fx: Fixture, clientId: ClientId, seq: number, op: KvOp, session = 1): Command {
  const unsigned = { clientId, session, seq, op: encodeKvOp(op) };
  const key = fx.clientKeys.get(clientId)!;
  return { ...unsigned, signature: signCommand(fx.backend, key.secretKey, fx.clusterId, unsigned) };
}

export function batchOf(...commands: Command[]): Batch {
  return { commands };
}

export function seal(fx: Fixture, signer: NodeId, msg: SignedPayload): SignedEnvelope {
  return fx.auths[signer]!.seal(msg);
}

export function verifyVote(fx: Fixture, signer: NodeId, b: Ballot, slot: Slot, batch: Batch): SignedEnvelope {
  return seal(fx, signer, { type: 'verify', ballot: b, slot, digest: batchDigest(batch) });
}

export function acceptedVote(fx: Fixture, signer: NodeId, b: Ballot, slot: Slot, batch: Batch): SignedEnvelope {
  return seal(fx, signer, { type: 'accepted', ballot: b, slot, digest: batchDigest(batch) });
}

export function prepared(fx: Fixture, b: Ballot, slot: Slot, batch: Batch, signers: readonly NodeId[] = [0, 1, 2]): PreparedCertificate {
  return { ballot: b, slot, batch, verifies: signers.map((s) => verifyVote(fx, s, b, slot, batch)) };
}

export function checkpointCert(fx: Fixture, slot: Slot, stateDigest: Uint8Array, signers: readonly NodeId[] = [0, 1, 2]): CheckpointCertificate {
  return { slot, stateDigest, signatures: signers.map((s) => seal(fx, s, { type: 'checkpoint', slot, stateDigest })) };
}

export function promise(
  fx: Fixture,
  signer: NodeId,
  b: Ballot,
  certificates: readonly PreparedCertificate[] = [],
  checkpoint: CheckpointCertificate | null = null,
): SignedEnvelope {
  const msg: CertifiedPromise = { type: 'certified-promise', ballot: b, checkpoint, prepared: certificates };
  return seal(fx, signer, msg);
}

/** How nodes check certificates, from member `viewer`'s point of view. */
export function certificateContext(fx: Fixture, viewer: NodeId = 0): CertificateContext {
  return { n: fx.n, quorum: fx.quorum, open: (e) => fx.auths[viewer]!.open(e) };
}

/** A copy of `envelope` with one bit of its signature flipped. */
export function flipSignature(envelope: SignedEnvelope, index = 0): SignedEnvelope {
  const signature = envelope.signature.slice();
  signature[index]! ^= 0x01;
  return { ...envelope, signature };
}

// --- a hand-driven network ---------------------------------------------------------------

export interface InFlight {
  readonly from: NodeId;
  readonly to: NodeId;
  readonly msg: PeerMessage;
}

/** The signed inner message of an envelope (trusted: the test only looks). */
export function innerOf(fx: Fixture, msg: PeerMessage): SignedPayload | null {
  return msg.type === 'signed' ? fx.auths[msg.signer]!.openOwn(msg) : null;
}

/** Inner messages of every outgoing send/broadcast in `effects`. */
export function sentPayloads(fx: Fixture, effects: readonly Effect[]): SignedPayload[] {
  const out: SignedPayload[] = [];
  for (const e of effects) {
    if (e.type !== 'send' && e.type !== 'broadcast') continue;
    const inner = innerOf(fx, e.msg);
    if (inner !== null) out.push(inner);
  }
  return out;
}

export function sentOfType<T extends SignedPayload['type']>(fx: Fixture, effects: readonly Effect[], type: T): Extract<SignedPayload, { type: T }>[] {
  return sentPayloads(fx, effects).filter((m): m is Extract<SignedPayload, { type: T }> => m.type === type);
}

export function persisted(effects: readonly Effect[]): PersistRecord[] {
  return effects.flatMap((e) => (e.type === 'persist' ? [e.record] : []));
}

/**
 * The driver: applies `persist` effects to each node's MemoryStorage in order, queues sends and
 * broadcasts (FIFO), and records replies, decisions, executions and armed timers.
 */
export class Net {
  readonly fx: Fixture;
  readonly nodes: ByzantineNode[] = [];
  readonly storages: MemoryStorage[] = [];
  readonly apps: KvStore[] = [];
  inFlight: InFlight[] = [];
  readonly replies: { node: NodeId; msg: ClientReply }[] = [];
  readonly decisions: { node: NodeId; slot: Slot; batch: Batch }[] = [];
  readonly executions: { node: NodeId; slot: Slot; command: Command }[] = [];
  readonly timers: Map<TimerName, number>[] = [];
  /** Every (node, effects) the nodes produced, in order. */
  readonly log: { node: NodeId; effects: Effect[] }[] = [];
  /** Boots per node: each incarnation draws fresh secrets. */
  private readonly incarnations: number[] = [];

  constructor(fx: Fixture) {
    this.fx = fx;
    for (let id = 0; id < fx.n; id++) {
      this.storages.push(new MemoryStorage());
      this.timers.push(new Map());
      this.boot(id);
    }
  }

  /** (Re)creates node `id` from what its storage holds: a restart. */
  boot(id: NodeId): Effect[] {
    const app = new KvStore();
    const node = new ByzantineNode({
      id,
      config: this.fx.config,
      auth: this.fx.auths[id]!,
      state: this.storages[id]!.load(),
      rng: new SeededRng(4321, id),
      entropy: nodeEntropy(4321, id, (this.incarnations[id] = (this.incarnations[id] ?? 0) + 1)),
      app,
    });
    this.nodes[id] = node;
    this.apps[id] = app;
    this.timers[id]!.clear();
    return this.drive(id, node.start());
  }

  step(id: NodeId, input: Input): Effect[] {
    return this.drive(id, this.nodes[id]!.step(input));
  }

  /** Hand `msg` to node `to` as if it arrived from `from` on an authenticated channel. */
  deliver(to: NodeId, from: NodeId, msg: PeerMessage): Effect[] {
    return this.step(to, { type: 'message', from, msg });
  }

  request(id: NodeId, cmd: Command): Effect[] {
    return this.step(id, { type: 'request', msg: { type: 'request', command: cmd } });
  }

  /** Deliver queued messages FIFO until none is left. */
  deliverAll(max = 10_000): number {
    let delivered = 0;
    while (this.inFlight.length > 0) {
      if (delivered++ >= max) throw new Error('deliverAll: network did not quiesce');
      const m = this.inFlight.shift()!;
      this.deliver(m.to, m.from, m.msg);
    }
    return delivered;
  }

  private drive(id: NodeId, effects: Effect[]): Effect[] {
    this.log.push({ node: id, effects });
    for (const e of effects) {
      switch (e.type) {
        case 'persist':
          this.storages[id]!.apply([e.record]);
          break;
        case 'send':
          this.inFlight.push({ from: id, to: e.to, msg: e.msg });
          break;
        case 'broadcast':
          for (let to = 0; to < this.fx.n; to++) if (to !== id) this.inFlight.push({ from: id, to, msg: e.msg });
          break;
        case 'reply':
          this.replies.push({ node: id, msg: e.msg });
          break;
        case 'decide':
          this.decisions.push({ node: id, slot: e.slot, batch: e.batch });
          break;
        case 'execute':
          this.executions.push({ node: id, slot: e.slot, command: e.command });
          break;
        case 'setTimer':
          this.timers[id]!.set(e.timer, e.delayMs);
          break;
        case 'clearTimer':
          this.timers[id]!.delete(e.timer);
          break;
      }
    }
    return effects;
  }
}

export function dropped(node: { readonly stats: { readonly dropped: Map<string, number> } }, key: string): number {
  return node.stats.dropped.get(key) ?? 0;
}
