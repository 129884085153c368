// Concurrent CLI commands with one client id and key (issue 10, item 4): every process has its
// own session, so none makes another's commands stale and none is served another's cached reply.
// 16 `put`s at once all succeed and each is executed exactly once on every member (the members'
// execution counters say so); a replayed old command of a session is still ignored.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { libp2pTransport, loadDeployment } from '../../src/cli/deployment.ts';
import { ClusterClient } from '../../src/node/cluster-client.ts';
import { silentLogger } from '../../src/node/log.ts';
import { byzpaxos, freeBasePort, killEverything, Members, waitFor } from './deploy-helpers.ts';

const tmp = mkdtempSync(join(tmpdir(), 'byzpaxos-sessions-'));
afterAll(() => {
  killEverything();
  rmSync(tmp, { recursive: true, force: true });
});

const PUTS = 16;
const N = 4;

/** byzpaxos_executions_total of every member, from its metrics endpoint. */
async function executions(metricsPorts: readonly number[]): Promise<number[]> {
  return Promise.all(
    metricsPorts.map(async (port) => {
      const text = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
      return Number(/^byzpaxos_executions_total (\d+)$/m.exec(text)![1]);
    }),
  );
}

/** Client 1 of the deployment in this process, in session `session`. */
function client(configPath: string, session: number): Promise<ClusterClient> {
  const loaded = loadDeployment(configPath, 'client', 1);
  return ClusterClient.connect({
    deployment: loaded.config,
    clientId: 1,
    secretKey: loaded.key.secretKey,
    transport: libp2pTransport(loaded, silentLogger),
    timeoutMs: 20_000,
    newSession: () => session,
  });
}

describe('one client id, many processes', () => {
  it(`byzantine, ${N} members: ${PUTS} concurrent CLI puts as client 1 all succeed, each executed once; a replayed command is ignored`, async () => {
    const dir = join(tmp, 'cluster');
    const base = await freeBasePort(2 * N);
    const init = await byzpaxos(['init', '--nodes', String(N), '--mode', 'byzantine', '--dir', dir, '--base-port', String(base)]);
    expect(init.code, init.stderr).toBe(0);
    const configPath = join(dir, 'cluster.json');
    const metricsPorts = Array.from({ length: N }, (_, id) => base + N + id);
    const members = new Members(configPath, N);
    for (let id = 0; id < N; id++) members.start(id, ['--metrics-port', String(metricsPorts[id])]);
    try {
      for (let id = 0; id < N; id++) {
        await waitFor(`n${id} to start`, () => members.logs[id]!.some((l) => l.includes('"msg":"node started"')), 30_000, () => members.tail(id));
      }
      const keys = Array.from({ length: PUTS }, (_, i) => `k${i}`);
      const runs = await Promise.all(keys.map((k) => byzpaxos(['put', k, `v-${k}`, '--config', configPath, '--timeout-ms', '40000'], 60_000)));
      for (const [i, r] of runs.entries()) expect({ key: keys[i], code: r.code, stdout: r.stdout, stderr: r.stderr }).toEqual({ key: keys[i], code: 0, stdout: 'ok\n', stderr: '' });
      // Every member executes the decided log: exactly the 16 puts, each once.
      await waitFor('every member to execute 16 commands', async () => (await executions(metricsPorts)).every((c) => c >= PUTS), 20_000);
      expect(await executions(metricsPorts)).toEqual(Array(N).fill(PUTS));

      // A session's old command, sent again (a replay, or a second process claiming the same
      // session), gets the cached reply and is not executed: x keeps its first value.
      const first = await client(configPath, 4242);
      expect(await first.put('x', 'first')).toEqual({ ok: true, value: null });
      await first.close();
      const replay = await client(configPath, 4242);
      expect(await replay.put('x', 'replayed')).toEqual({ ok: true, value: null });
      await waitFor('every member to execute the put of x', async () => (await executions(metricsPorts)).every((c) => c >= PUTS + 1), 20_000);
      expect(await executions(metricsPorts)).toEqual(Array(N).fill(PUTS + 1));
      await replay.close();

      const reader = await client(configPath, 777);
      try {
        for (const k of keys) expect(await reader.get(k)).toBe(`v-${k}`);
        expect(await reader.get('x')).toBe('first');
      } finally {
        await reader.close();
      }
    } finally {
      await members.stopAll();
    }
  }, 180_000);
});
