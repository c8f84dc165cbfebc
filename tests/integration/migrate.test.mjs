// migrate.test.mjs -- upgrading from the old layout: a cluster's states used to be a hash
// <prefix>:{<cluster>}:state (field = shard id, value = state digit); they are now one string
// <prefix>:{<cluster>}:states (a byte per shard). A replica that connects moves the hash into the string once
// and deletes it; a replica that connects afterwards changes nothing.

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
  assert.equal(await redis(rds.port, 'EXISTS', statesKey('main')), '0');
});
after(cleanup);

describe('a replica started on the old state hash', { timeout: 30000 }, () => {
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

  it('deleted the old hashes and kept the versions', async () => {
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
