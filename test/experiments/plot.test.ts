import { describe, expect, it } from 'vitest';
import { niceMax, renderSvg, type BarChart, type LineChart } from '../../src/experiments/plot.ts';

const marks = (svg: string) => svg.match(/class="mark"/g)?.length ?? 0;

describe('SVG plots', () => {
  const bar: BarChart = {
    kind: 'bar',
    title: 'ratio <per> adversary',
    xLabel: 'adversary',
    yLabel: 'throughput ratio',
    categories: ['silent', 'slow', 'reveal-mismatch'],
    series: [
      { name: 'byzantine', values: [0.5, 0.9, null] },
      { name: 'commit-reveal', values: [0.4, 0.8, 1] },
    ],
  };

  it('draws one bar per value and none where the series does not apply', () => {
    const svg = renderSvg(bar);
    expect(marks(svg)).toBe(5);
    expect(svg).toContain('class="x-label" x="311" y="408" text-anchor="middle">adversary</text>');
    expect(svg).toContain('>throughput ratio</text>');
    expect(svg).toContain('>reveal-mismatch</text>');
    expect(svg).toContain('>commit-reveal</text>');
  });

  it('escapes text, so a label cannot break the markup', () => {
    expect(renderSvg(bar)).toContain('ratio &lt;per&gt; adversary');
  });

  it('scales bars to the axis: the tallest value reaches the top of the nice maximum', () => {
    const svg = renderSvg({ ...bar, series: [{ name: 'a', values: [1, 0.5, 0.25] }] });
    const heights = [...svg.matchAll(/class="mark" x="[\d.]+" y="[\d.]+" width="[\d.]+" height="([\d.]+)"/g)].map((m) => Number(m[1]));
    expect(heights).toEqual([284, 142, 71]);
  });

  it('draws one point per row on a line chart, with a tick per x value', () => {
    const line: LineChart = {
      kind: 'line',
      title: 't',
      xLabel: 'cluster size n',
      yLabel: 'messages / slot',
      series: [
        { name: 'crash', points: [[3, 10], [5, 26], [7, 50]] },
        { name: 'byzantine', points: [[4, 31], [7, 97]] },
      ],
    };
    const svg = renderSvg(line);
    expect(marks(svg)).toBe(5);
    expect(svg.match(/<polyline/g)).toHaveLength(2);
    for (const n of [3, 4, 5, 7]) expect(svg).toContain(`text-anchor="middle">${n}</text>`);
    expect(svg).toContain('>cluster size n</text>');
  });

  it('rounds the axis up to 1, 2 or 5 times a power of ten', () => {
    expect([niceMax(0), niceMax(0.8), niceMax(1), niceMax(3.2), niceMax(17), niceMax(51_000)]).toEqual([1, 1, 1, 5, 20, 100_000]);
  });
});
