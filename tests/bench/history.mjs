// history.mjs -- benchmark for issue 14's history: (1) what the accounting costs a status write, as POST/s of the
// build before it (GLANCE_BENCH_BASE_BIN, built by tests/bench/history.sh) against this build, pair by pair in
// the same run, every POST a state change (tests/bench/post_status.lua); (2) the bytes Redis holds for a
// cluster's history at 360 and at 10,000 shards: 90 days of daily and 48 of hourly figures (made by the real
// script: the cluster's last change is set 90 days back, so the next change accounts every day since), every
// shard's story full (12 changes each, posted for real) and the log at its cap.
// Usage: node tests/bench/history.mjs [--rounds 3] [--seconds 5]; prints Markdown.
import { execFileSync } from 'node:child_process';
import http from 'node:http';
import path from 'node:path';
import { REPO_ROOT, makeTempDir, redis, startApi, startRedis } from '../integration/harness.mjs';

const arg = (name, dflt) => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? Number(process.argv[i + 1]) : dflt;
};
const ROUNDS = arg('rounds', 3);
const SECONDS = arg('seconds', 5);
const BASE_BIN = process.env.GLANCE_BENCH_BASE_BIN;
const DAY = 86400000;

async function postRate(bin, same) {
  const rds = await startRedis({ dir: makeTempDir() });
  const api = await startApi({ redisPort: rds.port, bots: 'main:1000', bin });
  try {
    const out = execFileSync('wrk', ['-t1', '-c32', `-d${SECONDS}s`, '-s', path.join(REPO_ROOT, 'tests/bench/post_status.lua'), api.url],
      { env: { ...process.env, BENCH_SHARDS: '1000', BENCH_SAME: same ? '1' : '0' }, encoding: 'utf8' });
    const non2xx = /Non-2xx or 3xx responses: (\d+)/.exec(out);
    if (non2xx) throw new Error(`${non2xx[1]} POSTs failed`);
    return Number(/Requests\/sec:\s+([\d.]+)/.exec(out)[1]);
  } finally {
    await api.stop();
    await rds.stop();
  }
}

const agent = new http.Agent({ keepAlive: true, maxSockets: 32 });
function post(port, p) {
  return new Promise((resolve, reject) => {
    const req = http.request({ host: '127.0.0.1', port, method: 'POST', path: p, agent }, (res) => {
      res.resume();
      res.on('end', () => (res.statusCode === 204 ? resolve() : reject(new Error(`${p}: ${res.statusCode}`))));
    });
    req.on('error', reject);
    req.end();
  });
}

async function memory(shards) {
  const rds = await startRedis({ dir: makeTempDir() });
  const api = await startApi({ redisPort: rds.port, bots: `main:${shards}` });
  try {
    const k = (w) => `glance:{main}:${w}`;
    const all = [];
    for (let id = 0; id < shards; id++) all.push(`/api/status/main/${id}/3`);
    for (let i = 0; i < all.length; i += 256) await Promise.all(all.slice(i, i + 256).map((p) => post(api.port, p)));
    // every day of the last 90 (and every hour of the last 48) gets figures: the stretch since "90 days ago"
    const [s] = (await redis(rds.port, 'TIME')).split('\n').map(Number);
    await redis(rds.port, 'HSET', k('history'), 'at', s * 1000 - 90 * DAY);
    await post(api.port, '/api/status/main/0/4');
    // twelve changes per shard fill every story; the log reaches its cap (GLANCE_HISTORY_LOG, 10,000)
    for (let round = 0; round < 12; round++) {
      const st = round % 2 ? 3 : 6;
      for (let i = 0; i < shards; i += 256) {
        const batch = [];
        for (let id = i; id < Math.min(shards, i + 256); id++) batch.push(post(api.port, `/api/status/main/${id}/${st}`));
        await Promise.all(batch);
      }
    }
    const bytes = {};
    for (const w of ['history', 'recent', 'log', 'flapping', 'states', 'since']) {
      bytes[w] = Number(await redis(rds.port, 'MEMORY', 'USAGE', k(w), 'SAMPLES', '0')) || 0;
    }
    const days = Number(await redis(rds.port, 'EVAL', "local n = 0 for _, f in ipairs(redis.call('HKEYS', KEYS[1])) do if f:sub(1, 2) == 'd:' then n = n + 1 end end return n", 1, k('history')));
    const xlen = Number(await redis(rds.port, 'XLEN', k('log')));
    return { shards, bytes, days, xlen };
  } finally {
    await api.stop();
    await rds.stop();
  }
}

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const fmt = (n) => Math.round(n).toLocaleString('en-US');
const when = new Date().toISOString().slice(0, 16).replace('T', ' ');
console.log(`### History (issue 14), ${when} UTC, ${execFileSync('nproc', { encoding: 'utf8' }).trim()} cores\n`);
if (BASE_BIN) {
  console.log(`| POST /api/status, requests/s, median of ${ROUNDS} pairs (${SECONDS} s each) | before the history | with it | ratio | the pairs |`);
  console.log('|---|---|---|---|---|');
  for (const [what, same] of [['every POST a state change (each shard also flaps)', false], ['no POST a change (a status report that is also a health ping)', true]]) {
    const a = [];
    const b = [];
    for (let r = 0; r < ROUNDS; r++) { // which goes first alternates, so that neither gains from its place
      if (r % 2) b.push(await postRate(undefined, same));
      a.push(await postRate(BASE_BIN, same));
      if (!(r % 2)) b.push(await postRate(undefined, same));
    }
    console.log(`| ${what} | ${fmt(median(a))} | ${fmt(median(b))} | ${(median(b) / median(a)).toFixed(2)} | ${a.map((x, i) => `${fmt(x)} / ${fmt(b[i])}`).join('; ')} |`);
  }
  console.log('');
}
console.log('| shards | history hash (90 days, 48 hours) | stories (12 changes each) | log | flapping | for comparison: states + since |');
console.log('|---|---|---|---|---|---|');
for (const n of [360, 10000]) {
  const m = await memory(n);
  console.log(`| ${fmt(n)} | ${fmt(m.bytes.history)} B (${m.days} days) | ${fmt(m.bytes.recent)} B | ${fmt(m.bytes.log)} B (${fmt(m.xlen)} entries) | ${fmt(m.bytes.flapping)} B | ${fmt(m.bytes.states + m.bytes.since)} B |`);
}
agent.destroy();
process.exit(0);
