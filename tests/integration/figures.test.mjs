// figures.test.mjs -- richer shard reports (issue 15) against real Redis and real replicas: optional figures on the
// original endpoints (query or JSON body, merged per shard, null clears one), the batch report in JSON and msgpack
// (one script call, all or nothing, a bad item named by index and field), and where the figures are read: a
// shard's GET, GET /api/figures (totals, median and 95th percentile latency of online shards), /metrics per cluster
// only, /plain. Every refusal is checked to have written nothing. Where they are kept: one string per cluster, 22
// bytes a shard at its id times 22, read by the replicas in GETRANGE chunks of 2,978 shards.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { cleanup, getMetrics, redis, request, setShardState, startApi, startRedis, sleep } from './harness.mjs';

const PASS = 'figures-test-passphrase';
const AUTH = { authorization: PASS };
const JSON_AUTH = { ...AUTH, 'content-type': 'application/json' };
const key = (cluster, what) => `glance:{${cluster}}:${what}`;

/** A small msgpack encoder for the test's reports: maps, arrays, strings, integers, float64, nil. */
function msgpack(v) {
  if (v === null) return Buffer.from([0xc0]);
  if (Array.isArray(v)) return Buffer.concat([Buffer.from([0xdc, v.length >> 8, v.length & 255]), ...v.map(msgpack)]);
  if (typeof v === 'string') { const b = Buffer.from(v); return Buffer.concat([Buffer.from([0xd9, b.length]), b]); }
  if (typeof v === 'number' && !Number.isInteger(v)) { const b = Buffer.alloc(9); b[0] = 0xcb; b.writeDoubleBE(v, 1); return b; }
  if (typeof v === 'number' && v >= 0) { const b = Buffer.alloc(9); b[0] = 0xcf; b.writeBigUInt64BE(BigInt(v), 1); return b; }
  if (typeof v === 'number') { const b = Buffer.alloc(9); b[0] = 0xd3; b.writeBigInt64BE(BigInt(v), 1); return b; }
  const entries = Object.entries(v);
  return Buffer.concat([Buffer.from([0xde, entries.length >> 8, entries.length & 255]),
    ...entries.flatMap(([k, x]) => [msgpack(k), msgpack(x)])]);
}

describe('figures and batch reports', () => {
  let rds;
  let apis;
  const shard = async (api, cluster, id) => (await request(api.port, 'GET', `/api/status/${cluster}/${id}`)).json();
  const report = (api, cluster, body, type = 'application/json') => request(api.port, 'POST',
    `/api/clusters/${cluster}/report`, { headers: { ...AUTH, 'content-type': type },
      body: type.includes('json') ? JSON.stringify(body) : msgpack(body) });
  /** Everything the cluster holds in Redis, so a refusal can be checked to have written nothing. */
  const dump = async (cluster) => Promise.all(['states', 'since', 'figs', 'ver', 'log'].map((k) =>
    redis(rds.port, 'DUMP', key(cluster, k))));

  before(async () => {
    rds = await startRedis();
    apis = [];
    for (let i = 0; i < 2; i++) {
      apis.push(await startApi({ redisPort: rds.port, bots: 'main:16;batch:300;quiet:4', passphrase: PASS }));
    }
  });
  after(cleanup);

  it('takes figures as query parameters or a JSON body, merges them per shard, and null forgets one', async () => {
    let r = await request(apis[0].port, 'POST', '/api/status/main/0/3?latency_ms=41.6&guilds=1200', { headers: AUTH });
    assert.equal(r.status, 204, r.body);
    let s = await shard(apis[1], 'main', 0);
    assert.equal(s.state, 3);
    assert.deepEqual({ ...s.figures, reported_ms: 0 },
      { latency_ms: 42, guilds: 1200, unavailable_guilds: null, members: null, near_guild_cap: false, reported_ms: 0 });
    const t0 = s.figures.reported_ms;
    assert.ok(Math.abs(t0 - Date.now()) < 5000, `reported_ms ${t0}`);
    await sleep(5);
    r = await request(apis[1].port, 'POST', '/api/health/main/0', { headers: JSON_AUTH,
      body: JSON.stringify({ unavailable_guilds: 7, members: 99000, latency_ms: null }) });
    assert.equal(r.status, 204, r.body);
    s = await shard(apis[0], 'main', 0);
    assert.deepEqual({ ...s.figures, reported_ms: 0 },
      { latency_ms: null, guilds: 1200, unavailable_guilds: 7, members: 99000, near_guild_cap: false, reported_ms: 0 });
    assert.ok(s.figures.reported_ms > t0);
    // without figures nothing about them changes, and a shard that never sent any has none
    assert.equal((await request(apis[0].port, 'POST', '/api/health/main/0', { headers: AUTH })).status, 204);
    assert.equal((await shard(apis[0], 'main', 0)).figures.guilds, 1200);
    assert.equal((await request(apis[0].port, 'POST', '/api/status/main/1/3', { headers: AUTH })).status, 204);
    assert.equal((await shard(apis[0], 'main', 1)).figures, null);
    // a body that is not JSON is ignored, as the original ignored every body
    r = await request(apis[0].port, 'POST', '/api/status/main/1/3', { headers: { ...AUTH, 'content-type': 'text/plain' }, body: 'hello' });
    assert.equal(r.status, 204, r.body);
  });

  it('refuses a bad figure with a 400 that names it, and writes nothing', async () => {
    await request(apis[0].port, 'POST', '/api/status/main/2/4?guilds=10', { headers: AUTH });
    const before = await dump('main');
    const ttl = Number(await redis(rds.port, 'TTL', key('main', 'hb:2')));
    const cases = [
      ['/api/status/main/2/3?latency_ms=-1', undefined, 'latency_ms must be a number from 0 to 600000'],
      ['/api/status/main/2/3?latency_ms=abc', undefined, 'latency_ms'],
      ['/api/status/main/2/3?guilds=2.5', undefined, 'guilds must be a whole number from 0 to 1000000'],
      ['/api/status/main/2/3?guilds=5&unavailable_guilds=6', undefined, 'unavailable_guilds must not be more than guilds'],
      ['/api/health/main/2?members=4000000001', undefined, 'members must be a whole number from 0 to 4000000000'],
      ['/api/health/main/2', '{"latncy_ms":5}', 'unknown field "latncy_ms"'],
      ['/api/health/main/2', '{"guilds":"12"}', 'guilds must be a whole number'],
      ['/api/status/main/2/3', '{"guilds":1e400}', 'not valid JSON'],
      ['/api/status/main/2/3', '{"guilds":1,"guilds":2}', 'not valid JSON'],
      ['/api/status/main/2/3', '[]', 'must be a JSON object'],
    ];
    await sleep(1100); // a refreshed health key would show in its TTL
    for (const [path, body, words] of cases) {
      const r = await request(apis[0].port, 'POST', path, { headers: body ? JSON_AUTH : AUTH, body });
      assert.equal(r.status, 400, `${path} ${body}: ${r.body}`);
      assert.ok(r.json().error.includes(words), `${path} ${body}: ${r.body}`);
    }
    assert.deepEqual(await dump('main'), before);
    assert.ok(Number(await redis(rds.port, 'TTL', key('main', 'hb:2'))) < ttl, 'the health key was not refreshed');
  });

  it('stores the figures of a change the replica did not expect (sent again in full)', async () => {
    await request(apis[0].port, 'POST', '/api/status/main/3/3', { headers: AUTH });
    await sleep(100);
    await setShardState(rds.port, 'main', 3, 1); // unhealthy behind every mirror's back
    const r = await request(apis[0].port, 'POST', '/api/health/main/3?latency_ms=55&guilds=900', { headers: AUTH });
    assert.equal(r.status, 204, r.body);
    const s = await shard(apis[1], 'main', 3);
    assert.equal(s.state, 3);
    assert.equal(s.transitions[0].from, 1);
    assert.deepEqual([s.figures.latency_ms, s.figures.guilds], [55, 900]);
  });

  for (const type of ['application/json', 'application/msgpack']) {
    it(`takes a batch report as ${type}: states, pings and figures in one call`, async () => {
      const c = type.includes('json') ? 'batch' : 'quiet';
      const n = c === 'batch' ? 256 : 4;
      const verBefore = Number(await redis(rds.port, 'GET', key(c, 'ver')) || 0);
      const shards = Array.from({ length: n }, (_, id) => ({ id, state: 3, latency_ms: 40 + id + 0.25, guilds: 1000 + id }));
      let r = await report(apis[0], c, { shards }, type);
      assert.equal(r.status, 200, r.body);
      assert.deepEqual(r.json(), { reported: n, changed: n });
      assert.equal(Number(await redis(rds.port, 'GET', key(c, 'ver'))), verBefore + n);
      assert.equal(Number(await redis(rds.port, 'XLEN', key(c, 'log'))), n, 'every change is in the log');
      // pings (no state) with figures; one shard goes starting; the unhealthy one comes back online
      await setShardState(rds.port, c, 1, 1);
      await sleep(50);
      r = await report(apis[1], c, { shards: [{ id: 0, latency_ms: 12 }, { id: 1 }, { id: 2, state: 4, latency_ms: null }] }, type);
      assert.equal(r.status, 200, r.body);
      assert.deepEqual(r.json(), { reported: 3, changed: 2 });
      const [s0, s1, s2] = await Promise.all([0, 1, 2].map((id) => shard(apis[0], c, id)));
      assert.deepEqual([s0.state, s0.figures.latency_ms, s0.figures.guilds], [3, 12, 1000]);
      assert.deepEqual([s1.state, s1.transitions[0].from, s1.figures.latency_ms], [3, 1, 41]);
      assert.deepEqual([s2.state, s2.figures.latency_ms, s2.figures.guilds], [4, null, 1002]);
      const ttl = Number(await redis(rds.port, 'TTL', key(c, 'hb:0')));
      assert.ok(ttl > 25 && ttl <= 30, `a ping refreshes the health key: ttl ${ttl}`);
    });
  }

  it('refuses a whole report for one bad item, naming it, and writes nothing', async () => {
    const ok = { id: 5, state: 3 };
    const cases = [
      [{ shards: [ok, { id: 6, state: 9 }] }, 400, 1, 'state', 'shards[1].state must be a whole number from 0 to 6'],
      [{ shards: [ok, { id: 300 }] }, 400, 1, 'id', 'shards[1].id must be a whole number from 0 to 299'],
      [{ shards: [ok, { id: 6, guilds: -1 }] }, 400, 1, 'guilds', 'shards[1].guilds'],
      [{ shards: [ok, { id: 6, guilds: 3, unavailable_guilds: 4 }] }, 400, 1, 'unavailable_guilds', 'must not be more'],
      [{ shards: [ok, { id: 6, state: 3, ping: 1 }] }, 400, 1, 'ping', 'unknown field "ping"'],
      [{ shards: [ok, ok] }, 400, 1, 'id', 'shard 5 is already in shards[0]'],
      [{ shards: [ok, { id: 299 }] }, 409, 1, 'state', 'never reported a status'],
      [{ shards: ok }, 400, undefined, 'shards', 'must be an object {"shards"'],
    ];
    const before = await dump('batch');
    for (const [body, status, index, field, words] of cases) {
      for (const type of ['application/json', 'application/msgpack']) {
        const r = await report(apis[0], 'batch', body, type);
        assert.equal(r.status, status, `${type} ${JSON.stringify(body)}: ${r.body}`);
        const j = r.json();
        assert.deepEqual([j.index, j.field], [index, field], r.body);
        assert.ok(j.error.includes(words), r.body);
      }
    }
    assert.deepEqual(await dump('batch'), before);
  });

  it('bounds a report: 1000 items, 256 KiB, a known type, the passphrase', async () => {
    let r = await report(apis[0], 'batch', { shards: Array.from({ length: 1001 }, (_, i) => ({ id: i % 300 })) });
    assert.equal(r.status, 400);
    assert.match(r.json().error, /shards has 1001 items; a report holds at most 1000/);
    r = await request(apis[0].port, 'POST', '/api/clusters/batch/report', { headers: JSON_AUTH, body: ' '.repeat(300 * 1024) });
    assert.equal(r.status, 413, r.body);
    r = await request(apis[0].port, 'POST', '/api/clusters/batch/report', { headers: { ...AUTH, 'content-type': 'text/plain' }, body: '{}' });
    assert.equal(r.status, 415, r.body);
    r = await request(apis[0].port, 'POST', '/api/clusters/nope/report', { headers: JSON_AUTH, body: '{"shards":[]}' });
    assert.equal(r.status, 400);
    assert.match(r.json().error, /unknown cluster "nope"/);
    r = await request(apis[0].port, 'POST', '/api/clusters/batch/report', { headers: { 'content-type': 'application/json' }, body: '{"shards":[]}' });
    assert.equal(r.status, 401);
    r = await request(apis[0].port, 'GET', '/api/clusters/batch/report');
    assert.equal(r.status, 405);
  });

  it('aggregates per cluster: totals, median and p95 of online shards, never a series per shard', async () => {
    // main: 10 online shards with latencies 10..100; one resuming with a latency that must not count
    const shards = Array.from({ length: 10 }, (_, i) => ({ id: i, state: 3, latency_ms: 10 * (i + 1), guilds: 100, unavailable_guilds: i === 0 ? 3 : 0 }));
    shards.push({ id: 10, state: 6, latency_ms: 5000, guilds: 50 });
    const r = await report(apis[0], 'main', { shards });
    assert.equal(r.status, 200, r.body);
    // a replica's copy may be 5 s old: a fresh replica has just read it (once its mirror was in sync)
    const fresh = await startApi({ redisPort: rds.port, bots: 'main:16;batch:300;quiet:4', passphrase: PASS });
    const f = (await request(fresh.port, 'GET', '/api/figures')).json();
    const text = await getMetrics(fresh.port);
    const main = f.clusters.find((c) => c.name === 'main');
    assert.equal(main.shards, 16);
    assert.equal(main.latency.length, 16);
    assert.deepEqual(main.latency.slice(0, 11), [10, 20, 30, 40, 50, 60, 70, 80, 90, 100, null]);
    assert.deepEqual(main.latency_ms, { median: 50, p95: 100 });
    const stored = await Promise.all(Array.from({ length: 16 }, (_, id) => shard(fresh, 'main', id)));
    const guilds = stored.reduce((s, x) => s + (x.figures?.guilds ?? 0), 0);
    assert.equal(main.guilds, guilds);
    assert.equal(main.reporting, stored.filter((x) => x.figures).length);
    assert.ok(f.now_ms > 0);
    assert.match(text, new RegExp(`glance_cluster_guilds\\{cluster="main"\\} ${guilds}\\n`));
    assert.match(text, /glance_cluster_latency_ms\{cluster="main",quantile="0.5"\} 50\n/);
    assert.match(text, /glance_cluster_latency_ms\{cluster="main",quantile="0.95"\} 100\n/);
    assert.ok(!/\{[^}]*shard=/.test(text), 'no series per shard');
    const plain = (await request(fresh.port, 'GET', '/plain')).body;
    assert.match(plain, new RegExp(`main: \\d+ of 16 shards report figures; ${guilds} guilds \\(\\d+ unavailable\\); latency median 50 ms, 95th percentile 100 ms`));
    await fresh.stop();
  });

  it('finds the guild of a pasted link in /plain too (the form without script)', async () => {
    const link = encodeURIComponent(' https://canary.discord.com/channels/81384788765712384/381870553235193857/1 ').replace(/%20/g, '+');
    let body = (await request(apis[0].port, 'GET', `/plain?guild=${link}`)).body;
    assert.match(body, /Guild 81384788765712384 is served by shard 2 of main/);
    body = (await request(apis[0].port, 'GET', `/plain?guild=${encodeURIComponent('https://discord.com/channels/@me/1')}`)).body;
    assert.match(body, /direct messages, which belong to no server/);
    body = (await request(apis[0].port, 'GET', `/plain?guild=${encodeURIComponent('https://evil.example/channels/1/2')}`)).body;
    assert.match(body, /not a guild ID or a link/);
  });
});

describe("Discord's guild cap: shards at 90 % of 2,500 guilds or more", () => {
  let rds;
  let api;
  const BOTS = 'capped:8;wide:1500;small:2';
  before(async () => {
    rds = await startRedis();
    api = await startApi({ redisPort: rds.port, bots: BOTS, passphrase: PASS });
  });
  after(cleanup);
  const report = (cluster, shards) => request(api.port, 'POST', `/api/clusters/${cluster}/report`,
    { headers: JSON_AUTH, body: JSON.stringify({ shards }) });

  it('counts them per cluster, lists the first 1000, names the most, in /api/figures, /metrics, /plain and per shard', async () => {
    let r = await report('capped', [[0, 1200], [1, 2249], [2, 2250], [3, 2499], [4, 2600], [5, null]]
      .map(([id, guilds]) => ({ id, state: 3, ...(guilds === null ? { latency_ms: 40 } : { guilds }) })));
    assert.equal(r.status, 200, r.body);
    for (let from = 0; from < 1500; from += 1000) {
      r = await report('wide', Array.from({ length: Math.min(1000, 1500 - from) }, (_, i) => ({ id: from + i, state: 3, guilds: 2300 })));
      assert.equal(r.status, 200, r.body);
    }
    r = await report('small', [{ id: 0, state: 3, guilds: 10 }]);
    assert.equal(r.status, 200, r.body);
    // a replica's copy may be 5 s old: a fresh replica reads it now
    const fresh = await startApi({ redisPort: rds.port, bots: BOTS, passphrase: PASS });
    try {
      const f = (await request(fresh.port, 'GET', '/api/figures')).json();
      const of = (name) => f.clusters.find((c) => c.name === name).guild_cap;
      assert.deepEqual(of('capped'), { highest: 2600, near: 3, shards: [2, 3, 4] });
      const wide = of('wide');
      assert.deepEqual([wide.highest, wide.near, wide.shards.length, wide.shards[0], wide.shards[999]], [2300, 1500, 1000, 0, 999]);
      assert.deepEqual(of('small'), { highest: 10, near: 0, shards: [] });
      const text = await getMetrics(fresh.port);
      assert.match(text, /glance_cluster_guilds_max\{cluster="capped"\} 2600\n/);
      assert.match(text, /glance_cluster_shards_near_guild_cap\{cluster="capped"\} 3\n/);
      assert.match(text, /glance_cluster_shards_near_guild_cap\{cluster="wide"\} 1500\n/);
      assert.match(text, /glance_cluster_shards_near_guild_cap\{cluster="small"\} 0\n/);
      const plain = (await request(fresh.port, 'GET', '/plain')).body;
      assert.match(plain, /capped: 3 shards at 90 % of Discord's 2,500-guild cap or more \(the most: 2600 guilds\): reshard soon\./);
      assert.doesNotMatch(plain, /small: \d+ shards? at 90 %/);
      const shard = async (id) => (await request(fresh.port, 'GET', `/api/status/capped/${id}`)).json().figures;
      assert.deepEqual(await Promise.all([0, 1, 2, 4].map(async (id) => (await shard(id)).near_guild_cap)), [false, false, true, true]);
      assert.equal((await shard(5)).near_guild_cap, false, 'no guilds reported: not near');
      assert.equal(await shard(6), null, 'never reported figures');
    } finally {
      await fresh.stop();
    }
  });
});

describe('the figs string', () => {
  const CHUNK = 2978; // figures.c, CHUNK_SHARDS
  const BOTS = 'big:7000;small:8';
  let rds;
  let api;
  const report = (cluster, shards) => request(api.port, 'POST', `/api/clusters/${cluster}/report`,
    { headers: JSON_AUTH, body: JSON.stringify({ shards }) });
  /** Bytes [from, to] of a cluster's figs string, as hex (redis-cli would print them raw). */
  const figsHex = (cluster, from, to) => redis(rds.port, 'EVAL', `local b = redis.call('GETRANGE', KEYS[1], ARGV[1],
    ARGV[2]) return (string.gsub(b, '.', function(c) return string.format('%02x', string.byte(c)) end))`, '1',
  key(cluster, 'figs'), from, to);
  const u32 = (n) => (n === null ? 'ffffffff' : n.toString(16).padStart(8, '0'));
  /** GET /api/figures from a replica that reads the figures now (a replica reads them once its mirror is in sync). */
  const freshFigures = async () => {
    const fresh = await startApi({ redisPort: rds.port, bots: BOTS, passphrase: PASS });
    const r = await request(fresh.port, 'GET', '/api/figures');
    await fresh.stop();
    return r;
  };

  before(async () => {
    rds = await startRedis();
    api = await startApi({ redisPort: rds.port, bots: BOTS, passphrase: PASS });
  });
  after(cleanup);

  it("keeps a shard's 22 bytes at its id times 22, zero bytes for one that never reported", async () => {
    const r = await report('small', [{ id: 0, state: 3, latency_ms: 41, guilds: 1200 },
      { id: 3, state: 3, members: 7 }]);
    assert.equal(r.status, 200, r.body);
    assert.equal(await redis(rds.port, 'TYPE', key('small', 'figs')), 'string');
    assert.equal(await redis(rds.port, 'EXISTS', key('small', 'figures')), '0', 'no hash any more');
    assert.equal(await redis(rds.port, 'STRLEN', key('small', 'figs')), String(4 * 22), 'it ends at the last shard');
    const hex = await figsHex('small', 0, 4 * 22 - 1);
    const at = (i) => parseInt(hex.slice(i * 44, i * 44 + 12), 16);
    assert.ok(Math.abs(at(0) - Date.now()) < 5000, `reported at ${at(0)}`);
    assert.equal(hex.slice(12, 44), [41, 1200, null, null].map(u32).join(''));
    assert.equal(hex.slice(44, 3 * 44), '0'.repeat(88), 'shards 1 and 2 never reported');
    assert.equal(hex.slice(3 * 44 + 12), [null, null, null, 7].map(u32).join(''));
    // a shard past the end of the string, and one within it that never reported, have none
    for (const id of [2, 6]) {
      await request(api.port, 'POST', `/api/status/small/${id}/3`, { headers: AUTH });
      assert.equal((await request(api.port, 'GET', `/api/status/small/${id}`)).json().figures, null, `shard ${id}`);
    }
    assert.equal(await redis(rds.port, 'STRLEN', key('small', 'figs')), String(4 * 22), 'no figures, nothing written');
  });

  it('reads a cluster bigger than a chunk whole, its string ending within a chunk, at one, or at the last shard', async () => {
    // latencies spread over the whole range (percentiles are found by their 16-bit halves), many of them alike
    const lat = (id) => (id % 2 ? (id * 7919) % 600001 : id % 50);
    const item = (id) => ({ id, state: 3, latency_ms: lat(id), guilds: 1000 + id });
    const check = async (ids) => {
      const r = await freshFigures();
      assert.equal(r.status, 200, r.body);
      const big = r.json().clusters.find((c) => c.name === 'big');
      assert.equal(big.reporting, ids.length);
      assert.equal(big.guilds, ids.reduce((s, id) => s + 1000 + id, 0));
      assert.equal(big.latency.length, 7000);
      const want = new Array(7000).fill(null);
      for (const id of ids) want[id] = lat(id);
      assert.deepEqual(big.latency, want);
      const sorted = ids.map(lat).sort((a, b) => a - b);
      const rank = (q) => sorted[Math.max(0, Math.ceil((q * sorted.length) / 100) - 1)];
      assert.deepEqual(big.latency_ms, { median: rank(50), p95: rank(95) });
    };
    // the string ends within the second chunk (a reply shorter than asked for), then exactly where the second
    // chunk does (the third GETRANGE finds nothing), then at the cluster's last shard (a short last chunk); then
    // every shard reports
    const steps = [[0, 1, CHUNK - 1, CHUNK, 3000], [2 * CHUNK - 1], [2 * CHUNK, 6999]];
    steps.push(Array.from({ length: 7000 }, (_, id) => id).filter((id) => !steps.flat().includes(id)));
    const lengths = [3001, 2 * CHUNK, 7000, 7000];
    const ids = [];
    for (const [i, step] of steps.entries()) {
      for (let first = 0; first < step.length; first += 1000) {
        assert.equal((await report('big', step.slice(first, first + 1000).map(item))).status, 200);
      }
      ids.push(...step);
      assert.equal(await redis(rds.port, 'STRLEN', key('big', 'figs')), String(lengths[i] * 22));
      await check(ids);
    }
  });

  it("merges a report's figures, written as one span or shard by shard, and leaves the shards between alone", async () => {
    const figs = async (cluster, id) => (await request(api.port, 'GET', `/api/status/${cluster}/${id}`)).json().figures;
    assert.equal((await report('small', [{ id: 5, state: 3, guilds: 55, members: 9 }])).status, 200);
    const five = await figs('small', 5);
    await sleep(5);
    // 4 and 6 around 5: one span, 5's bytes written back as they were
    let r = await report('small', [{ id: 4, state: 3, latency_ms: 1 }, { id: 6, state: 3, latency_ms: 2, guilds: 6 }]);
    assert.equal(r.status, 200, r.body);
    assert.deepEqual(await figs('small', 5), five);
    r = await report('small', [{ id: 6, latency_ms: null }, { id: 5, members: null }]);
    assert.equal(r.status, 200, r.body);
    assert.deepEqual({ ...(await figs('small', 6)), reported_ms: 0 },
      { latency_ms: null, guilds: 6, unavailable_guilds: null, members: null, near_guild_cap: false, reported_ms: 0 });
    assert.deepEqual({ ...(await figs('small', 5)), reported_ms: 0 },
      { latency_ms: null, guilds: 55, unavailable_guilds: null, members: null, near_guild_cap: false, reported_ms: 0 });
    // far apart: shard by shard, and the same merge
    const [before, last] = [await figs('big', 3000), await figs('big', 6999)];
    r = await report('big', [{ id: 1, latency_ms: null }, { id: 6999, members: 3 }]);
    assert.equal(r.status, 200, r.body);
    assert.deepEqual([(await figs('big', 1)).latency_ms, (await figs('big', 1)).guilds], [null, 1001]);
    assert.deepEqual([(await figs('big', 6999)).latency_ms, (await figs('big', 6999)).members], [last.latency_ms, 3]);
    assert.deepEqual(await figs('big', 3000), before);
  });

  it('answers 503 to the waiting requests when a chunk fails, and reads again for the next one', async () => {
    const bad = await startRedis();
    await redis(bad.port, 'HSET', key('big', 'figs'), 'not', 'a string'); // GETRANGE answers WRONGTYPE
    const replica = await startApi({ redisPort: bad.port, bots: BOTS, passphrase: PASS });
    const rs = await Promise.all([0, 1].map(() => request(replica.port, 'GET', '/api/figures')));
    for (const r of rs) {
      assert.equal(r.status, 503, r.body);
      assert.match(r.json().error, /redis is unavailable/);
    }
    await redis(bad.port, 'DEL', key('big', 'figs'));
    const r = await request(replica.port, 'GET', '/api/figures');
    assert.equal(r.status, 200, r.body);
    assert.equal(r.json().clusters.find((c) => c.name === 'big').reporting, 0);
    assert.match(replica.stderr(), /reading the shards' figures: WRONGTYPE/);
    await replica.stop();
  });
});
