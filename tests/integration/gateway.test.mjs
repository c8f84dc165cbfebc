// gateway.test.mjs -- the gateway counters and what Glance concludes from them (issue 28): events per second from
// consecutive reports and across a counter reset, a silent shard (online, pinging, no new events) and its stale
// latency, a reconnect storm, the identify budget, in GET /api/status/<c>/<id>, /api/figures, /metrics and /plain;
// bad counters and budgets refused with nothing written. Real redis-server and glance-api; GLANCE_SILENT_AFTER is 1 s
// so that silence takes a second, not five minutes.

import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { getMetrics, metricValue, redis, redisDump, request, sleep, startApi, startRedis, waitUntil } from './harness.mjs';

const PASS = 'gateway-test-passphrase';
const AUTH = { authorization: `Bearer ${PASS}` };
const JSON_AUTH = { ...AUTH, 'content-type': 'application/json' };

describe('gateway counters', { timeout: 90000 }, () => {
  let rds;
  let api;
  before(async () => {
    rds = await startRedis();
    api = await startApi({
      redisPort: rds.port, bots: 'gw:16;quiet:4;storm:8;loop:4;budget:1440', passphrase: PASS, healthTimeout: 3600,
      env: { GLANCE_SILENT_AFTER: 1 },
    });
  });
  after(async () => {
    await api?.stop();
    await rds?.stop();
  });

  const post = async (path, body) => {
    const r = await request(api.port, 'POST', path, body === undefined ? { headers: AUTH } : { headers: JSON_AUTH, body: JSON.stringify(body) });
    return r;
  };
  const shard = async (cluster, id) => {
    const r = await request(api.port, 'GET', `/api/status/${cluster}/${id}`);
    assert.equal(r.status, 200, r.body);
    return r.json();
  };
  const figuresOf = async (cluster) => {
    const r = await request(api.port, 'GET', '/api/figures');
    assert.equal(r.status, 200, r.body);
    return r.json().clusters.find((c) => c.name === cluster);
  };

  it('computes events per second from consecutive reports, and a counter that went down as a restart', async () => {
    assert.equal((await post('/api/status/gw/0/3', { events: 1000, guilds: 50, latency_ms: 40 })).status, 204);
    let s = await shard('gw', 0);
    assert.equal(s.gateway.events, 1000);
    assert.equal(s.gateway.events_per_s, null, 'one report has no rate yet');
    assert.equal(s.gateway.resumes, null);
    const t0 = s.gateway.reported_ms;
    await sleep(400);
    assert.equal((await post('/api/health/gw/0?events=1400&resumes=2&identifies=1&disconnects=2')).status, 204);
    s = await shard('gw', 0);
    const dt = (s.gateway.reported_ms - t0) / 1000;
    assert.ok(Math.abs(s.gateway.events_per_s - 400 / dt) < 0.01 * (400 / dt) + 0.002, JSON.stringify(s.gateway));
    assert.deepEqual([s.gateway.resumes, s.gateway.identifies, s.gateway.disconnects], [2, 1, 2]);
    assert.equal(s.gateway.last_event_ms, s.gateway.reported_ms);
    // the process restarted: 30 events since, over the time since the last report; never negative
    await sleep(200);
    const t1 = s.gateway.reported_ms;
    assert.equal((await post('/api/health/gw/0', { events: 30, identifies: 1 })).status, 204);
    s = await shard('gw', 0);
    assert.ok(s.gateway.events_per_s >= 0, JSON.stringify(s.gateway));
    const dt2 = (s.gateway.reported_ms - t1) / 1000;
    assert.ok(Math.abs(s.gateway.events_per_s - 30 / dt2) < 0.01 * (30 / dt2) + 0.002, JSON.stringify(s.gateway));
    assert.equal(s.gateway.events, 30);
    assert.equal(s.gateway.silent, false);
    // the figures are still those reported, and a report of counters alone did not touch them
    assert.equal(s.figures.guilds, 50);
    assert.equal(s.figures.latency_ms, 40);
  });

  it('calls an online shard silent when it keeps reporting but receives no events, and lets it recover', async () => {
    assert.equal((await post('/api/status/quiet/0/3', { events: 500, guilds: 120, latency_ms: 41 })).status, 204);
    assert.equal((await post('/api/status/quiet/1/3', { events: 500, guilds: 0, latency_ms: 41 })).status, 204);
    assert.equal((await post('/api/status/quiet/2/3', { events: 500, guilds: 120, latency_ms: 41 })).status, 204);
    await sleep(1200);
    // shard 0: pings with the same events and the same latency (a zombie); 1 serves no guilds; 2 has a moving latency
    assert.equal((await post('/api/health/quiet/0', { events: 500, latency_ms: 41 })).status, 204);
    assert.equal((await post('/api/health/quiet/1', { events: 500, latency_ms: 41 })).status, 204);
    assert.equal((await post('/api/health/quiet/2', { events: 500, latency_ms: 57 })).status, 204);
    const zombie = await shard('quiet', 0);
    assert.equal(zombie.gateway.silent, true, JSON.stringify(zombie.gateway));
    assert.equal(zombie.gateway.stale_latency, true);
    assert.equal(zombie.gateway.events_per_s, 0);
    assert.equal((await shard('quiet', 1)).gateway.silent, false, 'a shard that serves no guilds gets no events');
    const moving = await shard('quiet', 2);
    assert.equal(moving.gateway.silent, true);
    assert.equal(moving.gateway.stale_latency, false);
    let c;
    await waitUntil(async () => (c = await figuresOf('quiet')).gateway.silent === 2,
      { timeoutMs: 15000, message: 'two silent shards in /api/figures' });
    assert.deepEqual(c.gateway.silent_shards, [0, 2]);
    assert.equal(c.gateway.stale_latency, 1);
    const metrics = await getMetrics(api.port);
    assert.equal(metricValue(metrics, 'glance_cluster_shards_silent', { cluster: 'quiet' }), 2);
    assert.equal(metricValue(metrics, 'glance_cluster_shards_stale_latency', { cluster: 'quiet' }), 1);
    const plain = (await request(api.port, 'GET', '/plain')).body;
    assert.match(plain, /quiet: 2 shards online but receiving no gateway events/);
    // events flow again: it recovers by itself
    assert.equal((await post('/api/health/quiet/0', { events: 520 })).status, 204);
    assert.equal((await shard('quiet', 0)).gateway.silent, false);
    // a shard that went down is not silent, whatever its counters say
    assert.equal((await post('/api/status/quiet/2/2')).status, 204);
    assert.equal((await shard('quiet', 2)).gateway.silent, false);
  });

  it('calls a deploy no storm, and a second restart of every shard within the hour one', async () => {
    const all = async (events, identifies) => {
      const report = { shards: [0, 1, 2, 3].map((id) => ({ id, state: 3, events, identifies })) };
      assert.equal((await post('/api/clusters/loop/report', report)).status, 200);
    };
    await all(100, 1); // first sight: what the processes counted before is not news
    let c = await figuresOf('loop');
    assert.equal(c.gateway.identifies_per_min, 0);
    // every process restarted (events went down) and identified once: its count is 1 again, as before, but new
    await all(5, 1);
    await waitUntil(async () => (c = await figuresOf('loop')).gateway.identifies_per_min === 4,
      { timeoutMs: 15000, message: 'four identifies counted' });
    assert.equal(c.gateway.storm, false, 'a deploy of every shard is no storm');
    await all(3, 1);
    await waitUntil(async () => (c = await figuresOf('loop')).gateway.storm === true,
      { timeoutMs: 15000, message: 'a storm once every shard identified twice' });
    assert.equal(c.gateway.identifies_per_min, 8);
    assert.match((await request(api.port, 'GET', '/plain')).body, /loop: reconnect storm, 8 identifies and 0 resumes a minute/);
  });

  it('warns of a reconnect storm: resumes a minute far above the cluster\'s usual rate, once it has one', async () => {
    for (let id = 0; id < 8; ++id)
      assert.equal((await post(`/api/status/storm/${id}/3`, { events: 10, identifies: 1, resumes: 0 })).status, 204);
    let c = await figuresOf('storm');
    assert.equal(c.gateway.storm, false);
    const report = { shards: [] };
    for (let id = 0; id < 8; ++id) report.shards.push({ id, events: 20, identifies: 1, resumes: 2 });
    assert.equal((await post('/api/clusters/storm/report', report)).status, 200);
    await waitUntil(async () => (c = await figuresOf('storm')).gateway.resumes_per_min === 16,
      { timeoutMs: 15000, message: 'sixteen resumes counted' });
    assert.equal(c.gateway.storm, false, 'the first minute Glance knows of a cluster is its usual rate, not a storm');
    // the same minute after an hour of quiet: ten times its rate and more
    await redis(rds.port, 'HSET', 'glance:{storm}:gwc', 'since', String(Date.now() - 3600000));
    await waitUntil(async () => (c = await figuresOf('storm')).gateway.storm === true,
      { timeoutMs: 15000, message: 'a storm in /api/figures' });
    assert.equal(c.gateway.identifies_per_min, 0);
    assert.equal(c.gateway.resumes_per_min, 16);
    assert.equal(c.gateway.sessions_24h, 16);
    const metrics = await getMetrics(api.port);
    assert.equal(metricValue(metrics, 'glance_cluster_reconnect_storm', { cluster: 'storm' }), 1);
    assert.equal(metricValue(metrics, 'glance_cluster_resumes_per_minute', { cluster: 'storm' }), 16);
    assert.match((await request(api.port, 'GET', '/plain')).body, /storm: reconnect storm, 0 identifies and 16 resumes a minute/);
    // a quiet cluster is no storm
    assert.equal((await figuresOf('gw')).gateway.storm, false);
  });

  it('says when a full restart would exhaust the identify budget, from the cluster route and a report\'s top level', async () => {
    const budget = (remaining, resetAfter = 3600000) => ({ session_start_total: 2000, session_start_remaining: remaining,
      session_start_reset_after_ms: resetAfter, max_concurrency: 16 });
    assert.equal((await post('/api/clusters/budget/gateway', budget(1500))).status, 200);
    let c;
    await waitUntil(async () => (c = await figuresOf('budget')).gateway.session?.remaining === 1500, { timeoutMs: 15000, message: 'the budget' });
    assert.equal(c.gateway.session.short, false, '1,500 left is enough for 1,440 shards');
    assert.equal(c.gateway.session.max_concurrency, 16);
    assert.equal(c.gateway.session.reset_at_ms, c.gateway.session.reported_ms + 3600000);
    // the batch report's top level: the same four fields beside "shards"
    assert.equal((await post('/api/clusters/budget/report', { shards: [{ id: 0, state: 3 }], ...budget(1000) })).status, 200);
    await waitUntil(async () => (c = await figuresOf('budget')).gateway.session.remaining === 1000, { timeoutMs: 15000, message: 'the new budget' });
    assert.equal(c.gateway.session.short, true);
    const metrics = await getMetrics(api.port);
    assert.equal(metricValue(metrics, 'glance_cluster_identify_budget_short', { cluster: 'budget' }), 1);
    assert.equal(metricValue(metrics, 'glance_cluster_session_start_remaining', { cluster: 'budget' }), 1000);
    assert.match((await request(api.port, 'GET', '/plain')).body,
      /budget: a full restart now would exhaust the daily identify budget \(1000 left, 1440 shards\); it resets at \d{4}-\d\d-\d\d \d\d:\d\d UTC/);
    // past its reset, Discord has refilled it: what was reported no longer holds
    assert.equal((await post('/api/clusters/budget/gateway', budget(10, 0))).status, 200);
    await waitUntil(async () => (c = await figuresOf('budget')).gateway.session.reset_at_ms === c.gateway.session.reported_ms,
      { timeoutMs: 15000, message: 'the budget past its reset' });
    assert.equal(c.gateway.session.remaining, 2000);
    assert.equal(c.gateway.session.short, false);
  });

  it('refuses bad counters and budgets with a 400 naming the field, and writes nothing', async () => {
    assert.equal((await post('/api/status/gw/5/3', { events: 7, guilds: 3 })).status, 204);
    const before = await redisDump(rds.port);
    const bad = [
      ['/api/status/gw/5/4', { events: -1 }, 'events must be a whole number'],
      ['/api/status/gw/5/4?events=1.5', undefined, 'events must be a whole number'],
      ['/api/health/gw/5', { resumes: null }, 'resumes cannot be null'],
      ['/api/health/gw/5', { identifies: 1e9 + 1 }, 'identifies must be a whole number from 0 to 1000000000'],
      ['/api/health/gw/5', { disconnects: '3' }, 'disconnects must be a whole number'],
      ['/api/health/gw/5', { events: 1e14 + 1 }, 'events must be a whole number from 0 to 100000000000000'],
      ['/api/clusters/gw/report', { shards: [{ id: 5, state: 4, events: 8 }, { id: 6, events: -3 }] }, 'shards[1].events'],
      ['/api/clusters/gw/report', { shards: [{ id: 5, state: 4 }], session_start_total: 5 }, 'session_start_remaining is missing'],
      ['/api/clusters/gw/gateway', { session_start_total: 10, session_start_remaining: 11, session_start_reset_after_ms: 0, max_concurrency: 1 },
        'session_start_remaining must not be more than session_start_total'],
      ['/api/clusters/gw/gateway', { session_start_total: 10, session_start_remaining: 1, session_start_reset_after_ms: 0, max_concurrency: 0 },
        'max_concurrency must be a whole number from 1 to 1024'],
      ['/api/clusters/gw/gateway', { total: 10 }, 'unknown field "total"'],
      ['/api/clusters/gw/gateway', [], 'must be a JSON object'],
    ];
    for (const [path, body, words] of bad) {
      const r = path.includes('?') ? await request(api.port, 'POST', path, { headers: AUTH }) : await post(path, body);
      assert.equal(r.status, 400, `${path} ${JSON.stringify(body)}: ${r.status} ${r.body}`);
      assert.ok(r.json().error.includes(words), `${path}: ${r.body}`);
    }
    assert.equal((await request(api.port, 'POST', '/api/clusters/gw/gateway', { headers: AUTH, body: '{}' })).status, 415);
    assert.equal((await request(api.port, 'POST', '/api/clusters/gw/gateway', { headers: { 'content-type': 'application/json' }, body: '{}' })).status, 401);
    assert.deepEqual(await redisDump(rds.port), before);
  });
});
