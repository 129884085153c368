// An idle leader heartbeats less often (src/modes/byzantine/leader.ts, IDLE_HEARTBEAT_PERIODS):
// every retransmit period while it has work or its log advances, then once every
// IDLE_HEARTBEAT_PERIODS periods; a new command brings the full rate back at once.
import { describe, expect, it } from 'vitest';
import { IDLE_HEARTBEAT_PERIODS } from '../../../src/base/limits.ts';
import { command, makeFixture, Net, sentOfType } from './fixtures.ts';

const fx = makeFixture(1);

/** Over `periods` retransmit periods of the leader n0, the 1-based periods in which it sent a heartbeat. */
function heartbeatPeriods(net: Net, periods: number): number[] {
  const at: number[] = [];
  for (let p = 1; p <= periods; p++) {
    if (sentOfType(fx, net.fire(0, 'retransmit'), 'heartbeat').length > 0) at.push(p);
    net.deliverAll();
  }
  return at;
}

describe('idle heartbeats', () => {
  it(`every period while the log advances; then every ${IDLE_HEARTBEAT_PERIODS}th`, () => {
    const net = new Net(fx);
    net.request(0, command(fx, 1, 1, { type: 'put', key: 'k', value: 'v' }));
    net.deliverAll();
    expect(net.nodes[0]!.decidedUpTo).toBe(1);
    const periods = 4 * IDLE_HEARTBEAT_PERIODS;
    const at = heartbeatPeriods(net, periods);
    // The first period sees the advanced log; IDLE_HEARTBEAT_PERIODS quiet ones follow at the full rate.
    const full = Array.from({ length: IDLE_HEARTBEAT_PERIODS }, (_, i) => i + 1);
    const sparse = [2, 3].map((k) => k * IDLE_HEARTBEAT_PERIODS + 1);
    expect(at).toEqual([...full, IDLE_HEARTBEAT_PERIODS + 1, ...sparse]);
  });

  it('a queued command brings the full rate back', () => {
    const net = new Net(fx);
    heartbeatPeriods(net, 3 * IDLE_HEARTBEAT_PERIODS);
    // Cut the leader off so its Accept stays in flight: it has work, so it heartbeats every period.
    net.isolate(0);
    net.request(0, command(fx, 1, 1, { type: 'put', key: 'k', value: 'v' }));
    expect(heartbeatPeriods(net, 3)).toEqual([1, 2, 3]);
  });
});
