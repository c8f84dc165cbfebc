// harness.mjs -- real Redis servers, real glance-api replicas and feed clients for the integration tests.
//
// Every process started here is tracked by PID and killed by cleanup() (call it from an after() hook);
// a process 'exit' hook SIGKILLs whatever is left if a test file dies before its hooks run. Every temp
// dir made here is removed the same way. Every wait is bounded.

import { spawn, execFile } from 'node:child_process';
import { mkdtempSync, rmSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import net from 'node:net';
import http from 'node:http';
import path from 'node:path';
import crypto from 'node:crypto';
import { fileURLToPath } from 'node:url';
import WebSocket from 'ws';
import { checkResponse } from './contract.mjs';

export const REPO_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
export const API_BIN = process.env.GLANCE_API_BIN || path.join(REPO_ROOT, 'build', 'glance-api');

const children = new Map(); // pid -> ChildProcess
const tempDirs = new Set();
const feeds = new Set();
const sockets = new Set(); // raw sockets from rawWebSocket()

process.on('exit', () => {
  for (const pid of children.keys()) {
    try { process.kill(pid, 'SIGCONT'); } catch {}
    try { process.kill(pid, 'SIGKILL'); } catch {}
  }
  for (const dir of tempDirs) {
    try { rmSync(dir, { recursive: true, force: true }); } catch {}
  }
});

export const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

/** A temp dir removed by cleanup(). */
export function makeTempDir(prefix = 'glance-it-') {
  const dir = mkdtempSync(path.join(tmpdir(), prefix));
  tempDirs.add(dir);
  return dir;
}

/** A free TCP port on 127.0.0.1 (listen on port 0, read it, close). */
/** true when nothing listens on 127.0.0.1:port. */
export function portFree(port) {
  return new Promise((resolve) => {
    const srv = net.createServer();
    srv.unref();
    srv.once('error', () => resolve(false));
    srv.listen(port, '127.0.0.1', () => srv.close(() => resolve(true)));
  });
}

/**
 * A free port on 127.0.0.1 for a server a test starts. Taken below Linux's ephemeral range (32768 and up), never
 * from the kernel's port 0: a port from that range can become the source port of any outgoing connection on the
 * machine between this check and the server's bind (a stack of replicas takes seconds to start), and the bind then
 * fails with EADDRINUSE.
 */
export async function freePort() {
  for (let attempt = 0; attempt < 500; attempt++) {
    const port = 20000 + Math.floor(Math.random() * 12700);
    if (await portFree(port)) return port;
  }
  throw new Error('no free port on 127.0.0.1 between 20000 and 32700');
}

/** Polls fn() every intervalMs until it returns a truthy value (which is returned); throws after timeoutMs. */
export async function waitUntil(fn, { timeoutMs = 5000, intervalMs = 50, message = 'condition' } = {}) {
  const deadline = Date.now() + timeoutMs;
  let last;
  let lastErr;
  for (;;) {
    try {
      last = await fn();
      if (last) return last;
    } catch (err) {
      lastErr = err;
    }
    if (Date.now() >= deadline) {
      const why = lastErr ? ` (last error: ${lastErr.message})` : ` (last value: ${JSON.stringify(last)})`;
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${message}${why}`);
    }
    await sleep(intervalMs);
  }
}

function track(child, name) {
  const exited = new Promise((resolve) => {
    child.on('exit', (code, signal) => {
      children.delete(child.pid);
      resolve({ code, signal });
    });
  });
  child.on('error', () => {}); // spawn errors surface through 'exit' / exitCode checks
  if (child.pid) children.set(child.pid, child);
  child.exitInfo = null;
  exited.then((info) => { child.exitInfo = info; });
  child.exited = exited;
  child.label = name;
  return child;
}

/** Waits for the child to exit, at most timeoutMs; resolves {code, signal} or null on timeout. */
export async function waitExit(child, timeoutMs) {
  if (child.exitInfo) return child.exitInfo;
  let timer;
  const timeout = new Promise((resolve) => { timer = setTimeout(() => resolve(null), timeoutMs); });
  const r = await Promise.race([child.exited, timeout]);
  clearTimeout(timer);
  return r;
}

/** SIGTERM (after SIGCONT, in case it was stopped), wait up to graceMs, then SIGKILL. Resolves {code, signal}. */
async function terminate(child, graceMs = 5000) {
  if (child.exitInfo) return child.exitInfo;
  try { process.kill(child.pid, 'SIGCONT'); } catch {}
  try { process.kill(child.pid, 'SIGTERM'); } catch {}
  const r = await waitExit(child, graceMs);
  if (r) return r;
  try { process.kill(child.pid, 'SIGKILL'); } catch {}
  return (await waitExit(child, 5000)) || { code: null, signal: 'SIGKILL' };
}

// ---------------------------------------------------------------------------------------------- redis

/** Sends "PING" over a raw TCP connection; resolves true on +PONG, false otherwise (bounded by timeoutMs). */
export function redisPing(port, timeoutMs = 500) {
  return new Promise((resolve) => {
    const sock = net.connect({ host: '127.0.0.1', port });
    let buf = '';
    const done = (ok) => { clearTimeout(timer); sock.destroy(); resolve(ok); };
    const timer = setTimeout(() => done(false), timeoutMs);
    sock.on('connect', () => sock.write('PING\r\n'));
    sock.on('data', (d) => { buf += d.toString(); if (buf.includes('\r\n')) done(buf.startsWith('+PONG')); });
    sock.on('error', () => done(false));
    sock.on('close', () => done(false));
  });
}

/**
 * Starts Debian's redis-server on a free port (or opts.port), persistence off, keyspace notifications
 * off (replicas must turn them on themselves). Resolves once it answers PING.
 * Returns {port, pid, dir, stop(), kill(signal), restart(), stderr()}.
 */
export async function startRedis({ dir, port } = {}) {
  const redisDir = dir || makeTempDir('glance-redis-');
  const redisPort = port || (await freePort());
  let child;
  let output = '';
  const args = [
    '--port', String(redisPort), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no',
    '--dir', redisDir, '--notify-keyspace-events', '', '--daemonize', 'no', '--logfile', '',
  ];

  async function start() {
    output = '';
    child = track(spawn('redis-server', args, { stdio: ['ignore', 'pipe', 'pipe'] }), `redis:${redisPort}`);
    child.stdout.on('data', (d) => { output += d; });
    child.stderr.on('data', (d) => { output += d; });
    const c = child;
    await waitUntil(async () => {
      if (c.exitInfo) throw new Error(`redis-server exited early (${JSON.stringify(c.exitInfo)}): ${output.slice(-2000)}`);
      return redisPing(redisPort);
    }, { timeoutMs: 5000, message: `redis-server on port ${redisPort} to answer PING` }).catch((err) => {
      throw new Error(`${err.message}\nredis output:\n${output.slice(-2000)}`);
    });
  }

  await start();
  const handle = {
    port: redisPort,
    dir: redisDir,
    get pid() { return child.pid; },
    get child() { return child; },
    output: () => output,
    /** SIGTERM and wait for the exit; resolves {code, signal}. */
    stop: () => terminate(child),
    /** Sends a signal (default SIGKILL) without waiting. */
    kill: (signal = 'SIGKILL') => { try { process.kill(child.pid, signal); } catch {} },
    /** stop() then start again on the same port and dir (a fresh, empty server: persistence is off). */
    restart: async () => { await terminate(child); await start(); return handle; },
  };
  return handle;
}

/** Runs redis-cli -p port args...; resolves stdout without the trailing newline. Bounded by 5 s. */
export function redis(port, ...args) {
  return new Promise((resolve, reject) => {
    // a million-shard states string or hash is tens of MB of output: never cut off by the default 1 MB buffer
    execFile('redis-cli', ['-h', '127.0.0.1', '-p', String(port), ...args.map(String)],
      { timeout: 5000, maxBuffer: 512 * 1024 * 1024 }, (err, stdout, stderr) => {
        if (err) reject(new Error(`redis-cli ${args.join(' ')}: ${err.message} ${stderr}`));
        else resolve(stdout.replace(/\n$/, ''));
      });
  });
}

// ------------------------------------------------------------------- a cluster's states, as Redis holds them
//
// A cluster's shard states are one string, <prefix>:{<cluster>}:states: byte i is the ASCII digit '0'..'6' of
// shard i's state; a zero byte (SETRANGE's padding) or a position past the end means the shard never reported.
// Zero bytes are mapped in Lua (Lua 5.1's %z) so that redis-cli's output never carries one. The readers are
// no-writes scripts, so they run on a read-only Redis replica too.

/** The key of a cluster's states string. */
export const statesKey = (cluster, prefix = 'glance') => `${prefix}:{${cluster}}:states`;

const SHARD_STATE_LUA = `#!lua flags=no-writes
local b = redis.call('GETRANGE', KEYS[1], ARGV[1], ARGV[1])
if b == '\\0' then return '' end
return b`;

/** Shard `id`'s state as stored: its digit ('0'..'6'), or '' when it never reported. */
export function shardState(port, cluster, id, prefix = 'glance') {
  return redis(port, 'EVAL', SHARD_STATE_LUA, '1', statesKey(cluster, prefix), id);
}

const CLUSTER_STATES_LUA = `#!lua flags=no-writes
local s = redis.call('GETRANGE', KEYS[1], 0, tonumber(ARGV[1]) - 1)
return (string.gsub(s, '%z', '0'))`;

/** The states of shards 0..shards-1 as numbers; 0 for a shard that never reported (as for unknown). */
export async function clusterStates(port, cluster, shards, prefix = 'glance') {
  const states = new Array(shards).fill(0);
  if (shards <= 0) return states;
  const s = await redis(port, 'EVAL', CLUSTER_STATES_LUA, '1', statesKey(cluster, prefix), shards);
  for (let i = 0; i < s.length && i < shards; i++) states[i] = s.charCodeAt(i) - 48;
  return states;
}

const SET_SHARD_STATE_LUA = `
local v = ARGV[2]
if v == '' then v = '\\0' end
return redis.call('SETRANGE', KEYS[1], ARGV[1], v)`;

/**
 * Writes shard `id`'s state straight into Redis (SETRANGE; no version bump, no event, no since).
 * state '' or null writes a zero byte: the shard reads as never reported again.
 */
export function setShardState(port, cluster, id, state, prefix = 'glance') {
  const v = state === null || state === undefined ? '' : String(state);
  return redis(port, 'EVAL', SET_SHARD_STATE_LUA, '1', statesKey(cluster, prefix), id, v);
}

const COUNT_STATE_LUA = `#!lua flags=no-writes
local s = redis.call('GET', KEYS[1]) or ''
local _, n = string.gsub(s, ARGV[1], '')
return n`;

/** How many shards of the cluster have the state digit `state` (never-reported shards are not counted as 0). */
export async function countState(port, cluster, state, prefix = 'glance') {
  if (!/^[0-6]$/.test(String(state))) throw new Error(`countState: state ${state} is not a digit 0..6`);
  return Number(await redis(port, 'EVAL', COUNT_STATE_LUA, '1', statesKey(cluster, prefix), String(state)));
}

// One round trip: every key with its type and value (hash fields sorted; TTLs left out). A string that is
// not printable (a states string: digits with zero-byte padding) is shown with '.' for each zero byte and
// \xNN for any other control byte, so a dump is readable and redis-cli never prints a raw zero byte.
const DUMP_LUA = `
local out = {}
local keys = redis.call('KEYS', '*')
table.sort(keys)
for _, k in ipairs(keys) do
  local t = redis.call('TYPE', k)['ok']
  local v
  if t == 'hash' then
    local flat = redis.call('HGETALL', k)
    local pairs = {}
    for i = 1, #flat, 2 do pairs[#pairs + 1] = flat[i] .. ':' .. flat[i + 1] end
    table.sort(pairs)
    v = table.concat(pairs, ',')
  elseif t == 'string' then
    v = redis.call('GET', k)
    v = string.gsub(v, '%z', '.')
    v = string.gsub(v, '[%c\\128-\\255]', function(c) return string.format('\\\\x%02x', string.byte(c)) end)
  else
    v = '<' .. t .. '>'
  end
  out[#out + 1] = k .. ' = ' .. v
end
return out`;

/**
 * POSTs every path, spread over the replicas (anything with a port), 16 at a time on keep-alive connections,
 * with `headers`; rejects on the first answer that is not 204, takes over 5 s or is not as docs/openapi.yaml says.
 */
export async function postEach(apis, paths, headers = {}) {
  const agent = new http.Agent({ keepAlive: true, maxSockets: 16 });
  try {
    let next = 0;
    const worker = async () => {
      while (next < paths.length) {
        const i = next++;
        const port = apis[i % apis.length].port;
        await new Promise((resolve, reject) => {
          const req = http.request({ host: '127.0.0.1', port, method: 'POST', path: paths[i], agent, headers: { ...headers, 'content-length': 0 } });
          req.setTimeout(5000, () => req.destroy(new Error(`POST ${paths[i]}: no answer within 5 s`)));
          req.on('response', (res) => {
            const chunks = [];
            res.on('data', (c) => chunks.push(c));
            res.on('end', () => {
              if (res.statusCode !== 204) {
                reject(new Error(`POST ${paths[i]}: ${res.statusCode}`));
                return;
              }
              try {
                checkContract('POST', paths[i], res, Buffer.concat(chunks).toString('utf8'));
                resolve();
              } catch (e) {
                reject(e);
              }
            });
          });
          req.on('error', reject);
          req.end();
        });
      }
    };
    await Promise.all(Array.from({ length: 16 }, worker));
  } finally {
    agent.destroy();
  }
}

/**
 * A comparable picture of the shard data in Redis: an array of "key = value" lines, sorted by key. A cluster's
 * condition hash is left out: it is derived from the states, and every replica records what its mirror shows
 * within a quarter of a second of starting or of a change, whatever request the test is making. So is the latency
 * history (a cluster's latency ring and the minute's claim): whichever replica claims a minute writes it at the
 * minute's boundary, so a test that crosses one would see it change whatever it did.
 */
export async function redisDump(port) {
  const text = await redis(port, 'EVAL', DUMP_LUA, '0');
  return text.split('\n').filter((line) => line
    && !/^[^ ]*:\{[^}]*\}:condition = /.test(line)
    && !/^[^ ]*(:\{[^}]*\}:latency|:latency:claim) = /.test(line));
}

// ------------------------------------------------------------------------------------------ glance-api

/** The environment for glance-api: this process's environment without any GLANCE_* variable, plus env. */
function apiEnv(env) {
  const out = {};
  for (const [k, v] of Object.entries(process.env)) if (!k.startsWith('GLANCE_')) out[k] = v;
  for (const [k, v] of Object.entries(env)) {
    if (v === undefined || v === null) delete out[k];
    else out[k] = String(v);
  }
  return out;
}

/**
 * Spawns glance-api with exactly the given GLANCE_* environment (nothing inherited) in cwd (default: a
 * fresh temp dir, so no stray .env is read). Does not wait for anything.
 * Returns {child, pid, cwd, stderr(), stdout(), exited, waitExit(ms)}.
 */
export function spawnApi(env, { cwd, bin = API_BIN } = {}) {
  if (!existsSync(bin)) {
    throw new Error(`glance-api binary not found at ${bin} (build it with cmake -S . -B build && cmake --build build, or set GLANCE_API_BIN)`);
  }
  const dir = cwd || makeTempDir('glance-api-');
  let stderr = '';
  let stdout = '';
  const child = track(spawn(bin, [], { cwd: dir, env: apiEnv(env), stdio: ['ignore', 'pipe', 'pipe'] }), 'glance-api');
  child.stderr.on('data', (d) => { stderr += d; });
  child.stdout.on('data', (d) => { stdout += d; });
  return {
    child,
    pid: child.pid,
    cwd: dir,
    stderr: () => stderr,
    stdout: () => stdout,
    exited: child.exited,
    waitExit: (ms) => waitExit(child, ms),
  };
}

/**
 * Starts a glance-api replica against redis://127.0.0.1:<redisPort>/0 and waits (10 s at most) until
 * GET /readyz answers 200. Options: bots (GLANCE_BOTS, default "main:360;demo:1"), healthTimeout,
 * passphrase, feedIntervalMs, env (extra variables; undefined removes one), cwd, bin (another build's binary).
 * Returns {port, url, pid, stderr(), stop() (SIGTERM, await exit, resolves the exit code), kill(signal)}.
 */
export async function startApi({ redisPort, bots = 'main:360;demo:1', healthTimeout, passphrase,
  feedIntervalMs, env = {}, cwd, bin, waitReady = true } = {}) {
  const port = await freePort();
  const fullEnv = {
    GLANCE_HOST: '127.0.0.1',
    GLANCE_PORT: port,
    GLANCE_REDIS_URL: `redis://127.0.0.1:${redisPort}/0`,
    GLANCE_BOTS: bots,
    GLANCE_WEB_ROOT: path.join(REPO_ROOT, 'web'),
    // tests stop replicas all the time; the drain a load balancer needs is tested on its own (shutdown.test)
    GLANCE_DRAIN_MS: 0,
    ...(healthTimeout !== undefined ? { GLANCE_HEALTH_TIMEOUT: healthTimeout } : {}),
    ...(passphrase !== undefined ? { GLANCE_PASSPHRASE: passphrase } : {}),
    ...(feedIntervalMs !== undefined ? { GLANCE_FEED_INTERVAL_MS: feedIntervalMs } : {}),
    ...env,
  };
  const proc = spawnApi(fullEnv, { cwd, bin });
  const url = `http://127.0.0.1:${port}`;
  const api = {
    port,
    url,
    pid: proc.pid,
    child: proc.child,
    stderr: proc.stderr,
    stdout: proc.stdout,
    exited: proc.exited,
    /** true while the process has not exited. */
    alive: () => !proc.child.exitInfo,
    /** SIGTERM, wait for the exit (SIGKILL after 5 s); resolves the exit code (null if killed by a signal). */
    stop: async () => (await terminate(proc.child)).code,
    kill: (signal = 'SIGKILL') => { try { process.kill(proc.pid, signal); } catch {} },
  };
  if (waitReady) {
    await waitUntil(async () => {
      if (proc.child.exitInfo) {
        throw new Error(`glance-api exited during start-up (${JSON.stringify(proc.child.exitInfo)})`);
      }
      const r = await request(port, 'GET', '/readyz', { timeoutMs: 1000 }).catch(() => null);
      return r && r.status === 200;
    }, { timeoutMs: 10000, intervalMs: 50, message: `glance-api on port ${port} to answer GET /readyz with 200` })
      .catch(async (err) => {
        const stderr = proc.stderr();
        await terminate(proc.child, 1000);
        throw new Error(`${err.message}\n--- glance-api stderr ---\n${stderr.slice(-4000)}`);
      });
  }
  return api;
}

// ------------------------------------------------------------------------------------------------ http

/**
 * Checks an answer against docs/openapi.yaml (contract.mjs); throws when the contract does not describe it. Only
 * glance-api's answers are checked: every one carries X-Glance-Replica (routes.c sets it on every response, h2o's own
 * errors included), while a test's fake webhook or HAProxy's own error pages do not.
 */
function checkContract(method, reqPath, res, text) {
  if (res.headers['x-glance-replica'] === undefined) return;
  checkResponse(method, reqPath, res.statusCode, res.headers, text);
}

/**
 * One HTTP/1.1 request with the path sent exactly as given (no URL normalisation), a fresh connection
 * and a time bound. Resolves {status, headers, body (string), ms (time to the full response), json()}; rejects
 * when glance-api answers what docs/openapi.yaml does not describe (contract.mjs).
 */
export function request(port, method, reqPath, { headers = {}, body, timeoutMs = 5000 } = {}) {
  return new Promise((resolve, reject) => {
    const started = Date.now();
    let settled = false;
    const finish = (fn, v) => { if (!settled) { settled = true; clearTimeout(timer); fn(v); } };
    const req = http.request({ host: '127.0.0.1', port, method, path: reqPath, headers, agent: false });
    const timer = setTimeout(() => {
      req.destroy();
      finish(reject, new Error(`${method} ${reqPath.slice(0, 120)}: no complete response within ${timeoutMs} ms`));
    }, timeoutMs);
    req.on('response', (res) => {
      const chunks = [];
      res.on('data', (c) => chunks.push(c));
      res.on('end', () => {
        const text = Buffer.concat(chunks).toString('utf8');
        try {
          checkContract(method, reqPath, res, text);
        } catch (e) {
          finish(reject, e);
          return;
        }
        finish(resolve, {
          status: res.statusCode,
          headers: res.headers,
          body: text,
          ms: Date.now() - started,
          json() {
            try { return JSON.parse(text); } catch (e) {
              throw new Error(`${method} ${reqPath.slice(0, 120)}: body is not JSON: ${JSON.stringify(text.slice(0, 300))}`);
            }
          },
        });
      });
      res.on('error', (e) => finish(reject, e));
    });
    req.on('error', (e) => finish(reject, new Error(`${method} ${reqPath.slice(0, 120)}: ${e.message}`)));
    if (body !== undefined) req.write(body);
    req.end();
  });
}

// --------------------------------------------------------------------------------------------- metrics


/**
 * Waits (bounded) until the replica's GET /api/status holds cluster `index` at `version`, and resolves that
 * cluster's snapshot. The snapshot comes from the mirror, which takes each write from pub/sub a moment after the
 * write's 204: a read sent the instant the last 204 arrives may not hold it yet.
 */
export async function snapshotAt(port, version, { index = 0, timeoutMs = 5000 } = {}) {
  let cluster;
  await waitUntil(async () => {
    cluster = (await request(port, 'GET', '/api/status')).json().clusters[index];
    return cluster.version === version;
  }, { timeoutMs, message: `the replica's snapshot to reach version ${version}` });
  return cluster;
}
/** Parses Prometheus text into [{name, labels, value}] (comments skipped). */
export function parseMetrics(text) {
  const out = [];
  for (const line of text.split('\n')) {
    if (!line || line.startsWith('#')) continue;
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})?\s+(\S+)/.exec(line);
    if (!m) continue;
    const labels = {};
    if (m[2]) for (const l of m[2].matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g)) labels[l[1]] = l[2];
    out.push({ name: m[1], labels, value: Number(m[3]) });
  }
  return out;
}

/** Sum of every series called name whose labels include the given ones; undefined if there is none. */
export function metricValue(text, name, labels = {}) {
  let sum;
  for (const s of parseMetrics(text)) {
    if (s.name !== name) continue;
    if (!Object.entries(labels).every(([k, v]) => s.labels[k] === v)) continue;
    sum = (sum || 0) + s.value;
  }
  return sum;
}

export async function getMetrics(port) {
  const r = await request(port, 'GET', '/metrics');
  if (r.status !== 200) throw new Error(`GET /metrics answered ${r.status}: ${r.body.slice(0, 300)}`);
  return r.body;
}

// ------------------------------------------------------------------------------------------------ feed

/** A short, printable form of a feed message for failure messages. */
export function brief(msg) {
  const s = JSON.stringify(msg, (k, v) => (typeof v === 'string' && v.length > 80 ? `${v.slice(0, 40)}…(${v.length} chars)` : v));
  return s.length > 400 ? `${s.slice(0, 400)}…` : s;
}

/**
 * Opens a WebSocket to ws://127.0.0.1:<port>/api/feed and collects every parsed JSON message.
 * Returns {ws, messages, waitFor(pred, timeoutMs, {from, what}), waitClose(timeoutMs), send(obj), close()}.
 * waitFor resolves the first message at index >= from matching pred, or rejects with what it saw.
 */
export async function openFeed(port, { timeoutMs = 5000 } = {}) {
  const ws = new WebSocket(`ws://127.0.0.1:${port}/api/feed`, { perMessageDeflate: false, maxPayload: 512 * 1024 * 1024 });
  const messages = [];
  const waiters = new Set();
  let closeInfo = null;
  const closeWaiters = new Set();

  ws.on('message', (data) => {
    let msg;
    try { msg = JSON.parse(data.toString('utf8')); } catch { msg = { type: '<not json>', raw: data.toString('utf8').slice(0, 200) }; }
    msg.receivedAt = Date.now();
    messages.push(msg);
    for (const w of waiters) w.check();
  });
  ws.on('close', (code, reason) => {
    closeInfo = { code, reason: reason.toString(), at: Date.now() };
    for (const w of closeWaiters) w(closeInfo);
    for (const w of waiters) w.closed();
  });
  ws.on('error', () => {});

  await new Promise((resolve, reject) => {
    const timer = setTimeout(() => { ws.terminate(); reject(new Error(`feed on port ${port}: not open within ${timeoutMs} ms`)); }, timeoutMs);
    ws.once('open', () => { clearTimeout(timer); resolve(); });
    ws.once('unexpected-response', (req, res) => { clearTimeout(timer); reject(new Error(`feed on port ${port}: upgrade answered ${res.statusCode}`)); });
    ws.once('error', (e) => { clearTimeout(timer); reject(new Error(`feed on port ${port}: ${e.message}`)); });
  });

  const feed = {
    ws,
    messages,
    get closeInfo() { return closeInfo; },
    /** Index the next message will have; pass as {from} to wait only for later messages. */
    mark: () => messages.length,
    send: (obj) => ws.send(typeof obj === 'string' ? obj : JSON.stringify(obj)),
    close: () => { try { ws.terminate(); } catch {} feeds.delete(feed); },
    waitFor(pred, timeoutMs = 5000, { from = 0, what = 'a matching feed message' } = {}) {
      return new Promise((resolve, reject) => {
        const w = {
          check() {
            for (let i = from; i < messages.length; i++) {
              let ok = false;
              try { ok = pred(messages[i]); } catch {}
              if (ok) { done(); resolve(messages[i]); return; }
            }
          },
          closed() {
            done();
            reject(new Error(`feed closed (${JSON.stringify(closeInfo)}) while waiting for ${what}; got ${describeMessages(messages, from)}`));
          },
        };
        const timer = setTimeout(() => {
          done();
          reject(new Error(`timed out after ${timeoutMs} ms waiting for ${what}; got ${describeMessages(messages, from)}`));
        }, timeoutMs);
        function done() { clearTimeout(timer); waiters.delete(w); }
        waiters.add(w);
        w.check();
        if (waiters.has(w) && closeInfo) w.closed();
      });
    },
    waitClose(timeoutMs = 5000) {
      if (closeInfo) return Promise.resolve(closeInfo);
      return new Promise((resolve, reject) => {
        const timer = setTimeout(() => { closeWaiters.delete(cb); reject(new Error(`feed not closed within ${timeoutMs} ms`)); }, timeoutMs);
        const cb = (info) => { clearTimeout(timer); closeWaiters.delete(cb); resolve(info); };
        closeWaiters.add(cb);
      });
    },
  };
  feeds.add(feed);
  return feed;
}

function describeMessages(messages, from) {
  const list = messages.slice(from);
  if (list.length === 0) return 'no messages';
  const shown = list.slice(-8).map(brief).join('\n  ');
  return `${list.length} message(s)${list.length > 8 ? ' (last 8)' : ''}:\n  ${shown}`;
}

/** Finds a cluster's entry in an update frame. */
export function updateFor(msg, cluster) {
  if (!msg || msg.type !== 'update' || !Array.isArray(msg.clusters)) return undefined;
  return msg.clusters.find((c) => c.name === cluster);
}

/** true when msg is an update whose changes for cluster hold [shard, state]. */
export function hasChange(msg, cluster, shard, state) {
  const c = updateFor(msg, cluster);
  return !!c && Array.isArray(c.changes) && c.changes.some(([s, st]) => s === shard && st === state);
}

// ---------------------------------------------------------------------------------- raw websocket

/** Encodes one masked client text frame (RFC 6455: client frames must be masked). */
export function encodeClientTextFrame(text) {
  const payload = Buffer.from(text, 'utf8');
  const mask = crypto.randomBytes(4);
  let header;
  if (payload.length < 126) {
    header = Buffer.from([0x81, 0x80 | payload.length]);
  } else if (payload.length < 65536) {
    header = Buffer.alloc(4);
    header[0] = 0x81; header[1] = 0x80 | 126; header.writeUInt16BE(payload.length, 2);
  } else {
    header = Buffer.alloc(10);
    header[0] = 0x81; header[1] = 0x80 | 127; header.writeBigUInt64BE(BigInt(payload.length), 2);
  }
  const masked = Buffer.alloc(payload.length);
  for (let i = 0; i < payload.length; i++) masked[i] = payload[i] ^ mask[i % 4];
  return Buffer.concat([header, mask, masked]);
}

/**
 * Opens a raw TCP connection and performs the WebSocket upgrade on /api/feed by hand (offering `extensions`, a
 * Sec-WebSocket-Extensions value, when given). Resolves
 * {socket, response (the header block), rest (bytes that followed the header in the same read)} once
 * the 101 header arrived; the socket is left paused (not reading). The caller owns the socket.
 */
export function rawWebSocket(port, { timeoutMs = 5000, extensions = null } = {}) {
  return new Promise((resolve, reject) => {
    const socket = net.connect({ host: '127.0.0.1', port });
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    const key = crypto.randomBytes(16).toString('base64');
    let buf = Buffer.alloc(0);
    const timer = setTimeout(() => { socket.destroy(); reject(new Error('raw websocket: no 101 within time')); }, timeoutMs);
    socket.on('error', (e) => { clearTimeout(timer); reject(e); });
    socket.on('connect', () => {
      socket.write(`GET /api/feed HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n`
        + `Sec-WebSocket-Key: ${key}\r\nSec-WebSocket-Version: 13\r\n`
        + `${extensions ? `Sec-WebSocket-Extensions: ${extensions}\r\n` : ''}\r\n`);
    });
    const onData = (d) => {
      buf = Buffer.concat([buf, d]);
      const end = buf.indexOf('\r\n\r\n');
      if (end < 0) return;
      clearTimeout(timer);
      socket.pause();
      socket.off('data', onData);
      const response = buf.subarray(0, end).toString('latin1');
      if (!/^HTTP\/1\.1 101/.test(response)) { socket.destroy(); reject(new Error(`raw websocket: ${response.split('\r\n')[0]}`)); return; }
      resolve({ socket, response, rest: buf.subarray(end + 4) });
    };
    socket.on('data', onData);
  });
}

// --------------------------------------------------------------------------------------------- cleanup

/** Closes every feed, kills every process started here (SIGTERM, then SIGKILL) and removes the temp dirs. */
export async function cleanup() {
  for (const f of [...feeds]) f.close();
  for (const s of [...sockets]) s.destroy();
  await Promise.all([...children.values()].map((c) => terminate(c, 3000)));
  for (const dir of [...tempDirs]) {
    try { rmSync(dir, { recursive: true, force: true }); } catch {}
    tempDirs.delete(dir);
  }
}
