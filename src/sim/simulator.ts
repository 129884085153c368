// Deterministic cluster simulator (in the spirit of TigerBeetle's VOPR and FoundationDB's
// simulation): one thread, virtual time, a seeded PRNG driving every choice. It runs the very
// same PaxosNode core as a deployment, with a network that delays, drops, duplicates,
// reorders and partitions, and nodes that crash and restart from what they persisted.
// A safety phase with faults is followed by a liveness phase after everything heals.
// This module wires the parts (network.ts, clients.ts, cluster.ts, outcomes.ts, sim-trace.ts
// over the shared world.ts) and runs the event loop; the parts share one clock and one stream.
import type { NodeId } from '../base/types.ts';
import { SeededRng } from '../core/rng.ts';
import type { Adversary } from '../adversary/adversary.ts';
import { PREPARED_CERTIFICATES_MAX } from '../base/limits.ts';
import { adversaryNamed } from '../adversary/strategies.ts';
import { SafetyChecker } from './checker.ts';
import { Clients } from './clients.ts';
import { Churn, churnReconfiguration } from './churn.ts';
import { ConfigurationHistory, StaticConfiguration } from '../core/configuration.ts';
import { byzantineConfigurations } from '../modes/byzantine/membership.ts';
import { chooseAdversaries, Cluster } from './cluster.ts';
import { EventQueue } from './event-queue.ts';
import { scheduleFaults } from './fault-schedule.ts';
import { formatFaults } from './faults.ts';
import { byzantineSetup, crashSetup, type ModeSetup } from './modes.ts';
import { Network } from './network.ts';
import { Outcomes } from './outcomes.ts';
import type { SimControl, SimOptions } from './sim-options.ts';
import type { SimResult } from './sim-result.ts';
import { SimTrace } from './sim-trace.ts';
import { settingsOf, type SimEvent, type World } from './world.ts';

export type { SimControl, SimHooks, SimOptions } from './sim-options.ts';
export type { CommandTiming, Coverage, GatheredEvidence, MessageCounts, SimResult } from './sim-result.ts';

/** Without `eagerSlots`: a leader opens every slot its window allows as commands arrive. */
const SIM_EAGER_SLOTS = PREPARED_CERTIFICATES_MAX;

/** The predicate of an application, from an instance the checker keeps to itself; null: every op is valid. */
function validatorOf(app: SimOptions['app']): ((op: Uint8Array) => boolean) | null {
  const judge = app?.();
  return judge?.validate === undefined ? null : (op) => judge.validate!(op);
}

export function simulate(options: SimOptions): SimResult {
  return new Simulation(options).run();
}

class Simulation {
  private readonly w: World;
  /** Byzantine node ids and their strategies. */
  private readonly adversaries: ReadonlyMap<NodeId, Adversary>;
  private readonly setup: ModeSetup;
  private readonly faultRng: SeededRng;
  private readonly trace: SimTrace;
  private readonly checker: SafetyChecker;
  private readonly network: Network;
  private readonly clients: Clients;
  private readonly outcomes: Outcomes;
  private readonly cluster: Cluster;
  /** Membership churn (crash mode, `--faults churn`), else null. */
  private readonly churn: Churn | null;
  /** Nodes booted at the start: every one, but for churn's spares. */
  private readonly initialMembers: number;
  private signaturesAtWarmup = { signs: 0, verifies: 0 };
  private events = 0;
  private readonly control: SimControl = {
    now: () => this.w.now,
    crash: (id) => this.cluster.crashByHook(id),
    restart: (id) => this.cluster.restartByHook(id),
    wipe: (id) => this.cluster.wipe(id),
  };

  constructor(options: SimOptions) {
    const o = settingsOf(options);
    this.adversaries = chooseAdversaries(o);
    const eagerSlots = o.eagerSlots ?? SIM_EAGER_SLOTS;
    const reconfiguration = o.faults.churn ? churnReconfiguration(o.f, o.mode) : null;
    const setup =
      o.mode === 'crash'
        ? crashSetup(o.f, { eagerSlots, ...o.config, ...(reconfiguration === null ? {} : { reconfiguration }) }, o.makeNode, o.app)
        : byzantineSetup({
            mode: o.mode,
            seed: o.seed,
            f: o.f,
            clients: o.clients,
            config: { eagerSlots, ...o.byzantineConfig },
            adversaries: this.adversaries,
            app: o.app,
            reconfiguration,
            makeConfigurations: o.makeConfigurations,
          });
    this.setup = setup;
    this.w = {
      o,
      n: setup.n,
      rng: new SeededRng(o.seed, 0),
      queue: new EventQueue<SimEvent>(),
      now: 0,
      healed: false,
      coverage: { elections: 0, noopSlots: 0, duplicateDecisions: 0, restarts: 0, catchupReplies: 0 },
    };
    this.faultRng = new SeededRng(o.seed, 1);
    this.trace = new SimTrace(this.w);
    // The checker's own view of the configurations, with the true window: what a mutant's nodes use is not trusted.
    const configurations =
      reconfiguration === null
        ? new StaticConfiguration(setup.quorums)
        : o.mode === 'crash'
          ? new ConfigurationHistory(reconfiguration.members, reconfiguration.universe)
          : byzantineConfigurations(reconfiguration);
    const faulty = new Set(this.adversaries.keys());
    this.checker = new SafetyChecker(o.seed, (command) => setup.signedByClient(command), configurations, o.validOp ?? validatorOf(o.app), faulty);
    this.network = new Network(this.w, this.trace, this.control);
    this.clients = new Clients(this.w, this.trace, this.network, this.checker, this.control, () => this.warmedUp());
    this.outcomes = new Outcomes(this.w, this.trace, this.checker, this.adversaries, this.clients.timings);
    this.cluster = new Cluster(this.w, this.trace, setup, this.network, this.outcomes, this.adversaries, this.control);
    this.churn = reconfiguration === null ? null : new Churn(this.w, this.trace, this.network, this.checker, setup.makeClient, (id) => this.cluster.join(id));
    this.initialMembers = reconfiguration?.members.length ?? setup.n;
  }

  run(): SimResult {
    this.setUp();
    const { w, clients } = this;
    while (clients.completed < w.o.commands && clients.livenessFailure === null) {
      const next = w.queue.pop();
      if (next === undefined) break;
      w.now = next.time;
      this.events++;
      this.dispatch(next.event);
    }
    this.checker.checkHistory(clients.collectHistory());
    this.checker.checkQuorums();
    return this.result();
  }

  /** In this order, for the draws from the scheduling stream: links, members' start, clients. */
  private setUp(): void {
    this.network.drawLinks();
    this.cluster.bootAll(this.initialMembers);
    this.clients.open(this.setup.makeClient);
    scheduleFaults(this.w, this.faultRng);
    this.churn?.schedule();
    this.w.queue.push(this.w.o.faultPhaseMs, { kind: 'heal-all' });
  }

  private dispatch(event: SimEvent): void {
    switch (event.kind) {
      case 'deliver': {
        const msg = this.network.arrive(event.to, event.from, event.bytes, event.flowId, this.cluster.isUp(event.to));
        if (msg !== null) this.cluster.receive(event.to, event.from, msg);
        return;
      }
      case 'deliver-client': {
        const reply = this.network.arriveAtClient(event.clientId, event.bytes, event.flowId);
        if (reply === null) return;
        if (event.clientId === this.churn?.clientIndex) return this.churn.arrive(event.from, reply);
        return this.clients.arrive(event.clientId, event.from, reply);
      }
      case 'node-timer':
        return this.cluster.fire(event.node, event.timer, event.generation);
      case 'client-timer':
        if (event.clientId === this.churn?.clientIndex) return this.churn.timeout(event.generation);
        return this.clients.timeout(event.clientId, event.generation);
      case 'client-submit':
        return this.clients.submit(event.clientId);
      case 'crash':
        return this.cluster.crash(event.node, event.downMs);
      case 'restart':
        return this.cluster.restart(event.node);
      case 'partition':
        return this.network.partition(event.groupA, event.healAt);
      case 'partition-heal':
        return this.network.partitionHeal();
      case 'heal-all':
        this.w.healed = true;
        this.network.heal();
        this.trace.note('faults end: network healed, crashed nodes restart');
        this.trace.flow?.event({ kind: 'heal-all', atMs: this.w.now });
        this.cluster.restartAllDown();
        this.clients.heal();
        return;
      case 'liveness-check':
        return this.clients.checkLiveness(event.clientId, event.seq);
      case 'churn':
        return this.churn?.change();
    }
  }

  /** Steady-state counts start once warmupCommands commands completed. */
  private warmedUp(): void {
    this.network.restartCounts();
    this.outcomes.slotsDecided = 0;
    this.signaturesAtWarmup = this.setup.signatureCounts();
  }

  private result(): SimResult {
    const { o, n, now, coverage } = this.w;
    const { clients, outcomes } = this;
    const decided = [...clients.timings.values()].filter((t) => t.firstDecidedAt !== null).length;
    const livenessFailure =
      clients.livenessFailure ?? (clients.completed === o.commands ? null : `${o.commands - clients.completed} of ${o.commands} commands never completed`);
    return {
      seed: o.seed,
      n,
      f: o.f,
      decided,
      completed: clients.completed,
      submitted: clients.submitted,
      safetyViolations: this.checker.violations,
      livenessFailure,
      traceHash: this.trace.hash,
      trace: this.trace.lines,
      flow: this.trace.flow?.finish({ mode: o.mode, seed: o.seed, n, f: o.f, endMs: now, byzantine: this.adversaries }) ?? null,
      endTimeMs: now,
      events: this.events,
      messages: this.network.messages,
      slotsDecided: outcomes.slotsDecided,
      signatures: {
        signs: this.setup.signatureCounts().signs - this.signaturesAtWarmup.signs,
        verifies: this.setup.signatureCounts().verifies - this.signaturesAtWarmup.verifies,
      },
      coverage,
      evidence: outcomes.evidence,
      culprits: this.culprits(),
      suspicions: outcomes.suspicions,
      timings: clients.timings,
      byzantineNodes: [...this.adversaries.keys()],
      cluster: this.setup.cluster,
      replayCommand: this.replayCommand(),
    };
  }

  private culprits(): SimResult['culprits'] {
    const transcript = this.outcomes.transcript();
    return transcript === null ? [] : (this.setup.analyse(transcript)?.culprits ?? []);
  }

  private replayCommand(): string {
    const { mode, f, seed, commands, faults, replayArgs } = this.w.o;
    const args = [`npx byzpaxos sim --mode ${mode} --f ${f} --seed-start ${seed} --seeds 1 --commands ${commands} --faults ${formatFaults(faults)}`];
    const builtIn = (this.w.o.byzantine?.strategies ?? []).filter((s) => adversaryNamed(s.name) === s).map((s) => s.name);
    if (builtIn.length > 0) args.push(`--adversary ${builtIn.join(',')}`);
    // The ids actually used, in dealing order, so a replay is exact even when the seed picked them.
    if (this.adversaries.size > 0) args.push(`--byzantine ${[...this.adversaries.keys()].join(',')}`);
    if (this.adversaries.size > f) args.push('--beyond-bound');
    if (this.w.o.eagerSlots !== undefined) args.push(`--eager-slots ${this.w.o.eagerSlots}`);
    if (replayArgs !== '') args.push(replayArgs);
    args.push('--trace');
    return args.join(' ');
  }
}
