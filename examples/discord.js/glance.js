// glance.js -- report a discord.js v14 client's shards to Glance: each state change at once, and every interval
// one batched report of all of this process's shards with their latency and guild counts.
//
// What a bot author adds (Node 18+, before client.login):
//
//   import { Glance, State } from './glance.js';
//   const glance = new Glance(client, {
//     url: 'https://status.example.com',           // where glance-api answers
//     cluster: 'main',                              // a cluster named in GLANCE_BOTS
//     passphrase: process.env.GLANCE_PASSPHRASE,    // GLANCE_PASSPHRASE of the replicas, if set
//     interval: 10_000,                             // ms; keep it well under GLANCE_HEALTH_TIMEOUT
//   });
//   process.once('SIGTERM', async () => {
//     await glance.stop({ state: State.STOPPING });  // one last report, then no timer, no listeners
//     await client.destroy();
//   });
//
// It never throws into the bot: a failed request is logged once per kind of failure (until one succeeds) and
// repaired by the next report, which always carries every shard's state as well as its figures.

import { Events, Status } from 'discord.js';

/** Glance's shard states (README, "Shard states"). */
export const State = Object.freeze({ UNKNOWN: 0, UNHEALTHY: 1, OFFLINE: 2, ONLINE: 3, STARTING: 4, STOPPING: 5, RESUMING: 6 });
const TIMEOUT_MS = 10_000, MAX_LATENCY_MS = 600_000, MAX_MEMBERS = 4_000_000_000; // the last two: Glance's bounds

export class Glance {
  #client; #base; #cluster; #headers; #log; #timer;
  #states = new Map(); // shard id -> the State this process last saw for it
  #listeners = [];
  #queue = Promise.resolve(); // one request at a time, in order: a report never overtakes a state change
  #pending = null; // the report waiting in the queue, if any: a second one would carry the same
  #failing = new Set(); // kinds of failure logged since the last success

  /**
   * Listens to the client's shard events and starts the report timer (unref'd: it never keeps the process up).
   * Shards listed in client.options.shards are reported as starting now (online if already ready).
   */
  constructor(client, { url, cluster, passphrase, interval = 10_000, log = console.warn } = {}) {
    this.#client = client;
    this.#base = String(url).replace(/\/+$/, '');
    this.#cluster = encodeURIComponent(cluster);
    this.#headers = passphrase ? { authorization: passphrase } : {};
    this.#log = log;
    // discord.js 14.28 (@discordjs/ws 1.2): shardReconnecting after any recoverable close, shardDisconnect only
    // when the shard will not reconnect. shardError gets no state of its own: that close always follows it.
    // 'invalidated' (the whole session gone) is emitted by 14.0-14.8 only; later versions never emit it.
    this.#on(Events.ShardReady, (id) => this.#set(id, State.ONLINE));
    this.#on(Events.ShardResume, (id) => this.#set(id, State.ONLINE));
    this.#on(Events.ShardReconnecting, (id) => this.#set(id, State.RESUMING));
    this.#on(Events.ShardDisconnect, (_event, id) => this.#set(id, State.OFFLINE));
    this.#on(Events.Invalidated, () => { for (const id of this.#states.keys()) this.#set(id, State.OFFLINE); });
    const ids = Array.isArray(client.options.shards) ? client.options.shards : []; // not yet known when 'auto'
    for (const id of ids) {
      this.#set(id, client.ws.shards.get(id)?.status === Status.Ready ? State.ONLINE : State.STARTING);
    }
    this.#timer = setInterval(() => this.report(), interval);
    this.#timer.unref();
  }

  /** Sends one report of every shard this process has seen now; resolves true when Glance took it. */
  report() {
    this.#pending ??= this.#enqueue(() => {
      this.#pending = null;
      return this.#states.size ? this.#send(`/api/clusters/${this.#cluster}/report`, this.#body()) : false;
    });
    return this.#pending;
  }

  /** Stops the timer and the listeners; with a state, reports every shard in it first. Never rejects. */
  stop({ state } = {}) {
    clearInterval(this.#timer);
    for (const [event, fn] of this.#listeners) this.#client.off(event, fn);
    this.#listeners = [];
    if (state === undefined) return this.#queue;
    for (const id of this.#states.keys()) this.#states.set(id, state);
    return this.report();
  }

  #on(event, fn) {
    this.#client.on(event, fn);
    this.#listeners.push([event, fn]);
  }

  #set(id, state) {
    if (!Number.isInteger(id)) return;
    this.#states.set(id, state);
    this.#enqueue(() => this.#send(`/api/status/${this.#cluster}/${id}/${state}`));
  }

  // every shard's state and figures; latency only while online (a shard that is not keeps its last ping)
  #body() {
    const counts = new Map();
    for (const guild of this.#client.guilds.cache.values()) {
      let c = counts.get(guild.shardId);
      if (!c) counts.set(guild.shardId, (c = { guilds: 0, unavailable: 0, members: 0 }));
      c.guilds++;
      if (guild.available) c.members += guild.memberCount ?? 0;
      else c.unavailable++;
    }
    const shards = [];
    for (const [id, state] of this.#states) {
      const c = counts.get(id) ?? { guilds: 0, unavailable: 0, members: 0 };
      const item = { id, state, guilds: c.guilds, unavailable_guilds: c.unavailable,
        members: Math.min(c.members, MAX_MEMBERS) };
      const ping = this.#client.ws.shards.get(id)?.ping;
      if (state === State.ONLINE && Number.isFinite(ping) && ping >= 0) {
        item.latency_ms = Math.min(Math.round(ping), MAX_LATENCY_MS);
      }
      shards.push(item);
    }
    return { shards };
  }

  #enqueue(fn) {
    this.#queue = this.#queue.then(fn).catch((err) => this.#failed('error', err?.message ?? String(err)));
    return this.#queue;
  }

  async #send(path, body) {
    try {
      const res = await fetch(this.#base + path, {
        method: 'POST',
        headers: body ? { ...this.#headers, 'content-type': 'application/json' } : this.#headers,
        body: body ? JSON.stringify(body) : undefined,
        signal: AbortSignal.timeout(TIMEOUT_MS),
      });
      const text = await res.text();
      if (!res.ok) return this.#failed(`HTTP ${res.status}`, text.slice(0, 200));
      if (this.#failing.size) this.#say(`glance: ${this.#base} answers again`);
      this.#failing.clear();
      return true;
    } catch (err) {
      const kind = err?.name === 'TimeoutError' ? 'timeout' : (err?.cause?.code ?? err?.name ?? 'error');
      return this.#failed(kind, err?.cause?.message ?? err?.message ?? String(err));
    }
  }

  #failed(kind, detail) {
    if (!this.#failing.has(kind)) {
      this.#failing.add(kind);
      this.#say(`glance: ${this.#base}: ${kind} ${detail} (retried at the next report; logged once until it answers)`);
    }
    return false;
  }

  #say(line) {
    try { this.#log(line); } catch {} // a logger that throws must not reach the bot either
  }
}
