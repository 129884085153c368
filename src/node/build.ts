// Deployments: a cluster file's members and clients, with the keys and addresses they run with,
// built into the mode's nodes and clients by src/modes/build.ts.
import { membersFor } from '../core/quorum.ts';
import type { CoreConfig, Reconfiguration } from '../core/config.ts';
import type { ClientId, NodeId } from '../base/types.ts';
import type { ByzantineConfig } from '../modes/byzantine/config.ts';
import { toClusterConfig, type DeploymentConfig } from '../deploy/cluster-file.ts';
import type { PeerName, PeerSpec } from '../transport/transport.ts';
import { checkPublicKey, keyPairFromSeed, type SignatureBackend } from '../../crypto/ed25519.ts';
import { bytesEqual, toHex } from '../../crypto/digest.ts';
import { buildByzantine, buildCrash, DEPLOYED_CRASH_TIMING, type ModeBuild } from '../modes/build.ts';
import { APPS } from '../app/apps.ts';

/** A cluster file's content (src/deploy/cluster-file.ts), plus optional core tunables. */
export interface Deployment extends DeploymentConfig {
  readonly crashConfig?: Partial<CoreConfig>;
  readonly byzantineConfig?: Partial<Omit<ByzantineConfig, 'mode'>>;
}

/**
 * Throws an Error with a one-line reason if the deployment cannot be used. A parsed cluster file
 * passes; this is for deployments built in code.
 */
export function validateDeployment(deployment: Deployment): void {
  const { mode, f, n, members, clients, firstMembers } = deployment;
  const needed = membersFor(mode, f);
  if (firstMembers === undefined && (n !== needed || members.length !== n)) {
    throw new Error(`deployment: f=${f} needs n=${needed} members in ${mode} mode, got n=${n} and ${members.length} members`);
  }
  if (firstMembers !== undefined && (firstMembers.length !== needed || members.length !== n)) {
    throw new Error(`deployment: f=${f} needs ${needed} first members in ${mode} mode, got ${firstMembers.length}, and n=${n} with ${members.length} members`);
  }
  if (firstMembers !== undefined) {
    if (mode !== 'crash') throw new Error(`deployment: ${mode} mode is not reconfigurable yet (firstMembers: crash mode only)`);
    if (firstMembers.some((id, i) => !Number.isInteger(id) || id < 0 || id >= n || (i > 0 && id <= firstMembers[i - 1]!))) {
      throw new Error(`deployment: firstMembers must be distinct ids of 0..${n - 1} in ascending order, got [${firstMembers.join(', ')}]`);
    }
  }
  if (mode !== 'crash') {
    toClusterConfig(deployment, 'deployment'); // validates the members' and clients' keys
    return;
  }
  const keys = new Set<string>();
  const admit = (who: string, key: Uint8Array): void => {
    const reason = checkPublicKey(key);
    if (reason !== null) throw new Error(`deployment: ${who} public key rejected: ${reason}`);
    if (keys.has(toHex(key))) throw new Error(`deployment: ${who} reuses another participant's public key`);
    keys.add(toHex(key));
  };
  members.forEach((m, i) => {
    if (m.id !== i) throw new Error(`deployment: member ${i} has id ${m.id}; ids must be 0..${n - 1} in order`);
    admit(`member ${i}`, m.publicKey);
  });
  const ids = new Set<ClientId>();
  for (const c of clients) {
    if (ids.has(c.id)) throw new Error(`deployment: client id ${c.id} appears twice`);
    ids.add(c.id);
    admit(`client ${c.id}`, c.publicKey);
  }
}

export function buildDeployment(deployment: Deployment, backend?: SignatureBackend): ModeBuild {
  validateDeployment(deployment);
  const app = APPS[deployment.app ?? 'kv'];
  if (deployment.mode === 'crash') return buildCrash(deployment.f, { ...DEPLOYED_CRASH_TIMING, reconfiguration: reconfigurationOf(deployment), ...deployment.crashConfig }, app);
  const cluster = toClusterConfig(deployment, 'deployment');
  return buildByzantine({ mode: deployment.mode, cluster, config: deployment.byzantineConfig, backend, app });
}

/** A reconfigurable deployment's first configuration over its universe (every listed member); null if static. */
export function reconfigurationOf(deployment: DeploymentConfig): Reconfiguration | null {
  return deployment.firstMembers === undefined ? null : { members: deployment.firstMembers, universe: deployment.n };
}

/** Throws unless `secretKey` is the key `publicKey` names: a misconfigured node fails at start. */
export function requireKeyMatches(who: string, secretKey: Uint8Array, publicKey: Uint8Array): void {
  if (!bytesEqual(keyPairFromSeed(secretKey).publicKey, publicKey)) {
    throw new Error(`${who}: the secret key does not belong to the public key the deployment lists`);
  }
}

// ---------------------------------------------------------------------------------------------
// Peer names on the transport.

export function memberName(id: NodeId): PeerName {
  return `n${id}`;
}

export function clientName(id: ClientId): PeerName {
  return `c${id}`;
}

export type Peer = { readonly kind: 'member'; readonly id: NodeId } | { readonly kind: 'client'; readonly id: ClientId };

const PEER_NAME = /^([nc])(0|[1-9][0-9]{0,9})$/;

/** The member or client a transport name stands for; null for anything else. */
export function parsePeerName(name: PeerName): Peer | null {
  const match = PEER_NAME.exec(name);
  if (match === null) return null;
  const id = Number(match[2]);
  if (id > 0xffff_ffff) return null;
  return match[1] === 'n' ? { kind: 'member', id } : { kind: 'client', id };
}

/** Whom `self` may talk to: a member, every other member and every client (clients dial in); a client, the members. */
export function peersOf(deployment: Deployment, self: PeerName): Map<PeerName, PeerSpec> {
  const peers = new Map<PeerName, PeerSpec>();
  for (const m of deployment.members) peers.set(memberName(m.id), { publicKey: m.publicKey, addrs: m.addrs });
  if (parsePeerName(self)?.kind === 'member') {
    for (const c of deployment.clients) peers.set(clientName(c.id), { publicKey: c.publicKey, addrs: [] });
  }
  peers.delete(self);
  return peers;
}
