// grid.js -- the shard grids: one section per cluster, built once per snapshot, then changed in place
// (one attribute per changed shard; the grid is never rebuilt for a change). Keyboard moves within a
// grid with the arrow keys (one tab stop per cluster). Each cluster's header carries its figures and gateway
// warnings, and each shard its latency band (data-band), which main.css colours by when the page asks for it,
// and its marks (data-flapping, data-silent).
//
// Large bots: a grid is cut into bands of whole rows, each with `content-visibility: auto`, so the
// browser styles, lays out and paints only the bands on screen. JavaScript therefore picks the column
// count (from the grid's width and the cell's least width) and re-bands a grid when its width changes.
// A new grid's first frame draws only the bands in the window: Chromium would also draw, for `auto`,
// every band within one and a half windows below it (about 2,000 cells at 1280x900, most of that frame's
// time), so those bands start `content-visibility: hidden` (same size) and turn `auto` once it is painted.

import { STATES, stateLabel, summarise } from './states.js';
import { formatClock, formatCount } from './format.js';
import { latencyBand, figureOf, formatMs } from './figures.js';

const CELL_HEIGHT = 22; // px, as .s in main.css
const GAP = 3; // px, as .shards and .band in main.css
const ROWS_PER_BAND = 8;
/** The least width of a cell (px): room for ids of `digits` digits in main.css's 11px monospace. */
const cellMinWidth = (digits) => Math.max(28, digits * 6.8 + 10);

const escapeHtml = (s) => String(s).replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

/** One cluster as the page holds it. */
class ClusterView {
  constructor(index, name, shards) {
    this.index = index;
    this.name = name;
    this.shards = shards;
    this.states = new Uint8Array(shards);
    this.seenAt = new Float64Array(shards); // when this page saw the shard change (unix ms), 0 if it did not
    this.counts = new Array(STATES.length).fill(0);
    this.cells = null; // the shard elements in shard order, once asked for (els)
    this.section = null;
    this.grid = null;
    this.summaryEl = null;
    this.countsEl = null;
    this.roving = null; // the shard element that is this grid's tab stop
    this.dirty = true; // the summary needs redrawing
    this.level = 'none'; // the summary's level from the counts alone (maintenance aside)
    this.flapping = new Set(); // shards that flap (from the history)
    this.flapCount = 0; // how many flap, listed or not
    this.maintenanceUntil = null; // unix ms (Infinity: no end set) while the cluster is under maintenance
    this.figuresEl = null;
    this.warningsEl = null;
    this.warningsShown = ''; // the warnings' words as last drawn
    this.silent = new Set(); // shards online but receiving no gateway events (from the figures)
    this.silentCount = 0; // how many are silent, listed or not
    this.latency = new Float64Array(shards).fill(NaN); // each shard's fresh latency (ms), NaN without one
    this.bands = new Int8Array(shards).fill(-1); // each shard's latency band as drawn, -1 for none
    this.digits = String(Math.max(0, shards - 1)).length;
    this.cols = 0;
  }

  /**
   * The shard elements in shard order. Gathered on first use: a new grid's first frame needs none of
   * them, and wrapping 20,000 elements for script takes a while.
   */
  get els() {
    if (this.cells === null) this.cells = this.grid ? Array.from(this.grid.getElementsByClassName('s')) : [];
    return this.cells;
  }

  /** How many columns fit in `width` px. */
  colsFor(width) {
    return Math.max(1, Math.floor((width + GAP) / (cellMinWidth(this.digits) + GAP)));
  }

  /** The opening tag of a band of `count` shards; `later`: not drawn until turned `auto` (see above). */
  bandTag(count, later = false) {
    const rows = Math.ceil(count / this.cols);
    return `<div class="band" style="contain-intrinsic-size:auto ${rows * (CELL_HEIGHT + GAP) - GAP}px`
      + `${later ? ';content-visibility:hidden' : ''}">`;
  }
}

export class Grid {
  /**
   * `root` receives the cluster sections. `hooks` (optional): focus(view, shard, el) and blur(el) when a
   * shard gains or loses focus, hover(view, shard, el) and leave(el) for the pointer.
   */
  constructor(root, hooks = {}) {
    this.root = root;
    this.hooks = hooks;
    this.views = [];
    this.byName = new Map();
    this.marked = [];
    this.flapping = new Map(); // cluster name -> shard ids, kept across rebuilds
    this.flapCounts = new Map(); // cluster name -> how many flap (the ids may be the latest 1000 of them)
    this.maintenance = new Map(); // cluster name -> end of its maintenance window
    this.figures = new Map(); // cluster name -> {parts, latency, silent, silentCount, warnings} from GET /api/figures, kept across rebuilds
    this.pulseEnabled = false;
    this.changesApplied = 0; // shards changed in place since the page opened (for tests and metrics)
    this.pulseFrames = [
      { opacity: 0.25, transform: 'scale(0.82)' },
      { opacity: 1, transform: 'none' },
    ];
    // bands on screen: only their shards pulse (a pulse nobody can see would still cost a frame)
    this.onScreen = new Set();
    this.bandWatcher = new IntersectionObserver((entries) => {
      for (const e of entries) {
        if (e.isIntersecting) this.onScreen.add(e.target);
        else this.onScreen.delete(e.target);
      }
    });
    root.addEventListener('keydown', (ev) => this.onKey(ev));
    root.addEventListener('focusin', (ev) => this.onFocus(ev));
    root.addEventListener('focusout', (ev) => { if (ev.target.dataset?.shard) this.hooks.blur?.(ev.target); });
    root.addEventListener('pointerover', (ev) => {
      const hit = this.locate(ev.target);
      if (hit) this.hooks.hover?.(hit.view, hit.shard, ev.target);
    });
    root.addEventListener('pointerout', (ev) => { if (ev.target.dataset?.shard) this.hooks.leave?.(ev.target); });
  }

  /**
   * Shows a snapshot: `clusters` is the hello's list ({name, shards, states: one digit per shard}).
   * When the clusters are the same as shown (names and sizes), only the shards that differ are
   * touched and true is returned; otherwise every grid is rebuilt and false is returned.
   */
  load(clusters) {
    const same = clusters.length === this.views.length
      && clusters.every((c, i) => c.name === this.views[i].name && c.shards === this.views[i].shards);
    if (same) {
      clusters.forEach((c, i) => this.resync(this.views[i], c.states));
      return true;
    }
    this.build(clusters);
    return false;
  }

  build(clusters) {
    this.views = clusters.map((c, i) => new ClusterView(i, c.name, c.shards));
    this.byName = new Map(this.views.map((v) => [v.name, v]));
    this.marked = [];
    this.resizer?.disconnect();
    this.bandWatcher.disconnect();
    this.onScreen.clear();
    // the sections first, empty, to learn each grid's width
    this.root.innerHTML = this.views.map((v) => {
      const name = escapeHtml(v.name);
      return `<section class="cluster" data-cluster="${name}" aria-labelledby="cluster-${v.index}">`
        + `<header class="cluster-head"><h2 id="cluster-${v.index}">${name}</h2>`
        + '<p class="cluster-summary"></p><p class="cluster-figures" hidden></p><ul class="cluster-counts"></ul>'
        + '<ul class="cluster-warnings" hidden></ul></header>'
        + `<div class="shards" role="group" aria-label="Shards of ${name}, `
        + `${formatCount(v.shards)} in all; arrow keys move between shards"></div></section>`;
    }).join('');
    const sections = this.root.children;
    for (const v of this.views) {
      v.section = sections[v.index];
      v.summaryEl = v.section.querySelector('.cluster-summary');
      v.countsEl = v.section.querySelector('.cluster-counts');
      v.figuresEl = v.section.querySelector('.cluster-figures');
      v.warningsEl = v.section.querySelector('.cluster-warnings');
      v.grid = v.section.querySelector('.shards');
    }
    // one layout of the page without its cells (small): each grid's width, and where it starts in the window
    const tops = this.views.map((v) => {
      v.cols = v.colsFor(v.grid.clientWidth);
      return v.grid.getBoundingClientRect().top;
    });
    const later = [];
    let below = 0; // how far the grids built so far push this one down
    for (const v of this.views) {
      const states = clusters[v.index].states || '';
      const perBand = v.cols * ROWS_PER_BAND;
      let top = tops[v.index] + below; // of the next band, in the window
      const cell = `<span class="s" data-cluster="${escapeHtml(v.name)}" data-shard="`;
      // one string a band, so that each cell's string is garbage by the next band (a cheap young GC)
      const bands = [];
      for (let a = 0; a < v.shards; a += perBand) {
        const b = bands.length;
        const count = Math.min(perBand, v.shards - a);
        // the first band (the tab stop) and those in the window are drawn in the first frame
        const height = Math.ceil(count / v.cols) * (CELL_HEIGHT + GAP); // with the gap below it
        const off = b > 0 && (top >= innerHeight || top + height <= 0);
        if (off) later.push([v, b]);
        top += height;
        below += height;
        const spans = new Array(count);
        for (let i = 0; i < count; i++) {
          const s = a + i;
          let st = states.charCodeAt(s) - 48;
          if (!(st >= 0 && st < STATES.length)) st = 0;
          v.states[s] = st;
          v.counts[st]++;
          spans[i] = `${cell}${s}" data-state="${st}">${s}</span>`;
        }
        bands.push(`${v.bandTag(count, off)}${spans.join('')}</div>`);
      }
      v.grid.innerHTML = bands.join('');
      v.grid.style.setProperty('--cols', v.cols);
      v.cells = null;
      for (const band of v.grid.children) this.bandWatcher.observe(band);
      if (v.shards) this.setRoving(v, v.grid.querySelector('.s'));
      this.markFlapping(v, this.flapping.get(v.name) || []);
      this.markMaintenance(v);
      if (this.figures.has(v.name)) this.markFigures(v, this.figures.get(v.name));
    }
    this.refreshSummaries();
    this.resizer = new ResizeObserver((entries) => {
      for (const e of entries) {
        const v = this.views.find((x) => x.grid === e.target);
        if (v && v.colsFor(e.contentRect.width) !== v.cols) this.reband(v, v.colsFor(e.contentRect.width));
      }
    });
    for (const v of this.views) this.resizer.observe(v.grid);
    // once the first frame is painted (a frame callback, then a task), the other bands become `auto`
    if (later.length) {
      const views = this.views;
      requestAnimationFrame(() => setTimeout(() => {
        if (this.views !== views) return; // rebuilt since: those bands are gone
        for (const [v, b] of later) v.grid.children[b]?.style.removeProperty('content-visibility');
      }, 0));
    }
  }

  /** Regroups a grid's shards (the same elements) into bands of `cols` columns. */
  reband(v, cols) {
    const focused = v.grid.contains(document.activeElement) ? document.activeElement : null;
    v.cols = cols;
    const perBand = cols * ROWS_PER_BAND;
    const frag = document.createDocumentFragment();
    const holder = document.createElement('div');
    for (let a = 0; a < v.shards; a += perBand) {
      holder.innerHTML = v.bandTag(Math.min(perBand, v.shards - a));
      const band = holder.firstChild;
      band.append(...v.els.slice(a, a + perBand));
      frag.append(band);
    }
    for (const band of v.grid.children) { this.bandWatcher.unobserve(band); this.onScreen.delete(band); }
    v.grid.style.setProperty('--cols', cols);
    v.grid.replaceChildren(frag);
    for (const band of v.grid.children) this.bandWatcher.observe(band);
    focused?.focus({ preventScroll: true });
  }

  resync(v, states) {
    for (let s = 0; s < v.shards; s++) {
      let st = states.charCodeAt(s) - 48;
      if (!(st >= 0 && st < STATES.length)) st = 0;
      if (v.states[s] !== st) this.set(v, s, st, 0);
    }
  }

  set(v, s, st, seenAt) {
    v.counts[v.states[s]]--;
    v.counts[st]++;
    v.states[s] = st;
    v.seenAt[s] = seenAt;
    this.changesApplied++;
    const el = v.els[s];
    el.dataset.state = st;
    if (el === v.roving && el.hasAttribute('aria-label')) this.label(v, s, el);
    v.dirty = true;
  }

  /** The cluster called `name`, or undefined. */
  view(name) {
    return this.byName.get(name);
  }

  /** Applies [[shard, state], ...] to cluster `name`; ignores shards and states out of range. */
  applyChanges(name, changes, now = Date.now()) {
    const v = this.byName.get(name);
    if (!v) return;
    for (const [s, st] of changes) {
      if (s >= 0 && s < v.shards && st >= 0 && st < STATES.length && v.states[s] !== st) this.set(v, s, st, now);
    }
  }

  /** A short pulse on each shard of `name` on screen that sent a health ping (when pulses are on). */
  pulse(name, shards) {
    const v = this.byName.get(name);
    if (!v || !this.pulseEnabled || document.hidden || this.onScreen.size === 0) return;
    for (const s of shards) {
      const el = v.els[s];
      if (el && this.onScreen.has(el.parentElement)) el.animate(this.pulseFrames, { duration: 700, easing: 'ease-out' });
    }
  }

  /** Marks the located shards ([{index, shard}]) with aria-current and makes each its grid's tab stop. */
  mark(located) {
    for (const el of this.marked) el.removeAttribute('aria-current');
    this.marked = [];
    for (const { index, shard } of located) {
      const v = this.views[index];
      const el = v?.els[shard];
      if (!el) continue;
      el.setAttribute('aria-current', 'true');
      this.marked.push(el);
      this.setRoving(v, el);
    }
    return this.marked;
  }

  /**
   * Marks the flapping shards of cluster `name` (ids from the history): data-flapping on each, a word
   * in the accessible name, a count beside the cluster's (`count`, when the history lists only some of them).
   * Replaces the cluster's previous marks.
   */
  setFlapping(name, ids, count) {
    const list = (Array.isArray(ids) ? ids : []).map(Number).filter((s) => Number.isInteger(s) && s >= 0);
    this.flapping.set(name, list);
    this.flapCounts.set(name, Number.isInteger(count) ? count : list.length);
    const v = this.byName.get(name);
    if (v) this.markFlapping(v, list);
  }

  markFlapping(v, ids) {
    const next = new Set(ids.filter((s) => s < v.shards));
    const count = Math.max(next.size, this.flapCounts.get(v.name) || 0);
    if (count !== v.flapCount) v.dirty = true;
    v.flapCount = count;
    if (next.size === v.flapping.size && [...next].every((s) => v.flapping.has(s))) return;
    for (const s of v.flapping) if (!next.has(s)) delete v.els[s].dataset.flapping;
    for (const s of next) v.els[s].dataset.flapping = '';
    const old = v.flapping;
    v.flapping = next;
    for (const s of new Set([...old, ...next])) if (v.els[s] === v.roving) this.label(v, s, v.els[s]);
    v.dirty = true;
  }

  /**
   * Shows cluster `name`'s figures: `parts` (its header's words, clusterFigureParts in figures.js),
   * `latency` (one entry per shard: its fresh latency in ms, or null), `silent` (ids of silent shards, the first
   * 1000 of `silentCount`) and `warnings` ([{kind, text}], gatewayWarnings in figures.js). Each shard whose band
   * changed gets data-band (0 fastest to 3; none without a figure) and its accessible name the figure; each silent
   * shard data-silent and the word in its accessible name; the header the warnings and how many are silent.
   */
  setFigures(name, { parts = [], latency = [], silent = [], silentCount = 0, warnings = [] } = {}) {
    const f = { parts, latency, silent, silentCount, warnings };
    this.figures.set(name, f);
    const v = this.byName.get(name);
    if (v) this.markFigures(v, f);
  }

  markFigures(v, { parts, latency, silent = [], silentCount = 0, warnings = [] }) {
    const text = parts.join(' · ');
    if (v.figuresEl.textContent !== text) v.figuresEl.textContent = text;
    v.figuresEl.hidden = text === '';
    const said = warnings.map((w) => `${w.kind}:${w.text}`).join('\n');
    if (v.warningsShown !== said) {
      v.warningsShown = said;
      v.warningsEl.innerHTML = warnings.map((w) => `<li data-kind="${escapeHtml(w.kind)}">`
        + `<i class="warn-mark" aria-hidden="true"></i>${escapeHtml(w.text)}</li>`).join('');
      v.warningsEl.hidden = warnings.length === 0;
    }
    this.markSilent(v, silent, silentCount);
    for (let s = 0; s < v.shards; s++) {
      const ms = figureOf(latency[s]);
      const was = v.latency[s];
      v.latency[s] = ms === null ? NaN : Math.round(ms);
      const band = ms === null ? -1 : latencyBand(ms);
      if (band !== v.bands[s]) {
        v.bands[s] = band;
        if (band < 0) delete v.els[s].dataset.band;
        else v.els[s].dataset.band = band;
      }
      if (v.els[s] === v.roving && !Object.is(was, v.latency[s])) this.label(v, s, v.els[s]);
    }
  }

  /** Marks cluster `v`'s silent shards (`ids`, of `count` in all): data-silent on each, a word in the accessible name. */
  markSilent(v, ids, count) {
    const next = new Set(ids.filter((s) => Number.isInteger(s) && s >= 0 && s < v.shards));
    const total = Math.max(next.size, Number.isInteger(count) ? count : 0);
    if (total !== v.silentCount) v.dirty = true;
    v.silentCount = total;
    if (next.size === v.silent.size && [...next].every((s) => v.silent.has(s))) return;
    for (const s of v.silent) if (!next.has(s)) delete v.els[s].dataset.silent;
    for (const s of next) v.els[s].dataset.silent = '';
    const old = v.silent;
    v.silent = next;
    for (const s of new Set([...old, ...next])) if (v.els[s] === v.roving) this.label(v, s, v.els[s]);
  }

  /**
   * Says which clusters are under maintenance now: `until` maps a cluster name to the end of its window
   * (unix ms, Infinity without an end); the others are not. Their summaries say so, in the maintenance colour.
   */
  setMaintenance(until) {
    this.maintenance = new Map(until);
    for (const v of this.views) this.markMaintenance(v);
  }

  markMaintenance(v) {
    const until = this.maintenance.has(v.name) ? this.maintenance.get(v.name) : null;
    if (until === v.maintenanceUntil) return;
    v.maintenanceUntil = until;
    if (until === null) delete v.section.dataset.maintenance;
    else v.section.dataset.maintenance = '';
    v.dirty = true;
  }

  /** Redraws the summary line and counts of each cluster that changed since the last call. */
  refreshSummaries() {
    for (const v of this.views) {
      if (!v.dirty) continue;
      v.dirty = false;
      const sum = summarise(v.counts);
      v.level = sum.level;
      if (v.maintenanceUntil !== null) {
        const until = v.maintenanceUntil === Infinity ? 'Under maintenance' : `Maintenance until ${formatClock(v.maintenanceUntil)}`;
        v.summaryEl.dataset.level = 'maintenance';
        v.summaryEl.innerHTML = `<strong>${escapeHtml(until)}</strong> <span>${escapeHtml(sum.detail)}</span>`;
      } else {
        v.summaryEl.dataset.level = sum.level;
        v.summaryEl.innerHTML = `<strong>${sum.title}</strong> <span>${escapeHtml(sum.detail)}</span>`;
      }
      v.countsEl.innerHTML = STATES.filter((st) => v.counts[st.value] > 0)
        .map((st) => `<li data-state="${st.value}"><i class="swatch" aria-hidden="true"></i>`
          + `${formatCount(v.counts[st.value])} ${st.key}</li>`).join('')
        + (v.flapCount ? `<li class="flap-count"><i class="flap-mark" aria-hidden="true"></i>${formatCount(v.flapCount)} flapping</li>` : '')
        + (v.silentCount ? `<li class="silent-count"><i class="silent-mark" aria-hidden="true"></i>${formatCount(v.silentCount)} silent</li>` : '');
    }
  }

  /** Every cluster's counts added up, indexed by state value. */
  totals() {
    const t = new Array(STATES.length).fill(0);
    for (const v of this.views) v.counts.forEach((c, i) => { t[i] += c; });
    return t;
  }

  locate(el) {
    if (!el?.dataset?.shard) return null;
    const v = this.byName.get(el.dataset.cluster);
    const shard = Number(el.dataset.shard);
    return v && v.els[shard] === el ? { view: v, shard } : null;
  }

  label(v, s, el) {
    const ms = v.latency[s];
    el.setAttribute('aria-label', `${v.name} shard ${s}: ${stateLabel(v.states[s])}`
      + `${Number.isNaN(ms) ? '' : `, latency ${formatMs(ms)}`}${v.flapping.has(s) ? ', flapping' : ''}`
      + `${v.silent.has(s) ? ', silent: no gateway events' : ''}`);
  }

  setRoving(v, el) {
    if (v.roving === el) return;
    if (v.roving) {
      v.roving.removeAttribute('tabindex');
      v.roving.removeAttribute('role');
      v.roving.removeAttribute('aria-label');
    }
    v.roving = el;
    el.tabIndex = 0;
    el.setAttribute('role', 'img');
    this.label(v, Number(el.dataset.shard), el);
  }

  onFocus(ev) {
    const hit = this.locate(ev.target);
    if (!hit) return;
    this.setRoving(hit.view, ev.target);
    this.hooks.focus?.(hit.view, hit.shard, ev.target);
  }

  onKey(ev) {
    const hit = this.locate(ev.target);
    if (!hit || ev.altKey || ev.ctrlKey || ev.metaKey) return;
    const { view: v, shard } = hit;
    const cols = () => this.columns(v);
    let to;
    switch (ev.key) {
      case 'ArrowLeft': to = shard - 1; break;
      case 'ArrowRight': to = shard + 1; break;
      case 'ArrowUp': to = shard - cols(); break;
      case 'ArrowDown': to = shard + cols(); break;
      case 'PageUp': to = shard - cols() * 10; break;
      case 'PageDown': to = shard + cols() * 10; break;
      case 'Home': to = 0; break;
      case 'End': to = v.shards - 1; break;
      default: return;
    }
    ev.preventDefault();
    to = Math.max(0, Math.min(v.shards - 1, to));
    const el = v.els[to];
    this.setRoving(v, el);
    el.focus();
  }

  /** How many shards one row of the cluster's grid holds. */
  columns(v) {
    return v.cols;
  }
}
