// app.js -- wires the page together: config and branding, the feed into the grids, the header's
// connection status, the stale-data notice, the overall summary and colour key, the settings (pulses,
// latency colouring and its key), the clusters' figures, and the incidents, maintenance and history
// (which never hold up the grids, and whose failures stay quiet).

import { Feed, defaultFeedUrl } from './feed.js';
import { Grid } from './grid.js';
import { Finder } from './finder.js';
import { Tooltip } from './tooltip.js';
import { STATES } from './states.js';
import { formatCount, formatWhen } from './format.js';
import { HistoryView } from './history.js';
import { Incidents, overallSummary } from './incidents.js';
import { ClusterFigures, LATENCY_BANDS, NO_FIGURE } from './figures.js';
import { Subscribe } from './subscribe.js';

const config = { title: 'Glance', pulseByDefault: true, ...(globalThis.GLANCE_CONFIG || {}) };
const $ = (sel) => document.querySelector(sel);
const PULSE_KEY = 'glance.pulse';
const COLOUR_KEY = 'glance.colour'; // 'latency' or 'state'

// firstRenderMs: from the first hello received to the grid painted; renders: one entry per hello
const metrics = { firstRenderMs: null, lastRenderMs: null, renders: [], helloToBuiltMs: null, firstPaintedAt: null };
let healthTimeout = 30;
let status = { state: 'connecting', since: 0, retryAt: 0 };
let frameQueued = false;
let levelsShown = null; // each cluster's level from its counts, as last drawn

// the feed first: its hello is on the way while the rest of the page sets itself up (its handlers run in
// later tasks, once everything below exists)
const feed = new Feed(config.feedUrl || defaultFeedUrl(location), {
  hello: (msg, receivedAt) => onHello(msg, receivedAt),
  changes: (name, changes) => { grid.applyChanges(name, changes); queueFrame(); },
  pings: (name, shards) => grid.pulse(name, shards),
  status: (s) => { status = s; showStatus(); },
});
feed.start();

// ------------------------------------------------------------------------------------------ branding

function applyBranding() {
  document.title = config.title;
  $('.brand-name').textContent = config.title;
  const brand = config.brand;
  if (!brand || !brand.name) return;
  const by = $('.brand-by');
  const link = by.querySelector('a');
  link.textContent = brand.name;
  if (brand.url) link.href = brand.url;
  else link.removeAttribute('href');
  if (brand.logo) $('.brand-logo').src = brand.logo;
  by.hidden = false;
}

/** The Atom feed's name, and its address when the API is on another host. */
function applyFeedLinks() {
  const api = (config.apiUrl || '').replace(/\/+$/, '');
  const link = document.querySelector('link[rel="alternate"][type="application/atom+xml"]');
  if (link) link.title = `${config.title}: incidents and maintenance`;
  if (api) for (const a of document.querySelectorAll('[href="/history.atom"]')) a.setAttribute('href', `${api}/history.atom`);
}

// -------------------------------------------------------------------------------- the page's parts

const subscribe = new Subscribe($('#subscribe-form'), $('#subscribe-result'));

const grid = new Grid($('#clusters'), {
  focus: (view, shard, el) => tooltip.show(view, shard, el, { focus: true }),
  blur: (el) => tooltip.hide(el),
  hover: (view, shard, el) => tooltip.show(view, shard, el),
  leave: (el) => { if (document.activeElement !== el) tooltip.hide(el); },
});
const tooltip = new Tooltip($('#shard-tip'), { apiUrl: config.apiUrl || '', healthTimeout: () => healthTimeout });
const finder = new Finder({ form: $('#finder'), input: $('#guild'), result: $('#guild-result'), grid, apiUrl: config.apiUrl || '' });
const figures = new ClusterFigures({
  apiUrl: config.apiUrl || '',
  onCluster: (name, f) => { grid.setFigures(name, f); queueFrame(); }, // the header counts silent shards
});
const historyView = new HistoryView($('#history'), $('#day-tip'), {
  apiUrl: config.apiUrl || '',
  onFlapping: (name, ids, count) => { grid.setFlapping(name, ids, count); queueFrame(); },
  onPainted: () => incidents.revealHash(),
});
const incidents = new Incidents(
  { banner: $('#notices'), announcer: $('#notices-said'), list: $('#incident-list'), note: $('#incidents-note') },
  { apiUrl: config.apiUrl || '', onMaintenance: (until) => { grid.setMaintenance(until); queueFrame(); } },
);
let historyStarted = false;
/**
 * The incidents, history and figures wait for the grids' first paint (or 2 s without a feed): the shards
 * come first.
 */
function startHistory() {
  if (historyStarted) return;
  historyStarted = true;
  incidents.start();
  historyView.start();
  figures.start();
}

function buildKey() {
  $('#key').replaceChildren(...STATES.map((st) => {
    const li = document.createElement('li');
    li.dataset.state = st.value;
    li.title = `${st.label}: ${st.meaning}`;
    li.innerHTML = '<i class="swatch" aria-hidden="true"></i><span class="key-label"></span> <span class="key-count"></span>';
    li.querySelector('.key-label').textContent = st.label;
    return li;
  }));
}

/** Redraws, at most once a frame, what depends on many shards: summaries, counts, finder, tooltip. */
function queueFrame() {
  if (frameQueued) return;
  frameQueued = true;
  requestAnimationFrame(() => {
    frameQueued = false;
    grid.refreshSummaries();
    // a cluster's condition changed: an incident may have been opened or closed, look soon
    const levels = grid.views.map((v) => `${v.name}=${v.level}`).join(',');
    if (levelsShown !== null && levels !== levelsShown) incidents.soon();
    levelsShown = levels;
    const totals = grid.totals();
    const sum = overallSummary(grid.views.map((v) => ({ name: v.name, counts: v.counts, maintenanceUntil: v.maintenanceUntil })));
    $('#overall').dataset.level = sum.level;
    $('.overview').dataset.level = sum.level;
    $('#overall-title').textContent = sum.title;
    $('#overall-detail').textContent = sum.detail;
    const counts = $('#key').querySelectorAll('.key-count');
    counts.forEach((el, i) => { el.textContent = formatCount(totals[i]); });
    finder.refresh();
    tooltip.refresh();
  });
}

// ------------------------------------------------------------------------------ connection status

function showStatus() {
  const { state, since, retryAt } = status;
  const pill = $('#connection');
  pill.dataset.state = state;
  const now = Date.now();
  const wait = retryAt > now ? Math.ceil((retryAt - now) / 1000) : 0;
  const words = {
    connecting: wait ? `Cannot connect, retrying in ${wait} s` : 'Connecting…',
    live: 'Live',
    stale: 'Data may be stale',
    reconnecting: wait ? `Disconnected, retrying in ${wait} s` : 'Reconnecting…',
  };
  pill.querySelector('span').textContent = words[state];
  document.documentElement.dataset.feed = state;

  const banner = $('#stale');
  const stale = (state === 'reconnecting' || state === 'stale') && since > 0;
  banner.hidden = !stale;
  if (stale) {
    const what = state === 'stale'
      ? `The status service lost its database at ${formatWhen(since, now)}.`
      : `Live updates stopped at ${formatWhen(since, now)}.`;
    $('#stale-text').textContent = `${what} The shards below may be out of date; this page reconnects by itself.`;
  }
}

setInterval(() => { if (status.state !== 'live') showStatus(); }, 1000);

// ---------------------------------------------------------------------------------------- the feed

function onHello(msg, receivedAt) {
  const startedAt = performance.now();
  healthTimeout = Number(msg.health_timeout) || healthTimeout;
  const clusters = msg.clusters || [];
  const inPlace = grid.load(clusters);
  subscribe.setClusters(clusters.map((c) => c.name));
  if (!inPlace) tooltip.hide(); // its shard element is gone
  $('#clusters').removeAttribute('aria-busy');
  if (!inPlace || metrics.firstRenderMs === null) finder.reload();
  else finder.refresh();
  queueFrame();
  const builtAt = performance.now();
  // the frame after this one has been painted once both a frame callback and a task after it ran
  requestAnimationFrame(() => setTimeout(() => {
    const ms = performance.now() - receivedAt;
    const shards = clusters.reduce((n, c) => n + c.shards, 0);
    metrics.renders.push({ shards, inPlace, ms, buildMs: builtAt - startedAt, parseMs: startedAt - receivedAt });
    if (metrics.firstRenderMs === null) {
      metrics.firstRenderMs = ms;
      metrics.helloToBuiltMs = builtAt - receivedAt;
      metrics.firstPaintedAt = performance.now(); // since navigation start
      startHistory();
      incidents.revealHash();
    }
    metrics.lastRenderMs = ms;
  }, 0));
}

window.addEventListener('online', () => feed.reconnectNow());
document.addEventListener('visibilitychange', () => { if (!document.hidden) feed.reconnectNow(); });

// ---------------------------------------------------------------------------------------- settings

function loadPulse() {
  let saved = null;
  try { saved = localStorage.getItem(PULSE_KEY); } catch { /* storage blocked: use the default */ }
  if (saved === 'on' || saved === 'off') return saved === 'on';
  return Boolean(config.pulseByDefault) && !matchMedia('(prefers-reduced-motion: reduce)').matches;
}

const pulseBox = $('#pulse');
pulseBox.checked = grid.pulseEnabled = loadPulse();
pulseBox.addEventListener('change', () => {
  grid.pulseEnabled = pulseBox.checked;
  try { localStorage.setItem(PULSE_KEY, pulseBox.checked ? 'on' : 'off'); } catch { /* not remembered */ }
});

// colour by latency: a class on the grids (main.css does the rest) and a key that says the thresholds
function buildLatencyKey() {
  $('#latency-key ul').replaceChildren(...[...LATENCY_BANDS, NO_FIGURE].map((b) => {
    const li = document.createElement('li');
    li.dataset.band = b.band;
    li.innerHTML = '<i class="swatch" aria-hidden="true"></i><span class="key-label"></span>';
    li.querySelector('.key-label').textContent = b.label;
    return li;
  }));
}

function showColouring(byLatency) {
  $('#clusters').dataset.colour = byLatency ? 'latency' : 'state';
  $('#latency-key').hidden = !byLatency;
}

const latencyBox = $('#by-latency');
let savedColour = null;
try { savedColour = localStorage.getItem(COLOUR_KEY); } catch { /* storage blocked: states, as by default */ }
latencyBox.checked = savedColour === 'latency';
showColouring(latencyBox.checked);
latencyBox.addEventListener('change', () => {
  showColouring(latencyBox.checked);
  try { localStorage.setItem(COLOUR_KEY, latencyBox.checked ? 'latency' : 'state'); } catch { /* not remembered */ }
});

// ------------------------------------------------------------------------------------------- start

applyBranding();
applyFeedLinks();
buildKey();
buildLatencyKey();
showStatus();
setTimeout(startHistory, 2000);

// for tests and for operators poking at the console
window.__glance = { feed, grid, finder, metrics, config, history: historyView, incidents, figures };
