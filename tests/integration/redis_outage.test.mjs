// redis_outage.test.mjs -- a replica outlives Redis: writes answer 503 at once, readiness and the feed say
// so, and everything recovers by itself when Redis returns; SIGTERM closes feeds with 1001 and exits 0.

import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import {
  startRedis, startApi, redis, request, openFeed, waitUntil, getMetrics, metricValue, cleanup, shardState,
} from './harness.mjs';

const BOTS = 'main:360;demo:1';
const REDIS_TIMEOUT_MS = 500;

let rds;
let api;
let pid0;

before(async () => {
  rds = await startRedis();
  api = await startApi({ redisPort: rds.port, bots: BOTS, healthTimeout: 30, env: { GLANCE_REDIS_TIMEOUT_MS: REDIS_TIMEOUT_MS } });
  pid0 = api.pid;
});
after(cleanup);

function assertJsonError(res, status) {
  assert.equal(res.status, status, `expected ${status}, got ${res.status}: ${res.body.slice(0, 300)}`);
  assert.match(res.headers['content-type'] || '', /^application\/json\b/i);
  const body = res.json();
  assert.ok(typeof body.error === 'string' && body.error.length > 0, `error body ${res.body}`);
}

const waitReady = (timeoutMs) => waitUntil(async () => (await request(api.port, 'GET', '/readyz', { timeoutMs: 1000 })).status === 200,
  { timeoutMs, intervalMs: 100, message: '/readyz to answer 200' });

describe('Redis not answering (SIGSTOP)', { timeout: 20000 }, () => {
  let res;
  before(async () => {
    assert.equal((await request(api.port, 'POST', '/api/status/main/1/3')).status, 204);
    rds.kill('SIGSTOP');
    try {
      res = await request(api.port, 'POST', '/api/status/main/2/3', { timeoutMs: 8000 });
    } finally {
      rds.kill('SIGCONT');
    }
  });

  it(`a POST answers 503 with a JSON error within GLANCE_REDIS_TIMEOUT_MS (${REDIS_TIMEOUT_MS} ms) + 1 s`, () => {
    assertJsonError(res, 503);
    assert.ok(res.ms <= REDIS_TIMEOUT_MS + 1000, `answered after ${res.ms} ms`);
  });

  it('the replica recovers by itself once Redis answers again', async () => {
    await waitReady(10000);
    const r = await request(api.port, 'POST', '/api/status/main/3/3');
    assert.equal(r.status, 204, r.body);
  });
});

describe('Redis stopped, then restarted empty on the same port', { timeout: 40000 }, () => {
  let feed;
  let staleAt;
  before(async () => {
    await waitReady(10000);
    feed = await openFeed(api.port);
    await feed.waitFor((m) => m.type === 'hello', 3000, { what: 'hello' });
    await rds.stop();
  });
  after(() => feed?.close());

  describe('while Redis is down', () => {
    it('a status POST answers 503 with a JSON error within 3 s', async () => {
      const r = await request(api.port, 'POST', '/api/status/main/4/3', { timeoutMs: 6000 });
      assertJsonError(r, 503);
      assert.ok(r.ms <= 3000, `answered after ${r.ms} ms`);
    });
    it('a health POST answers 503 with a JSON error within 3 s', async () => {
      const r = await request(api.port, 'POST', '/api/health/main/1', { timeoutMs: 6000 });
      assertJsonError(r, 503);
      assert.ok(r.ms <= 3000, `answered after ${r.ms} ms`);
    });
    it('/readyz answers 503 with a reason', async () => {
      let last;
      await waitUntil(async () => (last = await request(api.port, 'GET', '/readyz')).status === 503,
        { timeoutMs: 3000, message: '/readyz to answer 503' });
      assert.ok(last.body.length > 0, 'a reason in the body');
    });
    it('a feed client is told the data is stale', async () => {
      const m = await feed.waitFor((x) => x.type === 'stale', 3000, { what: 'a stale frame' });
      assert.equal(typeof m.since_ms, 'number');
      assert.ok(Math.abs(m.since_ms - Date.now()) < 60000, `since_ms ${m.since_ms}`);
      staleAt = feed.messages.indexOf(m);
    });
    it('/healthz still answers 200', async () => {
      assert.equal((await request(api.port, 'GET', '/healthz')).status, 200);
    });
    it('GET /api/status still serves the last known snapshot', async () => {
      const r = await request(api.port, 'GET', '/api/status');
      assert.equal(r.status, 200, r.body.slice(0, 300));
      assert.equal(r.json().clusters[0].states[1], 3);
    });
  });

  describe('after Redis is back', () => {
    before(async () => { await rds.restart(); });

    it('/readyz answers 200 again within 10 s', async () => {
      await waitReady(10000);
    });
    it('a status POST answers 204', async () => {
      const r = await request(api.port, 'POST', '/api/status/main/5/4');
      assert.equal(r.status, 204, r.body);
      assert.equal(await shardState(rds.port, 'main', 5), '4');
    });
    it('a feed client receives a new hello after the stale frame', async () => {
      const from = staleAt === undefined ? 0 : staleAt + 1;
      await feed.waitFor((m) => m.type === 'hello', 10000, { from, what: 'a hello after the stale frame' });
    });
    it('the feed goes on with updates for new changes', async () => {
      const from = feed.mark();
      await request(api.port, 'POST', '/api/status/main/6/5');
      await feed.waitFor((m) => m.type === 'update' && m.clusters.some((c) => c.name === 'main' && (c.changes || []).some(([s, st]) => s === 6 && st === 5)),
        3000, { from, what: 'an update with main [6,5]' });
    });
    it('expired keyevent notifications are turned on again in the new Redis', async () => {
      await waitUntil(async () => {
        const flags = (await redis(rds.port, 'CONFIG', 'GET', 'notify-keyspace-events')).split('\n')[1] || '';
        return flags.includes('E') && (flags.includes('x') || flags.includes('A'));
      }, { timeoutMs: 5000, message: 'notify-keyspace-events to include E and x' });
    });
    it('glance_redis_reconnects_total counts the reconnects', async () => {
      assert.ok(metricValue(await getMetrics(api.port), 'glance_redis_reconnects_total') >= 1);
    });
    it('the replica was never restarted (same pid, still running)', () => {
      assert.equal(api.pid, pid0);
      assert.ok(api.alive(), `glance-api exited: ${api.stderr().slice(-500)}`);
    });
  });
});

describe('SIGTERM on glance-api', { timeout: 20000 }, () => {
  let close;
  let code;
  before(async () => {
    const g = await startApi({ redisPort: rds.port, bots: BOTS });
    const feed = await openFeed(g.port);
    await feed.waitFor((m) => m.type === 'hello', 3000, { what: 'hello' });
    const closing = feed.waitClose(8000);
    code = await g.stop();
    close = await closing.catch((e) => ({ error: e.message }));
  });

  it('closes a feed client with 1001 (going away)', () => {
    assert.equal(close.code, 1001, JSON.stringify(close));
  });
  it('exits with code 0', () => {
    assert.equal(code, 0);
  });
});
