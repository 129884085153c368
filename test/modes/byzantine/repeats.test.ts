// Repeats (src/modes/byzantine/repeats.ts): evidence queries and passed-on promises go out again
// after 1, 2, 4, … periods up to the cap, stop when told, and stay bounded.
import { describe, expect, it } from 'vitest';
import { Repeats } from '../../../src/modes/byzantine/repeats.ts';

/** The periods (1-based) at which `key`'s value was due, over `periods` calls to due(). */
function schedule(r: Repeats<string>, periods: number): number[] {
  const at: number[] = [];
  for (let p = 1; p <= periods; p++) if (r.due().includes('x')) at.push(p);
  return at;
}

describe('Repeats', () => {
  it('repeats on a doubling schedule up to gapMax, then never again', () => {
    const r = new Repeats<string>(8, 8);
    expect(r.add('k', 'x')).toBe(true);
    expect(schedule(r, 100)).toEqual([1, 3, 7, 15]);
  });

  it('adds a key once; stop ends its repeats but it stays known', () => {
    const r = new Repeats<string>(8, 64);
    r.add('k', 'x');
    expect(r.add('k', 'y')).toBe(false);
    expect(r.due()).toEqual(['x']);
    r.stop('k');
    expect(schedule(r, 200)).toEqual([]);
    expect(r.add('k', 'x')).toBe(false);
  });

  it('forgets the oldest key beyond capacity', () => {
    const r = new Repeats<string>(2, 64);
    r.add('a', 'x');
    r.add('b', 'y');
    r.add('c', 'z');
    expect(r.due().sort()).toEqual(['y', 'z']);
    expect(r.add('a', 'x')).toBe(true);
  });

  it('refuses nonsensical bounds', () => {
    expect(() => new Repeats(0, 4)).toThrow(/capacity must be a positive integer, got 0/);
    expect(() => new Repeats(4, 0)).toThrow(/gapMax must be a positive integer, got 0/);
  });
});
