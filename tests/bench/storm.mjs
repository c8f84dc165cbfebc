// storm.mjs -- benchmark for issue 17: a reconnect storm. N feed clients (10,000 by default) connect to one
// server within one second, spread evenly (as the browsers of a replica that died come back with jittered
// backoff), and each waits for its whole hello. Reported per row: the time from each client's start to its last
// hello byte (p50, p99, max), the time until every client holds one, the bytes the server sent (counted by the
// clients: handshake answers and frames), and the server's CPU seconds (/proc, from the first connection to the
// last hello). Rows: glance-api with and without permessage-deflate at 360 and 100,000 shards, and the baseline
// port of the original (Python, aiohttp: it compresses per client, with context, when offered) at 360.
//
// The clients are raw sockets in this one Node process that count bytes rather than parse JSON, so they cost
// as little as they can; they share the machine's two cores with the server all the same.
// Usage: bash -c 'ulimit -n 65536; node tests/bench/storm.mjs [--clients 10000] [--spread-ms 1000] [--json]'
import net from 'node:net';
import crypto from 'node:crypto';
import { cleanup, getMetrics, metricValue, redis, startApi, startRedis, statesKey } from '../integration/harness.mjs';
import { cpuSeconds, machine, percentile, startBaseline, stopAll } from './lib.mjs';

const argv = process.argv.slice(2);
const arg = (name, dflt) => { const i = argv.indexOf(`--${name}`); return i >= 0 ? Number(argv[i + 1]) : dflt; };
const CLIENTS = arg('clients', 10000);
const SPREAD_MS = arg('spread-ms', 1000);
const LIMIT_MS = 120000; // a row that takes longer than this is reported as cut short
const OFFER = 'permessage-deflate; client_max_window_bits';

/** A fleet's states: mostly online, a scattering of the others, the same every run (a seeded generator). */
function fleetStates(shards) {
  let x = 0x9e3779b9;
  const next = () => { x ^= x << 13; x ^= x >>> 17; x ^= x << 5; return (x >>> 0) / 2 ** 32; };
  const s = Buffer.alloc(shards, '3');
  for (let i = 0; i < shards; i += 1) {
    const r = next();
    if (r < 0.01) s[i] = 0x31; else if (r < 0.015) s[i] = 0x34; else if (r < 0.02) s[i] = 0x36;
  }
  return s;
}

/**
 * One client: connects, upgrades (offering permessage-deflate when `deflate`), and reads frames until a data
 * frame with FIN has all its bytes. Resolves {ms, bytes, compressed} and keeps the socket open (the caller closes).
 */
function client(port, deflate, sockets) {
  return new Promise((resolve, reject) => {
    const started = performance.now();
    const sock = net.connect({ host: '127.0.0.1', port });
    sockets.push(sock);
    let bytes = 0;
    let phase = 'http';
    let head = Buffer.alloc(0); // the handshake answer, then a frame's header, as they arrive
    let payloadLeft = 0;
    let fin = false;
    let data = false;
    let compressed = false;
    sock.setNoDelay(true);
    sock.on('connect', () => {
      const key = crypto.randomBytes(16).toString('base64');
      sock.write(`GET /api/feed HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n`
        + `Sec-WebSocket-Key: ${key}\r\nSec-WebSocket-Version: 13\r\n${deflate ? `Sec-WebSocket-Extensions: ${OFFER}\r\n` : ''}\r\n`);
    });
    sock.on('error', reject);
    sock.on('data', (chunk) => {
      bytes += chunk.length;
      let buf = chunk;
      while (buf.length > 0 && phase !== 'done') {
        if (phase === 'http') {
          head = Buffer.concat([head, buf]);
          const end = head.indexOf('\r\n\r\n');
          if (end < 0) return;
          if (!/^HTTP\/1\.1 101/.test(head.subarray(0, 12).toString('latin1'))) { reject(new Error(head.subarray(0, 80).toString())); return; }
          buf = head.subarray(end + 4);
          head = Buffer.alloc(0);
          phase = 'header';
        } else if (phase === 'header') {
          head = Buffer.concat([head, buf]);
          if (head.length < 2) return;
          let len = head[1] & 0x7f;
          let n = 2;
          if (len === 126) { if (head.length < 4) return; len = head.readUInt16BE(2); n = 4; }
          if (len === 127) { if (head.length < 10) return; len = Number(head.readBigUInt64BE(2)); n = 10; }
          fin = (head[0] & 0x80) !== 0;
          data = (head[0] & 0x0f) === 1 || (head[0] & 0x0f) === 2 || (data && (head[0] & 0x0f) === 0);
          compressed = compressed || (head[0] & 0x40) !== 0;
          payloadLeft = len;
          buf = head.subarray(n);
          head = Buffer.alloc(0);
          phase = 'payload';
        }
        if (phase === 'payload') {
          const take = Math.min(payloadLeft, buf.length);
          payloadLeft -= take;
          buf = buf.subarray(take);
          if (payloadLeft === 0) {
            if (fin && data) {
              phase = 'done';
              resolve({ ms: performance.now() - started, bytes, compressed });
            } else {
              phase = 'header';
            }
          }
        }
      }
    });
  });
}

/** The storm: CLIENTS clients started evenly over SPREAD_MS, each resolved at its hello. */
async function storm(port, pid, deflate, clients = CLIENTS) {
  const sockets = [];
  const cpu0 = cpuSeconds(pid);
  const t0 = performance.now();
  const waits = [];
  for (let i = 0; i < clients; i += 1) {
    const at = (i * SPREAD_MS) / clients;
    const delay = at - (performance.now() - t0);
    if (delay > 1) await new Promise((r) => setTimeout(r, delay));
    waits.push(client(port, deflate, sockets));
  }
  let timer;
  const limit = new Promise((_, reject) => { timer = setTimeout(() => reject(new Error(`not every client had a hello within ${LIMIT_MS} ms`)), LIMIT_MS); });
  const results = await Promise.race([Promise.all(waits), limit]).finally(() => clearTimeout(timer));
  const allMs = performance.now() - t0;
  const cpu = cpuSeconds(pid) - cpu0;
  for (const s of sockets) s.destroy();
  const ms = results.map((r) => r.ms).sort((a, b) => a - b);
  return {
    clients,
    p50_ms: percentile(ms, 50),
    p99_ms: percentile(ms, 99),
    max_ms: ms[ms.length - 1],
    all_ms: allMs,
    bytes: results.reduce((a, r) => a + r.bytes, 0),
    compressed: results.filter((r) => r.compressed).length,
    cpu_s: cpu,
  };
}

async function glanceRow(shards, deflate, clients = CLIENTS) {
  const rds = await startRedis();
  await redis(rds.port, 'SET', statesKey('main'), fleetStates(shards).toString('latin1'));
  // every shard a health key, or the sweep would turn the online ones unhealthy during the storm
  await redis(rds.port, 'EVAL', `for i = 0, tonumber(ARGV[1]) - 1 do
    redis.call('SET', 'glance:{main}:hb:' .. i, '1', 'PX', 600000) end`, '0', String(shards));
  const api = await startApi({ redisPort: rds.port, bots: `main:${shards}`, env: { GLANCE_FEED_MAX_CLIENTS: 100000 } });
  const r = await storm(api.port, api.pid, deflate, clients);
  r.hello_bytes = Math.round(r.bytes / clients);
  r.sent_metric = metricValue(await getMetrics(api.port), 'glance_feed_bytes_sent_total');
  await api.stop();
  await cleanup();
  return r;
}

async function baselineRow(shards, deflate) {
  const b = await startBaseline({ bots: `main:${shards}` });
  const r = await storm(b.port, b.pid, deflate);
  r.hello_bytes = Math.round(r.bytes / CLIENTS);
  await b.stop();
  return r;
}

const fmt = (x, d = 0) => Number(x).toLocaleString('en-US', { maximumFractionDigits: d, minimumFractionDigits: d });

const rows = [];
try {
  // this process's own warm-up (its JIT, its sockets), so that the first row does not pay for it
  process.stderr.write('storm: warm-up, 2,000 clients\n');
  await glanceRow(360, false, 2000);
  for (const shards of [360, 100000]) {
    for (const deflate of [false, true]) {
      process.stderr.write(`storm: glance-api, ${shards} shards, ${deflate ? 'deflate' : 'plain'}\n`);
      rows.push({ server: 'glance-api', shards, deflate, ...(await glanceRow(shards, deflate)) });
    }
  }
  for (const deflate of [false, true]) {
    process.stderr.write(`storm: baseline, 360 shards, ${deflate ? 'deflate' : 'plain'}\n`);
    rows.push({ server: 'baseline (Python, aiohttp)', shards: 360, deflate, ...(await baselineRow(360, deflate)) });
  }
} finally {
  await stopAll();
  await cleanup();
}

if (argv.includes('--json')) {
  console.log(JSON.stringify({ machine: machine(), clients: CLIENTS, spread_ms: SPREAD_MS, rows }, null, 2));
} else {
  const m = machine();
  console.log(`### Reconnect storm (issue 17), ${new Date().toISOString().slice(0, 16).replace('T', ' ')} UTC, ${m.nproc} cores\n`);
  console.log(`${fmt(CLIENTS)} clients starting evenly over ${fmt(SPREAD_MS)} ms, each until its whole hello.\n`);
  console.log('| server | shards | permessage-deflate | hello p50 ms | p99 ms | max ms | all hold one, ms | bytes sent | per client | server CPU s | µs per hello |');
  console.log('|---|---|---|---|---|---|---|---|---|---|---|');
  for (const r of rows) {
    console.log(`| ${r.server} | ${fmt(r.shards)} | ${r.deflate ? `offered (${fmt(r.compressed)} compressed)` : 'no'} | ${fmt(r.p50_ms, 1)} | ${fmt(r.p99_ms, 1)} | ${fmt(r.max_ms, 1)} | ${fmt(r.all_ms)} | ${fmt(r.bytes)} | ${fmt(r.hello_bytes)} | ${fmt(r.cpu_s, 2)} | ${fmt((r.cpu_s * 1e6) / r.clients)} |`);
  }
}
