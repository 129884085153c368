// What the honest members report as they run: decisions and executions go to the safety checker
// and the run's counts, proofs of misbehaviour are kept once each, suspicions as they come. What a
// Byzantine member reports counts for nothing: safety is judged over the other members only.
import { commandKey, type Batch, type Command, type NodeId, type Slot } from '../base/types.ts';
import { toHex } from '../../crypto/digest.ts';
import { evidenceEnvelopes, type Evidence, type Suspicion } from '../messages/evidence.ts';
import type { Adversary } from '../adversary/adversary.ts';
import type { Accepted } from '../messages/types.ts';
import type { SafetyChecker } from './checker.ts';
import type { CommandTiming, GatheredEvidence, SimResult } from './sim-result.ts';
import type { SimTrace } from './sim-trace.ts';
import type { World } from './world.ts';

export class Outcomes {
  readonly evidence: GatheredEvidence[] = [];
  readonly suspicions: SimResult['suspicions'][number][] = [];
  /** Distinct slots first decided since the counts last restarted (at warm-up's end). */
  slotsDecided = 0;
  private readonly w: World;
  private readonly trace: SimTrace;
  private readonly checker: SafetyChecker;
  private readonly byzantine: ReadonlyMap<NodeId, Adversary>;
  private readonly timings: ReadonlyMap<string, CommandTiming>;
  private readonly decidedSlots = new Set<number>();
  private readonly decidedCommandSlot = new Map<string, number>();
  private readonly evidenceIds = new Set<string>();

  constructor(
    world: World,
    trace: SimTrace,
    checker: SafetyChecker,
    byzantine: ReadonlyMap<NodeId, Adversary>,
    timings: ReadonlyMap<string, CommandTiming>,
  ) {
    this.w = world;
    this.trace = trace;
    this.checker = checker;
    this.byzantine = byzantine;
    this.timings = timings;
  }

  decided(id: NodeId, slot: Slot, batch: Batch): void {
    if (this.byzantine.has(id)) return;
    this.checker.recordDecision(id, slot, batch);
    this.trace.flow?.decided(this.w.now, id, slot, batch.commands.length);
    if (!this.decidedSlots.has(slot)) {
      this.decidedSlots.add(slot);
      this.slotsDecided++;
      if (batch.commands.length === 0) this.w.coverage.noopSlots++;
    }
    for (const command of batch.commands) {
      const key = commandKey(command);
      const first = this.decidedCommandSlot.get(key);
      if (first === undefined) this.decidedCommandSlot.set(key, slot);
      else if (first !== slot) {
        this.decidedCommandSlot.set(key, slot);
        this.w.coverage.duplicateDecisions++;
      }
      const timing = this.timings.get(key);
      if (timing !== undefined && timing.firstDecidedAt === null) timing.firstDecidedAt = this.w.now;
    }
  }

  /** Crash mode: an acceptor announced it accepted (the quorum-of-configuration check's votes). */
  accepted(id: NodeId, msg: Accepted): void {
    if (!this.byzantine.has(id)) this.checker.recordAccepted(id, msg.ballot, msg.slot, msg.digest);
  }

  /** `incarnation` tells a restarted node's executions from its earlier life's. */
  executed(id: NodeId, incarnation: number, command: Command): void {
    if (!this.byzantine.has(id)) this.checker.recordExecution(id, incarnation, command);
  }

  /** Keeps each distinct proof once, the first time any honest node produced it. */
  proved(reporter: NodeId, evidence: Evidence): void {
    if (this.byzantine.has(reporter)) return;
    const envelopes = evidenceEnvelopes(evidence);
    const id = `${evidence.kind}:${envelopes.map((e) => toHex(e.signature)).sort().join(':')}`;
    if (this.evidenceIds.has(id)) return;
    this.evidenceIds.add(id);
    this.evidence.push({ reporter, culprit: envelopes[0]!.signer, atMs: this.w.now, evidence });
    this.trace.note(`n${reporter} proves ${evidence.kind} by n${envelopes[0]!.signer}`);
    this.trace.flow?.proved(this.w.now, reporter, envelopes[0]!.signer, evidence);
  }

  suspected(reporter: NodeId, suspicion: Suspicion): void {
    if (!this.byzantine.has(reporter)) this.suspicions.push({ reporter, ...suspicion, atMs: this.w.now });
  }
}
