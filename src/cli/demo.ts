// `byzpaxos demo`: a short story of a crash-mode cluster (n=3, f=1), scripted on the simulator.
// Fixed link delays, no random faults and one client with a fixed list of ops keep the story
// readable; hooks crash the leader the moment a follower accepts the in-flight command and
// restart it once a new leader has finished that command. Every line reports what the run did.
import type { Ballot, Batch, NodeId, PValue, Slot } from '../base/types.ts';
import { encodeKvOp, formatKvOp, KvStore, type KvOp, type KvResult } from '../app/kv.ts';
import { ballotEquals, formatBallot } from '../base/ballot.ts';
import { defaultConfig } from '../core/config.ts';
import type { Effect } from '../core/effects.ts';
import { PaxosNode, type NodeOptions } from '../core/node.ts';
import { batchDigest } from '../messages/codec.ts';
import { formatBatch } from '../messages/format.ts';
import type { Accept, ClientRequest, PeerMessage } from '../messages/types.ts';
import type { HistoryOp } from '../sim/linearizability.ts';
import { simulate, type SimControl, type SimHooks, type SimResult } from '../sim/simulator.ts';
import { toHex } from '../../crypto/digest.ts';
import { parseOptions } from './args.ts';

const SEED = 32;
const F = 1;
const LINK_MS = 2;
const OPS: readonly KvOp[] = [
  { type: 'put', key: 'x', value: '1' },
  { type: 'put', key: 'y', value: '2' },
  { type: 'get', key: 'x' },
  { type: 'put', key: 'z', value: '3' },
  { type: 'cas', key: 'x', expected: '1', value: '4' },
  { type: 'get', key: 'z' },
  { type: 'delete', key: 'y' },
];
/** The leader crashes while put z=3 is in flight (the simulator numbers its only client 1). */
const IN_FLIGHT = storyKey({ clientId: 1, seq: 4 });

export function runDemo(argv: readonly string[]): number {
  const json = parseOptions('demo', argv, { json: { type: 'boolean' } }).values.json === true;
  const lines: string[] = [];
  const story = new Story(json ? (line) => void lines.push(line) : (line) => void process.stdout.write(`${line}\n`));
  const result = simulate({
    seed: SEED,
    f: F,
    commands: OPS.length,
    clients: 1,
    thinkMs: 0,
    delay: { minMs: LINK_MS, maxMs: LINK_MS, jitter: false },
    workload: (_client, seq) => OPS[seq - 1]!,
    makeNode: (options) => story.track(options),
    hooks: story,
  });
  const failure = story.conclude(result);
  if (json) process.stdout.write(`${JSON.stringify({ ok: failure === null, failure, story: lines })}\n`);
  if (failure === null) return 0;
  process.stderr.write(`byzpaxos: demo failed: ${failure}\n`);
  return 1;
}

interface CommandFate {
  /** First slot the command executed in, and by which replicas. */
  slot: Slot | null;
  readonly executedBy: Set<NodeId>;
  redirects: number;
}

class Story implements SimHooks {
  private readonly say: (line: string) => void;
  /** Each node's latest incarnation, and its store, to compare replicas at the end. */
  private readonly replicas: { node: PaxosNode; store: KvStore }[] = [];
  private readonly fates = new Map<string, CommandFate>();
  private readonly decidedOn = new Map<Slot, NodeId[]>();
  /** Ballot and batch digest of every slot's proposals, to tell a re-proposal from a fresh one. */
  private readonly proposals = new Map<Slot, { ballot: Ballot; digestHex: string }[]>();
  /** Who promised each ballot, as its candidate heard it. */
  private readonly promises = new Map<string, NodeId[]>();
  private readonly led = new Set<string>();
  private section = 0;
  /** The leader the script crashed, and whether it is still down. */
  private crashed: NodeId | null = null;
  private down = false;
  private reproposed = false;

  constructor(say: (line: string) => void) {
    this.say = say;
    const { n, f, phase1, phase2 } = defaultConfig(F).quorums;
    say(`byzpaxos demo: crash-mode Multi-Paxos, n=${n} nodes, tolerates f=${f} crash, quorums ${phase1}/${phase2}, virtual time`);
    this.enter(1, 'leader election');
  }

  track(options: NodeOptions): PaxosNode {
    const store = new KvStore();
    const node = new PaxosNode({ ...options, app: store });
    this.replicas[options.id] = { node, store };
    return node;
  }

  onEffect(id: NodeId, effect: Effect, sim: SimControl): void {
    switch (effect.type) {
      case 'persist': {
        const { record } = effect;
        if (record.type === 'promised' && record.ballot.leader === id) this.promised(record.ballot, id);
        if (record.type === 'accepted' && this.crashed === null && id !== record.pvalue.ballot.leader && carries(record.pvalue.batch, IN_FLIGHT)) {
          this.crashLeader(id, record.pvalue, sim);
        }
        return;
      }
      case 'broadcast': {
        const { msg } = effect;
        if (msg.type === 'prepare') {
          if (this.crashed !== null) this.enter(4, 'failover: a new leader runs phase 1 and finishes what the old one left');
          this.line(sim, `n${id} hears no leader: phase 1, Prepare ${formatBallot(msg.ballot)} from slot ${msg.fromSlot}`);
        }
        if (msg.type === 'accept' || msg.type === 'heartbeat') this.announceLeader(id, msg.ballot, sim);
        if (msg.type === 'accept') this.proposed(id, msg, sim);
        return;
      }
      case 'reply':
        if (effect.msg.status === 'redirect') this.fate(storyKey(effect.msg)).redirects++;
        return;
      case 'decide':
        this.decidedOn.set(effect.slot, [...(this.decidedOn.get(effect.slot) ?? []), id]);
        return;
      case 'execute': {
        const fate = this.fate(storyKey(effect.command));
        fate.slot ??= effect.slot;
        fate.executedBy.add(id);
        return;
      }
    }
  }

  onDeliver(from: NodeId, to: NodeId, msg: PeerMessage | ClientRequest, sim: SimControl): boolean {
    // The crashed leader's messages still on the wire die with it.
    if (this.down && from === this.crashed) return false;
    if (msg.type === 'promise') this.promised(msg.ballot, from);
    if (msg.type === 'catchup-reply' && msg.entries.length > 0) {
      const slots = msg.entries.map((e) => e.slot);
      this.line(sim, `n${to} learns slots ${Math.min(...slots)}..${Math.max(...slots)} from n${from} (catch-up)`);
    }
    return true;
  }

  onClientComplete(done: HistoryOp, sim: SimControl): void {
    this.enter(2, 'clients are served');
    const key = storyKey(done);
    const { slot, executedBy, redirects } = this.fate(key);
    const took = `${(done.completedAt! - done.invokedAt).toFixed(0)}ms${redirects > 0 ? `, ${plural(redirects, 'redirect')}` : ''}`;
    this.line(sim, `c${done.clientId} ${opText(done.op).padEnd(10)} → slot ${slot}, executed on ${nodes([...executedBy])} → ${formatResult(done.op, done.result!)} (${took})`);
    if (key === IN_FLIGHT && this.crashed !== null) this.restart(this.crashed, sim);
  }

  /** Prints the final checks; the reason the story failed, or null. */
  conclude(result: SimResult): string | null {
    this.enter(6, 'final check');
    const at = `${stamp(result.endTimeMs)}  `;
    const digests = this.replicas.map(({ node }) => toHex(node.replica.stateDigest()));
    const upTo = this.replicas.map(({ node }) => node.replica.executedUpTo);
    const same = digests.every((d) => d === digests[0]) && upTo.every((u) => u === upTo[0]);
    this.say(
      same
        ? `${at}n0..n${this.replicas.length - 1} executed slots 0..${upTo[0]! - 1}, identical state digest ${digests[0]!.slice(0, 16)}…`
        : `${at}replicas DIVERGE: ${digests.map((d, i) => `n${i} slots<${upTo[i]} ${d.slice(0, 12)}`).join(', ')}`,
    );
    if (same) {
      const store = this.replicas[0]!.store;
      const keys = [...new Set(OPS.map((op) => op.key))].sort();
      this.say(`${at}store on every replica: ${keys.map((k) => `${k}=${store.get(k) ?? '∅'}`).join(' ')}`);
    }
    const violations = result.safetyViolations;
    this.say(
      violations.length === 0
        ? `${at}safety checker (agreement, validity, exactly-once, linearizability): no violations`
        : `${at}safety checker: ${violations.map((v) => `${v.kind}: ${v.detail}`).join('; ')}`,
    );
    const expectations: [boolean, string][] = [
      [result.livenessFailure === null, `liveness: ${result.livenessFailure}`],
      [this.crashed !== null, 'the leader never crashed with a command in flight'],
      [this.reproposed, 'no new leader re-proposed the command in flight'],
      [this.crashed !== null && !this.down, 'the crashed leader never restarted'],
      [violations.length === 0, `safety violation: ${violations[0]?.kind}: ${violations[0]?.detail}`],
      [same, 'replicas ended in different states'],
    ];
    return expectations.find(([ok]) => !ok)?.[1] ?? null;
  }

  private crashLeader(follower: NodeId, { ballot, slot, batch }: PValue, sim: SimControl): void {
    const leader = ballot.leader;
    this.enter(3, `the leader n${leader} crashes`);
    sim.crash(leader);
    this.crashed = leader;
    this.down = true;
    const decided = this.decidedOn.get(slot) ?? [];
    this.line(
      sim,
      `n${leader} proposed slot ${slot} = ${formatBatch(batch, formatKvOp)}, n${follower} accepted it; n${leader} CRASHES, ` +
        `decided ${decided.length === 0 ? 'nowhere' : `on ${nodes(decided)}`} (its messages in flight are lost)`,
    );
  }

  private restart(id: NodeId, sim: SimControl): void {
    this.enter(5, `n${id} restarts from its store and catches up`);
    sim.restart(id);
    this.down = false;
    const replayed = this.replicas[id]!.node.replica.executedUpTo;
    this.line(sim, `n${id} restarts from its store: replays decided slots 0..${replayed - 1}`);
  }

  private promised(ballot: Ballot, from: NodeId): void {
    const key = formatBallot(ballot);
    this.promises.set(key, [...(this.promises.get(key) ?? []), from]);
  }

  /** A candidate's first Accept or Heartbeat of its ballot: phase 1 succeeded. */
  private announceLeader(id: NodeId, ballot: Ballot, sim: SimControl): void {
    const key = formatBallot(ballot);
    if (ballot.leader !== id || this.led.has(key)) return;
    this.led.add(key);
    this.line(sim, `n${id} leads ballot ${key}: promises from ${nodes(this.promises.get(key) ?? [])}`);
  }

  private proposed(id: NodeId, accept: Accept, sim: SimControl): void {
    const { slot, ballot, batch } = accept;
    const earlier = this.proposals.get(slot) ?? [];
    // Heartbeats resend open Accepts: only a ballot's first proposal of a slot is news.
    if (earlier.some((p) => ballotEquals(p.ballot, ballot))) return;
    const digestHex = toHex(batchDigest(batch));
    const first = earlier.find((p) => p.digestHex === digestHex);
    if (first !== undefined) {
      this.line(sim, `n${id} re-proposes slot ${slot} = ${formatBatch(batch, formatKvOp)}, first proposed under ${formatBallot(first.ballot)}`);
      this.reproposed ||= carries(batch, IN_FLIGHT);
    }
    this.proposals.set(slot, [...earlier, { ballot, digestHex }]);
  }

  private fate(key: string): CommandFate {
    let fate = this.fates.get(key);
    if (fate === undefined) this.fates.set(key, (fate = { slot: null, executedBy: new Set(), redirects: 0 }));
    return fate;
  }

  private enter(section: number, title: string): void {
    if (this.section >= section) return;
    this.section = section;
    this.say(`(${section}) ${title}`);
  }

  private line(sim: SimControl, text: string): void {
    this.say(`${stamp(sim.now())}  ${text}`);
  }
}

/** A command of the story: each simulated client has one session, so (client, seq) names it. */
function storyKey(command: { readonly clientId: number; readonly seq: number }): string {
  return `${command.clientId}#${command.seq}`;
}

function carries(batch: Batch, key: string): boolean {
  return batch.commands.some((command) => storyKey(command) === key);
}

function stamp(ms: number): string {
  return `${ms.toFixed(1).padStart(8)}ms`;
}

function plural(count: number, noun: string): string {
  return `${count} ${noun}${count > 1 ? 's' : ''}`;
}

function opText(op: KvOp): string {
  return formatKvOp(encodeKvOp(op));
}

function nodes(ids: readonly NodeId[]): string {
  return [...ids].sort((a, b) => a - b).map((id) => `n${id}`).join(' ');
}

function formatResult(op: KvOp, { ok, value }: KvResult): string {
  const shown = value ?? '∅';
  switch (op.type) {
    case 'put':
      return `ok (was ${shown})`;
    case 'get':
      return `${op.key} = ${shown}`;
    case 'delete':
      return ok ? `deleted (was ${shown})` : 'absent';
    case 'cas':
      return ok ? `ok (was ${shown})` : `failed (${op.key} = ${shown})`;
  }
}
