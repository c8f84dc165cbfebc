// latency.js -- the Latency section: per cluster, a small SVG chart of the median and 95th percentile gateway latency
// (per minute over the last 24 h, or per hour over the last 30 days), from GET /api/latency, asked at most once a
// minute (the server writes the history once a minute). Each chart has an accessible name that sums it up, and the
// same figures as a table (times in the reader's time zone). The pure functions come first and need no DOM.

import { formatCount } from './format.js';
import { getJson, Poller } from './poll.js';

export const LATENCY_EVERY_MS = 60 * 1000;
const MINUTE = 60000;
const HOUR = 3600000;
export const VIEWS = {
  day: { key: 'minutes', step: MINUTE, slots: 1440, label: '24 h', unit: 'minutes', count: 'shards' },
  month: { key: 'hours', step: HOUR, slots: 720, label: '30 days', unit: 'hours', count: 'minutes' },
};
// the chart's drawing area, in viewBox units: the axis labels sit outside it
export const CHART = { width: 300, height: 80, left: 34, top: 6, bottom: 16 };
const SVG = 'http://www.w3.org/2000/svg';

const num = (x) => (Number.isFinite(Number(x)) && Number(x) >= 0 ? Number(x) : null);

/** The points of one view that hold data, oldest first: [{at, p50, p95, count}]; anything malformed is left out. */
export function viewPoints(cluster, view) {
  const v = VIEWS[view];
  const list = Array.isArray(cluster?.[v.key]) ? cluster[v.key] : [];
  return list.map((p) => ({ at: num(p?.at_ms), p50: num(p?.p50_ms), p95: num(p?.p95_ms), count: num(p?.[v.count]) }))
    .filter((p) => p.at !== null && p.p50 !== null && p.p95 !== null)
    .sort((a, b) => a.at - b.at);
}

/** A round top for the y axis: 10, 20, 50, 100, 200, 500 ... at least `max`. */
export function niceMax(max) {
  for (let base = 10; ; base *= 10) for (const f of [1, 2, 5]) if (base * f >= max) return base * f;
}

/**
 * An SVG path through the points' `field` over the window [from, to] with y from 0 to `top`: a new segment after
 * every gap (a missing minute or hour), so that no line is drawn across a time without data. A lone point is a
 * short flat stroke.
 */
export function linePath(points, field, { from, to, top, step }) {
  const { width, height, left, top: pad, bottom } = CHART;
  const w = width - left;
  const h = height - pad - bottom;
  const x = (at) => left + ((at - from) / Math.max(1, to - from)) * w;
  const y = (v) => pad + h - (Math.min(v, top) / top) * h;
  const parts = [];
  let prev = null;
  for (const p of points) {
    if (p.at < from || p.at > to) continue;
    const px = x(p.at).toFixed(1);
    const py = y(p[field]).toFixed(1);
    parts.push(`${prev !== null && p.at - prev <= step ? 'L' : 'M'}${px} ${py}`);
    prev = p.at;
  }
  // a point with no neighbour gets a stroke of its own, so it shows
  return parts.map((s, i) => (s[0] === 'M' && (i + 1 === parts.length || parts[i + 1][0] === 'M')
    ? `${s}h1.5` : s)).join('');
}

/**
 * The chart in words, for its accessible name: "main, last 24 h: median 40 ms now (35 to 60 ms), 95th percentile
 * 80 ms now (at most 120 ms); 1,320 of 1,440 minutes have data."
 */
export function describe(name, points, view) {
  const v = VIEWS[view];
  if (points.length === 0) return `${name}, last ${v.label}: no latency reported`;
  const last = points[points.length - 1];
  const p50s = points.map((p) => p.p50);
  const p95s = points.map((p) => p.p95);
  return `${name}, last ${v.label}: median ${last.p50} ms at the latest (${Math.min(...p50s)} to ${Math.max(...p50s)} ms), `
    + `95th percentile ${last.p95} ms at the latest (at most ${Math.max(...p95s)} ms); `
    + `${formatCount(points.length)} of ${formatCount(v.slots)} ${v.unit} have data.`;
}

/** A time as the table and the axis show it, in the reader's time zone. */
export function formatAt(ms, view, locale = undefined, timeZone = undefined) {
  const opts = view === 'day' ? { hour: '2-digit', minute: '2-digit' } : { month: 'short', day: 'numeric', hour: '2-digit', minute: '2-digit' };
  return new Intl.DateTimeFormat(locale, { ...opts, timeZone }).format(new Date(ms));
}

function el(tag, attrs = {}, text = '') {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) e.setAttribute(k, v);
  if (text) e.textContent = text;
  return e;
}

function svgEl(tag, attrs = {}, text = '') {
  const e = document.createElementNS(SVG, tag);
  for (const [k, v] of Object.entries(attrs)) e.setAttribute(k, v);
  if (text) e.textContent = text;
  return e;
}

/** Draws one cluster's chart for `view` into `svg` (emptied first). */
function drawChart(svg, name, points, view, now) {
  const v = VIEWS[view];
  const from = now - v.slots * v.step;
  const top = niceMax(Math.max(0, ...points.map((p) => p.p95)));
  const { width, height, left, top: pad, bottom } = CHART;
  svg.replaceChildren();
  svg.setAttribute('aria-label', describe(name, points, view));
  svg.append(
    svgEl('line', { class: 'latency-axis', x1: left, y1: height - bottom, x2: width, y2: height - bottom }),
    svgEl('line', { class: 'latency-grid', x1: left, y1: pad, x2: width, y2: pad }),
    svgEl('text', { class: 'latency-label', x: left - 4, y: pad + 4, 'text-anchor': 'end' }, `${top} ms`),
    svgEl('text', { class: 'latency-label', x: left - 4, y: height - bottom, 'text-anchor': 'end' }, '0'),
    svgEl('text', { class: 'latency-label', x: left, y: height - 3 }, formatAt(from, view)),
    svgEl('text', { class: 'latency-label', x: width, y: height - 3, 'text-anchor': 'end' }, 'now'),
    svgEl('path', { class: 'latency-p95', d: linePath(points, 'p95', { from, to: now, top, step: v.step }) }),
    svgEl('path', { class: 'latency-p50', d: linePath(points, 'p50', { from, to: now, top, step: v.step }) }),
  );
}

/** Fills the table of `view`'s figures, newest first. */
function fillTable(table, name, points, view) {
  const zone = Intl.DateTimeFormat().resolvedOptions().timeZone || 'local time';
  table.replaceChildren();
  table.append(el('caption', {}, `${name}: latency per ${view === 'day' ? 'minute, last 24 h' : 'hour, last 30 days'}, newest first`));
  const head = el('tr');
  head.append(el('th', { scope: 'col' }, `Time (${zone})`), el('th', { scope: 'col' }, 'Median (ms)'),
    el('th', { scope: 'col' }, '95th percentile (ms)'), el('th', { scope: 'col' }, view === 'day' ? 'Shards' : 'Minutes'));
  const thead = el('thead');
  thead.append(head);
  const tbody = el('tbody');
  if (points.length === 0) {
    const tr = el('tr');
    tr.append(el('td', { colspan: '4' }, 'No latency reported.'));
    tbody.append(tr);
  }
  for (let i = points.length - 1; i >= 0; i--) {
    const p = points[i];
    const tr = el('tr');
    tr.append(el('th', { scope: 'row' }, formatAt(p.at, view)), el('td', {}, String(p.p50)), el('td', {}, String(p.p95)),
      el('td', {}, p.count === null ? '' : formatCount(p.count)));
    tbody.append(tr);
  }
  table.append(thead, tbody);
}

/** The section: one item per cluster, kept across refreshes so that the reader's choice of view and an open table
 * stay as they were. */
export class LatencyView {
  constructor(root) {
    this.root = root;
    this.list = root.querySelector('.latency-clusters');
    this.note = root.querySelector('.latency-note');
    this.items = new Map();
    this.body = null;
    this.stats = { fetches: 0, painted: 0, failures: 0 };
  }

  item(name) {
    let it = this.items.get(name);
    if (it) return it;
    const li = el('li', { class: 'latency-cluster', 'data-cluster': name });
    const head = el('div', { class: 'latency-head' });
    const title = el('h3', { class: 'latency-name' }, name);
    const now = el('p', { class: 'latency-now' });
    const views = el('div', { class: 'latency-views', role: 'group', 'aria-label': `${name}: period shown` });
    for (const [view, v] of Object.entries(VIEWS)) {
      const b = el('button', { type: 'button', 'data-view': view, 'aria-pressed': String(view === 'day') }, v.label);
      b.addEventListener('click', () => { it.view = view; this.paintItem(it); });
      views.append(b);
    }
    head.append(title, now, views);
    const svg = svgEl('svg', { class: 'latency-chart', viewBox: `0 0 ${CHART.width} ${CHART.height}`, role: 'img' });
    const details = el('details', { class: 'latency-table' });
    const summary = el('summary', {}, `Table of ${name}'s latency`);
    // a long table scrolls in a box of its own, which the keyboard can reach
    const scroll = el('div', { class: 'latency-scroll', tabindex: '0', role: 'region', 'aria-label': `${name}: latency table` });
    const table = el('table');
    scroll.append(table);
    details.append(summary, scroll);
    // a day of minutes is 1,440 rows: built when the table is opened, not before
    details.addEventListener('toggle', () => { if (details.open) this.paintItem(it); });
    li.append(head, svg, details);
    this.list.append(li);
    it = { name, li, now, views, svg, details, table, view: 'day', cluster: null };
    this.items.set(name, it);
    return it;
  }

  paintItem(it) {
    const points = viewPoints(it.cluster, it.view);
    for (const b of it.views.querySelectorAll('button')) b.setAttribute('aria-pressed', String(b.dataset.view === it.view));
    const day = viewPoints(it.cluster, 'day');
    const last = day[day.length - 1];
    it.now.textContent = last ? `median ${last.p50} ms · 95th percentile ${last.p95} ms` : 'no latency reported';
    drawChart(it.svg, it.name, points, it.view, this.now);
    if (it.details.open) fillTable(it.table, it.name, points, it.view);
    else it.table.replaceChildren();
  }

  paint(body) {
    this.body = body;
    this.now = num(body?.now_ms) ?? Date.now();
    const clusters = Array.isArray(body?.clusters) ? body.clusters : [];
    const seen = new Set();
    for (const c of clusters) {
      if (typeof c?.name !== 'string') continue;
      const it = this.item(c.name);
      it.cluster = c;
      seen.add(c.name);
      this.paintItem(it);
    }
    for (const [name, it] of this.items) if (!seen.has(name)) { it.li.remove(); this.items.delete(name); }
    this.note.hidden = true;
    this.stats.painted++;
  }

  failed() {
    this.stats.failures++;
    if (this.body === null) {
      this.note.textContent = 'Latency history unavailable; retrying.';
      this.note.hidden = false;
    }
  }
}

/** Starts the section on the page: fetches now, then once a minute (later while the tab is hidden). */
export function startLatency(root = document.getElementById('latency')) {
  if (!root) return null;
  const view = new LatencyView(root);
  const poller = new Poller(async (signal) => {
    view.stats.fetches++;
    try {
      const { body } = await getJson('/api/latency', { signal });
      view.paint(body);
    } catch (err) {
      view.failed();
      throw err;
    }
  }, { everyMs: LATENCY_EVERY_MS, retryMs: 15000 });
  poller.start(0);
  return { view, poller };
}

if (typeof document !== 'undefined') {
  const started = startLatency();
  if (started) window.__glanceLatency = started.view;
}
