// `byzpaxos sim`: run a range of seeds through the deterministic simulator and report.
// The --json shape is a contract other tools parse; extend it, never rename fields.
import { MODES, type Mode } from '../base/mode.ts';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { createHasher } from '../../crypto/digest.ts';
import { byzantineQuorums, crashQuorums, flexibleQuorums, type QuorumSpec } from '../core/quorum.ts';
import { PREPARED_CERTIFICATES_MAX } from '../base/limits.ts';
import type { NodeId } from '../base/types.ts';
import { encodeEvidenceFile, evidenceId } from '../evidence/file.ts';
import { accountabilityProblems } from '../evidence/forensics.ts';
import type { Evidence } from '../messages/evidence.ts';
import { formatFaults, parseFaults, type FaultSpec } from '../sim/faults.ts';
import { renderFlowHtml } from '../sim/flow-html.ts';
import { simulate, type SimResult } from '../sim/simulator.ts';
import { encodeFlowTrace, type FlowTrace } from '../trace/flow-trace.ts';
import { parseByzantineOptions, rejectByzantineOptions, type ByzantineArgs } from './adversaries.ts';
import { integerOption, oneLine, parseOptions, UsageError } from './args.ts';
import { writableDirProblem } from './dirs.ts';
import { writeOutput } from './flow.ts';

const OPTIONS = {
  mode: { type: 'string' },
  f: { type: 'string' },
  nodes: { type: 'string' },
  q1: { type: 'string' },
  q2: { type: 'string' },
  cheap: { type: 'boolean' },
  seeds: { type: 'string' },
  'seed-start': { type: 'string' },
  commands: { type: 'string' },
  faults: { type: 'string' },
  'eager-slots': { type: 'string' },
  json: { type: 'boolean' },
  trace: { type: 'boolean' },
  adversary: { type: 'string' },
  'adversary-module': { type: 'string', multiple: true },
  byzantine: { type: 'string' },
  'beyond-bound': { type: 'boolean' },
  'evidence-out': { type: 'string' },
  html: { type: 'string' },
  'trace-json': { type: 'string' },
} as const;

// Every seed a run reports must be accepted back by --seed-start in its replay command.
const SEED_MAX = 2 ** 31;
/** Crash mode's most f is 7: 15 members, with flexible quorums too. */
const CRASH_F_MAX = 7;
const NODES_MAX = 2 * CRASH_F_MAX + 1;
const LIVENESS_SEEDS_LISTED = 20;
const utf8 = new TextEncoder();

interface SimArgs {
  readonly mode: Mode;
  readonly n: number;
  readonly f: number;
  /** Crash mode with --nodes/--q1/--q2 (flexible quorums); null: majorities of 2f+1. */
  readonly quorums: QuorumSpec | null;
  /** Cheap Paxos (--cheap): f auxiliary acceptors beside f+1 main members; 0 otherwise. */
  readonly auxiliaries: number;
  readonly seeds: number;
  readonly seedStart: number;
  readonly commands: number;
  readonly faults: FaultSpec;
  /** The leader's eagerSlots; null: the simulator's default (the whole window). */
  readonly eagerSlots: number | null;
  readonly json: boolean;
  readonly trace: boolean;
  /** Null in crash mode. */
  readonly byzantine: ByzantineArgs | null;
  /** Where each distinct proof of misbehaviour is written, one file each; null: nowhere. */
  readonly evidenceOut: string | null;
  /** Where the run's message-flow diagram (flow-html.ts) is written; null: nowhere. */
  readonly html: string | null;
  /** Where the run's message flow (trace-json.ts) is written as JSON; null: nowhere. */
  readonly traceJson: string | null;
}

interface SimSummary {
  readonly mode: Mode;
  readonly n: number;
  /** Promises a leader gathers, and Accepted a learner needs. */
  readonly quorums: { readonly phase1: number; readonly phase2: number };
  /** Cheap Paxos auxiliary acceptors (the last members); 0 without --cheap. */
  readonly auxiliaries: number;
  readonly f: number;
  readonly seeds: number;
  readonly seedStart: number;
  readonly commands: number;
  readonly faults: string;
  readonly decided: number;
  readonly completed: number;
  readonly safetyViolations: { seed: number; kind: string; detail: string }[];
  readonly livenessFailures: number;
  readonly livenessFailedSeeds: number[];
  readonly traceHash: string;
  readonly wallMs: number;
  readonly decisionsPerSecond: number;
  /** Null in crash mode. `nodesBySeed` lists each run's nodes when the seed picked them. */
  readonly byzantine: { nodes: readonly NodeId[] | 'per-seed'; strategies: string[]; nodesBySeed?: NodeId[][] } | null;
  /** Signatures made (and checked) over all runs, per slot decided. */
  readonly signaturesPerDecision: number;
  readonly verificationsPerDecision: number;
  /** Distinct proofs of misbehaviour honest nodes gathered, over all runs. */
  readonly evidence: number;
  /** Of those, proofs naming a node that was not Byzantine in its run: always 0 unless honest nodes are framed. */
  readonly falseEvidence: number;
  /** Unprovable misbehaviour honest nodes reported (withheld or late commitments and reveals). */
  readonly suspicions: number;
  /**
   * Beyond the bound, per run whose honest learners disagreed: the members proven faulty, each
   * proof an evidence file (`evidence verify` reads JSON.stringify(proof) + newline).
   */
  readonly culprits: { seed: number; node: NodeId; proofs: unknown[] }[];
  /** Runs whose honest learners decided different batches for a slot, and of those, runs naming f+1 or more culprits, all proven and Byzantine. */
  readonly forensics: { readonly agreementBroken: number; readonly accountable: number; readonly honestNamed: number };
  /**
   * Commitment messages sent per decided slot (commit-reveal; 0 otherwise), from the wire counts:
   * each acceptor's box to the leader (the leader's own stays local), resends and answers to
   * reveal requests; boxes a Bundle relays are not new signatures and are not counted.
   */
  readonly commitmentsPerDecision: number;
}

interface FailedSeed {
  readonly seed: number;
  readonly reasons: string[];
  readonly replayCommand: string;
}

export async function runSim(argv: readonly string[]): Promise<number> {
  const args = await parseSimArgs(argv);
  const { summary, failed, trace, flow } = sweep(args);
  if (flow !== null) writeFlow(args, flow);
  if (args.json) {
    process.stdout.write(`${JSON.stringify(summary)}\n`);
  } else {
    if (args.trace) process.stdout.write(`${trace.join('\n')}\n\n`);
    process.stdout.write(formatSummary(summary, failed, args.byzantine, args.evidenceOut));
  }
  return summary.safetyViolations.length > 0 || summary.falseEvidence > 0 || summary.forensics.honestNamed > 0 ? 1 : 0;
}

async function parseSimArgs(argv: readonly string[]): Promise<SimArgs> {
  const { values } = parseOptions('sim', argv, OPTIONS);
  const mode = parseMode(values.mode ?? 'crash');
  // n = 3f+1 grows fast, and Byzantine runs sign and verify every message.
  const f = mode === 'crash' ? integerOption('f', values.f, 1, 0, CRASH_F_MAX) : integerOption('f', values.f, 1, 1, 3);
  const quorums = mode === 'crash' ? parseFlexibleQuorums(values, f) : null;
  if (mode !== 'crash') for (const flag of ['nodes', 'q1', 'q2'] as const) if (values[flag] !== undefined) throw new UsageError(`--${flag} is for crash mode (flexible quorums); ${mode} mode has n = 3f+1 and quorums of 2f+1`);
  const n = quorums?.n ?? (mode === 'crash' ? crashQuorums(f).n : byzantineQuorums(f).n);
  const auxiliaries = values.cheap === true ? cheapAuxiliaries(mode, f, quorums) : 0;
  const seeds = integerOption('seeds', values.seeds, 100, 1, 100_000);
  const seedStart = integerOption('seed-start', values['seed-start'], 1, 0, SEED_MAX);
  const commands = integerOption('commands', values.commands, 50, 1, 10_000);
  let faults: FaultSpec;
  try {
    faults = parseFaults(values.faults ?? 'none');
  } catch (e) {
    throw new UsageError(oneLine((e as Error).message));
  }
  if (faults.churn && (quorums !== null || auxiliaries > 0)) {
    throw new UsageError('--faults churn (membership changes through the log) needs the default quorums: not with --cheap, --nodes, --q1 or --q2');
  }
  if (seedStart + seeds - 1 > SEED_MAX) {
    throw new UsageError(`--seed-start ${seedStart} with --seeds ${seeds} runs past the largest seed ${SEED_MAX}`);
  }
  const json = values.json ?? false;
  const trace = values.trace ?? false;
  if (trace && seeds !== 1) throw new UsageError(`--trace requires --seeds 1, got --seeds ${seeds}`);
  if (trace && json) throw new UsageError('--trace prints a readable trace and cannot be combined with --json');
  if (mode === 'crash') rejectByzantineOptions(values, mode);
  const byzantine = mode === 'crash' ? null : await parseByzantineOptions(values, f, n);
  const evidenceOut = values['evidence-out'] ?? null;
  // Before any run: a directory that cannot be made is a usage error, not a lost sweep.
  const problem = evidenceOut === null ? null : writableDirProblem(evidenceOut, 0o777);
  if (problem !== null) throw new UsageError(`--evidence-out: '${evidenceOut}' ${problem}`);
  const eagerSlots = values['eager-slots'] === undefined ? null : integerOption('eager-slots', values['eager-slots'], 1, 1, PREPARED_CERTIFICATES_MAX);
  const html = outputFile('html', values.html, seeds);
  const traceJson = outputFile('trace-json', values['trace-json'], seeds);
  return { mode, n, f, quorums, auxiliaries, seeds, seedStart, commands, faults, eagerSlots, json, trace, byzantine, evidenceOut, html, traceJson };
}

/**
 * Flexible Paxos (Howard et al.): --nodes N with phase-1 and phase-2 quorums --q1/--q2 (each
 * default a majority of N), any sizes with q1 + q2 > N that leave a quorum after f crashes.
 */
function parseFlexibleQuorums(values: { nodes?: string; q1?: string; q2?: string }, f: number): QuorumSpec | null {
  if (values.nodes === undefined && values.q1 === undefined && values.q2 === undefined) return null;
  const n = integerOption('nodes', values.nodes, crashQuorums(f).n, 1, NODES_MAX);
  const majority = Math.floor(n / 2) + 1;
  const q1 = integerOption('q1', values.q1, majority, 1, n);
  const q2 = integerOption('q2', values.q2, majority, 1, n);
  try {
    return flexibleQuorums(n, f, q1, q2);
  } catch (e) {
    throw new UsageError(`--nodes ${n} --q1 ${q1} --q2 ${q2}: ${(e as Error).message.replace(/^quorum: /, '')}`);
  }
}

/** Cheap Paxos (Lamport and Massa): f+1 main members and f auxiliary acceptors, majority quorums of 2f+1. */
function cheapAuxiliaries(mode: Mode, f: number, quorums: QuorumSpec | null): number {
  if (mode !== 'crash') throw new UsageError(`--cheap is for crash mode (Cheap Paxos: f+1 main and f auxiliary acceptors); ${mode} mode has n = 3f+1 full members`);
  if (quorums !== null) throw new UsageError('--cheap uses majority quorums of 2f+1 members and cannot be combined with --nodes, --q1 or --q2');
  if (f < 1) throw new UsageError('--cheap needs --f 1 or more: f auxiliary acceptors stand in for up to f failed main ones');
  return f;
}

/** --html and --trace-json: one run's file, so they need --seeds 1 and a path. */
function outputFile(name: string, path: string | undefined, seeds: number): string | null {
  if (path === undefined) return null;
  if (path === '') throw new UsageError(`--${name} needs a file name`);
  if (seeds !== 1) throw new UsageError(`--${name} draws one run and requires --seeds 1, got --seeds ${seeds}`);
  return path;
}

function writeFlow(args: SimArgs, flow: FlowTrace): void {
  if (args.html !== null) writeOutput('html', args.html, renderFlowHtml(flow));
  if (args.traceJson !== null) writeOutput('trace-json', args.traceJson, encodeFlowTrace(flow));
}

function parseMode(mode: string): Mode {
  const known = MODES.find((m) => m === mode);
  if (known === undefined) throw new UsageError(`--mode must be one of ${MODES.join(', ')}; got '${mode}'`);
  return known;
}

/** Runs a filesystem step of --evidence-out; its failure is one line, exit 2. */
function attempt(step: () => void, what: string): void {
  try {
    step();
  } catch (e) {
    throw new UsageError(`--evidence-out: ${what} (${(e as NodeJS.ErrnoException).code ?? oneLine((e as Error).message)})`);
  }
}

/** One file per distinct proof of the run (gathered, or naming a culprit), named by its evidence id. */
function writeEvidence(dir: string, result: SimResult): void {
  const proofs: Evidence[] = [...result.evidence.map((e) => e.evidence), ...result.culprits.flatMap((c) => c.proofs)];
  for (const evidence of proofs) {
    const path = join(dir, `${evidenceId(evidence)}.json`);
    attempt(() => writeFileSync(path, encodeEvidenceFile(result.cluster!, evidence)), `cannot write '${path}'`);
  }
}

function sweep(args: SimArgs): { summary: SimSummary; failed: FailedSeed[]; trace: readonly string[]; flow: FlowTrace | null } {
  const hasher = createHasher();
  const safetyViolations: SimSummary['safetyViolations'] = [];
  const livenessFailedSeeds: number[] = [];
  const failed: FailedSeed[] = [];
  const progress = startProgress(args.seeds);
  let decided = 0;
  let completed = 0;
  let livenessFailures = 0;
  let slotsDecided = 0;
  let signs = 0;
  let verifies = 0;
  let evidence = 0;
  let falseEvidence = 0;
  let suspicions = 0;
  let commitments = 0;
  const culprits: SimSummary['culprits'] = [];
  const forensics = { agreementBroken: 0, accountable: 0, honestNamed: 0 };
  const nodesBySeed: NodeId[][] = [];
  let trace: readonly string[] = [];
  let flow: FlowTrace | null = null;
  const started = performance.now();
  for (let i = 0; i < args.seeds; i++) {
    const result = runSeed(args, args.seedStart + i);
    hasher.update(utf8.encode(result.traceHash));
    decided += result.decided;
    completed += result.completed;
    slotsDecided += result.slotsDecided;
    signs += result.signatures.signs;
    verifies += result.signatures.verifies;
    nodesBySeed.push(result.byzantineNodes);
    evidence += result.evidence.length;
    falseEvidence += framed(result).length;
    suspicions += result.suspicions.length;
    commitments += result.messages.byType.get('commitment')?.count ?? 0;
    for (const c of result.culprits) culprits.push({ seed: result.seed, node: c.node, proofs: c.proofs.map((p) => JSON.parse(encodeEvidenceFile(result.cluster!, p)) as unknown) });
    if (agreementBroken(result)) {
      forensics.agreementBroken++;
      if (accountability(result).length === 0) forensics.accountable++;
    }
    forensics.honestNamed += result.culprits.filter((c) => !result.byzantineNodes.includes(c.node)).length;
    if (args.evidenceOut !== null) writeEvidence(args.evidenceOut, result);
    trace = result.trace;
    flow = result.flow;
    for (const { seed, kind, detail } of result.safetyViolations) safetyViolations.push({ seed, kind, detail });
    if (result.livenessFailure !== null) {
      livenessFailures++;
      if (livenessFailedSeeds.length < LIVENESS_SEEDS_LISTED) livenessFailedSeeds.push(result.seed);
    }
    const reasons = describeFailures(result);
    if (reasons.length > 0) failed.push({ seed: result.seed, reasons, replayCommand: result.replayCommand });
    progress(i + 1);
  }
  const elapsedMs = performance.now() - started;
  const byzantine = args.byzantine;
  const summary: SimSummary = {
    mode: args.mode,
    n: args.n,
    quorums: quorumsOf(args),
    auxiliaries: args.auxiliaries,
    f: args.f,
    seeds: args.seeds,
    seedStart: args.seedStart,
    commands: args.commands,
    faults: formatFaults(args.faults),
    decided,
    completed,
    safetyViolations,
    livenessFailures,
    livenessFailedSeeds,
    traceHash: hasher.digestHex(),
    wallMs: Math.round(elapsedMs),
    decisionsPerSecond: elapsedMs > 0 ? Math.round((decided * 1000) / elapsedMs) : 0,
    byzantine:
      byzantine === null
        ? null
        : {
            nodes: byzantine.nodes ?? 'per-seed',
            strategies: byzantine.strategies.map((s) => s.name),
            ...(byzantine.nodes === undefined ? { nodesBySeed } : {}),
          },
    signaturesPerDecision: perSlot(signs, slotsDecided),
    verificationsPerDecision: perSlot(verifies, slotsDecided),
    evidence,
    falseEvidence,
    suspicions,
    culprits,
    forensics,
    commitmentsPerDecision: perSlot(commitments, slotsDecided),
  };
  return { summary, failed, trace, flow };
}

/** Two decimals, as in the overhead experiment. */
function perSlot(count: number, slots: number): number {
  return slots > 0 ? Math.round((count / slots) * 100) / 100 : 0;
}

function runSeed(args: SimArgs, seed: number): SimResult {
  const { mode, f, commands, faults, trace, byzantine, eagerSlots, quorums, auxiliaries } = args;
  const flow = args.html !== null || args.traceJson !== null;
  try {
    return simulate({
      mode,
      seed,
      f,
      commands,
      faults,
      trace,
      flow,
      ...(eagerSlots === null ? {} : { eagerSlots }),
      ...(quorums === null ? {} : { config: { quorums }, replayArgs: `--nodes ${quorums.n} --q1 ${quorums.phase1} --q2 ${quorums.phase2}` }),
      ...(auxiliaries === 0 ? {} : { config: { auxiliaries }, replayArgs: '--cheap' }),
      ...(byzantine === null ? {} : { byzantine, replayArgs: byzantine.replayArgs }),
    });
  } catch (e) {
    // Still an internal error (exit 3), but one that names the seed to replay.
    throw new Error(`simulation of seed ${seed} threw: ${(e as Error).message}`, { cause: e });
  }
}

/** Proofs that name an honest node: a bug in the protocol or in the evidence rules. */
function framed(result: SimResult): SimResult['evidence'] {
  return result.evidence.filter((e) => !result.byzantineNodes.includes(e.culprit));
}

function agreementBroken(result: SimResult): boolean {
  return result.safetyViolations.some((v) => v.kind === 'agreement');
}

/** Forensics' promise for the run (forensics.ts): f+1 culprits when agreement broke, each proven and Byzantine. */
function accountability(result: SimResult): string[] {
  if (result.cluster === null) return [];
  return accountabilityProblems({ cluster: result.cluster, byzantine: new Set(result.byzantineNodes), agreementBroken: agreementBroken(result), culprits: result.culprits });
}

function describeFailures(result: SimResult): string[] {
  const reasons = result.safetyViolations.map((v) => `${v.kind}: ${v.detail}`);
  for (const problem of accountability(result)) reasons.push(`forensics: ${problem}`);
  for (const c of result.culprits) reasons.push(`culprit: n${c.node}, ${c.proofs.length} proof(s) (${[...new Set(c.proofs.map((p) => p.kind))].join(', ')})`);
  if (result.livenessFailure !== null) reasons.push(`liveness: ${result.livenessFailure}`);
  for (const e of framed(result)) reasons.push(`false evidence: n${e.reporter} proves ${e.evidence.kind} by honest n${e.culprit} at ${e.atMs.toFixed(3)} ms`);
  return reasons;
}

/** Seeds done so far on stderr, only for a human watching a terminal; a no-op otherwise. */
function startProgress(total: number): (done: number) => void {
  if (!process.stderr.isTTY || total < 2) return () => {};
  let shownAt = 0;
  return (done) => {
    const now = performance.now();
    if (done < total && now - shownAt < 100) return;
    shownAt = now;
    process.stderr.write(done < total ? `\rsim: seed ${done}/${total}` : '\r\x1b[K');
  };
}

function quorumsOf(args: SimArgs): SimSummary['quorums'] {
  const q = args.quorums ?? (args.mode === 'crash' ? crashQuorums(args.f) : byzantineQuorums(args.f));
  return { phase1: q.phase1, phase2: q.phase2 };
}

/** ` q1=A q2=B` where the quorums are not the mode's own. */
function flexible(s: SimSummary): string {
  const own = s.mode === 'crash' ? crashQuorums(s.f) : byzantineQuorums(s.f);
  return s.n === own.n && s.quorums.phase1 === own.phase1 && s.quorums.phase2 === own.phase2 ? '' : ` q1=${s.quorums.phase1} q2=${s.quorums.phase2}`;
}

/** ` cheap (main n0..nf, auxiliary n(f+1)..n(2f))` with --cheap. */
function cheap(s: SimSummary): string {
  if (s.auxiliaries === 0) return '';
  const mains = s.n - s.auxiliaries;
  const ids = (from: number, to: number) => (from === to ? `n${from}` : `n${from}..n${to}`);
  return ` cheap (main ${ids(0, mains - 1)}, auxiliary ${ids(mains, s.n - 1)})`;
}

function formatSummary(s: SimSummary, failed: readonly FailedSeed[], byzantine: ByzantineArgs | null, evidenceOut: string | null): string {
  const lastSeed = s.seedStart + s.seeds - 1;
  const seeds = s.seeds === 1 ? `seed ${s.seedStart}` : `seeds ${s.seedStart}..${lastSeed}`;
  const violatingSeeds = new Set(s.safetyViolations.map((v) => v.seed)).size;
  const overBound = byzantine !== null && byzantineCount(byzantine) > s.f;
  const lines = [
    `sim: mode=${s.mode} n=${s.n} f=${s.f}${flexible(s)}${cheap(s)} ${seeds}, ${s.commands} commands each, faults=${s.faults}`,
    ...(byzantine === null ? [] : describeByzantine(byzantine, s)),
    `decided ${s.decided}, completed ${s.completed} of ${s.seeds * s.commands} commands in ${s.wallMs} ms (${s.decisionsPerSecond} decisions/s)`,
    ...(s.mode === 'crash' ? [] : describeCosts(s, evidenceOut)),
    s.safetyViolations.length === 0
      ? `safety: no violations${overBound ? ' (even beyond the bound)' : ''}`
      : `safety: ${s.safetyViolations.length} violation(s) in ${violatingSeeds} seed(s)${overBound ? ', as expected beyond the bound' : ''}`,
    s.livenessFailures === 0
      ? 'liveness: every run completed all commands after healing'
      : `liveness: ${s.livenessFailures} run(s) left commands incomplete`,
    `trace hash: ${s.traceHash}`,
  ];
  for (const f of failed) {
    lines.push('', `seed ${f.seed} FAILED`, ...f.reasons.map((r) => `  ${r}`), `  replay: ${f.replayCommand}`);
  }
  return `${lines.join('\n')}\n`;
}

/** The Byzantine modes' extra lines: signatures, commitments, proofs and suspicions. */
function describeCosts(s: SimSummary, evidenceOut: string | null): string[] {
  const against = s.falseEvidence === 0 ? 'none against honest nodes' : `${s.falseEvidence} against honest nodes`;
  const written = evidenceOut === null ? '' : `, one file each in ${evidenceOut}`;
  return [
    `signatures: ${s.signaturesPerDecision} made, ${s.verificationsPerDecision} checked per decided slot`,
    ...(s.mode === 'commit-reveal' ? [`commitments: ${s.commitmentsPerDecision} sent per decided slot`] : []),
    `evidence: ${s.evidence} distinct proof(s), ${against}${written}; ${s.suspicions} suspicion(s)`,
    ...(s.forensics.agreementBroken === 0 && s.culprits.length === 0 ? [] : [describeForensics(s)]),
  ];
}

/** Beyond the bound: did each run whose honest learners disagreed name f+1 proven culprits? */
function describeForensics(s: SimSummary): string {
  const { agreementBroken, accountable, honestNamed } = s.forensics;
  const named = [...new Set(s.culprits.map((c) => c.node))].sort((a, b) => a - b).map((id) => `n${id}`);
  const honest = honestNamed === 0 ? 'no honest member named' : `${honestNamed} honest member(s) named`;
  return `forensics: ${accountable} of ${agreementBroken} run(s) that broke agreement named f+1=${s.f + 1} or more culprits with verified proofs (${s.culprits.length} culprit(s) over all runs: ${named.join(', ') || 'none'}); ${honest}`;
}

function byzantineCount(b: ByzantineArgs): number {
  return b.nodes?.length ?? b.strategies.length;
}

function describeByzantine(b: ByzantineArgs, s: SimSummary): string[] {
  const names = b.strategies.map((a) => a.name);
  const lines = [
    b.nodes === undefined
      ? `byzantine: ${names.length === 0 ? 'none, every node is honest' : `${names.join(', ')}, on nodes each seed picks`}`
      : `byzantine: ${b.nodes.map((id, i) => `n${id} ${names[i % names.length]}`).join(', ')}`,
  ];
  const count = byzantineCount(b);
  if (count > s.f) {
    // Forensics holds up to 2f Byzantine members (docs/PROTOCOL.md, "Forensics beyond the bound").
    const promise = count <= 2 * s.f ? 'only that f+1 culprits are named if it breaks' : 'nor accountability, beyond 2f';
    lines.push(`beyond the bound on purpose (--beyond-bound): ${count} Byzantine nodes, f=${s.f}; agreement is not promised here (violations show what breaks), ${promise}`);
  }
  return lines;
}
