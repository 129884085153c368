// The cluster configuration of a Byzantine-mode deployment: who the members and clients are and
// which keys they sign with. Its digest, the cluster id, is bound into every signature, so no
// signature can be replayed in another cluster.
import { byzantineQuorums } from '../../core/quorum.ts';
import type { ClientId, NodeId } from '../../base/types.ts';
import { checkPublicKey } from '../../../crypto/ed25519.ts';
import { toHex } from '../../../crypto/digest.ts';
import { clusterIdOf as digestConfig } from '../../../crypto/envelope.ts';

export interface Member {
  readonly id: NodeId;
  readonly publicKey: Uint8Array;
}

export interface ClientKey {
  readonly id: ClientId;
  readonly publicKey: Uint8Array;
}

export interface ClusterConfig {
  readonly f: number;
  readonly members: readonly Member[];
  /** Clients allowed to submit commands; replicas execute only commands these keys signed. */
  readonly clients: readonly ClientKey[];
}

/**
 * Throws an Error with a one-line reason if the configuration cannot be used. A reconfigurable
 * cluster's lists its whole `universe` (every node that may ever be a member, with its key, so a
 * new member's key passes the one verification rule's check before any change can admit it).
 */
export function validateCluster(config: ClusterConfig, universe: number | null = null): void {
  const n = universe ?? byzantineQuorums(config.f).n;
  if (config.members.length !== n) {
    throw new Error(universe === null ? `cluster: f=${config.f} needs n=${n} members, got ${config.members.length}` : `cluster: a universe of ${n} nodes needs ${n} members listed, got ${config.members.length}`);
  }
  const keys = new Set<string>();
  config.members.forEach((m, i) => {
    if (m.id !== i) throw new Error(`cluster: member ${i} has id ${m.id}; ids must be 0..${n - 1} in order`);
    admitKey(`member ${i}`, m.publicKey, keys);
  });
  const clientIds = new Set<ClientId>();
  for (const c of config.clients) {
    if (clientIds.has(c.id)) throw new Error(`cluster: client id ${c.id} appears twice`);
    clientIds.add(c.id);
    admitKey(`client ${c.id}`, c.publicKey, keys);
  }
}

function admitKey(who: string, key: Uint8Array, seen: Set<string>): void {
  const reason = checkPublicKey(key);
  if (reason !== null) throw new Error(`cluster: ${who} public key rejected: ${reason}`);
  const hex = toHex(key);
  if (seen.has(hex)) throw new Error(`cluster: ${who} reuses another participant's public key`);
  seen.add(hex);
}

/** The cluster id: a digest of the canonical configuration (members in id order, clients sorted). */
export function clusterIdOf(config: ClusterConfig): Uint8Array {
  const parts: Uint8Array[] = [u32(config.f), u32(config.members.length)];
  for (const m of config.members) parts.push(u32(m.id), m.publicKey);
  const clients = [...config.clients].sort((a, b) => a.id - b.id);
  parts.push(u32(clients.length));
  for (const c of clients) parts.push(u32(c.id), c.publicKey);
  return digestConfig(concat(parts));
}

function concat(parts: readonly Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let offset = 0;
  for (const part of parts) {
    out.set(part, offset);
    offset += part.length;
  }
  return out;
}

/** Leaders rotate with the round, so no node can make itself leader of every ballot. */
export function leaderOf(round: number, n: number): NodeId {
  return (round - 1) % n;
}

function u32(value: number): Uint8Array {
  const bytes = new Uint8Array(4);
  new DataView(bytes.buffer).setUint32(0, value);
  return bytes;
}
