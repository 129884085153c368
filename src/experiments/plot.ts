// Headless SVG plots for experiment results: grouped bars and lines. A small writer of our own
// rather than a plotting library: it is a pure function of its rows (fixed decimals, no fonts
// measured, no dates), so the same rows always give the same bytes. Each data point is one
// element with class "mark", which the tests count.

export interface BarChart {
  readonly kind: 'bar';
  readonly title: string;
  readonly xLabel: string;
  readonly yLabel: string;
  /** One group of bars per category, one bar per series in each group. */
  readonly categories: readonly string[];
  /** values[i] belongs to categories[i]; null draws no bar (the series does not apply there). */
  readonly series: readonly { readonly name: string; readonly values: readonly (number | null)[] }[];
}

export interface LineChart {
  readonly kind: 'line';
  readonly title: string;
  readonly xLabel: string;
  readonly yLabel: string;
  readonly series: readonly { readonly name: string; readonly points: readonly (readonly [number, number])[] }[];
}

export type Chart = BarChart | LineChart;

/**
 * The bars of rows measured per mode: one group per category (in the order rows first show it),
 * one bar per mode in each, none where no row has that mode and category.
 */
export function barsPerMode<R extends { readonly mode: string }>(rows: readonly R[], modes: readonly string[], category: (r: R) => string, value: (r: R) => number): Pick<BarChart, 'categories' | 'series'> {
  const categories = [...new Set(rows.map(category))];
  const values = (mode: string) => categories.map((c) => {
    const r = rows.find((x) => x.mode === mode && category(x) === c);
    return r === undefined ? null : value(r);
  });
  return { categories, series: modes.map((mode) => ({ name: mode, values: values(mode) })) };
}

/** One line per mode through its rows' points, in row order. */
export function linesPerMode<R extends { readonly mode: string }>(rows: readonly R[], modes: readonly string[], point: (r: R) => [number, number]): LineChart['series'] {
  return modes.map((mode) => ({ name: mode, points: rows.filter((r) => r.mode === mode).map(point) }));
}

const WIDTH = 720;
const HEIGHT = 420;
const MARGIN = { left: 72, right: 170, top: 40, bottom: 96 } as const;
const TICKS = 5;
/** Colour-blind-safe palette (Okabe-Ito); series beyond it reuse colours. */
const COLOURS = ['#0072B2', '#E69F00', '#009E73', '#D55E00', '#CC79A7', '#56B4E9', '#F0E442', '#000000'] as const;

export function renderSvg(chart: Chart): string {
  const plot = { x: MARGIN.left, y: MARGIN.top, w: WIDTH - MARGIN.left - MARGIN.right, h: HEIGHT - MARGIN.top - MARGIN.bottom };
  const values = chart.kind === 'bar' ? chart.series.flatMap((s) => s.values.filter((v): v is number => v !== null)) : chart.series.flatMap((s) => s.points.map((p) => p[1]));
  const yMax = niceMax(Math.max(0, ...values));
  const yOf = (v: number) => plot.y + plot.h - (v / yMax) * plot.h;
  const body = chart.kind === 'bar' ? bars(chart, plot, yOf) : lines(chart, plot, yOf);
  const names = chart.series.map((s) => s.name);
  return [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${WIDTH}" height="${HEIGHT}" viewBox="0 0 ${WIDTH} ${HEIGHT}" font-family="sans-serif" font-size="12">`,
    `<rect width="${WIDTH}" height="${HEIGHT}" fill="#ffffff"/>`,
    `<text class="title" x="${WIDTH / 2}" y="22" text-anchor="middle" font-size="15">${escape(chart.title)}</text>`,
    ...yAxis(plot, yMax, yOf),
    ...body,
    `<line x1="${plot.x}" y1="${plot.y + plot.h}" x2="${plot.x + plot.w}" y2="${plot.y + plot.h}" stroke="#000"/>`,
    `<text class="x-label" x="${fixed(plot.x + plot.w / 2)}" y="${HEIGHT - 12}" text-anchor="middle">${escape(chart.xLabel)}</text>`,
    `<text class="y-label" transform="translate(16 ${fixed(plot.y + plot.h / 2)}) rotate(-90)" text-anchor="middle">${escape(chart.yLabel)}</text>`,
    ...names.map((name, i) => {
      const y = plot.y + 8 + i * 18;
      const x = plot.x + plot.w + 16;
      return `<rect x="${x}" y="${y - 9}" width="12" height="12" fill="${colour(i)}"/><text class="legend" x="${x + 18}" y="${y + 1}">${escape(name)}</text>`;
    }),
    '</svg>',
    '',
  ].join('\n');
}

type Frame = { readonly x: number; readonly y: number; readonly w: number; readonly h: number };

function bars(chart: BarChart, plot: Frame, yOf: (v: number) => number): string[] {
  const groupW = plot.w / Math.max(1, chart.categories.length);
  const barW = (groupW * 0.8) / Math.max(1, chart.series.length);
  const out: string[] = [];
  chart.categories.forEach((category, c) => {
    const left = plot.x + c * groupW + groupW * 0.1;
    chart.series.forEach((s, i) => {
      const v = s.values[c];
      if (v === null || v === undefined) return;
      const top = yOf(v);
      out.push(`<rect class="mark" x="${fixed(left + i * barW)}" y="${fixed(top)}" width="${fixed(barW)}" height="${fixed(plot.y + plot.h - top)}" fill="${colour(i)}"><title>${escape(`${s.name} ${category}: ${v}`)}</title></rect>`);
    });
    // Category names slanted, so long adversary names fit under narrow groups.
    const cx = fixed(plot.x + (c + 0.5) * groupW);
    out.push(`<text class="tick" transform="translate(${cx} ${plot.y + plot.h + 14}) rotate(-35)" text-anchor="end">${escape(category)}</text>`);
  });
  return out;
}

function lines(chart: LineChart, plot: Frame, yOf: (v: number) => number): string[] {
  const xs = chart.series.flatMap((s) => s.points.map((p) => p[0]));
  const xMin = Math.min(...xs);
  const xMax = Math.max(...xs);
  const xOf = (v: number) => plot.x + (xMax === xMin ? plot.w / 2 : ((v - xMin) / (xMax - xMin)) * plot.w);
  const out: string[] = [];
  for (const x of [...new Set(xs)].sort((a, b) => a - b)) {
    out.push(`<text class="tick" x="${fixed(xOf(x))}" y="${plot.y + plot.h + 16}" text-anchor="middle">${formatTick(x)}</text>`);
  }
  chart.series.forEach((s, i) => {
    const path = s.points.map((p) => `${fixed(xOf(p[0]))},${fixed(yOf(p[1]))}`).join(' ');
    out.push(`<polyline points="${path}" fill="none" stroke="${colour(i)}" stroke-width="2"/>`);
    for (const [x, y] of s.points) {
      out.push(`<circle class="mark" cx="${fixed(xOf(x))}" cy="${fixed(yOf(y))}" r="3.5" fill="${colour(i)}"><title>${escape(`${s.name} (${x}, ${y})`)}</title></circle>`);
    }
  });
  return out;
}

function yAxis(plot: Frame, yMax: number, yOf: (v: number) => number): string[] {
  const out = [`<line x1="${plot.x}" y1="${plot.y}" x2="${plot.x}" y2="${plot.y + plot.h}" stroke="#000"/>`];
  for (let i = 0; i <= TICKS; i++) {
    const v = (yMax * i) / TICKS;
    const y = fixed(yOf(v));
    out.push(`<line x1="${plot.x}" y1="${y}" x2="${plot.x + plot.w}" y2="${y}" stroke="#ddd"/>`);
    out.push(`<text class="tick" x="${plot.x - 6}" y="${y}" text-anchor="end" dominant-baseline="middle">${formatTick(v)}</text>`);
  }
  return out;
}

/** The smallest 1, 2 or 5 times a power of ten at or above max (1 for an all-zero chart). */
export function niceMax(max: number): number {
  if (!(max > 0)) return 1;
  const power = 10 ** Math.floor(Math.log10(max));
  for (const step of [1, 2, 5, 10]) if (step * power >= max) return step * power;
  return 10 * power;
}

function formatTick(v: number): string {
  return Number.isInteger(v) ? String(v) : String(Number(v.toPrecision(3)));
}

function fixed(v: number): string {
  return String(Math.round(v * 100) / 100);
}

function colour(i: number): string {
  return COLOURS[i % COLOURS.length]!;
}

function escape(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
}
