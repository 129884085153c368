// Shared fixtures for the Byzantine-mode rule tests: a 3f+1 cluster with deterministic keys, an
// Authenticator per member (so a test can sign anything any member could), signed client
// commands, hand-made votes and certificates, and a tiny hand-driven network of ByzantineNodes
// where the test decides which envelope goes where.
import type { Ballot, Batch, ClientId, Command, NodeId, Slot } from '../../../src/base/types.ts';
import { KvStore, encodeKvOp, type KvOp } from '../../../src/app/kv.ts';
import type { Effect, PersistRecord } from '../../../src/core/effects.ts';
import { SeededRng } from '../../../src/core/rng.ts';
import { nodeEntropy } from '../../../src/sim/modes.ts';
import { batchDigest } from '../../../src/messages/codec.ts';
import type {
  CertifiedPromise,
  CheckpointCertificate,
  PeerMessage,
  PreparedCertificate,
  SignedEnvelope,
} from '../../../src/messages/types.ts';
import { Authenticator, signCommand, type SignedPayload } from '../../../src/modes/byzantine/auth.ts';
import type { CertificateContext } from '../../../src/modes/byzantine/certificates.ts';
import { clusterIdOf, leaderOf, validateCluster, type ClusterConfig } from '../../../src/modes/byzantine/cluster.ts';
import { defaultByzantineConfig, type ByzantineConfig } from '../../../src/modes/byzantine/config.ts';
import { ByzantineNode } from '../../../src/modes/byzantine/node.ts';
import { secondVoteOf } from '../../../src/modes/build.ts';
import { ManualNetwork } from '../../../src/sim/manual-network.ts';
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

/** The hand-driven network (src/sim/manual-network.ts) of this fixture's ByzantineNodes. */
export class Net extends ManualNetwork<ByzantineNode> {
  readonly fx: Fixture;
  readonly apps: KvStore[];

  /** `makeApp`: each node's application (RefusingKv for validated proposals). */
  constructor(fx: Fixture, makeApp: () => KvStore = () => new KvStore()) {
    const apps: KvStore[] = [];
    super(fx.n, (id, state, boot) => {
      const app = (apps[id] = makeApp());
      // Each incarnation draws fresh secrets.
      return new ByzantineNode({ id, config: fx.config, auth: fx.auths[id]!, state, rng: new SeededRng(4321, id), entropy: nodeEntropy(4321, id, boot), app, secondVote: secondVoteOf(fx.config.mode) });
    });
    this.fx = fx;
    this.apps = apps;
  }
}

export function dropped(node: { readonly stats: { readonly dropped: Map<string, number> } }, key: string): number {
  return node.stats.dropped.get(key) ?? 0;
}
