// report.mjs -- benchmark for issue 15: shards reported per second by one replica, the original's way (one POST a
// shard), with the optional figures on each POST, and in batch reports of 16 and 256 shards, in the same run,
// modes rotating within each round so the noisy machine's drift falls on all of them alike. A bot's steady state:
// 10,000 shards all online, reporting again (no state changes). wrk -t1 -c32 (tests/bench/report.lua). Each
// mode's ratio to one POST a shard is taken within a round, the closest in time, then the median over rounds.
// Usage: node tests/bench/report.mjs [--rounds 3] [--seconds 4] [--without-counters] [--modes 2,3]; prints Markdown.
// --without-counters leaves out the modes with gateway counters: a build from before them refuses those (for a
// before/after of the same modes). --modes times only the rows numbered (from 0, in the table's order) beside row 0,
// one POST a shard: with one, each round is a back-to-back pair, which resolves a single ratio best on this noisy
// machine.
import { execFileSync } from 'node:child_process';
import path from 'node:path';
import { REPO_ROOT, makeTempDir, request, startApi, startRedis } from '../integration/harness.mjs';

const arg = (name, dflt) => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? Number(process.argv[i + 1]) : dflt;
};
const ROUNDS = arg('rounds', 3);
const SECONDS = arg('seconds', 4);
const SHARDS = 10000;
const ALL_MODES = [
  { name: 'one POST a shard (the original API)', mode: 'single', per: 1 },
  { name: 'one POST a shard, with latency_ms and guilds', mode: 'figures', per: 1 },
  { name: 'one POST a shard, with latency_ms, guilds and every gateway counter', mode: 'gateway', per: 1 },
  { name: 'one POST a shard, with every gateway counter (no latency_ms, no guilds)', mode: 'counters', per: 1 },
  { name: 'batch report, 16 shards a request', mode: 'batch', per: 16 },
  { name: 'batch report, 256 shards a request', mode: 'batch', per: 256 },
  { name: 'batch report, 256 shards a request, every gateway counter on each', mode: 'batch-gateway', per: 256 },
];
const COUNTED = ['gateway', 'counters', 'batch-gateway'];
const only = process.argv.indexOf('--modes');
const picked = only > 0 ? process.argv[only + 1].split(',') : null;
// the first mode is always one POST a shard: every ratio is against it, in the same round
const MODES = ALL_MODES.filter((m, i) => i === 0 ||
  (picked ? picked.includes(String(i)) : !(process.argv.includes('--without-counters') && COUNTED.includes(m.mode))));

function wrk(url, m) {
  const out = execFileSync('wrk', ['-t1', '-c32', `-d${SECONDS}s`, '-s', path.join(REPO_ROOT, 'tests/bench/report.lua'), url],
    { env: { ...process.env, BENCH_SHARDS: String(SHARDS), BENCH_MODE: m.mode, BENCH_BATCH: String(m.per) }, encoding: 'utf8' });
  const non2xx = /Non-2xx or 3xx responses: (\d+)/.exec(out);
  if (non2xx) throw new Error(`${m.name}: ${non2xx[1]} requests failed`);
  return Number(/Requests\/sec:\s+([\d.]+)/.exec(out)[1]);
}

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const fmt = (x) => Math.round(x).toLocaleString('en-US');

const rds = await startRedis({ dir: makeTempDir() });
const api = await startApi({ redisPort: rds.port, bots: `main:${SHARDS}` });
try {
  // every shard online first, so that what is timed is the steady state
  for (let first = 0; first < SHARDS; first += 1000) {
    const shards = Array.from({ length: 1000 }, (_, i) => ({ id: first + i, state: 3 }));
    const r = await request(api.port, 'POST', '/api/clusters/main/report',
      { headers: { 'content-type': 'application/json' }, body: JSON.stringify({ shards }) });
    if (r.status !== 200) throw new Error(`seeding: ${r.status} ${r.body}`);
  }
  const rates = MODES.map(() => []);
  for (let round = 0; round < ROUNDS; round++) {
    for (let k = 0; k < MODES.length; k++) {
      const i = (k + round) % MODES.length;
      rates[i].push(wrk(api.url, MODES[i]) * MODES[i].per);
    }
  }
  console.log(`### Batch reports (issue 15), ${new Date().toISOString().slice(0, 16).replace('T', ' ')} UTC, ` +
    `${(await import('node:os')).cpus().length} cores\n`);
  console.log(`| ${SHARDS.toLocaleString('en-US')} shards online, reporting again | shards reported/s, median of ${ROUNDS} | ` +
    'against one POST a shard, same round (median; range) | the runs |');
  console.log('|---|---|---|---|');
  MODES.forEach((m, i) => {
    const ratios = rates[i].map((r, k) => r / rates[0][k]);
    console.log(`| ${m.name} | ${fmt(median(rates[i]))} | ${median(ratios).toFixed(2)}; ` +
      `${Math.min(...ratios).toFixed(2)}–${Math.max(...ratios).toFixed(2)} | ${rates[i].map(fmt).join(' / ')} |`);
  });
} finally {
  await api.stop();
  await rds.stop();
}
