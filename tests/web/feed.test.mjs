// feed.test.mjs -- the page's feed client (web/assets/feed.js) against a scripted fake WebSocket:
// versions, resync on a gap, backoff with jitter, reconnect, stale. Backoff waits run on the test
// runner's mock timers (setTimeout and Date; Node >= 20.11), so they take no real time.

import { describe, it, afterEach } from 'node:test';
import assert from 'node:assert/strict';
import { Feed, backoffDelay, defaultFeedUrl } from '../../web/assets/feed.js';

class FakeSocket {
  static all = [];
  constructor(url) {
    this.url = url;
    this.sent = [];
    this.readyState = 0;
    FakeSocket.all.push(this);
  }
  open() { this.readyState = 1; this.onopen?.({}); }
  recv(msg) { this.onmessage?.({ data: JSON.stringify(msg) }); }
  send(text) { this.sent.push(JSON.parse(text)); }
  close() { this.readyState = 3; }
  serverClose(code) { this.readyState = 3; this.onclose?.({ code }); }
}

const NOW = 1764300000000; // the mocked clock's start (unix ms)
const hello = (version, states = '3333') => ({
  type: 'hello', health_timeout: 30, interval_ms: 100,
  clusters: [{ name: 'main', shards: states.length, version, states }],
});
const update = (from, to, changes = [], pings = []) => ({ type: 'update', clusters: [{ name: 'main', from, to, changes, pings }] });

let feed;
let log;
function start() {
  FakeSocket.all = [];
  log = { hellos: [], changes: [], pings: [], status: [] };
  feed = new Feed('ws://test/api/feed', {
    hello: (m) => log.hellos.push(m),
    changes: (name, ch) => log.changes.push([name, ch]),
    pings: (name, p) => log.pings.push([name, p]),
    status: (s) => log.status.push(s),
  }, { WebSocketImpl: FakeSocket, random: () => 0 });
  feed.start();
  const ws = FakeSocket.all[0];
  ws.open();
  return ws;
}

describe('the feed client', () => {
  afterEach(() => feed?.stop());

  it('connects to the given URL and goes live on hello', () => {
    const ws = start();
    assert.equal(ws.url, 'ws://test/api/feed');
    assert.equal(log.status.at(-1).state, 'connecting');
    ws.recv(hello(5));
    assert.equal(log.hellos.length, 1);
    assert.equal(log.status.at(-1).state, 'live');
    assert.equal(feed.versions.get('main'), 5);
  });

  it('applies an update whose from is not above its version, then takes its to', () => {
    const ws = start();
    ws.recv(hello(5));
    ws.recv(update(3, 7, [[1, 1]]));
    ws.recv(update(7, 8, [[2, 4]]));
    assert.deepEqual(log.changes, [['main', [[1, 1]]], ['main', [[2, 4]]]]);
    assert.equal(feed.versions.get('main'), 8);
    assert.deepEqual(ws.sent, []);
  });

  it('skips the changes of an update it already has, but still reports its pings', () => {
    const ws = start();
    ws.recv(hello(9));
    ws.recv(update(6, 9, [[1, 1]], [0, 2]));
    assert.deepEqual(log.changes, []);
    assert.deepEqual(log.pings, [['main', [0, 2]]]);
  });

  it('asks for a resync (once) when an update starts above its version, and applies nothing from it', () => {
    const ws = start();
    ws.recv(hello(5));
    ws.recv(update(6, 7, [[1, 1]]));
    ws.recv(update(7, 8, [[1, 2]]));
    assert.deepEqual(ws.sent, [{ type: 'resync' }]);
    assert.deepEqual(log.changes, []);
    ws.recv(hello(8, '3233'));
    assert.equal(log.hellos.length, 2);
    ws.recv(update(10, 11));
    assert.deepEqual(ws.sent, [{ type: 'resync' }, { type: 'resync' }], 'a later gap asks again');
  });

  it('asks for a resync when an update names a cluster it does not know', () => {
    const ws = start();
    ws.recv(hello(5));
    ws.recv({ type: 'update', clusters: [{ name: 'other', from: 0, to: 1, changes: [[0, 3]] }] });
    assert.deepEqual(ws.sent, [{ type: 'resync' }]);
  });

  it('says the data is stale, with the server\'s time, on a stale frame', () => {
    const ws = start();
    ws.recv(hello(5));
    ws.recv({ type: 'stale', since_ms: 1764300000000 });
    assert.deepEqual([log.status.at(-1).state, log.status.at(-1).since], ['stale', 1764300000000]);
  });

  it('reconnects by itself after a close, says since when the data is old, and resyncs from the new hello', (t) => {
    t.mock.timers.enable({ apis: ['setTimeout', 'Date'], now: NOW });
    const ws = start();
    ws.recv(hello(5));
    t.mock.timers.tick(1000);
    ws.serverClose(1006);
    const s = log.status.at(-1);
    assert.equal(s.state, 'reconnecting');
    assert.equal(s.since, NOW + 1000, 'since: when the connection was lost');
    assert.equal(s.retryAt, NOW + 1500, 'random() = 0: the first wait is half of 1 s');
    t.mock.timers.tick(499);
    assert.equal(FakeSocket.all.length, 1, 'no second socket before the wait is over');
    t.mock.timers.tick(1);
    assert.equal(FakeSocket.all.length, 2, 'a second socket was opened');
    const ws2 = FakeSocket.all[1];
    ws2.open();
    ws2.recv(hello(12, '1111'));
    assert.equal(log.status.at(-1).state, 'live');
    assert.equal(feed.versions.get('main'), 12);
    assert.equal(log.hellos.at(-1).clusters[0].states, '1111');
    feed.stop(); // while its timers are still the mocked ones
  });

  it('comes back sooner from a server that is going away (1001)', (t) => {
    t.mock.timers.enable({ apis: ['setTimeout', 'Date'], now: NOW });
    const ws = start();
    ws.recv(hello(5));
    ws.serverClose(1001);
    t.mock.timers.tick(249); // random() = 0: 250 ms
    assert.equal(FakeSocket.all.length, 1);
    t.mock.timers.tick(1);
    assert.equal(FakeSocket.all.length, 2);
    feed.stop();
  });
});

describe('backoffDelay', () => {
  it('doubles from 1 s up to 30 s, with half of each wait random', () => {
    const lo = (a) => backoffDelay(a, { random: () => 0 });
    const hi = (a) => backoffDelay(a, { random: () => 0.999999 });
    assert.deepEqual([0, 1, 2, 3, 4, 5, 6, 20].map(lo), [500, 1000, 2000, 4000, 8000, 15000, 15000, 15000]);
    assert.deepEqual([0, 1, 2, 3, 4, 5, 6, 20].map(hi), [999, 1999, 3999, 7999, 15999, 29999, 29999, 29999]);
  });
  it('waits under 1.25 s for the first retry after a going-away close', () => {
    assert.equal(backoffDelay(0, { random: () => 0, goingAway: true }), 250);
    assert.ok(backoffDelay(0, { random: () => 0.999, goingAway: true }) < 1250);
  });
});

describe('defaultFeedUrl', () => {
  it('is the page\'s host at /api/feed, wss: for an https: page', () => {
    assert.equal(defaultFeedUrl({ protocol: 'http:', host: 'status.example.com:8080' }), 'ws://status.example.com:8080/api/feed');
    assert.equal(defaultFeedUrl({ protocol: 'https:', host: 'status.example.com' }), 'wss://status.example.com/api/feed');
  });
});

describe('the socket index.html opened early', () => {
  afterEach(() => { feed?.stop(); globalThis.__glanceEarlyFeed = undefined; });

  /** A socket the early script opened, with what it received before the page was ready. */
  function early(url, messages, { open = true, closed = null } = {}) {
    const ws = new FakeSocket(url);
    if (open) ws.readyState = 1;
    globalThis.__glanceEarlyFeed = { url, ws, messages: messages.map((m) => JSON.stringify(m)), closed };
    return ws;
  }
  function startFeed(url = 'ws://test/api/feed') {
    log = { hellos: [], changes: [], pings: [], status: [] };
    feed = new Feed(url, {
      hello: (m) => log.hellos.push(m),
      changes: (name, ch) => log.changes.push([name, ch]),
      status: (s) => log.status.push(s),
    }, { WebSocketImpl: FakeSocket, random: () => 0 });
    feed.start();
  }

  it('is taken over, and what it received is handled in order once the starting script is done', async () => {
    FakeSocket.all = [];
    const ws = early('ws://test/api/feed', [hello(5), update(5, 6, [[1, 1]])]);
    startFeed();
    assert.equal(FakeSocket.all.length, 1, 'no second socket');
    assert.equal(log.hellos.length, 0, 'not within start(): the page may not be set up yet');
    await Promise.resolve();
    assert.equal(log.hellos.length, 1);
    assert.deepEqual(log.changes, [['main', [[1, 1]]]]);
    assert.equal(log.status.at(-1).state, 'live');
    ws.recv(update(6, 7, [[2, 4]])); // and what comes later goes to the feed
    assert.deepEqual(log.changes.at(-1), ['main', [[2, 4]]]);
    assert.equal(globalThis.__glanceEarlyFeed, undefined, 'taken once');
  });

  it('is closed and replaced when it is for another address or already gone', async () => {
    for (const [url, opts] of [['ws://elsewhere/api/feed', {}], ['ws://test/api/feed', { closed: 1006 }]]) {
      FakeSocket.all = [];
      const ws = early(url, [hello(5)], opts);
      startFeed();
      assert.equal(ws.readyState, 3, 'the early socket is closed');
      assert.equal(FakeSocket.all.length, 2, 'the feed opened its own');
      await Promise.resolve();
      assert.equal(log.hellos.length, 0, 'nothing from the socket it did not take');
      feed.stop();
    }
  });
});
