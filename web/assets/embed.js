// embed.js -- the embeddable widget (embed.html, at /embed and /embed/<cluster>): the whole bot or one
// cluster from the live feed, its condition in words, its counts per state, and every shard as a small
// square on one canvas. The pure helpers are exported for tests/web/embed.test.mjs; the page itself starts
// only in a browser.
//
// One canvas rather than an element per shard: a widget in someone else's page must stay cheap with
// 20,000 shards, and it shows no ids, so there is nothing an element would add that the canvas's
// accessible name and the counts (real text) do not say.

import { Feed, defaultFeedUrl } from './feed.js';
import { STATES, stateLabel, summarise } from './states.js';
import { formatWhen } from './format.js';
import { Poller, getJson } from './poll.js';

const MAX_CELL = 16; // CSS px: bigger squares would make a handful of shards look like a different widget
const STATE_COUNT = STATES.length;

/**
 * The widget's headline for `clusters` ([{name, states: per-shard state values}]) when the clusters named in
 * `maintenance` (a Set) are in a maintenance window: as the page and the badges say it, those are left out of
 * the condition and named instead; all of them: "Under maintenance". Without maintenance: summarise().
 */
export function widgetSummary(clusters, maintenance) {
  const totals = new Array(STATE_COUNT).fill(0);
  const inMaint = clusters.filter((c) => maintenance.has(c.name)).map((c) => c.name);
  for (const c of clusters) if (!maintenance.has(c.name)) for (const st of c.states) totals[st]++;
  if (inMaint.length === 0) return summarise(totals);
  if (inMaint.length === clusters.length) {
    return { level: 'maintenance', title: 'Under maintenance', detail: 'Planned work: some shards may restart' };
  }
  const sum = summarise(totals);
  return { ...sum, detail: `${sum.detail}; ${inMaint.join(', ')} under maintenance` };
}

/**
 * The cluster a widget address names: "/embed/<name>" gives the name, percent-decoded (as the server
 * matched it); "/embed", "/embed/" and "/embed.html" give null, the whole bot. A name that does not decode
 * is returned as written, so the widget can say there is no such cluster.
 */
export function clusterFromPath(pathname) {
  const m = /^\/embed\/([^/]+)\/?$/.exec(pathname);
  if (!m) return null;
  try {
    return decodeURIComponent(m[1]);
  } catch {
    return m[1];
  }
}

/** The colour scheme `?theme=light|dark` forces, or null to follow the system's. */
export function themeFromSearch(search) {
  const theme = new URLSearchParams(search).get('theme');
  return theme === 'light' || theme === 'dark' ? theme : null;
}

/** The gap between squares of `cell` px: none when they are tiny (a gap would be most of the square). */
function gapFor(cell) {
  return cell >= 4 ? Math.max(1, Math.round(cell / 7)) : 0;
}

/**
 * Lays out clusters of `sizes` shards (each cluster starting a row of its own, a little apart) in a box
 * of `width` x `height` device pixels: the largest whole-pixel square from `maxCell` down to `minCell` with
 * which every shard fits, or `minCell` when none does (the box then scrolls). Returns {cell, gap, pitch,
 * cols, sep, tops (each cluster's first row, in px), width, height} (the px the grid covers).
 */
export function fitGrid(sizes, width, height, { maxCell = MAX_CELL, minCell = 1 } = {}) {
  let fit = null;
  for (let cell = Math.max(minCell, maxCell); cell >= minCell; cell--) {
    const gap = gapFor(cell);
    const pitch = cell + gap;
    const cols = Math.max(1, Math.floor((width + gap) / pitch));
    const sep = Math.max(2, Math.round(pitch / 2)); // between clusters: more than a gap, so they read apart
    const tops = [];
    let y = 0;
    for (const n of sizes) {
      tops.push(y);
      y += Math.ceil(n / cols) * pitch + sep;
    }
    const used = sizes.length ? y - sep - gap : 0;
    const longest = Math.max(0, ...sizes);
    fit = { cell, gap, pitch, cols, sep, tops, width: Math.min(cols, longest) * pitch - (longest ? gap : 0), height: used };
    if (used <= height) break;
  }
  return fit;
}

/** "348 online, 12 unhealthy": the states that have shards, in the API's order. */
export function countsSentence(counts) {
  const parts = [];
  counts.forEach((n, st) => { if (n > 0) parts.push(`${n.toLocaleString('en-US')} ${STATES[st]?.key ?? `in state ${st}`}`); });
  return parts.length ? parts.join(', ') : 'no shards';
}

/**
 * The canvas's accessible name: what the grid shows, in words, for a reader who cannot see it:
 * "Cluster main. Partial outage: 12 of 360 shards unhealthy. 12 unhealthy, 348 online."
 */
export function gridLabel(cluster, counts) {
  const sum = summarise(counts);
  const whose = cluster === null ? 'All clusters' : `Cluster ${cluster}`;
  const each = countsSentence(counts);
  return `${whose}. ${sum.title}: ${sum.detail}. ${each[0].toUpperCase()}${each.slice(1)}.`;
}

/** A hello's states string ("3331…", one digit per shard) as values; anything else reads as unknown (0). */
export function decodeStates(digits, shards) {
  const states = new Uint8Array(shards);
  const s = String(digits || '');
  for (let i = 0; i < shards && i < s.length; i++) {
    const v = s.charCodeAt(i) - 48;
    states[i] = v >= 0 && v < STATE_COUNT ? v : 0;
  }
  return states;
}

// ------------------------------------------------------------------------------------------ the page

function start() {
  const config = { title: 'Glance', ...(globalThis.GLANCE_CONFIG || {}) };
  const $ = (sel) => document.querySelector(sel);
  const cluster = clusterFromPath(location.pathname);
  const theme = themeFromSearch(location.search);
  // ?theme= lets the frame match the host page rather than the system: main.css picks its colours from
  // data-theme, and form controls and scrollbars follow the meta
  if (theme) {
    document.documentElement.dataset.theme = theme;
    document.querySelector('meta[name="color-scheme"]')?.setAttribute('content', theme);
  }
  document.title = cluster === null ? config.title : `${config.title}: ${cluster}`;

  const widget = $('#widget');
  const canvas = $('#grid');
  const box = $('#grid-box');
  // painted: hellos whose shards are on the canvas (a test waits for painted === hellos)
  const metrics = { hellos: 0, painted: 0, draws: 0, lastDrawMs: null, firstDrawAt: null };

  let shown = []; // [{name, shards, states: Uint8Array}]: the clusters this widget shows
  let counts = new Array(STATE_COUNT).fill(0);
  let layout = null;
  let dpr = 1;
  let colours = [];
  let missing = false; // the address names a cluster the feed does not have
  let status = { state: 'connecting', since: 0 };
  let frameQueued = false;
  let needsLayout = true;
  let maintenance = new Set(); // clusters in a maintenance window now, from /api/summary

  if (cluster !== null) {
    const name = $('#name');
    name.textContent = cluster;
    name.hidden = false;
  }

  // the key: one entry per state, shown only while some shard is in it (a small box has no room for
  // seven lines of zeroes); swatches take main.css's colour and pattern from data-state
  $('#key').replaceChildren(...STATES.map((st) => {
    const li = document.createElement('li');
    li.dataset.state = st.value;
    li.hidden = true;
    li.title = `${st.label}: ${st.meaning}`;
    li.innerHTML = '<i class="swatch" aria-hidden="true"></i><span class="key-label"></span> <span class="key-count"></span>';
    li.querySelector('.key-label').textContent = st.label;
    return li;
  }));
  const keyItems = [...$('#key').children];

  // the state colours as main.css resolves them (custom properties may hold light-dark() or color-mix(),
  // which a canvas cannot parse): a hidden probe computes each to rgb()
  const probe = document.createElement('i');
  probe.hidden = true;
  document.body.append(probe);
  function readColours() {
    colours = STATES.map((st) => {
      probe.style.color = `var(--c${st.value})`;
      return getComputedStyle(probe).color;
    });
  }

  function queueFrame({ relayout = false } = {}) {
    if (relayout) needsLayout = true;
    if (frameQueued) return;
    frameQueued = true;
    requestAnimationFrame(() => {
      frameQueued = false;
      paint();
    });
  }

  function relayout() {
    needsLayout = false;
    dpr = window.devicePixelRatio || 1;
    // the box's size comes from the frame (flex), never from the canvas, so this cannot feed back on itself
    const width = Math.floor(box.clientWidth * dpr);
    const height = Math.floor(box.clientHeight * dpr);
    layout = fitGrid(shown.map((c) => c.shards), width, height, { maxCell: Math.round(MAX_CELL * dpr) });
    canvas.width = Math.max(1, layout.width);
    canvas.height = Math.max(1, layout.height);
    canvas.style.width = `${canvas.width / dpr}px`;
    canvas.style.height = `${canvas.height / dpr}px`;
  }

  function draw() {
    const started = performance.now();
    if (needsLayout || !layout) relayout();
    const ctx = canvas.getContext('2d', { alpha: true });
    ctx.clearRect(0, 0, canvas.width, canvas.height);
    const { cell, pitch, cols, tops } = layout;
    let fill = -1;
    shown.forEach((c, ci) => {
      const top = tops[ci];
      const { states } = c;
      for (let s = 0; s < c.shards; s++) {
        const st = states[s];
        if (st !== fill) { ctx.fillStyle = colours[st] || colours[0]; fill = st; }
        ctx.fillRect((s % cols) * pitch, top + Math.floor(s / cols) * pitch, cell, cell);
      }
    });
    metrics.draws++;
    metrics.painted = metrics.hellos;
    metrics.lastDrawMs = performance.now() - started;
    if (metrics.firstDrawAt === null && shown.length) metrics.firstDrawAt = performance.now();
  }

  function paint() {
    if (missing) return;
    draw();
    const sum = widgetSummary(shown, maintenance);
    widget.dataset.level = sum.level;
    $('#condition').dataset.level = sum.level;
    $('#condition-title').textContent = sum.title;
    $('#condition-detail').textContent = sum.detail;
    canvas.setAttribute('aria-label', gridLabel(cluster, counts));
    keyItems.forEach((li, st) => {
      li.hidden = !(counts[st] > 0);
      li.querySelector('.key-count').textContent = (counts[st] || 0).toLocaleString('en-US');
    });
  }

  function showMissing() {
    widget.dataset.level = 'none';
    $('#condition').dataset.level = 'none';
    $('#condition-title').textContent = 'Unknown cluster';
    $('#condition-detail').textContent = '';
    const problem = $('#problem');
    problem.textContent = `This status page has no cluster named “${cluster}”. Check the address of this widget.`;
    problem.hidden = false;
    box.hidden = true;
    $('#key').hidden = true;
  }

  function onHello(msg) {
    metrics.hellos++;
    const all = (msg.clusters || []).map((c) => ({ name: String(c.name), shards: Math.max(0, Number(c.shards) || 0), digits: c.states }));
    const wanted = cluster === null ? all : all.filter((c) => c.name === cluster);
    missing = cluster !== null && wanted.length === 0;
    if (missing) {
      shown = [];
      showMissing();
      return;
    }
    $('#problem').hidden = true; // the cluster is back (a later hello, from a replica that knows it)
    box.hidden = false;
    $('#key').hidden = false;
    const sameShape = wanted.length === shown.length && wanted.every((c, i) => c.name === shown[i].name && c.shards === shown[i].shards);
    shown = wanted.map((c) => ({ name: c.name, shards: c.shards, states: decodeStates(c.digits, c.shards) }));
    counts = new Array(STATE_COUNT).fill(0);
    for (const c of shown) for (const st of c.states) counts[st]++;
    queueFrame({ relayout: !sameShape });
  }

  function onChanges(name, changes) {
    const c = shown.find((v) => v.name === name);
    if (!c) return; // another cluster's: not shown here
    for (const [s, st] of changes) {
      if (!(s >= 0 && s < c.shards) || !(st >= 0 && st < STATE_COUNT)) continue;
      counts[c.states[s]]--;
      counts[st]++;
      c.states[s] = st;
    }
    queueFrame();
  }

  // ---------------------------------------------------------------------------- connection status

  const WORDS = { connecting: 'Connecting…', live: 'Live', reconnecting: 'Reconnecting…', stale: 'Data may be stale' };
  function showStatus() {
    const { state, since } = status;
    const pill = $('#connection');
    pill.dataset.state = state;
    pill.querySelector('span').textContent = WORDS[state] ?? state;
    document.documentElement.dataset.feed = state; // embed.css washes the grid out while it may be old
    const stale = (state === 'reconnecting' || state === 'stale') && since > 0;
    const line = $('#stale');
    line.hidden = !stale;
    if (stale) {
      const now = Date.now();
      line.textContent = state === 'stale'
        ? `The status service lost its database at ${formatWhen(since, now)}; this may be out of date.`
        : `Live updates stopped at ${formatWhen(since, now)}; this may be out of date.`;
    }
  }
  setInterval(() => { if (status.state !== 'live') showStatus(); }, 1000); // "(42 s ago)" keeps counting

  // -------------------------------------------------------------------------------------- pointer

  // a hover says which shard a square is: the squares are too small for ids
  canvas.addEventListener('pointermove', (ev) => {
    if (!layout) return;
    const x = ev.offsetX * dpr;
    const y = ev.offsetY * dpr;
    const col = Math.floor(x / layout.pitch);
    let title = '';
    shown.forEach((c, ci) => {
      const row = Math.floor((y - layout.tops[ci]) / layout.pitch);
      const s = row * layout.cols + col;
      if (row >= 0 && col < layout.cols && s < c.shards && y >= layout.tops[ci]) {
        title = `${c.name} shard ${s}: ${stateLabel(c.states[s])}`;
      }
    });
    if (canvas.title !== title) canvas.title = title;
  });

  // ------------------------------------------------------------------------------------------ start

  readColours();
  // a colour scheme change (the system's, when none is forced) changes every colour: read them again
  matchMedia('(prefers-color-scheme: dark)').addEventListener('change', () => { readColours(); queueFrame(); });
  new ResizeObserver(() => queueFrame({ relayout: true })).observe(box);

  const feed = new Feed(config.feedUrl || defaultFeedUrl(location), {
    hello: onHello,
    changes: onChanges,
    status: (s) => { status = s; showStatus(); },
  });
  window.addEventListener('online', () => feed.reconnectNow());
  document.addEventListener('visibilitychange', () => { if (!document.hidden) feed.reconnectNow(); });
  showStatus();
  feed.start();
  // maintenance windows are not in the feed: the summary has them (small, and cached by the server)
  const api = (config.apiUrl || '').replace(/\/+$/, '');
  new Poller(async (signal) => {
    const { body } = await getJson(`${api}/api/summary`, { signal });
    const now = new Set(Array.isArray(body.maintenance) ? body.maintenance.map(String) : []);
    if ([...now].join() !== [...maintenance].join()) {
      maintenance = now;
      queueFrame();
    }
  }, { everyMs: 60000 }).start(1000);

  // for tests, and for operators poking at the console
  window.__embed = {
    feed,
    metrics,
    cluster,
    get counts() { return [...counts]; },
    get colours() { return [...colours]; },
    get layout() { return layout && { ...layout, dpr }; },
    /** The device-pixel square of `shard` of cluster `name` on the canvas, or null. */
    cellRect(name, shard) {
      const ci = shown.findIndex((c) => c.name === name);
      if (ci < 0 || !layout || shard >= shown[ci].shards) return null;
      const { pitch, cols, cell, tops } = layout;
      return { x: (shard % cols) * pitch, y: tops[ci] + Math.floor(shard / cols) * pitch, size: cell };
    },
  };
}

if (typeof document !== 'undefined') start();
