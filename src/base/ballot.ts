// Ballots are (round, leader id), totally ordered lexicographically (seed 001 §2.1.5).
// BOTTOM is below every real ballot: real rounds start at 1. The type itself is in types.ts, with
// the rest of the vocabulary, so that nothing there imports back.
import type { Ballot } from './types.ts';

export const BOTTOM: Ballot = Object.freeze({ round: 0, leader: -1 });
export function compareBallots(a: Ballot, b: Ballot): number {
  if (a.round !== b.round) return a.round < b.round ? -1 : 1;
  if (a.leader !== b.leader) return a.leader < b.leader ? -1 : 1;
  return 0;
}

export function ballotEquals(a: Ballot, b: Ballot): boolean {
  return a.round === b.round && a.leader === b.leader;
}

export function ballotGreater(a: Ballot, b: Ballot): boolean {
  return compareBallots(a, b) > 0;
}

export function isBottom(b: Ballot): boolean {
  return b.round === 0;
}

export function maxBallot(a: Ballot, b: Ballot): Ballot {
  return compareBallots(a, b) >= 0 ? a : b;
}

export function formatBallot(b: Ballot): string {
  return isBottom(b) ? '⊥' : `(${b.round},n${b.leader})`;
}
