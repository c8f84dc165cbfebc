// expiry.mjs -- benchmark: N shards go silent at once; how long past its deadline does each turn unhealthy,
// and is every transition made exactly once with R replicas listening?
//
// Usage: node tests/bench/expiry.mjs [shards=1000] [replicas=3]
// Lag is measured on Redis' own clock: the status script stores the time it set the health key (since),
// the expire script stores the time of the unhealthy transition; lag = unhealthy since - (online since + timeout).
import http from 'node:http';
import { readFileSync } from 'node:fs';
import { startRedis, startApi, redis, cleanup, waitUntil } from '../integration/harness.mjs';

const shards = Number(process.argv[2] || 1000);
const replicas = Number(process.argv[3] || 3);
const timeoutS = 2;

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

function percentile(sorted, p) {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];
}

async function hashNumbers(port, key) {
  const flat = (await redis(port, 'HGETALL', key)).split('\n');
  const out = new Map();
  for (let i = 0; i + 1 < flat.length; i += 2) out.set(flat[i], Number(flat[i + 1]));
  return out;
}

try {
  const r = await startRedis();
  // the expiry settings of the shipped deploy/redis.conf
  for (const line of readFileSync(new URL('../../deploy/redis.conf', import.meta.url), 'utf8').split('\n')) {
    const m = /^(hz|active-expire-effort)\s+(\S+)/.exec(line);
    if (m) await redis(r.port, 'CONFIG', 'SET', m[1], m[2]);
  }
  const apis = [];
  for (let i = 0; i < replicas; i++) {
    apis.push(await startApi({ redisPort: r.port, bots: `main:${shards}`, healthTimeout: timeoutS }));
  }
  const agent = new http.Agent({ keepAlive: true, maxSockets: 32 });
  let next = 0;
  await Promise.all(Array.from({ length: 32 }, async () => {
    while (next < shards) {
      const id = next++;
      await post(apis[id % replicas].port, agent, `/api/status/main/${id}/3`);
    }
  }));
  const onlineSince = await hashNumbers(r.port, 'glance:{main}:since');
  const verBefore = Number(await redis(r.port, 'GET', 'glance:{main}:ver'));
  await waitUntil(async () => {
    const states = await hashNumbers(r.port, 'glance:{main}:state');
    let unhealthy = 0;
    for (const v of states.values()) if (v === 1) unhealthy++;
    return unhealthy === shards;
  }, { timeoutMs: 30000, intervalMs: 100, message: `all ${shards} shards to turn unhealthy` });
  await new Promise((res) => setTimeout(res, 500)); // late duplicates, if any, would show in the version
  const verAfter = Number(await redis(r.port, 'GET', 'glance:{main}:ver'));
  const unhealthySince = await hashNumbers(r.port, 'glance:{main}:since');
  const lags = [];
  for (const [id, t] of unhealthySince) lags.push(t - (onlineSince.get(id) + timeoutS * 1000));
  lags.sort((a, b) => a - b);
  let byNotification = 0, bySweep = 0;
  for (const api of apis) {
    const text = await (await fetch(`${api.url}/metrics`)).text();
    byNotification += Number(/glance_expired_by_notification_total (\d+)/.exec(text)[1]);
    bySweep += Number(/glance_expired_by_sweep_total (\d+)/.exec(text)[1]);
  }
  console.log(JSON.stringify({
    shards, replicas, health_timeout_s: timeoutS,
    transitions: verAfter - verBefore,
    lag_ms: { p50: percentile(lags, 50), p99: percentile(lags, 99), max: lags[lags.length - 1], min: lags[0] },
    by_notification: byNotification, by_sweep: bySweep,
  }));
  agent.destroy();
} finally {
  await cleanup();
}
