// The core's only source of randomness (election timeouts, backoff) must be reproducible.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { SeededRng } from '../../src/core/rng.ts';

const draw = (rng: SeededRng, k: number): number[] => Array.from({ length: k }, () => rng.nextU32());

describe('SeededRng', () => {
  it('the same seed and stream give the same sequence', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 2 ** 32 - 1 }), fc.integer({ min: 0, max: 1000 }), (seed, stream) => {
        expect(draw(new SeededRng(seed, stream), 16)).toEqual(draw(new SeededRng(seed, stream), 16));
      }),
      { numRuns: 100 },
    );
  });

  it('different streams of one seed give different sequences', () => {
    for (const seed of [0, 1, 42, 0xdeadbeef]) {
      const seen = new Set<string>();
      for (let stream = 0; stream < 32; stream++) seen.add(draw(new SeededRng(seed, stream), 4).join(','));
      expect(seen.size).toBe(32);
    }
  });

  it('different seeds give different sequences', () => {
    const seen = new Set<string>();
    for (let seed = 0; seed < 64; seed++) seen.add(draw(new SeededRng(seed), 4).join(','));
    expect(seen.size).toBe(64);
  });

  it('the default stream is stream 0', () => {
    expect(draw(new SeededRng(9), 8)).toEqual(draw(new SeededRng(9, 0), 8));
  });

  it('next() is in [0, 1) and nextU32() is a uint32', () => {
    const rng = new SeededRng(3, 1);
    for (let i = 0; i < 2000; i++) {
      const u = rng.nextU32();
      expect(Number.isInteger(u) && u >= 0 && u < 2 ** 32).toBe(true);
      const x = rng.next();
      expect(x >= 0 && x < 1).toBe(true);
    }
  });

  it('int(bound) stays in [0, bound) and hits every value of a small range', () => {
    fc.assert(
      fc.property(fc.integer(), fc.integer({ min: 1, max: 2 ** 31 }), (seed, bound) => {
        const rng = new SeededRng(seed);
        for (let i = 0; i < 20; i++) {
          const v = rng.int(bound);
          expect(Number.isInteger(v) && v >= 0 && v < bound).toBe(true);
        }
      }),
      { numRuns: 200 },
    );
    const rng = new SeededRng(5);
    const hits = new Set<number>();
    for (let i = 0; i < 500; i++) hits.add(rng.int(7));
    expect([...hits].sort()).toEqual([0, 1, 2, 3, 4, 5, 6]);
    expect(new SeededRng(5).int(1)).toBe(0);
  });

  it('int(bound) is roughly uniform (chi-square, 10 buckets)', () => {
    const rng = new SeededRng(2024, 7);
    const buckets = new Array<number>(10).fill(0);
    const draws = 20_000;
    for (let i = 0; i < draws; i++) buckets[rng.int(10)]!++;
    const expected = draws / 10;
    const chi2 = buckets.reduce((acc, o) => acc + (o - expected) ** 2 / expected, 0);
    // 9 degrees of freedom: P(chi2 > 27.9) ≈ 0.001.
    expect(chi2).toBeLessThan(27.9);
  });

  it.each([0, -1, 1.5, Number.NaN, Number.POSITIVE_INFINITY])('int(%s) is rejected with a RangeError', (bound) => {
    expect(() => new SeededRng(1).int(bound)).toThrow(RangeError);
  });
});
