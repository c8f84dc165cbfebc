// all_replicas_down.test.mjs -- every replica down while shards' health keys expire: nobody hears the
// expiries, so the first replica that starts must find them; it marks them unhealthy within one sweep.

import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startRedis, startApi, openFeed, redis, request, waitUntil, sleep, getMetrics, metricValue, cleanup } from '../integration/harness.mjs';
import { postLoad, redisStates, feedView, proved, stopAll, assertCleanStop } from './lib.mjs';

const SHARDS = 360;
const HEALTH_TIMEOUT_S = 2;
const SWEEP_BOUND_MS = 1500; // one sweep (every 1 s) and a margin, counted from the replica being ready

after(async () => { await stopAll(); await cleanup(); });

describe('every replica down while the shards expire', { timeout: 60000 }, () => {
  let rds;
  let statesWhileDown;
  let hbWhileDown;
  let started;
  let readyAt;
  let unhealthyAt;
  let fresh;
  let metrics;
  let feed;

  before(async () => {
    rds = await startRedis();
    const env = { GLANCE_HEALTH_TIMEOUT: HEALTH_TIMEOUT_S };
    const apis = [await startApi({ redisPort: rds.port, env }), await startApi({ redisPort: rds.port, env })];
    const paths = Array.from({ length: SHARDS }, (_, s) => `/api/status/main/${s}/3`);
    const load = postLoad(apis[0].port, paths, { concurrency: 4 });
    const results = await load.done;
    assert.equal(results.filter((r) => r.status === 204).length, SHARDS, 'every shard set online');
    for (const a of apis) assert.equal(await a.stop(), 0);

    await sleep(HEALTH_TIMEOUT_S * 1000 + 1000);
    statesWhileDown = await redisStates(rds.port, 'main', SHARDS);
    hbWhileDown = Number(await redis(rds.port, 'EVAL', "return #redis.call('KEYS', 'glance:{main}:hb:*')", '0'));

    started = Date.now();
    fresh = await startApi({ redisPort: rds.port, env });
    readyAt = Date.now();
    feed = await openFeed(fresh.port);
    unhealthyAt = await waitUntil(async () => {
      const s = await redisStates(rds.port, 'main', SHARDS);
      return s.every((x) => x === 1) && Date.now();
    }, { timeoutMs: 10000, intervalMs: 20, message: 'every shard unhealthy in Redis' });
    await sleep(300);
    metrics = await getMetrics(fresh.port);
  });
  after(() => feed?.close());

  it('while every replica was down the health keys expired and nobody changed a state', () => {
    assert.equal(hbWhileDown, 0, 'health keys still present');
    assert.ok(statesWhileDown.every((x) => x === 3), 'states changed while no replica ran');
  });

  it(`the first replica that starts marks every expired shard unhealthy within ${SWEEP_BOUND_MS} ms of being ready`, (t) => {
    const ms = unhealthyAt - readyAt;
    assert.ok(ms <= SWEEP_BOUND_MS, `all unhealthy ${ms} ms after ready`);
    const bySweep = metricValue(metrics, 'glance_expired_by_sweep_total');
    const byNote = metricValue(metrics, 'glance_expired_by_notification_total');
    assert.equal(bySweep + byNote, SHARDS, `sweep ${bySweep} + notification ${byNote}`);
    proved(t, `all-replicas-down: ${SHARDS} shards expired with no replica running (GLANCE_HEALTH_TIMEOUT=${HEALTH_TIMEOUT_S}); `
      + `the first replica to start marked all unhealthy ${unhealthyAt - started} ms after its spawn, `
      + `${Math.max(0, ms)} ms after /readyz (bound ${SWEEP_BOUND_MS}); by sweep ${bySweep}, by notification ${byNote}`);
  });

  it('its feed clients see every shard unhealthy', async () => {
    await waitUntil(() => {
      const main = feedView(feed.messages).clusters.get('main');
      return main && main.states.every((x) => x === 1);
    }, { timeoutMs: 3000, message: 'the feed view to show every shard unhealthy' });
    assert.equal((await request(fresh.port, 'GET', '/readyz')).status, 200);
  });

  it('shuts down cleanly after it all (exit 0; leak-free under ASan)', async () => {
    await assertCleanStop([fresh]);
  });
});
