// A whole cluster on this machine: n NodeRuntimes and C ClusterClients, each with its own real
// libp2p transport (TCP + noise + yamux) on 127.0.0.1, its own signature backend and, by default,
// its own SQLite store in a temporary directory. For `byzpaxos bench` and the `npm start` demo.
//
// Members run in this process, on the one event loop (default), each on its own worker thread
// (`threads`: its own event loop and V8 isolate, as separate processes would have, minus the
// process boundary), or each as its own `byzpaxos start` process (`processes`: the directory then
// holds cluster.json and the member key files, as `init` writes them; SQLite storage). Clients
// always run on the calling thread.
//
// Keys derive from `seed`; ports are free loopback ports picked at start (a port taken in the gap
// between picking and listening fails the start).
import { fOf, membersFor } from '../core/quorum.ts';
import type { Mode } from '../base/mode.ts';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { Worker } from 'node:worker_threads';
import type { Adversary } from '../adversary/adversary.ts';
import { adversaryNamed } from '../adversary/strategies.ts';
import type { CoreConfig } from '../core/config.ts';
import type { NodeId } from '../base/types.ts';
import { CLUSTER_FILE_NAME, formatClusterFile } from '../deploy/cluster-file.ts';
import type { ByzantineConfig } from '../modes/byzantine/config.ts';
import { keyFileName, writeKeyFile } from '../deploy/key-file.ts';
import { SqliteStorage } from '../storage/sqlite.ts';
import { MemoryStorage } from '../storage/memory.ts';
import { createLibp2pTransport, type Libp2pTransport } from '../transport/libp2p.ts';
import { clientName, memberName, peersOf, type Deployment } from './build.ts';
import { ClusterClient } from './cluster-client.ts';
import { silentLogger, type Logger } from './log.ts';
import { NodeRuntime, type RuntimeStorage } from './runtime.ts';
import { siblingModuleUrl } from './module-url.ts';
import { emptyMemberStats, type MemberHandle, type MemberStats } from './member-handle.ts';
import { ProcessMember } from './process-member.ts';
import type { ProcUsage } from './proc-usage.ts';
import { keyPairFromSeed, nativeBackend, type KeyPair, type SignatureBackend } from '../../crypto/ed25519.ts';
import { cachedVerifier, clusterIdOf, type CachedVerifier } from '../../crypto/envelope.ts';
import { domainDigest } from '../../crypto/digest.ts';

/** Most members a local cluster runs. */
export const LOCAL_NODES_MAX = 16;
/** Most clients a local cluster connects. */
export const LOCAL_CLIENTS_MAX = 256;
/** Bound on a worker member's start, stats answer and stop. */
const WORKER_REPLY_MS_MAX = 15_000;
/** How often waitConnected() looks at the clients' transports. */
const CONNECTED_POLL_MS = 20;

export type LocalStorageKind = 'sqlite' | 'memory';

export interface LocalClusterOptions {
  readonly mode: Mode;
  /** Members: 2f+1 in crash mode, 3f+1 otherwise (of the first configuration, with `spares`). */
  readonly nodes: number;
  /** A reconfigurable cluster (crash mode): this many more nodes run, ids nodes.., as non-members. */
  readonly spares?: number;
  readonly clients: number;
  /** Default 'sqlite': durable, one fsync per runtime drain that persists (group commit: many steps each). */
  readonly storage?: LocalStorageKind;
  /** Each member on its own worker thread; default false (all on this thread's event loop). */
  readonly threads?: boolean;
  /** Each member its own `byzpaxos start` process (process-member.ts); no adversaries, no config overrides. */
  readonly processes?: boolean;
  /** Which members run an adversary instead of the honest node (Byzantine modes; built-ins only with threads). */
  readonly adversaries?: ReadonlyMap<NodeId, Adversary>;
  readonly crashConfig?: Partial<CoreConfig>;
  readonly byzantineConfig?: Partial<Omit<ByzantineConfig, 'mode'>>;
  /** Derives every key and every node's randomness; default 1. */
  readonly seed?: number;
  /** Default: a fresh directory under the OS temp dir, removed by stop(). */
  readonly dir?: string;
  /** Logger of in-process members and of the clients. */
  readonly logger?: Logger;
  /** Client operation bound, ms (ClusterClient default when absent). */
  readonly clientTimeoutMs?: number;
}

export interface LocalClusterStats extends MemberStats {
  /** decisions and viewChanges: at the member that saw most, not summed. */
  readonly members: number;
}

/** Everything a member is built from; structured-cloneable, so a worker thread can get it. */
export interface MemberSpec {
  readonly deployment: Deployment;
  readonly id: NodeId;
  readonly secretKey: Uint8Array;
  readonly storage: LocalStorageKind;
  readonly dir: string;
  readonly clusterId: Uint8Array;
  readonly seed: number;
  /** A built-in adversary's name (worker threads cannot be handed code). */
  readonly adversaryName?: string;
}

export class LocalCluster {
  readonly deployment: Deployment;
  readonly dir: string;
  /** In id order. */
  readonly members: readonly MemberHandle[];
  /** The members' runtimes when they run on this thread (events, status); empty with `threads`. */
  readonly nodes: readonly NodeRuntime[];
  readonly clients: readonly ClusterClient[];
  private readonly parts: Parts;
  private stopping: Promise<void> | null = null;

  private constructor(parts: Parts) {
    this.parts = parts;
    this.deployment = parts.deployment;
    this.dir = parts.dir;
    this.members = parts.members;
    this.nodes = parts.nodes;
    this.clients = parts.clients;
  }

  /** Starts every member, then connects every client; on failure stops what started and throws. */
  static async start(options: LocalClusterOptions): Promise<LocalCluster> {
    checkOptions(options);
    const seed = options.seed ?? 1;
    const dir = options.dir ?? mkdtempSync(join(tmpdir(), 'byzpaxos-local-'));
    const universe = options.nodes + (options.spares ?? 0);
    const ports = await freeLoopbackPorts(universe);
    const memberKeys = Array.from({ length: universe }, (_, id) => localKey(seed, 'member', id));
    const clientIds = Array.from({ length: options.clients }, (_, i) => i + 1);
    const clientKeys = clientIds.map((id) => localKey(seed, 'client', id));
    const deployment: Deployment = {
      mode: options.mode,
      f: fOf(options.mode, options.nodes),
      n: universe,
      ...(options.spares === undefined ? {} : { firstMembers: Array.from({ length: options.nodes }, (_, id) => id) }),
      members: memberKeys.map((k, id) => ({ id, publicKey: k.publicKey, addrs: [`/ip4/127.0.0.1/tcp/${ports[id]}`] })),
      clients: clientKeys.map((k, i) => ({ id: clientIds[i]!, publicKey: k.publicKey })),
      ...(options.crashConfig === undefined ? {} : { crashConfig: options.crashConfig }),
      ...(options.byzantineConfig === undefined ? {} : { byzantineConfig: options.byzantineConfig }),
    };
    const clusterId = clusterIdOf(new TextEncoder().encode(formatClusterFile(deployment)));
    const parts: Parts = {
      deployment,
      dir,
      removeDir: options.dir === undefined,
      specs: [],
      members: [],
      nodes: [],
      clients: [],
      clientTransports: [],
      clientCounters: [],
      clientsStartedAtMs: 0,
    };
    const cluster = new LocalCluster(parts);
    const logger = options.logger ?? silentLogger;
    try {
      const specs: MemberSpec[] = memberKeys.map((k, id) => ({
        deployment,
        id,
        secretKey: k.secretKey,
        storage: options.storage ?? 'sqlite',
        dir,
        clusterId,
        seed: seed * 1000 + id,
        ...(options.adversaries?.has(id) ? { adversaryName: options.adversaries.get(id)!.name } : {}),
      }));
      parts.specs.push(...specs);
      const clusterPath = options.processes === true ? writeClusterDir(dir, deployment, memberKeys) : '';
      const started = await Promise.allSettled(
        specs.map((spec) =>
          options.processes === true
            ? ProcessMember.start(clusterPath, spec.id, deployment.members[spec.id]!.addrs)
            : options.threads === true
              ? WorkerMember.start(spec)
              : InProcessMember.start(spec, options.adversaries?.get(spec.id), logger),
        ),
      );
      for (const result of started) if (result.status === 'fulfilled') parts.members.push(result.value);
      parts.members.sort((a, b) => a.id - b.id);
      const failed = started.find((r) => r.status === 'rejected');
      if (failed !== undefined) throw failed.reason;
      for (const member of parts.members) if (member instanceof InProcessMember) parts.nodes.push(member.runtime);
      // All at once, as many clients arriving together would: the members see the burst.
      parts.clientsStartedAtMs = performance.now();
      const connected = await Promise.allSettled(
        clientIds.map((clientId, i) => {
          const counter = new CryptoCounter(false);
          parts.clientCounters.push(counter);
          return ClusterClient.connect({
            deployment,
            clientId,
            secretKey: clientKeys[i]!.secretKey,
            transport: async (onMessage) => {
              const transport = await createLibp2pTransport({
                secretKey: clientKeys[i]!.secretKey,
                listen: [],
                peers: peersOf(deployment, clientName(clientId)),
                onMessage,
              });
              parts.clientTransports.push(transport);
              return transport;
            },
            logger,
            timeoutMs: options.clientTimeoutMs,
            backend: counter.backend,
          });
        }),
      );
      for (const result of connected) if (result.status === 'fulfilled') parts.clients.push(result.value);
      const refused = connected.find((r) => r.status === 'rejected');
      if (refused !== undefined) throw refused.reason;
    } catch (e) {
      await cluster.stop();
      throw e;
    }
    return cluster;
  }

  /** Totals over every member and client since start. */
  async stats(): Promise<LocalClusterStats> {
    const all = await Promise.all(this.members.map((m) => m.stats()));
    const total: MemberStats = emptyMemberStats();
    for (const s of all) {
      for (const key of SUMMED) total[key] += s[key];
      total.decisions = Math.max(total.decisions, s.decisions);
      total.viewChanges = Math.max(total.viewChanges, s.viewChanges);
    }
    for (const c of this.parts.clientCounters) {
      total.signs += c.counts.signs;
      total.signMs += c.counts.signMs;
      total.verifies += c.counts.verifies;
      total.verifyMs += c.counts.verifyMs;
      total.cacheHits += c.cacheHits;
    }
    return { ...total, members: all.length };
  }

  /**
   * Waits until every client has an open stream to every member (a client's transport redials a
   * refused first dial by itself). Resolves with the time since the first client began to
   * connect, ms, and the client dials refused or failed meanwhile. Rejects after `timeoutMs`.
   */
  async waitConnected(timeoutMs: number): Promise<{ readonly ms: number; readonly dialFailures: number }> {
    const deadlineMs = performance.now() + timeoutMs;
    const members = this.members.map((m) => memberName(m.id));
    const links = (t: Libp2pTransport) => members.map((name) => t.stats.peers[name]);
    const connected = (t: Libp2pTransport): boolean => links(t).every((p) => (p?.streamsOpen ?? 0) > 0);
    while (!this.parts.clientTransports.every(connected)) {
      if (performance.now() > deadlineMs) {
        const missing = this.parts.clientTransports.filter((t) => !connected(t)).length;
        throw new Error(`local cluster: ${missing} of ${this.clients.length} clients not connected to every member within ${timeoutMs} ms`);
      }
      await new Promise((resolve) => setTimeout(resolve, CONNECTED_POLL_MS));
    }
    return {
      ms: performance.now() - this.parts.clientsStartedAtMs,
      dialFailures: this.parts.clientTransports.reduce((sum, t) => sum + links(t).reduce((s, p) => s + (p?.dialFailures ?? 0), 0), 0),
    };
  }

  /** The PIDs of the member processes, in id order; [] unless `processes`. */
  get memberPids(): number[] {
    return this.members.flatMap((m) => (m instanceof ProcessMember ? [m.pid] : []));
  }

  /** CPU time and RSS of each member process, in id order (null for one that is gone); null unless `processes`. */
  usage(): (ProcUsage | null)[] | null {
    if (!this.members.every((m) => m instanceof ProcessMember)) return null;
    return this.members.map((m) => (m as ProcessMember).usage());
  }

  /**
   * Stops honest in-process member `id` and starts it again on the same address from its store,
   * or, with `wipe`, from nothing: its SQLite files deleted first. Returns its new runtime.
   */
  async restartMember(id: NodeId, options: { readonly wipe?: boolean } = {}): Promise<NodeRuntime> {
    const spec = this.parts.specs[id];
    const index = this.parts.members.findIndex((m) => m.id === id);
    const old = this.parts.members[index];
    if (spec === undefined || !(old instanceof InProcessMember) || spec.adversaryName !== undefined) {
      throw new Error(`LocalCluster.restartMember: member ${id} is not an honest in-process member`);
    }
    await old.stop();
    if (options.wipe === true) for (const suffix of ['', '-wal', '-shm']) rmSync(join(spec.dir, `node-${id}.db${suffix}`), { force: true });
    const member = await InProcessMember.start(spec);
    this.parts.members[index] = member;
    this.parts.nodes[this.parts.nodes.indexOf(old.runtime)] = member.runtime;
    return member.runtime;
  }

  /** Closes the clients, stops every member and removes the temporary directory. Idempotent. */
  stop(): Promise<void> {
    if (this.stopping === null) this.stopping = this.shutdown();
    return this.stopping;
  }

  private async shutdown(): Promise<void> {
    await Promise.all(this.clients.map((c) => c.close()));
    // A client whose connect failed half-way may hold a transport no ClusterClient owns.
    await Promise.all(this.parts.clientTransports.map((t) => t.stop()));
    await Promise.all(this.members.map((m) => m.stop()));
    if (this.parts.removeDir) rmSync(this.dir, { recursive: true, force: true });
  }
}

interface Parts {
  readonly deployment: Deployment;
  readonly dir: string;
  readonly removeDir: boolean;
  readonly specs: MemberSpec[];
  readonly members: MemberHandle[];
  readonly nodes: NodeRuntime[];
  readonly clients: ClusterClient[];
  readonly clientTransports: Libp2pTransport[];
  readonly clientCounters: CryptoCounter[];
  /** performance.now() when the first client began to connect. */
  clientsStartedAtMs: number;
}

const SUMMED = ['signs', 'signMs', 'verifies', 'verifyMs', 'cacheHits', 'messagesOut', 'bytesOut', 'writes', 'storageCommits', 'storageMs', 'steps'] as const;

// ---------------------------------------------------------------------------------------------
// Members.

/** A member on the calling thread; also what a worker thread runs inside. */
export class InProcessMember implements MemberHandle {
  readonly id: NodeId;
  readonly runtime: NodeRuntime;
  private readonly transport: () => Libp2pTransport;
  private readonly store: RuntimeStorage;
  private readonly counter: CryptoCounter;
  private readonly storageTime: { ms: number };

  private constructor(id: NodeId, runtime: NodeRuntime, transport: () => Libp2pTransport, store: RuntimeStorage, counter: CryptoCounter, storageTime: { ms: number }) {
    this.id = id;
    this.runtime = runtime;
    this.transport = transport;
    this.store = store;
    this.counter = counter;
    this.storageTime = storageTime;
  }

  /** `adversary` overrides spec.adversaryName (in process, any strategy will do). */
  static async start(spec: MemberSpec, adversary?: Adversary, logger: Logger = silentLogger): Promise<InProcessMember> {
    const strategy = adversary ?? builtInAdversary(spec.adversaryName);
    const { deployment, id } = spec;
    const store: RuntimeStorage =
      spec.storage === 'sqlite'
        ? SqliteStorage.open({ path: join(spec.dir, `node-${id}.db`), clusterId: spec.clusterId, nodeId: id, mode: deployment.mode })
        : new MemoryStorage();
    const storageTime = { ms: 0 };
    const counter = new CryptoCounter();
    const opened: { transport: Libp2pTransport | null } = { transport: null };
    const runtime = new NodeRuntime({
      deployment,
      id,
      secretKey: spec.secretKey,
      storage: timedStorage(store, storageTime),
      transport: async (onMessage) => {
        opened.transport = await createLibp2pTransport({
          secretKey: spec.secretKey,
          listen: deployment.members[id]!.addrs,
          peers: peersOf(deployment, memberName(id)),
          onMessage,
        });
        return opened.transport;
      },
      logger,
      seed: spec.seed,
      backend: counter.backend,
      ...(strategy === undefined ? {} : { adversary: strategy }),
    });
    await runtime.start();
    const transport = opened.transport;
    if (transport === null) throw new Error(`n${id}: stopped while starting`);
    return new InProcessMember(id, runtime, () => transport, store, counter, storageTime);
  }

  get peerId(): string {
    return this.transport().peerId;
  }

  get addrs(): readonly string[] {
    return this.transport().addrs;
  }

  statsNow(): MemberStats {
    const t = this.transport().stats;
    const counts = this.runtime.status().counts;
    return {
      ...this.counter.counts,
      cacheHits: this.counter.cacheHits,
      messagesOut: t.messagesOut,
      bytesOut: t.bytesOut,
      writes: Object.values(t.peers).reduce((sum, p) => sum + p.writes, 0),
      storageCommits: this.store instanceof SqliteStorage ? this.store.stats.syncs : 0,
      storageMs: this.storageTime.ms,
      steps: this.runtime.drainStats.inputs,
      decisions: counts.decisions,
      viewChanges: counts.viewChanges,
    };
  }

  stats(): Promise<MemberStats> {
    return Promise.resolve(this.statsNow());
  }

  stop(): Promise<void> {
    return this.runtime.stop();
  }
}

/** Messages between a LocalCluster and a worker member (local-member-worker.ts). */
export type ToWorker = { readonly type: 'stats'; readonly nonce: number } | { readonly type: 'stop' };
export type FromWorker =
  | { readonly type: 'started'; readonly peerId: string; readonly addrs: readonly string[] }
  | { readonly type: 'failed'; readonly message: string }
  | { readonly type: 'stats'; readonly nonce: number; readonly stats: MemberStats }
  | { readonly type: 'stopped' };

/** A member on its own worker thread. */
class WorkerMember implements MemberHandle {
  readonly id: NodeId;
  readonly peerId: string;
  readonly addrs: readonly string[];
  private readonly worker: Worker;
  private readonly waiting = new Map<number, (stats: MemberStats) => void>();
  private nextNonce = 0;
  private readonly exited: Promise<void>;
  private stopping: Promise<void> | null = null;

  private constructor(id: NodeId, worker: Worker, peerId: string, addrs: readonly string[], exited: Promise<void>) {
    this.id = id;
    this.worker = worker;
    this.peerId = peerId;
    this.addrs = addrs;
    this.exited = exited;
    worker.on('message', (msg: FromWorker) => {
      if (msg.type !== 'stats') return;
      this.waiting.get(msg.nonce)?.(msg.stats);
      this.waiting.delete(msg.nonce);
    });
  }

  static async start(spec: MemberSpec): Promise<WorkerMember> {
    if (spec.adversaryName !== undefined) builtInAdversary(spec.adversaryName); // fail here, not in the worker
    const worker = new Worker(siblingModuleUrl('./local-member-worker.ts', import.meta.url), { workerData: spec });
    const exited = new Promise<void>((resolve) => worker.once('exit', () => resolve()));
    const first = await new Promise<FromWorker>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`n${spec.id}: worker did not start within ${WORKER_REPLY_MS_MAX} ms`)), WORKER_REPLY_MS_MAX);
      worker.once('message', (msg: FromWorker) => {
        clearTimeout(timer);
        resolve(msg);
      });
      worker.once('error', (e) => {
        clearTimeout(timer);
        reject(e);
      });
    }).catch(async (e: unknown) => {
      await worker.terminate();
      throw e;
    });
    if (first.type !== 'started') {
      await worker.terminate();
      throw new Error(`n${spec.id}: ${first.type === 'failed' ? first.message : `unexpected ${first.type} from its worker`}`);
    }
    return new WorkerMember(spec.id, worker, first.peerId, first.addrs, exited);
  }

  stats(): Promise<MemberStats> {
    const nonce = this.nextNonce++;
    return new Promise<MemberStats>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.waiting.delete(nonce);
        reject(new Error(`n${this.id}: worker did not answer a stats request within ${WORKER_REPLY_MS_MAX} ms`));
      }, WORKER_REPLY_MS_MAX);
      this.waiting.set(nonce, (stats) => {
        clearTimeout(timer);
        resolve(stats);
      });
      this.worker.postMessage({ type: 'stats', nonce } satisfies ToWorker);
    });
  }

  stop(): Promise<void> {
    if (this.stopping === null) this.stopping = this.shutdown();
    return this.stopping;
  }

  private async shutdown(): Promise<void> {
    this.worker.postMessage({ type: 'stop' } satisfies ToWorker);
    const timer = setTimeout(() => void this.worker.terminate(), WORKER_REPLY_MS_MAX);
    await this.exited;
    clearTimeout(timer);
  }
}

function builtInAdversary(name: string | undefined): Adversary | undefined {
  if (name === undefined) return undefined;
  const adversary = adversaryNamed(name);
  if (adversary === undefined) throw new RangeError(`local cluster: no built-in adversary '${name}'`);
  return adversary;
}

// ---------------------------------------------------------------------------------------------
// Helpers.

function checkOptions(o: LocalClusterOptions): void {
  if (!Number.isSafeInteger(o.nodes) || o.nodes < 1 || o.nodes > LOCAL_NODES_MAX) {
    throw new RangeError(`local cluster: nodes must be in 1..${LOCAL_NODES_MAX}, got ${o.nodes}`);
  }
  if (!Number.isSafeInteger(o.clients) || o.clients < 0 || o.clients > LOCAL_CLIENTS_MAX) {
    throw new RangeError(`local cluster: clients must be in 0..${LOCAL_CLIENTS_MAX}, got ${o.clients}`);
  }
  fOf(o.mode, o.nodes);
  const spares = o.spares ?? 0;
  if (!Number.isSafeInteger(spares) || spares < 0 || o.nodes + spares > LOCAL_NODES_MAX) {
    throw new RangeError(`local cluster: nodes + spares must be at most ${LOCAL_NODES_MAX}, got ${o.nodes} + ${o.spares}`);
  }
  if (o.spares !== undefined && o.mode !== 'crash') throw new RangeError(`local cluster: spares need crash mode (${o.mode} mode is not reconfigurable yet)`);
  if (o.processes === true) {
    // A member process is configured by cluster.json alone, which carries none of these.
    if (o.threads === true) throw new RangeError('local cluster: processes and threads exclude each other');
    if ((o.storage ?? 'sqlite') !== 'sqlite') throw new RangeError('local cluster: member processes use SQLite storage');
    if (o.adversaries !== undefined && o.adversaries.size > 0) throw new RangeError('local cluster: member processes run no adversaries');
    if (o.crashConfig !== undefined || o.byzantineConfig !== undefined) throw new RangeError('local cluster: member processes take their configuration from cluster.json alone');
  }
  for (const [id, adversary] of o.adversaries ?? []) {
    if (o.mode === 'crash') throw new RangeError(`local cluster: adversary '${adversary.name}' needs a Byzantine mode`);
    if (id < 0 || id >= o.nodes) throw new RangeError(`local cluster: adversary on n${id}, which is not a member`);
  }
}

/** cluster.json and node-I.key files in `dir`, as `init` writes them; returns the cluster.json path. */
function writeClusterDir(dir: string, deployment: Deployment, memberKeys: readonly KeyPair[]): string {
  memberKeys.forEach((k, id) => writeKeyFile(join(dir, keyFileName('member', id)), { role: 'member', id, ...k }));
  const path = join(dir, CLUSTER_FILE_NAME);
  writeFileSync(path, formatClusterFile(deployment), { mode: 0o644 });
  return path;
}

function localKey(seed: number, role: 'member' | 'client', index: number): KeyPair {
  const u32 = (v: number): Uint8Array => {
    const b = new Uint8Array(4);
    new DataView(b.buffer).setUint32(0, v >>> 0);
    return b;
  };
  return keyPairFromSeed(domainDigest('byzpaxos/local-key/v1', u32(seed), new TextEncoder().encode(role), u32(index)));
}

/** Ports the OS hands out for 127.0.0.1 right now, all distinct. */
export async function freeLoopbackPorts(count: number): Promise<number[]> {
  const servers = Array.from({ length: count }, () => createServer());
  try {
    return await Promise.all(
      servers.map(
        (server) =>
          new Promise<number>((resolve, reject) => {
            server.once('error', reject);
            server.listen(0, '127.0.0.1', () => {
              const address = server.address();
              if (address === null || typeof address === 'string') reject(new Error('no port'));
              else resolve(address.port);
            });
          }),
      ),
    );
  } finally {
    await Promise.all(servers.map((s) => new Promise((resolve) => (s.listening ? s.close(resolve) : resolve(undefined)))));
  }
}

/** `storage`, with the time its apply takes added to `time.ms`. */
function timedStorage(storage: RuntimeStorage, time: { ms: number }): RuntimeStorage {
  return {
    load: () => storage.load(),
    apply: (records, sync) => {
      const t0 = performance.now();
      try {
        storage.apply(records, sync);
      } finally {
        time.ms += performance.now() - t0;
      }
    },
    close: () => storage.close?.(),
  };
}

/**
 * Counts and times the real crypto of one participant, below its verdict cache if it has one: a
 * member does; a client only signs its own commands (replies travel unsigned on authenticated
 * links), so a cache would only hold up to VERDICT_CACHE_BYTES_MAX of its own signatures.
 */
class CryptoCounter {
  readonly counts = { signs: 0, signMs: 0, verifies: 0, verifyMs: 0 };
  readonly backend: SignatureBackend;
  private readonly cached: CachedVerifier | null;

  constructor(verdictCache = true) {
    const counts = this.counts;
    const timed: SignatureBackend = {
      name: 'timed(native)',
      sign(secretKey, message) {
        const t0 = performance.now();
        const signature = nativeBackend.sign(secretKey, message);
        counts.signMs += performance.now() - t0;
        counts.signs++;
        return signature;
      },
      verify(publicKey, message, signature) {
        const t0 = performance.now();
        const ok = nativeBackend.verify(publicKey, message, signature);
        counts.verifyMs += performance.now() - t0;
        counts.verifies++;
        return ok;
      },
    };
    this.cached = verdictCache ? cachedVerifier(timed) : null;
    this.backend = this.cached ?? timed;
  }

  get cacheHits(): number {
    return this.cached?.stats.cacheHits ?? 0;
  }
}
