// expiry.mjs -- benchmark: N shards go silent at once; how long past its deadline does each turn unhealthy,
// and is every transition made exactly once with R replicas listening?
//
// Usage: node tests/bench/expiry.mjs [shards=1000] [replicas=3] [spread s]  (glance-api, the lag on Redis' clock;
//        past 10,000 shards they go online in batch reports, over `spread` seconds when given, else at full speed)
//        node tests/bench/expiry.mjs [shards=1000] baseline          (the Python baseline port)
// glance-api: the status script stores the time it set the health key (since), the expire script stores the
// time of the unhealthy transition; lag = unhealthy since - (online since + timeout), both on Redis' clock.
// The baseline keeps the same since_ms per shard in its process (GET /api/status/<cluster>/<id>).
import http from 'node:http';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { startRedis, startApi, redis, cleanup, waitUntil, clusterStates, countState } from '../integration/harness.mjs';
import { startBaseline, percentile, cpuSeconds } from './lib.mjs';

// long enough that posting every shard and reading the times back ends before the first deadline; the lag is
// measured from each shard's own deadline, so the length does not change it. 100,000 shards take a few seconds
// to post and read back here, a million about a minute.
const timeoutFor = (shards) => Math.max(5, Math.ceil(shards / 10000));
const BATCH = 1000; // items per batch report, the most one takes
const BASELINE_TIMEOUT_S = 15;

function post(port, agent, path) {
  return new Promise((resolve, reject) => {
    const req = http.request({ host: '127.0.0.1', port, method: 'POST', path, agent }, (res) => {
      res.resume();
      res.on('end', () => (res.statusCode === 204 ? resolve() : reject(new Error(`${path}: ${res.statusCode}`))));
    });
    req.on('error', reject);
    req.end();
  });
}

function getJson(port, agent, path) {
  return new Promise((resolve, reject) => {
    const req = http.request({ host: '127.0.0.1', port, method: 'GET', path, agent }, (res) => {
      let body = '';
      res.on('data', (d) => { body += d; });
      res.on('end', () => { try { resolve(JSON.parse(body)); } catch (e) { reject(e); } });
    });
    req.on('error', reject);
    req.end();
  });
}

/** Runs fn(i) for i in [0, n) with `width` calls in flight. */
async function inParallel(n, width, fn) {
  let next = 0;
  await Promise.all(Array.from({ length: width }, async () => {
    while (next < n) await fn(next++);
  }));
}

function postJson(port, agent, path, body) {
  return new Promise((resolve, reject) => {
    const req = http.request({ host: '127.0.0.1', port, method: 'POST', path, agent,
      headers: { 'content-type': 'application/json' } }, (res) => {
      let text = '';
      res.on('data', (d) => { text += d; });
      res.on('end', () => (res.statusCode === 200 ? resolve() : reject(new Error(`${path}: ${res.statusCode} ${text}`))));
    });
    req.on('error', reject);
    req.end(JSON.stringify(body));
  });
}

/** A hash of numbers, read in HSCAN pages so that a million fields is neither one reply nor one blocked Redis. */
async function hashNumbers(port, key) {
  const out = new Map();
  let cursor = '0';
  do {
    const lines = (await redis(port, 'HSCAN', key, cursor, 'COUNT', '20000')).split('\n');
    cursor = lines[0];
    for (let i = 1; i + 1 < lines.length; i += 2) out.set(lines[i], Number(lines[i + 1]));
  } while (cursor !== '0');
  return out;
}

function summary(lags) {
  lags.sort((a, b) => a - b);
  return { p50: percentile(lags, 50), p99: percentile(lags, 99), max: lags[lags.length - 1], min: lags[0] };
}

/** glance-api: `shards` shards on `replicas` replicas go silent at once. Starts and stops its own processes. */
export async function expiryGlance({ shards = 1000, replicas = 3, spreadS = 0 } = {}) {
  const r = await startRedis();
  // the expiry settings of the shipped deploy/redis.conf
  for (const line of readFileSync(new URL('../../deploy/redis.conf', import.meta.url), 'utf8').split('\n')) {
    const m = /^(hz|active-expire-effort)\s+(\S+)/.exec(line);
    if (m) await redis(r.port, 'CONFIG', 'SET', m[1], m[2]);
  }
  const TIMEOUT_S = timeoutFor(shards);
  const apis = [];
  for (let i = 0; i < replicas; i++) {
    apis.push(await startApi({ redisPort: r.port, bots: `main:${shards}`, healthTimeout: TIMEOUT_S }));
  }
  const agent = new http.Agent({ keepAlive: true, maxSockets: 32 });
  const verStart = Number(await redis(r.port, 'GET', 'glance:{main}:ver')) || 0;
  if (shards <= 10000) {
    await inParallel(shards, 32, (id) => post(apis[id % replicas].port, agent, `/api/status/main/${id}/3`));
  } else { // as large bots report: a batch per process, each shard's state in it
    // with a spread, batch b goes at b / batches of it, so that the deadlines fall at a set rate whatever the build's
    // write speed (without one, as fast as the replicas take them: a faster write path makes a denser wave)
    const batches = Math.ceil(shards / BATCH), start = Date.now();
    const slot = (b) => new Promise((res) => setTimeout(res, Math.max(0, start + (spreadS * 1000 * b) / batches - Date.now())));
    await inParallel(batches, 8, async (b) => {
      if (spreadS) await slot(b);
      await postJson(apis[b % replicas].port, agent, '/api/clusters/main/report',
        { shards: Array.from({ length: Math.min(BATCH, shards - b * BATCH) }, (_, i) => ({ id: b * BATCH + i, state: 3 })) });
    });
  }
  const onlineSince = await hashNumbers(r.port, 'glance:{main}:since');
  // every shard went unknown -> online: that is `shards` versions; what follows them are expiries
  const verBefore = verStart + shards;
  const states = await clusterStates(r.port, 'main', shards);
  if (states.some((v) => v !== 3)) {
    throw new Error(`a shard expired before every online time was read; raise the health timeout (${TIMEOUT_S} s)`);
  }
  // what the expiries cost, from here until every shard is unhealthy: Redis's CPU and the replicas'
  const cpu = () => ({ redis: cpuSeconds(r.pid), replicas: apis.reduce((s, a) => s + cpuSeconds(a.pid), 0), at: Date.now() });
  await redis(r.port, 'CONFIG', 'RESETSTAT');
  const cpuBefore = cpu();
  // watched through the version (one GET): counting a million states every 100 ms would cost Redis 13 ms each
  // time, a stall in the middle of what is measured
  await waitUntil(async () => Number(await redis(r.port, 'GET', 'glance:{main}:ver')) >= verBefore + shards,
    { timeoutMs: 30000 + TIMEOUT_S * 1000, intervalMs: 100, message: `all ${shards} shards to turn unhealthy` });
  const cpuAfter = cpu();
  const unhealthy = await countState(r.port, 'main', 1);
  if (unhealthy !== shards) throw new Error(`${unhealthy} of ${shards} shards unhealthy when the version said all`);
  // the commands that took Redis's time meanwhile, the costliest first
  const commands = (await redis(r.port, 'INFO', 'commandstats')).split('\n')
    .map((l) => /^cmdstat_(\w+):calls=(\d+),usec=(\d+)/.exec(l)).filter(Boolean)
    .map((m) => ({ command: m[1], calls: Number(m[2]), ms: Math.round(Number(m[3]) / 1000) }))
    .sort((a, b) => b.ms - a.ms).slice(0, 4);
  await new Promise((res) => setTimeout(res, 500)); // late duplicates, if any, would show in the version
  const verAfter = Number(await redis(r.port, 'GET', 'glance:{main}:ver'));
  const unhealthySince = await hashNumbers(r.port, 'glance:{main}:since');
  const lags = [];
  for (const [id, t] of unhealthySince) lags.push(t - (onlineSince.get(id) + TIMEOUT_S * 1000));
  // the deadlines fall as the shards were set online: how many a second that is, Redis's rate to keep up with
  let first = Infinity, last = -Infinity;
  for (const t of onlineSince.values()) { first = Math.min(first, t); last = Math.max(last, t); }
  let byNotification = 0, bySweep = 0, byDeadline = 0;
  for (const api of apis) {
    const text = await (await fetch(`${api.url}/metrics`)).text();
    byNotification += Number(/glance_expired_by_notification_total (\d+)/.exec(text)[1]);
    bySweep += Number(/glance_expired_by_sweep_total (\d+)/.exec(text)[1]);
    byDeadline += Number(/glance_expired_by_deadline_total (\d+)/.exec(text)?.[1] ?? 0);
  }
  agent.destroy();
  for (const api of apis) await api.stop();
  await r.stop();
  return {
    shards, replicas, health_timeout_s: TIMEOUT_S, transitions: verAfter - verBefore, lag_ms: summary(lags),
    deadlines_within_ms: last - first, deadlines_per_s: Math.round(shards / Math.max(0.001, (last - first) / 1000)),
    by_deadline: byDeadline, by_notification: byNotification, by_sweep: bySweep,
    expiry_phase: { seconds: (cpuAfter.at - cpuBefore.at) / 1000, redis_cpu_s: Math.round((cpuAfter.redis - cpuBefore.redis) * 100) / 100,
      replicas_cpu_s: Math.round((cpuAfter.replicas - cpuBefore.replicas) * 100) / 100, commands },
  };
}

/** The Python baseline: the same experiment against its polling loop (one process). */
export async function expiryBaseline({ shards = 1000 } = {}) {
  // reading every shard's since_ms back takes seconds here, so the shards get longer to live; the lag is
  // measured from each one's own deadline, so the timeout's length does not change it
  const timeoutS = BASELINE_TIMEOUT_S;
  const b = await startBaseline({ bots: `main:${shards}`, healthTimeout: timeoutS });
  const agent = new http.Agent({ keepAlive: true, maxSockets: 32 });
  await inParallel(shards, 32, (id) => post(b.port, agent, `/api/status/main/${id}/3`));
  const verBefore = (await getJson(b.port, agent, '/api/status')).clusters[0].version;
  const onlineSince = new Map();
  await inParallel(shards, 32, async (id) => {
    onlineSince.set(id, (await getJson(b.port, agent, `/api/status/main/${id}`)).since_ms);
  });
  const verOnline = (await getJson(b.port, agent, '/api/status')).clusters[0].version;
  if (verOnline !== verBefore) throw new Error(`shards expired while their times were read (${verOnline - verBefore}); raise BASELINE_TIMEOUT_S`);
  await waitUntil(async () => {
    const { clusters } = await getJson(b.port, agent, '/api/status');
    return clusters[0].states.every((s) => s === 1);
  }, { timeoutMs: 60000, intervalMs: 100, message: `all ${shards} shards to turn unhealthy` });
  await new Promise((res) => setTimeout(res, 500));
  const verAfter = (await getJson(b.port, agent, '/api/status')).clusters[0].version;
  const lags = [];
  await inParallel(shards, 32, async (id) => {
    const s = await getJson(b.port, agent, `/api/status/main/${id}`);
    lags.push(s.since_ms - (onlineSince.get(id) + timeoutS * 1000));
  });
  agent.destroy();
  await b.stop();
  return { shards, replicas: 1, health_timeout_s: timeoutS, transitions: verAfter - verBefore, lag_ms: summary(lags) };
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const shards = Number(process.argv[2] || 1000);
  try {
    const out = process.argv[3] === 'baseline'
      ? await expiryBaseline({ shards })
      : await expiryGlance({ shards, replicas: Number(process.argv[3] || 3), spreadS: Number(process.argv[4] || 0) });
    console.log(JSON.stringify(out));
  } finally {
    await cleanup();
  }
}
