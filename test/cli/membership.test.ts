// `byzpaxos member list|add|remove|replace` as an operator runs them: child processes against a
// cluster made by `init --spares 2` whose first four nodes (n3 a spare) run as `byzpaxos start`
// processes on 127.0.0.1, while spare n4 stays down; and the one-line refusals that need no
// running cluster.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { RECONFIG_WINDOW_SLOTS } from '../../src/base/limits.ts';
import { UsageError } from '../../src/cli/args.ts';
import { initCluster, parseInitArgs } from '../../src/cli/init.ts';
import { runMember } from '../../src/cli/membership.ts';
import { byzpaxos, connectClient, freeBasePort, killEverything, Members, statusRows, waitFor } from './deploy-helpers.ts';

const tmp = mkdtempSync(join(tmpdir(), 'byzpaxos-member-'));
let configPath = '';
let members: Members | null = null;
const HELP_HINT = "run 'byzpaxos help' for usage";

beforeAll(async () => {
  const base = await freeBasePort(5);
  const dir = join(tmp, 'live');
  const r = await byzpaxos(['init', '--nodes', '3', '--spares', '2', '--mode', 'crash', '--dir', dir, '--base-port', String(base)]);
  expect(r.code, r.stderr).toBe(0);
  configPath = join(dir, 'cluster.json');
  members = new Members(configPath, 5);
  for (const id of [0, 1, 2, 3]) members.start(id);
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
    expect(r.stdout).toMatch(/^n4 +no +no +-$/m);
  });

  it('add prints the slot the change was decided in and the one it takes effect at; list then shows the new member', async () => {
    const r = await byzpaxos(['member', 'add', '3', '--config', configPath, '--json']);
    expect(r.code, r.stderr).toBe(0);
    const result = JSON.parse(r.stdout) as { slot: number; effectiveSlot: number; members: number[]; applied: boolean };
    expect(result).toMatchObject({ change: 'add 3', members: [0, 1, 2, 3], applied: true });
    expect(result.effectiveSlot).toBe(result.slot + RECONFIG_WINDOW_SLOTS);
    const client = await connectClient(configPath, 1);
    try {
      const members = (): Promise<boolean> =>
        client.status({ enough: (replies) => [0, 1, 2, 3].every((id) => replies.has(id)) }).then((rows) => rows.some((row) => row.reachable && row.configurations[0]!.members.length === 4));
      await waitFor('the change in effect', members, 15_000);
    } finally {
      await client.close();
    }
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
    expect(replace.stderr).toBe(`byzpaxos: member replace 9 3: n9 is not in ${configPath} (ids 0..4); list its address and key there first, in every node's copy\n${HELP_HINT}\n`);
  });

  it('remove takes a member out (its process keeps running)', async () => {
    const r = await byzpaxos(['member', 'remove', '0', '--config', configPath]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/^decided in slot (\d+); from slot \d+ the members are \{n1, n2, n3\}\n$/);
    expect(members!.procs[0]).not.toBeNull();
  });

  it('add waits for the new member to answer, bounded: a spare that is down is refused', async () => {
    const r = await byzpaxos(['member', 'add', '4', '--config', configPath, '--wait-ms', '1000']);
    expect(r.code).toBe(1);
    expect(r.stderr).toBe("byzpaxos: member add 4: n4 did not answer status within 1000 ms; start it first ('byzpaxos start'), then add it\n");
  });

  it('the members log nothing about the spare that stays down (its redials back off, at debug level)', () => {
    for (const id of [0, 1, 2, 3]) expect(members!.logs[id]!.filter((line) => line.includes('"n4"') || line.includes(' n4 '))).toEqual([]);
  });
});

describe('member commands refuse, in one line, before reaching any node', () => {
  const made = (name: string, ...args: string[]): string => initCluster(parseInitArgs(['--dir', join(tmp, name), ...args])).clusterPath;

  /** runMember in this process: its exit code and what it wrote to stderr. */
  async function refusal(argv: string[]): Promise<{ code: number; stderr: string }> {
    let stderr = '';
    const write = vi.spyOn(process.stderr, 'write').mockImplementation((chunk) => {
      stderr += String(chunk);
      return true;
    });
    try {
      return { code: await runMember(argv), stderr };
    } finally {
      write.mockRestore();
    }
  }

  it('a static cluster', async () => {
    const path = made('static', '--nodes', '3', '--mode', 'crash');
    expect(await refusal(['add', '1', '--config', path])).toEqual({
      code: 1,
      stderr: `byzpaxos: member: ${path} is a static cluster (it has no "firstMembers"); 'byzpaxos init --spares K' makes a reconfigurable one\n`,
    });
  });

  it('a Byzantine cluster, until that mode supports reconfiguration', async () => {
    const path = made('byzantine', '--nodes', '4', '--mode', 'byzantine');
    expect(await refusal(['list', '--config', path])).toEqual({
      code: 1,
      stderr: `byzpaxos: member: ${path} is a byzantine-mode cluster, and byzantine mode is not reconfigurable yet (only crash mode is)\n`,
    });
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
