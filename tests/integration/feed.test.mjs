// feed.test.mjs -- the WebSocket feed: hello first, updates across replicas, coalescing, resync, pings,
// and a slow client that is dropped without hurting the others.

import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import {
  startRedis, startApi, redis, request, openFeed, waitUntil, sleep, hasChange, updateFor, getMetrics,
  metricValue, rawWebSocket, encodeClientTextFrame, brief, cleanup,
} from './harness.mjs';

const BOTS = 'main:360;demo:1';

let rds;
let a; // interval 100 ms (the default)
let b; // interval 300 ms
let feedB; // one client of replica B, open for the whole file

const ver = async (cluster) => Number((await redis(rds.port, 'GET', `glance:{${cluster}}:ver`)) || 0);
const post = async (api, p) => {
  const r = await request(api.port, 'POST', p);
  assert.equal(r.status, 204, `POST ${p}: ${r.status} ${r.body}`);
};
const isHello = (m) => m.type === 'hello';

/** The version of each cluster a client applying `feed`'s frames in order has reached. */
function versionsSeen(feed) {
  const seen = new Map();
  for (const m of feed.messages) {
    if (m.type === 'hello') for (const c of m.clusters) seen.set(c.name, c.version);
    else if (m.type === 'update') for (const c of m.clusters) if (c.to !== undefined) seen.set(c.name, Math.max(seen.get(c.name) ?? 0, c.to));
  }
  return seen;
}

/** Waits until every change made so far (Redis's versions now) has reached `feed`. */
async function caughtUp(feed, what = 'the feed') {
  const want = { main: await ver('main'), demo: await ver('demo') };
  await waitUntil(() => Object.entries(want).every(([name, v]) => versionsSeen(feed).get(name) >= v),
    { timeoutMs: 3000, message: `${what} to reach versions ${JSON.stringify(want)}` });
}

before(async () => {
  rds = await startRedis();
  a = await startApi({ redisPort: rds.port, bots: BOTS, healthTimeout: 30 });
  b = await startApi({ redisPort: rds.port, bots: BOTS, healthTimeout: 30, feedIntervalMs: 300 });
  // some history, so versions are not all zero
  await post(a, '/api/status/main/0/3');
  await post(a, '/api/status/main/1/4');
  await post(a, '/api/status/demo/0/3');
  feedB = await openFeed(b.port);
});
after(cleanup);

describe('hello', { timeout: 15000 }, () => {
  let feed;
  let hello;
  before(async () => {
    // A's hello is its feed's view as of its last flush: wait for a flush that sent the changes made in
    // the file's before(), so the hello carries them
    const watcher = await openFeed(a.port);
    await caughtUp(watcher, 'replica A\'s feed');
    watcher.close();
    feed = await openFeed(a.port);
    hello = await feed.waitFor(isHello, 3000, { what: 'hello' });
  });
  after(() => feed.close());

  it('is the first frame', () => {
    assert.equal(feed.messages[0].type, 'hello', `first frame ${brief(feed.messages[0])}`);
  });
  it('lists every cluster in configured order with its shard count', () => {
    assert.deepEqual(hello.clusters.map((c) => [c.name, c.shards]), [['main', 360], ['demo', 1]]);
  });
  it('has one state digit per shard', () => {
    for (const c of hello.clusters) {
      assert.equal(typeof c.states, 'string');
      assert.equal(c.states.length, c.shards, `${c.name}: ${c.states.length} digits for ${c.shards} shards`);
      assert.match(c.states, /^[0-6]+$/);
    }
  });
  it('carries the current states and versions', async () => {
    const main = hello.clusters[0];
    assert.equal(main.states[0], '3');
    assert.equal(main.states[1], '4');
    assert.equal(hello.clusters[1].states, '3');
    assert.equal(main.version, await ver('main'));
    assert.equal(hello.clusters[1].version, await ver('demo'));
  });
  it('with the updates that follow, catches a client up with a change made just before it connected', async () => {
    await post(a, '/api/status/main/2/5');
    const late = await openFeed(a.port);
    try {
      await waitUntil(() => {
        let states = null;
        let version = null;
        for (const m of late.messages) {
          if (m.type === 'hello') { states = m.clusters[0].states.split(''); version = m.clusters[0].version; }
          const c = updateFor(m, 'main');
          if (c && states && c.from <= version) { for (const [s, st] of c.changes || []) states[s] = String(st); version = c.to; }
        }
        return states && states[2] === '5';
      }, { timeoutMs: 1000, message: 'the late client to see main[2] == 5' });
    } finally {
      late.close();
    }
  });
  it('announces the health timeout and the interval', async () => {
    assert.equal(hello.health_timeout, 30);
    assert.equal(hello.interval_ms, 100);
    const hb = await feedB.waitFor(isHello, 3000, { what: 'hello from B' });
    assert.equal(hb.interval_ms, 300);
  });
});

describe('an update', { timeout: 15000 }, () => {
  let update;
  let v0;
  before(async () => {
    await feedB.waitFor(isHello, 3000, { what: 'hello' });
    await caughtUp(feedB, 'replica B\'s feed'); // earlier changes have gone out, so they are not in this update
    v0 = await ver('main');
    const from = feedB.mark();
    await post(a, '/api/status/main/40/4');
    update = await feedB.waitFor((m) => hasChange(m, 'main', 40, 4), 3000,
      { from, what: 'an update with main [40,4] on replica B after a POST to replica A' });
  });

  it('reaches a feed client of another replica', () => {
    assert.ok(update);
  });
  it('has from < to, with from not above the version before and to the version after', async () => {
    const c = updateFor(update, 'main');
    assert.ok(c.to > c.from, `from ${c.from} to ${c.to}`);
    assert.ok(c.from <= v0, `from ${c.from} is above the version before the POST (${v0})`);
    assert.equal(c.to, await ver('main'));
  });
  it('lists only the clusters that changed', () => {
    assert.deepEqual(update.clusters.map((c) => c.name), ['main']);
  });
});

describe('several changes within one interval', { timeout: 15000 }, () => {
  const states = [4, 5, 6, 2, 3];
  let frames;
  let v0;
  before(async () => {
    await feedB.waitFor(isHello, 3000, { what: 'hello' });
    v0 = await ver('main');
    const from = feedB.mark();
    for (const st of states) await post(a, `/api/status/main/41/${st}`);
    await feedB.waitFor((m) => hasChange(m, 'main', 41, 3), 3000, { from, what: 'an update with main [41,3]' });
    // deliberately idle: two more intervals of B, in which a late frame repeating shard 41 would show
    await sleep(700);
    frames = feedB.messages.slice(from).filter((m) => (updateFor(m, 'main')?.changes || []).some(([s]) => s === 41));
  });

  it('arrive in fewer frames than POSTs', () => {
    assert.ok(frames.length < states.length, `${frames.length} frames for ${states.length} POSTs: ${frames.map(brief).join(' ')}`);
  });
  it('list each shard once per frame', () => {
    for (const f of frames) {
      const ids = updateFor(f, 'main').changes.map(([s]) => s);
      assert.equal(new Set(ids).size, ids.length, `duplicates in ${brief(f)}`);
    }
  });
  it('end with the latest state', () => {
    const last = frames[frames.length - 1];
    assert.deepEqual(updateFor(last, 'main').changes.find(([s]) => s === 41), [41, 3]);
  });
  it('cover every version in between', () => {
    const cs = frames.map((f) => updateFor(f, 'main'));
    assert.ok(cs[0].from <= v0, `first from ${cs[0].from} > ${v0}`);
    assert.equal(cs[cs.length - 1].to, v0 + states.length);
  });
});

describe('the first change after a quiet interval', { timeout: 30000 }, () => {
  // a replica of its own with a long interval, so that "at once" and "after the interval" are seconds apart
  const INTERVAL = 3000;
  let c;
  let feed;
  before(async () => {
    c = await startApi({ redisPort: rds.port, bots: BOTS, healthTimeout: 30, feedIntervalMs: INTERVAL });
    feed = await openFeed(c.port);
    await feed.waitFor(isHello, 3000, { what: 'hello' });
  });
  after(() => feed.close());

  const changeOf = async (shard, state) => {
    const from = feed.mark();
    const posted = Date.now();
    await post(c, `/api/status/main/${shard}/${state}`);
    const m = await feed.waitFor((x) => hasChange(x, 'main', shard, state), 3 * INTERVAL, { from, what: `an update with main [${shard},${state}]` });
    return { posted, at: m.receivedAt };
  };

  it('goes out at once, and the next one waits for the interval', async () => {
    await sleep(INTERVAL + 200); // deliberately idle: no frame within the last interval
    const first = await changeOf(44, 4);
    assert.ok(first.at - first.posted < INTERVAL / 2, `a lone change took ${first.at - first.posted} ms (interval ${INTERVAL})`);
    const second = await changeOf(44, 3);
    assert.ok(second.at - first.at >= INTERVAL - 1000, `a second frame ${second.at - first.at} ms after the first (interval ${INTERVAL})`);
    // quiet again: the next change goes at once too
    await sleep(INTERVAL + 200);
    const third = await changeOf(44, 5);
    assert.ok(third.at - third.posted < INTERVAL / 2, `a lone change took ${third.at - third.posted} ms after a quiet interval`);
  });
});

describe('requests and pings', { timeout: 15000 }, () => {
  it('{"type":"resync"} is answered with a fresh hello carrying the current state', async () => {
    await post(a, '/api/status/main/42/6');
    const v = await ver('main');
    // B must have seen it before its hello can carry it
    await waitUntil(async () => (await request(b.port, 'GET', '/api/status')).json().clusters[0].version === v,
      { timeoutMs: 2000, message: 'replica B to reach the new version' });
    const from = feedB.mark();
    feedB.send({ type: 'resync' });
    const hello = await feedB.waitFor(isHello, 3000, { from, what: 'a hello after resync' });
    assert.equal(hello.clusters[0].version, v);
    assert.equal(hello.clusters[0].states[42], '6');
  });

  it('a health ping shows up in pings, not in changes', async () => {
    const changed = feedB.mark();
    await post(a, '/api/status/main/43/3');
    await feedB.waitFor((m) => hasChange(m, 'main', 43, 3), 3000, { from: changed, what: 'an update with main [43,3]' });
    const from = feedB.mark();
    await post(a, '/api/health/main/43');
    const m = await feedB.waitFor((x) => (updateFor(x, 'main')?.pings || []).includes(43), 3000,
      { from, what: 'an update with 43 in main pings' });
    assert.ok(!(updateFor(m, 'main').changes || []).some(([s]) => s === 43), `ping reported as a change: ${brief(m)}`);
  });

  it('no update is sent while nothing changes', async () => {
    await caughtUp(feedB, 'replica B\'s feed');
    const from = feedB.mark();
    await sleep(1000); // deliberately idle: proves no update comes while nothing changes
    const updates = feedB.messages.slice(from).filter((m) => m.type === 'update');
    assert.equal(updates.length, 0, updates.map(brief).join(' '));
  });

  it('glance_feed_clients counts the open feed clients', async () => {
    const count = async () => metricValue(await getMetrics(b.port), 'glance_feed_clients');
    const n0 = await count();
    const extra = await openFeed(b.port);
    await waitUntil(async () => (await count()) === n0 + 1, { timeoutMs: 2000, message: `glance_feed_clients to be ${n0 + 1}` });
    extra.close();
    await waitUntil(async () => (await count()) === n0, { timeoutMs: 2000, message: `glance_feed_clients back to ${n0}` });
  });

  it('a client applying hello and every update ends with the states of GET /api/status', async () => {
    for (let i = 0; i < 20; i++) await post(i % 2 ? a : b, `/api/status/main/${100 + (i % 7)}/${i % 7}`);
    await caughtUp(feedB, 'replica B\'s feed');
    const local = new Map();
    const version = new Map();
    for (const m of feedB.messages) {
      if (m.type === 'hello') {
        for (const c of m.clusters) { local.set(c.name, c.states.split('').map(Number)); version.set(c.name, c.version); }
      } else if (m.type === 'update') {
        for (const c of m.clusters) {
          if (!(c.changes || []).length && c.from === undefined) continue; // pings only
          assert.ok(c.from <= version.get(c.name), `gap: ${c.name} at ${version.get(c.name)}, update from ${c.from}`);
          for (const [s, st] of c.changes || []) local.get(c.name)[s] = st;
          version.set(c.name, c.to);
        }
      }
    }
    const snap = (await request(b.port, 'GET', '/api/status')).json();
    for (const c of snap.clusters) {
      assert.equal(version.get(c.name), c.version, `${c.name} version`);
      assert.deepEqual(local.get(c.name), c.states, `${c.name} states`);
    }
  });
});

it('a hand-encoded masked resync frame on a raw socket is answered with a hello (checks the encoder used below)', async () => {
  const { socket, rest } = await rawWebSocket(a.port);
  try {
    let text = rest.toString('latin1');
    socket.on('data', (d) => { text += d.toString('latin1'); });
    socket.resume();
    socket.write(encodeClientTextFrame('{"type":"resync"}'));
    await waitUntil(() => text.split('"type":"hello"').length - 1 >= 2,
      { timeoutMs: 3000, message: 'two hellos (the first and the resync answer) on the raw socket' })
      .catch((e) => { throw new Error(`${e.message}; got ${text.length} bytes`); });
  } finally {
    socket.destroy();
  }
});

describe('a slow client', { timeout: 60000 }, () => {
  let s;
  let normal;
  let raw;
  let dropped;
  let clientsAfter;

  before(async () => {
    s = await startApi({ redisPort: rds.port, bots: 'tiny:10;big:200000', healthTimeout: 30 });
    normal = await openFeed(s.port);
    const hello = await normal.waitFor(isHello, 5000, { what: 'hello' });
    assert.ok(JSON.stringify(hello).length > 190000, 'hello is about 200 KB');
    ({ socket: raw } = await rawWebSocket(s.port)); // paused: never reads again
    raw.on('error', () => {});
    // 120,000 shards of big change in one go, the way the transition script records and announces each: each such
    // wave makes an update frame of about 1.3 MB. Waves go on (states 3 and 4 in turn) until the client is dropped:
    // how much of what is unsent the kernel's socket buffers take off the replica depends on the machine, and
    // asking for hellos no longer can push it over (one unsent hello answers every request meanwhile). (These
    // shards have no health keys, but a replica that heard their changes checks them only at their deadline, 30 s
    // on: the sweep leaves them alone, so nothing else here makes frames that big.)
    const wave = (state) => redis(rds.port, 'EVAL', `local t = redis.call('TIME') local now = t[1] * 1000
      for i = 0, tonumber(ARGV[1]) - 1 do
        redis.call('SETRANGE', KEYS[1], i, ARGV[2]) redis.call('HSET', KEYS[2], i, now)
        local v = redis.call('INCR', KEYS[3])
        redis.call('PUBLISH', 'glance:events', cmsgpack.pack({1, 'big', i, tonumber(ARGV[2]), v, now}))
      end return 1`, '3', 'glance:{big}:states', 'glance:{big}:since', 'glance:{big}:ver', 120000, String(state));
    const deadline = Date.now() + 10000;
    let i = 0;
    while (Date.now() < deadline) {
      await wave(3 + (i % 2));
      await post(s, `/api/status/tiny/${i % 10}/${3 + (i % 2)}`);
      i++;
      dropped = metricValue(await getMetrics(s.port), 'glance_feed_clients_dropped_total');
      if (dropped >= 1) break;
      await sleep(200); // the pace of the POSTs, not a wait for something
    }
    await post(s, '/api/status/tiny/9/6');
    await waitUntil(async () => (clientsAfter = metricValue(await getMetrics(s.port), 'glance_feed_clients')) === 1,
      { timeoutMs: 20000, message: 'glance_feed_clients to be 1' }).catch(() => {});
  });
  after(() => { raw?.destroy(); normal?.close(); });

  it('is dropped within 10 s (glance_feed_clients_dropped_total >= 1)', () => {
    assert.ok(dropped >= 1, `glance_feed_clients_dropped_total is ${dropped}`);
  });
  it('is no longer counted in glance_feed_clients', () => {
    assert.equal(clientsAfter, 1);
  });
  it('does not stop a normal client from receiving the latest update', async () => {
    // it reads every 1.3 MB wave before it: under the sanitizers, on a loaded machine, that takes seconds
    await normal.waitFor((m) => hasChange(m, 'tiny', 9, 6), 20000, { what: 'an update with tiny [9,6] on the normal client' });
  });
  it('leaves the replica serving', async () => {
    assert.equal((await request(s.port, 'GET', '/readyz')).status, 200);
  });
});
