export { createNodeMetrics, type NodeMetrics } from './node-metrics.ts';
// Public surface of the byzpaxos runtime (`byzpaxos/node`): what a program needs to embed a
// member or a client. Kept apart from the root entry so that importing the pure core never loads
// libp2p or node:sqlite.
export {
  NodeRuntime,
  stopOnSignals,
  type NodeEvent,
  type NodeEventListener,
  type NodeRuntimeInit,
  type RuntimeStorage,
  type TransportFactory,
} from './runtime.ts';
export {
  ClusterClient,
  ClusterTimeoutError,
  CommandRefusedError,
  NoMemberReachableError,
  SessionEvictedError,
  type ClusterClientInit,
  type OperationOptions,
  type StatusOptions,
  type StatusRow,
} from './cluster-client.ts';
export { LocalCluster, type LocalClusterOptions } from './local-cluster.ts';
export { clientName, memberName, type Deployment } from './build.ts';
export { createLogger, silentLogger, type Logger, type LoggerOptions, type LogLevel } from './log.ts';
export { MetricsRegistry, serveMetrics } from './metrics.ts';
export { MemoryNetwork } from '../transport/memory.ts';
export { createLibp2pTransport, type Libp2pTransport } from '../transport/libp2p.ts';
export type { PeerName, PeerSpec, Transport, TransportOptions, TransportStats } from '../transport/transport.ts';
export { SqliteStorage, StoreError, type SqliteStorageOptions } from '../storage/sqlite.ts';
export { loadClusterFile, parseClusterFile, formatClusterFile, ConfigError, type DeploymentConfig } from '../deploy/cluster-file.ts';
export { loadKeyFile, type KeyFile } from '../deploy/key-file.ts';
export type { MembershipChange, MembershipResult } from '../core/configuration.ts';
