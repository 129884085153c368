// How the simulator builds the nodes and clients of each mode, from the pieces the deployed
// runtime uses too (src/modes/build.ts). Byzantine mode derives every key from the run's seed, and
// every secret a node draws (commitment keys) from the seed, node and incarnation, so a run stays
// a pure function of its seed. A deployment draws its secrets from the system CSPRNG instead.
import { buildByzantine, buildCrash, byzantineNodeOptions, commandSigner, crashNodeOptions, makeClient } from '../modes/build.ts';
import type { AppFactory } from '../app/apps.ts';
import type { Mode } from '../base/mode.ts';
import type { Client } from '../core/client.ts';
import type { CoreConfig, Reconfiguration } from '../core/config.ts';
import type { ConfigurationHistory } from '../core/configuration.ts';
import { PaxosNode, type NodeOptions } from '../core/node.ts';
import { AuxiliaryNode } from '../core/auxiliary.ts';
import { isAuxiliary } from '../core/cheap.ts';
import type { ProtocolNode } from '../core/protocol.ts';
import { byzantineQuorums, type QuorumSpec } from '../core/quorum.ts';
import { SeededRng } from '../core/rng.ts';
import type { ClientId, Command, NodeId, SessionId } from '../base/types.ts';
import { Verifier, type Authenticator } from '../modes/byzantine/auth.ts';
import type { ClusterConfig } from '../modes/byzantine/cluster.ts';
import { universeQuorums, type ByzantineConfig } from '../modes/byzantine/config.ts';
import { ByzantineNode } from '../modes/byzantine/node.ts';
import type { PersistentState } from '../core/storage.ts';
import type { Adversary } from '../adversary/adversary.ts';
import { keyPairFromSeed, nativeBackend, type KeyPair } from '../../crypto/ed25519.ts';
import { cachedVerifier, type CachedVerifier } from '../../crypto/envelope.ts';
import { analyse, type Forensics, type Transcript } from '../evidence/forensics.ts';
import { domainDigest } from '../../crypto/digest.ts';
import { derivedEntropy, type Entropy } from '../../crypto/entropy.ts';

export interface ModeSetup {
  readonly mode: Mode;
  readonly n: number;
  readonly f: number;
  /** A static cluster's quorums (crash mode: flexible ones included). */
  readonly quorums: QuorumSpec;
  /** Who signs with which key (Byzantine modes): what evidence is checked against. Null in crash mode. */
  readonly cluster: ClusterConfig | null;
  /** `rng` schedules; `entropy` makes the node's secrets (Byzantine modes; crash mode has none). */
  makeNode(id: NodeId, state: PersistentState, rng: SeededRng, entropy: Entropy): ProtocolNode;
  makeClient(clientId: ClientId, session: SessionId, rng: SeededRng): Client;
  /** Signatures made and checked so far, over every node and client of the run. */
  signatureCounts(): { signs: number; verifies: number };
  /** The checker's validity rule: does a decided command carry its client's valid signature? */
  signedByClient(command: Command): boolean;
  /** Forensics over what honest members hold (Byzantine modes); null in crash mode. */
  analyse(transcript: Transcript): Forensics | null;
}

export function crashSetup(f: number, config: Partial<CoreConfig> | undefined, makeNode?: (o: NodeOptions) => PaxosNode, app?: AppFactory): ModeSetup {
  const build = buildCrash(f, config, app);
  return {
    mode: 'crash',
    n: build.n,
    f,
    quorums: build.config.quorums,
    cluster: null,
    makeNode: (id, state, rng) => {
      // Cheap Paxos auxiliaries are acceptors only; `makeNode` (mutants, scripts) builds the main members.
      if (isAuxiliary(build.config, id)) return new AuxiliaryNode({ id, config: build.config, state });
      const options = crashNodeOptions(build, id, state, rng);
      return makeNode?.(options) ?? new PaxosNode(options);
    },
    makeClient: (clientId, session, rng) => makeClient(build, clientId, session, rng, null),
    signatureCounts: () => ({ signs: 0, verifies: 0 }),
    signedByClient: () => true,
    analyse: () => null,
  };
}

export interface ByzantineSetupOptions {
  readonly mode: 'byzantine' | 'commit-reveal';
  readonly seed: number;
  readonly f: number;
  readonly clients: number;
  readonly config?: Partial<ByzantineConfig>;
  /** Which nodes are Byzantine, and the strategy each runs. */
  readonly adversaries: ReadonlyMap<NodeId, Adversary>;
  /** Each node's application; default the key-value store. */
  readonly app?: AppFactory;
  /** Membership through the log (`--faults churn`): the universe's nodes all have keys; null or absent, a static cluster. */
  readonly reconfiguration?: Reconfiguration | null;
  /** Lets mutation tests substitute the honest nodes' configuration history. */
  readonly makeConfigurations?: (reconfiguration: Reconfiguration) => ConfigurationHistory;
}

/** The key of a member (`role` 'member', index its id) or client ('client', its id) in the run of `seed`. */
export function simKeyPair(seed: number, role: 'member' | 'client', index: number): KeyPair {
  return keyPairFromSeed(domainDigest('byzpaxos/sim-key/v1', u32(seed), new TextEncoder().encode(role), u32(index)));
}

export function byzantineSetup(options: ByzantineSetupOptions): ModeSetup {
  const reconfiguration = options.reconfiguration ?? null;
  const quorums = reconfiguration === null ? byzantineQuorums(options.f) : universeQuorums(reconfiguration);
  const { n } = quorums;
  const key = (role: 'member' | 'client', index: number): KeyPair => simKeyPair(options.seed, role, index);
  const memberKeys = Array.from({ length: n }, (_, id) => key('member', id));
  // Churn's operator is one client more (churn.ts), with a key like the others.
  const clientKeys = Array.from({ length: options.clients + (reconfiguration === null ? 0 : 1) }, (_, i) => key('client', i + 1));
  const cluster: ClusterConfig = {
    f: options.f,
    members: memberKeys.map((k, id) => ({ id, publicKey: k.publicKey })),
    clients: clientKeys.map((k, i) => ({ id: i + 1, publicKey: k.publicKey })),
  };
  // Verdicts are deterministic, so sharing one cache between the nodes changes no behaviour:
  // each distinct signature is checked once with real crypto, however many nodes see it.
  const backend: CachedVerifier = cachedVerifier(nativeBackend);
  const config = reconfiguration === null ? options.config : { ...options.config, reconfiguration };
  const build = buildByzantine({ mode: options.mode, cluster, config, backend, ...(options.app === undefined ? {} : { app: options.app }) });
  const auths: Authenticator[] = [];
  // Verifies only: the checker signs nothing, so it holds no member's key.
  const checker = new Verifier(cluster, backend);
  const collusion = new Map<string, unknown>();
  let clientSigns = 0;
  return {
    mode: options.mode,
    n,
    f: options.f,
    quorums,
    cluster,
    makeNode: (id, state, rng, entropy) => {
      const built = byzantineNodeOptions(build, id, memberKeys[id]!.secretKey, state, rng, entropy);
      const honest = options.makeConfigurations === undefined ? built : { ...built, makeConfigurations: options.makeConfigurations };
      const { auth } = honest;
      auths.push(auth);
      const adversary = options.adversaries.get(id);
      if (adversary === undefined) return new ByzantineNode(honest);
      return adversary.create({ id, n, f: options.f, rng: new SeededRng(options.seed, 7000 + id), auth, honest, collusion });
    },
    makeClient: (clientId, session, rng) => {
      const sign = commandSigner(build, clientKeys[clientId - 1]!.secretKey);
      return makeClient(build, clientId, session, rng, (command) => {
        clientSigns++;
        return sign(command);
      });
    },
    signatureCounts: () => ({
      signs: clientSigns + auths.reduce((sum, a) => sum + a.stats.signs, 0),
      verifies: auths.reduce((sum, a) => sum + a.stats.verifies, 0),
    }),
    // The checker's own check, outside any node and its counters.
    signedByClient: (command) => checker.verifyCommand(command),
    analyse: (transcript) => analyse(cluster, transcript, backend),
  };
}

/**
 * The secrets of incarnation `incarnation` of node `id` in the run of `seed`: replayable, apart
 * from the scheduling stream, and fresh for each restart.
 */
export function nodeEntropy(seed: number, id: NodeId, incarnation: number): Entropy {
  return derivedEntropy(domainDigest('byzpaxos/sim-entropy/v1', u32(seed), u32(id), u32(incarnation)));
}

function u32(value: number): Uint8Array {
  const bytes = new Uint8Array(4);
  new DataView(bytes.buffer).setUint32(0, value >>> 0);
  return bytes;
}
