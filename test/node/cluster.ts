// A whole deployed cluster in one process: NodeRuntimes over a MemoryNetwork with MemoryStorage,
// real timers. Keys are derived from fixed seeds so failures reproduce.
import type { Mode } from '../../src/base/mode.ts';
import { memberName, type Deployment } from '../../src/node/build.ts';
import { ClusterClient, type ClusterClientInit } from '../../src/node/cluster-client.ts';
import { createLogger, type Logger } from '../../src/node/log.ts';
import { NodeRuntime, type NodeRuntimeInit, type RuntimeStorage } from '../../src/node/runtime.ts';
import { MemoryStorage } from '../../src/storage/memory.ts';
import { MemoryNetwork } from '../../src/transport/memory.ts';
import { keyPairFromSeed, type KeyPair } from '../../crypto/ed25519.ts';

export const CLIENTS = 3;

export function key(role: 'member' | 'client', index: number): KeyPair {
  const seed = new Uint8Array(32);
  seed[0] = role === 'member' ? 1 : 2;
  seed[1] = index;
  return keyPairFromSeed(seed);
}

export function deploymentOf(mode: Mode, f = 1): Deployment {
  const n = mode === 'crash' ? 2 * f + 1 : 3 * f + 1;
  return {
    mode,
    f,
    n,
    members: Array.from({ length: n }, (_, id) => ({ id, publicKey: key('member', id).publicKey, addrs: [] })),
    clients: Array.from({ length: CLIENTS }, (_, i) => ({ id: i + 1, publicKey: key('client', i + 1).publicKey })),
  };
}

/** Log lines of every node, for assertions and for reading a failure. */
export class LogLines {
  readonly lines: Record<string, unknown>[] = [];
  readonly logger: Logger = createLogger({ level: 'debug', sink: (line) => this.lines.push(JSON.parse(line)) });

  find(msg: string): Record<string, unknown>[] {
    return this.lines.filter((l) => l.msg === msg);
  }
}

export class TestCluster {
  readonly network = new MemoryNetwork();
  readonly deployment: Deployment;
  readonly storages: RuntimeStorage[];
  readonly nodes: (NodeRuntime | null)[];
  readonly clients: ClusterClient[] = [];
  readonly log = new LogLines();

  constructor(mode: Mode, f = 1) {
    this.deployment = deploymentOf(mode, f);
    this.storages = this.deployment.members.map(() => new MemoryStorage());
    this.nodes = this.deployment.members.map(() => null);
  }

  get n(): number {
    return this.deployment.members.length;
  }

  /** Starts member `id` from its storage (a restart if it ran before). */
  async startNode(id: number, overrides: Partial<NodeRuntimeInit> = {}): Promise<NodeRuntime> {
    const runtime = new NodeRuntime({
      deployment: this.deployment,
      id,
      secretKey: key('member', id).secretKey,
      storage: this.storages[id]!,
      transport: (onMessage) => this.network.transport(memberName(id), onMessage),
      logger: this.log.logger,
      seed: 1000 + id,
      ...overrides,
    });
    this.nodes[id] = runtime;
    await runtime.start();
    return runtime;
  }

  async start(): Promise<this> {
    for (let id = 0; id < this.n; id++) await this.startNode(id);
    return this;
  }

  async client(clientId = 1, overrides: Partial<ClusterClientInit> = {}): Promise<ClusterClient> {
    const client = await ClusterClient.connect({
      deployment: this.deployment,
      clientId,
      secretKey: key('client', clientId).secretKey,
      transport: (onMessage) => this.network.transport(`c${clientId}`, onMessage),
      timeoutMs: 5_000,
      ...overrides,
    });
    this.clients.push(client);
    return client;
  }

  node(id: number): NodeRuntime {
    const node = this.nodes[id];
    if (node === null || node === undefined) throw new Error(`node ${id} is not running`);
    return node;
  }

  async stop(): Promise<void> {
    await Promise.all(this.clients.map((c) => c.close()));
    await Promise.all(this.nodes.map((n) => n?.stop()));
  }
}

/** Polls `condition` every 10 ms until it holds or `timeoutMs` passes. */
export async function eventually(condition: () => boolean, timeoutMs = 5_000, what = 'condition'): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}
