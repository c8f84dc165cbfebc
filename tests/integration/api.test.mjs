// api.test.mjs -- the HTTP API of one glance-api replica against a real Redis: writes, reads, errors,
// the passphrase, metrics and the HTML views.

import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import {
  startRedis, startApi, redis, redisDump, request, waitUntil, getMetrics, metricValue, cleanup, REPO_ROOT,
  shardState, clusterStates, setShardState, countState,
} from './harness.mjs';

const BOTS = 'main:360;demo:1';
const TIMEOUT_S = 30;
const STATE_NAMES = ['unknown', 'unhealthy', 'offline', 'online', 'starting', 'stopping', 'resuming'];

let rds;

before(async () => { rds = await startRedis(); });
after(cleanup);

const ver = async (cluster) => Number((await redis(rds.port, 'GET', `glance:{${cluster}}:ver`)) || 0);
const hget = (cluster, id) => shardState(rds.port, cluster, id); // the digit, or '' when never reported

function assertJsonError(res, status) {
  assert.equal(res.status, status, `expected ${status}, got ${res.status} with body ${JSON.stringify(res.body.slice(0, 300))}`);
  assert.match(res.headers['content-type'] || '', /^application\/json\b/i, 'content-type of an error');
  const body = res.json();
  assert.equal(typeof body.error, 'string', `error body ${res.body}`);
  assert.ok(body.error.length > 0, 'error message is not empty');
}

const guildShard = (id, shards) => Number((BigInt(id) >> 22n) % BigInt(shards));

async function statusSnapshot(api) {
  const r = await request(api.port, 'GET', '/api/status');
  assert.equal(r.status, 200);
  return r.json();
}

describe('without a passphrase', { timeout: 60000 }, () => {
  let api;
  before(async () => { api = await startApi({ redisPort: rds.port, bots: BOTS, healthTimeout: TIMEOUT_S }); });

  describe('POST /api/status/main/5/3', () => {
    let res;
    let ver0;
    before(async () => {
      ver0 = await ver('main');
      res = await request(api.port, 'POST', '/api/status/main/5/3');
    });

    it('answers 204 with an empty body', () => {
      assert.equal(res.status, 204, res.body);
      assert.equal(res.body, '');
    });
    it('stores the state in the cluster states string', async () => {
      assert.equal(await hget('main', 5), '3');
    });
    it('creates the health key with a TTL of the health timeout', async () => {
      assert.equal(await redis(rds.port, 'EXISTS', 'glance:{main}:hb:5'), '1');
      const ttl = Number(await redis(rds.port, 'TTL', 'glance:{main}:hb:5'));
      assert.ok(ttl >= TIMEOUT_S - 2 && ttl <= TIMEOUT_S, `TTL ${ttl}, expected about ${TIMEOUT_S}`);
    });
    it('bumps the cluster version by exactly one', async () => {
      assert.equal(await ver('main'), ver0 + 1);
    });
    it('records when the state changed in the since hash', async () => {
      const since = Number(await redis(rds.port, 'HGET', 'glance:{main}:since', 5));
      assert.ok(Math.abs(since - Date.now()) < 10000, `since ${since} is not about now (${Date.now()})`);
    });
    it('shows up in GET /api/status', async () => {
      await waitUntil(async () => (await statusSnapshot(api)).clusters[0].states[5] === 3,
        { timeoutMs: 2000, message: 'GET /api/status to show main[5] == 3' });
    });
  });

  it('a repeated identical status bumps the version only once', async () => {
    const v0 = await ver('main');
    assert.equal((await request(api.port, 'POST', '/api/status/main/7/4')).status, 204);
    assert.equal((await request(api.port, 'POST', '/api/status/main/7/4')).status, 204);
    assert.equal(await ver('main'), v0 + 1);
  });

  it('a repeated identical status still refreshes the health key', async () => {
    await request(api.port, 'POST', '/api/status/main/8/4');
    await redis(rds.port, 'EXPIRE', 'glance:{main}:hb:8', 5);
    assert.equal((await request(api.port, 'POST', '/api/status/main/8/4')).status, 204);
    const ttl = Number(await redis(rds.port, 'TTL', 'glance:{main}:hb:8'));
    assert.ok(ttl >= TIMEOUT_S - 2, `TTL ${ttl} after the second status, expected about ${TIMEOUT_S}`);
  });

  it('a Redis that forgot its scripts (SCRIPT FLUSH) takes every kind of write as before', async () => {
    // the replica sends its pre-formatted EVALSHA, hears NOSCRIPT and sends the same command as EVAL
    const writes = [
      ['/api/status/main/40/3', '3'], // a change: the full form with the history keys
      ['/api/status/main/40/3?latency_ms=12&guilds=900', '3'], // a ping with figures: the short form
      ['/api/health/main/40', '3'],
      ['/api/status/main/40/4', '4'],
    ];
    for (const [url, state] of writes) {
      await redis(rds.port, 'SCRIPT', 'FLUSH');
      const res = await request(api.port, 'POST', url);
      assert.equal(res.status, 204, `${url}: ${res.body}`);
      assert.equal(await hget('main', 40), state, url);
    }
    const shard = (await request(api.port, 'GET', '/api/status/main/40')).json();
    assert.equal(shard.figures.guilds, 900);
    assert.equal(shard.figures.latency_ms, 12);
  });

  it('the demo cluster (1 shard) accepts shard 0', async () => {
    const res = await request(api.port, 'POST', '/api/status/demo/0/4');
    assert.equal(res.status, 204, res.body);
    assert.equal(await hget('demo', 0), '4');
  });

  it('a status sent with an Authorization header is accepted when no passphrase is configured', async () => {
    const res = await request(api.port, 'POST', '/api/status/main/12/3', { headers: { Authorization: 'whatever' } });
    assert.equal(res.status, 204, res.body);
  });

  describe('health ping', () => {
    it('for a shard that never had a status answers 409 with a JSON error', async () => {
      assertJsonError(await request(api.port, 'POST', '/api/health/main/6'), 409);
    });
    it('for a shard that never had a status creates no health key', async () => {
      await request(api.port, 'POST', '/api/health/main/6');
      assert.equal(await redis(rds.port, 'EXISTS', 'glance:{main}:hb:6'), '0');
      assert.equal(await hget('main', 6), '');
    });
    it('after a status answers 204 with an empty body', async () => {
      assert.equal((await request(api.port, 'POST', '/api/status/main/6/4')).status, 204);
      const res = await request(api.port, 'POST', '/api/health/main/6');
      assert.equal(res.status, 204, res.body);
      assert.equal(res.body, '');
    });
    it('a shard set to 0 (unknown) explicitly takes pings; one that never reported does not; both read as unknown', async () => {
      assert.equal((await request(api.port, 'POST', '/api/status/main/30/0')).status, 204);
      assert.equal(await hget('main', 30), '0', 'an explicit 0 is stored as the digit');
      assert.equal(await hget('main', 31), '', 'shard 31 never reported');
      await waitUntil(async () => {
        const s = (await statusSnapshot(api)).clusters[0];
        return s.states[30] === 0 && s.states[31] === 0 && s.version === await ver('main');
      }, { timeoutMs: 2000, message: 'GET /api/status to be current' });
      for (const id of [30, 31]) {
        const r = await request(api.port, 'GET', `/api/status/main/${id}`);
        assert.equal(r.json().state_name, 'unknown', `shard ${id}`);
      }
      assertJsonError(await request(api.port, 'POST', '/api/health/main/31'), 409);
      const res = await request(api.port, 'POST', '/api/health/main/30');
      assert.equal(res.status, 204, res.body);
      assert.equal(await redis(rds.port, 'EXISTS', 'glance:{main}:hb:30'), '1');
      assert.equal(await redis(rds.port, 'EXISTS', 'glance:{main}:hb:31'), '0');
      assert.equal(await hget('main', 30), '0');
      assert.equal(await hget('main', 31), '');
    });
    it('refreshes the health key TTL without changing the state or the version', async () => {
      await request(api.port, 'POST', '/api/status/main/13/4');
      await redis(rds.port, 'EXPIRE', 'glance:{main}:hb:13', 5);
      const v0 = await ver('main');
      assert.equal((await request(api.port, 'POST', '/api/health/main/13')).status, 204);
      const ttl = Number(await redis(rds.port, 'TTL', 'glance:{main}:hb:13'));
      assert.ok(ttl >= TIMEOUT_S - 2, `TTL ${ttl}`);
      assert.equal(await hget('main', 13), '4');
      assert.equal(await ver('main'), v0);
    });
  });

  // Each of these is rejected, answers a JSON error and writes nothing.
  const big = 'a'.repeat(1100);
  const rejects = [
    ['an unknown cluster', 'POST', '/api/status/nope/5/3', 400],
    ['an id equal to the shard count (360)', 'POST', '/api/status/main/360/3', 400],
    ['a negative id (-1)', 'POST', '/api/status/main/-1/3', 400],
    ['a non-numeric id (abc)', 'POST', '/api/status/main/abc/3', 400],
    ['an id past 64 bits (18446744073709551616)', 'POST', '/api/status/main/18446744073709551616/3', 400],
    ['an id of 2^64 - 1', 'POST', '/api/status/main/18446744073709551615/3', 400],
    ['an id with a sign (+5)', 'POST', '/api/status/main/+5/3', 400],
    ['state 7', 'POST', '/api/status/main/5/7', 400],
    ['a non-numeric state (x)', 'POST', '/api/status/main/5/x', 400],
    ['a state past 64 bits', 'POST', '/api/status/main/5/18446744073709551619', 400],
    ['an empty cluster segment (/api/status//5/3)', 'POST', '/api/status//5/3', 400],
    ['a doubled slash (/api/status/main/5//3)', 'POST', '/api/status/main/5//3', 400],
    ['a trailing slash (/api/status/main/5/3/)', 'POST', '/api/status/main/5/3/', 400],
    ['a percent-encoded cluster (/api/status/ma%69n/5/3)', 'POST', '/api/status/ma%69n/5/3', 400],
    ['a percent-encoded id (/api/status/main/%35/3)', 'POST', '/api/status/main/%35/3', 400],
    ['a health ping for an unknown cluster', 'POST', '/api/health/nope/1', 400],
    ['a health ping for an id out of range', 'POST', '/api/health/main/360', 400],
    ['a health ping with an empty id', 'POST', '/api/health/main/', 400],
    ['a path over 1024 bytes', 'POST', `/api/status/${big}/5/3`, 414],
    ['a body over 4 KiB', 'POST', '/api/status/main/9/3', 413, 'x'.repeat(4097)],
    ['a 64 KiB body', 'POST', '/api/status/main/9/3', 413, 'x'.repeat(65536)],
  ];
  for (const [what, method, p, status, body] of rejects) {
    describe(`${method} with ${what}`, () => {
      let res;
      let before0;
      let after0;
      before(async () => {
        before0 = await redisDump(rds.port);
        res = await request(api.port, method, p, body !== undefined ? { body, headers: { 'content-type': 'text/plain' } } : {});
        await new Promise((r) => setTimeout(r, 20));
        after0 = await redisDump(rds.port);
      });
      it(`answers ${status} with a JSON error body`, () => assertJsonError(res, status));
      it('leaves Redis unchanged', () => assert.deepEqual(after0, before0));
    });
  }

  it('a body of exactly 4 KiB is ignored and the status is stored', async () => {
    const res = await request(api.port, 'POST', '/api/status/main/10/4', { body: 'y'.repeat(4096) });
    assert.equal(res.status, 204, res.body);
    assert.equal(await hget('main', 10), '4');
  });

  describe('wrong method or path', () => {
    it('GET /api/status/main/5/3 answers 405 with Allow naming POST', async () => {
      const res = await request(api.port, 'GET', '/api/status/main/5/3');
      assertJsonError(res, 405);
      assert.match(res.headers.allow || '', /\bPOST\b/, `Allow: ${res.headers.allow}`);
    });
    it('DELETE /api/health/main/1 answers 405 with Allow naming POST', async () => {
      const res = await request(api.port, 'DELETE', '/api/health/main/1');
      assertJsonError(res, 405);
      assert.match(res.headers.allow || '', /\bPOST\b/, `Allow: ${res.headers.allow}`);
    });
    it('POST /api/status answers 405 with Allow naming GET', async () => {
      const res = await request(api.port, 'POST', '/api/status');
      assertJsonError(res, 405);
      assert.match(res.headers.allow || '', /\bGET\b/, `Allow: ${res.headers.allow}`);
    });
    it('GET /api/nope answers 404 with a JSON error', async () => {
      assertJsonError(await request(api.port, 'GET', '/api/nope'), 404);
    });
    it('a wrong method writes nothing', async () => {
      const d0 = await redisDump(rds.port);
      await request(api.port, 'PUT', '/api/status/main/14/3');
      await request(api.port, 'GET', '/api/health/main/5');
      assert.deepEqual(await redisDump(rds.port), d0);
    });
  });

  describe('GET /api/status', () => {
    it('lists the clusters in configured order with their shard counts and one state per shard', async () => {
      const s = await statusSnapshot(api);
      assert.deepEqual(s.clusters.map((c) => [c.name, c.shards, c.states.length]), [['main', 360, 360], ['demo', 1, 1]]);
      for (const c of s.clusters) assert.ok(c.states.every((x) => Number.isInteger(x) && x >= 0 && x <= 6));
    });
    it('reports each cluster version as stored in Redis', async () => {
      await waitUntil(async () => {
        const s = await statusSnapshot(api);
        return s.clusters[0].version === await ver('main') && s.clusters[1].version === await ver('demo');
      }, { timeoutMs: 2000, message: 'versions in GET /api/status to equal glance:{*}:ver' });
    });
    it('matches the states string in Redis for every shard', async () => {
      await waitUntil(async () => {
        const expected = await clusterStates(rds.port, 'main', 360);
        const s = await statusSnapshot(api);
        return JSON.stringify(s.clusters[0].states) === JSON.stringify(expected);
      }, { timeoutMs: 2000, message: 'GET /api/status main states to equal the Redis states string' });
    });
  });

  describe('GET /api/status/<cluster>/<id>', () => {
    let t0;
    let t1;
    let body;
    before(async () => {
      t0 = Date.now();
      assert.equal((await request(api.port, 'POST', '/api/status/main/15/2')).status, 204);
      assert.equal((await request(api.port, 'POST', '/api/status/main/15/3')).status, 204);
      t1 = Date.now();
      const r = await request(api.port, 'GET', '/api/status/main/15');
      assert.equal(r.status, 200, r.body);
      body = r.json();
    });
    it('names the cluster, the shard, the state and its name', () => {
      assert.equal(body.cluster, 'main');
      assert.equal(body.shard, 15);
      assert.equal(body.state, 3);
      assert.equal(body.state_name, 'online');
    });
    it('since_ms is the time of the last change', () => {
      assert.ok(body.since_ms >= t0 - 1000 && body.since_ms <= t1 + 1000, `since_ms ${body.since_ms} not in [${t0}, ${t1}]`);
    });
    it('healthy_until_ms is about now plus the health timeout', () => {
      const expected = t1 + TIMEOUT_S * 1000;
      assert.ok(Math.abs(body.healthy_until_ms - expected) <= 2000, `healthy_until_ms ${body.healthy_until_ms}, expected about ${expected}`);
    });
    it('a shard that never changed is unknown with since_ms and healthy_until_ms 0', async () => {
      const r = await request(api.port, 'GET', '/api/status/main/11');
      assert.equal(r.status, 200, r.body);
      assert.deepEqual(r.json(), {
        cluster: 'main', shard: 11, state: 0, state_name: 'unknown', since_ms: 0, healthy_until_ms: 0,
        transitions: [], availability: { '24h': null, '7d': null }, covered_from_ms: null, flapping: false, figures: null,
        gateway: null,
      });
    });
    it('healthy_until_ms is 0 once the health key is gone', async () => {
      await request(api.port, 'POST', '/api/status/main/16/4');
      await redis(rds.port, 'DEL', 'glance:{main}:hb:16');
      const r = await request(api.port, 'GET', '/api/status/main/16');
      assert.equal(r.json().healthy_until_ms, 0);
    });
    it('names every state correctly', async () => {
      // written straight into Redis (the endpoint reads Redis) and removed again, so the mirror never knew;
      // with a health key, or the replica's sweep may find a live state without one and rightly expire it
      // between the write and the read
      const was = [];
      for (let st = 0; st <= 6; st++) was.push(await hget('main', 300 + st));
      try {
        for (let st = 0; st <= 6; st++) {
          await redis(rds.port, 'SET', `glance:{main}:hb:${300 + st}`, '1', 'PX', '60000');
          await setShardState(rds.port, 'main', 300 + st, st);
          const r = await request(api.port, 'GET', `/api/status/main/${300 + st}`);
          assert.equal(r.json().state_name, STATE_NAMES[st], `state ${st}`);
        }
      } finally {
        // back to what they were ('' writes a zero byte: never reported)
        for (let st = 0; st <= 6; st++) {
          await setShardState(rds.port, 'main', 300 + st, was[st]);
          await redis(rds.port, 'DEL', `glance:{main}:hb:${300 + st}`);
        }
      }
    });
    it('answers 400 for an id out of range', async () => {
      assertJsonError(await request(api.port, 'GET', '/api/status/main/360'), 400);
    });
    it('answers 400 for an unknown cluster', async () => {
      assertJsonError(await request(api.port, 'GET', '/api/status/nope/0'), 400);
    });
  });

  describe('GET /api/guild/<id>', () => {
    const lowOnes = ((123456789n << 22n) | 0x3fffffn).toString();
    const ids = [
      '0',
      '4194303',
      '4194304',
      '81384788765712384',
      '9007199254740993', // 2^53 + 1: not representable as a double
      ((1n << 53n) + 0x3fffffn).toString(), // above 2^53 with the low 22 bits all ones
      '9223372036854775807', // 2^63 - 1
      '9223372036854775808', // 2^63
      lowOnes,
      ((0x2bcdef12345n << 22n) | 0x3fffffn).toString(), // 64 bits wide, low 22 bits ones
      '18446744073709551615', // 2^64 - 1
    ];
    for (const id of ids) {
      it(`${id} maps to shard (id >> 22) % 360 of main and 0 of demo`, async () => {
        const r = await request(api.port, 'GET', `/api/guild/${id}`);
        assert.equal(r.status, 200, r.body);
        const body = r.json();
        assert.equal(body.guild, id);
        assert.deepEqual(body.clusters.map((c) => [c.name, c.shard]), [['main', guildShard(id, 360)], ['demo', 0]]);
      });
    }
    it('reports the state of the serving shard', async () => {
      const id = ((1n << 40n) + (42n << 22n)).toString(); // shard (2^18 + 42) % 360
      const shard = guildShard(id, 360);
      await request(api.port, 'POST', `/api/status/main/${shard}/5`);
      await waitUntil(async () => {
        const c = (await request(api.port, 'GET', `/api/guild/${id}`)).json().clusters[0];
        return c.state === 5 && c.state_name === 'stopping';
      }, { timeoutMs: 2000, message: `guild ${id} to report shard ${shard} as 5/stopping` });
    });
    for (const bad of ['abc', '-1', '1.5', '12a', '0x10', '18446744073709551616', '99999999999999999999999']) {
      it(`answers 400 with a JSON error for ${bad}`, async () => {
        assertJsonError(await request(api.port, 'GET', `/api/guild/${bad}`), 400);
      });
    }
  });

  describe('service endpoints', () => {
    it('GET /healthz answers 200 {"ok":true}', async () => {
      const r = await request(api.port, 'GET', '/healthz');
      assert.equal(r.status, 200);
      assert.deepEqual(r.json(), { ok: true });
    });
    it('GET /readyz answers 200', async () => {
      assert.equal((await request(api.port, 'GET', '/readyz')).status, 200);
    });
    it('GET /metrics names the request, feed and Redis counters', async () => {
      const text = await getMetrics(api.port);
      for (const name of ['glance_http_requests_total', 'glance_feed_clients', 'glance_feed_frames_sent_total',
        'glance_feed_bytes_sent_total', 'glance_feed_clients_dropped_total', 'glance_redis_reconnects_total']) {
        assert.notEqual(metricValue(text, name), undefined, `no sample for ${name} in /metrics`);
      }
      assert.ok(metricValue(text, 'glance_http_requests_total') > 0, 'glance_http_requests_total > 0');
    });
    it('GET /metrics glance_shards{cluster="main",state="online"} counts the online shards', async () => {
      for (const id of [200, 201, 202]) await request(api.port, 'POST', `/api/status/main/${id}/3`);
      const online = () => countState(rds.port, 'main', 3);
      let last;
      await waitUntil(async () => {
        last = metricValue(await getMetrics(api.port), 'glance_shards', { cluster: 'main', state: 'online' });
        return last === await online();
      }, { timeoutMs: 2000, message: 'glance_shards{cluster="main",state="online"} to equal the online count in Redis' })
        .catch(async (e) => { throw new Error(`${e.message}; metric ${last}, Redis ${await online()}`); });
    });
    it('GET /plain is HTML naming every cluster, with a guild form', async () => {
      const r = await request(api.port, 'GET', '/plain');
      assert.equal(r.status, 200);
      assert.match(r.headers['content-type'] || '', /^text\/html/i);
      assert.match(r.body, /\bmain\b/);
      assert.match(r.body, /\bdemo\b/);
      assert.match(r.body, /<form[^>]*>/i);
      assert.match(r.body, /name=["']?guild\b/i);
    });
    it('GET /plain?guild=<id> names the serving shard', async () => {
      const id = ((1000n * 360n + 299n) << 22n).toString(); // shard 299 of main
      assert.equal(guildShard(id, 360), 299);
      const text = (html) => html.replace(/<[^>]*>/g, ' ').replace(/\s+/g, ' ');
      const r = await request(api.port, 'GET', `/plain?guild=${id}`);
      assert.equal(r.status, 200);
      const t = text(r.body); // the grid lists shard numbers too, so look right after the guild id
      const at = t.indexOf(id);
      assert.ok(at >= 0, 'the page repeats the guild id in its text');
      const after = t.slice(at + id.length, at + id.length + 120);
      assert.match(after, /\b299\b/, `the text after the guild id names shard 299: ${JSON.stringify(after)}`);
    });
    const index = path.join(REPO_ROOT, 'web', 'index.html');
    it('GET / serves web/index.html as text/html, with the link preview tags (preview.test) in its head', { skip: !existsSync(index) && 'web/index.html does not exist' }, async () => {
      const r = await request(api.port, 'GET', '/');
      assert.equal(r.status, 200);
      assert.match(r.headers['content-type'] || '', /^text\/html/i);
      assert.equal(r.body.replace(/<meta (property|name)="(og|twitter):[^>]+>\n|<meta name="theme-color"[^>]+>\n/g, ''),
        readFileSync(index, 'utf8'));
    });
  });
});

describe('with a passphrase', { timeout: 60000 }, () => {
  const PASS = 's3cret-Pass';
  let api;
  before(async () => { api = await startApi({ redisPort: rds.port, bots: BOTS, healthTimeout: TIMEOUT_S, passphrase: PASS }); });

  const denied = [
    ['no Authorization header', undefined],
    ['a wrong passphrase', 'nope'],
    ['a wrong Bearer passphrase', 'Bearer nope'],
    ['a prefix of the passphrase', PASS.slice(0, -1)],
    ['the passphrase plus a character', `${PASS}x`],
    ['an empty Authorization header', ''],
    ['"Bearer" alone', 'Bearer'],
  ];
  for (const [what, auth] of denied) {
    describe(`a status with ${what}`, () => {
      let res;
      let d0;
      let d1;
      before(async () => {
        d0 = await redisDump(rds.port);
        res = await request(api.port, 'POST', '/api/status/main/20/3', auth === undefined ? {} : { headers: { Authorization: auth } });
        d1 = await redisDump(rds.port);
      });
      it('answers 401 with a JSON error', () => assertJsonError(res, 401));
      it('leaves Redis unchanged', () => assert.deepEqual(d1, d0));
    });
  }

  it('a health ping without Authorization answers 401 (checked before anything else)', async () => {
    assertJsonError(await request(api.port, 'POST', '/api/health/main/21'), 401);
  });

  it('a status with the raw passphrase answers 204 and is stored', async () => {
    const res = await request(api.port, 'POST', '/api/status/main/22/3', { headers: { Authorization: PASS } });
    assert.equal(res.status, 204, res.body);
    assert.equal(await hget('main', 22), '3');
  });

  it('a status with "Bearer <passphrase>" answers 204 and is stored', async () => {
    const res = await request(api.port, 'POST', '/api/status/main/23/4', { headers: { Authorization: `Bearer ${PASS}` } });
    assert.equal(res.status, 204, res.body);
    assert.equal(await hget('main', 23), '4');
  });

  it('a health ping with the passphrase answers 204', async () => {
    const res = await request(api.port, 'POST', '/api/health/main/22', { headers: { Authorization: `Bearer ${PASS}` } });
    assert.equal(res.status, 204, res.body);
  });

  for (const p of ['/api/status', '/api/status/main/22', '/api/guild/81384788765712384', '/plain', '/healthz', '/readyz']) {
    it(`GET ${p} needs no passphrase`, async () => {
      const res = await request(api.port, 'GET', p);
      assert.equal(res.status, 200, res.body.slice(0, 300));
    });
  }
});
