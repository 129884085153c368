// The transport interface the node runtime is written against, and the limits and statistics
// shared by its implementations (libp2p.ts for deployment, memory.ts for fast tests).
//
// A transport moves opaque byte messages between named peers. It is an unreliable network:
// messages may be dropped (and are then counted), never corrupted, and arrive in order per link
// while one stream lives. It authenticates the sender (libp2p: the noise handshake proves the
// sender's key); everything above that (signatures, ballots, …) is the runtime's business.

import { FRAME_BYTES_MAX } from '../base/limits.ts';

export type PeerName = string; // e.g. 'n0'..'n3' for members, 'c1' for clients; chosen by the caller

export interface PeerSpec {
  /** 32-byte ed25519 public key; the libp2p PeerId is a pure function of it (identity.ts). */
  readonly publicKey: Uint8Array;
  /** Multiaddrs to dial; empty for clients, which only dial in. */
  readonly addrs: readonly string[];
}

/** Why a message, a stream or a connection was dropped. */
export type DropReason =
  /** send(): message above maxMessageBytes; receive: length prefix above it (stream aborted). */
  | 'oversize'
  /** receive: the stream ended or was reset in the middle of a frame. */
  | 'truncated'
  /** receive: a non-minimal or overlong varint length prefix (stream aborted). */
  | 'malformed-prefix'
  /** send(): the per-peer queue is at queueMessagesMax or queueBytesMax. */
  | 'queue-full'
  /** send() to a name not in `peers`; or a connection/stream from a PeerId not in `peers`. */
  | 'unknown-peer'
  /** send() to a peer with no addresses (a client) that has no live stream to us. */
  | 'no-route'
  /** send() after stop(). */
  | 'stopped'
  /** onMessage threw; the message is counted as delivered-and-dropped, the stream lives on. */
  | 'handler-error'
  /** A stream was written to and failed; the messages in that write are lost. */
  | 'stream-error'
  /** An inbound stream beyond STREAMS_PER_PEER_MAX: the oldest stream of that peer is aborted. */
  | 'stream-limit'
  /** memory.ts only: at delivery time the receiver was missing or stopped, or either end was cut. */
  | 'unreachable';

export const DROP_REASONS: readonly DropReason[] = [
  'oversize', 'truncated', 'malformed-prefix', 'queue-full', 'unknown-peer', 'no-route', 'stopped',
  'handler-error', 'stream-error', 'stream-limit', 'unreachable',
];

/** What went in and out: a transport's totals, and each peer's. */
export interface Traffic {
  /** Messages delivered to onMessage, and their payload bytes (length prefixes excluded). */
  readonly messagesIn: number;
  readonly bytesIn: number;
  /** Messages handed to a live stream, and their payload bytes. */
  readonly messagesOut: number;
  readonly bytesOut: number;
}

export interface PeerTraffic extends Traffic {
  /** Stream writes carrying those messages (coalescing: messagesOut / writes per write). */
  readonly writes: number;
  /** Messages (send side) and streams (receive side) dropped for this peer, all reasons. */
  readonly drops: number;
  /** Messages waiting in this peer's queue right now. */
  readonly queuedMessages: number;
  /** Streams with this peer open right now (both directions). */
  readonly streamsOpen: number;
  /** Dials we started to this peer, those that failed, and those that succeeded after a
   *  previous stream to it had closed (reconnects). */
  readonly dials: number;
  readonly dialFailures: number;
  readonly reconnects: number;
  /** Why the latest dial failed (its error's message); null if it succeeded or none has failed. */
  readonly lastDialError: string | null;
}

export interface TransportStats extends Traffic {
  /** One count per dropped message on the send side, per aborted stream or refused
   *  connection on the receive side. */
  readonly drops: Readonly<Record<DropReason, number>>;
  /** Connections refused by the gater (PeerId not in `peers`); also counted in drops['unknown-peer']. */
  readonly connectionsDenied: number;
  readonly streamsOpened: number;
  readonly streamsClosed: number;
  readonly peers: Readonly<Record<PeerName, PeerTraffic>>;
}

export interface Transport {
  /** Queues a message for `to`; returns false if it was dropped (unknown peer, queue full). Never throws. */
  send(to: PeerName, message: Uint8Array): boolean;
  /**
   * Writes out what send() queued now rather than at the end of this event-loop turn, where a
   * transport that coalesces would (libp2p.ts); a driver calls it once it has sent a batch.
   */
  flush?(): void;
  /** A snapshot, taken when read. */
  readonly stats: TransportStats;
  /** Closes every stream and connection, cancels every timer; idempotent. */
  stop(): Promise<void>;
}

export type LogLevel = 'debug' | 'info' | 'warn';
export type TransportLog = (level: LogLevel, event: string, fields?: Record<string, unknown>) => void;

export interface TransportOptions {
  readonly secretKey: Uint8Array; // 32-byte ed25519 seed of this endpoint
  readonly listen: readonly string[]; // multiaddrs; [] for a client
  readonly peers: ReadonlyMap<PeerName, PeerSpec>; // everyone else allowed to talk to us
  readonly onMessage: (from: PeerName, message: Uint8Array) => void;
  readonly maxMessageBytes?: number; // default MESSAGE_BYTES_MAX_DEFAULT
  readonly queueMessagesMax?: number; // default QUEUE_MESSAGES_MAX_DEFAULT
  readonly queueBytesMax?: number; // default QUEUE_BYTES_MAX_DEFAULT
  /** Reconnect backoff; defaults BACKOFF_BASE_MS_DEFAULT and BACKOFF_MAX_MS_DEFAULT. */
  readonly backoffBaseMs?: number;
  readonly backoffMaxMs?: number;
  readonly log?: TransportLog;
  /** Route libp2p's own debug lines into `log` (libp2p-logger.ts); default false: libp2p logs nothing. */
  readonly libp2pDebug?: boolean;
}

// --- Limits --------------------------------------------------------------------------------------

/**
 * Largest message, in bytes. The wire codec already refuses anything above FRAME_BYTES_MAX
 * (1 MiB); the transport bound is what a peer can make us buffer per stream before the codec
 * ever sees it. 4 × FRAME_BYTES_MAX leaves room for an envelope the runtime may add around a
 * maximal codec frame (signatures, a header) and for raising FRAME_BYTES_MAX without changing the
 * transport in lockstep, while keeping memory per stream at a few MiB (it also equals libp2p's
 * default per-stream read buffer, 4 MiB).
 */
export const MESSAGE_BYTES_MAX_DEFAULT = 4 * FRAME_BYTES_MAX;
/** Per-peer send queue, in messages; the protocol retransmits, so dropping beyond it is safe. */
export const QUEUE_MESSAGES_MAX_DEFAULT = 4096;
/** Per-peer send queue, in payload bytes; must hold at least one maximal message. */
export const QUEUE_BYTES_MAX_DEFAULT = 2 * MESSAGE_BYTES_MAX_DEFAULT;
/** First reconnect delay after a failure; doubled per further failure, jittered to [½, 1]×. */
export const BACKOFF_BASE_MS_DEFAULT = 100;
/** Reconnect delay ceiling. */
export const BACKOFF_MAX_MS_DEFAULT = 5_000;
/** Open streams per peer (both directions, all connections); a newer inbound one evicts the oldest. */
export const STREAMS_PER_PEER_MAX = 4;
/**
 * Open streams per client peer: processes sharing a client key (concurrent CLI commands) each
 * open one, and every message to the client goes to all of them.
 */
export const CLIENT_STREAMS_MAX = 64;
/** Largest chunk handed to a stream in one write; one larger message goes alone. */
export const WRITE_CHUNK_BYTES_MAX = 1 << 20;
/** Bound on one dial (TCP connect + noise + yamux + protocol select). */
export const DIAL_TIMEOUT_MS = 5_000;
/**
 * Pending connections the TCP listener queues before libp2p accepts them (Node's default is 511;
 * the kernel caps it at net.core.somaxconn): a cluster's clients arriving at once must fit.
 */
export const LISTEN_BACKLOG = 1024;

/**
 * What libp2p's connection manager may hold for an endpoint that knows `peers` others (members
 * and clients of cluster.json): two connections per peer (simultaneous dials), plus a client
 * key's worth of processes sharing it (CLIENT_STREAMS_MAX). The bound on open connections, on
 * connections mid-handshake, and on new connections per second from one host: a cluster's
 * clients may all arrive at once from one machine. The gater refuses everyone else once noise
 * has named them, so this bounds what strangers can hold too.
 */
export function connectionsMax(peers: number): number {
  return 2 * peers + CLIENT_STREAMS_MAX;
}
/** A stream that lived at least this long resets the backoff when it closes. */
export const STREAM_STABLE_MS = 1_000;

/** The options with their defaults applied and checked; throws RangeError on nonsense. */
export interface TransportLimits {
  readonly maxMessageBytes: number;
  readonly queueMessagesMax: number;
  readonly queueBytesMax: number;
  readonly backoffBaseMs: number;
  readonly backoffMaxMs: number;
}

export function transportLimits(options: Partial<TransportLimits>): TransportLimits {
  const limits: TransportLimits = {
    maxMessageBytes: options.maxMessageBytes ?? MESSAGE_BYTES_MAX_DEFAULT,
    queueMessagesMax: options.queueMessagesMax ?? QUEUE_MESSAGES_MAX_DEFAULT,
    queueBytesMax: options.queueBytesMax ?? Math.max(QUEUE_BYTES_MAX_DEFAULT, 2 * (options.maxMessageBytes ?? 0)),
    backoffBaseMs: options.backoffBaseMs ?? BACKOFF_BASE_MS_DEFAULT,
    backoffMaxMs: options.backoffMaxMs ?? BACKOFF_MAX_MS_DEFAULT,
  };
  for (const [name, value] of Object.entries(limits)) {
    if (!Number.isSafeInteger(value) || value < 1) {
      throw new RangeError(`transport: ${name} must be a positive integer, got ${value}`);
    }
  }
  if (limits.maxMessageBytes > 2 ** 31 - 1) {
    throw new RangeError(`transport: maxMessageBytes must be below 2^31, got ${limits.maxMessageBytes}`);
  }
  if (limits.queueBytesMax < limits.maxMessageBytes) {
    throw new RangeError(
      `transport: queueBytesMax (${limits.queueBytesMax}) must hold one message of maxMessageBytes (${limits.maxMessageBytes})`,
    );
  }
  if (limits.backoffMaxMs < limits.backoffBaseMs) {
    throw new RangeError(`transport: backoffMaxMs (${limits.backoffMaxMs}) is below backoffBaseMs (${limits.backoffBaseMs})`);
  }
  return limits;
}

// --- Statistics ----------------------------------------------------------------------------------

/** The Traffic counters, counted alike for the totals and for each peer. */
export class TrafficCounter {
  messagesIn = 0;
  bytesIn = 0;
  messagesOut = 0;
  bytesOut = 0;

  countIn(bytes: number): void {
    this.messagesIn += 1;
    this.bytesIn += bytes;
  }

  countOut(messages: number, bytes: number): void {
    this.messagesOut += messages;
    this.bytesOut += bytes;
  }

  traffic(): Traffic {
    return { messagesIn: this.messagesIn, bytesIn: this.bytesIn, messagesOut: this.messagesOut, bytesOut: this.bytesOut };
  }
}

/** Mutable counters behind `Transport.stats`; implementations share it. */
export class StatsCounter extends TrafficCounter {
  connectionsDenied = 0;
  streamsOpened = 0;
  streamsClosed = 0;
  readonly drops: Record<DropReason, number> = Object.fromEntries(DROP_REASONS.map((r) => [r, 0])) as Record<
    DropReason,
    number
  >;
  readonly peers = new Map<PeerName, PeerCounter>();

  peer(name: PeerName): PeerCounter {
    let counter = this.peers.get(name);
    if (counter === undefined) {
      counter = new PeerCounter();
      this.peers.set(name, counter);
    }
    return counter;
  }

  drop(reason: DropReason, peer: PeerName | undefined, count = 1): void {
    this.drops[reason] += count;
    if (peer !== undefined && this.peers.has(peer)) this.peer(peer).drops += count;
  }

  received(peer: PeerName, bytes: number): void {
    this.countIn(bytes);
    this.peer(peer).countIn(bytes);
  }

  sent(peer: PeerName, messages: number, bytes: number): void {
    this.countOut(messages, bytes);
    const counter = this.peer(peer);
    counter.countOut(messages, bytes);
    counter.writes += 1;
  }

  snapshot(live: (name: PeerName) => { queuedMessages: number; streamsOpen: number }): TransportStats {
    const peers: Record<PeerName, PeerTraffic> = {};
    for (const [name, c] of this.peers) {
      const now = live(name);
      peers[name] = {
        ...c.traffic(),
        writes: c.writes,
        drops: c.drops,
        queuedMessages: now.queuedMessages,
        streamsOpen: now.streamsOpen,
        dials: c.dials,
        dialFailures: c.dialFailures,
        reconnects: c.reconnects,
        lastDialError: c.lastDialError,
      };
    }
    return {
      ...this.traffic(),
      drops: { ...this.drops },
      connectionsDenied: this.connectionsDenied,
      streamsOpened: this.streamsOpened,
      streamsClosed: this.streamsClosed,
      peers,
    };
  }
}

export class PeerCounter extends TrafficCounter {
  writes = 0;
  drops = 0;
  dials = 0;
  dialFailures = 0;
  reconnects = 0;
  lastDialError: string | null = null;
}
