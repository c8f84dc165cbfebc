// alerts.test.mjs -- a cluster's condition, recorded in Redis and turned into alerts exactly once across
// replicas: 360 shards going unhealthy at once with three replicas is one alert (not 360, not 3), and so is the
// recovery; a shard restart shorter than GLANCE_ALERT_DELAY is none; a condition that begins just as the one
// before falls due is alerted all the same; GET /api/alerts lists them, behind the passphrase.

import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startRedis, startApi, redis, request, waitUntil, sleep, getMetrics, metricValue, postEach, cleanup } from './harness.mjs';

const SHARDS = 360;
const PASSPHRASE = 'alerts-test-passphrase-0123';
const AUTH = { authorization: `Bearer ${PASSPHRASE}` };
const HEALTH_TIMEOUT_S = 4;
const DELAY_S = 1;

after(cleanup);

/** Sets every shard of main to `state`, spread over the replicas. */
const setAll = (apis, state) => postEach(apis, Array.from({ length: SHARDS }, (_, s) => `/api/status/main/${s}/${state}`), AUTH);

const alertCount = async (port) => Number(await redis(port, 'XLEN', 'glance:alerts'));
const condition = async (port) => Number(await redis(port, 'HGET', 'glance:{main}:condition', 'condition'));

async function recordedBy(apis) {
  let sum = 0;
  for (const a of apis) sum += metricValue(await getMetrics(a.port), 'glance_alerts_recorded_total');
  return sum;
}

describe('alerts across three replicas', { timeout: 60000 }, () => {
  let rds;
  let apis;

  before(async () => {
    rds = await startRedis();
    const env = { GLANCE_ALERT_DELAY: DELAY_S };
    apis = [];
    for (let i = 0; i < 3; i++) {
      apis.push(await startApi({ redisPort: rds.port, bots: `main:${SHARDS};demo:16`, passphrase: PASSPHRASE,
        healthTimeout: HEALTH_TIMEOUT_S, env }));
    }
  });

  it('a cluster coming online is recorded as operational and is no alert', async () => {
    await setAll(apis, 3);
    await waitUntil(async () => (await condition(rds.port)) === 1, { timeoutMs: 3000, message: 'main recorded as operational' });
    await sleep(DELAY_S * 1000 + 600);
    assert.equal(await alertCount(rds.port), 0);
  });

  it('360 shards going unhealthy at once: one alert, recorded by one replica', async (t) => {
    const silentAt = Date.now();
    // the last pings were the status posts above: no more, so every health key runs out together
    await waitUntil(async () => (await condition(rds.port)) === 4,
      { timeoutMs: (HEALTH_TIMEOUT_S + 5) * 1000, intervalMs: 50, message: 'main recorded as a major outage' });
    const outageAt = Date.now();
    await waitUntil(async () => (await alertCount(rds.port)) === 1,
      { timeoutMs: (DELAY_S + 3) * 1000, intervalMs: 50, message: 'one alert in the stream' });
    t.diagnostic(`major outage recorded ${outageAt - silentAt} ms after the last ping; alert ${Date.now() - outageAt} ms later (delay ${DELAY_S} s)`);
    await sleep(1000); // nobody adds a second one
    assert.equal(await alertCount(rds.port), 1);
    assert.equal(await recordedBy(apis), 1, 'exactly one replica recorded it');

    const r = await request(apis[1].port, 'GET', '/api/alerts', { headers: AUTH });
    assert.equal(r.status, 200, r.body);
    const [alert] = r.json().alerts;
    assert.equal(alert.cluster, 'main');
    assert.equal(alert.condition, 'major outage');
    assert.equal(alert.previous, 'operational');
    assert.equal(alert.down, SHARDS);
    assert.equal(alert.total, SHARDS);
    assert.ok(alert.at_ms - alert.since_ms >= DELAY_S * 1000, `recorded ${alert.at_ms - alert.since_ms} ms after it began`);
    assert.equal(alert.delivery, 'not sent', 'no webhook is configured');
    assert.equal(alert.flapping, false);
  });

  it('the recovery is one more alert', async () => {
    await setAll(apis, 3);
    await waitUntil(async () => (await alertCount(rds.port)) === 2,
      { timeoutMs: (DELAY_S + 3) * 1000, intervalMs: 50, message: 'the recovery in the stream' });
    await sleep(1000);
    assert.equal(await alertCount(rds.port), 2);
    assert.equal(await recordedBy(apis), 2);
    const { alerts } = (await request(apis[2].port, 'GET', '/api/alerts', { headers: AUTH })).json();
    assert.deepEqual(alerts.map((a) => a.condition), ['operational', 'major outage'], 'newest first');
    assert.equal(alerts[0].previous, 'major outage');
  });

  it('a shard restart shorter than the delay is no alert', async () => {
    await setAll(apis, 3); // fresh pings, so nothing expires during this test
    const changes = async () => {
      let sum = 0;
      for (const a of apis) sum += metricValue(await getMetrics(a.port), 'glance_condition_changes_total');
      return sum;
    };
    const before = await changes();
    assert.equal((await request(apis[0].port, 'POST', '/api/status/main/5/2', { headers: AUTH })).status, 204);
    await waitUntil(async () => (await condition(rds.port)) === 3, { timeoutMs: 2000, message: 'main recorded as a partial outage' });
    await sleep(300);
    assert.equal((await request(apis[0].port, 'POST', '/api/status/main/5/3', { headers: AUTH })).status, 204);
    await waitUntil(async () => (await condition(rds.port)) === 1, { timeoutMs: 2000, message: 'main operational again' });
    await sleep(DELAY_S * 1000 + 1000);
    assert.equal(await alertCount(rds.port), 2, 'no alert for the restart');
    assert.equal(await changes() - before, 2, 'the two condition changes were each recorded once');
  });

  it('GET /api/alerts needs the passphrase and only GET', async () => {
    const r = await request(apis[0].port, 'GET', '/api/alerts');
    assert.equal(r.status, 401);
    assert.equal(typeof r.json().error, 'string');
    const p = await request(apis[0].port, 'POST', '/api/alerts', { headers: AUTH });
    assert.equal(p.status, 405);
  });
});

describe('a condition that begins just as the one before falls due', { timeout: 60000 }, () => {
  // Operational from the first posts, then every shard expires after GLANCE_HEALTH_TIMEOUT=1 s: the outage begins
  // about when the operational condition has held for GLANCE_ALERT_DELAY=1 s, in the same tick as its due check.
  // A replica that settled the condition it knew when the answer came (not the one it asked about) never alerted
  // the outage (5 runs of 6 before the fix).
  it('is alerted: three times in a row', async (t) => {
    const held = [];
    for (let run = 0; run < 3; run++) {
      const rds = await startRedis();
      const api = await startApi({ redisPort: rds.port, bots: 'main:4', passphrase: PASSPHRASE, healthTimeout: 1,
        env: { GLANCE_ALERT_DELAY: 1 } });
      for (let i = 0; i < 4; i++) assert.equal((await request(api.port, 'POST', `/api/status/main/${i}/3`, { headers: AUTH })).status, 204);
      await waitUntil(async () => (await alertCount(rds.port)) === 1,
        { timeoutMs: 6000, intervalMs: 50, message: `run ${run}: the outage in the stream` });
      const since = Number(await redis(rds.port, 'HGET', 'glance:{main}:condition', 'since'));
      held.push(Date.now() - since);
      assert.equal(await condition(rds.port), 4);
      await api.stop();
    }
    t.diagnostic(`the outage was alerted in every run (it had held ${held.join(', ')} ms when seen)`);
  });
});
