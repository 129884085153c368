// The patch ledger deployed (seed 000 §6): four `byzpaxos start` processes over libp2p on
// 127.0.0.1, member 0 (the first leader) running skips-validation. A rogue client's broken patch
// reaches every member while member 0 leads; the honest ones drop it, the malicious leader
// proposes it, the honest acceptors refuse to Verify it, and it never lands: an honest patch goes
// through once the honest members replaced the leader, and every member's own store rebuilds the
// same history and tree. experiments/patch-ledger/run.ts tells the
// longer story through the CLI.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it, vi } from 'vitest';
import { decodeLedgerResult, encodeLedgerOp, type LedgerResult } from '../../src/app/patch-ledger.ts';
import { loadDeployment } from '../../src/cli/deployment.ts';
import { UsageError } from '../../src/cli/args.ts';
import { parseInitArgs } from '../../src/cli/init.ts';
import { memberLedger, runLedger, treeDigest } from '../../src/cli/ledger.ts';
import { memberStore } from '../../src/cli/store-commands.ts';
import { CommandRefusedError, type ClusterClient } from '../../src/node/cluster-client.ts';
import { toHex } from '../../crypto/digest.ts';
import { byzpaxos, connectClient, freeBasePort, killEverything, Members, oneBallot, waitFor } from './deploy-helpers.ts';

const dir = mkdtempSync(join(tmpdir(), 'byzpaxos-ledger-test-'));
afterAll(() => {
  killEverything();
  rmSync(dir, { recursive: true, force: true });
});

const CREATE = ['--- /dev/null', '+++ b/main.c', '@@ -0,0 +1,3 @@', '+int main(void) {', '+  return 0;', '+}', ''].join('\n');
const BREAK = ['--- /dev/null', '+++ b/main.c', '@@ -0,0 +1,1 @@', '+TODO-BREAK', ''].join('\n');

async function propose(client: ClusterClient, patch: string, message: string, timeoutMs: number, signal?: AbortSignal): Promise<LedgerResult> {
  return decodeLedgerResult(await client.submit(encodeLedgerOp({ type: 'patch', message, patch }), message, { timeoutMs, ...(signal === undefined ? {} : { signal }) }));
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
      // The first ballot is n0's: the rogue patch goes in while the malicious member leads.
      await waitFor('n0 to lead a ballot every member follows', async () => {
        const rows = await developer.status({ timeoutMs: 1_000 });
        return oneBallot(rows) && rows[0]!.reachable && rows[0]!.isLeader;
      }, 15_000);
      // The honest replicas answer the rogue that they refuse it; the malicious leader proposes it anyway.
      const giveUp = new AbortController();
      const rogueProposal = propose(rogue, BREAK, 'break the build', 20_000, giveUp.signal);
      rogueProposal.catch(() => {});
      const refusers = async (): Promise<number> => {
        let count = 0;
        for (let id = 1; id < 4; id++) {
          const metrics = await (await fetch(`http://127.0.0.1:${base + 4 + id}/metrics`, { signal: AbortSignal.timeout(2_000) })).text();
          if (dropped(metrics, 'accept:invalid-batch') > 0) count++;
        }
        return count;
      };
      await waitFor('two honest acceptors to refuse the malicious batch', async () => (await refusers()) >= 2, 10_000, () => `n0: ${members.tail(0)}`);
      giveUp.abort();
      await expect(rogueProposal).rejects.toThrow(CommandRefusedError);
      // Behind the refused slot honest work stalls, so the honest members replace the leader.
      expect(await propose(developer, CREATE, 'create main.c', 10_000)).toMatchObject({ type: 'applied', count: 1 });
    } finally {
      await developer.close();
      await rogue.close();
      await members.stopAll();
    }
    const ledgers = [0, 1, 2, 3].map((id) => memberLedger(memberStore('test', { config, id: String(id) }), loadDeployment(config, 'member', id)));
    for (const [id, ledger] of ledgers.entries()) {
      expect(ledger.count, `n${id}`).toBe(1);
      expect(toHex(ledger.head), `n${id}`).toBe(toHex(ledgers[0]!.head));
      expect(treeDigest(ledger.tree()), `n${id}`).toBe(treeDigest(ledgers[0]!.tree()));
    }
    expect(ledgers[1]!.tree()).toEqual([['main.c', 'int main(void) {\n  return 0;\n}\n']]);
  });
});

describe('byzpaxos ledger, bad input: one line, no cluster needed', () => {
  it('a missing subcommand or message is a usage error (exit 2); an unreadable or broken patch a refusal (exit 1)', async () => {
    const broken = join(dir, 'broken.patch');
    writeFileSync(broken, BREAK);
    const config = ['--config', join(dir, 'none', 'cluster.json')];
    expect(() => runLedger([])).toThrow(new UsageError('ledger: expected one of propose, log, cat, checkout, replica'));
    expect(() => runLedger(['propose', broken, ...config])).toThrow(/--message must be one non-empty line/);
    expect(() => parseInitArgs(['--nodes', '4', '--mode', 'byzantine', '--dir', dir, '--app', 'git'])).toThrow(new UsageError("--app must be one of kv, patch-ledger; got 'git'"));
    const refusals: [readonly string[], RegExp][] = [
      [['propose', join(dir, 'missing.patch'), '--message', 'm', ...config], /^byzpaxos: ledger propose: cannot read .*missing\.patch: ENOENT\n$/],
      [['propose', broken, '--message', 'm', ...config], /^byzpaxos: ledger propose: the acceptors would refuse it: check: main\.c: adds a line holding TODO-BREAK\n$/],
    ];
    const stderr = vi.spyOn(process.stderr, 'write').mockImplementation(() => true);
    try {
      for (const [args, why] of refusals) {
        stderr.mockClear();
        expect(await runLedger(args), args.join(' ')).toBe(1);
        expect(String(stderr.mock.calls[0]?.[0]), args.join(' ')).toMatch(why);
      }
    } finally {
      stderr.mockRestore();
    }
  });
});
