// What the honest members report as they run: decisions and executions go to the safety checker
// and the run's counts, proofs of misbehaviour are kept once each, suspicions as they come. What a
// Byzantine member reports counts for nothing: safety is judged over the other members only.
// What honest members persist of their decisions (certificates, the NewBallots they joined by)
// is kept where it may matter for forensics beyond the bound.
import { commandKey, type Batch, type Command, type NodeId, type Slot } from '../base/types.ts';
import { toHex } from '../../crypto/digest.ts';
import type { PersistRecord } from '../core/effects.ts';
import type { Transcript } from '../evidence/forensics.ts';
import { batchDigest, decodeMessage, frameType } from '../messages/codec.ts';
import type { Accepted, CertifiedEntry, PeerMessage, Reveal, SignedEnvelope } from '../messages/types.ts';
import { evidenceEnvelopes, type Evidence, type Suspicion } from '../messages/evidence.ts';
import type { Adversary } from '../adversary/adversary.ts';
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
  /** Per slot, the first certificate an honest learner held for each digest. */
  private readonly certificates = new Map<Slot, Map<string, CertifiedEntry>>();
  /** NewBallots honest members joined by, by signature. */
  private readonly newBallots = new Map<string, SignedEnvelope>();

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

  /**
   * A node sent `msg`: if it is an honest acceptor's announced vote (crash mode's Accepted, a
   * Byzantine mode's own signed Accepted or Reveal), the quorum-of-configuration check counts it.
   */
  sent(id: NodeId, msg: PeerMessage): void {
    if (this.byzantine.has(id)) return;
    if (msg.type === 'accepted') return this.checker.recordAccepted(id, msg.ballot, msg.slot, msg.digest);
    if (msg.type !== 'signed' || msg.signer !== id) return;
    const type = frameType(msg.payload);
    if (type !== 'accepted' && type !== 'reveal') return;
    const vote = decodeMessage(msg.payload) as Accepted | Reveal;
    this.checker.recordAccepted(id, vote.ballot, vote.slot, vote.digest);
  }

  persisted(id: NodeId, record: PersistRecord): void {
    if (this.byzantine.has(id)) return;
    if (record.type === 'certified') {
      let digests = this.certificates.get(record.entry.slot);
      if (digests === undefined) this.certificates.set(record.entry.slot, (digests = new Map()));
      const digestHex = toHex(batchDigest(record.entry.batch));
      if (!digests.has(digestHex)) digests.set(digestHex, record.entry);
    } else if (record.type === 'joined' && record.by !== null && frameType(record.by.payload) === 'new-ballot') {
      this.newBallots.set(toHex(record.by.signature), record.by);
    }
  }

  /** What forensics needs when honest learners disagree: their certificates of such slots; null when they never did. */
  transcript(): Transcript | null {
    const certificates = [...this.certificates.values()].filter((digests) => digests.size > 1).flatMap((digests) => [...digests.values()]);
    return certificates.length === 0 ? null : { certificates, newBallots: [...this.newBallots.values()] };
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
