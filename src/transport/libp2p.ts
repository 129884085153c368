// The libp2p transport: TCP + noise + yamux, one protocol (/byzpaxos/1.0.0), long-lived streams
// carrying length-prefixed frames (frames.ts). Nothing else runs: no identify, no DHT, no mDNS,
// no connection monitor, no peer discovery, no autodial.
//
// Rules:
// - Identity. Our libp2p key is our ed25519 consensus seed (identity.ts). A connection gater
//   refuses every PeerId not in `peers`, for dials and for inbound and outbound connections once
//   noise has authenticated them; a stream whose remote PeerId is unknown is aborted unread.
// - Which stream carries what. Every open stream with a peer is read (at most
//   STREAMS_PER_PEER_MAX, CLIENT_STREAMS_MAX for a client; a newer inbound stream evicts the
//   oldest). Writes to a member go to ONE stream, the "current" one: it stays current while it
//   is writable (so order per link is preserved for its lifetime); when it closes, the newest
//   other open stream becomes current, whichever side opened it. With none, a member (has addrs)
//   is dialled. Writes to a client go to every open stream: processes sharing its key (concurrent
//   CLI commands) each hold one, and each keeps the replies to its own session. With none, a
//   client is unreachable until it dials in again, and what is queued for it is dropped ('no-route').
// - Coalescing. send() only queues. One setImmediate per event-loop turn flushes every peer
//   with queued messages: all of them go out as back-to-back frames in one stream write (chunks
//   of at most WRITE_CHUNK_BYTES_MAX). The receiver splits and delivers them one by one. flush()
//   does it at once: the runtime calls it after each drain's sends, which would otherwise wait
//   for the next turn, behind the reading and decoding of whatever arrived meanwhile.
// - Backpressure and bounds. Nothing is written while the current stream needs a drain; the
//   per-peer queue is capped in messages and bytes, and send() drops (tail drop, counted
//   'queue-full') beyond it. The queue is kept while a member is unreachable.
// - Dialling. At start every member is dialled, and redialled (backing off as below) until a
//   first stream opens: a node back from a restart may have nothing to send for a while, and its
//   peers may sit in a long backoff toward it from the dials that failed while it was down; a
//   client refused or timed out in a burst of connections comes back by itself.
//   After that, dials are lazy (only when something is queued). A failed dial, or a stream that closes less than STREAM_STABLE_MS after opening,
//   doubles the delay before the next dial: min(backoffMaxMs, backoffBaseMs · 2^(failures−1)),
//   jittered to [½, 1]× of that. A stream that lived longer resets it, so the first redial after
//   a long-lived stream is immediate; so does a peer connecting in (it is up again).
// - Strict reading. An oversize length prefix, a malformed varint, or a stream ending mid-frame
//   aborts (resets) that stream and counts the reason; frames before the fault are delivered.
//   No handler throws; onMessage exceptions are caught and counted ('handler-error').
import { createLibp2p, type Libp2p } from 'libp2p';
import type { PrometheusMetricsComponents } from '@libp2p/prometheus-metrics';
import type { Registry } from 'prom-client';
import { tcp } from '@libp2p/tcp';
import { noise } from '@chainsafe/libp2p-noise';
import { yamux } from '@chainsafe/libp2p-yamux';
import { multiaddr, type Multiaddr } from '@multiformats/multiaddr';
import type { Connection, ConnectionGater, Metrics, PeerId, Stream } from '@libp2p/interface';
import { bytesEqual } from '../../crypto/digest.ts';
import { keyPairFromSeed } from '../../crypto/ed25519.ts';
import './noise-decoder.ts';
import './yamux-window.ts';
import './tcp-writes.ts';
import { encodeFrames, FrameDecoder, varintBytes, type FrameError } from './frames.ts';
import { libp2pPrivateKey, peerIdOf } from './identity.ts';
import { libp2pLogger } from './libp2p-logger.ts';
import {
  CLIENT_STREAMS_MAX,
  connectionsMax,
  DIAL_TIMEOUT_MS,
  LISTEN_BACKLOG,
  STREAM_STABLE_MS,
  STREAMS_PER_PEER_MAX,
  StatsCounter,
  transportLimits,
  WRITE_CHUNK_BYTES_MAX,
  type PeerName,
  type Transport,
  type TransportLimits,
  type TransportLog,
  type TransportOptions,
  type TransportStats,
} from './transport.ts';

export const PROTOCOL = '/byzpaxos/1.0.0';

export interface Libp2pTransport extends Transport {
  /** Our PeerId, = peerIdOf(our public key). */
  readonly peerId: string;
  /** The multiaddrs we listen on, each ending in /p2p/<peerId> (ports resolved). */
  readonly addrs: readonly string[];
}

export interface Libp2pTransportOptions extends TransportOptions {
  /**
   * Registers libp2p's own metrics (connections, dials, streams, noise, bytes by protocol) in this
   * registry. Only for a process that runs one libp2p node: @libp2p/prometheus-metrics keeps its
   * metrics in a module-wide map, which each new node clears, so two nodes in one process would mix
   * (it also clears prom-client's global registry, which byzpaxos never uses).
   */
  readonly metricsRegistry?: Registry;
}

export async function createLibp2pTransport(options: Libp2pTransportOptions): Promise<Libp2pTransport> {
  const limits = transportLimits(options);
  const self = keyPairFromSeed(options.secretKey);
  const links = buildLinks(options.peers, self.publicKey);
  const byPeerId = new Map<string, Link>([...links.values()].map((link) => [link.peerId, link]));
  const stats = new StatsCounter();
  for (const name of links.keys()) stats.peer(name);
  const log: TransportLog = options.log ?? (() => {});

  const node = await createLibp2p({
    privateKey: await libp2pPrivateKey(options.secretKey),
    logger: libp2pLogger(log, options.libp2pDebug === true),
    addresses: { listen: [...options.listen] },
    transports: [tcp({ backlog: LISTEN_BACKLOG })],
    connectionEncrypters: [noise()],
    streamMuxers: [yamux()],
    connectionGater: gater(byPeerId, stats, log),
    connectionMonitor: { enabled: false },
    ...(options.metricsRegistry === undefined ? {} : { metrics: await libp2pMetrics(options.metricsRegistry) }),
    connectionManager: {
      maxConnections: connectionsMax(links.size),
      // Every peer of the cluster may connect at once, and all from one host (its clients on one
      // machine, or behind one NAT): libp2p's defaults (5 a second per host, 10 mid-handshake)
      // reset a burst of CLI commands, and 64 mid-handshake refused half of 128 bench clients
      // arriving together (each then unconnected until it had something to send).
      inboundConnectionThreshold: connectionsMax(links.size),
      maxIncomingPendingConnections: connectionsMax(links.size),
      dialTimeout: DIAL_TIMEOUT_MS,
      inboundUpgradeTimeout: DIAL_TIMEOUT_MS,
    },
  });
  const transport = new Libp2pTransportImpl(node, options.onMessage, limits, links, byPeerId, stats, log);
  try {
    await transport.start();
  } catch (err) {
    await node.stop();
    throw err;
  }
  return transport;
}

/**
 * libp2p's metrics into `registry`. Imported only here, so that the client commands, which never
 * serve metrics, do not load it (about 90 ms). Our registry gathers the process metrics itself
 * (MetricsRegistry.collectProcessMetrics).
 */
async function libp2pMetrics(registry: Registry): Promise<(components: PrometheusMetricsComponents) => Metrics> {
  const { prometheusMetrics } = await import('@libp2p/prometheus-metrics');
  return prometheusMetrics({ registry, collectDefaultMetrics: false });
}

interface Link {
  readonly name: PeerName;
  readonly peerId: string;
  /** Empty for a client. */
  readonly addrs: readonly Multiaddr[];
  queue: Uint8Array[];
  queueBytes: number;
  current: Stream | undefined;
  /** Open streams in opening order, oldest first. */
  readonly streams: Map<Stream, StreamState>;
  dialing: boolean;
  /** Consecutive failed dials or short-lived streams; 0 means dial at once. */
  failures: number;
  nextDialAtMs: number;
  redialTimer: ReturnType<typeof setTimeout> | undefined;
  hadStream: boolean;
}

interface StreamState {
  readonly openedAtMs: number;
  readonly decoder: FrameDecoder;
  /** Set once the stream is being closed or aborted: nothing more is read or written. */
  done: boolean;
}

function buildLinks(peers: TransportOptions['peers'], ownPublicKey: Uint8Array): Map<PeerName, Link> {
  const links = new Map<PeerName, Link>();
  const seen = new Set<string>();
  const ownPeerId = peerIdOf(ownPublicKey);
  for (const [name, spec] of peers) {
    if (bytesEqual(spec.publicKey, ownPublicKey)) throw new RangeError(`transport: peer ${name} has our own key`);
    const peerId = peerIdOf(spec.publicKey);
    if (seen.has(peerId)) throw new RangeError(`transport: peer ${name} shares its key with another peer`);
    seen.add(peerId);
    if (peerId === ownPeerId) throw new Error('transport: unreachable');
    links.set(name, {
      name,
      peerId,
      addrs: spec.addrs.map((addr) => withPeerId(addr, peerId, name)),
      queue: [],
      queueBytes: 0,
      current: undefined,
      streams: new Map(),
      dialing: false,
      failures: 0,
      nextDialAtMs: 0,
      redialTimer: undefined,
      hadStream: false,
    });
  }
  return links;
}

/** `addr` ending in /p2p/<peerId>, so the dial fails unless noise proves that very key. */
function withPeerId(addr: string, peerId: string, name: PeerName): Multiaddr {
  const ma = multiaddr(addr);
  const p2p = ma.getComponents().filter((c) => c.name === 'p2p');
  if (p2p.length === 0) return ma.encapsulate(`/p2p/${peerId}`);
  if (p2p.length === 1 && p2p[0]!.value === peerId) return ma;
  throw new RangeError(`transport: address ${addr} of peer ${name} names another PeerId (expected ${peerId})`);
}

function gater(byPeerId: ReadonlyMap<string, Link>, stats: StatsCounter, log: TransportLog): ConnectionGater {
  const deny = (peerId: PeerId, stage: string): boolean => {
    const id = peerId.toString();
    if (byPeerId.has(id)) return false;
    stats.connectionsDenied += 1;
    stats.drop('unknown-peer', undefined);
    log('warn', 'connection:deny', { peerId: id, stage });
    return true;
  };
  return {
    denyDialPeer: (peerId) => deny(peerId, 'dial'),
    denyInboundEncryptedConnection: (peerId) => deny(peerId, 'inbound'),
    denyOutboundEncryptedConnection: (peerId) => deny(peerId, 'outbound'),
  };
}

class Libp2pTransportImpl implements Libp2pTransport {
  readonly peerId: string;
  readonly #node: Libp2p;
  readonly #onMessage: TransportOptions['onMessage'];
  readonly #limits: TransportLimits;
  readonly #links: ReadonlyMap<PeerName, Link>;
  readonly #byPeerId: ReadonlyMap<string, Link>;
  readonly #stats: StatsCounter;
  readonly #log: TransportLog;
  readonly #dirty = new Set<Link>();
  #flushImmediate: ReturnType<typeof setImmediate> | undefined = undefined;
  readonly #dialAborts = new Set<AbortController>();
  #stopped = false;
  #stopping: Promise<void> | undefined = undefined;

  constructor(
    node: Libp2p,
    onMessage: TransportOptions['onMessage'],
    limits: TransportLimits,
    links: ReadonlyMap<PeerName, Link>,
    byPeerId: ReadonlyMap<string, Link>,
    stats: StatsCounter,
    log: TransportLog,
  ) {
    this.#node = node;
    this.peerId = node.peerId.toString();
    this.#onMessage = onMessage;
    this.#limits = limits;
    this.#links = links;
    this.#byPeerId = byPeerId;
    this.#stats = stats;
    this.#log = log;
  }

  async start(): Promise<void> {
    await this.#node.handle(PROTOCOL, (stream, connection) => this.#onInboundStream(stream, connection), {
      maxInboundStreams: STREAMS_PER_PEER_MAX,
      maxOutboundStreams: STREAMS_PER_PEER_MAX,
    });
    this.#log('info', 'transport:start', { peerId: this.peerId, addrs: this.addrs });
    for (const link of this.#links.values()) this.#ensureDial(link);
  }

  get addrs(): readonly string[] {
    return this.#node.getMultiaddrs().map((ma) => ma.toString());
  }

  get stats(): TransportStats {
    return this.#stats.snapshot((name) => {
      const link = this.#links.get(name);
      return { queuedMessages: link?.queue.length ?? 0, streamsOpen: link?.streams.size ?? 0 };
    });
  }

  send(to: PeerName, message: Uint8Array): boolean {
    try {
      return this.#enqueue(to, message);
    } catch (err) {
      this.#log('warn', 'send:error', { to, error: String(err) });
      return false;
    }
  }

  flush(): void {
    if (this.#flushImmediate === undefined) return;
    clearImmediate(this.#flushImmediate);
    this.#flushDirty();
  }

  stop(): Promise<void> {
    this.#stopping ??= this.#stop();
    return this.#stopping;
  }

  // --- Sending -----------------------------------------------------------------------------------

  #enqueue(to: PeerName, message: Uint8Array): boolean {
    const link = this.#links.get(to);
    if (this.#stopped) return this.#dropOnSend('stopped', link);
    if (link === undefined) return this.#dropOnSend('unknown-peer', undefined);
    if (!(message instanceof Uint8Array)) throw new TypeError('send: message must be a Uint8Array');
    if (message.length > this.#limits.maxMessageBytes) return this.#dropOnSend('oversize', link);
    if (link.addrs.length === 0 && this.#writableStream(link) === undefined) return this.#dropOnSend('no-route', link);
    const full =
      link.queue.length >= this.#limits.queueMessagesMax ||
      link.queueBytes + message.length > this.#limits.queueBytesMax;
    if (full) return this.#dropOnSend('queue-full', link);
    link.queue.push(message);
    link.queueBytes += message.length;
    this.#scheduleFlush(link);
    return true;
  }

  #dropOnSend(reason: 'stopped' | 'unknown-peer' | 'oversize' | 'no-route' | 'queue-full', link: Link | undefined): false {
    this.#stats.drop(reason, link?.name);
    this.#log('debug', 'message:drop', { reason, to: link?.name });
    return false;
  }

  #scheduleFlush(link: Link): void {
    if (this.#stopped) return;
    this.#dirty.add(link);
    this.#flushImmediate ??= setImmediate(() => this.#flushDirty());
  }

  #flushDirty(): void {
    this.#flushImmediate = undefined;
    const links = [...this.#dirty];
    this.#dirty.clear();
    for (const link of links) {
      try {
        this.#flush(link);
      } catch (err) {
        this.#log('warn', 'flush:error', { peer: link.name, error: String(err) });
      }
    }
  }

  #flush(link: Link): void {
    if (this.#stopped || link.queue.length === 0) return;
    const streams = this.#targets(link);
    if (streams.length === 0) {
      if (link.addrs.length === 0) {
        this.#stats.drop('no-route', link.name, link.queue.length);
        this.#clearQueue(link);
      } else {
        this.#ensureDial(link);
      }
      return;
    }
    let start = 0;
    for (let ready = streams; start < link.queue.length; ) {
      ready = ready.filter((stream) => isWritable(stream, link) && !stream.writableNeedsDrain);
      if (ready.length === 0) break;
      const { end, payloadBytes } = this.#chunkEnd(link.queue, start);
      const chunk = encodeFrames(link.queue, start, end);
      for (const stream of ready) {
        try {
          stream.send(chunk);
        } catch (err) {
          // The stream died under us: this chunk is lost on it; the rest waits for another stream.
          this.#stats.drop('stream-error', link.name, end - start);
          this.#log('warn', 'stream:write-error', { peer: link.name, error: String(err) });
          this.#abortStream(link, stream, err instanceof Error ? err : new Error(String(err)));
          continue;
        }
        this.#stats.sent(link.name, end - start, payloadBytes);
      }
      start = end;
    }
    this.#consume(link, start);
    if (link.queue.length > 0) this.#log('debug', 'stream:wait-drain', { peer: link.name, queued: link.queue.length });
  }

  /**
   * The streams a flush writes to: a member's current one; every open one of a client, whose key
   * several processes may share (concurrent CLI commands), each on its own stream: each gets
   * every message and keeps the replies to its own session.
   */
  #targets(link: Link): Stream[] {
    if (link.addrs.length === 0) return [...link.streams.keys()].filter((stream) => isWritable(stream, link));
    const stream = this.#writableStream(link);
    return stream === undefined ? [] : [stream];
  }

  /** messages[start, end) fill one chunk of at most WRITE_CHUNK_BYTES_MAX (or one big message). */
  #chunkEnd(queue: readonly Uint8Array[], start: number): { end: number; payloadBytes: number } {
    let end = start;
    let chunkBytes = 0;
    let payloadBytes = 0;
    while (end < queue.length) {
      const length = queue[end]!.length;
      const frameBytes = varintBytes(length) + length;
      if (end > start && chunkBytes + frameBytes > WRITE_CHUNK_BYTES_MAX) break;
      chunkBytes += frameBytes;
      payloadBytes += length;
      end += 1;
    }
    return { end, payloadBytes };
  }

  #consume(link: Link, count: number): void {
    if (count === 0) return;
    for (let i = 0; i < count; i += 1) link.queueBytes -= link.queue[i]!.length;
    link.queue = count === link.queue.length ? [] : link.queue.slice(count);
    if (link.queueBytes < 0 || (link.queue.length === 0 && link.queueBytes !== 0)) {
      throw new Error(`transport: queue byte count out of sync for ${link.name}`);
    }
  }

  #clearQueue(link: Link): void {
    link.queue = [];
    link.queueBytes = 0;
  }

  /** The current stream if still writable; else the newest writable one, which becomes current. */
  #writableStream(link: Link): Stream | undefined {
    if (link.current !== undefined && isWritable(link.current, link)) return link.current;
    link.current = undefined;
    let newest: Stream | undefined;
    for (const stream of link.streams.keys()) if (isWritable(stream, link)) newest = stream;
    link.current = newest;
    return newest;
  }

  // --- Dialling ----------------------------------------------------------------------------------

  #ensureDial(link: Link): void {
    if (this.#stopped || link.dialing || link.redialTimer !== undefined || link.addrs.length === 0) return;
    const waitMs = link.nextDialAtMs - Date.now();
    if (waitMs > 0) {
      link.redialTimer = setTimeout(() => {
        link.redialTimer = undefined;
        if (link.hadStream) this.#scheduleFlush(link);
        else this.#ensureDial(link); // the start dial, retried: its queue may well be empty
      }, waitMs);
      return;
    }
    void this.#dial(link);
  }

  async #dial(link: Link): Promise<void> {
    link.dialing = true;
    this.#stats.peer(link.name).dials += 1;
    const abort = new AbortController();
    this.#dialAborts.add(abort);
    const timeout = setTimeout(() => abort.abort(new Error('dial timeout')), DIAL_TIMEOUT_MS);
    let stream: Stream;
    let failed = false;
    try {
      stream = await this.#node.dialProtocol([...link.addrs], PROTOCOL, { signal: abort.signal });
    } catch (err) {
      if (!this.#stopped) {
        this.#stats.peer(link.name).dialFailures += 1;
        this.#stats.peer(link.name).lastDialError = err instanceof Error ? err.message : String(err);
        this.#backOff(link);
        this.#log('debug', 'dial:fail', { peer: link.name, failures: link.failures, error: String(err) });
        this.#scheduleFlush(link);
        failed = true;
      }
      return;
    } finally {
      clearTimeout(timeout);
      this.#dialAborts.delete(abort);
      link.dialing = false;
      // Until a first stream opens the start dial is retried (backing off) with nothing queued:
      // a peer refused in a burst of connections would otherwise stay unconnected until it sends.
      if (failed && !link.hadStream) this.#ensureDial(link);
    }
    if (this.#stopped) {
      stream.abort(new Error('transport stopped'));
      return;
    }
    this.#stats.peer(link.name).lastDialError = null;
    if (link.hadStream) this.#stats.peer(link.name).reconnects += 1;
    this.#log('info', 'peer:up', { peer: link.name, reconnect: link.hadStream });
    this.#adopt(link, stream);
  }

  #backOff(link: Link): void {
    link.failures = Math.min(link.failures + 1, 32);
    const ceilingMs = Math.min(this.#limits.backoffMaxMs, this.#limits.backoffBaseMs * 2 ** (link.failures - 1));
    const delayMs = Math.round(ceilingMs * (0.5 + 0.5 * Math.random()));
    link.nextDialAtMs = Date.now() + delayMs;
  }

  // --- Streams -----------------------------------------------------------------------------------

  #onInboundStream(stream: Stream, connection: Connection): void {
    try {
      const link = this.#byPeerId.get(connection.remotePeer.toString());
      if (this.#stopped) {
        stream.abort(new Error('transport stopped'));
        return;
      }
      if (link === undefined) {
        // The gater should have refused the connection; never deliver from an unknown key.
        this.#stats.drop('unknown-peer', undefined);
        this.#log('warn', 'stream:deny', { peerId: connection.remotePeer.toString() });
        stream.abort(new Error('unknown peer'));
        return;
      }
      // The peer is up: whatever backoff its earlier failures earned is void.
      link.failures = 0;
      link.nextDialAtMs = 0;
      this.#adopt(link, stream);
    } catch (err) {
      this.#log('warn', 'stream:error', { error: String(err) });
      stream.abort(err instanceof Error ? err : new Error(String(err)));
    }
  }

  #adopt(link: Link, stream: Stream): void {
    while (link.streams.size >= (link.addrs.length === 0 ? CLIENT_STREAMS_MAX : STREAMS_PER_PEER_MAX)) {
      const oldest = link.streams.keys().next().value!;
      this.#stats.drop('stream-limit', link.name);
      this.#abortStream(link, oldest, new Error('stream limit'));
      this.#forget(link, oldest); // in case abort() emitted no 'close' (already closed)
    }
    const state: StreamState = {
      openedAtMs: Date.now(),
      decoder: new FrameDecoder(this.#limits.maxMessageBytes),
      done: false,
    };
    link.streams.set(stream, state);
    link.hadStream = true;
    this.#stats.streamsOpened += 1;
    this.#log('debug', 'stream:open', { peer: link.name, direction: stream.direction, id: stream.id });
    stream.addEventListener('message', (evt) => this.#onData(link, stream, state, evt.data));
    stream.addEventListener('remoteCloseWrite', () => this.#onRemoteEnd(link, stream, state));
    stream.addEventListener('close', () => this.#onClose(link, stream, state));
    stream.addEventListener('drain', () => this.#scheduleFlush(link));
    if (link.redialTimer !== undefined) {
      clearTimeout(link.redialTimer);
      link.redialTimer = undefined;
    }
    this.#scheduleFlush(link);
  }

  #onData(link: Link, stream: Stream, state: StreamState, data: Uint8Array | Iterable<Uint8Array>): void {
    try {
      if (state.done || this.#stopped) return;
      const chunks = data instanceof Uint8Array ? [data] : data;
      for (const chunk of chunks) {
        const error = state.decoder.push(chunk, (frame) => this.#deliver(link, frame));
        if (error !== undefined) {
          this.#rejectStream(link, stream, state, error);
          return;
        }
      }
    } catch (err) {
      this.#log('warn', 'stream:error', { peer: link.name, error: String(err) });
      this.#abortStream(link, stream, err instanceof Error ? err : new Error(String(err)));
    }
  }

  #deliver(link: Link, frame: Uint8Array): void {
    if (this.#stopped) return;
    this.#stats.received(link.name, frame.length);
    try {
      this.#onMessage(link.name, frame);
    } catch (err) {
      this.#stats.drop('handler-error', link.name);
      this.#log('warn', 'message:handler-error', { peer: link.name, error: String(err) });
    }
  }

  /** The remote closed its writing side: a clean end unless mid-frame; we close ours too. */
  #onRemoteEnd(link: Link, stream: Stream, state: StreamState): void {
    try {
      if (state.done) return;
      const error = state.decoder.end();
      if (error !== undefined) {
        this.#rejectStream(link, stream, state, error);
        return;
      }
      state.done = true;
      if (link.current === stream) link.current = undefined;
      stream.close().catch((err: unknown) => stream.abort(err instanceof Error ? err : new Error(String(err))));
      this.#scheduleFlush(link);
    } catch (err) {
      this.#log('warn', 'stream:error', { peer: link.name, error: String(err) });
    }
  }

  #onClose(link: Link, stream: Stream, state: StreamState): void {
    try {
      if (!state.done) {
        state.done = true;
        const error = state.decoder.end(); // a reset in the middle of a frame
        if (error !== undefined) {
          this.#stats.drop(error, link.name);
          this.#log('warn', 'stream:truncated', { peer: link.name });
        }
      }
      if (!this.#forget(link, stream)) return;
      const livedMs = Date.now() - state.openedAtMs;
      if (livedMs >= STREAM_STABLE_MS) {
        link.failures = 0;
        link.nextDialAtMs = 0;
      } else if (stream.direction === 'outbound') {
        this.#backOff(link);
      }
      // Peer up and down at info for the links this side dials (members to members), not for every client's stream.
      this.#log(stream.direction === 'outbound' ? 'info' : 'debug', 'peer:down', { peer: link.name, id: stream.id, livedMs });
      this.#scheduleFlush(link);
    } catch (err) {
      this.#log('warn', 'stream:error', { peer: link.name, error: String(err) });
    }
  }

  /** Removes a stream from the link; false if it was already gone. */
  #forget(link: Link, stream: Stream): boolean {
    if (!link.streams.delete(stream)) return false;
    this.#stats.streamsClosed += 1;
    if (link.current === stream) link.current = undefined;
    return true;
  }

  #rejectStream(link: Link, stream: Stream, state: StreamState, reason: FrameError): void {
    this.#stats.drop(reason, link.name);
    this.#log('warn', 'stream:reject', { peer: link.name, reason, id: stream.id });
    state.done = true;
    this.#abortStream(link, stream, new Error(`byzpaxos frame: ${reason}`));
  }

  #abortStream(link: Link, stream: Stream, err: Error): void {
    const state = link.streams.get(stream);
    if (state !== undefined) state.done = true;
    if (link.current === stream) link.current = undefined;
    stream.abort(err); // emits 'close' synchronously or soon; #onClose removes it
  }

  // --- Stopping ----------------------------------------------------------------------------------

  async #stop(): Promise<void> {
    this.#stopped = true;
    if (this.#flushImmediate !== undefined) clearImmediate(this.#flushImmediate);
    this.#flushImmediate = undefined;
    this.#dirty.clear();
    for (const abort of this.#dialAborts) abort.abort(new Error('transport stopped'));
    for (const link of this.#links.values()) {
      if (link.redialTimer !== undefined) clearTimeout(link.redialTimer);
      link.redialTimer = undefined;
      this.#clearQueue(link);
    }
    try {
      await this.#node.stop();
    } finally {
      this.#log('info', 'transport:stop', { peerId: this.peerId });
    }
  }
}

function isWritable(stream: Stream, link: Link): boolean {
  const state = link.streams.get(stream);
  return state !== undefined && !state.done && stream.status === 'open' && stream.writeStatus === 'writable';
}
