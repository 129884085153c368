// Bit commitments (crypto/commitment.ts, seed 000 §6): a commitment opens only for the exact vote
// and key it was made with; anything else, or anything malformed, does not open it (and never throws).
import { describe, expect, it } from 'vitest';
import { commit, COMMITMENT_KEY_BYTES, opens, type CommittedVote } from '../../crypto/commitment.ts';
import { sha256 } from '../../crypto/digest.ts';

const text = (s: string) => new TextEncoder().encode(s);
const VOTE: CommittedVote = { clusterId: sha256(text('cluster A')), round: 3, leader: 2, slot: 17, digest: sha256(text('batch A')) };
const KEY = new Uint8Array(COMMITMENT_KEY_BYTES).fill(7);
const C = commit(VOTE, KEY);

describe('commitments', () => {
  it('open with the vote and key they were made with', () => {
    expect(C.length).toBe(32);
    expect(opens(C, VOTE, KEY)).toBe(true);
    expect(opens(C, { ...VOTE }, KEY.slice())).toBe(true);
  });

  it.each<[string, CommittedVote, Uint8Array]>([
    ['another key', VOTE, new Uint8Array(COMMITMENT_KEY_BYTES).fill(8)],
    ['another digest', { ...VOTE, digest: sha256(text('batch B')) }, KEY],
    ['another slot', { ...VOTE, slot: 18 }, KEY],
    ['another ballot round', { ...VOTE, round: 4 }, KEY],
    ['another ballot leader', { ...VOTE, leader: 1 }, KEY],
    ['another cluster', { ...VOTE, clusterId: sha256(text('cluster B')) }, KEY],
  ])('do not open with %s', (_name, vote, key) => {
    expect(opens(C, vote, key)).toBe(false);
  });

  it('a single flipped bit anywhere in the commitment or the key does not open', () => {
    for (let i = 0; i < 32 * 8; i++) {
      const c = C.slice();
      c[i >> 3]! ^= 1 << (i & 7);
      expect(opens(c, VOTE, KEY)).toBe(false);
      const k = KEY.slice();
      k[i >> 3]! ^= 1 << (i & 7);
      expect(opens(C, VOTE, k)).toBe(false);
    }
  });

  it('malformed inputs do not open and do not throw; commit refuses them with a clear error', () => {
    expect(opens(C.slice(0, 31), VOTE, KEY)).toBe(false);
    expect(opens(C, VOTE, KEY.slice(0, 31))).toBe(false);
    expect(opens(C, { ...VOTE, digest: new Uint8Array(31) }, KEY)).toBe(false);
    expect(() => commit(VOTE, new Uint8Array(16))).toThrow(/commitment key must be 32 bytes, got 16/);
    expect(() => commit({ ...VOTE, digest: new Uint8Array(5) }, KEY)).toThrow(/commitment digest must be 32 bytes, got 5/);
  });

  it('hide the vote behind the key: the same vote under two keys gives unrelated commitments', () => {
    const other = commit(VOTE, new Uint8Array(COMMITMENT_KEY_BYTES).fill(9));
    expect(other).not.toEqual(C);
    // About half the bits differ, as for independent hashes (a loose bound, not a statistical test).
    let differing = 0;
    for (let i = 0; i < 32; i++) for (let b = 0; b < 8; b++) if (((C[i]! ^ other[i]!) >> b) & 1) differing++;
    expect(differing).toBeGreaterThan(64);
    expect(differing).toBeLessThan(192);
  });
});
