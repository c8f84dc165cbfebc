// wait.mjs -- benchmark for issue 31, item 1: what durable acknowledgements cost a write. One Redis master with one
// replica on loopback, two replicas of glance-api on it: one with GLANCE_REDIS_WAIT_REPLICAS=1, one without. wrk
// -t1 -c32 sends each the same writes (tests/bench/post_status.lua: state changes over 1,000 shards, or with --same
// the same state again, a bot's steady pings), alternating within each round so the machine's drift falls on both;
// the ratio is taken within a round, then the median over rounds.
// Usage: node tests/bench/wait.mjs [--rounds 5] [--seconds 4] [--same]; prints Markdown.
import path from 'node:path';
import { REPO_ROOT, getMetrics, metricValue, redis, startApi, startRedis, waitUntil } from '../integration/harness.mjs';
import { startRedisServer } from '../faults/lib.mjs';
import { wrk, machine } from './lib.mjs';

const arg = (name, dflt) => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? Number(process.argv[i + 1]) : dflt;
};
const ROUNDS = arg('rounds', 5);
const SECONDS = arg('seconds', 4);
const SAME = process.argv.includes('--same');
const SHARDS = 1000;

const master = await startRedis();
const replica = await startRedisServer({ args: ['--replicaof', '127.0.0.1', String(master.port)] });
await waitUntil(async () => (await redis(replica.port, 'INFO', 'replication')).includes('master_link_status:up'),
  { timeoutMs: 15000, message: 'the replica in sync' });
const bots = `main:${SHARDS}`;
const waiting = await startApi({ redisPort: master.port, bots, env: { GLANCE_REDIS_WAIT_REPLICAS: 1 } });
const plain = await startApi({ redisPort: master.port, bots });
const run = async (api) => {
  const r = await wrk(['-t1', '-c32', `-d${SECONDS}s`, '-s', path.join(REPO_ROOT, 'tests/bench/post_status.lua'),
    `http://127.0.0.1:${api.port}`], { env: { BENCH_SHARDS: String(SHARDS), BENCH_SAME: SAME ? '1' : '0' } });
  if (r.non2xx) throw new Error(`${r.non2xx} writes failed`);
  return r.rps;
};
try {
  await run(plain); // warm-up: every shard reported once, the scripts loaded
  await run(waiting);
  const ratios = [];
  const rows = [];
  for (let round = 0; round < ROUNDS; round++) {
    const first = round % 2 === 0;
    const a = first ? await run(plain) : null;
    const w = await run(waiting);
    const p = first ? a : await run(plain);
    ratios.push(w / p);
    rows.push(`| ${round + 1} | ${Math.round(p).toLocaleString('en-US')} | ${Math.round(w).toLocaleString('en-US')} | ${(w / p).toFixed(2)} |`);
  }
  const m = await getMetrics(waiting.port);
  const waits = metricValue(m, 'glance_redis_waits_total', { outcome: 'confirmed' });
  const short = metricValue(m, 'glance_redis_waits_total', { outcome: 'short' });
  const sorted = [...ratios].sort((x, y) => x - y);
  console.log(`${SAME ? 'the same state again (pings)' : 'state changes'} over ${SHARDS} shards, wrk -t1 -c32 ${SECONDS} s a run, `
    + `${machine().nproc} cores, ${machine().versions.redis.split(' ').slice(0, 3).join(' ')}, ${new Date().toISOString()}`);
  console.log('');
  console.log('| round | POST/s without WAIT | POST/s with GLANCE_REDIS_WAIT_REPLICAS=1 | with ÷ without |');
  console.log('|---|---|---|---|');
  for (const r of rows) console.log(r);
  console.log('');
  console.log(`median ${sorted[Math.floor(sorted.length / 2)].toFixed(2)} (${sorted[0].toFixed(2)}-${sorted.at(-1).toFixed(2)}); `
    + `the waiting replica sent ${waits} WAITs (${short} short)`);
} finally {
  await waiting.stop();
  await plain.stop();
  await replica.stop();
  const { cleanup } = await import('../integration/harness.mjs');
  await cleanup();
}
