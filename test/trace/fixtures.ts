// Messages and a member's run for the trace tests: real frames (encoded by the codec), signed
// envelopes whose signatures are never checked here.
import { encodeMessage } from '../../src/messages/codec.ts';
import type { Heartbeat, SignedEnvelope, Verify, WireMessage } from '../../src/messages/types.ts';
import type { MemberRun } from '../../src/trace/member-trace.ts';

export const RUN: MemberRun = { mode: 'byzantine', n: 4, f: 1, cluster: 'c0ffee', member: 1, adversary: null, startedMs: 1_000 };

export function heartbeat(round: number, decidedUpTo = 0): Heartbeat {
  return { type: 'heartbeat', ballot: { round, leader: 0 }, decidedUpTo };
}

/** A Verify in a signed envelope: the trace reads the type inside it; the signature is never checked here. */
export function signedVerify(slot: number, signer = 0): SignedEnvelope {
  const verify: Verify = { type: 'verify', ballot: { round: 1, leader: 0 }, slot, digest: new Uint8Array(32).fill(7) };
  return { type: 'signed', signer, payload: encodeMessage(verify), signature: new Uint8Array(64) };
}

export function frame(msg: WireMessage): Uint8Array {
  return encodeMessage(msg);
}
