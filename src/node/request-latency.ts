// When each client request arrived at this member, so that its decision and its reply can be
// timed (the latency histograms). Keyed by (client, session, seq): a resend keeps the first
// arrival. Bounded: past REQUESTS_TIMED_MAX the oldest is forgotten (its reply goes untimed), so
// clients that never wait for their replies cannot grow it.
import type { Command } from '../base/types.ts';
import type { ClientReply } from '../messages/types.ts';

/** Most requests timed at once. */
export const REQUESTS_TIMED_MAX = 4096;

const MS_PER_SECOND = 1000;

function keyOf(clientId: number, session: number, seq: number): string {
  return `${clientId}:${session}:${seq}`;
}

export class RequestLatency {
  /** Arrival, ms on the caller's clock, in insertion order. */
  private readonly arrivedAtMs = new Map<string, number>();

  arrived(command: Command, nowMs: number): void {
    const key = keyOf(command.clientId, command.session, command.seq);
    if (this.arrivedAtMs.has(key)) return;
    if (this.arrivedAtMs.size >= REQUESTS_TIMED_MAX) this.arrivedAtMs.delete(this.arrivedAtMs.keys().next().value!);
    this.arrivedAtMs.set(key, nowMs);
  }

  /** Seconds since `command` arrived, or null if it did not arrive here (or was forgotten). */
  decided(command: Command, nowMs: number): number | null {
    const at = this.arrivedAtMs.get(keyOf(command.clientId, command.session, command.seq));
    return at === undefined ? null : (nowMs - at) / MS_PER_SECOND;
  }

  /** Seconds since the request `reply` answers arrived, for a reply with a result; forgets the request. */
  replied(reply: ClientReply, nowMs: number): number | null {
    if (reply.status !== 'ok') return null;
    const key = keyOf(reply.clientId, reply.session, reply.seq);
    const at = this.arrivedAtMs.get(key);
    if (at === undefined) return null;
    this.arrivedAtMs.delete(key);
    return (nowMs - at) / MS_PER_SECOND;
  }
}
