// The message-flow diagram of one run (`sim --html`): a self-contained page, the run's flow trace
// (trace-json.ts) embedded as JSON and drawn by inline script into SVG: one lane per node, time to
// the right. Only messages that pass the filters and fall in the visible time window are drawn,
// at most ARROWS_DRAWN_MAX, so a run of thousands of messages stays usable; a slot range zooms
// to the time its messages span.
import type { FlowTrace } from '../trace/flow-trace.ts';

/** More arrows than this and the page asks for a narrower window or filter instead of drawing them. */
export const ARROWS_DRAWN_MAX = 4000;

/**
 * JSON that is safe inside a <script> element: no '<' (so no '</script>' or '<!--'), no '>' or '&',
 * and no line separators; each becomes its \\u escape, which JSON.parse reads back unchanged.
 */
export function scriptSafeJson(value: unknown): string {
  return JSON.stringify(value).replace(/[<>&\u2028\u2029]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
}

function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

/** A simulated run by its seed; a deployed one by its cluster and when its time 0 was (UTC). */
function titleOf(trace: FlowTrace): string {
  const run = `byzpaxos ${trace.mode} n=${trace.n} f=${trace.f}`;
  if (trace.source === 'sim') return `${run} seed ${trace.seed}`;
  return `${run} deployed, cluster ${trace.cluster!.slice(0, 12)}…, 0 ms = ${new Date(trace.epochMs!).toISOString()}`;
}

export function renderFlowHtml(trace: FlowTrace): string {
  const title = escapeHtml(titleOf(trace));
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>${title}</title>
<style>${STYLE}</style>
</head>
<body>
<header>
  <h1>${title}</h1>
  <div id="controls">
    <label>slots <input id="slot-min" type="number" min="0" placeholder="from"> – <input id="slot-max" type="number" min="0" placeholder="to"></label>
    <label>time <input id="t-min" type="number" step="any"> – <input id="t-max" type="number" step="any"> ms</label>
    <button id="zoom-in" type="button">zoom in</button>
    <button id="zoom-out" type="button">zoom out</button>
    <button id="fit" type="button">whole run</button>
    <span id="status"></span>
  </div>
  <div id="legend"></div>
</header>
<main><svg id="flow" xmlns="http://www.w3.org/2000/svg"></svg></main>
<aside id="detail" hidden></aside>
<script type="application/json" id="flow-data">${scriptSafeJson(trace)}</script>
<script>const ARROWS_DRAWN_MAX = ${ARROWS_DRAWN_MAX};
${SCRIPT}</script>
</body>
</html>
`;
}

const STYLE = `
body { font: 13px system-ui, sans-serif; margin: 0; color: #222; }
header { padding: 6px 10px; border-bottom: 1px solid #ccc; position: sticky; top: 0; background: #fff; }
h1 { font-size: 15px; margin: 0 0 4px; }
#controls input { width: 6em; }
#controls label { margin-right: 10px; }
#status { margin-left: 10px; color: #555; }
#legend { margin-top: 4px; }
#legend label { display: inline-block; margin-right: 8px; white-space: nowrap; }
#legend i { display: inline-block; width: 14px; height: 4px; vertical-align: middle; margin: 0 3px; }
svg { display: block; }
.lane-label { font-weight: 600; }
.byzantine .lane-label { fill: #b00; }
.lane-band { fill: #f7f7f7; }
.byzantine .lane-band { fill: #fde8e8; }
.culprit .lane-band { stroke: #b00; stroke-width: 2; }
.arrow { stroke-width: 1.2; }
.arrow:hover { stroke-width: 3; }
.partition { fill: #f4c542; opacity: .18; }
.down { fill: #999; opacity: .25; }
.evidence { cursor: pointer; fill: #d00; stroke: #000; }
#detail { position: fixed; right: 10px; bottom: 10px; max-width: 60%; max-height: 50vh; overflow: auto; background: #fff; border: 2px solid #d00; padding: 8px 12px; box-shadow: 0 2px 8px #0004; }
#detail pre { white-space: pre-wrap; margin: 4px 0; padding: 4px; background: #f4f4f4; }
`;

// Plain script, no template literals: it sits inside a TypeScript template string.
const SCRIPT = String.raw`
'use strict';
const trace = JSON.parse(document.getElementById('flow-data').textContent);
const SVG = 'http://www.w3.org/2000/svg';
const LANE_PX = 56, TOP_PX = 28, LEFT_PX = 150, RIGHT_PX = 20;
const COLOURS = { request: '#1f77b4', reply: '#17becf', prepare: '#8c564b', promise: '#bcbd22', 'certified-promise': '#bcbd22',
  'new-ballot': '#9467bd', accept: '#2ca02c', verify: '#ff7f0e', accepted: '#d62728', commitment: '#e377c2', reveal: '#7f7f7f',
  bundle: '#393b79', heartbeat: '#c7c7c7', nack: '#000000', suspect: '#ad494a', checkpoint: '#637939' };
const SPARE = ['#843c39', '#5254a3', '#8ca252', '#bd9e39', '#a55194', '#6b6ecf', '#e7969c', '#7b4173'];
const types = [...new Set(trace.messages.map(m => m.type))].sort();
const colour = {};
types.forEach((t, i) => { colour[t] = COLOURS[t] || SPARE[i % SPARE.length]; });
const shown = new Set(types);
const lanes = trace.nodes.map(n => ({ id: n.id, label: 'n' + n.id + (n.byzantine ? ' (' + n.byzantine + ')' : ''), byzantine: n.byzantine !== null }));
lanes.push({ id: -1, label: 'clients', byzantine: false });
const laneIndex = new Map(lanes.map((l, i) => [l.id, i]));
const culprits = new Set(trace.evidence.map(e => e.culprit));
const svg = document.getElementById('flow');
const view = { t0: 0, t1: Math.max(trace.endMs, 1) };
const $ = id => document.getElementById(id);

function el(name, attrs, parent, text) {
  const node = document.createElementNS(SVG, name);
  for (const k in attrs) node.setAttribute(k, attrs[k]);
  if (text !== undefined) node.textContent = text;
  if (parent) parent.appendChild(node);
  return node;
}
function laneY(id) { return TOP_PX + laneIndex.get(id) * LANE_PX + LANE_PX / 2; }
function width() { return Math.max(600, document.documentElement.clientWidth); }
function x(t) { return LEFT_PX + (t - view.t0) / (view.t1 - view.t0) * (width() - LEFT_PX - RIGHT_PX); }
function inView(a, b) { return b >= view.t0 && a <= view.t1; }
function num(input) { return input.value === '' ? null : Number(input.value); }
function slotPasses(slot) {
  const lo = num($('slot-min')), hi = num($('slot-max'));
  if (lo === null && hi === null) return true;
  return slot !== null && (lo === null || slot >= lo) && (hi === null || slot <= hi);
}
function showDetail(html) { const d = $('detail'); d.innerHTML = html; d.hidden = false; }
function esc(s) { return String(s).replace(/[&<>"']/g, c => '&#' + c.charCodeAt(0) + ';'); }

function buildLegend() {
  const counts = {};
  for (const m of trace.messages) counts[m.type] = (counts[m.type] || 0) + 1;
  const legend = $('legend');
  for (const t of types) {
    const label = document.createElement('label');
    label.innerHTML = '<input type="checkbox" checked data-type="' + esc(t) + '"><i style="background:' + colour[t] + '"></i>' + esc(t) + ' (' + counts[t] + ')';
    label.querySelector('input').addEventListener('change', e => { if (e.target.checked) shown.add(t); else shown.delete(t); draw(); });
    legend.appendChild(label);
  }
  const marks = document.createElement('span');
  marks.innerHTML = ' | ✗ dropped/partitioned/lost · ◆ new leader · ✱ evidence (click) · grey: node down · yellow: partition';
  legend.appendChild(marks);
}

function drawLanes(layer) {
  lanes.forEach((l, i) => {
    const g = el('g', { 'data-kind': l.id === -1 ? 'client-lane' : 'lane', 'data-node': l.id,
      class: (l.byzantine ? 'byzantine ' : '') + (culprits.has(l.id) ? 'culprit' : '') }, layer);
    el('rect', { class: 'lane-band', x: 0, y: TOP_PX + i * LANE_PX + 4, width: width(), height: LANE_PX - 8 }, g);
    el('text', { class: 'lane-label', x: 6, y: laneY(l.id) + 4 }, g, l.label);
    el('line', { x1: LEFT_PX, x2: width() - RIGHT_PX, y1: laneY(l.id), y2: laneY(l.id), stroke: '#bbb' }, g);
  });
}

function drawAxis(layer) {
  const span = view.t1 - view.t0, step = Math.pow(10, Math.floor(Math.log10(span / 5)));
  for (let t = Math.ceil(view.t0 / step) * step; t <= view.t1; t += step) {
    el('line', { x1: x(t), x2: x(t), y1: TOP_PX - 6, y2: TOP_PX + lanes.length * LANE_PX, stroke: '#eee' }, layer);
    el('text', { x: x(t) + 2, y: TOP_PX - 10, 'font-size': 10, fill: '#666' }, layer, (+t.toFixed(3)) + ' ms');
  }
}

function drawFaults(layer) {
  const bottom = TOP_PX + lanes.length * LANE_PX;
  let partitionAt = null, side = null;
  const downSince = new Map();
  const ends = trace.events.concat([{ kind: 'end', atMs: trace.endMs }]);
  for (const e of ends) {
    if (e.kind === 'partition') { partitionAt = e.atMs; side = e.side; }
    if ((e.kind === 'partition-heal' || e.kind === 'heal-all' || e.kind === 'end') && partitionAt !== null) {
      if (inView(partitionAt, e.atMs)) {
        const r = el('rect', { 'data-kind': 'partition', class: 'partition', x: x(partitionAt), y: TOP_PX, width: Math.max(1, x(e.atMs) - x(partitionAt)), height: bottom - TOP_PX }, layer);
        el('title', {}, r, 'partition {' + side.map(id => 'n' + id).join(',') + '} | rest, ' + partitionAt + '–' + e.atMs + ' ms');
      }
      partitionAt = null;
    }
    if (e.kind === 'crash' || e.kind === 'wipe') downSince.set(e.node, e.atMs);
    if (e.kind === 'restart' || e.kind === 'end') {
      for (const [node, since] of downSince) {
        if (e.kind === 'restart' && node !== e.node) continue;
        if (inView(since, e.atMs)) {
          const y = laneY(node);
          const r = el('rect', { 'data-kind': 'down', class: 'down', x: x(since), y: y - LANE_PX / 2 + 4, width: Math.max(2, x(e.atMs) - x(since)), height: LANE_PX - 8 }, layer);
          el('title', {}, r, 'n' + node + ' down ' + since + '–' + e.atMs + ' ms');
          el('text', { 'data-kind': 'crash', x: x(since) - 5, y: y + 5, fill: '#000', 'font-weight': 700 }, layer, '☠');
        }
        downSince.delete(node);
      }
    }
    if (e.kind === 'leader' && inView(e.atMs, e.atMs)) {
      const y = laneY(e.node), cx = x(e.atMs);
      const d = el('path', { 'data-kind': 'view-change', d: 'M' + cx + ' ' + (y - 9) + 'l7 9l-7 9l-7 -9z', fill: '#9467bd', stroke: '#000' }, layer);
      el('title', {}, d, 'n' + e.node + ' becomes leader of ' + e.ballot + ' at ' + e.atMs + ' ms');
      el('text', { x: cx + 8, y: y - 10, 'font-size': 10, fill: '#9467bd' }, layer, e.ballot);
    }
  }
}

function drawMessages(layer) {
  const visible = trace.messages.filter(m => shown.has(m.type) && slotPasses(m.slot) && inView(m.sentMs, m.deliveredMs === null ? m.sentMs : m.deliveredMs));
  const drawn = visible.slice(0, ARROWS_DRAWN_MAX);
  for (const m of drawn) {
    const y1 = laneY(m.from), y2 = laneY(m.to), x1 = x(m.sentMs);
    const c = colour[m.type];
    let node;
    if (m.fate === 'delivered') {
      node = el('line', { 'data-kind': 'arrow', 'data-type': m.type, class: 'arrow', x1: x1, y1: y1, x2: x(m.deliveredMs), y2: y2, stroke: c, 'marker-end': 'url(#head)' }, layer);
    } else {
      // Not delivered: a short stub towards the receiver ending in a cross.
      const x2 = x1 + 12, y2b = y1 + (y2 - y1) * 0.3;
      node = el('g', { 'data-kind': m.fate === 'in-flight' ? 'in-flight' : 'drop', 'data-fate': m.fate, 'data-type': m.type }, layer);
      el('line', { x1: x1, y1: y1, x2: x2, y2: y2b, stroke: c, 'stroke-dasharray': '2 2' }, node);
      if (m.fate !== 'in-flight') el('text', { x: x2 - 4, y: y2b + 4, fill: '#c00', 'font-size': 11 }, node, '✗');
    }
    // Only its receiver recorded it (deployed): it is drawn arriving when it arrived, its sending unknown.
    const sent = m.recordedBy === 'receiver' ? 'send not recorded' : 'sent ' + m.sentMs + ' ms';
    el('title', {}, node, (m.recordedBy === 'receiver' ? m.deliveredMs + ' ms (received)' : m.sentMs + ' ms') + ' ' + (m.from === -1 ? 'client' : 'n' + m.from) + ' → ' + (m.to === -1 ? 'client' : 'n' + m.to) + ' ' + m.fate + ': ' + m.text);
    node.addEventListener('click', () => showDetail('<b>' + esc(m.fate) + '</b> ' + sent + (m.deliveredMs === null ? '' : ', delivered ' + m.deliveredMs + ' ms') + '<pre>' + esc(m.text) + '</pre>'));
  }
  return { visible: visible.length, drawn: drawn.length };
}

// Proofs one node gathered at one instant share a marker (a leader that equivocates in every
// slot is proven many times at once); its detail lists each proof's conflicting messages.
function drawEvidence(layer) {
  const groups = new Map();
  for (const e of trace.evidence) {
    if (!inView(e.atMs, e.atMs) || !slotPasses(e.slot)) continue;
    const key = e.reporter + '@' + e.atMs;
    if (!groups.has(key)) groups.set(key, []);
    groups.get(key).push(e);
  }
  for (const proofs of groups.values()) {
    const e = proofs[0];
    const star = el('text', { 'data-kind': 'evidence', 'data-evidence': proofs.map(p => p.id).join(' '), class: 'evidence', x: x(e.atMs) - 7, y: laneY(e.reporter) - 8, 'font-size': 20 }, layer,
      '✱' + (proofs.length > 1 ? proofs.length : ''));
    el('title', {}, star, proofs.length + ' proof(s) proven by n' + e.reporter + ' at ' + e.atMs + ' ms');
    star.addEventListener('click', () => showDetail(proofs.map(p => '<div class="proof"><b>' + esc(p.kind) + '</b> by n' + p.culprit + ' (slot ' + (p.slot === null ? '-' : p.slot) +
      '), proven by n' + p.reporter + ' at ' + p.atMs + ' ms' + p.messages.map(t => '<pre class="evidence-message">' + esc(t) + '</pre>').join('') + '</div>').join('') +
      '<button type="button" onclick="this.parentNode.hidden=true">close</button>'));
  }
}

function draw() {
  while (svg.firstChild) svg.removeChild(svg.firstChild);
  svg.setAttribute('width', width());
  svg.setAttribute('height', TOP_PX + lanes.length * LANE_PX + 10);
  const defs = el('defs', {}, svg);
  const head = el('marker', { id: 'head', viewBox: '0 0 10 10', refX: 10, refY: 5, markerWidth: 6, markerHeight: 6, orient: 'auto-start-reverse' }, defs);
  el('path', { d: 'M0 0L10 5L0 10z', fill: 'context-stroke' }, head);
  drawLanes(el('g', {}, svg));
  drawAxis(el('g', {}, svg));
  drawFaults(el('g', {}, svg));
  const counts = drawMessages(el('g', {}, svg));
  drawEvidence(el('g', {}, svg));
  $('t-min').value = +view.t0.toFixed(3);
  $('t-max').value = +view.t1.toFixed(3);
  $('status').textContent = counts.drawn + ' of ' + trace.messages.length + ' messages drawn' +
    (counts.visible > counts.drawn ? ' (' + counts.visible + ' in view: narrow the time or slot range to see them all)' : '') +
    '; ' + trace.evidence.length + ' evidence' + (trace.unrecorded > 0 ? '; ' + trace.unrecorded + ' messages not recorded (a member\'s trace was full)' : '');
}

function zoom(factor, at) {
  const centre = at === undefined ? (view.t0 + view.t1) / 2 : at;
  const span = Math.max(0.01, (view.t1 - view.t0) * factor);
  view.t0 = Math.max(0, centre - (centre - view.t0) * factor);
  view.t1 = view.t0 + span;
  draw();
}

buildLegend();
$('zoom-in').addEventListener('click', () => zoom(0.5));
$('zoom-out').addEventListener('click', () => zoom(2));
$('fit').addEventListener('click', () => { view.t0 = 0; view.t1 = Math.max(trace.endMs, 1); draw(); });
// A slot range also zooms to when its messages travelled: in a long run they are a sliver.
function fitToSlots() {
  const picked = trace.messages.filter(m => m.slot !== null && slotPasses(m.slot));
  if (num($('slot-min')) === null && num($('slot-max')) === null) {
    view.t0 = 0;
    view.t1 = Math.max(trace.endMs, 1);
  } else if (picked.length > 0) {
    const t0 = Math.min(...picked.map(m => m.sentMs));
    const t1 = Math.max(...picked.map(m => m.deliveredMs === null ? m.sentMs : m.deliveredMs));
    const margin = Math.max(0.5, (t1 - t0) * 0.03);
    view.t0 = Math.max(0, t0 - margin);
    view.t1 = t1 + margin;
  }
  draw();
}
for (const id of ['slot-min', 'slot-max']) $(id).addEventListener('input', fitToSlots);
for (const id of ['t-min', 't-max']) $(id).addEventListener('change', () => {
  const a = num($('t-min')), b = num($('t-max'));
  if (a !== null && b !== null && b > a) { view.t0 = a; view.t1 = b; }
  draw();
});
svg.addEventListener('wheel', e => {
  e.preventDefault();
  const t = view.t0 + (e.offsetX - LEFT_PX) / (width() - LEFT_PX - RIGHT_PX) * (view.t1 - view.t0);
  zoom(e.deltaY < 0 ? 0.8 : 1.25, t);
}, { passive: false });
window.addEventListener('resize', draw);
draw();
`;
