// stack.mjs -- deploy/stack.sh driven from the tests (Redis, N replicas and HAProxy on free loopback ports),
// with a load-balanced POST load, a feed client that reconnects like a browser, and HAProxy's view of its
// servers. Process handling, ports and HTTP come from ../integration/harness.mjs.
//
// Every process the stack starts is recorded by stack.sh; down() stops them through `stack.sh down`, and a
// process 'exit' hook SIGKILLs any recorded PID still alive if a test file dies before its hooks run.

import { execFile } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import WebSocket from 'ws';
import { API_BIN, REPO_ROOT, makeTempDir, freePort, portFree, request, sleep } from '../integration/harness.mjs';

export const STACK_SH = path.join(REPO_ROOT, 'deploy', 'stack.sh');

const livePids = new Set();
process.on('exit', () => {
  for (const pid of livePids) {
    try { process.kill(pid, 'SIGKILL'); } catch {}
  }
});

/** Runs a command (bounded); resolves {code, stdout, stderr}, never rejects on a non-zero exit. */
export function run(file, args, { env, cwd = REPO_ROOT, timeoutMs = 60000 } = {}) {
  return new Promise((resolve) => {
    execFile(file, args, { env, cwd, timeout: timeoutMs, maxBuffer: 16 * 1024 * 1024 }, (err, stdout, stderr) => {
      const code = err ? (typeof err.code === 'number' ? err.code : -1) : 0;
      resolve({ code, stdout, stderr, timedOut: !!(err && err.killed) });
    });
  });
}

/** A first port p such that p .. p+count-1 are all free on 127.0.0.1. */
async function freePortRange(count) {
  for (let attempt = 0; attempt < 50; attempt++) {
    const p = await freePort();
    if (p + count > 32768) continue; // below the ephemeral range, as freePort's ports are
    let ok = true;
    for (let i = 1; i < count && ok; i++) ok = await portFree(p + i);
    if (ok) return p;
  }
  throw new Error(`no ${count} consecutive free ports on 127.0.0.1`);
}

/** The environment for stack.sh: this process's, without GLANCE_*, plus env. */
function stackEnv(env) {
  const out = {};
  for (const [k, v] of Object.entries(process.env)) if (!k.startsWith('GLANCE_')) out[k] = v;
  for (const [k, v] of Object.entries(env)) if (v !== undefined) out[k] = String(v);
  return out;
}

/** The processes stack.sh recorded: [{name, pid, port}]. */
function readProcs(dir) {
  let text = '';
  try { text = readFileSync(path.join(dir, 'procs'), 'utf8'); } catch { return []; }
  return text.split('\n').filter(Boolean).map((line) => {
    const [name, pid, port] = line.split(' ');
    return { name, pid: Number(pid), port: Number(port) };
  });
}

/** true while pid runs and is not a zombie. */
export function alive(pid) {
  try {
    process.kill(pid, 0);
  } catch {
    return false;
  }
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2)[0] !== 'Z';
  } catch {
    return false;
  }
}

/**
 * deploy/stack.sh up <replicas> in a fresh state dir on free ports. Options: replicas (3), bots (GLANCE_BOTS),
 * env (more variables for the replicas). Rejects with stack.sh's output if it does not come up.
 * Returns {dir, env, lbPort, statsPort, redisPort, procs, replica(name), down(), status(), servers()}.
 */
export async function stackUp({ replicas = 3, bots = 'main:360;demo:1', env = {} } = {}) {
  const dir = makeTempDir('glance-stack-');
  const emptyEnvFile = path.join(dir, 'empty.env');
  writeFileSync(emptyEnvFile, '# the tests configure the replicas through the environment only\n');
  const [lbPort, statsPort, redisPort, apiPort] = [await freePort(), await freePort(), await freePort(),
    await freePortRange(replicas)];
  const fullEnv = stackEnv({
    GLANCE_STACK_DIR: dir,
    GLANCE_LB_PORT: lbPort,
    GLANCE_LB_STATS_PORT: statsPort,
    GLANCE_STACK_REDIS_PORT: redisPort,
    GLANCE_STACK_API_PORT: apiPort,
    GLANCE_API_BIN: API_BIN,
    GLANCE_ENV_FILE: emptyEnvFile, // a developer's .env in the checkout must not change the tests
    GLANCE_BOTS: bots,
    ...env,
  });
  const up = await run(STACK_SH, ['up', String(replicas)], { env: fullEnv, timeoutMs: 90000 });
  for (const p of readProcs(dir)) livePids.add(p.pid);
  if (up.code !== 0) {
    await run(STACK_SH, ['down'], { env: fullEnv });
    throw new Error(`deploy/stack.sh up ${replicas} exited ${up.code}${up.timedOut ? ' (timed out)' : ''}:\n${up.stdout}${up.stderr}`);
  }
  const procs = readProcs(dir);
  const stack = {
    dir,
    env: fullEnv,
    lbPort,
    statsPort,
    redisPort,
    procs,
    upOutput: up.stdout + up.stderr,
    replica: (name) => procs.find((p) => p.name === name),
    replicas: () => procs.filter((p) => /^api\d+$/.test(p.name)),
    /** deploy/stack.sh status: {code, stdout, stderr}. */
    status: () => run(STACK_SH, ['status'], { env: fullEnv, timeoutMs: 30000 }),
    /** deploy/stack.sh down, then SIGKILL whatever is still alive; resolves its {code, stdout, stderr}. */
    async down() {
      const r = await run(STACK_SH, ['down'], { env: fullEnv, timeoutMs: 60000 });
      for (const p of procs) {
        if (alive(p.pid)) { try { process.kill(p.pid, 'SIGKILL'); } catch {} }
        livePids.delete(p.pid);
      }
      return r;
    },
    /** HAProxy's view of backend api: {api1: 'UP', api2: 'DOWN', ...}. */
    servers: () => lbServers(statsPort),
  };
  return stack;
}

/** {server name: status} for backend api, from HAProxy's stats CSV. */
export async function lbServers(statsPort) {
  const r = await request(statsPort, 'GET', '/stats;csv', { timeoutMs: 2000 });
  if (r.status !== 200) throw new Error(`HAProxy stats answered ${r.status}`);
  const lines = r.body.split('\n');
  const header = lines[0].replace(/^# /, '').split(',');
  const col = (name) => header.indexOf(name);
  const out = {};
  for (const line of lines.slice(1)) {
    const f = line.split(',');
    if (f[col('pxname')] !== 'api' || f[col('svname')] === 'FRONTEND' || f[col('svname')] === 'BACKEND') continue;
    out[f[col('svname')]] = f[col('status')];
  }
  return out;
}

// ------------------------------------------------------------------------------------------- POST load

/**
 * Sends POSTs through the load balancer at about `rate` per second for `durationMs`, at most `concurrency`
 * at a time over keep-alive connections, the way a bot library would. next(i) gives the i-th request's
 * {path, ...anything to remember}. Resolves every request's record:
 * {i, path, sentAt, doneAt, status (0 on a network error), error, replica, ...}.
 */
export async function postLoad(port, { rate, durationMs, concurrency = 8, next, headers = {}, timeoutMs = 5000 }) {
  const agent = new http.Agent({ keepAlive: true, maxSockets: concurrency });
  const records = [];
  const started = Date.now();
  let inFlight = 0;
  let i = 0;
  const pending = new Set();
  const one = (rec) => new Promise((resolve) => {
    const finish = (status, error, replica) => {
      if (rec.doneAt) return;
      Object.assign(rec, { status, error, replica, doneAt: Date.now() });
      clearTimeout(timer);
      resolve();
    };
    const req = http.request({ host: '127.0.0.1', port, method: 'POST', path: rec.path, agent, headers: { 'content-length': 0, ...headers } });
    const timer = setTimeout(() => { req.destroy(); finish(0, 'timeout'); }, timeoutMs);
    req.on('response', (res) => {
      res.resume();
      res.on('end', () => finish(res.statusCode, null, res.headers['x-glance-replica']));
      res.on('error', (e) => finish(0, e.message));
    });
    req.on('error', (e) => finish(0, e.code || e.message));
    req.end();
  });
  while (Date.now() - started < durationMs) {
    const due = Math.floor(((Date.now() - started) / 1000) * rate);
    while (i < due && inFlight < concurrency) {
      const rec = { i, ...next(i), sentAt: Date.now(), doneAt: 0 };
      records.push(rec);
      i++;
      inFlight++;
      const p = one(rec).then(() => { inFlight--; pending.delete(p); });
      pending.add(p);
    }
    await sleep(5);
  }
  await Promise.all([...pending]);
  agent.destroy();
  return records;
}

// ------------------------------------------------------------------------------------------------ feed

/**
 * A feed client through the load balancer that behaves like the dashboard: it keeps one version per
 * cluster, applies updates, asks for a resync on a gap, and when the connection drops it reconnects (to
 * whichever replica HAProxy picks) after a short backoff and starts over from the new hello.
 * Exposes the replica of every connection (from the 101's x-glance-replica header), every hello, and the
 * states it believes in: states(cluster) -> array.
 */
export class BrowserFeed {
  constructor(port, { reconnectDelayMs = () => 250 + Math.floor(Math.random() * 500) } = {}) {
    this.port = port;
    this.reconnectDelayMs = reconnectDelayMs;
    this.connections = []; // [{replica, openedAt, closedAt, closeCode, hellos}]
    this.clusters = new Map(); // name -> {version, states: Uint8Array}
    this.stopped = false;
    this.ws = null;
    this.timer = null;
    this.waiters = new Set();
  }

  /** Connects; resolves once the first hello has arrived (rejects after timeoutMs). */
  start(timeoutMs = 5000) {
    this.connect();
    return this.waitFor(() => this.current?.hellos > 0, timeoutMs, 'the first hello');
  }

  get current() { return this.connections[this.connections.length - 1]; }

  connect() {
    if (this.stopped) return;
    const conn = { replica: null, openedAt: 0, closedAt: 0, closeCode: 0, hellos: 0, updates: 0 };
    this.connections.push(conn);
    const ws = new WebSocket(`ws://127.0.0.1:${this.port}/api/feed`, { perMessageDeflate: false, maxPayload: 64 * 1024 * 1024 });
    this.ws = ws;
    ws.on('upgrade', (res) => { conn.replica = res.headers['x-glance-replica'] || null; });
    ws.on('open', () => { conn.openedAt = Date.now(); });
    ws.on('message', (data) => this.message(conn, ws, data));
    ws.on('error', () => {});
    ws.on('close', (code) => {
      conn.closedAt = Date.now();
      conn.closeCode = code;
      this.notify();
      if (this.ws === ws && !this.stopped) this.timer = setTimeout(() => this.connect(), this.reconnectDelayMs());
    });
  }

  message(conn, ws, data) {
    let msg;
    try { msg = JSON.parse(data.toString('utf8')); } catch { return; }
    if (msg.type === 'hello') {
      conn.hellos++;
      this.clusters = new Map(msg.clusters.map((c) => [c.name, {
        version: c.version,
        states: Uint8Array.from(c.states, (ch) => ch.charCodeAt(0) - 48),
      }]));
    } else if (msg.type === 'update') {
      conn.updates++;
      for (const c of msg.clusters) {
        const mine = this.clusters.get(c.name);
        if (!mine || c.from > mine.version) {
          ws.send(JSON.stringify({ type: 'resync' }));
          continue;
        }
        if (c.to <= mine.version) continue;
        for (const [shard, state] of c.changes || []) mine.states[shard] = state;
        mine.version = c.to;
      }
    }
    this.notify();
  }

  /** The states this client believes in for cluster (a Uint8Array), or undefined before a hello. */
  states(cluster) { return this.clusters.get(cluster)?.states; }

  notify() { for (const w of this.waiters) w(); }

  waitFor(pred, timeoutMs, what) {
    return new Promise((resolve, reject) => {
      const check = () => {
        let ok = false;
        try { ok = pred(); } catch {}
        if (ok) { done(); resolve(); }
      };
      const timer = setTimeout(() => { done(); reject(new Error(`feed: timed out after ${timeoutMs} ms waiting for ${what}; connections: ${JSON.stringify(this.connections)}`)); }, timeoutMs);
      const done = () => { clearTimeout(timer); this.waiters.delete(check); };
      this.waiters.add(check);
      check();
    });
  }

  stop() {
    this.stopped = true;
    clearTimeout(this.timer);
    try { this.ws?.terminate(); } catch {}
  }
}
