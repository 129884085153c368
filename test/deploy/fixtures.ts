// Deterministic deployment fixtures: keys from fixed seeds, and cluster.json texts to break.
import { membersFor } from '../../src/core/quorum.ts';
import type { Mode } from '../../src/base/mode.ts';
import { toHex } from '../../crypto/digest.ts';
import { keyPairFromSeed, type KeyPair } from '../../crypto/ed25519.ts';

/** Member i's key: seed filled with i+1; client c's: seed filled with 100+c. */
export function memberKey(id: number): KeyPair {
  return keyPairFromSeed(new Uint8Array(32).fill(id + 1));
}

export function clientKey(id: number): KeyPair {
  return keyPairFromSeed(new Uint8Array(32).fill(100 + id));
}

/** A cluster.json object: members on 127.0.0.1:7000+i, client 1. */
export function clusterObject(mode: Mode = 'byzantine', f = 1): Record<string, unknown> {
  return {
    version: 1,
    mode,
    f,
    members: Array.from({ length: membersFor(mode, f) }, (_, id) => ({
      id,
      publicKey: toHex(memberKey(id).publicKey),
      addrs: [`/ip4/127.0.0.1/tcp/${7000 + id}`],
    })),
    clients: [{ id: 1, publicKey: toHex(clientKey(1).publicKey) }],
  };
}

/** `clusterObject()` as text after `edit` changes a deep copy of it. */
export function clusterText(edit: (c: any) => void = () => {}, mode: Mode = 'byzantine', f = 1): string {
  const c = structuredClone(clusterObject(mode, f));
  edit(c);
  return JSON.stringify(c, null, 2);
}

/** Not a point on the curve; the identity point (small order). */
export const OFF_CURVE_KEY = `02${'00'.repeat(31)}`;
export const SMALL_ORDER_KEY = `01${'00'.repeat(31)}`;
