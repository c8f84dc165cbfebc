// snapshot.mjs -- how long a replica's resync snapshot of one big cluster takes.
//
// For each size N (BENCH_SNAPSHOT_SIZES, default "100000,1000000"):
//   1. a fresh redis-server (harness startRedis); glance:{main}:state filled in the OLD format (a hash:
//      field = shard id, value = state digit), every shard present, states 2..6, mostly 3 (online), by a
//      pipelined HSET of 1,000 fields per command over one raw socket; glance:{main}:ver set to VERSION; and
//      a health key glance:{main}:hb:<id> (no TTL) for every shard, so that the replica's expiry sweep (which
//      turns a shard whose health key is missing unhealthy, 20,000 shards a second) leaves the data alone;
//   2. a glance-api replica (GLANCE_API_BIN, default build/glance-api) with GLANCE_BOTS=main:N; waits for
//      /readyz 200 (startMs; a binary that migrates the hash on start pays for it here) and spot-checks
//      GET /api/status;
//   3. BENCH_SNAPSHOT_RUNS times (default 5): SLOWLOG RESET, CLIENT KILL TYPE pubsub (the replica's subscriber
//      connection), then GET /readyz every 5 ms until it has answered non-200 and then 200 again:
//        resyncMs  kill sent -> first 200 (includes the replica's 100-200 ms reconnect backoff);
//        syncMs    first "the mirror is still loading" answer -> first 200: the snapshot as the replica
//                  sees it (Redis, transfer, parse), backoff excluded; resolution about one poll (5 ms + the
//                  poll's own time); null when no such answer was seen;
//        redisMs   Redis's own execution time of the snapshot call(s), from SLOWLOG (slowlog-log-slower-than 0):
//                  every command the replica sent in the window that names a key of the cluster and no
//                  ":since" key (each transition, expire and sweep script names the since hash; the snapshot
//                  does not), top-level only (Redis 7 also logs the commands a script runs), summed: normally
//                  exactly one EVALSHA, but a replica that gives up on a slow reply (GLANCE_REDIS_TIMEOUT_MS,
//                  2 s by default) reconnects and asks again, and snapshotCalls counts those per run;
//        redisCallMs the same per snapshot call (every call of every run): the cost of one snapshot in Redis;
//      before each run it waits until /readyz is 200 and the subscriber connected, twice 300 ms apart;
//      then GET /api/status is checked against the filled states (the first, the last and 300 random shards,
//      plus the shard count and version).
//   4. one JSON line per size on stdout, then a human summary (progress and replica warnings on stderr).
//
// Other knobs: BENCH_SNAPSHOT_REDIS_TIMEOUT_MS (passed to the replica as GLANCE_REDIS_TIMEOUT_MS, so that a
// snapshot slower than the 2 s default is not abandoned and retried), BENCH_SNAPSHOT_READY_TIMEOUT_S (start-up,
// default 600), BENCH_SNAPSHOT_RESYNC_TIMEOUT_S (one resync, default 120).
//
// Every process is started through the harness (tracked by PID, killed by cleanup() and on exit); every
// wait is bounded. Run:  GLANCE_API_BIN=/tmp/glance-api-before node tests/bench/snapshot.mjs
import net from 'node:net';
import { readFileSync } from 'node:fs';
import { performance } from 'node:perf_hooks';
import { API_BIN, startRedis, startApi, request, waitUntil, sleep, cleanup, getMetrics, metricValue } from '../integration/harness.mjs';
import { rssKiB } from './lib.mjs';

const CLUSTER = 'main';
const PREFIX = 'glance';
const STATE_KEY = `${PREFIX}:{${CLUSTER}}:state`;
const VER_KEY = `${PREFIX}:{${CLUSTER}}:ver`;
const HB_PREFIX = `${PREFIX}:{${CLUSTER}}:hb:`;
const VERSION = 4242;
const FIELDS_PER_COMMAND = 1000;
const SPOT_CHECKS = 300;
const POLL_MS = 5;

const SIZES = (process.env.BENCH_SNAPSHOT_SIZES || '100000,1000000').split(',').map((s) => s.trim()).filter(Boolean).map(Number);
const RUNS = Number(process.env.BENCH_SNAPSHOT_RUNS || 5);
const READY_TIMEOUT_MS = Number(process.env.BENCH_SNAPSHOT_READY_TIMEOUT_S || 600) * 1000; // start-up, per size
const RESYNC_TIMEOUT_MS = Number(process.env.BENCH_SNAPSHOT_RESYNC_TIMEOUT_S || 120) * 1000; // one resync
const SETTLE_TIMEOUT_MS = 120000; // before each run: ready, subscriber connected
const REDIS_TIMEOUT_MS = process.env.BENCH_SNAPSHOT_REDIS_TIMEOUT_MS; // passed as GLANCE_REDIS_TIMEOUT_MS if set

for (const n of SIZES) if (!Number.isInteger(n) || n < 1 || n > 1000000) throw new Error(`BENCH_SNAPSHOT_SIZES: bad size ${n} (1..1000000)`);
if (!Number.isInteger(RUNS) || RUNS < 1 || RUNS > 1000) throw new Error(`BENCH_SNAPSHOT_RUNS: bad count ${RUNS} (1..1000)`);

const log = (...a) => console.error(`[snapshot ${new Date().toISOString().slice(11, 19)}]`, ...a);

/** The filled state of a shard: deterministic, 2..6, about 70 % 3 (online). */
function stateOf(id) {
  const h = (Math.imul(id + 1, 2654435761) >>> 0) % 100;
  return h < 70 ? 3 : h < 78 ? 2 : h < 86 ? 4 : h < 93 ? 5 : 6;
}

// --------------------------------------------------------------------------- a minimal RESP2 client

/** Parses one RESP2 value from buf at pos; returns {value, pos} or null when incomplete. Errors become Error values. */
function parseResp(buf, pos) {
  if (pos >= buf.length) return null;
  const eol = buf.indexOf('\r\n', pos);
  if (eol < 0) return null;
  const type = String.fromCharCode(buf[pos]);
  const line = buf.toString('latin1', pos + 1, eol);
  const next = eol + 2;
  switch (type) {
    case '+': return { value: line, pos: next };
    case '-': return { value: new Error(line), pos: next };
    case ':': return { value: Number(line), pos: next };
    case '$': {
      const len = Number(line);
      if (len < 0) return { value: null, pos: next };
      if (buf.length < next + len + 2) return null;
      return { value: buf.toString('utf8', next, next + len), pos: next + len + 2 };
    }
    case '*': {
      const count = Number(line);
      if (count < 0) return { value: null, pos: next };
      const arr = [];
      let p = next;
      for (let i = 0; i < count; i++) {
        const r = parseResp(buf, p);
        if (!r) return null;
        arr.push(r.value);
        p = r.pos;
      }
      return { value: arr, pos: p };
    }
    default: throw new Error(`RESP: unexpected type byte ${JSON.stringify(type)}`);
  }
}

function encodeCommand(args) {
  let s = `*${args.length}\r\n`;
  for (const a of args) {
    const v = String(a);
    s += `$${Buffer.byteLength(v)}\r\n${v}\r\n`;
  }
  return s;
}

/** One persistent connection to Redis; command() resolves the reply (rejects on an error reply or timeout). */
async function connectRedis(port, { timeoutMs = 5000 } = {}) {
  const sock = net.connect({ host: '127.0.0.1', port });
  sock.setNoDelay(true);
  await new Promise((resolve, reject) => {
    const t = setTimeout(() => { sock.destroy(); reject(new Error(`redis ${port}: connect timeout`)); }, timeoutMs);
    sock.once('connect', () => { clearTimeout(t); resolve(); });
    sock.once('error', (e) => { clearTimeout(t); reject(e); });
  });
  const pending = [];
  let buf = Buffer.alloc(0);
  let broken = null;
  const failAll = (err) => { broken = err; while (pending.length) pending.shift().reject(err); };
  sock.on('data', (d) => {
    buf = buf.length ? Buffer.concat([buf, d]) : d;
    let pos = 0;
    for (;;) {
      const r = parseResp(buf, pos);
      if (!r) break;
      pos = r.pos;
      const p = pending.shift();
      if (!p) { failAll(new Error('redis: a reply nobody asked for')); sock.destroy(); return; }
      if (r.value instanceof Error) p.reject(new Error(`redis ${p.what}: ${r.value.message}`));
      else p.resolve(r.value);
    }
    buf = pos === buf.length ? Buffer.alloc(0) : buf.subarray(pos);
  });
  sock.on('error', (e) => failAll(e));
  sock.on('close', () => failAll(new Error('redis connection closed')));

  const client = {
    /** Sends one command; resolves its reply, bounded by timeoutMs. */
    command(args, { timeoutMs: ms = 10000 } = {}) {
      if (broken) return Promise.reject(broken);
      return new Promise((resolve, reject) => {
        const t = setTimeout(() => reject(new Error(`redis ${args[0]}: no reply within ${ms} ms`)), ms);
        pending.push({ what: args[0], resolve: (v) => { clearTimeout(t); resolve(v); }, reject: (e) => { clearTimeout(t); reject(e); } });
        sock.write(encodeCommand(args));
      });
    },
    /** Pipelines many pre-encoded commands (strings) with write back-pressure; resolves when every reply came. */
    async pipeline(encoded, { timeoutMs: ms = 300000 } = {}) {
      const deadline = Date.now() + ms;
      const replies = [];
      for (const cmd of encoded) {
        if (broken) throw broken;
        replies.push(new Promise((resolve, reject) => pending.push({ what: 'pipeline', resolve, reject })));
        if (!sock.write(cmd)) {
          await new Promise((resolve, reject) => {
            const t = setTimeout(() => reject(new Error('redis pipeline: write stalled')), Math.max(1, deadline - Date.now()));
            sock.once('drain', () => { clearTimeout(t); resolve(); });
          });
        }
      }
      let timer;
      const timeout = new Promise((_, reject) => { timer = setTimeout(() => reject(new Error(`redis pipeline: replies not in within ${ms} ms`)), Math.max(1, deadline - Date.now())); });
      try { return await Promise.race([Promise.all(replies), timeout]); } finally { clearTimeout(timer); }
    },
    close() { sock.destroy(); },
  };
  return client;
}

// ------------------------------------------------------------------------------------------- filling

function* hsetCommands(n) {
  for (let start = 0; start < n; start += FIELDS_PER_COMMAND) {
    const end = Math.min(n, start + FIELDS_PER_COMMAND);
    let body = '';
    for (let id = start; id < end; id++) {
      const f = String(id);
      body += `$${f.length}\r\n${f}\r\n$1\r\n${stateOf(id)}\r\n`;
    }
    yield `*${2 + 2 * (end - start)}\r\n$4\r\nHSET\r\n$${STATE_KEY.length}\r\n${STATE_KEY}\r\n${body}`;
  }
}

function* msetHealthCommands(n) {
  for (let start = 0; start < n; start += FIELDS_PER_COMMAND) {
    const end = Math.min(n, start + FIELDS_PER_COMMAND);
    let body = '';
    for (let id = start; id < end; id++) {
      const k = HB_PREFIX + id;
      body += `$${k.length}\r\n${k}\r\n$1\r\n1\r\n`;
    }
    yield `*${1 + 2 * (end - start)}\r\n$4\r\nMSET\r\n${body}`;
  }
}

async function fill(ctl, n) {
  const t0 = performance.now();
  await ctl.pipeline(hsetCommands(n));
  await ctl.pipeline(msetHealthCommands(n));
  await ctl.command(['SET', VER_KEY, VERSION]);
  const hlen = await ctl.command(['HLEN', STATE_KEY]);
  const dbsize = await ctl.command(['DBSIZE']);
  if (hlen !== n || dbsize !== n + 2) throw new Error(`fill: HLEN ${hlen}, DBSIZE ${dbsize}; expected ${n} and ${n + 2}`);
  return performance.now() - t0;
}

// ------------------------------------------------------------------------------------------ checking

/** GET /api/status and compare the cluster with what was filled; returns a short description or throws. */
async function checkStatus(apiPort, n) {
  const r = await request(apiPort, 'GET', '/api/status', { timeoutMs: 60000 });
  if (r.status !== 200) throw new Error(`GET /api/status answered ${r.status}: ${r.body.slice(0, 300)}`);
  const c = (r.json().clusters || []).find((x) => x.name === CLUSTER);
  if (!c) throw new Error(`GET /api/status: no cluster ${CLUSTER}`);
  if (c.shards !== n || !Array.isArray(c.states) || c.states.length !== n) {
    throw new Error(`GET /api/status: ${CLUSTER} has shards ${c.shards}, ${c.states && c.states.length} states; expected ${n}`);
  }
  if (c.version !== VERSION) throw new Error(`GET /api/status: ${CLUSTER} version ${c.version}, expected ${VERSION}`);
  const ids = [0, n - 1];
  for (let i = 0; i < SPOT_CHECKS; i++) ids.push(Math.floor(Math.random() * n));
  const bad = ids.filter((id) => c.states[id] !== stateOf(id));
  if (bad.length) {
    throw new Error(`GET /api/status: ${bad.length} of ${ids.length} spot-checked shards differ, e.g. shard ${bad[0]}: `
      + `${c.states[bad[0]]}, expected ${stateOf(bad[0])}`);
  }
  return `${ids.length} shards, version ${c.version}`;
}

/** Redis still holds what was filled (nothing expired, nothing migrated away without a trace). */
async function checkRedisUnchanged(ctl, n) {
  const ver = await ctl.command(['GET', VER_KEY]);
  if (Number(ver) !== VERSION) throw new Error(`Redis ${VER_KEY} is ${ver}, expected ${VERSION}: something changed states during the run`);
}

// ------------------------------------------------------------------------------------------ measuring

const stats = (xs) => {
  const v = xs.filter((x) => typeof x === 'number' && Number.isFinite(x)).sort((a, b) => a - b);
  if (!v.length) return null;
  const r = (x) => Math.round(x * 10) / 10;
  const median = v.length % 2 ? v[(v.length - 1) / 2] : (v[v.length / 2 - 1] + v[v.length / 2]) / 2;
  return { min: r(v[0]), median: r(median), max: r(v[v.length - 1]) };
};

/** Waits (bounded) until the replica is ready with its subscriber connected, twice 300 ms apart: a replica that
 * gave up on a slow snapshot may drop and re-open its connections for a while after it first answers 200. */
async function settle(ctl, api) {
  const ok = async () => {
    if (!api.alive()) throw new Error(`glance-api exited: ${api.stderr().slice(-2000)}`);
    const r = await request(api.port, 'GET', '/readyz', { timeoutMs: 30000 }).catch(() => null);
    if (!r || r.status !== 200) return false;
    const subs = await ctl.command(['CLIENT', 'LIST', 'TYPE', 'pubsub']);
    return subs.trim() !== '';
  };
  await waitUntil(async () => (await ok()) && (await sleep(300), await ok()),
    { timeoutMs: SETTLE_TIMEOUT_MS, intervalMs: 50, message: 'the replica to be ready with its subscriber connected' });
}

/** One forced resync: kill the subscriber connection, poll /readyz until down then up again. */
async function oneResync(ctl, api) {
  await ctl.command(['SLOWLOG', 'RESET']);
  const logFrom = api.stderr().length;
  const t0 = performance.now();
  const killed = await ctl.command(['CLIENT', 'KILL', 'TYPE', 'pubsub']);
  if (killed < 1) throw new Error('CLIENT KILL TYPE pubsub killed no connection: is the replica subscribed?');
  const deadline = t0 + RESYNC_TIMEOUT_MS;
  let sawDown = false;
  let loadingAt = null;
  let polls = 0;
  let readyAt = null;
  const reasons = new Set();
  while (performance.now() < deadline) {
    if (!api.alive()) throw new Error(`glance-api exited during a resync: ${api.stderr().slice(-2000)}`);
    const r = await request(api.port, 'GET', '/readyz', { timeoutMs: Math.max(1000, Math.min(60000, deadline - performance.now())) })
      .catch(() => null);
    const at = performance.now();
    polls++;
    if (r && r.status === 200) {
      if (sawDown) { readyAt = at; break; }
      if (at - t0 > 5000) throw new Error('/readyz never left 200 within 5 s of the kill: no resync seen');
    } else if (r) {
      sawDown = true;
      const why = r.body.includes('still loading') ? 'loading' : r.body.includes('subscription is down') ? 'subscription down' : r.body.slice(0, 100);
      reasons.add(why);
      if (why === 'loading' && loadingAt === null) loadingAt = at;
    }
    await sleep(POLL_MS);
  }
  if (readyAt === null) throw new Error(`/readyz not back to 200 within ${RESYNC_TIMEOUT_MS} ms of the kill (saw: ${[...reasons].join(', ')})`);

  // Redis's side: the replica's commands in the window that touch the cluster but not its since hash.
  const entries = await ctl.command(['SLOWLOG', 'GET', '100000'], { timeoutMs: 30000 });
  // Top-level commands only: Redis 7 also logs each command a script runs (client address "?:0"), and the
  // script's own entry already includes their time.
  const clusterTag = `{${CLUSTER}}:`;
  const picked = entries.filter((e) => {
    const argv = (e[3] || []).map(String);
    if (String(e[4]) === '?:0' || String(e[5] || '') === 'glance-bench') return false;
    return argv.some((a) => a.includes(clusterTag)) && !argv.some((a) => a.endsWith(':since'));
  }).reverse(); // oldest first
  const redisUs = picked.reduce((s, e) => s + e[2], 0);
  const callMs = picked.map((e) => e[2] / 1000);
  const calls = picked.map((e) => `${String(e[3][0]).toUpperCase()}(${(e[2] / 1000).toFixed(1)} ms)`);
  const replicaLog = api.stderr().slice(logFrom).split('\n').filter(Boolean);
  return {
    resyncMs: readyAt - t0,
    syncMs: loadingAt === null ? null : readyAt - loadingAt,
    redisMs: picked.length ? redisUs / 1000 : null,
    calls,
    callMs,
    replicaLog,
    polls,
    slowlogEntries: entries.length,
  };
}

async function benchSize(n) {
  log(`--- ${n} shards: starting redis-server`);
  const redisSrv = await startRedis();
  const ctl = await connectRedis(redisSrv.port);
  let api;
  try {
    await ctl.command(['CLIENT', 'SETNAME', 'glance-bench']);
    const fillMs = await fill(ctl, n);
    log(`filled ${STATE_KEY} (${n} fields, old hash format) and ${n} health keys in ${(fillMs / 1000).toFixed(1)} s; `
      + `redis used_memory ${(/used_memory_human:(\S+)/.exec(await ctl.command(['INFO', 'memory'])) || [])[1]}`);
    await ctl.command(['CONFIG', 'SET', 'slowlog-log-slower-than', '0']);
    await ctl.command(['CONFIG', 'SET', 'slowlog-max-len', '100000']);

    log(`starting ${API_BIN} with GLANCE_BOTS=${CLUSTER}:${n}`);
    const t0 = performance.now();
    api = await startApi({ redisPort: redisSrv.port, bots: `${CLUSTER}:${n}`, waitReady: false,
      env: REDIS_TIMEOUT_MS ? { GLANCE_REDIS_TIMEOUT_MS: REDIS_TIMEOUT_MS } : {} });
    await waitUntil(async () => {
      if (!api.alive()) throw new Error(`glance-api exited during start-up: ${api.stderr().slice(-2000)}`);
      const r = await request(api.port, 'GET', '/readyz', { timeoutMs: 30000 }).catch(() => null);
      return r && r.status === 200;
    }, { timeoutMs: READY_TIMEOUT_MS, intervalMs: 20, message: `glance-api (${n} shards) to answer /readyz with 200` })
      .catch((err) => { throw new Error(`${err.message}\n--- glance-api stderr ---\n${api.stderr().slice(-3000)}`); });
    const startMs = performance.now() - t0;
    log(`ready after ${startMs.toFixed(0)} ms; checking GET /api/status: ${await checkStatus(api.port, n)} match`);

    const runs = [];
    for (let i = 0; i < RUNS; i++) {
      await settle(ctl, api);
      const r = await oneResync(ctl, api);
      const checked = await checkStatus(api.port, n);
      runs.push(r);
      log(`run ${i + 1}/${RUNS}: resync ${r.resyncMs.toFixed(1)} ms, from "loading" ${r.syncMs === null ? '-' : r.syncMs.toFixed(1)} ms, `
        + `redis ${r.redisMs === null ? '-' : r.redisMs.toFixed(1)} ms [${r.calls.join(' ')}], ${r.polls} polls; /api/status ok (${checked})`);
      if (r.calls.length !== 1) log(`  note: ${r.calls.length} snapshot calls in the window (their Redis times are summed)`);
      for (const line of r.replicaLog.filter((l) => !/\binfo\b|subscriber: connection lost/i.test(l)).slice(0, 10)) log(`  replica: ${line.slice(0, 300)}`);
    }
    await checkRedisUnchanged(ctl, n);
    const status = readFileSync(`/proc/${api.pid}/status`, 'utf8');
    const hwm = /VmHWM:\s+(\d+) kB/.exec(status);
    const reconnects = metricValue(await getMetrics(api.port), 'glance_redis_reconnects_total');
    return {
      shards: n,
      runs: RUNS,
      resyncMs: stats(runs.map((r) => r.resyncMs)),
      redisMs: stats(runs.map((r) => r.redisMs)),
      syncMs: stats(runs.map((r) => r.syncMs)),
      redisCallMs: stats(runs.flatMap((r) => r.callMs)),
      snapshotCalls: runs.map((r) => r.calls.length),
      replicaRssKiB: rssKiB(api.pid),
      replicaPeakRssKiB: hwm ? Number(hwm[1]) : null,
      startMs: Math.round(startMs),
      fillMs: Math.round(fillMs),
      redisCalls: [...new Set(runs.flatMap((r) => r.calls.map((c) => c.replace(/\(.*/, ''))))],
      reconnects,
      bin: API_BIN,
      redisTimeoutMs: REDIS_TIMEOUT_MS ? Number(REDIS_TIMEOUT_MS) : 'default',
    };
  } finally {
    ctl.close();
    if (api) await api.stop();
    await redisSrv.stop();
  }
}

async function main() {
  log(`binary ${API_BIN}; GLANCE_REDIS_TIMEOUT_MS ${REDIS_TIMEOUT_MS || 'default'}; sizes ${SIZES.join(', ')}; ${RUNS} runs each`);
  const results = [];
  for (const n of SIZES) {
    const r = await benchSize(n);
    results.push(r);
    console.log(JSON.stringify(r));
  }
  const f = (s) => (s ? `${s.min} / ${s.median} / ${s.max}` : '-');
  console.error('');
  console.log(`\nResync snapshot of one cluster, ${API_BIN} (min / median / max ms over ${RUNS} runs):`);
  for (const r of results) {
    console.log(`  ${String(r.shards).padStart(8)} shards: kill -> ready ${f(r.resyncMs)} (incl. 100-200 ms reconnect backoff); `
      + `"loading" -> ready ${f(r.syncMs)}; Redis time per resync ${f(r.redisMs)}, per snapshot call ${f(r.redisCallMs)} `
      + `(calls per resync: ${r.snapshotCalls.join(',')}); replica RSS ${(r.replicaRssKiB / 1024).toFixed(1)} MiB `
      + `(peak ${(r.replicaPeakRssKiB / 1024).toFixed(1)} MiB); start-up to ready ${r.startMs} ms`);
  }
}

let exitCode = 0;
const onSignal = () => { cleanup().finally(() => process.exit(130)); };
process.once('SIGINT', onSignal);
process.once('SIGTERM', onSignal);
try {
  await main();
} catch (err) {
  console.error(`snapshot bench failed: ${err.stack || err.message}`);
  exitCode = 1;
} finally {
  await cleanup();
}
process.exit(exitCode);
