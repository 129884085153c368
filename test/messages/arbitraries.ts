// fast-check arbitraries shared by the wire-codec and the storage-record tests.
import fc from 'fast-check';
import { CLIENT_ID_MAX, NODE_ID_MAX } from '../../src/base/limits.ts';
import type { Command } from '../../src/base/types.ts';
import type { SignedEnvelope } from '../../src/messages/types.ts';

/** fast-check builds null-prototype records by default; messages are plain objects. */
export function rec<T>(model: { [K in keyof T]: fc.Arbitrary<T[K]> }): fc.Arbitrary<T> {
  return fc.record(model, { noNullPrototype: true });
}

/** Integers in [min, max], biased towards small values and the bounds. */
export function natIn(min: number, max: number): fc.Arbitrary<number> {
  return fc.oneof(
    fc.integer({ min, max: Math.min(max, min + 300) }),
    fc.constantFrom(min, max, Math.min(max, min + 127), Math.min(max, min + 128)),
    fc.bigInt({ min: BigInt(min), max: BigInt(max) }).map(Number),
  );
}

export const commandArb: fc.Arbitrary<Command> = rec({
  clientId: natIn(0, CLIENT_ID_MAX),
  session: natIn(0, Number.MAX_SAFE_INTEGER),
  seq: natIn(0, Number.MAX_SAFE_INTEGER),
  op: fc.uint8Array({ maxLength: 48 }),
  signature: fc.oneof(fc.constant(new Uint8Array(0)), fc.uint8Array({ minLength: 64, maxLength: 64 })),
});

export const digestArb = fc.uint8Array({ minLength: 32, maxLength: 32 });

export const envelopeArb: fc.Arbitrary<SignedEnvelope> = rec({
  type: fc.constant('signed' as const),
  signer: natIn(0, NODE_ID_MAX),
  payload: fc.uint8Array({ maxLength: 64 }),
  signature: fc.uint8Array({ minLength: 64, maxLength: 64 }),
});
