// A live member's metrics endpoint, as Prometheus scrapes it: three `byzpaxos start` processes
// (crash mode, SQLite) serve a few puts; every member's /metrics must pass `promtool check
// metrics` and carry the latency histograms and libp2p's own metrics, and /healthz and /readyz answer. promtool comes
// from Debian's prometheus package; without it that check is skipped, saying so, unless
// BYZPAXOS_REQUIRE_PROMTOOL=1 (CI), where its absence fails the test.
import { spawnSync } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LocalCluster } from '../../src/node/local-cluster.ts';
import { metricSum, type ProcessMember } from '../../src/node/process-member.ts';

const PUTS = 20;
const REQUIRE_PROMTOOL = process.env.BYZPAXOS_REQUIRE_PROMTOOL === '1';
const promtool = spawnSync('promtool', ['--version'], { encoding: 'utf8' }).status === 0;

let cluster: LocalCluster | null = null;
const scrapes: { url: string; text: string }[] = [];

beforeAll(async () => {
  cluster = await LocalCluster.start({ mode: 'crash', nodes: 3, clients: 1, processes: true });
  for (let i = 0; i < PUTS; i++) expect((await cluster.clients[0]!.put(`k${i}`, 'v')).ok).toBe(true);
  for (const member of cluster.members as ProcessMember[]) {
    const response = await fetch(member.metricsUrl, { signal: AbortSignal.timeout(5_000) });
    scrapes.push({ url: member.metricsUrl, text: await response.text() });
  }
}, 60_000);

afterAll(async () => {
  await cluster?.stop();
});

describe("a live member's metrics", () => {
  it('carry the request latency histograms, counted where the requests were served', () => {
    const replies = scrapes.reduce((sum, s) => sum + metricSum(s.text, 'byzpaxos_request_reply_seconds_count'), 0);
    expect(replies).toBeGreaterThanOrEqual(PUTS);
    for (const { text } of scrapes) {
      expect(text).toContain('# TYPE byzpaxos_request_decide_seconds histogram\n');
      expect(text).toContain('# TYPE byzpaxos_core_dropped_total counter\n');
      expect(text).toMatch(/^nodejs_heap_size_used_bytes \d+$/m);
    }
  });

  it("carry libp2p's own metrics: its connections to the other members, and bytes by protocol", () => {
    for (const { text } of scrapes) {
      const connections = (direction: string): number =>
        Number(new RegExp(`^libp2p_connection_manager_connections\\{libp2p_connection_manager_connections="${direction}"\\} (\\d+)$`, 'm').exec(text)?.[1]);
      expect(connections('inbound') + connections('outbound')).toBeGreaterThanOrEqual(2);
      expect(text).toMatch(/^libp2p_data_transfer_bytes_total\{protocol="\/byzpaxos\/1\.0\.0 sent"\} [1-9]\d*$/m);
    }
  });

  it('show each member connected to the other two, with bytes each way', () => {
    scrapes.forEach(({ text }, id) => {
      for (const other of [0, 1, 2].filter((o) => o !== id)) {
        expect(text).toContain(`byzpaxos_peer_connected{peer="n${other}"} 1\n`);
        expect(Number(new RegExp(`^byzpaxos_peer_bytes_out_total\\{peer="n${other}"\\} (\\d+)$`, 'm').exec(text)?.[1])).toBeGreaterThan(0);
      }
    });
  });

  const title = `pass \`promtool check metrics\`${promtool || REQUIRE_PROMTOOL ? '' : ' (skipped: promtool not installed)'}`;
  it.skipIf(!promtool && !REQUIRE_PROMTOOL)(title, () => {
    expect(promtool, 'BYZPAXOS_REQUIRE_PROMTOOL=1 but promtool is not installed (apt-get install prometheus)').toBe(true);
    for (const { url, text } of scrapes) {
      const r = spawnSync('promtool', ['check', 'metrics'], { input: text, encoding: 'utf8' });
      expect(r.status, `${url}: ${r.stdout}${r.stderr}`).toBe(0);
    }
  });

  it('answer /healthz and /readyz with 200 once they follow a leader', async () => {
    for (const { url } of scrapes) {
      expect((await fetch(url.replace('/metrics', '/healthz'))).status).toBe(200);
      expect((await fetch(url.replace('/metrics', '/readyz'))).status).toBe(200);
    }
  });
});
