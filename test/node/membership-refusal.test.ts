// Membership commands where membership cannot change (docs/PROTOCOL.md, "Reconfiguration through
// the log"): a static crash-mode cluster's leader and the Byzantine modes' runtimes refuse them
// with a reason, and the cluster client rejects with CommandRefusedError instead of reporting
// success; the session goes on (the refused seq is reused, so the next command runs).
import { afterEach, describe, expect, it } from 'vitest';
import { CommandRefusedError } from '../../src/node/cluster-client.ts';
import type { Mode } from '../../src/base/mode.ts';
import { TestCluster } from './cluster.ts';

let cluster: TestCluster | null = null;
afterEach(async () => {
  await cluster?.stop();
  cluster = null;
});

const reasons: Record<Mode, RegExp> = {
  crash: /refused: a membership change, but this cluster is static \(not reconfigurable\)$/,
  byzantine: /refused: a membership change, but byzantine mode is not reconfigurable yet$/,
  'commit-reveal': /refused: a membership change, but commit-reveal mode is not reconfigurable yet$/,
};

describe('a membership command in a cluster that cannot change its membership', () => {
  for (const mode of ['crash', 'byzantine', 'commit-reveal'] as const) {
    it(`is refused with the reason (${mode}), and the session's next command runs`, async () => {
      cluster = await new TestCluster(mode).start();
      const client = await cluster.client();
      expect((await client.put('k', 'before')).ok).toBe(true);
      const refusal = client.changeMembership({ kind: 'add', node: 3 });
      await expect(refusal).rejects.toBeInstanceOf(CommandRefusedError);
      await expect(refusal).rejects.toThrow(reasons[mode]);
      expect((await client.put('k', 'after')).ok).toBe(true);
      expect(await client.get('k')).toBe('after');
    }, 20_000);
  }

  it('a fresh session whose first command is refused goes on with seq 1', async () => {
    cluster = await new TestCluster('crash').start();
    const client = await cluster.client();
    await expect(client.changeMembership({ kind: 'remove', node: 0 })).rejects.toBeInstanceOf(CommandRefusedError);
    expect((await client.put('k', 'v')).ok).toBe(true);
  }, 20_000);
});
