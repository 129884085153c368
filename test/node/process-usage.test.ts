// What bench --processes reads from outside a member: /proc CPU and RSS, and its metrics text.
import { describe, expect, it } from 'vitest';
import { metricSum } from '../../src/node/process-member.ts';
import { procUsage } from '../../src/node/proc-usage.ts';

describe('procUsage', () => {
  it('reads CPU time and RSS of a live process, and grows with work', () => {
    const before = procUsage(process.pid);
    expect(before).not.toBeNull();
    expect(before!.rssBytes).toBeGreaterThan(1 << 20);
    let x = 0;
    for (const start = Date.now(); Date.now() - start < 100; ) x += Math.sqrt(x + 1);
    expect(x).toBeGreaterThan(0);
    expect(procUsage(process.pid)!.cpuMs).toBeGreaterThan(before!.cpuMs);
  });

  it('is null for a process that does not exist', () => {
    expect(procUsage(2 ** 30)).toBeNull();
  });
});

describe('metricSum', () => {
  const text = [
    '# HELP byzpaxos_decisions_total Slots this node decided.',
    '# TYPE byzpaxos_decisions_total counter',
    'byzpaxos_decisions_total 12',
    'byzpaxos_decisions_total_other 99',
    'byzpaxos_messages_out_total{type="accept"} 5',
    'byzpaxos_messages_out_total{type="accepted"} 7',
  ].join('\n');

  it('sums every series of one metric, and only that metric', () => {
    expect(metricSum(text, 'byzpaxos_decisions_total')).toBe(12);
    expect(metricSum(text, 'byzpaxos_messages_out_total')).toBe(12);
    expect(metricSum(text, 'byzpaxos_view_changes_total')).toBe(0);
  });
});
