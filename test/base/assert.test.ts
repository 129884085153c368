// Invariants stay asserted in the running code: a state the protocol must never reach stops the
// node with an InvariantError naming the invariant, however it was reached (here: a store written
// by a buggy or older build, handed to the constructor as if it were sound).
import { describe, expect, it } from 'vitest';
import { assert, InvariantError } from '../../src/base/assert.ts';
import type { Ballot, Batch } from '../../src/base/types.ts';
import { Acceptor } from '../../src/core/acceptor.ts';

const b = (round: number, leader: number): Ballot => ({ round, leader });
const noop: Batch = { commands: [] };

describe('assert', () => {
  it('passes when the invariant holds and throws an InvariantError naming it when not', () => {
    expect(() => assert(true, 'x')).not.toThrow();
    expect(() => assert(false, 'a slot is decided once')).toThrow(new InvariantError('invariant broken: a slot is decided once'));
  });

  it('stops an acceptor whose state says it accepted above its promise, rather than accept below it', () => {
    const unsound = new Acceptor(b(2, 0), new Map([[0, { ballot: b(3, 0), slot: 0, batch: noop }]]));
    expect(() => unsound.onAccept({ type: 'accept', ballot: b(2, 0), slot: 0, batch: noop, decidedUpTo: 0 })).toThrow(InvariantError);
  });

  it('lets a sound acceptor accept at its promise', () => {
    const sound = new Acceptor(b(2, 0), new Map([[0, { ballot: b(1, 0), slot: 0, batch: noop }]]));
    expect(sound.onAccept({ type: 'accept', ballot: b(2, 0), slot: 0, batch: noop, decidedUpTo: 0 }).ok).toBe(true);
  });
});
