// Shared by the transport tests: deterministic keys, free loopback ports, polling, raw libp2p
// nodes (to play a misbehaving or unknown peer below our transport).
import { createServer } from 'node:net';
import { createLibp2p, type Libp2p } from 'libp2p';
import { tcp } from '@libp2p/tcp';
import { noise } from '@chainsafe/libp2p-noise';
import { yamux } from '@chainsafe/libp2p-yamux';
import { keyPairFromSeed, type KeyPair } from '../../crypto/ed25519.ts';
import { libp2pPrivateKey } from '../../src/transport/identity.ts';
import type { PeerName, PeerSpec } from '../../src/transport/transport.ts';

/** A fixed key per small integer: seed = [i, i, …]. */
export function keyOf(i: number): KeyPair {
  return keyPairFromSeed(new Uint8Array(32).fill(i + 1));
}

export async function freePorts(count: number): Promise<number[]> {
  const ports: number[] = [];
  const servers = [];
  for (let i = 0; i < count; i += 1) {
    const server = createServer();
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const address = server.address();
    if (address === null || typeof address === 'string') throw new Error('no port');
    ports.push(address.port);
    servers.push(server);
  }
  await Promise.all(servers.map((s) => new Promise((resolve) => s.close(resolve))));
  return ports;
}

export function loopback(port: number): string {
  return `/ip4/127.0.0.1/tcp/${port}`;
}

/** Polls `condition` every 10 ms; rejects after `timeoutMs` with `what`. */
export async function waitFor(what: string, condition: () => boolean, timeoutMs = 4_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(10);
  }
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

export function peerMap(entries: ReadonlyArray<[PeerName, PeerSpec]>): ReadonlyMap<PeerName, PeerSpec> {
  return new Map(entries);
}

/** A bare libp2p node (TCP + noise + yamux, listening on `listen` only) with the identity of `secretKey`. */
export async function rawNode(secretKey: Uint8Array, listen: readonly string[] = []): Promise<Libp2p> {
  return createLibp2p({
    privateKey: await libp2pPrivateKey(secretKey),
    addresses: { listen: [...listen] },
    transports: [tcp()],
    connectionEncrypters: [noise()],
    streamMuxers: [yamux()],
    connectionMonitor: { enabled: false },
  });
}

export function bytes(...values: number[]): Uint8Array {
  return new Uint8Array(values);
}

export function text(message: Uint8Array): string {
  return new TextDecoder().decode(message);
}

export function utf8(s: string): Uint8Array {
  return new TextEncoder().encode(s);
}
