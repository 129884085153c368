// What `simulate` (simulator.ts) returns: the verdicts, the counts and the trace of one run.
import type { NodeId } from '../base/types.ts';
import type { ClusterConfig } from '../modes/byzantine/cluster.ts';
import type { Evidence } from '../messages/evidence.ts';
import type { Culprit } from '../evidence/forensics.ts';
import type { FlowTrace } from '../trace/flow-trace.ts';
import type { Violation } from './checker.ts';

export interface CommandTiming {
  readonly invokedAt: number;
  firstDecidedAt: number | null;
  completedAt: number | null;
}

export interface SimResult {
  readonly seed: number;
  readonly n: number;
  readonly f: number;
  /** Distinct client commands decided by some learner. */
  readonly decided: number;
  readonly completed: number;
  readonly submitted: number;
  readonly safetyViolations: readonly Violation[];
  /** Null when every command completed within the bound after healing. */
  readonly livenessFailure: string | null;
  readonly traceHash: string;
  readonly trace: readonly string[];
  /** The recorded message flow; null unless `flow` was asked for. */
  readonly flow: FlowTrace | null;
  readonly endTimeMs: number;
  readonly events: number;
  /** Network traffic since warm-up ended (the whole run when warmupCommands is 0). */
  readonly messages: MessageCounts;
  /** Distinct slots first decided since warm-up ended. */
  readonly slotsDecided: number;
  /** Signatures made and checked since warm-up ended. */
  readonly signatures: { readonly signs: number; readonly verifies: number };
  readonly coverage: Coverage;
  /** Proofs of misbehaviour honest nodes gathered (deduplicated), with who they accuse. */
  readonly evidence: readonly GatheredEvidence[];
  /**
   * Beyond the bound, when honest learners hold certificates for different digests in a slot: the
   * members those certificates prove faulty, each with its proofs (forensics.ts); empty otherwise.
   */
  readonly culprits: readonly Culprit[];
  /** Unprovable misbehaviour honest nodes noticed. */
  readonly suspicions: readonly { readonly reporter: NodeId; readonly node: NodeId; readonly reason: string; readonly atMs: number }[];
  readonly timings: ReadonlyMap<string, CommandTiming>;
  /** The Byzantine nodes of this run, in the order strategies were dealt to them. */
  readonly byzantineNodes: NodeId[];
  /** The run's cluster configuration (members' and clients' keys), to check its evidence; null in crash mode. */
  readonly cluster: ClusterConfig | null;
  readonly replayCommand: string;
}

export interface GatheredEvidence {
  readonly reporter: NodeId;
  /** The signer the proof accuses. */
  readonly culprit: NodeId;
  readonly atMs: number;
  readonly evidence: Evidence;
}

/** How much of the protocol a run exercised; regression seeds are chosen by these. */
export interface Coverage {
  /** Times some node became leader. */
  elections: number;
  /** Slots decided as no-ops (gaps a new leader filled). */
  noopSlots: number;
  /** Commands decided in two different slots (resent across a leader change); executed once. */
  duplicateDecisions: number;
  restarts: number;
  catchupReplies: number;
}

export interface MessageCounts {
  /** Network messages sent (a broadcast counts once per recipient); self-delivery is free. */
  count: number;
  bytes: number;
  readonly byType: Map<string, { count: number; bytes: number }>;
}
