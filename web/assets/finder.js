// finder.js -- the guild box: reads an id or a pasted Discord link, marks its shard in every cluster,
// says the answer in words (an aria-live region), plainly and with since when if that shard is down, and
// keeps the address bar's ?guild= in step so the answer can be shared.

import { parseGuildInput, locateGuild } from './guild.js';
import { stateLabel, isDown, downSentence } from './states.js';
import { getJson } from './poll.js';

const TYPING_MS = 250; // look up when typing pauses this long (every prefix of an id is an id too)

export class Finder {
  /**
   * `form` holds the `input`; `result` is the live region; `grid` is the page's Grid. `apiUrl` is
   * prefixed to /api/... when asking since when a located shard is down.
   */
  constructor({ form, input, result, grid, apiUrl = '', fetchImpl }) {
    this.form = form;
    this.input = input;
    this.result = result;
    this.grid = grid;
    this.apiUrl = apiUrl.replace(/\/+$/, '');
    this.fetchImpl = fetchImpl;
    this.timer = 0;
    this.guild = null; // the BigInt looked up, or null
    this.located = [];
    this.shown = ''; // the states the result was last written with
    this.since = new Map(); // "cluster/shard/state" -> since_ms from GET /api/status/<cluster>/<id>
    this.asking = new Set(); // the same keys, while their request is under way

    // a shared link opens with the answer at the top (the shard is one click away: no jump on load)
    const fromUrl = new URL(location.href).searchParams.get('guild');
    if (fromUrl) input.value = fromUrl;
    input.addEventListener('input', () => {
      clearTimeout(this.timer);
      this.timer = setTimeout(() => this.lookup({ scroll: false }), TYPING_MS);
    });
    form.addEventListener('submit', (ev) => {
      ev.preventDefault();
      clearTimeout(this.timer);
      this.lookup({ scroll: true });
    });
    result.addEventListener('click', (ev) => {
      const btn = ev.target.closest('button[data-index]');
      if (btn) this.focusShard(Number(btn.dataset.index));
    });
  }

  /** Runs the lookup again on new clusters (after a hello). */
  reload() {
    this.lookup({ updateUrl: false });
  }

  /** Rewrites the answer if a located shard changed state (call after applying changes). */
  refresh() {
    if (this.located.length && this.statesKey() !== this.shown) {
      this.since.clear(); // a shard that changed may have gone down again: its old time is not its time now
      this.render();
    }
  }

  lookup({ scroll = false, updateUrl = true } = {}) {
    const text = this.input.value;
    const { kind, guild } = parseGuildInput(text);
    if (updateUrl) this.updateUrl(guild === null ? '' : guild.toString()); // never share a bad link
    this.guild = guild;
    this.since.clear();
    if (guild === null || this.grid.views.length === 0) {
      this.located = [];
      this.grid.mark([]);
      this.input.setAttribute('aria-invalid', String(kind === 'invalid' || kind === 'dm'));
      if (kind === 'empty') this.say([]);
      else if (kind === 'dm') {
        this.say([para('result-error', 'That link is to a direct message, and direct messages belong to no server. '
          + 'Paste a link to a message in your server, or the server\'s ID.')]);
      } else if (kind === 'invalid') {
        this.say([para('result-error', `“${text.trim().slice(0, 40)}” is not a guild ID or a Discord link. `
          + 'Guild IDs are whole numbers, like 81384788765712384; links look like https://discord.com/channels/81384788765712384/…')]);
      } else this.say([para('result-wait', 'Waiting for the shard list…')]);
      return;
    }
    this.input.setAttribute('aria-invalid', 'false');
    this.located = locateGuild(guild, this.grid.views.map((v) => ({ name: v.name, shards: v.shards })));
    const els = this.grid.mark(this.located);
    this.render();
    if (scroll && els.length) reveal(els[0]);
  }

  statesKey() {
    return this.located.map(({ index, shard }) => this.grid.views[index].states[shard]).join(',');
  }

  render() {
    this.shown = this.statesKey();
    const views = this.grid.views;
    const id = this.guild.toString();
    const parts = [];
    // a down shard first and in plain words: that is what someone looking up their server came to learn
    for (const { index, shard } of this.located) {
      const v = views[index];
      const st = v.states[shard];
      if (!isDown(st)) continue;
      const key = `${v.name}/${shard}/${st}`;
      if (!this.since.has(key)) this.askSince(v.name, shard, st);
      const cluster = views.length > 1 ? v.name : null;
      parts.push(para('result-down', downSentence(st, this.since.get(key) ?? 0, { cluster })));
    }
    if (this.located.length === 1) {
      const { index, shard } = this.located[0];
      const v = views[index];
      const st = v.states[shard];
      parts.push(para('result-title', `Guild ${id} is served by shard ${shard} of cluster ${v.name}, which is ${stateLabel(st).toLowerCase()}.`));
      parts.push(list([item(index, v.name, shard, st)]));
    } else {
      parts.push(para('result-title', `Guild ${id} is served by:`));
      parts.push(list(this.located.map(({ index, shard }) => item(index, views[index].name, shard, views[index].states[shard]))));
    }
    this.say(parts);
  }

  /**
   * Asks the API since when shard `shard` of `cluster` has been in state `state`, then redraws the answer
   * if it still shows that shard in that state. A failure leaves the sentence without a time.
   */
  async askSince(cluster, shard, state) {
    const key = `${cluster}/${shard}/${state}`;
    if (this.asking.has(key)) return;
    this.asking.add(key);
    try {
      const { body } = await getJson(`${this.apiUrl}/api/status/${encodeURIComponent(cluster)}/${shard}`,
        { fetchImpl: this.fetchImpl, timeoutMs: 5000 });
      // a change may have raced the request: the time belongs only to the state it was read with
      if (Number(body?.state) !== state) return;
      if (this.since.size > 100) this.since.clear();
      this.since.set(key, Number(body.since_ms) || 0);
      const still = this.located.some(({ index, shard: s }) => this.grid.views[index]?.name === cluster && s === shard
        && this.grid.views[index].states[s] === state);
      if (still) this.render();
    } catch {
      // offline: the sentence stays without its time
    } finally {
      this.asking.delete(key);
    }
  }

  say(nodes) {
    this.result.replaceChildren(...nodes);
    this.result.hidden = nodes.length === 0;
  }

  focusShard(index) {
    const hit = this.located.find((l) => l.index === index);
    const el = hit && this.grid.views[index]?.els[hit.shard];
    if (!el) return;
    reveal(el);
    el.focus({ preventScroll: true });
  }

  updateUrl(digits) {
    const url = new URL(location.href);
    if (digits) url.searchParams.set('guild', digits);
    else url.searchParams.delete('guild');
    if (url.href !== location.href) history.replaceState(history.state, '', url);
  }
}

/** Scrolls `el` to the middle of the window unless it is in view already. */
function reveal(el) {
  const r = el.getBoundingClientRect();
  if (r.top >= 0 && r.bottom <= innerHeight && r.left >= 0 && r.right <= innerWidth) return;
  const smooth = !matchMedia('(prefers-reduced-motion: reduce)').matches;
  el.scrollIntoView({ block: 'center', inline: 'nearest', behavior: smooth ? 'smooth' : 'auto' });
}

function para(cls, s) {
  const p = document.createElement('p');
  p.className = cls;
  p.textContent = s;
  return p;
}

function list(items) {
  const ul = document.createElement('ul');
  ul.className = 'result-list';
  ul.append(...items);
  return ul;
}

function item(index, cluster, shard, state) {
  const li = document.createElement('li');
  const btn = document.createElement('button');
  btn.type = 'button';
  btn.dataset.state = state;
  btn.dataset.index = index;
  btn.title = 'Show this shard in the grid';
  const sw = document.createElement('i');
  sw.className = 'swatch';
  sw.setAttribute('aria-hidden', 'true');
  const name = document.createElement('strong');
  name.textContent = cluster;
  btn.append(sw, name, ` shard ${shard}: ${stateLabel(state)}`);
  li.append(btn);
  return li;
}
