// lib.mjs -- what the fault tests need beyond the integration harness: Redis with persistence and
// Sentinel, a TCP proxy that can cut a replica off, a bounded POST load, a feed client's view, RSS, and
// one way of printing what a test proved.
//
// Every process started here is tracked by PID and ended by stopAll() (or SIGKILLed when this process
// exits); every wait is bounded; everything listens on 127.0.0.1.

import crypto from 'node:crypto';
import { spawn } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import http from 'node:http';
import path from 'node:path';
import { freePort, makeTempDir, waitUntil, redis, redisPing, sleep, clusterStates } from '../integration/harness.mjs';

const children = new Map(); // pid -> ChildProcess

process.on('exit', () => {
  for (const pid of children.keys()) {
    try { process.kill(pid, 'SIGCONT'); } catch {}
    try { process.kill(pid, 'SIGKILL'); } catch {}
  }
});

/** Resident set size of a process in KiB, from /proc/<pid>/status. */
export function rssKiB(pid) {
  const m = /VmRSS:\s+(\d+)\s+kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  if (!m) throw new Error(`no VmRSS for pid ${pid}`);
  return Number(m[1]);
}

/** true when the process runs with AddressSanitizer (whose quarantine and redzones inflate RSS). */
export function sanitized(pid) {
  try { return /libasan|libclang_rt\.asan/.test(readFileSync(`/proc/${pid}/maps`, 'utf8')); } catch { return false; }
}

/**
 * SIGTERMs each replica and asserts a clean exit (0): under ASan that also means LeakSanitizer found no
 * leak. Puts the last lines of a failing replica's output into the assertion.
 */
export async function assertCleanStop(apis) {
  for (const a of apis) {
    const code = await a.stop();
    if (code !== 0) throw new Error(`glance-api ${a.pid} exited with ${code}:\n${a.stderr().slice(-3000)}`);
  }
}

/** Puts one line of what a test proved, with its figures, into the test report. */
export function proved(t, text) {
  t.diagnostic(`PROVED ${text}`);
}

function exitPromise(child) {
  return new Promise((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) resolve({ code: child.exitCode, signal: child.signalCode });
    else child.once('exit', (code, signal) => resolve({ code, signal }));
  });
}

async function waitExitBounded(child, ms) {
  let timer;
  const r = await Promise.race([exitPromise(child), new Promise((res) => { timer = setTimeout(() => res(null), ms); })]);
  clearTimeout(timer);
  return r;
}

/** Spawns a tracked process; its output is kept (the last 64 KiB). */
export function spawnTracked(cmd, args, { label = cmd, cwd, env } = {}) {
  const child = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'], cwd, env });
  let out = '';
  const keep = (d) => { out += d; if (out.length > 65536) out = out.slice(-65536); };
  child.stdout.on('data', keep);
  child.stderr.on('data', keep);
  child.on('error', (e) => { out += `spawn error: ${e.message}\n`; });
  if (child.pid) children.set(child.pid, child);
  child.once('exit', () => children.delete(child.pid));
  child.label = label;
  child.output = () => out;
  return child;
}

/** SIGCONT + SIGTERM, then SIGKILL after graceMs. */
export async function terminate(child, graceMs = 3000) {
  if (!child || child.exitCode !== null || child.signalCode !== null) return;
  try { process.kill(child.pid, 'SIGCONT'); } catch {}
  try { process.kill(child.pid, 'SIGTERM'); } catch {}
  if (await waitExitBounded(child, graceMs)) return;
  try { process.kill(child.pid, 'SIGKILL'); } catch {}
  await waitExitBounded(child, 3000);
}

/** Ends every process started through this module. */
export async function stopAll() {
  await Promise.all([...children.values()].map((c) => terminate(c)));
}

/** Sends PING on a fresh connection; true on +PONG within timeoutMs (sentinels answer it too). */
export const ping = redisPing;

/**
 * A redis-server on a fixed port and dir that can be killed and started again from what it persisted.
 * args are extra redis-server arguments (e.g. ['--appendonly', 'yes', '--appendfsync', 'always']).
 * Resolves once it answers PING (and has loaded its data: PING answers -LOADING before).
 */
export async function startRedisServer({ port, dir, args = [], label = 'redis' } = {}) {
  const handle = {
    port: port || (await freePort()),
    dir: dir || makeTempDir('glance-faults-redis-'),
    child: null,
    get pid() { return handle.child.pid; },
    output: () => (handle.child ? handle.child.output() : ''),
    async start() {
      const all = ['--port', String(handle.port), '--bind', '127.0.0.1', '--dir', handle.dir, '--save', '',
        '--daemonize', 'no', '--logfile', '', ...args];
      handle.child = spawnTracked('redis-server', all, { label: `${label}:${handle.port}` });
      const c = handle.child;
      await waitUntil(async () => {
        if (c.exitCode !== null || c.signalCode !== null) throw new Error(`redis-server exited: ${c.output().slice(-1500)}`);
        return ping(handle.port);
      }, { timeoutMs: 10000, intervalMs: 25, message: `redis-server on ${handle.port} to answer PING` });
      return handle;
    },
    /** Sends a signal (SIGKILL by default) and, for SIGKILL/SIGTERM, waits for the exit. */
    async kill(signal = 'SIGKILL') {
      try { process.kill(handle.child.pid, signal); } catch {}
      if (signal === 'SIGKILL' || signal === 'SIGTERM') await waitExitBounded(handle.child, 5000);
    },
    stop: () => terminate(handle.child),
  };
  return handle.start();
}

// ------------------------------------------------------------------------------------------- sentinel

/**
 * A master, a replica and three sentinels on loopback, as Debian's redis-server and redis-sentinel
 * run them. Resolves once every sentinel knows the master, the replica and the two other sentinels.
 */
export async function startSentinelSet({ master = 'mymaster', downAfterMs = 1000, failoverTimeoutMs = 5000 } = {}) {
  const dir = makeTempDir('glance-faults-sentinel-');
  const primary = await startRedisServer({
    dir, label: 'master', args: ['--dbfilename', 'master.rdb', '--repl-diskless-sync-delay', '0'],
  });
  const replica = await startRedisServer({
    dir, label: 'replica', args: ['--dbfilename', 'replica.rdb', '--replicaof', '127.0.0.1', String(primary.port)],
  });
  await waitUntil(async () => (await redis(replica.port, 'INFO', 'replication')).includes('master_link_status:up'),
    { timeoutMs: 15000, intervalMs: 50, message: 'the replica to be in sync with the master' });
  const sentinels = [];
  for (let i = 0; i < 3; i++) {
    const port = await freePort();
    const conf = path.join(dir, `sentinel-${i}.conf`);
    // sentinel rewrites this file as it learns; it must be writable
    writeFileSync(conf, [
      `port ${port}`, 'bind 127.0.0.1', `dir ${dir}`, 'daemonize no', 'logfile ""',
      `sentinel monitor ${master} 127.0.0.1 ${primary.port} 2`,
      `sentinel down-after-milliseconds ${master} ${downAfterMs}`,
      `sentinel failover-timeout ${master} ${failoverTimeoutMs}`,
      `sentinel parallel-syncs ${master} 1`, '',
    ].join('\n'));
    const child = spawnTracked('redis-sentinel', [conf], { label: `sentinel:${port}` });
    sentinels.push({ port, conf, child });
  }
  for (const s of sentinels) {
    await waitUntil(() => ping(s.port), { timeoutMs: 10000, message: `sentinel ${s.port} to answer PING` })
      .catch((e) => { throw new Error(`${e.message}\n${s.child.output().slice(-1500)}`); });
  }
  // wait for the sentinels to find the replica and each other (INFO and hello messages)
  await waitUntil(async () => {
    for (const s of sentinels) {
      const info = await sentinelMasterInfo(s.port, master);
      if (info['num-slaves'] !== '1' || info['num-other-sentinels'] !== '2') return false;
    }
    return true;
  }, { timeoutMs: 30000, intervalMs: 200, message: 'every sentinel to know 1 replica and 2 other sentinels' });
  return { dir, master, primary, replica, sentinels };
}

/** SENTINEL MASTER <name> as an object of its fields. */
export async function sentinelMasterInfo(port, master) {
  const lines = (await redis(port, 'SENTINEL', 'MASTER', master)).split('\n');
  const out = {};
  for (let i = 0; i + 1 < lines.length; i += 2) out[lines[i]] = lines[i + 1];
  return out;
}

/** The master's port as a sentinel names it. */
export async function sentinelMasterPort(port, master) {
  const lines = (await redis(port, 'SENTINEL', 'GET-MASTER-ADDR-BY-NAME', master)).split('\n');
  return Number(lines[1]);
}

// ------------------------------------------------------------------------------------------ tcp proxy

/**
 * A TCP proxy from 127.0.0.1:<port> to 127.0.0.1:<targetPort>, standing in for the network between one
 * replica and Redis. Modes:
 *   pass()   forward everything (the default);
 *   freeze() a partition: nothing crosses in either direction; bytes wait (as TCP retransmission would
 *            deliver them after the partition heals) and new connections are held unconnected;
 *   reset()  every connection is cut at once (RST) and new ones are refused until pass();
 *   orphan() every open connection loses its Redis side while the replica's side stays open and silent
 *            (a Redis host that rebooted, a NAT or firewall that forgot the flow: nobody sends a RST);
 *            new connections pass as usual;
 * Counts connections so a test can tell a reconnect happened.
 */
export async function startProxy(targetPort) {
  const pairs = new Set();
  let mode = 'pass';
  let accepted = 0;
  const server = net.createServer((client) => {
    accepted += 1;
    const pair = { client, upstream: null, held: [] };
    pairs.add(pair);
    client.on('error', () => {});
    const connectUpstream = () => {
      const upstream = net.connect({ host: '127.0.0.1', port: targetPort });
      pair.upstream = upstream;
      upstream.on('error', () => {});
      upstream.on('close', () => { client.destroy(); pairs.delete(pair); });
      client.on('close', () => { upstream.destroy(); pairs.delete(pair); });
      client.pipe(upstream);
      upstream.pipe(client);
    };
    if (mode === 'reset') {
      client.resetAndDestroy();
      pairs.delete(pair);
      return;
    }
    if (mode === 'freeze') {
      client.pause();
      pair.connectLater = connectUpstream;
      client.on('close', () => pairs.delete(pair));
      return;
    }
    connectUpstream();
  });
  await new Promise((resolve, reject) => { server.once('error', reject); server.listen(0, '127.0.0.1', resolve); });
  const proxy = {
    port: server.address().port,
    get mode() { return mode; },
    get accepted() { return accepted; },
    get open() { return pairs.size; },
    freeze() {
      mode = 'freeze';
      for (const p of pairs) {
        p.client.pause();
        if (p.upstream) p.upstream.pause();
      }
    },
    pass() {
      mode = 'pass';
      for (const p of [...pairs]) {
        if (p.connectLater) { const c = p.connectLater; p.connectLater = null; c(); p.client.resume(); continue; }
        p.client.resume();
        if (p.upstream) p.upstream.resume();
      }
    },
    orphan() {
      mode = 'pass';
      for (const p of [...pairs]) {
        if (!p.upstream) continue;
        p.client.unpipe();
        p.upstream.unpipe();
        p.client.removeAllListeners('close');
        p.client.pause();
        p.upstream.removeAllListeners('close');
        p.upstream.destroy();
        p.upstream = null;
      }
    },
    reset() {
      mode = 'reset';
      for (const p of [...pairs]) {
        try { p.client.resetAndDestroy(); } catch { p.client.destroy(); }
        if (p.upstream) p.upstream.destroy();
        pairs.delete(p);
      }
    },
    close() {
      for (const p of pairs) { p.client.destroy(); if (p.upstream) p.upstream.destroy(); }
      pairs.clear();
      return new Promise((resolve) => server.close(() => resolve()));
    },
  };
  return proxy;
}

// ------------------------------------------------------------------------------------------- POST load

/**
 * Sends POSTs over keep-alive connections, `concurrency` at a time, until `paths` runs dry, `stop()` is
 * called or durationMs passes. Each request has its own time bound. Resolves an array of
 * {path, status (0 for a transport error), ms, start, end, error}.
 */
export function postLoad(port, paths, { concurrency = 4, timeoutMs = 5000, durationMs = 30000, pauseMs = 0 } = {}) {
  const agent = new http.Agent({ keepAlive: true, maxSockets: concurrency });
  const results = [];
  let stopped = false;
  const deadline = Date.now() + durationMs;
  const iter = paths[Symbol.iterator]();

  function one(p) {
    return new Promise((resolve) => {
      const start = Date.now();
      let settled = false;
      const finish = (status, error) => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        const end = Date.now();
        results.push({ path: p, status, ms: end - start, start, end, error });
        resolve();
      };
      const req = http.request({ host: '127.0.0.1', port, method: 'POST', path: p, agent }, (res) => {
        res.resume();
        res.on('end', () => finish(res.statusCode));
        res.on('error', (e) => finish(0, e.message));
      });
      const timer = setTimeout(() => { req.destroy(new Error(`no answer within ${timeoutMs} ms`)); }, timeoutMs);
      req.on('error', (e) => finish(0, e.message));
      req.end();
    });
  }

  async function worker() {
    for (;;) {
      if (stopped || Date.now() > deadline) return;
      const n = iter.next();
      if (n.done) return;
      await one(n.value);
      if (pauseMs) await sleep(pauseMs);
    }
  }

  const done = Promise.all(Array.from({ length: concurrency }, worker)).then(() => { agent.destroy(); return results; });
  return { done, results, stop: () => { stopped = true; return done; } };
}

// ------------------------------------------------------------------------------------------- feed view

/**
 * What a client that follows the feed protocol knows after the given messages: per cluster its states
 * and version (from hellos and from updates whose `from` is not above its version). Also counts hellos
 * and the updates a client would have had to ask a resync for (gaps).
 */
export function feedView(messages) {
  const clusters = new Map();
  let hellos = 0;
  let gaps = 0;
  for (const m of messages) {
    if (m.type === 'hello') {
      hellos += 1;
      for (const c of m.clusters) clusters.set(c.name, { version: c.version, states: c.states.split('').map(Number) });
    } else if (m.type === 'update') {
      for (const u of m.clusters) {
        const c = clusters.get(u.name);
        if (!c) continue;
        if (u.from > c.version) { gaps += 1; continue; }
        for (const [shard, state] of u.changes || []) c.states[shard] = state;
        c.version = Math.max(c.version, u.to);
      }
    }
  }
  return { clusters, hellos, gaps };
}

/**
 * The states of a cluster as Redis holds them (the <prefix>:{<cluster>}:states string, one byte per shard):
 * an array of `shards` numbers, 0 for a shard that never reported.
 */
export function redisStates(port, cluster, shards, prefix = 'glance') {
  return clusterStates(port, cluster, shards, prefix);
}

/** Shard ids whose state differs between two arrays (at most `limit` of them, for messages). */
export function differences(a, b, limit = 10) {
  const out = [];
  for (let i = 0; i < Math.max(a.length, b.length) && out.length < limit; i++) if (a[i] !== b[i]) out.push([i, a[i], b[i]]);
  return out;
}

/** Percentile (0..100) of an array of numbers. */
export function percentile(values, p) {
  if (values.length === 0) return NaN;
  const s = [...values].sort((x, y) => x - y);
  return s[Math.min(s.length - 1, Math.ceil((p / 100) * s.length) - 1)];
}

// ------------------------------------------------------------------------------------------- WebSocket frames

/** A masked client frame with any opcode and payload (the length may be claimed bigger than sent). */
export function clientFrame(opcode, payload, { fin = true, claim } = {}) {
  const body = Buffer.from(payload);
  const len = claim ?? body.length;
  const mask = crypto.randomBytes(4);
  let head;
  if (len < 126) head = Buffer.from([(fin ? 0x80 : 0) | opcode, 0x80 | len]);
  else if (len < 65536) { head = Buffer.alloc(4); head[0] = (fin ? 0x80 : 0) | opcode; head[1] = 0x80 | 126; head.writeUInt16BE(len, 2); }
  else { head = Buffer.alloc(10); head[0] = (fin ? 0x80 : 0) | opcode; head[1] = 0x80 | 127; head.writeBigUInt64BE(BigInt(len), 2); }
  return Buffer.concat([head, mask, Buffer.from(body.map((b, i) => b ^ mask[i % 4]))]);
}

/**
 * Reads server frames from a raw socket (rawWebSocket's, with the bytes it read past the 101 in `rest`):
 * {frames: [{opcode, payload, at}], bytes, closed, resume()}. With {paused: true} nothing is read until
 * resume() is called.
 */
export function frameReader(socket, rest, { paused = false } = {}) {
  let buf = rest;
  const state = { frames: [], bytes: rest.length, closed: false, resume: () => socket.resume() };
  const parse = () => {
    for (;;) {
      if (buf.length < 2) return;
      let len = buf[1] & 0x7f;
      let off = 2;
      if (len === 126) { if (buf.length < 4) return; len = buf.readUInt16BE(2); off = 4; }
      else if (len === 127) { if (buf.length < 10) return; len = Number(buf.readBigUInt64BE(2)); off = 10; }
      if (buf.length < off + len) return;
      state.frames.push({ opcode: buf[0] & 0x0f, payload: buf.subarray(off, off + len), at: Date.now() });
      buf = buf.subarray(off + len);
    }
  };
  socket.on('data', (d) => { state.bytes += d.length; buf = Buffer.concat([buf, d]); parse(); });
  socket.on('close', () => { state.closed = true; });
  socket.on('error', () => {});
  if (paused) socket.pause(); else socket.resume();
  parse();
  return state;
}
