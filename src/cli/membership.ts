// `byzpaxos member list|add ID|remove ID|replace OUT IN --config DIR/cluster.json`: the membership
// of a reconfigurable cluster (docs/PROTOCOL.md, "Reconfiguration through the log"). A change is a
// command the cluster client submits like `put`; it prints the slot c it was decided in and the
// slot c + α it takes effect at, with the members from then on. `add` refuses an id cluster.json
// does not list (a new member's address and key must be in every node's file first) and waits,
// bounded by --wait-ms, until the new member answers status, so that it is catching up before it
// counts. `list` asks every node for its status: the configuration of the first undecided slot,
// the pending changes, each node's last decided slot. Removing a member never stops its process:
// stop it once `member list` no longer shows it. Static and Byzantine-mode clusters are refused
// in one line (exit 1), as are an unknown id (exit 2) and a change that would empty the cluster.
import { RECONFIG_WINDOW_SLOTS } from '../base/limits.ts';
import type { NodeId } from '../base/types.ts';
import { changeRefusal, changeSides, type MembershipChange } from '../core/configuration.ts';
import { loadClusterFile, RECONFIGURABLE_MODES, type DeploymentConfig } from '../deploy/cluster-file.ts';
import { memberName } from '../node/build.ts';
import { describeChange, OPERATION_TIMEOUT_MS_DEFAULT, STATUS_TIMEOUT_MS_DEFAULT, type ClusterClient, type StatusRow } from '../node/cluster-client.ts';
import type { KnownConfiguration, StatusReply } from '../messages/types.ts';
import { integerOption, parseOptions, UsageError } from './args.ts';
import { clientArgs, COMMON, printResult, withClient } from './client-commands.ts';
import { RefusalError, refusing, reportRefusals } from './deployment.ts';

const SUBCOMMANDS = ['list', 'add', 'remove', 'replace'] as const;
const CHANGE_OPTIONS = { ...COMMON, 'wait-ms': { type: 'string' } } as const;
/** How long `add` waits for the new member to answer status, by default. */
export const JOIN_WAIT_MS_DEFAULT = 10_000;
const JOIN_WAIT_MS_MAX = 600_000;
/** Each status round of `add`'s wait gives the new member this long to answer. */
const JOIN_POLL_MS = 500;

export function runMember(argv: readonly string[]): Promise<number> {
  const [sub, ...rest] = argv;
  switch (sub) {
    case 'list':
      return list(rest);
    case 'add':
    case 'remove':
    case 'replace':
      return change(sub, rest);
    default:
      throw new UsageError(`member: expected one of ${SUBCOMMANDS.join(', ')}${sub === undefined ? '' : `, got '${sub}'`}`);
  }
}

/** The cluster file, refused unless it is a reconfigurable cluster. */
function reconfigurable(path: string): DeploymentConfig {
  const config = refusing(() => loadClusterFile(path));
  if (!RECONFIGURABLE_MODES.includes(config.mode)) {
    throw new RefusalError(`member: ${path} is a ${config.mode}-mode cluster, and ${config.mode} mode is not reconfigurable yet (only ${RECONFIGURABLE_MODES.join(', ')} mode is)`);
  }
  if (config.firstMembers === undefined) {
    throw new RefusalError(`member: ${path} is a static cluster (it has no "firstMembers"); 'byzpaxos init --spares K' makes a reconfigurable one`);
  }
  return config;
}

function list(argv: readonly string[]): Promise<number> {
  const { values } = parseOptions('member list', argv, COMMON);
  const a = clientArgs('member list', values, STATUS_TIMEOUT_MS_DEFAULT);
  return reportRefusals(async () => {
    reconfigurable(a.configPath);
    return withClient(a, async (client) => {
      const rows = await client.status({ timeoutMs: a.timeoutMs });
      const view = viewOf(rows);
      if (view === null) throw new RefusalError(`member list: no node answered within ${a.timeoutMs} ms`);
      if (values.json === true) printResult(true, null, listJson(view, rows));
      else process.stdout.write(formatList(view, rows));
      return 0;
    });
  });
}

/** What the most advanced node that answered knows: the configuration of its first undecided slot, and the pending ones. */
interface View {
  readonly current: KnownConfiguration;
  readonly pending: readonly KnownConfiguration[];
}

function viewOf(rows: readonly StatusRow[]): View | null {
  let best: Extract<StatusRow, { reachable: true }> | null = null;
  for (const r of rows) if (r.reachable && r.configurations.length > 0 && (best === null || r.lastDecidedSlot > best.lastDecidedSlot)) best = r;
  if (best === null) return null;
  const [current, ...pending] = best.configurations;
  return { current: current!, pending };
}

/** The members once every change known now has taken effect. */
function latest(view: View): readonly NodeId[] {
  return (view.pending.at(-1) ?? view.current).members;
}

function listJson(view: View, rows: readonly StatusRow[]): Record<string, unknown> {
  return {
    firstUndecided: view.current.from,
    members: view.current.members,
    pending: view.pending.map((p) => ({ decidedSlot: p.from - RECONFIG_WINDOW_SLOTS, effectiveSlot: p.from, members: p.members })),
    nodes: rows.map((r) => ({ id: r.id, name: r.name, member: view.current.members.includes(r.id), reachable: r.reachable, lastDecidedSlot: r.reachable ? r.lastDecidedSlot : null })),
  };
}

function formatList(view: View, rows: readonly StatusRow[]): string {
  const lines = [`members at slot ${view.current.from} (the first undecided): ${setText(view.current.members)}`];
  for (const p of view.pending) lines.push(`pending: decided in slot ${p.from - RECONFIG_WINDOW_SLOTS}, from slot ${p.from}: ${setText(p.members)}`);
  if (view.pending.length === 0) lines.push('pending: none');
  const table = [['node', 'member', 'reachable', 'last decided slot']];
  for (const r of rows) {
    table.push([r.name, view.current.members.includes(r.id) ? 'yes' : 'no', r.reachable ? 'yes' : 'no', r.reachable ? String(r.lastDecidedSlot) : '-']);
  }
  const widths = table[0]!.map((_, c) => Math.max(...table.map((row) => row[c]!.length)));
  lines.push(...table.map((row) => row.map((cell, c) => cell.padEnd(widths[c]!)).join('  ').trimEnd()));
  return `${lines.join('\n')}\n`;
}

function setText(members: readonly NodeId[]): string {
  return `{${members.map(memberName).join(', ')}}`;
}

function change(kind: 'add' | 'remove' | 'replace', argv: readonly string[]): Promise<number> {
  const { values, positionals } = parseOptions(`member ${kind}`, argv, CHANGE_OPTIONS, kind === 'replace' ? 2 : 1);
  const expected = kind === 'replace' ? 2 : 1;
  if (positionals.length !== expected) throw new UsageError(`member ${kind}: expected ${kind === 'replace' ? 'OUT IN' : 'ID'}`);
  const ids = positionals.map((p) => parseId(kind, p));
  const proposed: MembershipChange = kind === 'replace' ? { kind, out: ids[0]!, in: ids[1]! } : { kind, node: ids[0]! };
  const a = clientArgs(`member ${kind}`, values, OPERATION_TIMEOUT_MS_DEFAULT);
  const waitMs = integerOption('wait-ms', values['wait-ms'], JOIN_WAIT_MS_DEFAULT, 1, JOIN_WAIT_MS_MAX);
  const what = `member ${describeChange(proposed)}`;
  return reportRefusals(async () => {
    const config = reconfigurable(a.configPath);
    for (const id of ids) if (id >= config.n) throw new UsageError(`${what}: n${id} is not in ${a.configPath} (ids 0..${config.n - 1}); list its address and key there first, in every node's copy`);
    return withClient(a, async (client) => {
      const view = viewOf(await client.status({ timeoutMs: STATUS_TIMEOUT_MS_DEFAULT, enough: everyMemberReplied }));
      if (view === null) throw new RefusalError(`${what}: no node answered status within ${STATUS_TIMEOUT_MS_DEFAULT} ms`);
      const members = latest(view);
      const problem = changeRefusal(new Set(members), proposed, config.n);
      if (problem !== null) throw new RefusalError(`${what}: ${problem} (members: ${setText(members)})`);
      const { joining } = changeSides(proposed);
      if (joining !== null) await awaitAnswer(client, joining, waitMs, what);
      const result = await client.changeMembership(proposed, { timeoutMs: a.timeoutMs });
      const effective = result.slot + RECONFIG_WINDOW_SLOTS;
      const applied = takesEffect(proposed, result.members);
      printResult(values.json, `decided in slot ${result.slot}; from slot ${effective} the members are ${setText(result.members)}`, {
        change: describeChange(proposed),
        slot: result.slot,
        effectiveSlot: effective,
        members: result.members,
        applied,
      });
      if (applied) return 0;
      throw new RefusalError(`${what}: decided in slot ${result.slot} but changes nothing (a change decided before it came first): the members stay ${setText(result.members)}`);
    });
  });
}

function parseId(kind: string, raw: string): NodeId {
  if (!/^\d{1,5}$/.test(raw)) throw new UsageError(`member ${kind}: a node id is a number (as in n3: 3), got '${raw}'`);
  return Number(raw);
}

/** Whether `members`, the configuration a decided change took effect with, is what it asked for. */
function takesEffect(change: MembershipChange, members: readonly NodeId[]): boolean {
  const { leaving, joining } = changeSides(change);
  return (leaving === null || !members.includes(leaving)) && (joining === null || members.includes(joining));
}

/** Whether every member, as the replies so far know them (pending changes included), has replied: spares need not. */
function everyMemberReplied(replies: ReadonlyMap<NodeId, StatusReply>): boolean {
  for (const reply of replies.values()) {
    const known = reply.configurations;
    if (known.length > 0 && known.every((c) => c.members.every((id) => replies.has(id)))) return true;
  }
  return false;
}

/** Resolves once node `id` answers a status query; a RefusalError after `waitMs`. */
async function awaitAnswer(client: ClusterClient, id: NodeId, waitMs: number, what: string): Promise<void> {
  const deadline = performance.now() + waitMs;
  for (;;) {
    const left = deadline - performance.now();
    if (left <= 0) throw new RefusalError(`${what}: n${id} did not answer status within ${waitMs} ms; start it first ('byzpaxos start'), then add it`);
    const rows = await client.status({ timeoutMs: Math.min(JOIN_POLL_MS, left), enough: (replies) => replies.has(id) });
    if (rows[id]?.reachable === true) return;
  }
}
