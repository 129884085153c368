// Quorum math, in one place. Crash mode uses majorities of n = 2f+1; any pair of
// sizes with phase1 + phase2 > n also works (flexible quorums), since every phase-1
// quorum must intersect every phase-2 quorum. Which n goes with which f in each mode is here too.
import type { Mode } from '../base/mode.ts';

export interface QuorumSpec {
  readonly n: number;
  readonly f: number;
  /** Promises a leader needs before proposing. */
  readonly phase1: number;
  /** Matching Accepted a learner needs to decide. */
  readonly phase2: number;
}

export function crashQuorums(f: number): QuorumSpec {
  assertF(f);
  const n = 2 * f + 1;
  return flexibleQuorums(n, f, f + 1, f + 1);
}

/**
 * Byzantine modes: n = 3f+1 and quorums of 2f+1, so any two quorums share f+1 nodes, at least
 * one of them honest; `weak` (f+1) is the smallest set sure to contain an honest node.
 */
export function byzantineQuorums(f: number): QuorumSpec & { readonly weak: number } {
  assertF(f);
  const n = 3 * f + 1;
  if (n - 1 > 255) throw new RangeError(`quorum: f=${f} needs more than 256 nodes`);
  return Object.freeze({ n, f, phase1: 2 * f + 1, phase2: 2 * f + 1, weak: f + 1 });
}

/** n for f in `mode`: 2f+1 in crash mode, 3f+1 in the Byzantine modes. */
export function membersFor(mode: Mode, f: number): number {
  return mode === 'crash' ? 2 * f + 1 : 3 * f + 1;
}

/** The f that `nodes` members tolerate in `mode`, or null when `nodes` is no 2f+1 (crash) or 3f+1 with f ≥ 1 (Byzantine modes). */
export function faultsFor(mode: Mode, nodes: number): number | null {
  const f = mode === 'crash' ? (nodes - 1) / 2 : (nodes - 1) / 3;
  return Number.isInteger(f) && f >= (mode === 'crash' ? 0 : 1) ? f : null;
}

/** f of a cluster of `nodes` members; throws RangeError if `nodes` fits no f of the mode. */
export function fOf(mode: Mode, nodes: number): number {
  const f = faultsFor(mode, nodes);
  if (f === null) throw new RangeError(`${mode} mode needs ${mode === 'crash' ? '2f+1 members (3, 5, 7, …)' : '3f+1 members (4, 7, 10, …)'}, got ${nodes}`);
  return f;
}

export function flexibleQuorums(n: number, f: number, phase1: number, phase2: number): QuorumSpec {
  if (!Number.isInteger(n) || n < 1) throw new RangeError(`quorum: n must be a positive integer, got ${n}`);
  assertF(f);
  if (!Number.isInteger(phase1) || !Number.isInteger(phase2) || phase1 < 1 || phase2 < 1) {
    throw new RangeError(`quorum: phase sizes must be positive integers, got ${phase1}/${phase2}`);
  }
  if (phase1 + phase2 <= n) {
    throw new RangeError(`quorum: phase1 (${phase1}) + phase2 (${phase2}) must exceed n (${n}) so quorums intersect`);
  }
  if (phase1 > n - f || phase2 > n - f) {
    throw new RangeError(`quorum: with f=${f} crashed, ${n - f} nodes remain, fewer than a quorum (${phase1}/${phase2})`);
  }
  return Object.freeze({ n, f, phase1, phase2 });
}

export function assertF(f: number): void {
  if (!Number.isInteger(f) || f < 0 || f > 42) throw new RangeError(`quorum: f must be an integer in 0..42, got ${f}`);
}

export function isPhase1Quorum(spec: QuorumSpec, count: number): boolean {
  return count >= spec.phase1;
}

export function isPhase2Quorum(spec: QuorumSpec, count: number): boolean {
  return count >= spec.phase2;
}
