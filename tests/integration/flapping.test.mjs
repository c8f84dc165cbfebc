// flapping.test.mjs -- which shards are called flapping: those in trouble again and again, not those that restart.
// A shard flaps when three of its changes within an hour are trouble (lib.lua): going down (unhealthy, offline) from
// online, starting or resuming, or resuming. Start-up, a restart and a deploy of every shard, however often within
// the hour and however slow (a shard left stopping past the health timeout turns unhealthy), mark none; a shard that
// really bounces (silent, crashed offline, resuming) is marked at its third; trouble older than the hour does not
// count. Each shard's mark is read back from GET /api/status/<cluster>/<id> and the cluster's from GET /api/history.

import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { redis, request, startApi, startRedis, waitUntil } from './harness.mjs';

const PASS = 'flapping-test-passphrase';
const AUTH = { authorization: `Bearer ${PASS}` };
const FLEET = 16;
const HOUR_MS = 3600000;

describe('flapping: trouble, not a lifecycle', { timeout: 60000 }, () => {
  let rds;
  let api;
  before(async () => {
    rds = await startRedis();
    api = await startApi({ redisPort: rds.port, bots: `fleet:${FLEET};bouncy:4;edge:2`, passphrase: PASS, healthTimeout: 3600 });
  });
  after(async () => {
    await api?.stop();
    await rds?.stop();
  });

  /** Posts shard `id` of `cluster` through each state in turn; every one must be accepted. */
  async function walk(cluster, id, states) {
    for (const st of states) {
      const r = await request(api.port, 'POST', `/api/status/${cluster}/${id}/${st}`, { headers: AUTH });
      assert.equal(r.status, 204, `${cluster}/${id} -> ${st}: ${r.body}`);
    }
  }
  const flapping = async (cluster, id) => {
    const r = await request(api.port, 'GET', `/api/status/${cluster}/${id}`);
    assert.equal(r.status, 200, r.body);
    return r.json().flapping;
  };

  const STARTUP = [4, 3]; // starting, online
  const RESTART = [5, 2, 4, 3]; // stopping, offline, starting, online

  it('marks no shard for its start-up and three restarts within the hour (fourteen changes, twelve kept)', async () => {
    await walk('fleet', 0, [...STARTUP, ...RESTART, ...RESTART, ...RESTART]);
    const s = (await request(api.port, 'GET', '/api/status/fleet/0')).json();
    assert.equal(s.transitions.length, 12, JSON.stringify(s.transitions));
    assert.equal(s.flapping, false);
  });

  it('marks no shard for two deploys of every shard', async () => {
    for (let id = 1; id < FLEET; id++) await walk('fleet', id, [...STARTUP, ...RESTART, ...RESTART]);
    for (const id of [1, FLEET - 1]) assert.equal(await flapping('fleet', id), false);
  });

  it('marks a shard that goes unhealthy a third time within the hour, not before', async () => {
    await walk('bouncy', 0, [3, 1, 4, 3, 1, 4, 3]); // two expiries and restarts
    assert.equal(await flapping('bouncy', 0), false);
    await walk('bouncy', 0, [1]);
    assert.equal(await flapping('bouncy', 0), true);
  });

  it('marks a shard that crashes offline (not through stopping) three times, and one that resumes three times', async () => {
    await walk('bouncy', 1, [3, 2, 4, 3, 2, 4, 3]);
    assert.equal(await flapping('bouncy', 1), false);
    await walk('bouncy', 1, [2]);
    assert.equal(await flapping('bouncy', 1), true);
    await walk('bouncy', 2, [3, 6, 3, 6, 3]);
    assert.equal(await flapping('bouncy', 2), false);
    await walk('bouncy', 2, [6]);
    assert.equal(await flapping('bouncy', 2), true);
  });

  it('counts troubles that follow each other, from the first change of the story on; not a first report of offline', async () => {
    await walk('edge', 0, [2, 3, 2, 4, 2]); // offline at first (no crash), then two crashes
    assert.equal(await flapping('edge', 0), false);
    await walk('edge', 1, [6, 2, 6]); // resuming as its first report, down from it, resuming again
    assert.equal(await flapping('edge', 1), true);
  });

  it('counts no trouble older than the hour', async () => {
    await walk('bouncy', 3, [3]);
    // its story as if it had gone unhealthy twice a little over an hour ago: 3->1, 1->3, 3->1, 1->3
    const story = `local t = tonumber(ARGV[2])
      redis.call('HSET', KEYS[1], ARGV[1], struct.pack('>I6BB', t, 3, 1) .. struct.pack('>I6BB', t + 1000, 1, 3)
        .. struct.pack('>I6BB', t + 2000, 3, 1) .. struct.pack('>I6BB', t + 3000, 1, 3))
      return 1`;
    await redis(rds.port, 'EVAL', story, '1', 'glance:{bouncy}:recent', '3', String(Date.now() - HOUR_MS - 60000));
    await walk('bouncy', 3, [1]);
    const s = (await request(api.port, 'GET', '/api/status/bouncy/3')).json();
    assert.equal(s.transitions.length, 5, 'the story written above, then the change');
    assert.equal(s.flapping, false, 'one trouble within the hour');
    await walk('bouncy', 3, [3, 1, 3, 1]);
    assert.equal(await flapping('bouncy', 3), true);
  });

  it('lists in GET /api/history only the shards in trouble', async () => {
    const h = (await request(api.port, 'GET', '/api/history')).json();
    const of = (name) => h.clusters.find((c) => c.name === name);
    assert.deepEqual([of('fleet').flapping, of('fleet').flapping_count], [[], 0]);
    assert.deepEqual([of('bouncy').flapping, of('bouncy').flapping_count], [[0, 1, 2, 3], 4]);
  });
});

describe('flapping, with shards that go silent for real (GLANCE_HEALTH_TIMEOUT=1)', { timeout: 60000 }, () => {
  let rds;
  let api;
  before(async () => {
    rds = await startRedis();
    api = await startApi({ redisPort: rds.port, bots: 'slow:2', passphrase: PASS, healthTimeout: 1 });
  });
  after(async () => {
    await api?.stop();
    await rds?.stop();
  });

  const post = async (id, st) => {
    const r = await request(api.port, 'POST', `/api/status/slow/${id}/${st}`, { headers: AUTH });
    assert.equal(r.status, 204, r.body);
  };
  const shard = async (id) => (await request(api.port, 'GET', `/api/status/slow/${id}`)).json();
  const untilUnhealthy = (id) => waitUntil(async () => (await shard(id)).state === 1,
    { timeoutMs: 15000, intervalMs: 100, message: `slow/${id} turned unhealthy by its health timeout` });

  it('marks no shard restarted three times, each time slower than the health timeout', async () => {
    await post(0, 4);
    await post(0, 3);
    for (let i = 0; i < 3; i++) {
      await post(0, 5); // stopping, then nothing while the new process starts
      await untilUnhealthy(0);
      await post(0, 4);
      await post(0, 3);
    }
    const s = await shard(0);
    assert.deepEqual(s.transitions.slice(0, 4).map((x) => [x.from, x.to]), [[4, 3], [1, 4], [5, 1], [3, 5]]);
    assert.equal(s.flapping, false);
  });

  it('marks a shard that goes silent three times while online', async () => {
    for (let i = 0; i < 3; i++) {
      await post(1, 3);
      await untilUnhealthy(1);
    }
    assert.equal((await shard(1)).flapping, true);
  });
});
