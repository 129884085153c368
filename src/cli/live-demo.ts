// `byzpaxos live-demo` (what `npm start` runs): a real 4-node commit-reveal cluster over libp2p on
// 127.0.0.1 (src/node/local-cluster.ts: every member its own transport and SQLite store, all in
// this process), in which n0 is malicious: as an acceptor its reveals carry a key that does not
// open its commitment. n0 leads the first ballot, so its own commitment travels in its bundle to
// every learner (a bundle holds the first 2f+1 commitments the leader gets; another acceptor's
// box may be left out, and then its lie goes unproven). One client runs a short script; the story says where each command was
// decided, which proofs of misbehaviour the honest nodes gathered (each checked again here, from
// the cluster configuration alone), what they suspected, and that the honest replicas agree.
// Then the cluster stops. Exit 0 when the story holds, 1 when it does not (see `conclude`).
import { performance } from 'node:perf_hooks';
import { encodeKvOp, formatKvOp, type KvOp, type KvResult } from '../app/kv.ts';
import { formatBallot } from '../base/ballot.ts';
import type { NodeId, Slot } from '../base/types.ts';
import { adversaryNamed } from '../adversary/strategies.ts';
import { toClusterConfig } from '../deploy/cluster-file.ts';
import { evidenceId } from '../evidence/file.ts';
import type { Evidence, Suspicion } from '../messages/evidence.ts';
import { verifyEvidence } from '../evidence/verify.ts';
import { memberName } from '../node/build.ts';
import { LocalCluster } from '../node/local-cluster.ts';
import type { NodeEvent } from '../node/runtime.ts';
import { toHex } from '../../crypto/digest.ts';
import { parseOptions } from './args.ts';

const NODES = 4;
const MALICIOUS: NodeId = 0;
const STRATEGY = 'reveal-mismatch';
const SEED = 7;
const OPS: readonly KvOp[] = [
  { type: 'put', key: 'x', value: '1' },
  { type: 'put', key: 'y', value: '2' },
  { type: 'get', key: 'x' },
  { type: 'cas', key: 'x', expected: '1', value: '4' },
  { type: 'delete', key: 'y' },
  { type: 'get', key: 'x' },
];
/** Bound on one command; the whole demo stays well under 30 s. */
const OP_TIMEOUT_MS = 5_000;
/** After the script: how long honest nodes get to converge and report. */
const SETTLE_MS_MAX = 5_000;
const POLL_MS = 20;
const DIGEST_CHARS_SHOWN = 16;

export async function runLiveDemo(argv: readonly string[]): Promise<number> {
  const json = parseOptions('live-demo', argv, { json: { type: 'boolean' } }).values.json === true;
  const lines: string[] = [];
  const say = json ? (line: string): void => void lines.push(line) : (line: string): void => void process.stdout.write(`${line}\n`);
  const failure = await liveDemo(say);
  if (json) process.stdout.write(`${JSON.stringify({ ok: failure === null, failure, story: lines })}\n`);
  if (failure === null) return 0;
  process.stderr.write(`byzpaxos: live demo failed: ${failure}\n`);
  return 1;
}

interface Observed {
  /** Slot each (client 1) command seq executed in, first report of an honest node. */
  readonly slotOfSeq: Map<number, Slot>;
  /** Distinct proofs by id, with the honest nodes that reported each. */
  readonly evidence: Map<string, { readonly evidence: Evidence; readonly by: Set<NodeId> }>;
  readonly suspicions: Map<string, { readonly suspicion: Suspicion; readonly by: Set<NodeId> }>;
  readonly viewChanges: string[];
}

/** Runs the story; null if it held, else what went wrong. Always stops the cluster. */
export async function liveDemo(say: (line: string) => void): Promise<string | null> {
  const adversary = adversaryNamed(STRATEGY);
  if (adversary === undefined) throw new Error(`live demo: no built-in adversary '${STRATEGY}'`);
  say(`byzpaxos live demo: a ${NODES}-node commit-reveal cluster (n=${NODES}, f=1) over libp2p (TCP, noise, yamux) on 127.0.0.1`);
  say(`every member has its own transport and SQLite store, all in this one process; n${MALICIOUS} is malicious:`);
  say(`  ${adversary.name}: ${adversary.description}`);
  say(`  (n${MALICIOUS} leads the first ballot, so its own commitment reaches every learner inside its bundle, next to its lying reveal)`);
  const t0 = performance.now();
  const cluster = await LocalCluster.start({
    mode: 'commit-reveal',
    nodes: NODES,
    clients: 1,
    seed: SEED,
    adversaries: new Map([[MALICIOUS, adversary]]),
    clientTimeoutMs: OP_TIMEOUT_MS,
  });
  const observed: Observed = { slotOfSeq: new Map(), evidence: new Map(), suspicions: new Map(), viewChanges: [] };
  try {
    for (const node of cluster.nodes) {
      if (node.id !== MALICIOUS) node.onEvent((event) => observe(observed, node.id, event));
    }
    say(`cluster started in ${Math.round(performance.now() - t0)} ms:`);
    for (const member of cluster.members) {
      const role = member.id === MALICIOUS ? `malicious (${adversary.name})` : 'honest';
      say(`  ${memberName(member.id)}  ${role.padEnd(28)} ${member.addrs[0] ?? '(no address)'}`);
    }
    const failure = await script(cluster, observed, say);
    if (failure !== null) return failure;
    return await conclude(cluster, observed, say);
  } finally {
    const t1 = performance.now();
    await cluster.stop();
    say(`shut down cleanly in ${Math.round(performance.now() - t1)} ms (every transport, store and timer closed)`);
  }
}

function observe(o: Observed, id: NodeId, event: NodeEvent): void {
  switch (event.type) {
    case 'execute':
      if (event.command.clientId === 1 && !o.slotOfSeq.has(event.command.seq)) o.slotOfSeq.set(event.command.seq, event.slot);
      return;
    case 'evidence': {
      const key = evidenceId(event.evidence);
      const entry = o.evidence.get(key) ?? { evidence: event.evidence, by: new Set<NodeId>() };
      entry.by.add(id);
      o.evidence.set(key, entry);
      return;
    }
    case 'suspicion': {
      const key = `${event.suspicion.node}/${event.suspicion.reason}`;
      const entry = o.suspicions.get(key) ?? { suspicion: event.suspicion, by: new Set<NodeId>() };
      entry.by.add(id);
      o.suspicions.set(key, entry);
      return;
    }
    case 'view-change':
      if (event.isLeader) o.viewChanges.push(`${memberName(id)} leads ballot ${formatBallot(event.ballot)}`);
      return;
    default:
      return;
  }
}

async function script(cluster: LocalCluster, o: Observed, say: (line: string) => void): Promise<string | null> {
  const client = cluster.clients[0]!;
  say(`client c${client.id} runs ${OPS.length} commands, one at a time (a command completes on f+1 = 2 matching replies):`);
  for (const [i, op] of OPS.entries()) {
    const t0 = performance.now();
    let result: KvResult;
    try {
      result = await client.execute(op);
    } catch (e) {
      return `${formatKvOp(encodeKvOp(op))}: ${(e as Error).message}`;
    }
    const ms = Math.round(performance.now() - t0);
    // The replies came from f+1 replicas; an honest one may be a moment behind them.
    await until(() => o.slotOfSeq.has(i + 1), OP_TIMEOUT_MS);
    const slot = o.slotOfSeq.get(i + 1);
    const where = slot === undefined ? 'slot unknown' : `decided in slot ${slot}`;
    say(`  ${formatKvOp(encodeKvOp(op)).padEnd(16)} -> ${formatResult(op, result).padEnd(12)} ${where}, ${ms} ms`);
  }
  for (const line of o.viewChanges) say(`  (${line})`);
  return null;
}

async function conclude(cluster: LocalCluster, o: Observed, say: (line: string) => void): Promise<string | null> {
  const honest = cluster.nodes.filter((n) => n.id !== MALICIOUS);
  const agreed = (): boolean => {
    const first = honest[0]!;
    return honest.every((n) => n.decidedUpTo === first.decidedUpTo && sameDigest(n.stateDigest(), first.stateDigest()));
  };
  await until(() => agreed() && o.evidence.size > 0, SETTLE_MS_MAX);
  const cluster_ = toClusterConfig(cluster.deployment, 'live demo');
  const problems: string[] = [];
  say(`evidence gathered by the honest nodes: ${o.evidence.size} distinct proof(s), each checked here against the cluster configuration:`);
  for (const { evidence, by } of o.evidence.values()) {
    const verdict = verifyEvidence(cluster_, evidence);
    const reporters = [...by].sort().map(memberName).join(', ');
    if (!verdict.ok) {
      problems.push(`a ${evidence.kind} proof reported by ${reporters} does not verify: ${verdict.reason}`);
      say(`  ${evidence.kind} (reported by ${reporters}): REJECTED: ${verdict.reason}`);
      continue;
    }
    if (verdict.culprit !== MALICIOUS) problems.push(`a verified proof names honest ${memberName(verdict.culprit)}`);
    say(`  ${evidence.kind} (reported by ${reporters}): verified: ${memberName(verdict.culprit)} ${verdict.summary}`);
  }
  if (o.evidence.size === 0) problems.push(`no proof against n${MALICIOUS} within ${SETTLE_MS_MAX} ms`);
  if (o.suspicions.size === 0) say('suspicions: none (the misbehaviour was provable, so it is evidence, not suspicion)');
  for (const { suspicion, by } of o.suspicions.values()) {
    say(`suspicion: ${[...by].sort().map(memberName).join(', ')} suspect ${memberName(suspicion.node)}: ${suspicion.reason}`);
  }
  if (!agreed()) {
    problems.push('the honest nodes do not agree');
    for (const n of honest) say(`  ${memberName(n.id)}: decided up to slot ${n.decidedUpTo - 1}, state ${shortDigest(n.stateDigest())}`);
  } else {
    const first = honest[0]!;
    say(
      `honest nodes agree: ${honest.map((n) => memberName(n.id)).join(', ')} decided slots 0..${first.decidedUpTo - 1}, ` +
        `state digest ${shortDigest(first.stateDigest())}…`,
    );
  }
  return problems.length === 0 ? null : problems.join('; ');
}

function formatResult(op: KvOp, result: KvResult): string {
  if (op.type === 'get') return result.value === null ? '(none)' : JSON.stringify(result.value);
  if (op.type === 'cas') return result.ok ? 'swapped' : `not swapped (held ${JSON.stringify(result.value)})`;
  return result.ok ? 'ok' : 'failed';
}

function sameDigest(a: Uint8Array | null, b: Uint8Array | null): boolean {
  return a !== null && b !== null && toHex(a) === toHex(b);
}

function shortDigest(d: Uint8Array | null): string {
  return d === null ? '(none)' : toHex(d).slice(0, DIGEST_CHARS_SHOWN);
}

/** Polls `condition` every POLL_MS until it holds or `timeoutMs` passes; tells which. */
async function until(condition: () => boolean, timeoutMs: number): Promise<boolean> {
  const deadline = performance.now() + timeoutMs;
  while (!condition()) {
    if (performance.now() > deadline) return false;
    await new Promise((resolve) => setTimeout(resolve, POLL_MS));
  }
  return true;
}
