import { createNodeMetrics } from '../../src/node/node-metrics.ts';
import { request } from 'node:http';
import { register } from 'prom-client';
import { describe, expect, it } from 'vitest';
import { METRICS_CONTENT_TYPE, METRIC_SERIES_MAX, MetricsRegistry, serveMetrics } from '../../src/node/metrics.ts';

function get(port: number, path: string): Promise<{ status: number; type: string; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path, method: 'GET' }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => (body += chunk));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, type: String(res.headers['content-type']), body }));
    });
    req.on('error', reject);
    req.end();
  });
}

describe('text exposition format 0.0.4', () => {
  it('renders HELP, TYPE and one line per series, escaping label values', async () => {
    const registry = new MetricsRegistry();
    const messages = registry.counter('x_messages_total', 'Messages\nby type \\ kind.', ['type']);
    const leader = registry.gauge('x_is_leader', 'Leading?');
    messages.inc({ type: 'accept' });
    messages.inc({ type: 'accept' }, 2);
    messages.inc({ type: 'a"b\\c\nd' });
    leader.set(1);
    expect((await registry.render())).toBe(
      [
        '# HELP x_messages_total Messages\\nby type \\\\ kind.',
        '# TYPE x_messages_total counter',
        'x_messages_total{type="accept"} 3',
        'x_messages_total{type="a\\"b\\\\c\\nd"} 1',
        '',
        '# HELP x_is_leader Leading?',
        '# TYPE x_is_leader gauge',
        'x_is_leader 1',
        '',
      ].join('\n'),
    );
  });

  it('an unlabelled metric is rendered as 0 before it is touched; special values are spelled out (Prometheus parses NaN in any case)', async () => {
    const registry = new MetricsRegistry();
    registry.counter('x_total', 'x');
    const g = registry.gauge('y', 'y', ['k']);
    g.set(Infinity, { k: 'a' });
    g.set(NaN, { k: 'b' });
    expect((await registry.render())).toContain('x_total 0\n');
    expect((await registry.render())).toContain('y{k="a"} +Inf\ny{k="b"} Nan\n');
  });

  it('refuses bad names, wrong labels, double registration and a shrinking counter', async () => {
    const registry = new MetricsRegistry();
    expect(() => registry.counter('1bad', 'x')).toThrow(/Invalid metric name/);
    expect(() => registry.counter('ok_total', 'x', ['a-b'])).toThrow(/Invalid label name/);
    const c = registry.counter('c_total', 'x', ['a']);
    expect(() => registry.gauge('c_total', 'x')).toThrow(/already been registered/);
    expect(() => c.inc({ b: '1' })).toThrow(/takes labels \{a\}/);
    expect(() => c.inc({ a: '1' }, -1)).toThrow(/only grows/);
  });

  it('folds label combinations beyond METRIC_SERIES_MAX into one "other" series', async () => {
    const registry = new MetricsRegistry();
    const c = registry.counter('c_total', 'x', ['reason']);
    for (let i = 0; i < METRIC_SERIES_MAX + 10; i++) c.inc({ reason: `r${i}` });
    const lines = (await registry.render()).split('\n').filter((l) => l.startsWith('c_total{'));
    expect(lines).toHaveLength(METRIC_SERIES_MAX);
    expect(c.get({ reason: 'other' })).toBe(11);
    c.inc({ reason: 'r0' });
    expect(c.get({ reason: 'r0' })).toBe(2);
  });

  it('each registry is its own: two members in one process share no series, and none goes to the global one', async () => {
    const a = createNodeMetrics();
    const b = createNodeMetrics();
    a.decisions.inc();
    a.peers.connected.set(1, { peer: 'n1' });
    expect(await a.registry.render()).toContain('byzpaxos_decisions_total 1\n');
    expect(await b.registry.render()).toContain('byzpaxos_decisions_total 0\n');
    expect(await b.registry.render()).not.toContain('byzpaxos_peer_connected{');
    expect(await register.metrics()).not.toContain('byzpaxos_');
  });

  it('collectors run before each render', async () => {
    const metrics = createNodeMetrics();
    let round = 0;
    metrics.registry.onCollect(() => metrics.ballotRound.set(round));
    round = 7;
    expect((await metrics.registry.render())).toContain('byzpaxos_ballot_round 7\n');
  });
});

describe('histograms and cumulative counters', () => {
  it('renders cumulative buckets, +Inf, sum and count', async () => {
    const registry = new MetricsRegistry();
    const h = registry.histogram('lat_seconds', 'x', [0.01, 0.1]);
    for (const v of [0.005, 0.05, 0.05, 3]) h.observe(v);
    const text = (await registry.render());
    expect(text).toContain('# TYPE lat_seconds histogram\n');
    expect(text).toContain('lat_seconds_bucket{le="0.01"} 1\nlat_seconds_bucket{le="0.1"} 3\nlat_seconds_bucket{le="+Inf"} 4\n');
    expect(text).toContain('lat_seconds_sum 3.105\nlat_seconds_count 4\n');
    expect(() => registry.histogram('bad_seconds', 'x', [1, 0.5])).toThrow(RangeError);
  });

  it('advanceTo raises a counter to a cumulative total and never lowers it', async () => {
    const c = new MetricsRegistry().counter('d_total', 'x', ['reason']);
    c.advanceTo(5, { reason: 'a' });
    c.advanceTo(3, { reason: 'a' });
    expect(c.get({ reason: 'a' })).toBe(5);
    c.advanceTo(9, { reason: 'a' });
    expect(c.get({ reason: 'a' })).toBe(9);
  });

  it("the process metrics (prom-client's defaults) are read at scrape time, in this registry only", async () => {
    const registry = new MetricsRegistry();
    registry.collectProcessMetrics();
    const text = await registry.render();
    expect(Number(/^nodejs_heap_size_used_bytes (\d+)$/m.exec(text)?.[1])).toBeGreaterThan(0);
    expect(Number(/^process_cpu_seconds_total ([\d.e-]+)$/m.exec(text)?.[1])).toBeGreaterThan(0);
    expect(text).toMatch(/^nodejs_eventloop_lag_p99_seconds [\d.e-]+$/m);
    expect(text).toContain('# TYPE nodejs_gc_duration_seconds histogram\n');
    expect(text).toMatch(/^nodejs_active_handles\{type="\w+"\} \d+$/m);
    expect(text, 'a gauge named like a counter is dropped').not.toContain('nodejs_active_handles_total');
    expect(await new MetricsRegistry().render()).not.toContain('nodejs_');
  });
});

describe('HTTP endpoint', () => {
  it('answers /healthz and /readyz from the probes: 200 ok, else 503', async () => {
    let ready = false;
    const server = await serveMetrics(new MetricsRegistry(), 0, { health: { live: () => true, ready: () => ready } });
    try {
      expect(await get(server.port, '/healthz')).toMatchObject({ status: 200, body: 'ok\n' });
      expect((await get(server.port, '/readyz')).status).toBe(503);
      ready = true;
      expect((await get(server.port, '/readyz')).status).toBe(200);
    } finally {
      await server.close();
    }
  });


  it('serves GET /metrics on 127.0.0.1 only, 404 elsewhere, and closes', async () => {
    const metrics = createNodeMetrics();
    metrics.decisions.inc();
    const server = await serveMetrics(metrics.registry, 0);
    try {
      const ok = await get(server.port, '/metrics');
      expect(ok.status).toBe(200);
      expect(ok.type).toBe(METRICS_CONTENT_TYPE);
      expect(ok.body).toContain('byzpaxos_decisions_total 1\n');
      expect((await get(server.port, '/')).status).toBe(404);
    } finally {
      await server.close();
    }
    await expect(get(server.port, '/metrics')).rejects.toThrow();
  });

  it('rejects an invalid port', async () => {
    await expect(serveMetrics(new MetricsRegistry(), 70_000)).rejects.toThrow(RangeError);
  });
});
