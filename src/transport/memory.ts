// An in-memory Transport for fast tests of the runtime: one MemoryNetwork, one endpoint per
// name. Delivery is asynchronous (a batch per setImmediate turn) and FIFO per link. A cut node
// neither sends nor receives: what is in flight to or from it when the batch runs is dropped
// ('unreachable'); restore() reconnects it. A stopped endpoint's name can be taken again by a new
// endpoint (a restart); messages still in flight then reach the new one.
import {
  StatsCounter,
  transportLimits,
  type PeerName,
  type Transport,
  type TransportLimits,
  type TransportStats,
} from './transport.ts';

export interface MemoryTransportOptions {
  /** If given, send() to any other name is refused ('unknown-peer'). */
  readonly peers?: Iterable<PeerName>;
  readonly maxMessageBytes?: number;
  /** Messages in flight per link (from, to). */
  readonly queueMessagesMax?: number;
}

interface InFlight {
  readonly from: MemoryEndpoint;
  readonly to: PeerName;
  readonly message: Uint8Array;
}

export class MemoryNetwork {
  readonly #endpoints = new Map<PeerName, MemoryEndpoint>();
  readonly #cut = new Set<PeerName>();
  #inFlight: InFlight[] = [];
  readonly #inFlightPerLink = new Map<string, number>();
  #immediate: ReturnType<typeof setImmediate> | undefined = undefined;

  /** A new endpoint named `name`; throws if a running endpoint already has that name. */
  transport(
    name: PeerName,
    onMessage: (from: PeerName, message: Uint8Array) => void,
    options: MemoryTransportOptions = {},
  ): Transport {
    const existing = this.#endpoints.get(name);
    if (existing !== undefined && !existing.stopped) throw new Error(`MemoryNetwork: ${name} is already running`);
    const endpoint = new MemoryEndpoint(this, name, onMessage, options);
    this.#endpoints.set(name, endpoint);
    return endpoint;
  }

  cut(name: PeerName): void {
    this.#cut.add(name);
  }

  restore(name: PeerName): void {
    this.#cut.delete(name);
  }

  isCut(name: PeerName): boolean {
    return this.#cut.has(name);
  }

  /** Messages accepted and not yet delivered or dropped. */
  get inFlight(): number {
    return this.#inFlight.length;
  }

  /** For MemoryEndpoint: false if the link (from, to) already holds `max` messages. */
  enqueue(item: InFlight, max: number): boolean {
    const key = linkKey(item.from.name, item.to);
    const count = this.#inFlightPerLink.get(key) ?? 0;
    if (count >= max) return false;
    this.#inFlightPerLink.set(key, count + 1);
    this.#inFlight.push(item);
    this.#immediate ??= setImmediate(() => this.#deliverBatch());
    return true;
  }

  inFlightOn(from: PeerName, to: PeerName): number {
    return this.#inFlightPerLink.get(linkKey(from, to)) ?? 0;
  }

  #deliverBatch(): void {
    this.#immediate = undefined;
    const batch = this.#inFlight;
    this.#inFlight = [];
    for (const item of batch) {
      const key = linkKey(item.from.name, item.to);
      const left = (this.#inFlightPerLink.get(key) ?? 1) - 1;
      if (left === 0) this.#inFlightPerLink.delete(key);
      else this.#inFlightPerLink.set(key, left);
      const target = this.#endpoints.get(item.to);
      const reachable =
        target !== undefined && !target.stopped && !this.#cut.has(item.to) && !this.#cut.has(item.from.name);
      if (reachable) target.deliver(item.from.name, item.message);
      else item.from.counter.drop('unreachable', item.to);
    }
  }
}

class MemoryEndpoint implements Transport {
  readonly name: PeerName;
  readonly counter = new StatsCounter();
  stopped = false;
  readonly #network: MemoryNetwork;
  readonly #onMessage: (from: PeerName, message: Uint8Array) => void;
  readonly #peers: ReadonlySet<PeerName> | undefined;
  readonly #limits: TransportLimits;

  constructor(
    network: MemoryNetwork,
    name: PeerName,
    onMessage: (from: PeerName, message: Uint8Array) => void,
    options: MemoryTransportOptions,
  ) {
    this.#network = network;
    this.name = name;
    this.#onMessage = onMessage;
    this.#peers = options.peers === undefined ? undefined : new Set(options.peers);
    this.#limits = transportLimits(options);
    for (const peer of this.#peers ?? []) this.counter.peer(peer);
  }

  get stats(): TransportStats {
    return this.counter.snapshot((peer) => ({
      queuedMessages: this.#network.inFlightOn(this.name, peer),
      streamsOpen: 0,
    }));
  }

  send(to: PeerName, message: Uint8Array): boolean {
    if (this.stopped) return this.#drop('stopped', to);
    if (this.#peers !== undefined && !this.#peers.has(to)) return this.#drop('unknown-peer', undefined);
    if (!(message instanceof Uint8Array) || message.length > this.#limits.maxMessageBytes) {
      return this.#drop('oversize', to);
    }
    this.counter.peer(to);
    if (!this.#network.enqueue({ from: this, to, message }, this.#limits.queueMessagesMax)) {
      return this.#drop('queue-full', to);
    }
    this.counter.sent(to, 1, message.length);
    return true;
  }

  deliver(from: PeerName, message: Uint8Array): void {
    this.counter.received(from, message.length);
    try {
      this.#onMessage(from, message);
    } catch {
      this.counter.drop('handler-error', from);
    }
  }

  stop(): Promise<void> {
    this.stopped = true;
    return Promise.resolve();
  }

  #drop(reason: 'stopped' | 'unknown-peer' | 'oversize' | 'queue-full', to: PeerName | undefined): false {
    this.counter.drop(reason, to);
    return false;
  }
}

function linkKey(from: PeerName, to: PeerName): string {
  return `${from}\u0000${to}`;
}
