// idle.test.mjs -- a replica with no bot traffic at all, the life of a small bot at night: its subscription is
// proven alive by heartbeats it publishes to itself, so it stays quiet (no reconnect, no stale, no new hello,
// /readyz 200 throughout); and a Redis frozen while nothing happens (SIGSTOP) is still noticed within the
// bound, without any request to trip over it. The replica reaches Redis by a host name ("localhost"), so
// the lookup off the event loop is exercised too.
// The first of these failed on hiredis 0.14 when liveness was a PING, which that version never answers to
// its callback: the replica dropped its subscriber every ~3 s (issue 10).

import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startRedis, startApi, openFeed, request, waitUntil, sleep, getMetrics, metricValue, cleanup } from '../integration/harness.mjs';
import { proved, stopAll, assertCleanStop } from './lib.mjs';

const REDIS_TIMEOUT_MS = 1000;
const IDLE_MS = 12000;
// a quiet second before the heartbeat, GLANCE_REDIS_TIMEOUT_MS for it to be heard, a 250 ms tick, slack
const NOTICE_BOUND_MS = 1000 + REDIS_TIMEOUT_MS + 250 + 1000;

after(async () => { await stopAll(); await cleanup(); });

const readyz = async (api) => (await request(api.port, 'GET', '/readyz', { timeoutMs: 3000 }).catch(() => ({ status: 0 }))).status;
const metric = async (api, name) => metricValue(await getMetrics(api.port), name);

describe('a replica left idle: no bot traffic, one browser connected', { timeout: 60000 }, () => {
  let rds;
  let api;
  let feed;
  let mark;
  let before_;
  let after_;
  const readiness = [];

  before(async () => {
    rds = await startRedis();
    api = await startApi({ redisPort: rds.port, env: {
      GLANCE_REDIS_URL: `redis://localhost:${rds.port}/0`, GLANCE_REDIS_TIMEOUT_MS: REDIS_TIMEOUT_MS } });
    feed = await openFeed(api.port);
    await feed.waitFor((m) => m.type === 'hello', 5000, { what: 'hello' });
    mark = feed.mark();
    before_ = { reconnects: await metric(api, 'glance_redis_reconnects_total'), heartbeats: await metric(api, 'glance_redis_heartbeats_total') };
    // nothing is sent to Redis by anyone; /readyz is asked often, as a load balancer would
    const start = Date.now();
    while (Date.now() - start < IDLE_MS) {
      readiness.push(await readyz(api));
      await sleep(200);
    }
    after_ = { reconnects: await metric(api, 'glance_redis_reconnects_total'), heartbeats: await metric(api, 'glance_redis_heartbeats_total') };
  });
  after(() => feed?.close());

  it('its subscription was proven alive by heartbeats all along', (t) => {
    const sent = after_.heartbeats - before_.heartbeats;
    // one per quiet second at most; at least every other second over 12 s
    assert.ok(sent >= IDLE_MS / 2000 && sent <= IDLE_MS / 1000 + 1, `${sent} heartbeats in ${IDLE_MS} ms`);
    proved(t, `idle: ${sent} heartbeats in ${IDLE_MS / 1000} s, 0 reconnects`);
  });

  it('it never reconnected to Redis', () => {
    assert.equal(after_.reconnects, before_.reconnects);
    assert.doesNotMatch(api.stderr(), /dropping the connection|connection .* (lost|dropped)/);
  });

  it('its browser got no stale and no hello: nothing happened, so nothing was said', () => {
    assert.deepEqual(feed.messages.slice(mark).map((m) => m.type).filter((t) => t !== 'update'), []);
  });

  it('/readyz answered 200 every time it was asked', () => {
    assert.ok(readiness.length >= IDLE_MS / 400, `asked ${readiness.length} times`);
    assert.deepEqual(readiness.filter((s) => s !== 200), []);
  });

  describe('then Redis frozen (SIGSTOP) while nothing happens', () => {
    let frozenAt;
    let noticedAt;
    let thawedAt;
    let readyAt;
    let staleMark;

    before(async () => {
      staleMark = feed.mark();
      rds.kill('SIGSTOP');
      frozenAt = Date.now();
      noticedAt = await waitUntil(async () => (await readyz(api)) === 503 && Date.now(),
        { timeoutMs: NOTICE_BOUND_MS + 3000, intervalMs: 20, message: '/readyz 503 after the freeze' });
      await sleep(Math.max(0, REDIS_TIMEOUT_MS * 2 - (Date.now() - frozenAt)));
      rds.kill('SIGCONT');
      thawedAt = Date.now();
      readyAt = await waitUntil(async () => (await readyz(api)) === 200 && Date.now(),
        { timeoutMs: 10000, intervalMs: 20, message: '/readyz 200 after the thaw' });
    });
    after(() => { try { rds.kill('SIGCONT'); } catch {} });

    it(`is noticed within ${NOTICE_BOUND_MS} ms, with no request in flight to trip over it`, (t) => {
      assert.ok(noticedAt - frozenAt <= NOTICE_BOUND_MS, `noticed after ${noticedAt - frozenAt} ms`);
      proved(t, `idle freeze: /readyz 503 ${noticedAt - frozenAt} ms after SIGSTOP; ready ${readyAt - thawedAt} ms after SIGCONT`);
    });

    it('its browser is told the data may be stale, then gets a fresh hello', async () => {
      await feed.waitFor((m) => m.type === 'hello', 5000, { from: staleMark, what: 'hello after the thaw' });
      const types = feed.messages.slice(staleMark).map((m) => m.type);
      assert.ok(types.indexOf('stale') !== -1 && types.indexOf('stale') < types.lastIndexOf('hello'), types.join(','));
    });

    it('the replica stays quiet once Redis is back', async () => {
      const m = feed.mark();
      const r0 = await metric(api, 'glance_redis_reconnects_total');
      await sleep(4000); // proving that nothing happens takes the time it takes
      assert.equal(await metric(api, 'glance_redis_reconnects_total'), r0);
      assert.deepEqual(feed.messages.slice(m).map((x) => x.type).filter((x) => x !== 'update'), []);
      assert.equal(await readyz(api), 200);
    });
  });

  it('shuts down cleanly after it all (exit 0; leak-free under ASan)', async () => {
    await assertCleanStop([api]);
  });
});
