// Metrics through prom-client, and an optional HTTP endpoint for them (loopback unless told
// otherwise), with liveness and readiness probes. Each MetricsRegistry owns its own prom-client
// Registry, never the global one, since several members may run in one process (LocalCluster,
// tests). Each labelled metric keeps at most METRIC_SERIES_MAX label combinations and folds any
// further ones into one series whose labels all read "other", so a peer cannot grow it.
import { createServer, type Server } from 'node:http';
import { Counter as PromCounter, Gauge as PromGauge, Histogram as PromHistogram, Registry, collectDefaultMetrics } from 'prom-client';

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

const OVERFLOW_VALUE = 'other';

/**
 * The label sets one metric has seen, capped, with their values. Counting happens here, and
 * prom-client copies the values in when it collects (a scrape): its own per-call label hashing
 * cost about 0.7 us per count on the per-message path, and `get`/`advanceTo` need values at once.
 */
class Series {
  private readonly values = new Map<string, number>();
  private readonly name: string;
  private readonly labelNames: readonly string[];

  constructor(name: string, labelNames: readonly string[]) {
    this.name = name;
    this.labelNames = labelNames;
  }

  add(labels: Labels, by: number): void {
    const key = this.slot(labels);
    this.values.set(key, (this.values.get(key) ?? 0) + by);
  }

  set(labels: Labels, value: number): void {
    this.values.set(this.slot(labels), value);
  }

  get(labels: Labels): number {
    return this.values.get(this.key(labels)) ?? 0;
  }

  /** Every series as labels and value, for prom-client's collect. */
  *entries(): Generator<[Labels, number]> {
    for (const [key, value] of this.values) {
      const parts = this.labelNames.length === 0 ? [] : key.split('\u0000');
      yield [Object.fromEntries(this.labelNames.map((l, i) => [l, parts[i]!])), value];
    }
  }

  /** The series `labels` count in: their own, or the overflow series once the metric is full. */
  private slot(labels: Labels): string {
    const key = this.key(labels);
    if (this.values.has(key) || this.values.size < METRIC_SERIES_MAX - 1) return key;
    return this.labelNames.map(() => OVERFLOW_VALUE).join('\u0000');
  }

  private key(labels: Labels): string {
    const given = Object.keys(labels);
    if (given.length !== this.labelNames.length || given.some((l) => !this.labelNames.includes(l))) {
      throw new RangeError(`metrics: ${this.name} takes labels {${this.labelNames.join(',')}}, got {${given.join(',')}}`);
    }
    return this.labelNames.map((l) => labels[l]!).join('\u0000');
  }
}

export class MetricsRegistry {
  /** This registry's own prom-client registry (for libp2p's metrics, or anything else prom-client speaks to). */
  readonly prom = new Registry();
  private readonly collectors: (() => void)[] = [];

  counter(name: string, help: string, labelNames: readonly string[] = []): Counter {
    const series = new Series(name, labelNames);
    // Registering is all it needs: prom-client calls collect on each scrape.
    new PromCounter({
      name,
      help,
      labelNames,
      registers: [this.prom],
      collect() {
        this.reset();
        for (const [labels, value] of series.entries()) this.inc(labels, value);
      },
    });
    return {
      inc: (labels = {}, by = 1) => {
        if (!(by >= 0)) throw new RangeError(`metrics: ${name}: a counter only grows, got ${by}`);
        series.add(labels, by);
      },
      // Against the labels' own series: once folded into "other", a total is added as it grows.
      advanceTo: (total, labels = {}) => {
        const by = total - series.get(labels);
        if (by > 0) series.add(labels, by);
      },
      get: (labels = {}) => series.get(labels),
    };
  }

  /** A histogram without labels over the ascending `buckets` (upper bounds; +Inf is implied). */
  histogram(name: string, help: string, buckets: readonly number[]): Histogram {
    if (buckets.length === 0 || buckets.some((b, i) => !Number.isFinite(b) || (i > 0 && b <= buckets[i - 1]!))) {
      throw new RangeError(`metrics: ${name}: buckets must be finite and ascending`);
    }
    const metric = new PromHistogram({ name, help, buckets: [...buckets], registers: [this.prom] });
    let observations = 0;
    return {
      observe: (value) => {
        if (!Number.isFinite(value)) return;
        metric.observe(value);
        observations++;
      },
      count: () => observations,
    };
  }

  gauge(name: string, help: string, labelNames: readonly string[] = []): Gauge {
    const series = new Series(name, labelNames);
    // As for counters: filled from `series` on each scrape.
    new PromGauge({
      name,
      help,
      labelNames,
      registers: [this.prom],
      collect() {
        for (const [labels, value] of series.entries()) this.set(labels, value);
      },
    });
    return {
      set: (value, labels = {}) => series.set(labels, value),
      get: (labels = {}) => series.get(labels),
    };
  }

  /**
   * prom-client's process and runtime metrics (CPU, memory, heap, event-loop lag, GC, handles) in
   * this registry. Their samplers live as long as the process: call it once, for the registry of
   * the one member a process runs.
   */
  collectProcessMetrics(): void {
    collectDefaultMetrics({ register: this.prom });
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
  async render(): Promise<string> {
    for (const collect of this.collectors) collect();
    this.dropCounterNamedGauges();
    return this.prom.metrics();
  }

  /**
   * Gauges named `*_total` (prom-client's nodejs_active_handles_total, libp2p's
   * libp2p_protocol_streams_total, …) read as counters to anyone applying rate(), and `promtool
   * check metrics` refuses them; each goes, once registered (libp2p registers some late).
   */
  private dropCounterNamedGauges(): void {
    for (const metric of this.prom.getMetricsAsArray()) {
      // prom-client's typings give `type` as an enum; at run time it is the exposition name.
      if (metric.name.endsWith('_total') && String(metric.type) !== 'counter') this.prom.removeSingleMetric(metric.name);
    }
  }
}

// ---------------------------------------------------------------------------------------------
// What a node exports.

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
    registry.render().then(
      (body) => res.writeHead(200, { 'content-type': METRICS_CONTENT_TYPE }).end(body),
      (e: unknown) => res.writeHead(500, { 'content-type': 'text/plain' }).end(`${(e as Error).message}\n`),
    );
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
