// history.js -- the History section: per cluster, one bar per UTC day shaded by the share of shard-time
// that was down, the availability over 24 h / 7 d / 30 d / 90 d, and the flapping shards, from
// GET /api/history. The pure functions (shading, figures, words) come first and need no DOM.

import { formatCount, formatDuration, formatPercent } from './format.js';
import { getJson, Poller } from './poll.js';
import { placeTip } from './tooltip.js';

export const HISTORY_EVERY_MS = 5 * 60 * 1000;
export const WINDOWS = [['24h', '24 h'], ['7d', '7 d'], ['30d', '30 d'], ['90d', '90 d']];
const PHONE_DAYS = 30; // bars shown on a narrow screen (main.css hides the older ones)

const num = (x) => (Number.isFinite(Number(x)) && Number(x) > 0 ? Number(x) : 0);

/** A day's figures as numbers (missing or bad ones are 0): {up, down, maintenance, maintenanceDown}. */
export function dayFigures(day) {
  return {
    up: num(day?.up_ms), down: num(day?.down_ms), maintenance: num(day?.maintenance_ms), maintenanceDown: num(day?.maintenance_down_ms),
  };
}

/** The share of the day's shard-time outside maintenance that was down (0..1), or null with none. */
export function downFraction(day) {
  const { up, down } = dayFigures(day);
  return up + down > 0 ? down / (up + down) : null;
}

/**
 * How bad a down share is, 0 (none) to 1 (all day), on a log scale so that a few minutes of one shard
 * show and a whole cluster down for an hour stands out: 1e-5 of the shard-time and less is the faintest
 * tint, each tenfold more a fifth of the way further. Any downtime at all is at least `floor`.
 */
export function severity(fraction, floor = 0.12) {
  if (!(fraction > 0)) return 0;
  if (fraction >= 1) return 1;
  return Math.min(1, Math.max(floor, (Math.log10(fraction) + 5) / 5));
}

/**
 * How to draw a day: {kind, severity, maintenance}. kind is 'none' (nothing recorded), 'maintenance'
 * (recorded only inside maintenance windows), 'up' (no downtime) or 'down'; severity is 0..1 for the
 * colour scale (green, yellow, red); maintenance says whether the day had a maintenance window.
 */
export function shadeDay(day) {
  const { up, down, maintenance } = dayFigures(day);
  if (up + down + maintenance === 0) return { kind: 'none', severity: 0, maintenance: false };
  if (up + down === 0) return { kind: 'maintenance', severity: 0, maintenance: true };
  const sev = severity(down / (up + down));
  return { kind: down > 0 ? 'down' : 'up', severity: sev, maintenance: maintenance > 0 };
}

/**
 * A day in words, for the tooltip and screen readers:
 * "2026-11-29: 99.982 % available, 1 min 33 s of shard-time down across 360 shards; 2 h of maintenance".
 */
export function describeDay(day, shards, { today = false } = {}) {
  const { up, down, maintenance, maintenanceDown } = dayFigures(day);
  const date = `${String(day?.date ?? '')}${today ? ' (today, so far)' : ''}`;
  if (up + down + maintenance === 0) return `${date}: no data`;
  const parts = [];
  const across = shards > 0 ? ` across ${formatCount(shards)} ${shards === 1 ? 'shard' : 'shards'}` : '';
  if (up + down > 0) {
    const available = formatPercent(1 - down / (up + down), 3);
    parts.push(down > 0
      ? `${available} available, ${formatDuration(down)} of shard-time down${across}`
      : `${available} available, no shard-time down${across}`);
  } else {
    parts.push('only maintenance recorded');
  }
  if (maintenance > 0) {
    const wall = shards > 0 ? maintenance / shards : maintenance;
    let m = `${formatDuration(wall)} of maintenance`;
    if (maintenanceDown > 0) m += ` (${formatDuration(maintenanceDown)} of shard-time down during it, not counted)`;
    parts.push(m);
  }
  return `${date}: ${parts.join('; ')}`;
}

/** The availability figures of a cluster in words: [["24 h", "99.91 %"], ...]. */
export function availabilityFigures(availability) {
  return WINDOWS.map(([key, label]) => [label, formatPercent(availability?.[key] ?? null, 2)]);
}

/** What a day's bar needs: {kind, sev (a CSS number), maintenance, label}. */
function barFor(day, shards, today) {
  const shade = shadeDay(day);
  return { kind: shade.kind, sev: shade.severity.toFixed(3), maintenance: shade.maintenance, label: describeDay(day, shards, { today }) };
}

// -------------------------------------------------------------------------------------------- the DOM

const escapeHtml = (s) => String(s).replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

const el = (tag, cls, text) => {
  const e = document.createElement(tag);
  if (cls) e.className = cls;
  if (text !== undefined) e.textContent = text;
  return e;
};

/**
 * The History section. `root` holds it (index.html's #history); `tip` is an element for the day under
 * the pointer or focus. `onFlapping(name, ids, count)` hears each cluster's flapping shards (the latest 1000) and how many flap after each load,
 * `onPainted()` that a load has been painted.
 * start() fetches now and every 5 minutes; load(body) shows a response (for tests).
 */
export class HistoryView {
  constructor(root, tip, { apiUrl = '', onFlapping = () => {}, onPainted = () => {}, fetchImpl } = {}) {
    this.root = root;
    this.list = root.querySelector('.history-clusters');
    this.note = root.querySelector('.history-note');
    this.tip = tip;
    this.apiUrl = apiUrl.replace(/\/+$/, '');
    this.onFlapping = onFlapping;
    this.onPainted = onPainted;
    this.fetchImpl = fetchImpl;
    this.rows = []; // {name, shards, bars: [el], keys: [what each bar shows], days, group, avail, roving}
    this.shown = ''; // the response text last shown
    this.loaded = false;
    this.tipFor = null;
    this.stats = { loads: 0, failures: 0, renderMs: null, paintedMs: null, painted: 0 };
    this.poller = new Poller(() => this.fetch(), { everyMs: HISTORY_EVERY_MS, retryMs: 15000 });
    this.narrow = globalThis.matchMedia?.('(max-width: 600px)');

    this.list.addEventListener('keydown', (ev) => this.onKey(ev));
    this.list.addEventListener('focusin', (ev) => { const b = this.bar(ev.target); if (b) { this.rove(b.row, b.index); this.showTip(ev.target); } });
    this.list.addEventListener('focusout', (ev) => { if (this.bar(ev.target)) this.hideTip(ev.target); });
    this.list.addEventListener('pointerover', (ev) => { if (this.bar(ev.target)) this.showTip(ev.target); });
    // a tap (or click) focuses the day, so its figures stay shown after the finger lifts
    this.list.addEventListener('click', (ev) => {
      const b = this.bar(ev.target);
      if (b) { this.rove(b.row, b.index); ev.target.focus({ preventScroll: true }); }
    });
    this.list.addEventListener('pointerout', (ev) => {
      if (this.bar(ev.target) && document.activeElement !== ev.target) this.hideTip(ev.target);
    });
    document.addEventListener('keydown', (ev) => { if (ev.key === 'Escape') this.hideTip(); });
    window.addEventListener('scroll', () => this.placeTip(), { passive: true });
    window.addEventListener('resize', () => this.placeTip());
    // a bar that the narrow layout hides cannot be a tab stop: fall back to today's
    this.narrow?.addEventListener?.('change', () => {
      for (const row of this.rows) if (row.roving !== null && !this.visible(row.bars[row.roving])) this.rove(row, row.bars.length - 1);
    });
  }

  start(delayMs = 0) {
    this.poller.start(delayMs);
  }

  async fetch() {
    try {
      const { body, text } = await getJson(`${this.apiUrl}/api/history`, { fetchImpl: this.fetchImpl, timeoutMs: 15000 });
      this.stats.loads++;
      if (text !== this.shown) this.load(body);
      this.shown = text;
    } catch (err) {
      this.stats.failures++;
      if (!this.loaded) this.say('History is unavailable right now; this page will try again.');
      throw err;
    }
  }

  say(text) {
    this.note.textContent = text;
    this.note.hidden = !text;
  }

  /** Shows a /api/history body: in place when the clusters and day count are as shown, else rebuilt. */
  load(body) {
    const started = performance.now();
    const clusters = Array.isArray(body?.clusters) ? body.clusters : [];
    const same = clusters.length === this.rows.length
      && clusters.every((c, i) => c.name === this.rows[i].name && (c.days?.length ?? 0) === this.rows[i].bars.length);
    if (same) clusters.forEach((c, i) => this.fill(this.rows[i], c));
    else this.build(clusters);
    this.loaded = true;
    this.say(clusters.length ? '' : 'No history recorded yet.');
    for (const c of clusters) this.onFlapping(String(c.name), Array.isArray(c.flapping) ? c.flapping : [], c.flapping_count);
    this.stats.renderMs = performance.now() - started;
    // painted once a frame callback and a task after it ran (as app.js measures the grids)
    requestAnimationFrame(() => setTimeout(() => {
      this.stats.paintedMs = performance.now() - started;
      this.stats.painted++;
      this.onPainted();
    }, 0));
  }

  build(clusters) {
    const focused = this.bar(document.activeElement);
    const keep = focused ? { name: focused.row.name, index: focused.index } : null;
    this.hideTip();
    // the bars as one string per cluster (1,800 elements for 20 clusters): far quicker than one call each
    this.list.innerHTML = clusters.map((c, i) => {
      const name = escapeHtml(c.name);
      const days = Array.isArray(c.days) ? c.days : [];
      const n = days.length;
      const shards = Number(c.shards) || 0;
      const bars = days.map((day, d) => {
        const b = barFor(day, shards, d === n - 1);
        return `<span class="day" role="img" data-index="${d}"${n - d > PHONE_DAYS ? ' data-old' : ''} data-kind="${b.kind}"`
          + `${b.maintenance ? ' data-maintenance' : ''} style="--sev:${b.sev}" aria-label="${escapeHtml(b.label)}"></span>`;
      }).join('');
      return `<li class="history-cluster" data-cluster="${name}"><div class="history-head">`
        + `<h3 class="history-name" id="history-${i}">${name}</h3><dl class="avail" aria-label="Availability of ${name}"></dl></div>`
        + `<div class="bars" role="group" style="--days:${n}" aria-label="${name}: one bar per day (UTC), the last ${n} days, `
        + `oldest first; arrow keys move between days">${bars}</div>`
        + '<div class="bars-axis" aria-hidden="true"><span class="axis-start">'
        + `<span class="axis-wide">${n} days ago</span><span class="axis-narrow">${Math.min(n, PHONE_DAYS)} days ago</span>`
        + '</span><span class="axis-end">Today</span></div></li>';
    }).join('');
    const items = this.list.children;
    this.rows = clusters.map((c, i) => {
      const item = items[i];
      const group = item.querySelector('.bars');
      const bars = Array.from(group.children);
      const row = { name: String(c.name), shards: 0, bars, keys: new Array(bars.length).fill(''), days: [], group, avail: item.querySelector('.avail'), roving: null };
      this.fill(row, c, true);
      if (bars.length) this.rove(row, bars.length - 1);
      return row;
    });
    if (keep) {
      const row = this.rows.find((r) => r.name === keep.name);
      const b = row?.bars[Math.min(keep.index, row.bars.length - 1)];
      if (b) { this.rove(row, Number(b.dataset.index)); b.focus({ preventScroll: true }); }
    }
  }

  /**
   * Writes one cluster's figures into its row (same clusters and day count); only the days that changed
   * are touched. `fresh`: the bars were just drawn from these figures (only remember them).
   */
  fill(row, c, fresh = false) {
    row.shards = Number(c.shards) || 0;
    row.days = Array.isArray(c.days) ? c.days : [];
    const last = row.days.length - 1;
    row.days.forEach((day, d) => {
      const f = dayFigures(day);
      const key = `${day?.date} ${f.up} ${f.down} ${f.maintenance} ${f.maintenanceDown} ${row.shards} ${d === last}`;
      if (row.keys[d] === key) return;
      row.keys[d] = key;
      if (fresh) return;
      const b = row.bars[d];
      const shade = barFor(day, row.shards, d === last);
      b.dataset.kind = shade.kind;
      b.style.setProperty('--sev', shade.sev);
      if (shade.maintenance) b.dataset.maintenance = ''; else delete b.dataset.maintenance;
      b.setAttribute('aria-label', shade.label);
    });
    const dl = availabilityFigures(c.availability).map(([label, value]) => {
      const pair = el('div', 'avail-item');
      const dd = el('dd', null, value);
      if (value === 'no data') dd.dataset.none = '';
      pair.append(el('dt', null, label), dd);
      return pair;
    });
    row.avail.replaceChildren(...dl);
    if (this.tipFor && row.bars.includes(this.tipFor)) this.showTip(this.tipFor, true);
  }

  bar(target) {
    if (!target?.classList?.contains('day')) return null;
    const row = this.rows.find((r) => r.group === target.parentElement);
    return row ? { row, index: Number(target.dataset.index) } : null;
  }

  visible(b) {
    return Boolean(b) && b.offsetParent !== null;
  }

  rove(row, index) {
    if (row.roving === index) return;
    if (row.roving !== null && row.bars[row.roving]) row.bars[row.roving].removeAttribute('tabindex');
    row.roving = index;
    row.bars[index].tabIndex = 0;
  }

  onKey(ev) {
    const hit = this.bar(ev.target);
    if (!hit || ev.altKey || ev.ctrlKey || ev.metaKey) return;
    const { row, index } = hit;
    const n = row.bars.length;
    const first = row.bars.findIndex((b) => this.visible(b));
    let to;
    switch (ev.key) {
      case 'ArrowLeft': case 'ArrowUp': to = index - 1; break;
      case 'ArrowRight': case 'ArrowDown': to = index + 1; break;
      case 'PageUp': to = index - 7; break;
      case 'PageDown': to = index + 7; break;
      case 'Home': to = first; break;
      case 'End': to = n - 1; break;
      default: return;
    }
    ev.preventDefault();
    to = Math.max(Math.max(0, first), Math.min(n - 1, to));
    this.rove(row, to);
    row.bars[to].focus();
  }

  showTip(target, force = false) {
    if (this.tipFor === target && !force) return;
    this.tipFor = target;
    this.tip.textContent = target.getAttribute('aria-label');
    this.tip.hidden = false;
    this.placeTip();
  }

  placeTip() {
    if (this.tipFor) placeTip(this.tip, this.tipFor);
  }

  hideTip(target) {
    if (target && this.tipFor !== target) return;
    this.tipFor = null;
    this.tip.hidden = true;
  }
}
