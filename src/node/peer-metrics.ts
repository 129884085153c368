// Per-peer connection metrics, read from the transport's stats at scrape time. Members are one
// series each (n is at most 16); clients, who may be thousands, are summed into peer="clients"
// so that they never crowd the members out of the series cap.
import type { TransportStats } from '../transport/transport.ts';
import { parsePeerName } from './build.ts';
import type { Counter, Gauge, MetricsRegistry } from './metrics.ts';

const CLIENTS_LABEL = 'clients';

export interface PeerMetrics {
  readonly connected: Gauge;
  readonly clientsConnected: Gauge;
  readonly bytesIn: Counter;
  readonly bytesOut: Counter;
  readonly dialFailures: Counter;
  readonly queuedMessages: Gauge;
}

export function createPeerMetrics(registry: MetricsRegistry): PeerMetrics {
  return {
    connected: registry.gauge('byzpaxos_peer_connected', '1 while a stream with this member is open, else 0.', ['peer']),
    clientsConnected: registry.gauge('byzpaxos_clients_connected', 'Clients with a stream open to this member.'),
    bytesIn: registry.counter('byzpaxos_peer_bytes_in_total', 'Payload bytes received, by member (clients summed).', ['peer']),
    bytesOut: registry.counter('byzpaxos_peer_bytes_out_total', 'Payload bytes sent, by member (clients summed).', ['peer']),
    dialFailures: registry.counter('byzpaxos_peer_dial_failures_total', 'Dials to this member that failed.', ['peer']),
    queuedMessages: registry.gauge('byzpaxos_peer_queued_messages', 'Messages waiting in the send queue to this member.', ['peer']),
  };
}

export function collectPeerMetrics(metrics: PeerMetrics, stats: TransportStats): void {
  let clientsConnected = 0;
  let clientBytesIn = 0;
  let clientBytesOut = 0;
  for (const [name, traffic] of Object.entries(stats.peers)) {
    const peer = parsePeerName(name);
    if (peer?.kind !== 'member') {
      if (traffic.streamsOpen > 0) clientsConnected++;
      clientBytesIn += traffic.bytesIn;
      clientBytesOut += traffic.bytesOut;
      continue;
    }
    const labels = { peer: name };
    metrics.connected.set(traffic.streamsOpen > 0 ? 1 : 0, labels);
    metrics.bytesIn.advanceTo(traffic.bytesIn, labels);
    metrics.bytesOut.advanceTo(traffic.bytesOut, labels);
    metrics.dialFailures.advanceTo(traffic.dialFailures, labels);
    metrics.queuedMessages.set(traffic.queuedMessages, labels);
  }
  metrics.clientsConnected.set(clientsConnected);
  metrics.bytesIn.advanceTo(clientBytesIn, { peer: CLIENTS_LABEL });
  metrics.bytesOut.advanceTo(clientBytesOut, { peer: CLIENTS_LABEL });
}
