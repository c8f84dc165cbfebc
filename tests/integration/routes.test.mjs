// routes.test.mjs -- every public GET route, taken from the replica's own route table (glance-api --routes), holds
// the two promises public reads make, at 100,000 shards with a bot changing one every few milliseconds:
//   - a flood of it on replica A does not slow a bot writing through replica B: the bot's 99th percentile over the
//     flood stays within FLOOD_P99_FACTOR times its idle one (measured just before, in the same run) plus
//     FLOOD_P99_SLACK_MS. The flood lasts long enough for at least MIN_FLOODED_POSTS of the bot's POSTs, so that the
//     99th is the fifth slowest or later and one scheduler stall of a shared machine (one slow POST) cannot decide
//     it; a read that queues scripts in front of the writes moves it thirtyfold (GET /api/history/main?count=1000
//     before it was shared: p99 3.6 -> 106.8 ms, p90 1.4 -> 19.5);
//   - readers of it that never read cost replica A little memory: RSS grows by less than READERS_RSS_MIB with
//     READERS such readers open: what GLANCE_READER_BYTES_MAX_MB lets them hold (READER_BYTES_MAX_MB here) and
//     4 MiB for the connections. 479eca0, which copied /api/figures into every answer and kept a /plain body per
//     version, grew by 14-15 MiB on both; this code by at most 6.4.
// A route added to the table later is walked without anyone remembering to. The bounds are measured on the release
// build; under the sanitizers (whose allocator keeps freed memory in quarantine) the walk only checks that every
// route answers and the replica survives.

import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { execFile, execFileSync, spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { API_BIN, REPO_ROOT, startRedis, startApi, request, sleep, cleanup } from './harness.mjs';

const SANITIZED = /asan/.test(API_BIN) || Boolean(process.env.ASAN_OPTIONS);
const SHARDS = 100000;
const FLOOD_CONNECTIONS = 32;
const FLOOD_S = SANITIZED ? 1 : 2;
const FLOOD_P99_FACTOR = 3;
const FLOOD_P99_SLACK_MS = 20;
const MIN_FLOODED_POSTS = 400;
const READERS = 100;
const READERS_RSS_MIB = 12;
const READER_BYTES_MAX_MB = 8;
const GUILD = '81384788765712384';
// a management link's token of the right shape for no subscription: each GET asks Redis, and finds nothing
const TOKEN = `1-${'0'.repeat(32)}`;
const NEVER_READ = path.join(REPO_ROOT, 'tests', 'integration', 'never_read.py');

after(cleanup);

/** The GET routes of the route table, placeholders filled for this fleet, each asked for the most it serves. */
function publicGets() {
  const heaviest = { '/api/history/main': '?count=1000', '/plain': `?guild=${GUILD}`, '/': `?guild=${GUILD}` };
  return execFileSync(API_BIN, ['--routes'], { encoding: 'utf8' }).split('\n')
    .filter((l) => l.startsWith('GET '))
    .map((l) => l.slice(4).replace(/\{cluster\}/g, 'main').replace(/\{shard\}/g, '7').replace(/\{guild\}/g, GUILD)
      .replace(/\{token\}/g, TOKEN))
    .map((r) => r + (heaviest[r] || ''));
}

// On two or more CPUs the flood (wrk and replica A) gets CPU 1 and the rest (Redis, replica B, the bot here) CPU 0:
// what is measured is what A's reads cost the others through Redis, not what a busy machine costs everyone.
const PINNED = os.cpus().length >= 2;
const pin = (pid, cpu) => { if (PINNED) execFileSync('taskset', ['-a', '-p', '-c', String(cpu), String(pid)], { stdio: 'ignore' }); };

const rssMiB = (pid) => Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))[1]) / 1024;
const pct = (xs, q) => [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor(xs.length * q))];
const p99 = (xs) => pct(xs, 0.99);

/** GETs `path` from FLOOD_CONNECTIONS keep-alive connections without pause for FLOOD_S seconds, from wrk (its own
 * process, so that the flood's work does not slow the bot's measurements here); resolves how many were answered. */
function flood(port, path) {
  return new Promise((resolve, reject) => {
    const wrk = ['wrk', '-t1', `-c${FLOOD_CONNECTIONS}`, `-d${FLOOD_S}s`, `http://127.0.0.1:${port}${path}`];
    execFile(PINNED ? 'taskset' : wrk[0], PINNED ? ['-c', '1', ...wrk] : wrk.slice(1),
      { timeout: (FLOOD_S + 20) * 1000 }, (err, stdout) => {
        const m = /(\d+) requests in/.exec(stdout || '');
        if (err || !m) reject(new Error(`wrk on ${path}: ${err?.message || ''} ${stdout}`));
        else resolve(Number(m[1]));
      });
  });
}

describe('every public GET route, flooded and read by readers that never read', { timeout: 600000 }, () => {
  let rds;
  let a; // flooded: a fresh replica for each route, so that what one route left in its heap cannot hide what the next
  //        one's readers hold (RSS does not grow while the allocator reuses memory already freed)
  let b; // the bot writes through it
  let stop = false;
  let bot;
  const rtts = []; // [time, ms] of the bot's POSTs through b
  const routes = publicGets();

  before(async () => {
    rds = await startRedis();
    const env = { GLANCE_READER_BYTES_MAX_MB: READER_BYTES_MAX_MB };
    b = await startApi({ redisPort: rds.port, bots: `main:${SHARDS};demo:1`, healthTimeout: 600, env });
    for (const pid of [b.pid, rds.pid, process.pid]) pin(pid, 0);
    for (let i = 0; i < SHARDS; i += 1000) {
      const shards = Array.from({ length: 1000 }, (_, k) => ({ id: i + k, state: 3, latency_ms: 40 + (k % 50), guilds: 1000 }));
      const r = await request(b.port, 'POST', '/api/clusters/main/report',
        { headers: { 'content-type': 'application/json' }, body: JSON.stringify({ shards }) });
      assert.equal(r.status, 200, r.body);
    }
    // the bot: one change a few ms apart through b, for the whole file
    const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
    const post = (p) => new Promise((resolve) => {
      const started = process.hrtime.bigint();
      const req = http.request({ host: '127.0.0.1', port: b.port, method: 'POST', path: p, agent }, (res) => {
        res.resume();
        res.on('end', () => resolve({ status: res.statusCode, ms: Number(process.hrtime.bigint() - started) / 1e6 }));
      });
      req.on('error', () => resolve({ status: 0, ms: NaN }));
      req.end();
    });
    bot = (async () => {
      let n = 0;
      while (!stop) {
        const r = await post(`/api/status/main/${n % SHARDS}/${3 + (n % 2)}`);
        assert.equal(r.status, 204, 'a bot POST failed');
        rtts.push([Date.now(), r.ms]);
        n++;
        await sleep(3);
      }
      agent.destroy();
    })();
    // what a fleet coming online sets off (the alerts' first evaluation, the sweep's first pass, the mirrors' last
    // events) is over before the first measurement
    await sleep(3000);
  });

  after(async () => {
    stop = true;
    await bot;
    await a?.stop();
    await b?.stop();
    await rds?.stop();
  });

  const window = (from, to) => rtts.filter(([t]) => t >= from && t < to).map(([, ms]) => ms);

  it('the table lists the routes a dashboard has', () => {
    for (const r of ['/api/status', '/api/history', '/api/history/main?count=1000', '/api/figures', '/badge.svg'])
      assert.ok(routes.includes(r), `${r} is missing from glance-api --routes: ${routes.join(' ')}`);
  });

  for (const route of routes) {
    it(`GET ${route}: a flood on one replica leaves a bot's writes through another as fast, and readers that never read are bounded`, async (t) => {
      await a?.stop(); // the last route's
      a = await startApi({ redisPort: rds.port, bots: `main:${SHARDS};demo:1`, healthTimeout: 600,
        env: { GLANCE_READER_BYTES_MAX_MB: READER_BYTES_MAX_MB } });
      pin(a.pid, 1);
      const first = await request(a.port, 'GET', route, { timeoutMs: 10000 });
      assert.ok(first.status < 500, `GET ${route}: ${first.status} ${first.body.slice(0, 200)}`);
      // readers that send the request and never read a byte of the answer
      await sleep(300); // what the first answer set off settles first
      const rss0 = rssMiB(a.pid);
      const upgrade = route === '/api/feed'
        ? 'Upgrade: websocket\\r\\nConnection: Upgrade\\r\\nSec-WebSocket-Version: 13\\r\\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\\r\\n' : '';
      const readers = spawn('python3', [NEVER_READ, String(a.port), String(READERS),
        `GET ${route} HTTP/1.1\\r\\nHost: test\\r\\n${upgrade}\\r\\n`], { stdio: ['pipe', 'pipe', 'inherit'] });
      await new Promise((resolve, reject) => {
        readers.stdout.on('data', (d) => { if (String(d).includes('open')) resolve(); });
        readers.on('exit', (code) => reject(new Error(`never_read.py exited (${code})`)));
      });
      await sleep(1000);
      const grown = rssMiB(a.pid) - rss0;
      readers.stdin.end();
      await new Promise((resolve) => readers.on('exit', resolve));
      // the bot alone, then with the flood
      const idleFrom = Date.now();
      await sleep(SANITIZED ? 0 : 1000);
      const idle = window(idleFrom, Date.now());
      const floodFrom = Date.now();
      const answered = await flood(a.port, route);
      const flooded = window(floodFrom, Date.now());
      assert.ok(answered > FLOOD_CONNECTIONS, `only ${answered} answers to the flood`);
      const after = await request(a.port, 'GET', '/healthz');
      assert.equal(after.status, 200, 'replica A still answers');
      t.diagnostic(`${route}: ${answered} flood answers; bot p99 ${SANITIZED ? '-' : p99(idle).toFixed(1)} ms idle, ${p99(flooded).toFixed(1)} ms flooded (p90 ${pct(idle, 0.9)?.toFixed(1)} -> ${pct(flooded, 0.9).toFixed(1)}, ${flooded.length} POSTs); RSS +${grown.toFixed(1)} MiB with ${READERS} readers that never read`);
      if (SANITIZED) return;
      const bound = FLOOD_P99_FACTOR * p99(idle) + FLOOD_P99_SLACK_MS;
      assert.ok(p99(flooded) <= bound,
        `GET ${route} flooded: the bot's p99 ${p99(flooded).toFixed(1)} ms > ${bound.toFixed(1)} (idle p99 ${p99(idle).toFixed(1)})`);
      assert.ok(flooded.length >= MIN_FLOODED_POSTS, `only ${flooded.length} bot POSTs during the flood of ${route}`);
      assert.ok(grown < READERS_RSS_MIB, `GET ${route}: RSS grew by ${grown.toFixed(1)} MiB with ${READERS} readers that never read`);
    });
  }
});
