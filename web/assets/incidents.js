// incidents.js -- incidents and maintenance from GET /api/incidents: the banner at the top of the page
// (what is open or under way now, and maintenance starting within a day), the list below the grids
// (newest first, with every update), and which clusters are under maintenance now. Every text from the
// API goes in with textContent, inside <bdi> or dir="auto", so no title can run script or turn the page
// around. The pure functions come first and need no DOM.

import { formatAgo, formatClock, formatIn, formatTime } from './format.js';
import { getJson, Poller } from './poll.js';
import { STATES, summarise } from './states.js';

export const INCIDENTS_EVERY_MS = 60 * 1000;
export const SOON_MS = 24 * 3600 * 1000; // maintenance starting within this is in the banner
const FOLLOW_UPS_MS = [10000, 35000]; // after a cluster's condition changed, look again this long after
const SOON_GAP_MS = 5000; // the least time between asks prompted by condition changes

/** Impact values, worst last, with their words. */
export const IMPACTS = {
  none: 'No impact', minor: 'Minor', major: 'Major', critical: 'Critical', maintenance: 'Maintenance',
};
const RANK = { critical: 4, major: 3, minor: 2, none: 1 };

/** The impact's key when it is one this page knows, else 'none'. */
export function impactOf(x) {
  return Object.hasOwn(IMPACTS, x?.impact) ? x.impact : (x?.kind === 'maintenance' ? 'maintenance' : 'none');
}

/** A status value for people: "investigating" -> "Investigating"; anything else as given. */
export function statusLabel(status) {
  const s = String(status ?? '');
  return s ? s[0].toUpperCase() + s.slice(1) : '';
}

const ms = (x) => (x === null || x === undefined || x === '' || !Number.isFinite(Number(x)) ? null : Number(x));

/** Whether an incident or maintenance is still open (not resolved). */
export function isOpen(inc) {
  return ms(inc?.resolved_ms) === null;
}

/**
 * Where a maintenance stands at `now`: 'scheduled' (before its start), 'in progress' (started, not
 * ended, not resolved) or 'completed' (ended or resolved). An incident: 'open' or 'resolved'.
 */
export function phaseOf(inc, now) {
  if (inc?.kind !== 'maintenance') return isOpen(inc) ? 'open' : 'resolved';
  if (!isOpen(inc)) return 'completed';
  const starts = ms(inc.starts_ms);
  const ends = ms(inc.ends_ms);
  if (starts !== null && now < starts) return 'scheduled';
  if (ends !== null && now >= ends) return 'completed';
  return 'in progress';
}

/** The newest update of an incident (by time, whatever the order given), or null. */
export function latestUpdate(inc) {
  const ups = Array.isArray(inc?.updates) ? inc.updates : [];
  let best = null;
  for (const u of ups) if (u && (best === null || (ms(u.at_ms) ?? 0) > (ms(best.at_ms) ?? 0))) best = u;
  return best;
}

/** When an incident last changed: its newest update, else its creation. */
export function updatedAt(inc) {
  return ms(latestUpdate(inc)?.at_ms) ?? ms(inc?.created_ms);
}

/**
 * What the banner shows at `now`: every open incident (worst impact first, then newest), then every
 * maintenance in progress (ending soonest first), then every maintenance starting within 24 h
 * (starting soonest first).
 */
export function bannerItems(incidents, now) {
  const list = Array.isArray(incidents) ? incidents.filter((x) => x && typeof x === 'object') : [];
  const open = list.filter((x) => x.kind !== 'maintenance' && isOpen(x))
    .sort((a, b) => (RANK[impactOf(b)] ?? 0) - (RANK[impactOf(a)] ?? 0) || (ms(b.created_ms) ?? 0) - (ms(a.created_ms) ?? 0));
  const maint = list.filter((x) => x.kind === 'maintenance');
  const now_ = maint.filter((x) => phaseOf(x, now) === 'in progress')
    .sort((a, b) => (ms(a.ends_ms) ?? Infinity) - (ms(b.ends_ms) ?? Infinity));
  const next = maint.filter((x) => phaseOf(x, now) === 'scheduled' && ms(x.starts_ms) - now <= SOON_MS)
    .sort((a, b) => ms(a.starts_ms) - ms(b.starts_ms));
  return [...open, ...now_, ...next];
}

/**
 * The clusters under maintenance at `now`: a Map from cluster name to the end of its window (unix ms;
 * Infinity for a window without an end; the latest end when windows overlap).
 */
export function maintenanceByCluster(incidents, now) {
  const out = new Map();
  for (const x of Array.isArray(incidents) ? incidents : []) {
    if (x?.kind !== 'maintenance' || phaseOf(x, now) !== 'in progress') continue;
    const ends = ms(x.ends_ms) ?? Infinity;
    for (const c of Array.isArray(x.clusters) ? x.clusters : []) {
      const name = String(c);
      if (!out.has(name) || out.get(name) < ends) out.set(name, ends);
    }
  }
  return out;
}

/** The next time at or after `now` when a maintenance starts or ends (so the page can look again), or null. */
export function nextChange(incidents, now) {
  let next = null;
  for (const x of Array.isArray(incidents) ? incidents : []) {
    if (x?.kind !== 'maintenance' || !isOpen(x)) continue;
    for (const t of [ms(x.starts_ms), ms(x.ends_ms)]) if (t !== null && t > now && (next === null || t < next)) next = t;
  }
  return next;
}

/** "alpha", "alpha and beta", "alpha, beta and gamma"; "all clusters" for none named. */
export function clusterWords(clusters) {
  const names = (Array.isArray(clusters) ? clusters : []).map(String);
  if (names.length === 0) return 'all clusters';
  if (names.length === 1) return names[0];
  return `${names.slice(0, -1).join(', ')} and ${names[names.length - 1]}`;
}

/**
 * When a maintenance happens, in words. Relative (for the banner): "Until 16:00 UTC (in 2 h)",
 * "Starts 14:00 UTC (in 3 h), until 16:00 UTC". Absolute (for the list): "14:00 UTC to 16:00 UTC".
 */
export function windowWords(inc, now, { relative = true } = {}) {
  const starts = ms(inc.starts_ms);
  const ends = ms(inc.ends_ms);
  const phase = phaseOf(inc, now);
  if (relative && phase === 'scheduled' && starts !== null) {
    return `Starts ${formatClock(starts, now)} (${formatIn(starts, now)}), ${ends !== null ? `until ${formatClock(ends, now)}` : 'no end set'}`;
  }
  if (relative && phase === 'in progress') return ends !== null ? `Until ${formatClock(ends, now)} (${formatIn(ends, now)})` : 'No end set';
  const from = starts !== null ? formatClock(starts, now) : null;
  const to = ends !== null ? formatClock(ends, now) : null;
  if (from && to) return `${from} to ${to}`;
  if (from) return `from ${from}, no end set`;
  return to ? `until ${to}` : 'no times set';
}

/**
 * The whole bot's summary ({level, title, detail}, as summarise()) when some clusters may be under
 * maintenance: `clusters` is [{name, counts, maintenanceUntil (null when not)}]. The clusters under
 * maintenance are left out of the sum and named in the detail; with every cluster under maintenance
 * the level is 'maintenance'.
 */
export function overallSummary(clusters) {
  const inMaint = clusters.filter((c) => c.maintenanceUntil !== null && c.maintenanceUntil !== undefined);
  const others = clusters.filter((c) => !inMaint.includes(c));
  const totals = new Array(STATES.length).fill(0);
  for (const c of others) c.counts.forEach((n, i) => { totals[i] += n || 0; });
  if (inMaint.length === 0) return summarise(totals);
  const names = clusterWords(inMaint.map((c) => c.name));
  if (others.length === 0) {
    return { level: 'maintenance', title: 'Under maintenance', detail: `Maintenance on ${names}` };
  }
  const sum = summarise(totals);
  return { ...sum, detail: `${sum.detail}; ${names} under maintenance` };
}

// -------------------------------------------------------------------------------------------- the DOM

const el = (tag, cls, text) => {
  const e = document.createElement(tag);
  if (cls) e.className = cls;
  if (text !== undefined && text !== null) e.textContent = text;
  return e;
};

/** Text from the API, isolated from what surrounds it (a title with RTL marks cannot reorder the page). */
const userText = (tag, cls, text) => {
  const e = el(tag, cls, String(text ?? ''));
  if (tag !== 'bdi') e.dir = 'auto';
  return e;
};

/** A <time> that says "5 min ago" (kept fresh by tick()), with the exact time in its title. */
function ago(at, now, prefix = '') {
  const t = el('time', 'ago', `${prefix}${formatAgo(at, now)}`);
  t.dateTime = new Date(at).toISOString();
  t.title = new Date(at).toString();
  t.dataset.at = at;
  t.dataset.prefix = prefix;
  return t;
}

function impactChip(inc) {
  const impact = impactOf(inc);
  const chip = el('span', 'impact', IMPACTS[impact]);
  chip.dataset.impact = impact;
  return chip;
}

/** Rewrites every "… ago" time under `root` for `now`. */
function refreshTimes(root, now) {
  for (const t of root.querySelectorAll('time.ago')) t.textContent = `${t.dataset.prefix}${formatAgo(Number(t.dataset.at), now)}`;
}

const anchor = (inc) => `incident-${String(inc.id).replace(/[^A-Za-z0-9_-]/g, '_')}`;

/**
 * The banner, the list and the maintenance state. `banner` (index.html's #notices) holds a list
 * .notices-list; `announcer` is a polite live region told of new banner entries only; `list` is the
 * history list's <ol>; `onMaintenance(map)` hears maintenanceByCluster() whenever it may have changed.
 * start() fetches now and every minute; soon() asks again shortly (a cluster's condition changed).
 */
/** Marks a banner notice or list entry with its impact, kind and phase (for the stylesheet). */
function markItem(li, inc, now) {
  li.dataset.impact = impactOf(inc);
  li.dataset.kind = inc.kind === 'maintenance' ? 'maintenance' : 'incident';
  li.dataset.phase = phaseOf(inc, now);
  return li;
}

export class Incidents {
  constructor({ banner, announcer, list, note }, { apiUrl = '', onMaintenance = () => {}, fetchImpl } = {}) {
    this.banner = banner;
    this.bannerList = banner.querySelector('.notices-list');
    this.announcer = announcer;
    this.list = list;
    this.note = note;
    this.apiUrl = apiUrl.replace(/\/+$/, '');
    this.onMaintenance = onMaintenance;
    this.fetchImpl = fetchImpl;
    this.incidents = [];
    this.offset = 0; // the server's clock minus ours
    this.shown = ''; // the response text last drawn
    this.bannerKey = ''; // ids and latest updates in the banner, to announce only what is new
    this.bannerShown = new Map(); // id -> what the banner shows, to announce what left it
    this.maintKey = '';
    this.loaded = false;
    this.announced = false;
    this.reveal = null; // the entry named by the address, while the page should keep it in view
    this.bannerDrawn = '';
    this.listPhases = null;
    this.boundary = 0;
    this.stats = { loads: 0, failures: 0 };
    this.poller = new Poller(() => this.fetch(), { everyMs: INCIDENTS_EVERY_MS, retryMs: 10000 });
    this.follow = FOLLOW_UPS_MS.map(() => 0);
    this.fetchedAt = 0; // when the last ask started
    setInterval(() => this.tick(), 15000);
  }

  now() {
    return Date.now() + this.offset;
  }

  start() {
    this.poller.start(0);
  }

  /**
   * A cluster's condition changed: ask again shortly, then twice more while an automatic incident may be
   * opened or closed (the server waits GLANCE_ALERT_DELAY, 30 s by default, before it does). Follow-ups
   * already planned are kept, and asks come SOON_GAP_MS apart at least, so a cluster that keeps changing
   * costs little more than the minute's poll; all are jittered.
   */
  soon() {
    // a cluster that flips every second (a restart wave) must not make every page ask every second
    this.poller.soon(Math.max(1500, this.fetchedAt + SOON_GAP_MS - Date.now()));
    FOLLOW_UPS_MS.forEach((ms, i) => {
      if (this.follow[i]) return;
      this.follow[i] = setTimeout(() => { this.follow[i] = 0; this.poller.soon(0); }, ms * (1 + 0.15 * Math.random()));
    });
  }

  async fetch() {
    this.fetchedAt = Date.now();
    try {
      const { body, text } = await getJson(`${this.apiUrl}/api/incidents`, { fetchImpl: this.fetchImpl });
      this.stats.loads++;
      const serverNow = Number(body?.now_ms);
      if (serverNow > 0) this.offset = serverNow - Date.now();
      this.incidents = Array.isArray(body?.incidents) ? body.incidents.filter((x) => x && typeof x === 'object') : [];
      this.loaded = true;
      if (text !== this.shown) {
        this.shown = text;
        this.listPhases = null; // redraw the list
      }
      this.renderBanner();
      this.note.hidden = true;
    } catch (err) {
      this.stats.failures++;
      if (!this.loaded) {
        this.note.textContent = 'Incidents are unavailable right now; this page will try again.';
        this.note.hidden = false;
      }
      throw err; // the poller retries; the banner keeps what it showed
    }
  }

  /** Redraws what depends on the clock: the banner's entries, "ago" times, maintenance state. */
  tick() {
    if (this.loaded) this.renderBanner();
  }

  renderBanner() {
    const now = this.now();
    const items = bannerItems(this.incidents, now);
    const phases = items.map((x) => phaseOf(x, now));
    const draw = JSON.stringify([items, phases]);
    if (draw !== this.bannerDrawn) { // rebuilt only when something in it changed: a focused link stays
      this.bannerDrawn = draw;
      this.bannerList.replaceChildren(...items.map((inc, i) => this.notice(inc, now, i)));
    } else {
      refreshTimes(this.bannerList, now);
      this.bannerList.querySelectorAll('.window').forEach((w, i) => { w.textContent = windowWords(items[Number(w.dataset.item)] ?? items[i], now); });
    }
    this.banner.hidden = items.length === 0;
    this.banner.dataset.impact = items.length ? impactOf(items[0]) : '';

    const key = items.map((x, i) => `${x.id}:${phases[i]}:${updatedAt(x)}`).join(',');
    if (key !== this.bannerKey) {
      const before = new Set(this.bannerKey.split(','));
      const fresh = items.filter((x, i) => !before.has(`${x.id}:${phases[i]}:${updatedAt(x)}`));
      const ids = new Set(items.map((x) => String(x.id)));
      const gone = [...this.bannerShown.values()].filter((x) => !ids.has(String(x.id)));
      // the first load says nothing: what is there when the page opens is read with the page
      if (this.announced) {
        const words = [
          ...fresh.map((x) => `${x.kind === 'maintenance' ? `Maintenance ${phaseOf(x, now)}` : `${IMPACTS[impactOf(x)]} incident`}: ${String(x.title ?? '')}`),
          ...gone.map((x) => `${x.kind === 'maintenance' ? 'Maintenance over' : 'Resolved'}: ${String(x.title ?? '')}`),
        ];
        if (words.length) this.announcer.textContent = words.join('. ');
      }
      this.bannerKey = key;
      this.bannerShown = new Map(items.map((x) => [String(x.id), x]));
    }
    this.announced = true;

    // the list's phases move with the clock too (scheduled, in progress, completed)
    const listPhases = this.incidents.map((x) => phaseOf(x, now)).join(',');
    if (listPhases !== this.listPhases) { this.listPhases = listPhases; this.renderList(); } else refreshTimes(this.list, now);

    const maint = maintenanceByCluster(this.incidents, now);
    const mkey = [...maint].map(([c, t]) => `${c}=${t}`).join(',');
    if (mkey !== this.maintKey) {
      this.maintKey = mkey;
      this.onMaintenance(maint);
    }
    // look again when a window opens or closes, not only at the next tick
    const next = nextChange(this.incidents, now);
    clearTimeout(this.boundary);
    if (next !== null && next - now < 15000) this.boundary = setTimeout(() => this.renderBanner(), next - now + 50);
  }

  notice(inc, now, index) {
    const li = markItem(el('li', 'notice'), inc, now);
    const head = el('p', 'notice-head');
    const title = el('strong', 'notice-title');
    title.append(userText('bdi', null, inc.title));
    // the chip says "Maintenance" already: the word beside it says where it stands
    const kind = inc.kind === 'maintenance' ? (phaseOf(inc, now) === 'scheduled' ? 'Scheduled' : 'In progress') : 'Incident';
    head.append(impactChip(inc), el('span', 'notice-kind', kind), title);
    const meta = el('p', 'notice-meta');
    meta.append(el('span', null, `Affects ${clusterWords(inc.clusters)}`));
    if (inc.kind === 'maintenance') {
      const w = el('span', 'window', windowWords(inc, now));
      w.dataset.item = index;
      meta.append(w);
    }
    else if (inc.status) meta.append(el('span', null, statusLabel(inc.status)));
    if (inc.automatic === true) meta.append(el('span', 'auto', inc.source === 'alertmanager' ? 'Alertmanager' : 'Automatic'));
    li.append(head, meta);
    const up = latestUpdate(inc);
    if (up && up.text) li.append(userText('p', 'notice-text', up.text));
    const foot = el('p', 'notice-foot');
    const at = updatedAt(inc);
    if (at !== null) foot.append(ago(at, now, up ? 'Updated ' : 'Posted '), ' · ');
    const link = el('a', null, 'Details');
    link.href = `#${anchor(inc)}`;
    link.setAttribute('aria-label', `Details of ${String(inc.title ?? '')}`);
    foot.append(link);
    li.append(foot);
    return li;
  }

  renderList() {
    const now = this.now();
    if (this.incidents.length === 0) {
      this.list.replaceChildren(el('li', 'incident-none', 'No incidents or maintenance recorded.'));
      return;
    }
    this.list.replaceChildren(...this.incidents.map((inc) => this.entry(inc, now)));
    this.revealHash();
  }

  /**
   * An address such as /#incident-7 (the Atom feed's links) names an entry that exists only once the list
   * is drawn, and the grids and the history drawn above it later push it down: go to it each time this is
   * called (app.js calls it after each of those), until the reader scrolls, taps or types.
   */
  revealHash() {
    if (this.reveal === null) {
      const hash = globalThis.location?.hash ?? '';
      this.reveal = /^#incident-[\w-]+$/.test(hash) ? hash.slice(1) : '';
      if (this.reveal) {
        const stop = () => { this.reveal = ''; };
        for (const ev of ['wheel', 'touchstart', 'keydown', 'pointerdown']) addEventListener(ev, stop, { once: true, passive: true });
      }
    }
    const target = this.reveal && document.getElementById(this.reveal);
    if (!target) return;
    target.scrollIntoView({ block: 'start' });
    if (document.activeElement !== target) target.focus({ preventScroll: true });
  }

  entry(inc, now) {
    const li = markItem(el('li', 'incident'), inc, now);
    li.id = anchor(inc);
    li.tabIndex = -1; // the banner's "Details" link lands here
    const head = el('div', 'incident-head');
    const h = el('h3', 'incident-title');
    h.append(userText('bdi', null, inc.title));
    head.append(impactChip(inc), h);
    if (inc.automatic === true) {
      const alertmanager = inc.source === 'alertmanager';
      const auto = el('span', 'auto', alertmanager ? 'Alertmanager' : 'Automatic');
      auto.title = alertmanager ? 'Opened by the bot\'s Alertmanager when its alerts fired'
        : 'Opened by Glance when the cluster\'s condition changed';
      head.append(auto);
    }
    const meta = el('p', 'incident-meta');
    const created = ms(inc.created_ms);
    const resolved = ms(inc.resolved_ms);
    const bits = [inc.kind === 'maintenance' ? 'Maintenance' : 'Incident', `affects ${clusterWords(inc.clusters)}`];
    if (inc.kind === 'maintenance') bits.push(`${statusLabel(phaseOf(inc, now))}: ${windowWords(inc, now, { relative: false })}`);
    if (created !== null) bits.push(`posted ${formatTime(created, now)}`);
    if (resolved !== null) bits.push(`${inc.kind === 'maintenance' ? 'completed' : 'resolved'} ${formatTime(resolved, now)}`);
    else if (inc.kind !== 'maintenance') bits.push('ongoing');
    meta.textContent = bits.join(' · ');
    li.append(head, meta);
    const ups = (Array.isArray(inc.updates) ? inc.updates : []).filter((u) => u && typeof u === 'object')
      .slice().sort((a, b) => (ms(b.at_ms) ?? 0) - (ms(a.at_ms) ?? 0));
    if (ups.length) {
      const ol = el('ol', 'updates');
      ol.setAttribute('aria-label', 'Updates, newest first');
      for (const u of ups) {
        const item = el('li', 'update');
        const when = el('p', 'update-head');
        const at = ms(u.at_ms);
        if (at !== null) {
          const t = el('time', null, formatTime(at, now));
          t.dateTime = new Date(at).toISOString();
          when.append(t, ' ');
        }
        if (u.status) when.append(el('strong', null, statusLabel(u.status)));
        item.append(when);
        if (u.text) item.append(userText('p', 'update-text', u.text));
        ol.append(item);
      }
      li.append(ol);
    }
    return li;
  }
}
