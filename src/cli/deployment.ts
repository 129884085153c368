// What the node-operating commands (start, up, put, get, status) share: loading a deployment for
// one member or client (cluster.json, the key file next to it, the cluster id), the libp2p
// transport for it, and turning every refusal into ONE line on stderr. One place, so `start` and
// the client commands cannot disagree about default paths or about what a bad file means.
import { dirname, join } from 'node:path';
import type { Registry } from 'prom-client';
import { ConfigError, loadClusterFile, toClusterConfig, type DeploymentConfig } from '../deploy/cluster-file.ts';
import { keyFileName, loadKeyFile, type KeyFile, type KeyRole } from '../deploy/key-file.ts';
import { clusterIdOf } from '../modes/byzantine/cluster.ts';
import { clientName, memberName, peersOf } from '../node/build.ts';
import type { Logger } from '../node/log.ts';
import type { TransportFactory } from '../node/runtime.ts';
import { StoreError } from '../storage/sqlite.ts';
import { createLibp2pTransport } from '../transport/libp2p.ts';
import type { TransportLog } from '../transport/transport.ts';
import { oneLine, UsageError } from './args.ts';

/** The process cannot do what it was asked with these files, ports or stores: exit 1 with one line. */
export class RefusalError extends Error {
  override name = 'RefusalError';
}

export interface LoadedDeployment {
  readonly config: DeploymentConfig;
  /** Of the cluster's members and clients (addresses excluded): what a store is bound to. */
  readonly clusterId: Uint8Array;
  /** The directory holding cluster.json: default home of key files and data. */
  readonly dir: string;
  readonly key: KeyFile;
}

/**
 * Loads `configPath` and the key of member or client `id` (default: `node-<id>.key` /
 * `client-<id>.key` next to the config). An id the config does not list is a usage error; a
 * file that cannot be used is a RefusalError; both one line.
 */
export function loadDeployment(configPath: string, role: KeyRole, id: number, keyPath?: string): LoadedDeployment {
  return refusing(() => {
    const config = loadClusterFile(configPath);
    const clusterId = clusterIdOf(toClusterConfig(config, configPath));
    checkId(config, role, id, configPath);
    const dir = dirname(configPath);
    const key = loadKeyFile(keyPath ?? join(dir, keyFileName(role, id)), { expectRole: role, expectId: id, cluster: config });
    return { config, clusterId, dir, key };
  });
}

function checkId(config: DeploymentConfig, role: KeyRole, id: number, configPath: string): void {
  if (role === 'member' && id >= config.n) throw new UsageError(`--id ${id} is not a member of ${configPath} (ids 0..${config.n - 1})`);
  if (role === 'client' && !config.clients.some((c) => c.id === id)) {
    const ids = config.clients.map((c) => c.id).join(', ');
    throw new UsageError(`--client ${id} is not a client of ${configPath} (${ids === '' ? 'it lists none' : `ids ${ids}`})`);
  }
}

/**
 * The libp2p transport of a member (listening on its addresses) or a client (dialling out only);
 * libp2p's own metrics go to `metricsRegistry` if given (one member per process only, see
 * Libp2pTransportOptions).
 */
export function libp2pTransport(loaded: LoadedDeployment, logger: Logger, metricsRegistry?: Registry): TransportFactory {
  const { config, key } = loaded;
  const self = key.role === 'member' ? memberName(key.id) : clientName(key.id);
  const listen = key.role === 'member' ? config.members[key.id]!.addrs : [];
  const log = transportLog(logger.child({ node: self, component: 'transport' }));
  return async (onMessage) => {
    try {
      const libp2pDebug = logger.enabled('debug');
      return await createLibp2pTransport({
        secretKey: key.secretKey,
        listen,
        peers: peersOf(config, self),
        onMessage,
        log,
        libp2pDebug,
        ...(metricsRegistry === undefined ? {} : { metricsRegistry }),
      });
    } catch (e) {
      throw new RefusalError(describeListenError(e));
    }
  };
}

function transportLog(logger: Logger): TransportLog {
  return (level, event, fields) => logger[level](event, fields);
}

const LISTEN_FAILURE = /(\/ip[46]\/[^\s:]+|\/dns[46]?\/[^\s:]+)[^\n]*?listen (E[A-Z]+)/;

/** libp2p's multi-line listen failure as one line: which address, and why. */
function describeListenError(e: unknown): string {
  const message = e instanceof Error ? e.message : String(e);
  const match = LISTEN_FAILURE.exec(message);
  if (match === null) return `transport: ${oneLine(message.split('\n')[0] ?? message)}`;
  const why = match[2] === 'EADDRINUSE' ? 'address already in use' : match[2] === 'EADDRNOTAVAIL' ? 'address not available on this machine' : match[2];
  return `cannot listen on ${match[1]}: ${why} (${match[2]})`;
}

/** Runs `fn`, turning config and store errors into RefusalErrors; usage errors pass through. */
export function refusing<T>(fn: () => T): T {
  try {
    return fn();
  } catch (e) {
    if (e instanceof ConfigError || e instanceof StoreError) throw new RefusalError(e.message);
    throw e;
  }
}

/**
 * Runs a command, reporting a RefusalError as `byzpaxos: <one line>` with exit 1; anything else
 * goes to main (usage errors exit 2, others are internal errors).
 */
export async function reportRefusals(run: () => Promise<number>): Promise<number> {
  try {
    return await run();
  } catch (e) {
    if (!(e instanceof RefusalError)) throw e;
    process.stderr.write(`byzpaxos: ${oneLine(e.message)}\n`);
    return 1;
  }
}
