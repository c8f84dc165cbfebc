// migrate.test.mjs -- upgrading from the old layout: a cluster's states used to be a hash
// <prefix>:{<cluster>}:state (field = shard id, value = state digit); they are now one string
// <prefix>:{<cluster>}:states (a byte per shard). A replica that connects moves the hash into the string once
// and deletes it; a replica that connects afterwards changes nothing. The same for a cluster's figures: a hash
// <prefix>:{<cluster>}:figures (field = shard id, value = 22 packed bytes) before, one string
// <prefix>:{<cluster>}:figs (22 bytes a shard at its id times 22) now.

import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import {
  startRedis, startApi, redis, redisDump, request, waitUntil, sleep, cleanup, shardState, clusterStates, statesKey,
} from './harness.mjs';

const BOTS = 'main:32;demo:1';
const MAIN_SHARDS = 32;
// the old hash as an old build left it: mixed states, an explicit 0 (shard 9), gaps (never reported) and
// nothing past shard 17
const OLD_MAIN = { 0: 3, 2: 1, 5: 4, 9: 0, 12: 2, 17: 6 };
const OLD_DEMO = { 0: 5 };
const VER_MAIN = 42;
const VER_DEMO = 7;
// the states string it becomes, with '.' for a zero byte (as redisDump prints it)
const MAIN_STRING = '3.1..4...0..2....6';
// main's old figures hash, as an old build left it (a figure left out is null): an online shard (its latency
// counts), a starting one (its latency does not), one that never had a state; and fields that are no shard's (one
// past the cluster's 32, one not a number), which are dropped
const FIG_AT = Date.now() - 1000;
const OLD_FIGURES = {
  0: { latency_ms: 41, guilds: 1200, unavailable_guilds: null, members: 99000 },
  5: { latency_ms: 70, guilds: 800, unavailable_guilds: 3, members: null },
  20: { latency_ms: null, guilds: 10, unavailable_guilds: 0, members: 5 },
};
const FIGURE_ABSENT = 4294967295;
const PACK_FIGURES_LUA = `for i = 1, #ARGV, 6 do
  redis.call('HSET', KEYS[1], ARGV[i], struct.pack('>I6I4I4I4I4', ARGV[i + 1], ARGV[i + 2], ARGV[i + 3], ARGV[i + 4],
    ARGV[i + 5]))
end`;

let rds;
let first;
let second;

const expectedMain = () => {
  const states = new Array(MAIN_SHARDS).fill(0);
  for (const [id, st] of Object.entries(OLD_MAIN)) states[Number(id)] = st;
  return states;
};
const dumpLine = (dump, key) => dump.find((l) => l.startsWith(`${key} = `));

async function statusOf(api) {
  const r = await request(api.port, 'GET', '/api/status');
  assert.equal(r.status, 200, r.body.slice(0, 300));
  return Object.fromEntries(r.json().clusters.map((c) => [c.name, c]));
}

before(async () => {
  rds = await startRedis();
  const fill = async (cluster, states, ver) => {
    const flat = Object.entries(states).flatMap(([id, st]) => [id, st]);
    await redis(rds.port, 'HSET', `glance:{${cluster}}:state`, ...flat);
    await redis(rds.port, 'SET', `glance:{${cluster}}:ver`, ver);
    // healthy for ten minutes, so that the sweep leaves the states alone while the test looks at them
    for (const [id, st] of Object.entries(states)) {
      if (st >= 2) await redis(rds.port, 'SET', `glance:{${cluster}}:hb:${id}`, '1', 'EX', 600);
    }
  };
  await fill('main', OLD_MAIN, VER_MAIN);
  await fill('demo', OLD_DEMO, VER_DEMO);
  const packed = Object.entries({ ...OLD_FIGURES, 40: OLD_FIGURES[0] }).flatMap(([id, f]) => [id, FIG_AT,
    ...['latency_ms', 'guilds', 'unavailable_guilds', 'members'].map((k) => f[k] ?? FIGURE_ABSENT)]);
  await redis(rds.port, 'EVAL', PACK_FIGURES_LUA, '1', 'glance:{main}:figures', ...packed);
  await redis(rds.port, 'HSET', 'glance:{main}:figures', 'nope', 'not a shard');
  assert.equal(await redis(rds.port, 'EXISTS', statesKey('main')), '0');
});
after(cleanup);

describe('a replica started on the old state and figures hashes', { timeout: 30000 }, () => {
  before(async () => { first = await startApi({ redisPort: rds.port, bots: BOTS, healthTimeout: 30 }); });

  it('serves the old states and versions in GET /api/status', async () => {
    const s = await statusOf(first);
    assert.deepEqual(s.main.states, expectedMain());
    assert.equal(s.main.version, VER_MAIN);
    assert.deepEqual(s.demo.states, [OLD_DEMO[0]]);
    assert.equal(s.demo.version, VER_DEMO);
  });

  it('moved them into the states string, byte for byte', async () => {
    assert.deepEqual(await clusterStates(rds.port, 'main', MAIN_SHARDS), expectedMain());
    assert.equal(dumpLine(await redisDump(rds.port), statesKey('main')), `${statesKey('main')} = ${MAIN_STRING}`);
    assert.equal(await redis(rds.port, 'STRLEN', statesKey('main')), String(MAIN_STRING.length));
    assert.equal(await shardState(rds.port, 'demo', 0), String(OLD_DEMO[0]));
  });

  it('serves the old figures in GET /api/figures and GET /api/status/<cluster>/<id>', async () => {
    const main = (await request(first.port, 'GET', '/api/figures')).json().clusters.find((c) => c.name === 'main');
    assert.equal(main.reporting, 3);
    assert.deepEqual([main.guilds, main.unavailable_guilds, main.members], [2010, 3, 99005]);
    assert.deepEqual(main.latency_ms, { median: 41, p95: 41 }, 'only the online shard\'s latency counts');
    assert.deepEqual(main.latency.slice(0, 6), [41, null, null, null, null, null]);
    for (const [id, f] of Object.entries(OLD_FIGURES)) {
      const r = await request(first.port, 'GET', `/api/status/main/${id}`);
      assert.deepEqual(r.json().figures, { ...f, near_guild_cap: false, reported_ms: FIG_AT }, `shard ${id}`);
    }
    assert.equal((await request(first.port, 'GET', '/api/status/main/2')).json().figures, null);
  });

  it('moved them into the figs string and said so in the log', async () => {
    assert.equal(await redis(rds.port, 'TYPE', 'glance:{main}:figs'), 'string');
    assert.equal(await redis(rds.port, 'STRLEN', 'glance:{main}:figs'), String(21 * 22), 'up to shard 20, 22 bytes a shard');
    assert.equal(await redis(rds.port, 'EXISTS', 'glance:{demo}:figs'), '0', 'a cluster without figures gets none');
    assert.match(first.stderr(), /moved 6 states and 3 shards' figures of main from the old hashes/);
    assert.match(first.stderr(), /moved 1 states and 0 shards' figures of demo/);
  });

  it('deleted the old hashes and kept the versions', async () => {
    assert.equal(await redis(rds.port, 'EXISTS', 'glance:{main}:figures'), '0');
    assert.equal(await redis(rds.port, 'EXISTS', 'glance:{main}:state'), '0');
    assert.equal(await redis(rds.port, 'EXISTS', 'glance:{demo}:state'), '0');
    assert.equal(await redis(rds.port, 'GET', 'glance:{main}:ver'), String(VER_MAIN));
    assert.equal(await redis(rds.port, 'GET', 'glance:{demo}:ver'), String(VER_DEMO));
  });

  it('a second replica started afterwards changes nothing', async () => {
    const d0 = await redisDump(rds.port);
    second = await startApi({ redisPort: rds.port, bots: BOTS, healthTimeout: 30 });
    await sleep(300); // anything it would write at start-up lands here
    assert.deepEqual(await redisDump(rds.port), d0);
    const s = await statusOf(second);
    assert.deepEqual(s.main.states, expectedMain());
    assert.equal(s.main.version, VER_MAIN);
    assert.deepEqual(s.demo.states, [OLD_DEMO[0]]);
  });

  it('a migrated explicit 0 takes health pings; a gap and a shard past the end never reported (409)', async () => {
    assert.equal(await shardState(rds.port, 'main', 9), '0');
    for (const id of [8, 20]) assert.equal(await shardState(rds.port, 'main', id), '', `shard ${id}`);
    for (const api of [first, second]) {
      const s = await statusOf(api);
      for (const id of [8, 9, 20]) assert.equal(s.main.states[id], 0, `shard ${id} reads as unknown`);
    }
    for (const id of [8, 20]) {
      const r = await request(first.port, 'POST', `/api/health/main/${id}`);
      assert.equal(r.status, 409, `health ping to never-reported shard ${id}: ${r.status} ${r.body}`);
      assert.equal(await redis(rds.port, 'EXISTS', `glance:{main}:hb:${id}`), '0');
    }
    const r = await request(first.port, 'POST', '/api/health/main/9');
    assert.equal(r.status, 204, `health ping to shard 9 (explicitly 0): ${r.status} ${r.body}`);
    assert.equal(await redis(rds.port, 'EXISTS', 'glance:{main}:hb:9'), '1');
    assert.equal(await shardState(rds.port, 'main', 9), '0');
    assert.equal(await redis(rds.port, 'GET', 'glance:{main}:ver'), String(VER_MAIN), 'pings change no version');
  });

  it('a status after the migration lands in the states string, seen by both replicas', async () => {
    assert.equal((await request(second.port, 'POST', '/api/status/main/20/3')).status, 204);
    assert.equal(await shardState(rds.port, 'main', 20), '3');
    assert.equal(await redis(rds.port, 'EXISTS', 'glance:{main}:state'), '0', 'nothing writes the old hash');
    for (const api of [first, second]) {
      await waitUntil(async () => (await statusOf(api)).main.states[20] === 3,
        { timeoutMs: 2000, message: `replica ${api.port} to show main[20] == 3` });
    }
  });
});

describe('a replica started where the figs string exists already', { timeout: 30000 }, () => {
  it('keeps the string as it is and leaves the figures hash alone', async () => {
    const own = await startRedis();
    const pack = (id, latency) => [id, FIG_AT, latency, 100, FIGURE_ABSENT, FIGURE_ABSENT];
    await redis(own.port, 'EVAL', PACK_FIGURES_LUA, '1', 'glance:{main}:figures', ...pack(0, 11), ...pack(3, 12));
    await redis(own.port, 'EVAL', `redis.call('SET', KEYS[1], struct.pack('>I6I4I4I4I4', ARGV[1], 99, 7, 0, 1))`, '1',
      'glance:{main}:figs', FIG_AT);
    const figures = async () => (await redisDump(own.port)).filter((l) => /:(figs|figures) = /.test(l));
    const d0 = await figures();
    const api = await startApi({ redisPort: own.port, bots: BOTS, healthTimeout: 30 });
    await sleep(300);
    assert.equal(d0.length, 2);
    assert.deepEqual(await figures(), d0);
    const f = (await request(api.port, 'GET', '/api/status/main/0')).json().figures;
    assert.deepEqual([f.latency_ms, f.guilds], [99, 7]);
    assert.equal((await request(api.port, 'GET', '/api/status/main/3')).json().figures, null);
    assert.doesNotMatch(api.stderr(), /shards' figures of main/);
  });
});
