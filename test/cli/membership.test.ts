// `byzpaxos member list|add|remove|replace` as an operator runs them: child processes against a
// cluster made by `init --spares 1` whose four nodes (n3 a spare) run as `byzpaxos start`
// processes on 127.0.0.1; and the one-line refusals that need no running cluster.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RECONFIG_WINDOW_SLOTS } from '../../src/base/limits.ts';
import { UsageError } from '../../src/cli/args.ts';
import { initCluster, parseInitArgs } from '../../src/cli/init.ts';
import { runMember } from '../../src/cli/membership.ts';
import { byzpaxos, freeBasePort, killEverything, Members, statusRows, waitFor } from './deploy-helpers.ts';

const tmp = mkdtempSync(join(tmpdir(), 'byzpaxos-member-'));
let configPath = '';
let members: Members | null = null;
const HELP_HINT = "run 'byzpaxos help' for usage";

beforeAll(async () => {
  const base = await freeBasePort(4);
  const dir = join(tmp, 'live');
  const r = await byzpaxos(['init', '--nodes', '3', '--spares', '1', '--mode', 'crash', '--dir', dir, '--base-port', String(base)]);
  expect(r.code, r.stderr).toBe(0);
  configPath = join(dir, 'cluster.json');
  members = new Members(configPath, 4);
  members.startAll();
  await waitFor('a leader', async () => (await statusRows(configPath, 1)).some((row) => row.reachable && row.isLeader), 20_000);
}, 40_000);

afterAll(async () => {
  await members?.stopAll();
  killEverything();
  rmSync(tmp, { recursive: true, force: true });
});

describe('member commands on a running reconfigurable cluster', () => {
  it('list shows the first configuration, no pending change, and every node', async () => {
    const r = await byzpaxos(['member', 'list', '--config', configPath]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/^members at slot \d+ \(the first undecided\): \{n0, n1, n2\}\npending: none\nnode +member +reachable +last decided slot\n/);
    expect(r.stdout).toMatch(/^n3 +no +yes +-?\d+$/m);
  });

  it('add prints the slot the change was decided in and the one it takes effect at; list then shows the new member', async () => {
    const r = await byzpaxos(['member', 'add', '3', '--config', configPath, '--json']);
    expect(r.code, r.stderr).toBe(0);
    const result = JSON.parse(r.stdout) as { slot: number; effectiveSlot: number; members: number[]; applied: boolean };
    expect(result).toMatchObject({ change: 'add 3', members: [0, 1, 2, 3], applied: true });
    expect(result.effectiveSlot).toBe(result.slot + RECONFIG_WINDOW_SLOTS);
    await waitFor('the change in effect', async () => (await statusRows(configPath, 1)).some((row) => row.reachable && row.configurations[0]!.members.length === 4), 15_000);
    const list = await byzpaxos(['member', 'list', '--config', configPath]);
    expect(list.stdout).toMatch(/^members at slot \d+ \(the first undecided\): \{n0, n1, n2, n3\}\n/);
    expect(list.stdout).toMatch(/^n3 +yes +yes +\d+$/m);
  });

  it('refuses a change that cannot apply, in one line: a member added again, a non-member removed', async () => {
    const again = await byzpaxos(['member', 'add', '3', '--config', configPath]);
    expect(again.code).toBe(1);
    expect(again.stderr).toBe('byzpaxos: member add 3: n3 is a member already (members: {n0, n1, n2, n3})\n');
    const replace = await byzpaxos(['member', 'replace', '9', '3', '--config', configPath]);
    expect(replace.code).toBe(2);
    expect(replace.stderr).toBe(`byzpaxos: member replace 9 3: n9 is not in ${configPath} (ids 0..3); list its address and key there first, in every node's copy\n${HELP_HINT}\n`);
  });

  it('remove takes a member out (its process keeps running)', async () => {
    const r = await byzpaxos(['member', 'remove', '0', '--config', configPath]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/^decided in slot (\d+); from slot \d+ the members are \{n1, n2, n3\}\n$/);
    expect(members!.procs[0]).not.toBeNull();
  });
});

describe('member commands refuse, in one line, before reaching any node', () => {
  const made = (name: string, ...args: string[]): string => initCluster(parseInitArgs(['--dir', join(tmp, name), ...args])).clusterPath;

  it('a static cluster', async () => {
    const path = made('static', '--nodes', '3', '--mode', 'crash');
    const r = await byzpaxos(['member', 'add', '1', '--config', path]);
    expect(r.code).toBe(1);
    expect(r.stderr).toBe(`byzpaxos: member: ${path} is a static cluster (it has no "firstMembers"); 'byzpaxos init --spares K' makes a reconfigurable one\n`);
  });

  it('a Byzantine cluster, until that mode supports reconfiguration', async () => {
    const path = made('byzantine', '--nodes', '4', '--mode', 'byzantine');
    const r = await byzpaxos(['member', 'list', '--config', path]);
    expect(r.code).toBe(1);
    expect(r.stderr).toBe(`byzpaxos: member: ${path} is a byzantine-mode cluster, and byzantine mode is not reconfigurable yet (only crash mode is)\n`);
  });

  it('a bad command line (usage errors, exit 2)', () => {
    const usage = (argv: string[]): string => {
      try {
        void runMember(argv);
      } catch (e) {
        expect(e).toBeInstanceOf(UsageError);
        return (e as Error).message;
      }
      throw new Error(`member ${argv.join(' ')}: no usage error`);
    };
    expect(usage(['grow'])).toBe("member: expected one of list, add, remove, replace, got 'grow'");
    expect(usage(['add', 'n3', '--config', 'x'])).toBe("member add: a node id is a number (as in n3: 3), got 'n3'");
    expect(usage(['replace', '1', '--config', 'x'])).toBe('member replace: expected OUT IN');
    expect(usage(['add', '1', '--config', 'x', '--wait-ms', '0'])).toBe("--wait-ms must be an integer in 1..600000, got '0'");
  });
});
