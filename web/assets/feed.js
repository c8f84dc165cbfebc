// feed.js -- the live feed: one WebSocket, the per-cluster versions, resync on a gap, reconnect with
// backoff and jitter. Knows the protocol (docs/API.md, "Feed protocol"), nothing about the page.

const CONNECT_TIMEOUT_MS = 10000; // open and hello must both come within this
const RESYNC_TIMEOUT_MS = 10000; // a resync unanswered this long: start over on a new connection
const STABLE_MS = 10000; // a connection that lived this long resets the backoff
const BACKOFF_BASE_MS = 1000;
const BACKOFF_MAX_MS = 30000;

/** The default feed address: the page's own host, ws: or wss: to match the page. */
export function defaultFeedUrl(location) {
  return `${location.protocol === 'https:' ? 'wss:' : 'ws:'}//${location.host}/api/feed`;
}

/**
 * The wait before reconnect attempt `attempt` (0 for the first after a loss): exponential, capped,
 * with "equal jitter" (half fixed, half random) so a thousand pages dropped by one replica do not come
 * back in step. A server that said it was going away (1001) is retried sooner: another replica is up.
 */
export function backoffDelay(attempt, { random = Math.random, goingAway = false } = {}) {
  if (goingAway && attempt === 0) return 250 + Math.floor(random() * 1000);
  const cap = Math.min(BACKOFF_MAX_MS, BACKOFF_BASE_MS * 2 ** Math.min(attempt, 16));
  return Math.floor(cap / 2 + random() * (cap / 2));
}

/**
 * The feed socket index.html's first script opened before the page's modules loaded ({url, ws, messages,
 * closed}), taken once: null when there is none, or when it is for another address or already gone (then
 * closed), so the caller opens its own.
 */
function takeEarly(url) {
  const early = globalThis.__glanceEarlyFeed;
  if (!early) return null;
  globalThis.__glanceEarlyFeed = undefined;
  if (early.url === url && early.closed === null && early.ws.readyState <= 1) return early;
  try { early.ws.close(); } catch { /* already closing */ }
  return null;
}

/**
 * A self-healing feed client. `handlers` (all optional):
 *   hello(msg, receivedAt)      a full snapshot: replace everything (receivedAt: performance.now())
 *   changes(name, changes)      [[shard, state], ...] to apply to cluster `name`
 *   pings(name, shards)         shards of `name` that sent a health ping
 *   status({state, since, retryAt, attempt})
 *       state is 'connecting' (no data yet), 'live', 'stale' (the server lost its Redis: since is the
 *       server's since_ms) or 'reconnecting' (since: when the data stopped being live; retryAt: when
 *       the next attempt starts, or 0 while one is under way)
 * Call start() once; stop() closes for good.
 */
export class Feed {
  constructor(url, handlers = {}, { WebSocketImpl = globalThis.WebSocket, random = Math.random } = {}) {
    this.url = url;
    this.on = handlers;
    this.WebSocketImpl = WebSocketImpl;
    this.random = random;
    this.versions = new Map(); // cluster name -> the version our states are at
    this.ws = null;
    this.attempt = 0;
    this.retryTimer = 0;
    this.watchdog = 0; // connect / resync deadline
    this.resyncing = false;
    this.everLive = false;
    this.openedAt = 0;
    this.state = 'connecting';
    this.since = 0;
    this.retryAt = 0;
    this.stopped = false;
    this.stats = { hellos: 0, updates: 0, resyncs: 0, connects: 0, gaps: 0 };
  }

  start() {
    this.connect();
  }

  stop() {
    this.stopped = true;
    clearTimeout(this.retryTimer);
    clearTimeout(this.watchdog);
    if (this.ws) this.ws.close(1000);
    this.ws = null;
  }

  /** Skips the rest of a backoff wait (the network came back, the tab became visible). */
  reconnectNow() {
    if (this.stopped || this.ws) return;
    clearTimeout(this.retryTimer);
    this.connect();
  }

  /** Drops the connection as if the network had failed; the usual backoff follows. */
  drop() {
    if (this.ws) this.lost(this.ws, 4000);
  }

  connect() {
    this.retryAt = 0;
    this.report(this.everLive ? 'reconnecting' : 'connecting');
    const early = this.stats.connects === 0 ? takeEarly(this.url) : null;
    this.stats.connects++;
    let ws = early?.ws;
    if (!ws) {
      try {
        ws = new this.WebSocketImpl(this.url);
      } catch {
        this.scheduleRetry(false); // a malformed URL in config.js: keep trying, the status shows it
        return;
      }
    }
    this.ws = ws;
    this.resyncing = false;
    this.arm(CONNECT_TIMEOUT_MS);
    ws.onopen = () => { if (this.ws === ws) this.openedAt = Date.now(); };
    ws.onmessage = (ev) => { if (this.ws === ws) this.message(ev.data); };
    ws.onclose = (ev) => { if (this.ws === ws) this.lost(ws, ev.code); };
    ws.onerror = () => {}; // a close event always follows
    if (early) {
      if (ws.readyState === 1) this.openedAt = Date.now();
      // what came before this page was ready, in order, once the script that started the feed has finished
      // setting the page up (its handlers may use what it defines after start()); later messages are events
      // of later tasks, so they come after these
      queueMicrotask(() => { for (const data of early.messages) if (this.ws === ws) this.message(data); });
    }
  }

  /** Closes `ws` if nothing clears the deadline in time (connect, hello, resync). */
  arm(ms) {
    clearTimeout(this.watchdog);
    const ws = this.ws;
    this.watchdog = setTimeout(() => { if (this.ws === ws) this.lost(ws, 4001); }, ms);
  }

  lost(ws, code) {
    clearTimeout(this.watchdog);
    ws.onopen = ws.onmessage = ws.onclose = null;
    try { ws.close(); } catch { /* already closing */ }
    this.ws = null;
    if (this.stopped) return;
    if (this.openedAt && Date.now() - this.openedAt >= STABLE_MS) this.attempt = 0;
    this.openedAt = 0;
    if (this.state === 'live' || this.state === 'connecting') this.since = Date.now();
    this.scheduleRetry(code === 1001);
  }

  scheduleRetry(goingAway) {
    const delay = backoffDelay(this.attempt, { random: this.random, goingAway });
    this.attempt++;
    this.retryAt = Date.now() + delay;
    this.report(this.everLive ? 'reconnecting' : 'connecting');
    clearTimeout(this.retryTimer);
    this.retryTimer = setTimeout(() => this.connect(), delay);
  }

  message(data) {
    const receivedAt = performance.now();
    let msg;
    try { msg = JSON.parse(data); } catch { return; }
    if (msg.type === 'hello') this.hello(msg, receivedAt);
    else if (msg.type === 'update') this.update(msg);
    else if (msg.type === 'stale') this.report('stale', Number(msg.since_ms) || Date.now());
  }

  hello(msg, receivedAt) {
    clearTimeout(this.watchdog);
    this.stats.hellos++;
    this.resyncing = false;
    this.versions = new Map((msg.clusters || []).map((c) => [c.name, c.version]));
    this.everLive = true;
    this.on.hello?.(msg, receivedAt);
    this.report('live');
  }

  update(msg) {
    this.stats.updates++;
    for (const c of msg.clusters || []) {
      const version = this.versions.get(c.name);
      if (version === undefined || c.from > version) { // a cluster we do not know, or a missed update
        this.stats.gaps++;
        this.resync();
        continue;
      }
      if (c.to > version) {
        this.versions.set(c.name, c.to);
        if (c.changes?.length) this.on.changes?.(c.name, c.changes);
      }
      if (c.pings?.length) this.on.pings?.(c.name, c.pings);
    }
  }

  /** Asks the server for a fresh hello, once until it comes. */
  resync() {
    if (this.resyncing || !this.ws || this.ws.readyState !== 1) return;
    this.resyncing = true;
    this.stats.resyncs++;
    this.ws.send(JSON.stringify({ type: 'resync' }));
    this.arm(RESYNC_TIMEOUT_MS);
  }

  report(state, since = this.since) {
    if (state === 'live') { this.since = 0; since = 0; }
    if (state === 'stale') this.since = since;
    this.state = state;
    this.on.status?.({ state, since, retryAt: this.retryAt, attempt: this.attempt });
  }
}
