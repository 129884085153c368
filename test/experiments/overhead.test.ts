// The overhead experiment's crash-mode systems: flexible quorums and Cheap Paxos rows, and what
// reaches the auxiliaries (nothing without faults, Accepts once a main member is down).
import { describe, expect, it } from 'vitest';
import { runOverhead, type OverheadRow } from '../../src/experiments/overhead.ts';

describe('experiment overhead: flexible quorums and Cheap Paxos', () => {
  const first = runOverhead({ fs: [1], commands: 30 });
  const find = (mode: string, variant: string): OverheadRow => first.rows.find((r) => r.mode === mode && r.variant === variant)!;

  it('has a row per system: standard per mode, flexible q1=4 q2=2 and q1=2 q2=4 of 5, cheap and cheap with a main down', () => {
    expect(first.rows.map((r) => `${r.mode} ${r.variant} n=${r.n}`)).toEqual([
      'crash standard n=3',
      'crash flexible q1=4 q2=2 n=5',
      'crash flexible q1=2 q2=4 n=5',
      'crash cheap n=3',
      'crash cheap, a main down n=3',
      'byzantine standard n=4',
      'commit-reveal standard n=4',
    ]);
  });

  it('Cheap Paxos: auxiliaries receive nothing without faults, and the Accepts once a main member is down', () => {
    expect(find('crash', 'cheap').toAuxiliaryMessagesPerDecision).toBe(0);
    expect(find('crash', 'cheap').messagesPerDecision).toBeLessThan(find('crash', 'standard').messagesPerDecision);
    expect(find('crash', 'cheap, a main down').toAuxiliaryMessagesPerDecision).toBe(1);
    expect(find('crash', 'cheap, a main down').messagesByType.accept).toBe(2);
  });

  it('flexible quorums change when a slot is decided, not what is sent', () => {
    const [small, large] = [find('crash', 'flexible q1=4 q2=2'), find('crash', 'flexible q1=2 q2=4')];
    expect(small.messagesPerDecision).toBe(large.messagesPerDecision);
    expect(small.delaysToDecide).toBeLessThan(large.delaysToDecide);
  });

  it('re-running gives the same rows', () => {
    expect(JSON.stringify(runOverhead({ fs: [1], commands: 30 }).rows)).toBe(JSON.stringify(first.rows));
  });
});
