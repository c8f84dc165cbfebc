// tooltip.js -- one shared tooltip for the shard under the pointer or the focus: its state and since
// when, the figures its bot reports (latency, guilds, members, when; its gateway's events/s and counters,
// and whether it is silent; figures.js) and its story (last transitions, availability, flapping;
// story.js). All come from GET /api/status/<cluster>/<id>, asked only after the pointer rests, cached; a
// stale request is aborted.

import { stateLabel } from './states.js';
import { formatWhen, formatAgo } from './format.js';
import { transitionLines, availabilityLine, isFlapping } from './story.js';
import { shardFigureLines, shardGatewayLines } from './figures.js';

const REST_MS = 150; // ask the server only when the pointer rests on a shard this long
const CACHE_MS = 10000;

/** Places a floating tip centred above `anchor` (below it when there is no room above), inside the viewport. */
export function placeTip(tip, anchor) {
  const r = anchor.getBoundingClientRect();
  const t = tip.getBoundingClientRect();
  const margin = 8;
  let left = r.left + r.width / 2 - t.width / 2;
  left = Math.max(margin, Math.min(left, document.documentElement.clientWidth - t.width - margin));
  let top = r.top - t.height - 6;
  if (top < margin) top = r.bottom + 6;
  tip.style.transform = `translate(${Math.round(left)}px, ${Math.round(top)}px)`;
}

export class Tooltip {
  /**
   * `el` is the tooltip element (role="tooltip", with an id). `apiUrl` is prefixed to /api/...;
   * `healthTimeout()` returns the seconds a ping keeps a shard healthy (from the hello).
   */
  constructor(el, { apiUrl = '', healthTimeout = () => 30, fetchImpl = globalThis.fetch.bind(globalThis) } = {}) {
    this.el = el;
    this.apiUrl = apiUrl.replace(/\/+$/, '');
    this.healthTimeout = healthTimeout;
    this.fetch = fetchImpl;
    this.cache = new Map(); // "cluster/shard" -> {at, body}
    this.current = null; // {view, shard, anchor, focus}
    this.timer = 0;
    this.abort = null;
    document.addEventListener('keydown', (ev) => { if (ev.key === 'Escape') this.hide(); });
    window.addEventListener('scroll', () => this.place(), { passive: true });
    window.addEventListener('resize', () => this.place());
  }

  /** Shows shard `shard` of cluster view `view` beside `anchor`; `focus` links it for screen readers. */
  show(view, shard, anchor, { focus = false } = {}) {
    if (this.current?.anchor === anchor) {
      if (focus) this.describe(anchor);
      return;
    }
    this.hide();
    this.current = { view, shard, anchor, focus };
    if (focus) this.describe(anchor);
    this.render();
    this.el.hidden = false;
    this.place();
    clearTimeout(this.timer);
    this.timer = setTimeout(() => this.load(), REST_MS);
  }

  /** Hides the tooltip if it belongs to `anchor` (or whatever it shows, without one). */
  hide(anchor) {
    if (!this.current || (anchor && this.current.anchor !== anchor)) return;
    clearTimeout(this.timer);
    this.abort?.abort();
    this.abort = null;
    this.current.anchor.removeAttribute('aria-describedby');
    this.current = null;
    this.el.hidden = true;
  }

  /** Redraws when the shown shard may have changed (call after applying changes). */
  refresh() {
    if (!this.current) return;
    const { view, shard } = this.current;
    const shown = this.el.dataset.state;
    if (shown !== String(view.states[shard])) {
      this.cache.delete(`${view.name}/${shard}`);
      this.render();
      clearTimeout(this.timer);
      this.timer = setTimeout(() => this.load(), REST_MS);
    }
  }

  describe(anchor) {
    anchor.setAttribute('aria-describedby', this.el.id);
  }

  render() {
    const { view, shard } = this.current;
    const state = view.states[shard];
    const hit = this.cache.get(`${view.name}/${shard}`);
    const body = hit && Date.now() - hit.at < CACHE_MS && hit.body.state === state ? hit.body : null;
    const lines = [];
    if (body && body.since_ms > 0) lines.push(`Since ${formatWhen(body.since_ms)}`);
    else if (body) lines.push('No change recorded yet');
    else if (view.seenAt[shard] > 0) lines.push(`Changed ${formatWhen(view.seenAt[shard])}`);
    else lines.push('Since …');
    if (body && body.healthy_until_ms > 0) {
      const last = body.healthy_until_ms - this.healthTimeout() * 1000;
      lines.push(`Last heard ${formatAgo(Math.min(last, Date.now()))}`);
    }
    const figures = body ? shardFigureLines(body.figures) : [];
    const gateway = body ? shardGatewayLines(body.gateway, body.figures) : { warning: [], lines: [] };
    // until the body comes, the figures' list says it is silent: say so at once, the duration follows
    if (!body && view.silent?.has(shard)) gateway.warning.push('Silent: online but no gateway events');
    const story = [];
    if (isFlapping(body, view.flapping?.has(shard))) story.push(text('p', 'tip-flap', 'Flapping: in trouble three times within an hour'));
    const avail = body && availabilityLine(body);
    if (avail) story.push(text('p', 'tip-avail', avail));
    const changes = body ? transitionLines(body) : [];
    if (changes.length) {
      const list = document.createElement('ol');
      list.className = 'tip-changes';
      list.setAttribute('aria-label', 'Last changes, newest first');
      list.append(...changes.map((c) => text('li', null, c.text)));
      story.push(text('p', 'tip-heading', 'Last changes'), list);
    }
    this.el.dataset.state = state;
    this.el.replaceChildren(
      text('p', 'tip-where', `${view.name} · shard ${shard}`),
      text('p', 'tip-state', stateLabel(state)),
      ...lines.map((l) => text('p', 'tip-when', l)),
      ...gateway.warning.map((l) => text('p', 'tip-silent', l)),
      ...figures.map((l) => text('p', 'tip-figure', l)),
      ...gateway.lines.map((l) => text('p', 'tip-gateway', l)),
      ...story,
    );
    if (!this.el.hidden) this.place();
  }

  async load() {
    if (!this.current) return;
    const { view, shard } = this.current;
    const key = `${view.name}/${shard}`;
    const hit = this.cache.get(key);
    if (hit && Date.now() - hit.at < CACHE_MS && hit.body.state === view.states[shard]) return;
    this.abort?.abort();
    const abort = new AbortController();
    this.abort = abort;
    const timer = setTimeout(() => abort.abort(), 5000);
    try {
      const res = await this.fetch(`${this.apiUrl}/api/status/${encodeURIComponent(view.name)}/${shard}`,
        { signal: abort.signal, headers: { accept: 'application/json' } });
      if (!res.ok) return;
      const body = await res.json();
      this.cache.set(key, { at: Date.now(), body });
      if (this.cache.size > 500) this.cache.delete(this.cache.keys().next().value);
      if (this.current?.view === view && this.current.shard === shard) this.render();
    } catch {
      // offline or aborted: the tooltip keeps what it knows
    } finally {
      clearTimeout(timer);
    }
  }

  place() {
    if (this.current) placeTip(this.el, this.current.anchor);
  }
}

function text(tag, cls, s) {
  const e = document.createElement(tag);
  e.className = cls;
  e.textContent = s;
  return e;
}
