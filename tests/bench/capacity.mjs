// capacity.mjs -- the costs docs/CAPACITY.md's model is built from, and one point of the model checked (issue 31,
// item 5). One Redis and one replica on loopback, 10,000 shards online. First what each operation costs, in CPU
// microseconds of redis-server and of glance-api (/proc/<pid>/stat over a wrk run of 4 s, twice, the lower taken):
// a ping (a state sent again), a ping with latency and guilds, a state change, a batch report's item (256 a
// request); then what a feed frame costs the replica per client (glance-sim's viewers, with and without them, the
// same changes). Then the check: glance-sim drives a fleet at a known rate with viewers for 20 s, and the CPU the
// model predicts for Redis and for the replica is set beside what they used.
// Usage: node tests/bench/capacity.mjs; prints Markdown.
import { execFileSync, spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { REPO_ROOT, getMetrics, makeTempDir, metricValue, request, sleep, startApi, startRedis } from '../integration/harness.mjs';
import { SIM_BIN } from './lib.mjs';

const SHARDS = 10000;
const cpuUs = (pid) => {
  const f = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
  return (Number(f[11]) + Number(f[12])) * 10000; // utime + stime, 10 ms ticks, in µs
};

const rds = await startRedis({ dir: makeTempDir() });
const api = await startApi({ redisPort: rds.port, bots: `main:${SHARDS}` });

/** CPU µs of Redis and the replica while `fn` runs, and the wall time. */
async function measure(fn) {
  const r0 = cpuUs(rds.pid), a0 = cpuUs(api.pid), t0 = Date.now();
  const out = await fn();
  return { redis: cpuUs(rds.pid) - r0, replica: cpuUs(api.pid) - a0, ms: Date.now() - t0, out };
}

function wrk(script, env) {
  const out = execFileSync('wrk', ['-t1', '-c32', '-d4s', '-s', path.join(REPO_ROOT, 'tests/bench', script), api.url],
    { env: { ...process.env, BENCH_SHARDS: String(SHARDS), ...env }, encoding: 'utf8' });
  if (/Non-2xx/.test(out)) throw new Error(`${script}: requests failed\n${out}`);
  return Number(/(\d+) requests in/.exec(out)[1]);
}

/** What the replica has counted: writes answered, state changes (the cluster's version), feed frames sent. */
async function counters() {
  const m = await getMetrics(api.port);
  return { writes: metricValue(m, 'glance_http_request_duration_seconds_count', { route: 'write' }),
    changes: metricValue(m, 'glance_cluster_version', { cluster: 'main' }),
    frames: metricValue(m, 'glance_feed_frames_sent_total') };
}

/** Runs glance-sim for `seconds` of steady state; resolves the CPU, the time and the counters' growth over that phase
 * alone (from its "measuring" line to its exit: the boot, every shard starting and coming online, is left out). */
function sim(args, seconds) {
  return new Promise((resolve, reject) => {
    const child = spawn(SIM_BIN, ['--url', api.url, '--report', 'json', '--duration', String(seconds), '--seed', '7', ...args],
      { stdio: ['ignore', 'pipe', 'pipe'] });
    let err = '';
    let start = null;
    child.stdout.on('data', () => {});
    child.stderr.on('data', async (d) => {
      err += d;
      if (start === null && /measuring/.test(err)) {
        start = { redis: cpuUs(rds.pid), replica: cpuUs(api.pid), t: Date.now(), c: counters() };
      }
    });
    child.on('exit', async (code) => {
      if (code !== 0 || start === null) { reject(new Error(`glance-sim exited ${code}: ${err.slice(-2000)}`)); return; }
      const end = { redis: cpuUs(rds.pid), replica: cpuUs(api.pid), t: Date.now() };
      const [c0, c1] = [await start.c, await counters()];
      resolve({ redis: end.redis - start.redis, replica: end.replica - start.replica, seconds: (end.t - start.t) / 1000,
        writes: c1.writes - c0.writes, changes: c1.changes - c0.changes, frames: c1.frames - c0.frames });
    });
  });
}

try {
  for (let first = 0; first < SHARDS; first += 1000) {
    const shards = Array.from({ length: 1000 }, (_, i) => ({ id: first + i, state: 3 }));
    const r = await request(api.port, 'POST', '/api/clusters/main/report',
      { headers: { 'content-type': 'application/json' }, body: JSON.stringify({ shards }) });
    if (r.status !== 200) throw new Error(`seeding: ${r.status} ${r.body}`);
  }
  const ops = [
    { name: 'a ping (a state sent again, or a health ping)', script: 'report.lua', env: { BENCH_MODE: 'single' }, per: 1 },
    { name: 'a ping with latency_ms and guilds', script: 'report.lua', env: { BENCH_MODE: 'figures' }, per: 1 },
    { name: 'a state change', script: 'post_status.lua', env: {}, per: 1 },
    { name: 'a batch report\'s item (256 a request)', script: 'report.lua', env: { BENCH_MODE: 'batch', BENCH_BATCH: '256' }, per: 256 },
  ];
  const cost = {};
  for (const op of ops) {
    const runs = [];
    for (let i = 0; i < 2; i++) {
      const m = await measure(async () => wrk(op.script, op.env));
      const n = m.out * op.per;
      runs.push({ redis: m.redis / n, replica: m.replica / n, rate: n / (m.ms / 1000) });
    }
    cost[op.name] = { redis: Math.min(...runs.map((r) => r.redis)), replica: Math.min(...runs.map((r) => r.replica)),
      rate: Math.max(...runs.map((r) => r.rate)) };
  }
  // a feed frame: the same fleet (changes at 40 a second) with 1,000 viewers and without, per frame per client
  const fleet = ['--clusters', `main:${SHARDS}`, '--ping-interval', '1000', '--rate', '40', '--connections', '4'];
  const without = await sim(fleet, 10);
  const withViewers = await sim([...fleet, '--viewers', '1000'], 10);
  const frameUs = Math.max(0, withViewers.replica / withViewers.seconds - without.replica / without.seconds)
    * withViewers.seconds / withViewers.frames;
  await sleep(2000); // the viewers gone

  // the check: 10,000 shards pinging every 5 s (2,000 pings a second) with latency and guilds, 20 events a second
  // (each one to three changes), 500 viewers, for 20 s of steady state
  const checkArgs = ['--clusters', `main:${SHARDS}`, '--ping-interval', '5', '--figures', '--rate', '20', '--viewers', '500',
    '--connections', '8'];
  const check = await sim(checkArgs, 20);
  const seconds = check.seconds;
  const ping = cost['a ping with latency_ms and guilds'];
  const change = cost['a state change'];
  const pings = check.writes - check.changes;
  const predicted = {
    redis: pings * ping.redis + check.changes * change.redis,
    replica: pings * ping.replica + check.changes * change.replica + check.frames * frameUs,
  };

  const us = (x) => x.toFixed(1);
  console.log(`capacity.mjs, ${new Date().toISOString()}, one Redis and one replica on loopback, ${SHARDS} shards online`);
  console.log('');
  console.log('| operation | Redis CPU µs | replica CPU µs | rate one replica reached here (a second) |');
  console.log('|---|---|---|---|');
  for (const op of ops) {
    const c = cost[op.name];
    console.log(`| ${op.name} | ${us(c.redis)} | ${us(c.replica)} | ${Math.round(c.rate).toLocaleString('en-US')} |`);
  }
  console.log(`| a feed frame, per client | 0 | ${us(frameUs)} | (${withViewers.frames.toLocaleString('en-US')} frames to 1,000 viewers in ${withViewers.seconds.toFixed(1)} s) |`);
  console.log('');
  console.log(`check (glance-sim ${checkArgs.join(' ')}; steady ${seconds.toFixed(1)} s: ${pings} pings, `
    + `${check.changes} changes, ${check.frames.toLocaleString('en-US')} frames):`);
  console.log(`| | predicted CPU | measured CPU |`);
  console.log('|---|---|---|');
  console.log(`| Redis | ${(predicted.redis / seconds / 1e4).toFixed(1)} % of a core | ${(check.redis / seconds / 1e4).toFixed(1)} % |`);
  console.log(`| replica | ${(predicted.replica / seconds / 1e4).toFixed(1)} % of a core | ${(check.replica / seconds / 1e4).toFixed(1)} % |`);
} finally {
  await api.stop();
  await rds.stop();
}
