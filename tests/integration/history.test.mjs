// history.test.mjs -- what happened, kept by the transitions themselves (issue 14): shard-time per UTC day and
// hour to the millisecond, split at midnight and at maintenance windows, the same whichever of three replicas
// wrote or answers, a replica SIGKILLed half-way losing nothing; each shard's story and flapping; the log capped.
// The expected figures come from a model here that replays the transitions at the times Redis gave them (each
// shard's `since`), so a figure off by one millisecond fails.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { makeTempDir, metricValue, redis, request, setShardState, startApi, startRedis, sleep, waitUntil } from './harness.mjs';

const DAY = 86400000;
const HOUR = 3600000;
const PASS = 'history-test-passphrase';
const AUTH = { authorization: `Bearer ${PASS}`, 'content-type': 'application/json' };
const key = (cluster, what) => `glance:{${cluster}}:${what}`;

async function redisNow(port) {
  const [s, us] = (await redis(port, 'TIME')).split('\n').map(Number);
  return s * 1000 + Math.floor(us / 1000);
}

async function hgetall(port, k) {
  const flat = (await redis(port, 'HGETALL', k)).split('\n').filter((x, i, a) => a.length > 1 || x !== '');
  const out = {};
  for (let i = 0; i + 1 < flat.length; i += 2) out[flat[i]] = flat[i + 1];
  return out;
}

/** The buckets of a history hash as {field: [8 numbers]}, d: and h: fields only. */
async function buckets(port, cluster) {
  const all = await hgetall(port, key(cluster, 'history'));
  const out = {};
  for (const [f, v] of Object.entries(all)) if (/^[dh]:/.test(f)) out[f] = v.split(' ').map(Number);
  return { out, all };
}

/** The model: replays changes {t, from, to} and accounts n x elapsed per day and hour, as lib.lua's record does
 * (no maintenance here). */
function model(changes) {
  const n = [0, 0, 0, 0, 0, 0, 0];
  const out = {};
  let at = null;
  const add = (field, ms) => {
    out[field] ||= [0, 0, 0, 0, 0, 0, 0, 0];
    for (let s = 1; s <= 6; s++) out[field][s - 1] += n[s] * ms;
  };
  for (const c of changes) {
    if (at !== null && c.t > at) {
      for (const [size, p] of [[DAY, 'd:'], [HOUR, 'h:']]) {
        for (let a = at; a < c.t;) {
          const b = Math.min(c.t, (Math.floor(a / size) + 1) * size);
          add(p + Math.floor(a / size), b - a);
          a = b;
        }
      }
    }
    if (at === null || c.t > at) at = c.t;
    if (c.from >= 1) n[c.from]--;
    if (c.to >= 1) n[c.to]++;
  }
  for (const f of Object.keys(out)) if (out[f].every((x) => x === 0)) delete out[f];
  return { out, n: n.slice(1) };
}

describe('history: shard-time per day and hour, from the transitions', { timeout: 120000 }, () => {
  let rds;
  let apis = [];
  before(async () => {
    rds = await startRedis({ dir: makeTempDir() });
    for (let i = 0; i < 3; i++) {
      apis.push(await startApi({ redisPort: rds.port, bots: 'main:8;other:4;flappy:2;logged:50', passphrase: PASS,
        env: { GLANCE_HISTORY_LOG: 100 } }));
    }
  });
  after(async () => {
    for (const a of apis) await a.stop().catch(() => {});
    await rds.stop();
  });

  it('accounts every change to the millisecond across three replicas, one SIGKILLed half-way', async () => {
    const changes = [];
    const states = new Array(8).fill(0);
    const plan = [[0, 3], [1, 3], [2, 4], [3, 3], [0, 1], [2, 3], [1, 2], [4, 5], [0, 3], [4, 3], [5, 6], [1, 3],
      [6, 3], [7, 2], [3, 1], [5, 3], [3, 3], [7, 3], [0, 4], [0, 3]];
    for (let i = 0; i < plan.length; i++) {
      if (i === 10) apis[0].kill('SIGKILL'); // mid-way: the other two carry on
      const live = apis.filter((a) => a.alive());
      const [id, st] = plan[i];
      const r = await request(live[i % live.length].port, 'POST', `/api/status/main/${id}/${st}`, { headers: AUTH });
      assert.equal(r.status, 204, r.body);
      const t = Number(await redis(rds.port, 'HGET', key('main', 'since'), id));
      changes.push({ t, from: states[id], to: st });
      states[id] = st;
      await sleep(7 + (i % 5) * 3);
    }
    const want = model(changes);
    const { out, all } = await buckets(rds.port, 'main');
    assert.deepEqual(out, want.out);
    assert.equal(all.n, want.n.join(' '));
    assert.equal(Number(all.at), changes[changes.length - 1].t);
    apis[0] = await startApi({ redisPort: rds.port, bots: 'main:8;other:4;flappy:2;logged:50', passphrase: PASS,
      env: { GLANCE_HISTORY_LOG: 100 } });
  });

  it('splits a stretch at midnight and at the hours, to the millisecond', async () => {
    const now = await redisNow(rds.port);
    const midnight = Math.floor(now / DAY) * DAY;
    const at = midnight - 1234; // two shards online since 1.234 s before the last midnight
    await redis(rds.port, 'SET', key('other', 'states'), '33');
    // with their health keys: an online shard without one is turned unhealthy by the next sweep (within a second,
    // three replicas sweeping), a change this test would then find in the buckets
    for (const id of [0, 1]) await redis(rds.port, 'SET', key('other', `hb:${id}`), '1', 'EX', '600');
    await redis(rds.port, 'HSET', key('other', 'history'), 'at', at, 'n', '0 0 2 0 0 0');
    const r = await request(apis[1].port, 'POST', '/api/status/other/0/1', { headers: AUTH });
    assert.equal(r.status, 204, r.body);
    const t = Number(await redis(rds.port, 'HGET', key('other', 'since'), 0));
    const { out, all } = await buckets(rds.port, 'other');
    const day = Math.floor(midnight / DAY);
    assert.deepEqual(out[`d:${day - 1}`], [0, 0, 2 * 1234, 0, 0, 0, 0, 0]);
    assert.deepEqual(out[`d:${day}`], [0, 0, 2 * (t - midnight), 0, 0, 0, 0, 0]);
    // the hours: the one before midnight, then every hour since (those kept: 48)
    assert.deepEqual(out[`h:${day * 24 - 1}`], [0, 0, 2 * 1234, 0, 0, 0, 0, 0]);
    const hours = Object.entries(out).filter(([f]) => f.startsWith('h:') && Number(f.slice(2)) >= day * 24);
    assert.equal(hours.reduce((s, [, v]) => s + v[2], 0), 2 * (t - midnight));
    assert.equal(all.n, '1 0 1 0 0 0');
  });

  it('keeps a maintenance window apart: its down time is not downtime', async () => {
    const now = await redisNow(rds.port);
    // two shards unhealthy since 20 s ago; maintenance began 8 s ago
    await redis(rds.port, 'SET', key('other', 'states'), '11');
    await redis(rds.port, 'DEL', key('other', 'history'));
    await redis(rds.port, 'HSET', key('other', 'history'), 'at', now - 20000, 'n', '2 0 0 0 0 0');
    const m = await request(apis[2].port, 'POST', '/api/maintenance', { headers: AUTH, body: JSON.stringify({
      title: 'Moving hosts', clusters: ['other'], text: 'Shards restart one by one.', starts: now - 8000, ends: now + HOUR }) });
    assert.equal(m.status, 201, m.body);
    const r = await request(apis[0].port, 'POST', '/api/status/other/1/3', { headers: AUTH });
    assert.equal(r.status, 204, r.body);
    const t = Number(await redis(rds.port, 'HGET', key('other', 'since'), 1));
    const { out } = await buckets(rds.port, 'other');
    const sum = [0, 0, 0, 0, 0, 0, 0, 0];
    for (const [f, v] of Object.entries(out)) if (f.startsWith('d:')) v.forEach((x, i) => { sum[i] += x; });
    assert.deepEqual(sum, [2 * 12000, 0, 0, 0, 0, 0, 2 * (t - (now - 8000)), 0]);
    const h = (await request(apis[1].port, 'GET', '/api/history')).json();
    const other = h.clusters.find((c) => c.name === 'other');
    const today = other.days[other.days.length - 1];
    assert.ok(today.maintenance_down_ms >= 2 * (t - (now - 8000)), JSON.stringify(today));
    // the window is still on: what the shards do now counts as maintenance, not as up or down time
    assert.equal(today.down_ms, 24000, JSON.stringify(today));
  });

  it("tells a shard's story: its transitions newest first, its availability, flapping", async () => {
    const plan = [3, 1, 3, 1, 3, 1, 3];
    for (const st of plan) {
      const r = await request(apis[0].port, 'POST', `/api/status/flappy/1/${st}`, { headers: AUTH });
      assert.equal(r.status, 204);
      await sleep(30);
    }
    const s = (await request(apis[2].port, 'GET', '/api/status/flappy/1')).json();
    assert.equal(s.transitions.length, 7);
    assert.deepEqual(s.transitions.map((x) => x.to), [...plan].reverse());
    assert.deepEqual(s.transitions.map((x) => x.from), [1, 3, 1, 3, 1, 3, 0]);
    for (let i = 1; i < s.transitions.length; i++) assert.ok(s.transitions[i - 1].at_ms >= s.transitions[i].at_ms);
    assert.equal(s.flapping, true);
    assert.ok(s.availability['24h'] > 0.2 && s.availability['24h'] < 1, JSON.stringify(s.availability));
    assert.equal(s.covered_from_ms, s.transitions[6].at_ms);
    const quiet = (await request(apis[2].port, 'GET', '/api/status/flappy/0')).json();
    assert.equal(quiet.flapping, false);
  });

  it('serves the same figures from every replica', async () => {
    // every shard of main back to unknown: nothing accrues any more, so the figures stand still
    for (let id = 0; id < 8; id++) await request(apis[id % 3].port, 'POST', `/api/status/main/${id}/0`, { headers: AUTH });
    // each replica shares its /api/history body for HISTORY_FRESH_MS (10 s): let the copies made above lapse
    await sleep(10500);
    const bodies = [];
    for (const a of apis) {
      const r = await request(a.port, 'GET', '/api/history');
      assert.equal(r.status, 200, r.body);
      const j = r.json();
      assert.equal(j.days, 90);
      const main = j.clusters.find((c) => c.name === 'main');
      assert.equal(main.days.length, 90);
      assert.match(main.days[89].date, /^\d{4}-\d\d-\d\d$/);
      assert.equal(main.days[89].date, new Date(j.now_ms).toISOString().slice(0, 10));
      bodies.push(JSON.stringify(main));
      assert.deepEqual(j.clusters.find((c) => c.name === 'flappy').flapping, [1]);
    }
    assert.ok(bodies[1] === bodies[0] && bodies[2] === bodies[0], `replicas differ:\n${bodies.join('\n').replace(/\{"date":"[^}]*"up_ms":0,"down_ms":0,"maintenance_ms":0,"maintenance_down_ms":0\},?/g, '')}`);
    const main = JSON.parse(bodies[0]);
    const { out } = await buckets(rds.port, 'main');
    const day = out[`d:${Math.floor(Date.now() / DAY)}`] || out[`d:${Math.floor(Date.now() / DAY) - 1}`];
    assert.ok(day, 'a bucket for today');
    const up = main.days.reduce((s, d) => s + d.up_ms, 0);
    const down = main.days.reduce((s, d) => s + d.down_ms, 0);
    assert.ok(up > 0 && down > 0);
    const want = up / (up + down);
    assert.ok(Math.abs(main.availability['24h'] - want) < 1e-6, `${main.availability['24h']} vs ${want}`);
  });

  it('caps the transition log (GLANCE_HISTORY_LOG) and a story at its last 12 changes', async () => {
    for (let i = 0; i < 300; i++) {
      const r = await request(apis[i % 3].port, 'POST', `/api/status/logged/${i % 50}/${3 + (Math.floor(i / 50) % 2)}`, { headers: AUTH });
      assert.equal(r.status, 204);
    }
    const len = Number(await redis(rds.port, 'XLEN', key('logged', 'log')));
    assert.ok(len >= 100 && len <= 200, `log length ${len}`);
    const last = (await redis(rds.port, 'XREVRANGE', key('logged', 'log'), '+', '-', 'COUNT', 1)).split('\n');
    assert.deepEqual(last.slice(1), ['s', '49', 'f', '3', 't', '4']);
    const s = (await request(apis[0].port, 'GET', '/api/status/logged/7')).json();
    assert.equal(s.transitions.length, 6);
  });

  it('records a change the replica did not expect (its mirror behind Redis) with its history all the same', async () => {
    // the replica sends what its mirror calls a ping without the history keys; when Redis holds another state,
    // the script declines and the replica sends the change in full
    const port = apis[2].port;
    assert.equal((await request(port, 'POST', '/api/status/logged/40/3', { headers: AUTH })).status, 204);
    assert.equal((await request(port, 'POST', '/api/status/logged/41/3', { headers: AUTH })).status, 204);
    await sleep(100);
    await setShardState(rds.port, 'logged', 40, 5); // behind every mirror's back: 40 stopping, 41 unhealthy
    await setShardState(rds.port, 'logged', 41, 1);
    assert.equal((await request(port, 'POST', '/api/status/logged/40/3', { headers: AUTH })).status, 204);
    assert.equal((await request(port, 'POST', '/api/health/logged/41', { headers: AUTH })).status, 204);
    const s40 = (await request(port, 'GET', '/api/status/logged/40')).json();
    assert.deepEqual([s40.state, s40.transitions[0].from, s40.transitions[0].to], [3, 5, 3]);
    const s41 = (await request(port, 'GET', '/api/status/logged/41')).json();
    assert.deepEqual([s41.state, s41.transitions[0].from, s41.transitions[0].to], [3, 1, 3]);
    const log = await request(apis[0].port, 'GET', '/api/history/logged?count=2');
    assert.equal(log.status, 200, log.body);
    assert.deepEqual(log.json().transitions.map((x) => [x.shard, x.from, x.to]), [[41, 1, 3], [40, 5, 3]]);
    assert.equal(log.json().cluster, 'logged');
    assert.equal(log.json().transitions[1].at_ms, s40.since_ms);
  });

  it('serves a cluster\'s log: the latest 100 by default, ?count= up to 1000, and refuses the rest', async () => {
    const all = (await request(apis[1].port, 'GET', '/api/history/logged')).json().transitions;
    assert.equal(all.length, 100);
    for (let i = 1; i < all.length; i++) assert.ok(all[i - 1].at_ms >= all[i].at_ms);
    for (const [q, status] of [['?count=0', 400], ['?count=1001', 400], ['?count=x', 400], ['?count=1000', 200]]) {
      const r = await request(apis[1].port, 'GET', `/api/history/logged${q}`);
      assert.equal(r.status, status, `${q}: ${r.body}`);
    }
    const r = await request(apis[1].port, 'GET', '/api/history/nope');
    assert.equal(r.status, 400);
    assert.match(r.json().error, /unknown cluster "nope"/);
  });

  it('reads a cluster\'s log from Redis once for every reader, and again only after a change, at most once a second', async () => {
    const api = apis[1];
    const reads = async () => metricValue(await (await request(api.port, 'GET', '/metrics')).body, 'glance_log_reads_total');
    await request(api.port, 'GET', '/api/history/logged?count=1000');
    const before = await reads();
    // 300 readers at once, asking for every count: one page serves them all, each cut to its own count
    const counts = Array.from({ length: 300 }, (_, i) => 1 + ((i * 37) % 1000));
    const answers = await Promise.all(counts.map((n) => request(api.port, 'GET', `/api/history/logged?count=${n}`)));
    const full = (await request(api.port, 'GET', '/api/history/logged?count=1000')).json().transitions;
    answers.forEach((r, i) => {
      assert.equal(r.status, 200, r.body);
      assert.deepEqual(r.json().transitions, full.slice(0, counts[i]), `count=${counts[i]}`);
    });
    assert.equal(await reads(), before, 'no change, no read');
    // under churn: a change every 10 ms for 2 s while 20 readers ask without pause; each change shows within a second
    const started = Date.now();
    let changes = 0;
    let stop = false;
    const readers = Array.from({ length: 20 }, async () => {
      while (!stop) assert.equal((await request(api.port, 'GET', '/api/history/logged?count=5')).status, 200);
    });
    while (Date.now() - started < 2000) {
      await request(apis[changes % 3].port, 'POST', `/api/status/logged/${changes % 50}/${3 + (changes % 2)}`, { headers: AUTH });
      changes++;
      await sleep(10);
    }
    stop = true;
    await Promise.all(readers);
    const elapsed = Date.now() - started;
    const made = (await reads()) - before;
    assert.ok(made >= 1 && made <= Math.ceil(elapsed / 1000) + 1, `${made} reads in ${elapsed} ms of churn`);
    const last = (await redis(rds.port, 'XREVRANGE', key('logged', 'log'), '+', '-', 'COUNT', 1)).split('\n');
    await waitUntil(async () => {
      const t = (await request(api.port, 'GET', '/api/history/logged?count=1')).json().transitions[0];
      return t.at_ms === Number(last[0].split('-')[0]) && t.shard === Number(last[2]);
    }, { timeoutMs: 3000, message: 'the last change in the log a reader gets' });
  });

  it('lists the latest 1000 flapping shards and counts them all, however many flap', async () => {
    const api = await startApi({ redisPort: rds.port, bots: 'many:3000', passphrase: PASS });
    try {
      const now = await redisNow(rds.port);
      const members = [];
      for (let i = 0; i < 1500; i++) members.push(now - 1000 + (i < 1000 ? 500 : 0), i < 1000 ? 1500 + i : i - 1000);
      await redis(rds.port, 'ZADD', key('many', 'flapping'), ...members);
      const c = (await request(api.port, 'GET', '/api/history')).json().clusters.find((x) => x.name === 'many');
      assert.equal(c.flapping_count, 1500);
      assert.equal(c.flapping.length, 1000);
      assert.deepEqual(c.flapping, Array.from({ length: 1000 }, (_, i) => 1500 + i), 'the latest to flap, in id order');
    } finally {
      await api.stop();
    }
  });

  it('accounts shards that expire in one batch as it would the same changes one by one', async () => {
    // four shards online, then their health keys gone at once, unheard: a replica started then sweeps them at once
    // and turns all four in one script call (the running replicas hold the shards' deadlines, 30 s on, and leave
    // them to those; the maintenance window an earlier test opened on this cluster goes too: the model knows none)
    for (const k of ['states', 'since', 'history', 'log', 'recent', 'maint']) await redis(rds.port, 'DEL', key('other', k));
    const v0 = Number(await redis(rds.port, 'GET', key('other', 'ver')));
    const changes = [];
    for (let id = 0; id < 4; id++) {
      const r = await request(apis[id % 3].port, 'POST', `/api/status/other/${id}/3`, { headers: AUTH });
      assert.equal(r.status, 204, r.body);
      changes.push({ t: Number(await redis(rds.port, 'HGET', key('other', 'since'), id)), from: 0, to: 3 });
      await sleep(5);
    }
    await sleep(50);
    await redis(rds.port, 'DEL', ...[0, 1, 2, 3].map((id) => key('other', `hb:${id}`)));
    const sweeper = await startApi({ redisPort: rds.port, bots: 'main:8;other:4;flappy:2;logged:50', passphrase: PASS,
      env: { GLANCE_HISTORY_LOG: 100 } });
    try {
      await waitUntil(async () => (await redis(rds.port, 'GET', key('other', 'states'))) === '1111',
        { timeoutMs: 5000, message: 'the new replica\'s sweep to turn the four shards unhealthy' });
      await sleep(1500); // it has swept again since: a second transition, if any, would be made by now
    } finally {
      await sweeper.stop();
    }
    const since = await Promise.all([0, 1, 2, 3].map(async (id) => Number(await redis(rds.port, 'HGET', key('other', 'since'), id))));
    assert.ok(since.every((t) => t === since[0]), `one batch, one time: ${since}`);
    for (let id = 0; id < 4; id++) changes.push({ t: since[id], from: 3, to: 1 });
    const want = model(changes);
    const { out, all } = await buckets(rds.port, 'other');
    assert.deepEqual(out, want.out);
    assert.equal(all.n, '4 0 0 0 0 0');
    assert.equal(Number(all.at), since[0]);
    // exactly one transition each, in the log and in each story, and one version each, events without a gap
    const v = Number(await redis(rds.port, 'GET', key('other', 'ver')));
    assert.equal(v - v0, 8);
    const log = (await request(apis[0].port, 'GET', '/api/history/other?count=8')).json().transitions;
    assert.deepEqual(log.slice(0, 4).map((x) => [x.from, x.to, x.at_ms]).sort(), [0, 1, 2, 3].map(() => [3, 1, since[0]]));
    assert.deepEqual(log.slice(0, 4).map((x) => x.shard).sort(), [0, 1, 2, 3]);
    for (let id = 0; id < 4; id++) {
      const s = (await request(apis[id % 3].port, 'GET', `/api/status/other/${id}`)).json();
      assert.deepEqual(s.transitions.map((x) => [x.from, x.to]), [[3, 1], [0, 3]], `shard ${id}`);
    }
    for (const a of apis) {
      await waitUntil(async () => {
        const c = (await request(a.port, 'GET', '/api/status')).json().clusters.find((x) => x.name === 'other');
        return c.version === v && c.states.join('') === '1111';
      }, { timeoutMs: 3000, message: `replica ${a.port}'s mirror at version ${v} with every shard unhealthy` });
    }
  });

  it('accounts a batch report\'s changes as it would the same changes one by one', async () => {
    // the four shards of `other` unhealthy since the test above; one report brings them back in three ways
    const { all: before } = await buckets(rds.port, 'other');
    const v0 = Number(await redis(rds.port, 'GET', key('other', 'ver')));
    const t0 = Number(before.at);
    await sleep(20);
    const r = await request(apis[1].port, 'POST', '/api/clusters/other/report', { headers: AUTH,
      body: JSON.stringify({ shards: [{ id: 0, state: 3 }, { id: 1, state: 5 }, { id: 2 }, { id: 3, state: 1 }] }) });
    assert.equal(r.status, 200, r.body);
    assert.deepEqual(r.json(), { reported: 4, changed: 3 }, 'shard 3 was unhealthy already: its item is a ping');
    const since = await Promise.all([0, 1, 2].map(async (id) => Number(await redis(rds.port, 'HGET', key('other', 'since'), id))));
    assert.ok(since.every((t) => t === since[0] && t > t0), `one report, one time: ${since} after ${t0}`);
    // and every health key of the report, the ping's too, runs out one timeout (30 s) after that time, to the
    // millisecond: a replica's deadline, counted from it, never comes before the key is gone
    for (const id of [0, 1, 2, 3]) {
      assert.equal(Number(await redis(rds.port, 'PEXPIRETIME', key('other', `hb:${id}`))), since[0] + 30000, `hb:${id}`);
    }
    const want = model([{ t: t0, from: 0, to: 1 }, { t: t0, from: 0, to: 1 }, { t: t0, from: 0, to: 1 }, { t: t0, from: 0, to: 1 },
      { t: since[0], from: 1, to: 3 }, { t: since[0], from: 1, to: 5 }, { t: since[0], from: 1, to: 3 }]);
    const { out, all } = await buckets(rds.port, 'other');
    // what the stretch since the last change added: four shards unhealthy for (since - t0) ms, in this hour and day
    const added = {};
    for (const [f, v] of Object.entries(out)) added[f] = v.map((x, i) => x - (before[f] ? Number(before[f].split(' ')[i]) : 0));
    for (const f of Object.keys(added)) if (added[f].every((x) => x === 0)) delete added[f];
    assert.deepEqual(added, want.out);
    assert.equal(all.n, '1 0 2 0 1 0');
    const v = Number(await redis(rds.port, 'GET', key('other', 'ver')));
    assert.equal(v - v0, 3);
    // a replica rereads a log at most once a second after a change
    let log = [];
    await waitUntil(async () => {
      log = (await request(apis[0].port, 'GET', '/api/history/other?count=3')).json().transitions;
      return log.every((x) => x.at_ms === since[0]);
    }, { timeoutMs: 3000, message: 'the report\'s changes in the log' });
    assert.deepEqual(log.map((x) => [x.shard, x.from, x.to, x.at_ms]).sort(), [[0, 1, 3, since[0]], [1, 1, 5, since[0]], [2, 1, 3, since[0]]]);
    for (const [id, to] of [[0, 3], [1, 5], [2, 3]]) {
      const st = (await request(apis[2].port, 'GET', `/api/status/other/${id}`)).json();
      assert.deepEqual(st.transitions.slice(0, 2).map((x) => [x.from, x.to]), [[1, to], [3, 1]], `shard ${id}`);
    }
    for (const a of apis) {
      await waitUntil(async () => {
        const c = (await request(a.port, 'GET', '/api/status')).json().clusters.find((x) => x.name === 'other');
        return c.version === v && c.states.join('') === '3531';
      }, { timeoutMs: 3000, message: `replica ${a.port}'s mirror at version ${v} with the report's states` });
    }
  });

  it('refuses a bad GLANCE_HISTORY_LOG at start-up with one line', async () => {
    const bad = await startApi({ redisPort: rds.port, env: { GLANCE_HISTORY_LOG: '5' }, waitReady: false });
    const code = await bad.exited;
    assert.notEqual(code?.code ?? code, 0);
    assert.match(bad.stderr(), /GLANCE_HISTORY_LOG/);
  });
});

describe('maintenance windows and the changes that need not read them', { timeout: 30000 }, () => {
  let rds;
  let api;
  before(async () => {
    rds = await startRedis();
    api = await startApi({ redisPort: rds.port, bots: 'booked:2', passphrase: PASS });
  });
  after(async () => {
    await api.stop();
    await rds.stop();
  });

  const mnext = async () => (await redis(rds.port, 'HGET', key('booked', 'history'), 'mnext')).trim();
  const post = async (path, body) => {
    const r = await request(api.port, 'POST', path, { headers: AUTH, body: body && JSON.stringify(body) });
    assert.ok(r.status >= 200 && r.status < 300, `${path}: ${r.status} ${r.body}`);
    return r;
  };
  const since = async (id) => Number(await redis(rds.port, 'HGET', key('booked', 'since'), id));

  it('a window booked after the changes that found none is accounted from its start, and forgotten once over', async () => {
    await post('/api/status/booked/0/3');
    await post('/api/status/booked/1/3');
    assert.equal(await mnext(), 'none', 'no window: the next changes skip the maint hash');

    // a window that began 8 s ago: booking it drops the summary, so the next change reads the hash again
    const now = await redisNow(rds.port);
    const { id } = (await post('/api/maintenance', { title: 'Moving hosts', clusters: ['booked'], text: 'Restarts.',
      starts: now - 8000, ends: now + HOUR })).json();
    assert.equal(await mnext(), '', 'the summary is gone');
    await post('/api/status/booked/0/1');
    const down = await since(0);
    assert.equal(await mnext(), String(now - 8000), 'the window in progress: every change reads it');
    await sleep(30);
    await post('/api/status/booked/0/3');
    const up = await since(0);
    const { out } = await buckets(rds.port, 'booked');
    const sum = [0, 0, 0, 0, 0, 0, 0, 0];
    for (const [f, v] of Object.entries(out)) if (f.startsWith('d:')) v.forEach((x, i) => { sum[i] += x; });
    assert.equal(sum[6], up - down, `shard 0's down time in the window is maintenance: ${JSON.stringify(sum)}`);
    assert.equal(sum[0], 0, `and no downtime: ${JSON.stringify(sum)}`);

    // completed: the window is over, and the change after it drops it from the maint hash
    await post(`/api/incidents/${id}/updates`, { text: 'Done.', status: 'completed' });
    assert.equal(await mnext(), '');
    await post('/api/status/booked/1/4');
    assert.equal(await mnext(), 'none');
    assert.equal((await redis(rds.port, 'HLEN', key('booked', 'maint'))).trim(), '0');

    // one booked ahead: the changes until it begins know when that is
    const later = (await redisNow(rds.port)) + HOUR;
    await post('/api/maintenance', { title: 'Next week', clusters: ['booked'], text: 'Restarts.', starts: later, ends: later + HOUR });
    await post('/api/status/booked/1/3');
    assert.equal(await mnext(), String(later));
  });
});
