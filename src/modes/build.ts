// How a cluster of each mode is put together: its core configuration, its honest nodes and its
// client sessions. One place for the simulator (src/sim/modes.ts, keys derived from a seed) and the
// deployed runtime and cluster client (src/node/build.ts, keys from a deployment file), so they
// cannot drift apart.
import { kvApp, type AppFactory } from '../app/apps.ts';
import { Client, type ClientOptions } from '../core/client.ts';
import { defaultConfig, type CoreConfig } from '../core/config.ts';
import { isAuxiliary, mainsOf } from '../core/cheap.ts';
import { PaxosNode, type NodeOptions } from '../core/node.ts';
import type { ProtocolNode } from '../core/protocol.ts';
import { SeededRng, type Rng } from '../core/rng.ts';
import type { ClientId, Command, NodeId, SessionId, Slot } from '../base/types.ts';
import { Authenticator, signCommand } from './byzantine/auth.ts';
import { clusterIdOf, validateCluster, type ClusterConfig } from './byzantine/cluster.ts';
import { defaultByzantineConfig, type ByzantineConfig } from './byzantine/config.ts';
import { ByzantineNode, type ByzantineNodeOptions } from './byzantine/node.ts';
import { designatedReplier } from './byzantine/repliers.ts';
import { AcceptedVote, type SecondVoteFactory } from './byzantine/second-vote.ts';
import { RevealVote } from './commit-reveal/reveal-vote.ts';
import type { PersistentState } from '../core/storage.ts';
import type { Adversary } from '../adversary/adversary.ts';
import { nativeBackend, type SignatureBackend } from '../../crypto/ed25519.ts';
import { cachedVerifier } from '../../crypto/envelope.ts';
import type { Entropy } from '../../crypto/entropy.ts';

/** A crash-mode client resends after this long without an answer. */
export const CLIENT_RETRY_MS_CRASH = 150;
/**
 * Byzantine clients broadcast, so every member already holds the command: a resend only helps
 * when one was lost or a member was down, and under load (64 clients, p50 0.2-0.5 s here) a
 * shorter wait resent most commands once, four receives each. They back off from this (client.ts).
 */
export const CLIENT_RETRY_MS_BYZANTINE = 4 * CLIENT_RETRY_MS_CRASH;

/**
 * Crash-mode timing of deployed members: etcd's defaults (heartbeat 100 ms, election 1000 ms,
 * randomized up to twice that). The core's defaults (50 ms; 150-300 ms, the Raft paper's LAN
 * figures) suit the simulator's links; a deployed member shares its cores with its clients and
 * an event loop that may be busy for a while, and with those defaults four member processes at 64
 * clients on this 2-core machine changed leader 45 times in a 20-second run.
 */
export const DEPLOYED_CRASH_TIMING: Partial<CoreConfig> = { heartbeatMs: 100, electionTimeoutMinMs: 1000, electionTimeoutMaxMs: 2000 };

export type CommandSigner = (command: Omit<Command, 'signature'>) => Uint8Array;

// ---------------------------------------------------------------------------------------------
// Mode builds: what a mode needs to make nodes and clients, keys aside.

export interface CrashBuild {
  readonly mode: 'crash';
  readonly n: number;
  readonly f: number;
  readonly config: CoreConfig;
  readonly clientRetryMs: number;
  readonly app: AppFactory;
}

export interface ByzantineBuild {
  readonly mode: 'byzantine' | 'commit-reveal';
  readonly n: number;
  readonly f: number;
  readonly config: ByzantineConfig;
  readonly cluster: ClusterConfig;
  readonly clusterId: Uint8Array;
  /** Signs and verifies for every node and client made from this build. */
  readonly backend: SignatureBackend;
  readonly clientRetryMs: number;
  readonly app: AppFactory;
}

export type ModeBuild = CrashBuild | ByzantineBuild;

export function buildCrash(f: number, overrides?: Partial<CoreConfig>, app: AppFactory = kvApp): CrashBuild {
  const config = defaultConfig(f, overrides);
  // A reconfigurable cluster's clients and links reach every node that may become a member.
  const n = config.reconfiguration?.universe ?? config.quorums.n;
  return { mode: 'crash', n, f, config, clientRetryMs: CLIENT_RETRY_MS_CRASH, app };
}

export interface ByzantineBuildOptions {
  readonly mode: 'byzantine' | 'commit-reveal';
  readonly cluster: ClusterConfig;
  readonly config?: Partial<ByzantineConfig>;
  /**
   * Default: a verdict cache over Node's native ed25519. Verdicts are deterministic, so nodes
   * may share one cache: each distinct signature is checked once with real crypto.
   */
  readonly backend?: SignatureBackend;
  /** Default kvApp. */
  readonly app?: AppFactory;
}

export function buildByzantine(options: ByzantineBuildOptions): ByzantineBuild {
  const { cluster } = options;
  const config = defaultByzantineConfig(cluster.f, { ...options.config, mode: options.mode });
  validateCluster(cluster, config.reconfiguration?.universe ?? null);
  return {
    mode: options.mode,
    n: config.quorums.n,
    f: cluster.f,
    config,
    cluster,
    clusterId: clusterIdOf(cluster),
    backend: options.backend ?? cachedVerifier(nativeBackend),
    clientRetryMs: CLIENT_RETRY_MS_BYZANTINE,
    app: options.app ?? kvApp,
  };
}

export function crashNodeOptions(build: CrashBuild, id: NodeId, state: PersistentState, rng: Rng): NodeOptions {
  return { id, config: build.config, state, rng, app: build.app() };
}

/**
 * An honest node's options; `secretKey` is member `id`'s signing key. `rng` schedules, `entropy`
 * makes the secrets (commitment keys): a deployment passes systemEntropy, never a seeded source.
 */
export function byzantineNodeOptions(
  build: ByzantineBuild,
  id: NodeId,
  secretKey: Uint8Array,
  state: PersistentState,
  rng: Rng,
  entropy: Entropy,
): ByzantineNodeOptions {
  const auth = new Authenticator(build.cluster, id, secretKey, build.backend);
  return { id, config: build.config, auth, state, rng, entropy, app: build.app(), secondVote: secondVoteOf(build.mode) };
}

/** The second vote of a Byzantine mode (byzantine/second-vote.ts): plain Accepted, or commit-reveal's. */
export function secondVoteOf(mode: ByzantineBuild['mode']): SecondVoteFactory {
  return mode === 'commit-reveal' ? (parts) => new RevealVote(parts) : (parts) => new AcceptedVote(parts);
}

/** Signs a client's commands with its key, bound to this cluster. */
export function commandSigner(build: ByzantineBuild, secretKey: Uint8Array): CommandSigner {
  const keys = new Map(build.cluster.clients.map((c) => [c.id, c.publicKey]));
  return (command) => signCommand(build.backend, secretKey, build.clusterId, command, keys.get(command.clientId));
}

/** Crash mode: take the first answer, resend to the next replica. Byzantine: sign, take f+1 matching, resend to all. */
export function clientOptions(build: ModeBuild, clientId: ClientId, sign: CommandSigner | null): ClientOptions {
  if (build.mode === 'crash') return { replyQuorum: 1, resendToAll: false, sign: null };
  if (sign === null) throw new Error(`${build.mode} mode: clients must sign their commands`);
  const { n } = build;
  const weak = build.config.quorums.weak;
  return { replyQuorum: weak, resendToAll: true, sign, designated: (replica, leader) => designatedReplier(replica, clientId, leader, n, weak - 1) };
}

export function makeClient(build: ModeBuild, clientId: ClientId, session: SessionId, rng: Rng, sign: CommandSigner | null, retryMs = build.clientRetryMs): Client {
  // Cheap Paxos auxiliaries serve no clients: a client knows the main members only.
  const replicas = build.mode === 'crash' ? mainsOf(build.config) : build.n;
  return new Client(clientId, session, replicas, rng, retryMs, clientOptions(build, clientId, sign));
}

/** A node and how far its log is decided (what `status` and the metrics report). */
export interface BuiltNode {
  readonly node: ProtocolNode;
  /** Every slot below this one is decided at the node (an adversary that hides it: 0). */
  decidedUpTo(): Slot;
  /** Digest of the node's replicated key-value state (for an adversary: of the honest node it wraps). */
  stateDigest(): Uint8Array;
}

/**
 * A node of any mode; `secretKey` signs and `entropy` makes the secrets in the Byzantine modes;
 * crash mode uses neither. With
 * `adversary` (Byzantine modes only) the node runs that strategy over the honest node it would
 * have been, colluding with no one (a deployed adversary has no out-of-band channel here).
 */
export function makeNode(
  build: ModeBuild,
  id: NodeId,
  secretKey: Uint8Array,
  state: PersistentState,
  rng: Rng,
  entropy: Entropy,
  adversary?: Adversary,
): BuiltNode {
  if (build.mode === 'crash') {
    if (adversary !== undefined) throw new Error(`crash mode: node ${id} cannot run adversary '${adversary.name}' (Byzantine modes only)`);
    if (isAuxiliary(build.config, id)) throw new Error(`crash mode: node ${id} would be a Cheap Paxos auxiliary, which only the simulator runs`);
    const options = crashNodeOptions(build, id, state, rng);
    const node = new PaxosNode(options);
    return { node, decidedUpTo: () => node.learner.firstUndecided, stateDigest: () => options.app.stateDigest() };
  }
  const honest = byzantineNodeOptions(build, id, secretKey, state, rng, entropy);
  const stateDigest = (): Uint8Array => honest.app.stateDigest();
  if (adversary === undefined) {
    const node = new ByzantineNode(honest);
    return { node, decidedUpTo: () => node.decidedUpTo, stateDigest };
  }
  const node = adversary.create({ id, n: build.n, f: build.f, rng: new SeededRng(rng.int(2 ** 31), 7000 + id), auth: honest.auth, honest, collusion: new Map() });
  return { node, decidedUpTo: () => decidedUpToOf(node), stateDigest };
}

/** An adversary's node may expose how far it decided (a ByzantineNode does); 0 if it does not. */
function decidedUpToOf(node: ProtocolNode): Slot {
  const value = (node as { readonly decidedUpTo?: unknown }).decidedUpTo;
  return typeof value === 'number' ? value : 0;
}
