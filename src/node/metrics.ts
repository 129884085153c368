// Metrics in the Prometheus text exposition format 0.0.4, and an optional HTTP endpoint for it
// (loopback unless told otherwise), with liveness and readiness probes. A registry holds counters and gauges with a fixed set
// of label names; each metric keeps at most METRIC_SERIES_MAX label combinations, and folds any
// further ones into one series whose labels all read "other", so a peer cannot grow it.
import { createServer, type Server } from 'node:http';
import { createPeerMetrics, type PeerMetrics } from './peer-metrics.ts';

export const METRICS_CONTENT_TYPE = 'text/plain; version=0.0.4; charset=utf-8';
/** Most label combinations one metric keeps. */
export const METRIC_SERIES_MAX = 256;
/** Most collectors one registry runs per scrape. */
export const COLLECTORS_MAX = 16;
/** The interface the endpoint listens on unless told otherwise. */
export const METRICS_HOST = '127.0.0.1';

export type Labels = Readonly<Record<string, string>>;

export interface Counter {
  /** Adds `by` (default 1, must be >= 0). */
  inc(labels?: Labels, by?: number): void;
  /** Raises the count to `total` (a cumulative count kept elsewhere, read at scrape time); never lowers it. */
  advanceTo(total: number, labels?: Labels): void;
  get(labels?: Labels): number;
}

export interface Histogram {
  /** Counts one observation (in the metric's unit, seconds for latencies). */
  observe(value: number): void;
  count(): number;
}

/** Latency buckets, seconds: 1 ms to 10 s, about three per decade. */
export const LATENCY_BUCKETS_SECONDS: readonly number[] = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

export interface Gauge {
  set(value: number, labels?: Labels): void;
  get(labels?: Labels): number;
}

type Kind = 'counter' | 'gauge';

const NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/;
const LABEL_NAME = /^[a-zA-Z_][a-zA-Z0-9_]*$/;
const OVERFLOW_VALUE = 'other';

class Metric implements Rendered {
  readonly name: string;
  readonly help: string;
  readonly kind: Kind;
  readonly labelNames: readonly string[];
  /** Label values joined by \u0000, in labelNames order -> value. */
  private readonly series = new Map<string, number>();

  constructor(name: string, help: string, kind: Kind, labelNames: readonly string[]) {
    if (!NAME.test(name)) throw new RangeError(`metrics: invalid metric name ${JSON.stringify(name)}`);
    for (const label of labelNames) {
      if (!LABEL_NAME.test(label) || label.startsWith('__')) throw new RangeError(`metrics: ${name}: invalid label name ${JSON.stringify(label)}`);
    }
    if (new Set(labelNames).size !== labelNames.length) throw new RangeError(`metrics: ${name}: a label name repeats`);
    this.name = name;
    this.help = help;
    this.kind = kind;
    this.labelNames = labelNames;
  }

  add(labels: Labels, by: number): void {
    const key = this.slot(labels);
    this.series.set(key, (this.series.get(key) ?? 0) + by);
  }

  set(labels: Labels, value: number): void {
    this.series.set(this.slot(labels), value);
  }

  get(labels: Labels): number {
    return this.series.get(this.key(labels)) ?? 0;
  }

  render(lines: string[]): void {
    lines.push(`# HELP ${this.name} ${escapeHelp(this.help)}`, `# TYPE ${this.name} ${this.kind}`);
    if (this.series.size === 0 && this.labelNames.length === 0) lines.push(`${this.name} 0`);
    for (const [key, value] of this.series) {
      const values = this.labelNames.length === 0 ? [] : key.split('\u0000');
      const labels = this.labelNames.map((label, i) => `${label}="${escapeLabel(values[i]!)}"`);
      lines.push(`${this.name}${labels.length === 0 ? '' : `{${labels.join(',')}}`} ${formatValue(value)}`);
    }
  }

  private key(labels: Labels): string {
    const given = Object.keys(labels);
    if (given.length !== this.labelNames.length || given.some((l) => !this.labelNames.includes(l))) {
      throw new RangeError(`metrics: ${this.name} takes labels {${this.labelNames.join(',')}}, got {${given.join(',')}}`);
    }
    return this.labelNames.map((l) => labels[l]!).join('\u0000');
  }

  /** The series `labels` count in: their own, or the overflow series once the metric is full. */
  private slot(labels: Labels): string {
    const key = this.key(labels);
    if (this.series.has(key) || this.series.size < METRIC_SERIES_MAX - 1) return key;
    return this.labelNames.map(() => OVERFLOW_VALUE).join('\u0000');
  }
}

interface Rendered {
  render(lines: string[]): void;
}

/** Cumulative buckets, as Prometheus wants them: each counts the observations at or below its bound. */
class HistogramMetric implements Histogram, Rendered {
  private readonly name: string;
  private readonly help: string;
  private readonly buckets: readonly number[];
  private readonly bucketCounts: number[];
  private sum = 0;
  private observations = 0;

  constructor(name: string, help: string, buckets: readonly number[]) {
    this.name = name;
    this.help = help;
    this.buckets = buckets;
    if (!NAME.test(name)) throw new RangeError(`metrics: invalid metric name ${JSON.stringify(name)}`);
    this.bucketCounts = buckets.map(() => 0);
  }

  observe(value: number): void {
    if (!Number.isFinite(value)) return;
    for (let i = 0; i < this.buckets.length; i++) if (value <= this.buckets[i]!) this.bucketCounts[i]!++;
    this.sum += value;
    this.observations++;
  }

  count(): number {
    return this.observations;
  }

  render(lines: string[]): void {
    lines.push(`# HELP ${this.name} ${escapeHelp(this.help)}`, `# TYPE ${this.name} histogram`);
    this.buckets.forEach((bound, i) => lines.push(`${this.name}_bucket{le="${formatValue(bound)}"} ${this.bucketCounts[i]}`));
    lines.push(`${this.name}_bucket{le="+Inf"} ${this.observations}`, `${this.name}_sum ${formatValue(this.sum)}`, `${this.name}_count ${this.observations}`);
  }
}

export class MetricsRegistry {
  private readonly metrics = new Map<string, Rendered>();
  private readonly collectors: (() => void)[] = [];

  counter(name: string, help: string, labelNames: readonly string[] = []): Counter {
    const metric = this.register(name, help, 'counter', labelNames);
    return {
      inc: (labels = {}, by = 1) => {
        if (!(by >= 0)) throw new RangeError(`metrics: ${name}: a counter only grows, got ${by}`);
        metric.add(labels, by);
      },
      advanceTo: (total, labels = {}) => {
        const by = total - metric.get(labels);
        if (by > 0) metric.add(labels, by);
      },
      get: (labels = {}) => metric.get(labels),
    };
  }

  /** A histogram without labels over the ascending `buckets` (upper bounds; +Inf is implied). */
  histogram(name: string, help: string, buckets: readonly number[]): Histogram {
    if (buckets.length === 0 || buckets.some((b, i) => !Number.isFinite(b) || (i > 0 && b <= buckets[i - 1]!))) {
      throw new RangeError(`metrics: ${name}: buckets must be finite and ascending`);
    }
    const histogram = new HistogramMetric(name, help, buckets);
    this.add(name, histogram);
    return histogram;
  }

  gauge(name: string, help: string, labelNames: readonly string[] = []): Gauge {
    const metric = this.register(name, help, 'gauge', labelNames);
    return {
      set: (value, labels = {}) => metric.set(labels, value),
      get: (labels = {}) => metric.get(labels),
    };
  }

  /** `collect` runs before every render, for values read at scrape time; returns the function that removes it. */
  onCollect(collect: () => void): () => void {
    if (this.collectors.length >= COLLECTORS_MAX) throw new RangeError(`metrics: more than ${COLLECTORS_MAX} collectors`);
    this.collectors.push(collect);
    return () => {
      const i = this.collectors.indexOf(collect);
      if (i >= 0) this.collectors.splice(i, 1);
    };
  }

  /** The text exposition format 0.0.4, metrics in registration order. */
  render(): string {
    for (const collect of this.collectors) collect();
    const lines: string[] = [];
    for (const metric of this.metrics.values()) metric.render(lines);
    return `${lines.join('\n')}\n`;
  }

  private register(name: string, help: string, kind: Kind, labelNames: readonly string[]): Metric {
    const metric = new Metric(name, help, kind, labelNames);
    this.add(name, metric);
    return metric;
  }

  private add(name: string, metric: Rendered): void {
    if (this.metrics.has(name)) throw new RangeError(`metrics: ${name} registered twice`);
    this.metrics.set(name, metric);
  }
}

function escapeHelp(text: string): string {
  return text.replace(/\\/g, '\\\\').replace(/\n/g, '\\n');
}

function escapeLabel(text: string): string {
  return text.replace(/\\/g, '\\\\').replace(/\n/g, '\\n').replace(/"/g, '\\"');
}

function formatValue(value: number): string {
  if (Number.isNaN(value)) return 'NaN';
  if (value === Infinity) return '+Inf';
  if (value === -Infinity) return '-Inf';
  return String(value);
}

// ---------------------------------------------------------------------------------------------
// What a node exports.

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

export interface MetricsServer {
  /** The port actually bound (useful with port 0). */
  readonly port: number;
  close(): Promise<void>;
}

export interface Health {
  /** /healthz: the member runs. */
  live(): boolean;
  /** /readyz: it can serve clients (it follows a ballot with a leader). */
  ready(): boolean;
}

export interface ServeOptions {
  /** Default METRICS_HOST (loopback); another address exposes the endpoint beyond this machine. */
  readonly host?: string | undefined;
  readonly health?: Health;
}

/** Serves `GET /metrics`, and `/healthz` and `/readyz` (200 ok or 503) when `health` is given, on host:`port` (0: any free port). */
export async function serveMetrics(registry: MetricsRegistry, port: number, options: ServeOptions = {}): Promise<MetricsServer> {
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw new RangeError(`metrics: port must be an integer in 0..65535, got ${port}`);
  const host = options.host ?? METRICS_HOST;
  const probes: Readonly<Record<string, (() => boolean) | undefined>> = { '/healthz': options.health?.live, '/readyz': options.health?.ready };
  const server: Server = createServer((req, res) => {
    const path = (req.url ?? '').split('?')[0] ?? '';
    const probe = Object.hasOwn(probes, path) ? probes[path] : undefined;
    if (req.method === 'GET' && probe !== undefined) {
      const ok = probe();
      res.writeHead(ok ? 200 : 503, { 'content-type': 'text/plain' }).end(ok ? 'ok\n' : 'not ready\n');
      return;
    }
    if (req.method !== 'GET' || path !== '/metrics') {
      res.writeHead(req.method === 'GET' ? 404 : 405, { 'content-type': 'text/plain' }).end();
      return;
    }
    let body: string;
    try {
      body = registry.render();
    } catch (e) {
      res.writeHead(500, { 'content-type': 'text/plain' }).end(`${(e as Error).message}\n`);
      return;
    }
    res.writeHead(200, { 'content-type': METRICS_CONTENT_TYPE }).end(body);
  });
  server.requestTimeout = 5_000;
  server.headersTimeout = 5_000;
  server.maxConnections = 16;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen({ port, host, exclusive: true }, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const address = server.address();
  if (address === null || typeof address === 'string') throw new Error('metrics: server has no TCP address');
  return {
    port: address.port,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
