// figures_read.mjs -- what one GET /api/figures costs at a million shards that all reported figures: the request's
// duration, Redis's longest command meanwhile (SLOWLOG over the read's window, every command of 10 µs or more), the
// replica's RSS before and after, and whether a bot's POSTs through the same replica during the read stay under
// 100 ms (a few keep-alive connections posting health pings with a latency from just before the GET to just after).
// Per binary, in the same run, each on a Redis of its own seeded alike: the states string and health keys written
// straight into Redis (every shard online for an hour), then every shard's figures reported through the replica
// under test (batch reports of pings), so each binary stores them in its own layout. Each round waits until the
// replica's copy is stale (FIGURES_FRESH_MS) so that its GET reads from Redis. Not part of tests/bench/run.
// Run: node tests/bench/figures_read.mjs [shards=1000000] [rounds=3] [binary ...]   (default build/glance-api);
// prints one JSON object per binary; `complete` is the read's count of shards reporting figures against them all.
import { execFile } from 'node:child_process';
import http from 'node:http';
import path from 'node:path';
import { readFileSync } from 'node:fs';
import { startRedis, startApi, redis, request, sleep, cleanup, REPO_ROOT } from '../integration/harness.mjs';

const [shards = 1000000, rounds = 3] = process.argv.slice(2, 4).map(Number);
const binaries = process.argv.slice(4).map((b) => path.resolve(b));
if (!binaries.length) binaries.push(path.join(REPO_ROOT, 'build', 'glance-api'));

const FRESH_MS = 5000;       // figures.h, FIGURES_FRESH_MS
const BOT_WORKERS = 4;       // the bot's connections posting during the read
const BOT_LEAD_MS = 200;     // they start this long before the GET and stop this long after it
const SEED_BATCH = 1000;     // items a batch report holds at most
const SLOWLOG_US = 10;       // commands at least this long are logged during a read
const key = (what) => `glance:{main}:${what}`;

/** VmRSS and VmHWM of a process, in KiB. */
function memory(pid) {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kib = (name) => Number(new RegExp(`${name}:\\s+(\\d+) kB`).exec(status)[1]);
  return { rss: kib('VmRSS'), hwm: kib('VmHWM') };
}

/** redis-cli's JSON output of one command (RESP2), for replies redis() prints flattened. */
function redisJson(port, ...args) {
  return new Promise((resolve, reject) => {
    execFile('redis-cli', ['-h', '127.0.0.1', '-p', String(port), '--json', '-2', ...args.map(String)],
      { timeout: 30000, maxBuffer: 512 * 1024 * 1024 },
      (err, stdout) => (err ? reject(err) : resolve(JSON.parse(stdout))));
  });
}

/** Every shard online and healthy for an hour, written straight into Redis (the layout every build shares). */
async function seedStates(port) {
  await redis(port, 'EVAL', `redis.call('SET', KEYS[1], string.rep('3', tonumber(ARGV[1])))
    redis.call('SET', KEYS[2], '1')`, '2', key('states'), key('ver'), shards);
  for (let first = 0; first < shards; first += 100000) {
    await redis(port, 'EVAL', `for i = tonumber(ARGV[1]), tonumber(ARGV[2]) - 1 do
      redis.call('SET', KEYS[1] .. i, '1', 'EX', 3600) end`, '1', key('hb:'), first, Math.min(first + 100000, shards));
  }
}

/** Every shard's figures, reported through the replica as batch reports of pings. */
async function seedFigures(api) {
  let next = 0;
  const worker = async () => {
    while (next < shards) {
      const first = next;
      next += SEED_BATCH;
      const items = [];
      for (let id = first; id < Math.min(first + SEED_BATCH, shards); id++) {
        items.push({ id, latency_ms: 20 + (id % 200), guilds: 1000 + (id % 1500), members: 50000 + id % 7 });
      }
      const r = await request(api.port, 'POST', '/api/clusters/main/report',
        { headers: { 'content-type': 'application/json' }, body: JSON.stringify({ shards: items }),
          timeoutMs: 30000 });
      if (r.status !== 200) throw new Error(`seeding shards ${first}..: ${r.status} ${r.body}`);
    }
  };
  await Promise.all(Array.from({ length: 4 }, worker));
}

/** A bot posting health pings with a latency on BOT_WORKERS keep-alive connections until stop(). */
function bot(port) {
  const agent = new http.Agent({ keepAlive: true, maxSockets: BOT_WORKERS });
  const posts = [];
  let running = true;
  let id = 0;
  const post = () => new Promise((resolve) => {
    const shard = id++ % 1000;
    const started = process.hrtime.bigint();
    const done = (status) => {
      posts.push({ ms: Number(process.hrtime.bigint() - started) / 1e6, status });
      resolve();
    };
    const req = http.request({ host: '127.0.0.1', port, method: 'POST', agent,
      path: `/api/health/main/${shard}?latency_ms=${30 + (shard % 50)}`, headers: { 'content-length': 0 } });
    req.setTimeout(10000, () => req.destroy(new Error('no answer within 10 s')));
    req.on('response', (res) => { res.resume(); res.on('end', () => done(res.statusCode)); });
    req.on('error', () => done(0));
    req.end();
  });
  const workers = Array.from({ length: BOT_WORKERS }, async () => {
    while (running) await post();
  });
  return {
    async stop() {
      running = false;
      await Promise.all(workers);
      agent.destroy();
      const ms = posts.map((p) => p.ms).sort((a, b) => a - b);
      return {
        posts: posts.length,
        failed: posts.filter((p) => p.status !== 204).length,
        all_under_100ms: ms[ms.length - 1] < 100,
        over_100ms: ms.filter((x) => x >= 100).length,
        p50_ms: +ms[Math.floor(ms.length / 2)].toFixed(2),
        p99_ms: +ms[Math.min(ms.length - 1, Math.floor(ms.length * 0.99))].toFixed(2),
        max_ms: +ms[ms.length - 1].toFixed(2),
      };
    },
  };
}

/** The longest command a client sent, in SLOWLOG, overall and of the read itself; not this script's own (SLOWLOG,
 * CONFIG). Redis 7 also logs the commands a script calls (client "?:0"): they are part of their script's time. */
function longest(entries) {
  let all = null;
  let read = null;
  let readCalls = 0;
  for (const [, , us, args, client] of entries) {
    const name = String(args[0]).toUpperCase();
    if (client === '?:0' || name === 'SLOWLOG' || name === 'CONFIG') continue;
    const cmd = `${name} ${String(args[1] ?? '').slice(0, 50)}`;
    if (!all || us > all.us) all = { us, cmd };
    const isRead = (name === 'GETRANGE' || name === 'HGETALL') && String(args[1]).startsWith('glance:{main}:fig');
    if (isRead) {
      ++readCalls;
      if (!read || us > read.us) read = { us, cmd };
    }
  }
  return { longest_us: all?.us, longest_command: all?.cmd, read_commands: readCalls, read_longest_us: read?.us ?? null };
}

async function round(rds, api) {
  await sleep(FRESH_MS + 500); // the replica's copy is stale: this GET reads from Redis
  // not 0: logging every command a script calls would slow the scripts down (an entry each)
  await redis(rds.port, 'CONFIG', 'SET', 'slowlog-log-slower-than', String(SLOWLOG_US));
  await redis(rds.port, 'CONFIG', 'SET', 'slowlog-max-len', '1000000');
  await redis(rds.port, 'SLOWLOG', 'RESET');
  const before = memory(api.pid);
  const b = bot(api.port);
  await sleep(BOT_LEAD_MS);
  const started = process.hrtime.bigint();
  const r = await request(api.port, 'GET', '/api/figures', { timeoutMs: 60000 });
  const getMs = Number(process.hrtime.bigint() - started) / 1e6;
  const after = memory(api.pid);
  await sleep(BOT_LEAD_MS);
  const posts = await b.stop();
  const slow = await redisJson(rds.port, 'SLOWLOG', 'GET', '-1');
  await redis(rds.port, 'CONFIG', 'SET', 'slowlog-log-slower-than', '10000');
  let reporting = null;
  let median = null;
  if (r.status === 200) {
    const main = r.json().clusters.find((c) => c.name === 'main');
    reporting = main.reporting;
    median = main.latency_ms?.median ?? null;
  }
  return {
    status: r.status, get_ms: +getMs.toFixed(1), body_bytes: r.body.length,
    complete: reporting === shards, reporting, latency_median: median,
    redis: { logged_from_us: SLOWLOG_US, ...longest(slow) },
    rss_before_kib: before.rss, rss_after_kib: after.rss, hwm_after_kib: after.hwm,
    bot: posts,
  };
}

for (const bin of binaries) {
  const rds = await startRedis();
  await seedStates(rds.port);
  const api = await startApi({ redisPort: rds.port, bots: `main:${shards}`, healthTimeout: 3600, bin });
  const seeded = Date.now();
  await seedFigures(api);
  const seedS = (Date.now() - seeded) / 1000;
  const results = [];
  for (let i = 0; i < rounds; i++) results.push(await round(rds, api));
  console.log(JSON.stringify({ binary: bin, shards, seed_reports_s: +seedS.toFixed(1), rounds: results }));
  await api.stop();
  await rds.stop();
}
await cleanup();
