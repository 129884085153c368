// The patch ledger deployed (seed 000 §6): four `byzpaxos start` processes over libp2p on
// 127.0.0.1, member 0 (the first leader) running skips-validation. A rogue client's broken patch
// reaches every member; the honest ones drop it, the malicious leader proposes it, the honest
// acceptors refuse to Verify it, and it never lands: after an honest patch goes through, every
// member's own store rebuilds the same history and tree. experiments/patch-ledger/run.ts tells the
// longer story through the CLI.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { decodeLedgerResult, encodeLedgerOp, type LedgerResult } from '../../src/app/patch-ledger.ts';
import { loadDeployment } from '../../src/cli/deployment.ts';
import { memberLedger, treeDigest } from '../../src/cli/ledger.ts';
import { memberStore } from '../../src/cli/store-commands.ts';
import { ClusterTimeoutError, type ClusterClient } from '../../src/node/cluster-client.ts';
import { toHex } from '../../crypto/digest.ts';
import { byzpaxos, connectClient, freeBasePort, killEverything, Members } from './deploy-helpers.ts';

const dir = mkdtempSync(join(tmpdir(), 'byzpaxos-ledger-test-'));
afterAll(() => {
  killEverything();
  rmSync(dir, { recursive: true, force: true });
});

const CREATE = ['--- /dev/null', '+++ b/main.c', '@@ -0,0 +1,3 @@', '+int main(void) {', '+  return 0;', '+}', ''].join('\n');
const BREAK = ['--- a/main.c', '+++ b/main.c', '@@ -2,2 +2,3 @@', '+  TODO-BREAK;', '   return 0;', ' }', ''].join('\n');
const HELLO = ['--- a/main.c', '+++ b/main.c', '@@ -1,2 +1,3 @@', ' int main(void) {', '+  puts("hello");', '   return 0;', ''].join('\n');

async function propose(client: ClusterClient, patch: string, message: string, timeoutMs: number): Promise<LedgerResult> {
  return decodeLedgerResult(await client.submit(encodeLedgerOp({ type: 'patch', message, patch }), message, { timeoutMs }));
}

function dropped(metrics: string, reason: string): number {
  const line = metrics.split('\n').find((l) => l.startsWith('byzpaxos_core_dropped_total{') && l.includes(`reason="${reason}"`));
  return line === undefined ? 0 : Number(line.split(' ').at(-1));
}

describe('the patch ledger on a deployed Byzantine cluster', () => {
  it('a malicious leader\'s broken patch is refused by the honest acceptors and never lands; every member ends with the same history', { timeout: 30_000 }, async () => {
    const base = await freeBasePort(8);
    const init = await byzpaxos(['init', '--nodes', '4', '--mode', 'byzantine', '--dir', dir, '--base-port', String(base), '--clients', '2', '--app', 'patch-ledger']);
    expect(init.code, init.stderr).toBe(0);
    const config = join(dir, 'cluster.json');
    const members = new Members(config, 4);
    for (let id = 0; id < 4; id++) members.start(id, ['--metrics-port', String(base + 4 + id), ...(id === 0 ? ['--adversary', 'skips-validation'] : [])]);
    const developer = await connectClient(config, 1, 10_000);
    const rogue = await connectClient(config, 2, 10_000);
    try {
      expect(await propose(developer, CREATE, 'create main.c', 10_000)).toMatchObject({ type: 'applied', count: 1 });
      await expect(propose(rogue, BREAK, 'break the build', 2_500)).rejects.toThrow(ClusterTimeoutError);
      // Behind the refused slot honest work stalls, so the honest members replace the leader.
      expect(await propose(developer, HELLO, 'say hello', 10_000)).toMatchObject({ type: 'applied', count: 2 });
      const refusedBy = [];
      for (let id = 1; id < 4; id++) {
        const metrics = await (await fetch(`http://127.0.0.1:${base + 4 + id}/metrics`, { signal: AbortSignal.timeout(5_000) })).text();
        if (dropped(metrics, 'accept:invalid-batch') > 0) refusedBy.push(id);
      }
      expect(refusedBy.length, 'honest acceptors that refused to Verify the malicious batch').toBeGreaterThanOrEqual(2);
    } finally {
      await developer.close();
      await rogue.close();
      await members.stopAll();
    }
    const ledgers = [0, 1, 2, 3].map((id) => memberLedger(memberStore('test', { config, id: String(id) }), loadDeployment(config, 'member', id)));
    for (const [id, ledger] of ledgers.entries()) {
      expect(ledger.count, `n${id}`).toBe(2);
      expect(toHex(ledger.head), `n${id}`).toBe(toHex(ledgers[0]!.head));
      expect(treeDigest(ledger.tree()), `n${id}`).toBe(treeDigest(ledgers[0]!.tree()));
    }
    expect(ledgers[1]!.tree()).toEqual([['main.c', 'int main(void) {\n  puts("hello");\n  return 0;\n}\n']]);
  });
});
