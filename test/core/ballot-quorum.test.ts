// Ballots and quorums, rule by rule, as the seeds state them (raft_paper_test.go style).
import type { Ballot } from '../../src/base/types.ts';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { BOTTOM, ballotEquals, ballotGreater, compareBallots, isBottom, maxBallot } from '../../src/base/ballot.ts';
import {
  crashQuorums,
  flexibleQuorums,
  isPhase1Quorum,
  isPhase2Quorum,
  faultsFor,
  fOf,
  membersFor,
} from '../../src/core/quorum.ts';

const b = (round: number, leader: number): Ballot => ({ round, leader });

/** Real ballots (round >= 1, leader 0..7) plus BOTTOM, so BOTTOM shows up often. */
const ballotArb: fc.Arbitrary<Ballot> = fc.oneof(
  { weight: 1, arbitrary: fc.constant(BOTTOM) },
  {
    weight: 6,
    arbitrary: fc.record({ round: fc.integer({ min: 1, max: 6 }), leader: fc.integer({ min: 0, max: 7 }) }),
  },
);

const sign = (x: number): number => (x > 0 ? 1 : x < 0 ? -1 : 0);

describe('seed 001 §ballots: ballot numbers are pairs (round, leader) or ⊥, totally ordered', () => {
  it('seed 001: ⊥ is the least ballot number — below every real ballot', () => {
    for (const real of [b(1, 0), b(1, 255), b(2, 0), b(2 ** 40, 3)]) {
      expect(compareBallots(BOTTOM, real)).toBe(-1);
      expect(compareBallots(real, BOTTOM)).toBe(1);
      expect(ballotGreater(real, BOTTOM)).toBe(true);
      expect(ballotGreater(BOTTOM, real)).toBe(false);
      expect(maxBallot(BOTTOM, real)).toBe(real);
    }
    expect(isBottom(BOTTOM)).toBe(true);
    expect(isBottom(b(1, 0))).toBe(false);
    expect(compareBallots(BOTTOM, BOTTOM)).toBe(0);
  });

  it('seed 001: rounds compare first — a higher round wins whatever the leader ids', () => {
    expect(compareBallots(b(2, 0), b(1, 9))).toBe(1);
    expect(compareBallots(b(1, 9), b(2, 0))).toBe(-1);
    expect(ballotGreater(b(3, 0), b(2, 200))).toBe(true);
  });

  it('seed 001: a tie on round is broken by the leader id, so no two leaders share a ballot', () => {
    expect(compareBallots(b(5, 1), b(5, 2))).toBe(-1);
    expect(compareBallots(b(5, 2), b(5, 1))).toBe(1);
    expect(ballotEquals(b(5, 1), b(5, 2))).toBe(false);
    expect(compareBallots(b(5, 2), b(5, 2))).toBe(0);
    expect(ballotEquals(b(5, 2), b(5, 2))).toBe(true);
    expect(maxBallot(b(5, 1), b(5, 2))).toEqual(b(5, 2));
  });

  it('seed 001: the order is total and antisymmetric (property)', () => {
    fc.assert(
      fc.property(ballotArb, ballotArb, (x, y) => {
        const xy = sign(compareBallots(x, y));
        const yx = sign(compareBallots(y, x));
        // Totality + antisymmetry: exactly one of x<y, x=y, x>y, and swapping flips it.
        expect(xy + yx).toBe(0);
        expect(xy === 0).toBe(ballotEquals(x, y));
        expect(ballotGreater(x, y)).toBe(xy > 0);
        // maxBallot returns one of its arguments, and it is >= both.
        const m = maxBallot(x, y);
        expect(m === x || m === y).toBe(true);
        expect(compareBallots(m, x)).toBeGreaterThanOrEqual(0);
        expect(compareBallots(m, y)).toBeGreaterThanOrEqual(0);
      }),
      { numRuns: 500 },
    );
  });

  it('seed 001: the order is transitive (property)', () => {
    fc.assert(
      fc.property(ballotArb, ballotArb, ballotArb, (x, y, z) => {
        if (compareBallots(x, y) <= 0 && compareBallots(y, z) <= 0) {
          expect(compareBallots(x, z)).toBeLessThanOrEqual(0);
        }
        if (compareBallots(x, y) < 0 && compareBallots(y, z) <= 0) {
          expect(compareBallots(x, z)).toBeLessThan(0);
        }
      }),
      { numRuns: 500 },
    );
  });

  it('seed 001: the order is lexicographic on (round, leader) (property)', () => {
    fc.assert(
      fc.property(ballotArb, ballotArb, (x, y) => {
        const lex = x.round !== y.round ? sign(x.round - y.round) : sign(x.leader - y.leader);
        expect(sign(compareBallots(x, y))).toBe(lex);
      }),
      { numRuns: 300 },
    );
  });
});

describe('seed 002/003: quorums — "any two majorities have at least one acceptor in common"', () => {
  it.each([
    { f: 0, n: 1, q: 1 },
    { f: 1, n: 3, q: 2 },
    { f: 2, n: 5, q: 3 },
    { f: 3, n: 7, q: 4 },
  ])('seed 002: crashQuorums($f) uses n = 2f+1 = $n servers and majorities of $q', ({ f, n, q }) => {
    const spec = crashQuorums(f);
    expect(spec).toEqual({ n, f, phase1: q, phase2: q });
    // A majority is exactly more than half.
    expect(2 * spec.phase1).toBeGreaterThan(n);
    expect(2 * (spec.phase1 - 1)).toBeLessThanOrEqual(n);
    // f crashes still leave a quorum alive.
    expect(n - f).toBeGreaterThanOrEqual(spec.phase1);
    expect(isPhase1Quorum(spec, q)).toBe(true);
    expect(isPhase1Quorum(spec, q - 1)).toBe(false);
    expect(isPhase2Quorum(spec, q)).toBe(true);
    expect(isPhase2Quorum(spec, q - 1)).toBe(false);
  });

  it('crashQuorums rejects a negative, fractional or absurd f', () => {
    expect(() => crashQuorums(-1)).toThrow(RangeError);
    expect(() => crashQuorums(1.5)).toThrow(RangeError);
    expect(() => crashQuorums(43)).toThrow(RangeError);
    expect(() => crashQuorums(Number.NaN)).toThrow(RangeError);
  });

  it('seed 001 (Flexible Paxos): flexibleQuorums accepts any phase1 + phase2 > n reachable with f failures', () => {
    expect(flexibleQuorums(4, 1, 3, 2)).toEqual({ n: 4, f: 1, phase1: 3, phase2: 2 });
    expect(flexibleQuorums(5, 1, 4, 2)).toEqual({ n: 5, f: 1, phase1: 4, phase2: 2 });
    expect(flexibleQuorums(5, 2, 3, 3)).toEqual({ n: 5, f: 2, phase1: 3, phase2: 3 });
  });

  it('seed 001 (Flexible Paxos): flexibleQuorums rejects sizes whose quorums need not intersect (phase1 + phase2 <= n)', () => {
    expect(() => flexibleQuorums(4, 1, 2, 2)).toThrow(RangeError);
    expect(() => flexibleQuorums(5, 1, 2, 3)).toThrow(RangeError);
    expect(() => flexibleQuorums(3, 1, 1, 2)).toThrow(RangeError);
    expect(() => flexibleQuorums(7, 0, 1, 6)).toThrow(RangeError);
  });

  it('seed 002: flexibleQuorums rejects quorum sizes unreachable once f nodes have failed', () => {
    // n=5, f=2: only 3 survive, so a quorum of 4 can never form.
    expect(() => flexibleQuorums(5, 2, 4, 2)).toThrow(RangeError);
    expect(() => flexibleQuorums(5, 2, 2, 4)).toThrow(RangeError);
    // n=3, f=1: full-cluster phase-2 quorums stall after one crash.
    expect(() => flexibleQuorums(3, 1, 1, 3)).toThrow(RangeError);
  });

  it('flexibleQuorums rejects a non-positive or fractional n', () => {
    expect(() => flexibleQuorums(0, 0, 1, 1)).toThrow(RangeError);
    expect(() => flexibleQuorums(2.5, 0, 2, 2)).toThrow(RangeError);
  });

  it('seed 002: every two majorities of n <= 7 acceptors intersect (exhaustive)', () => {
    for (let n = 1; n <= 7; n++) {
      const q = Math.floor(n / 2) + 1;
      if (n % 2 === 1) expect(crashQuorums((n - 1) / 2).phase1).toBe(q);
      const majorities: number[] = [];
      for (let set = 0; set < 1 << n; set++) if (popcount(set) >= q) majorities.push(set);
      expect(majorities.length).toBeGreaterThan(0);
      for (const a of majorities) for (const c of majorities) expect(a & c).not.toBe(0);
      // The bound is tight: two disjoint sets of q-1 nodes exist, so a minority does not suffice.
      const first = (1 << (q - 1)) - 1;
      const second = first << (q - 1);
      expect(second < 1 << n).toBe(true);
      expect(first & second).toBe(0);
    }
  });

  it('seed 001 (Flexible Paxos): every phase-1 quorum meets every phase-2 quorum for each accepted spec, n <= 6 (exhaustive)', () => {
    let specs = 0;
    for (let n = 1; n <= 6; n++) {
      for (let f = 0; f < n; f++) {
        for (let p1 = 1; p1 <= n; p1++) {
          for (let p2 = 1; p2 <= n; p2++) {
            let spec;
            try {
              spec = flexibleQuorums(n, f, p1, p2);
            } catch {
              // Rejected: must be because of non-intersection or unreachability.
              expect(p1 + p2 <= n || p1 > n - f || p2 > n - f).toBe(true);
              continue;
            }
            specs++;
            for (let a = 0; a < 1 << n; a++) {
              if (!isPhase1Quorum(spec, popcount(a))) continue;
              for (let c = 0; c < 1 << n; c++) {
                if (isPhase2Quorum(spec, popcount(c))) expect(a & c).not.toBe(0);
              }
            }
          }
        }
      }
    }
    expect(specs).toBeGreaterThan(20);
  });
});

function popcount(x: number): number {
  let c = 0;
  for (; x !== 0; x &= x - 1) c++;
  return c;
}

describe('members and faults per mode: n = 2f+1 in crash mode, 3f+1 in the Byzantine modes', () => {
  it.each([
    ['crash', 0, 1],
    ['crash', 1, 3],
    ['crash', 3, 7],
    ['byzantine', 1, 4],
    ['commit-reveal', 2, 7],
    ['byzantine', 5, 16],
  ] as const)('%s: f = %i goes with n = %i, both ways', (mode, f, n) => {
    expect(membersFor(mode, f)).toBe(n);
    expect(faultsFor(mode, n)).toBe(f);
    expect(fOf(mode, n)).toBe(f);
  });

  it.each([
    ['crash', 2],
    ['crash', 0],
    ['byzantine', 1],
    ['byzantine', 5],
    ['commit-reveal', 3],
    ['crash', Number.NaN],
  ] as const)('%s: n = %d fits no f', (mode, n) => {
    expect(faultsFor(mode, n)).toBeNull();
    expect(() => fOf(mode, n)).toThrow(RangeError);
  });
});
