// figures.js -- what bots report besides states: latency, guilds, members, gateway counters. The latency bands
// the grid can be coloured by, the figures in words for a shard's tooltip and a cluster's header, what Glance
// concludes from the gateway counters (silent shards, a reconnect storm, a short identify budget) in words, and
// the poller of GET /api/figures that hands each cluster's figures to the page. The pure functions come first.

import { formatCount, formatAgo, formatDuration, formatHourMinute } from './format.js';
import { getJson, Poller } from './poll.js';

export const FIGURES_EVERY_MS = 15000; // the server refreshes its figures at most every 5 s

/**
 * The latency bands, fastest first: a latency below `below` ms (and at or above the band before's) falls
 * in the band. The legend's words are made from these numbers, so the two cannot disagree.
 */
export const LATENCY_BANDS = [{ below: 100 }, { below: 250 }, { below: 500 }, { below: Infinity }]
  .map((b, i, all) => ({
    ...b,
    band: i,
    label: i === 0 ? `< ${b.below} ms`
      : b.below === Infinity ? `≥ ${all[i - 1].below} ms`
        : `${all[i - 1].below}–${b.below} ms`,
  }));
export const NO_FIGURE = { band: 'none', label: 'No recent figure' };

/** A figure (a latency in ms, a count) that can be shown: a number from 0 up, or such a number as text. */
export function figureOf(x) {
  if (typeof x !== 'number' && (typeof x !== 'string' || x.trim() === '')) return null; // Number([]) is 0
  const n = Number(x);
  return Number.isFinite(n) && n >= 0 ? n : null;
}

/** The band of a latency: 0 (fastest) to 3, or 'none' when there is no usable figure. */
export function latencyBand(x) {
  const ms = figureOf(x);
  if (ms === null) return 'none';
  return LATENCY_BANDS.find((b) => ms < b.below).band;
}

/** "42 ms", "1,204 ms": whole milliseconds, as the server rounds them. */
export function formatMs(ms) {
  return `${formatCount(Math.round(ms))} ms`;
}

/** A cluster's latency in words: "median 42 ms, p95 120 ms"; null when it has no fresh figure. */
export function latencyText(latency) {
  const median = figureOf(latency?.median);
  const p95 = figureOf(latency?.p95);
  if (median === null) return null;
  return p95 === null ? `median ${formatMs(median)}` : `median ${formatMs(median)}, p95 ${formatMs(p95)}`;
}

/**
 * A cluster's figures in words for its header, one part each:
 * ["123,456 guilds (12 unavailable)", "1,234,567 members", "latency median 42 ms, p95 120 ms"].
 * Empty when the cluster's bots report no figures at all.
 */
export function clusterFigureParts(c) {
  const parts = [];
  const guilds = figureOf(c?.guilds);
  const unavailable = figureOf(c?.unavailable_guilds);
  const members = figureOf(c?.members);
  const reporting = figureOf(c?.reporting) ?? 0;
  const latency = latencyText(c?.latency_ms);
  if (guilds !== null && (guilds > 0 || reporting > 0)) {
    parts.push(`${formatCount(guilds)} ${guilds === 1 ? 'guild' : 'guilds'}${unavailable > 0 ? ` (${formatCount(unavailable)} unavailable)` : ''}`);
  }
  if (members !== null && (members > 0 || reporting > 0)) parts.push(`${formatCount(members)} ${members === 1 ? 'member' : 'members'}`);
  if (latency) parts.push(`latency ${latency}`);
  else if (parts.length) parts.push('no recent latency'); // figures, but none fresh: say so rather than nothing
  // Discord closes a shard's connection past 2,500 guilds: the server counts those at 90 % of it
  const near = figureOf(c?.guild_cap?.near);
  if (near > 0) parts.push(`${formatCount(near)} ${near === 1 ? 'shard' : 'shards'} near the guild cap: reshard soon`);
  // the gateway's figures last and quietly: the warnings (gatewayWarnings) say what needs attention
  const rate = figureOf(c?.gateway?.events_per_s);
  if (rate !== null && figureOf(c?.gateway?.reporting) > 0) parts.push(`${formatRate(rate)} events/s`);
  const budget = budgetText(c?.gateway?.session);
  if (budget) parts.push(budget);
  return parts;
}

/** "1,234", "12.5", "0.25": a rate with as many decimals as a reader needs for its size. */
export function formatRate(x) {
  if (x >= 100) return formatCount(Math.round(x));
  if (x >= 10) return String(Math.round(x * 10) / 10);
  return String(Math.round(x * 100) / 100);
}

/** "identify budget 998 of 1,000 left, 16 at once": a cluster's session budget; null without one. */
export function budgetText(session) {
  const total = figureOf(session?.total);
  const remaining = figureOf(session?.remaining);
  if (total === null || remaining === null) return null;
  const at = figureOf(session?.max_concurrency);
  return `identify budget ${formatCount(remaining)} of ${formatCount(total)} left${at > 0 ? `, ${formatCount(at)} at once` : ''}`;
}

/**
 * What a cluster's gateway figures (the `gateway` member of a cluster in GET /api/figures) warn of, in words,
 * for its header: a reconnect storm, an identify budget that a full restart would exhaust (its reset in the
 * reader's time zone, with the date when not today). [] when nothing does. `shards` is the cluster's shard count.
 */
export function gatewayWarnings(gateway, shards, now = Date.now()) {
  const warnings = [];
  if (!gateway || typeof gateway !== 'object') return warnings;
  if (gateway.storm === true) {
    const identifies = figureOf(gateway.identifies_per_min) ?? 0;
    const resumes = figureOf(gateway.resumes_per_min) ?? 0;
    warnings.push({
      kind: 'storm',
      text: `Reconnect storm: ${formatCount(identifies)} ${identifies === 1 ? 'identify' : 'identifies'} and `
        + `${formatCount(resumes)} ${resumes === 1 ? 'resume' : 'resumes'} a minute`,
    });
  }
  const s = gateway.session;
  const remaining = figureOf(s?.remaining);
  if (s?.short === true && remaining !== null) {
    const reset = figureOf(s.reset_at_ms);
    warnings.push({
      kind: 'budget',
      text: `A full restart now would exhaust the daily identify budget (${formatCount(remaining)} left, `
        + `${formatCount(figureOf(shards) ?? 0)} shards)${reset > 0 ? `; it resets at ${formatHourMinute(reset, now)}` : ''}`,
    });
  }
  return warnings;
}

/** The ids of a cluster's silent shards that GET /api/figures lists (the first 1000), and how many there are. */
export function silentShards(gateway) {
  const ids = (Array.isArray(gateway?.silent_shards) ? gateway.silent_shards : [])
    .map(Number).filter((s) => Number.isInteger(s) && s >= 0);
  const count = figureOf(gateway?.silent);
  return { ids, count: count === null ? ids.length : Math.max(count, ids.length) };
}

/**
 * A shard's figures for its tooltip, from the `figures` member of GET /api/status/<cluster>/<id>:
 * ["Latency 42 ms", "1,000 guilds, 3 unavailable", "25,000 members", "Reported 12 s ago"]. A figure
 * never reported is left out; unavailable guilds only when there are some; [] when `figures` is null.
 */
export function shardFigureLines(figures, now = Date.now()) {
  if (!figures || typeof figures !== 'object') return [];
  const lines = [];
  const latency = figureOf(figures.latency_ms);
  const guilds = figureOf(figures.guilds);
  const unavailable = figureOf(figures.unavailable_guilds);
  const members = figureOf(figures.members);
  const at = Number(figures.reported_ms);
  if (latency !== null) lines.push(`Latency ${formatMs(latency)}`);
  if (guilds !== null) {
    lines.push(`${formatCount(guilds)} ${guilds === 1 ? 'guild' : 'guilds'}${unavailable > 0 ? `, ${formatCount(unavailable)} unavailable` : ''}`
      + `${figures.near_guild_cap === true ? ' (near the 2,500 cap: reshard soon)' : ''}`);
  } else if (unavailable > 0) {
    lines.push(`${formatCount(unavailable)} unavailable ${unavailable === 1 ? 'guild' : 'guilds'}`);
  }
  if (members !== null) lines.push(`${formatCount(members)} ${members === 1 ? 'member' : 'members'}`);
  if (lines.length && Number.isFinite(at) && at > 0) lines.push(`Reported ${formatAgo(Math.min(at, now), now)}`);
  return lines;
}

const counted = (n, one, many) => `${formatCount(n)} ${n === 1 ? one : many}`;

/**
 * A shard's gateway in words for its tooltip, from GET /api/status/<cluster>/<id> (`gateway`, and `figures` for
 * the frozen latency): {warning: ["Silent: online but no gateway events for 6 min", "Its latency (41 ms) has not
 * changed since: frozen at the last heartbeat"], lines: ["12.5 events/s", "2 resumes, 1 identify, 0 disconnects"]}.
 * A counter never reported is left out; both empty when `gateway` is null.
 */
export function shardGatewayLines(gateway, figures, now = Date.now()) {
  const warning = [];
  const lines = [];
  if (!gateway || typeof gateway !== 'object') return { warning, lines };
  if (gateway.silent === true) {
    const last = figureOf(gateway.last_event_ms);
    warning.push(`Silent: online but no gateway events${last > 0 ? ` for ${formatDuration(Math.max(0, now - last))}` : ''}`);
    const latency = figureOf(figures?.latency_ms);
    if (gateway.stale_latency === true) {
      warning.push(`Its latency${latency === null ? '' : ` (${formatMs(latency)})`} has not changed since: frozen at the last heartbeat`);
    }
  }
  const rate = figureOf(gateway.events_per_s);
  if (rate !== null) lines.push(`${formatRate(rate)} events/s`);
  const counters = [['resumes', 'resume', 'resumes'], ['identifies', 'identify', 'identifies'], ['disconnects', 'disconnect', 'disconnects']]
    .map(([key, one, many]) => [figureOf(gateway[key]), one, many])
    .filter(([n]) => n !== null)
    .map(([n, one, many]) => counted(n, one, many));
  if (counters.length) lines.push(counters.join(', '));
  return { warning, lines };
}

// ------------------------------------------------------------------------------------------- polling

/**
 * Polls GET /api/figures every 15 s (resting while the tab is hidden, as poll.js does) and calls
 * `onCluster(name, {parts, latency, silent, silentCount, warnings})` for each cluster in every answer that differs
 * from the last; `latency` is the answer's per-shard list (null for a shard without a fresh figure), `silent` the
 * silent shards' ids (the first 1000 of `silentCount`), `warnings` gatewayWarnings' list.
 */
export class ClusterFigures {
  constructor({ apiUrl = '', onCluster = () => {}, fetchImpl, everyMs = FIGURES_EVERY_MS } = {}) {
    this.apiUrl = apiUrl.replace(/\/+$/, '');
    this.onCluster = onCluster;
    this.fetchImpl = fetchImpl;
    this.shown = ''; // the response text last handed on
    this.stats = { loads: 0, failures: 0, applied: 0 };
    this.poller = new Poller(() => this.fetch(), { everyMs, retryMs: 15000 });
  }

  start(delayMs = 0) {
    this.poller.start(delayMs);
  }

  async fetch() {
    try {
      const { body, text } = await getJson(`${this.apiUrl}/api/figures`, { fetchImpl: this.fetchImpl });
      this.stats.loads++;
      if (text === this.shown) return;
      this.shown = text;
      this.load(body);
    } catch (err) {
      this.stats.failures++; // the header simply keeps what it showed; the grid is unaffected
      throw err;
    }
  }

  /** Hands on a /api/figures body. */
  load(body) {
    const clusters = Array.isArray(body?.clusters) ? body.clusters : [];
    for (const c of clusters) {
      const silent = silentShards(c?.gateway);
      this.onCluster(String(c?.name), {
        parts: clusterFigureParts(c),
        latency: Array.isArray(c?.latency) ? c.latency : [],
        silent: silent.ids,
        silentCount: silent.count,
        warnings: gatewayWarnings(c?.gateway, c?.shards),
      });
    }
    this.stats.applied++;
  }
}
