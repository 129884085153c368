// The metrics a member exports (its protocol, requests, peers, process), created in one registry.
import { type Counter, type Gauge, type Histogram, MetricsRegistry, LATENCY_BUCKETS_SECONDS } from './metrics.ts';
import { createPeerMetrics, type PeerMetrics } from './peer-metrics.ts';

export interface NodeMetrics {
  readonly registry: MetricsRegistry;
  readonly decisions: Counter;
  readonly executions: Counter;
  /** The node's ballot changed (an election or view change, seen from this node). */
  readonly viewChanges: Counter;
  readonly messagesIn: Counter;
  readonly bytesIn: Counter;
  readonly messagesOut: Counter;
  readonly bytesOut: Counter;
  /** Outgoing messages the transport refused (queue full, peer unknown). */
  readonly sendsDropped: Counter;
  readonly rejected: Counter;
  readonly evidence: Counter;
  readonly suspicions: Counter;
  readonly ballotRound: Gauge;
  readonly isLeader: Gauge;
  readonly workingBallotRound: Gauge;
  readonly outsideWorkingBallot: Gauge;
  /** -1 before the first decision. */
  readonly lastDecidedSlot: Gauge;
  /** Messages the core itself dropped as unacceptable, by `type:reason` (read at scrape time). */
  readonly coreDropped: Counter;
  /** A client request's arrival here to the batch holding it decided here, seconds. */
  readonly requestToDecide: Histogram;
  /** A client request's arrival here to this member's reply with its result, seconds. */
  readonly requestToReply: Histogram;
  readonly peers: PeerMetrics;
}

export function createNodeMetrics(registry: MetricsRegistry = new MetricsRegistry()): NodeMetrics {
  return {
    registry,
    decisions: registry.counter('byzpaxos_decisions_total', 'Slots this node decided.'),
    executions: registry.counter('byzpaxos_executions_total', 'Client commands this replica executed.'),
    viewChanges: registry.counter('byzpaxos_view_changes_total', 'Changes of the ballot this node leads or follows.'),
    messagesIn: registry.counter('byzpaxos_messages_in_total', 'Messages received, by type (signed ones by inner type).', ['type']),
    bytesIn: registry.counter('byzpaxos_bytes_in_total', 'Bytes received, by message type.', ['type']),
    messagesOut: registry.counter('byzpaxos_messages_out_total', 'Messages sent, by type (signed ones by inner type).', ['type']),
    bytesOut: registry.counter('byzpaxos_bytes_out_total', 'Bytes sent, by message type.', ['type']),
    sendsDropped: registry.counter('byzpaxos_sends_dropped_total', 'Messages the transport refused to queue, by type.', ['type']),
    rejected: registry.counter('byzpaxos_rejected_total', 'Received messages rejected before the protocol core, by reason.', ['reason']),
    evidence: registry.counter('byzpaxos_evidence_total', 'Proofs of misbehaviour gathered, by kind.', ['kind']),
    suspicions: registry.counter('byzpaxos_suspicions_total', 'Unprovable misbehaviour noticed, by reason.', ['reason']),
    ballotRound: registry.gauge('byzpaxos_ballot_round', 'Round of the ballot this node leads or follows.'),
    isLeader: registry.gauge('byzpaxos_is_leader', '1 while this node leads its ballot, else 0.'),
    workingBallotRound: registry.gauge('byzpaxos_working_ballot_round', 'Byzantine modes: round of the ballot the latest decision seen here was voted in; 0 if none.'),
    outsideWorkingBallot: registry.gauge('byzpaxos_outside_working_ballot', '1 while this node is outside that ballot (changing, or joined below it), else 0.'),
    lastDecidedSlot: registry.gauge('byzpaxos_last_decided_slot', 'Highest slot such that it and every slot below it are decided here; -1 if none.'),
    coreDropped: registry.counter('byzpaxos_core_dropped_total', 'Messages the protocol core dropped as unacceptable, by type:reason.', ['reason']),
    requestToDecide: registry.histogram('byzpaxos_request_decide_seconds', "A client request's arrival at this member to its batch decided here.", LATENCY_BUCKETS_SECONDS),
    peers: createPeerMetrics(registry),
    requestToReply: registry.histogram('byzpaxos_request_reply_seconds', "A client request's arrival at this member to this member's reply with its result.", LATENCY_BUCKETS_SECONDS),
  };
}

// ---------------------------------------------------------------------------------------------
// HTTP endpoint.
