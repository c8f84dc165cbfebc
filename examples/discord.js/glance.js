// glance.js -- report a discord.js v14 client's shards to Glance: each state change at once, and every interval
// one batched report of all of this process's shards with their latency, guild counts and gateway counters; once an
// hour, the identify budget Discord's /gateway/bot gives the bot.
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
//
// Each report also carries every shard's gateway counters since the process started: events (dispatches received),
// identifies (new sessions), resumes and disconnects (connections closed, whatever the reason). With a
// ShardingManager, each process reports its own shards and its own /gateway/bot answer (the same for the whole bot).
//   process.once('SIGTERM', async () => {
//     await glance.stop({ state: State.STOPPING });  // one last report, then no timer, no listeners
//     await client.destroy();
//   });
//
// It never throws into the bot: a failed request is logged once per kind of failure (until one succeeds) and
// repaired by the next report, which always carries every shard's state as well as its figures; a failed
// /gateway/bot is logged and asked again the next hour.

import { Events, Routes, Status } from 'discord.js';

/** Glance's shard states (README, "Shard states"). */
export const State = Object.freeze({ UNKNOWN: 0, UNHEALTHY: 1, OFFLINE: 2, ONLINE: 3, STARTING: 4, STOPPING: 5, RESUMING: 6 });
const TIMEOUT_MS = 10_000, MAX_LATENCY_MS = 600_000, MAX_MEMBERS = 4_000_000_000; // the last two: Glance's bounds
const HOUR_MS = 3_600_000, MAX_RESET_AFTER_MS = 7 * 24 * HOUR_MS; // Glance's bound for Discord's reset_after

export class Glance {
  #client; #base; #cluster; #headers; #log; #timer; #gatewayTimer;
  #states = new Map(); // shard id -> the State this process last saw for it
  #counters = new Map(); // shard id -> { events, resumes, identifies, disconnects } since the process started
  #gatewayAsked = false; // whether /gateway/bot was asked since the first READY
  #listeners = [];
  #queue = Promise.resolve(); // one request at a time, in order: a report never overtakes a state change
  #pending = null; // the report waiting in the queue, if any: a second one would carry the same
  #failing = new Set(); // kinds of failure logged since the last success

  /**
   * Listens to the client's shard events and starts the report timer (unref'd: it never keeps the process up).
   * Shards listed in client.options.shards are reported as starting now (online if already ready).
   * gatewayInterval (ms, an hour by default) is how often /gateway/bot is asked, the first time at the first READY.
   */
  constructor(client, { url, cluster, passphrase, interval = 10_000, gatewayInterval = HOUR_MS,
    log = console.warn } = {}) {
    this.#client = client;
    this.#base = String(url).replace(/\/+$/, '');
    this.#cluster = encodeURIComponent(cluster);
    this.#headers = passphrase ? { authorization: passphrase } : {};
    this.#log = log;
    // discord.js 14.28 (@discordjs/ws 1.2): shardReconnecting after any recoverable close, shardDisconnect only
    // when the shard will not reconnect. shardError gets no state of its own: that close always follows it.
    // 'invalidated' (the whole session gone) is emitted by 14.0-14.8 only; later versions never emit it.
    // Every closed connection is one of shardReconnecting or shardDisconnect (an op 7 RECONNECT and an invalid
    // session close it too), so both count as a disconnect. 'raw' is every dispatch with its shard, READY included:
    // a READY is a new session, so an identify (a resume ends with RESUMED instead).
    this.#on(Events.ShardReady, (id) => this.#set(id, State.ONLINE));
    this.#on(Events.ShardResume, (id) => this.#set(id, State.ONLINE, 'resumes'));
    this.#on(Events.ShardReconnecting, (id) => this.#set(id, State.RESUMING, 'disconnects'));
    this.#on(Events.ShardDisconnect, (_event, id) => this.#set(id, State.OFFLINE, 'disconnects'));
    this.#on(Events.Raw, (packet, id) => this.#onDispatch(packet, id));
    this.#on(Events.Invalidated, () => { for (const id of this.#states.keys()) this.#set(id, State.OFFLINE); });
    const ids = Array.isArray(client.options.shards) ? client.options.shards : []; // not yet known when 'auto'
    for (const id of ids) {
      this.#set(id, client.ws.shards.get(id)?.status === Status.Ready ? State.ONLINE : State.STARTING);
    }
    this.#timer = setInterval(() => this.report(), interval);
    this.#timer.unref();
    this.#gatewayTimer = setInterval(() => this.#askGateway(), gatewayInterval);
    this.#gatewayTimer.unref();
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
    clearInterval(this.#gatewayTimer);
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

  // a state change, sent at once with the shard's counters (a resume or a disconnect is seen without waiting)
  #set(id, state, counter) {
    if (!Number.isInteger(id)) return;
    this.#states.set(id, state);
    if (counter) this.#count(id)[counter]++;
    this.#enqueue(() => this.#send(`/api/status/${this.#cluster}/${id}/${state}`, { ...this.#count(id) }));
  }

  #count(id) {
    let c = this.#counters.get(id);
    if (!c) this.#counters.set(id, (c = { events: 0, resumes: 0, identifies: 0, disconnects: 0 }));
    return c;
  }

  #onDispatch(packet, id) {
    if (!Number.isInteger(id)) return;
    const c = this.#count(id);
    c.events++;
    if (packet?.t !== 'READY') return;
    c.identifies++;
    if (!this.#gatewayAsked) this.#askGateway(); // logged in now: the token works for REST
  }

  // Discord's session_start_limit for the bot; a failure is logged and the next hour asks again
  async #askGateway() {
    if (!this.#client.token) return; // not logged in (yet, or any more)
    this.#gatewayAsked = true;
    let limit;
    try {
      ({ session_start_limit: limit } = await this.#client.rest.get(Routes.gatewayBot()));
    } catch (err) {
      this.#say(`glance: GET /gateway/bot: ${err?.message ?? err} (asked again in an hour)`);
      return false;
    }
    const { total, remaining, reset_after: resetAfter, max_concurrency: maxConcurrency } = limit ?? {};
    if (![total, remaining, resetAfter, maxConcurrency].every(Number.isFinite)) {
      this.#say(`glance: GET /gateway/bot: no session_start_limit (${JSON.stringify(limit)}); asked again in an hour`);
      return false;
    }
    if (resetAfter > MAX_RESET_AFTER_MS) this.#say(`glance: reset_after ${resetAfter} ms capped at 7 days`);
    const body = { session_start_total: total, session_start_remaining: Math.min(remaining, total),
      session_start_reset_after_ms: Math.round(Math.min(Math.max(resetAfter, 0), MAX_RESET_AFTER_MS)),
      max_concurrency: maxConcurrency };
    return this.#enqueue(() => this.#send(`/api/clusters/${this.#cluster}/gateway`, body));
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
        members: Math.min(c.members, MAX_MEMBERS), ...this.#count(id) };
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
