// latency.test.mjs -- the latency history (issue 28, item 3) against real Redis and real replicas: a real minute
// written end to end by exactly one of two replicas (each claims a minute once, one wins), latency.lua driven at
// chosen minutes across a UTC day and an hour boundary and read back through GET /api/latency, gaps left out, the
// hash's size fixed whatever is written, a flood of reads costing one read per cluster, and an unknown cluster's 404.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import path from 'node:path';
import { readFileSync } from 'node:fs';
import { REPO_ROOT, cleanup, getMetrics, metricValue, redis, request, startApi, startRedis, waitUntil } from './harness.mjs';

const PASS = 'latency-test-passphrase';
const AUTH = { authorization: PASS };
const BOTS = 'main:8;quiet:2;drive:1;gaps:1;bound:1';
// The two replicas that run throughout write a minute of every cluster they know, the current one, each minute: had
// they known drive, gaps and bound, a minute those tests write by hand could have been written already (as a gap) by
// them. They know main and quiet; a fresh replica, started to read, knows all five.
const WRITERS = 'main:8;quiet:2';
const MINUTE = 60000;
const HOUR = 3600000;
const DAY = 86400000;
const LUA = path.join(REPO_ROOT, 'services', 'api', 'redis', 'lua');
/** A script as the replica sends it: lib.lua first (cmake/embed_lua.cmake). */
const script = (name) => `${readFileSync(path.join(LUA, 'lib.lua'), 'utf8')}\n${readFileSync(path.join(LUA, `${name}.lua`), 'utf8')}`;
const key = (cluster) => `glance:{${cluster}}:latency`;

/** Nearest rank, as latency.lua takes it. */
const nearestRank = (xs, q) => [...xs].sort((a, b) => a - b)[Math.max(1, Math.ceil((q * xs.length) / 100)) - 1];

/** Runs every [minute, shards, p50, p95] through latency.lua for `cluster` on one pipelined connection; resolves the
 * replies (1 written, 0 written already). */
async function drive(port, sha, cluster, rows) {
  const bulk = (s) => `$${Buffer.byteLength(String(s))}\r\n${s}\r\n`;
  const cmd = (args) => `*${args.length}\r\n${args.map(bulk).join('')}`;
  const text = rows.map(([m, n, a, b]) => cmd(['EVALSHA', sha, 1, key(cluster), m, n, a, b])).join('');
  return new Promise((resolve, reject) => {
    const sock = net.connect(port, '127.0.0.1');
    const chunks = [];
    let lines = 0;
    sock.on('error', reject);
    sock.on('data', (d) => {
      chunks.push(d);
      for (const byte of d) if (byte === 10) lines++;
      if (lines >= rows.length) {
        sock.end();
        const replies = Buffer.concat(chunks).toString().split('\r\n').filter(Boolean);
        const bad = replies.find((l) => !/^:[01]$/.test(l));
        if (bad) reject(new Error(`latency.lua answered ${bad}`));
        else resolve(replies.map((l) => Number(l.slice(1))));
      }
    });
    sock.write(text);
  });
}

describe('latency history', () => {
  let rds;
  let apis;
  let sha;
  let claimSha;

  before(async () => {
    rds = await startRedis();
    sha = await redis(rds.port, 'SCRIPT', 'LOAD', script('latency'));
    claimSha = await redis(rds.port, 'SCRIPT', 'LOAD', script('latency_claim'));
    apis = [];
    // each replica tries every second: a minute is still claimed once by each, and won by one. The shards report
    // once and must stay online with a fresh latency until the next minute is written: a long health timeout.
    for (let i = 0; i < 2; i++) {
      apis.push(await startApi({ redisPort: rds.port, bots: WRITERS, passphrase: PASS, healthTimeout: 600,
        env: { GLANCE_LATENCY_INTERVAL_MS: 1000 } }));
    }
  });
  after(cleanup);

  /** A fresh replica that has read nothing yet (its copy is kept until the next minute settles). */
  const freshApi = () => startApi({ redisPort: rds.port, bots: BOTS, passphrase: PASS });
  const latencyOf = async (api, cluster) => {
    const r = await request(api.port, 'GET', `/api/latency/${cluster}`);
    assert.equal(r.status, 200, r.body);
    const body = r.json();
    assert.equal(body.clusters.length, 1);
    assert.equal(body.clusters[0].name, cluster);
    return { now: body.now_ms, ...body.clusters[0] };
  };

  it('writes a real minute once for the whole deployment: one replica wins it, the other makes one call and stops', async () => {
    for (let id = 0; id < 8; id++) {
      const r = await request(apis[id % 2].port, 'POST', `/api/status/main/${id}/3?latency_ms=${10 * (id + 1)}`, { headers: AUTH });
      assert.equal(r.status, 204, r.body);
    }
    // the first minute after start may have been taken before the reports (or from a figures copy older than them):
    // wait for a minute that has them, which is the next one at the latest
    let slot;
    await waitUntil(async () => {
      const all = await redis(rds.port, 'HGETALL', key('main'));
      const f = all.split('\n');
      for (let i = 0; i + 1 < f.length; i += 2) if (!f[i].startsWith('h') && / 8$/.test(f[i + 1])) slot = f[i + 1];
      return slot !== undefined;
    }, { timeoutMs: 75000, intervalMs: 500, message: 'a minute of main with its 8 shards' });
    const [minute, p50, p95, shards] = slot.split(' ').map(Number);
    assert.deepEqual([p50, p95, shards], [40, 80, 8], 'the median and 95th percentile of 10, 20, ..., 80 ms');

    const metrics = await Promise.all(apis.map((a) => getMetrics(a.port)));
    const claims = (m, outcome) => metricValue(m, 'glance_latency_claims_total', { outcome });
    const won = metrics.map((m) => claims(m, 'won'));
    const lost = metrics.map((m) => claims(m, 'lost'));
    // every minute the replicas saw (the claim key holds the last) was won once: as many wins as minutes written
    const written = (await redis(rds.port, 'HGETALL', key('quiet'))).split('\n').filter((_, i, f) => i % 2 === 0 && !f[i].startsWith('h'));
    // (a minute may be claimed between the two reads, and written just after)
    assert.ok(won[0] + won[1] >= written.length && won[0] + won[1] <= written.length + 1, `wins ${won} for minutes ${written}`);
    assert.ok(won[0] + won[1] >= 1);
    // each replica ticks every second but claims a minute once: at most one call a minute each
    for (let i = 0; i < 2; i++) assert.ok(won[i] + lost[i] <= written.length + 1, `replica ${i}: ${won[i]} won, ${lost[i]} lost`);
    assert.ok(lost[0] + lost[1] >= 1, 'the other replica lost its claims');
    assert.ok(metrics.reduce((s, m) => s + metricValue(m, 'glance_latency_cluster_writes_total'), 0) >= written.length * 2,
      'the winner wrote each of its two clusters');
    assert.equal(Number(await redis(rds.port, 'GET', 'glance:latency:claim')) >= minute, true);

    for (const api of apis) {
      await waitUntil(async () => (await latencyOf(api, 'main')).minutes.some((x) => x.at_ms === minute * MINUTE), {
        timeoutMs: 75000, intervalMs: 1000, message: 'the minute in GET /api/latency/main' });
      const main = await latencyOf(api, 'main');
      assert.deepEqual(main.minutes.find((x) => x.at_ms === minute * MINUTE), { at_ms: minute * MINUTE, p50_ms: 40, p95_ms: 80, shards: 8 });
      const hour = Math.floor(minute / 60);
      assert.deepEqual(main.hours.find((h) => h.at_ms === hour * HOUR), { at_ms: hour * HOUR, p50_ms: 40, p95_ms: 80,
        minutes: main.minutes.filter((x) => Math.floor(x.at_ms / HOUR) === hour).length });
      // no shard of quiet reports a latency: its minutes are gaps, left out
      assert.deepEqual((await latencyOf(api, 'quiet')).minutes, []);
    }
  });

  it('claims a minute once, refuses earlier minutes and minutes far from Redis\'s clock', async () => {
    const claimKey = 'glance:test:claim';
    const now = Math.floor(Date.now() / MINUTE);
    const claim = async (m) => Number(await redis(rds.port, 'EVALSHA', claimSha, 1, claimKey, m));
    assert.equal(await claim(now), 1);
    assert.equal(await claim(now), 0);
    assert.equal(await claim(now - 1), 0);
    assert.equal(await claim(now + 1), 1);
    assert.equal(await claim(now + 5), -1);
    assert.equal(await redis(rds.port, 'GET', claimKey), String(now + 1));
  });

  it('keeps the minutes across a UTC day and an hour boundary, oldest first, and their hours', async () => {
    // Two minutes either side of a midnight must lie inside the last 1,440 minutes with room to spare; in the few
    // minutes around midnight no midnight does (the last one is a day old, the next not yet passed), so wait them
    // out: at most 9 minutes, on a run that starts then.
    const intoDay = () => Math.floor(Date.now() / MINUTE) % 1440;
    await waitUntil(() => intoDay() >= 3 && intoDay() <= 1433,
      { timeoutMs: 10 * MINUTE, intervalMs: 1000, message: 'the clock past the minutes around midnight' });
    const nowMin = Math.floor(Date.now() / MINUTE);
    const day = Math.floor((nowMin - 3) / 1440) * 1440; // the last midnight at least 3 minutes ago
    let hour = Math.floor((nowMin - 3) / 60) * 60; // and an hour start that is not it
    if (hour === day) hour -= 60;
    const minutes = [day - 2, day - 1, day, day + 1, day + 2, hour - 1, hour, hour + 1].sort((a, b) => a - b);
    const rows = minutes.map((m, i) => [m, 100 + i, 20 + i, 50 + 3 * i]);
    assert.deepEqual(await drive(rds.port, sha, 'drive', rows), rows.map(() => 1));
    assert.deepEqual(await drive(rds.port, sha, 'drive', rows.slice(0, 1)), [0], 'a minute written already is refused');

    const api = await freshApi();
    const got = await latencyOf(api, 'drive');
    const windowMin = Math.floor(got.now / MINUTE);
    const expected = rows.filter(([m]) => m > windowMin - 1440 && m <= windowMin)
      .map(([m, n, a, b]) => ({ at_ms: m * MINUTE, p50_ms: a, p95_ms: b, shards: n }));
    assert.deepEqual(got.minutes, expected);
    assert.ok(got.minutes.some((x) => x.at_ms === day * MINUTE) && got.minutes.some((x) => x.at_ms === (day - 1) * MINUTE),
      'both sides of midnight (slots 1439 and 0 of the ring)');
    const hours = [...new Set(minutes.map((m) => Math.floor(m / 60)))].sort((a, b) => a - b).map((h) => {
      const of = rows.filter(([m]) => Math.floor(m / 60) === h);
      return { at_ms: h * HOUR, p50_ms: nearestRank(of.map((r) => r[2]), 50), p95_ms: nearestRank(of.map((r) => r[3]), 95), minutes: of.length };
    });
    assert.deepEqual(got.hours, hours);
    assert.ok(got.hours.some((h) => h.at_ms === day * MINUTE) && got.hours.some((h) => h.at_ms === day * MINUTE - HOUR));
    await api.stop();
  });

  it('leaves gaps out: a minute without data, a slot still holding the day before, hours without data', async () => {
    const nowMin = Math.floor(Date.now() / MINUTE);
    const base = nowMin - 200;
    // base: data; base+1: no shard had a latency; base+2: its slot holds the minute a day earlier (never written since)
    assert.deepEqual(await drive(rds.port, sha, 'gaps', [[base, 1, 7, 9], [base + 1, 0, 0, 0], [base + 2 - 1440, 1, 5, 5]]), [1, 1, 1]);
    const api = await freshApi();
    const got = await latencyOf(api, 'gaps');
    assert.deepEqual(got.minutes, [{ at_ms: base * MINUTE, p50_ms: 7, p95_ms: 9, shards: 1 }]);
    // the hour of base - 1440 (a day ago) is inside the 30 days; the hour of base has base alone
    assert.deepEqual(got.hours.map((h) => h.minutes), [1, 1]);
    assert.equal(got.hours[1].at_ms, Math.floor(base / 60) * HOUR);
    await api.stop();
  });

  it('holds at most 1,440 minute and 720 hour fields per cluster: its memory stops growing once the rings are full', async () => {
    const start = Math.floor(Date.now() / MINUTE) - 31 * 1440;
    const rows = (from, n) => Array.from({ length: n }, (_, i) => [from + i, 10000, 40 + (i % 50), 200 + (i % 300)]);
    // 30 days and one of minutes: every hour slot and every minute slot written, the oldest overwritten
    await drive(rds.port, sha, 'bound', rows(start, 30 * 1440 + 1440));
    assert.equal(Number(await redis(rds.port, 'HLEN', key('bound'))), 1440 + 720);
    const full = Number(await redis(rds.port, 'MEMORY', 'USAGE', key('bound'), 'SAMPLES', '0'));
    // another day: same fields, same size
    await drive(rds.port, sha, 'bound', rows(start + 31 * 1440, 1440));
    assert.equal(Number(await redis(rds.port, 'HLEN', key('bound'))), 1440 + 720);
    const later = Number(await redis(rds.port, 'MEMORY', 'USAGE', key('bound'), 'SAMPLES', '0'));
    assert.ok(Math.abs(later - full) <= full * 0.02, `MEMORY USAGE ${full} then ${later} bytes`);
    assert.ok(full < 256 * 1024, `MEMORY USAGE ${full} bytes`);
    console.log(`# latency history of one cluster, every slot written: ${full} bytes (MEMORY USAGE ... SAMPLES 0), then ${later}`);
  });

  it('answers a flood of reads with one read per cluster, and 404 for an unknown cluster', async () => {
    const api = await freshApi();
    const reads = async () => metricValue(await getMetrics(api.port), 'glance_latency_reads_total');
    const before = await reads();
    const answers = await Promise.all(Array.from({ length: 50 }, (_, i) =>
      request(api.port, 'GET', i % 2 ? '/api/latency' : '/api/latency/main')));
    for (const r of answers) assert.equal(r.status, 200, r.body);
    assert.deepEqual(answers[1].json().clusters.map((c) => c.name), ['main', 'quiet', 'drive', 'gaps', 'bound']);
    // five clusters, read once each (twice at most if a minute settled in between)
    const used = (await reads()) - before;
    assert.ok(used >= 5 && used <= 10, `${used} reads`);
    const head = await request(api.port, 'HEAD', '/api/latency/main');
    assert.equal(head.status, 200);
    const r = await request(api.port, 'GET', '/api/latency/nope');
    assert.equal(r.status, 404);
    assert.deepEqual(r.json(), { error: 'unknown cluster "nope"' });
    assert.equal((await request(api.port, 'POST', '/api/latency', { headers: AUTH })).status, 405);
    await api.stop();
  });
});
