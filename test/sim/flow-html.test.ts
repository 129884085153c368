// The flow diagram's page without a browser (flow-html.browser.test.ts draws it): self-contained,
// the run embedded so that JSON.parse gives it back, whatever its messages' text holds.
import { describe, expect, it } from 'vitest';
import { adversaryNamed } from '../../src/adversary/strategies.ts';
import { renderFlowHtml, scriptSafeJson } from '../../src/sim/flow-html.ts';
import { simulate } from '../../src/sim/simulator.ts';
import type { FlowTrace } from '../../src/trace/flow-trace.ts';

const flow = simulate({ mode: 'byzantine', seed: 1, f: 1, commands: 5, flow: true, byzantine: { strategies: [adversaryNamed('equivocating-leader')!], nodes: [0] } }).flow!;

function embedded(html: string): unknown {
  const match = /<script type="application\/json" id="flow-data">([^<]*)<\/script>/.exec(html);
  expect(match).not.toBeNull();
  return JSON.parse(match![1]!);
}

describe('flow diagram page', () => {
  it('embeds the whole trace, and links nothing outside the file', () => {
    const html = renderFlowHtml(flow);
    expect(html.startsWith('<!doctype html>')).toBe(true);
    expect(embedded(html)).toEqual(JSON.parse(JSON.stringify(flow)));
    expect(html).not.toMatch(/<script[^>]+src=|<link |https?:\/\/(?!www\.w3\.org\/2000\/svg)/);
    for (const id of ['slot-min', 'slot-max', 't-min', 't-max', 'zoom-in', 'zoom-out', 'fit', 'legend', 'flow', 'detail']) expect(html).toContain(`id="${id}"`);
    expect(html).toContain('<title>byzpaxos byzantine n=4 f=1 seed 1</title>');
  });

  it('text that would end the script element or the page stays inside the data', () => {
    const hostile = '</script><script>alert(1)</script><!-- & \u2028';
    const trace: FlowTrace = { ...flow, mode: hostile, messages: [{ ...flow.messages[0]!, text: hostile }] };
    const html = renderFlowHtml(trace);
    expect(html).not.toContain('<script>alert');
    expect(html.match(/<\/script>/g)).toHaveLength(2);
    expect((embedded(html) as FlowTrace).messages[0]!.text).toBe(hostile);
    expect(JSON.parse(scriptSafeJson(hostile))).toBe(hostile);
  });
});
