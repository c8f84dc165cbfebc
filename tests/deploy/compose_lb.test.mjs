// compose_lb.test.mjs -- the load balancer exactly as docker compose runs it (deploy/haproxy.cfg plus
// deploy/haproxy.docker.cfg, unchanged), without Docker: the test plays Docker's embedded DNS on
// 127.0.0.11:53 and runs each "container" as a glance-api on its own loopback address, port 8080, the way
// compose's replicas each have their own IP. Scaling up and down only changes what the DNS answers.
// Needs root (port 53) and port 8080 free on 127.0.0.2-4; skipped otherwise.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import http from 'node:http';
import net from 'node:net';
import path from 'node:path';
import { REPO_ROOT, startRedis, spawnApi, makeTempDir, freePort, waitUntil, request, cleanup } from '../integration/harness.mjs';
import { startDns, queryA } from './dns.mjs';
import { lbServers, alive } from './stack.mjs';

const ADDRS = ['127.0.0.2', '127.0.0.3', '127.0.0.4'];

/** GET/POST to host:port with a fresh connection; resolves {status, replica}. */
function call(host, port, method, reqPath) {
  return new Promise((resolve, reject) => {
    const req = http.request({ host, port, method, path: reqPath, agent: false, headers: { 'content-length': 0 } });
    req.setTimeout(3000, () => req.destroy(new Error(`${method} ${reqPath}: timeout`)));
    req.on('response', (res) => { res.resume(); res.on('end', () => resolve({ status: res.statusCode, replica: res.headers['x-glance-replica'] })); });
    req.on('error', reject);
    req.end();
  });
}

function canListen(host, port) {
  return new Promise((resolve) => {
    const srv = net.createServer();
    srv.once('error', () => resolve(false));
    srv.listen(port, host, () => srv.close(() => resolve(true)));
  });
}

let dns;

async function whyNot() {
  if (typeof process.getuid === 'function' && process.getuid() !== 0) return 'needs root to play Docker\'s DNS on port 53';
  for (const a of ADDRS) if (!(await canListen(a, 8080))) return `port 8080 is taken on ${a}`;
  try {
    dns = await startDns({ records: { api: [ADDRS[0], ADDRS[1]], 'probe.glance.test': ['127.0.0.9'] } });
  } catch (e) {
    return `cannot listen on 127.0.0.11:53 (${e.message})`;
  }
  // inside a Docker container, 127.0.0.11:53 is redirected to Docker's own resolver: make sure we get the queries
  if (JSON.stringify(await queryA('probe.glance.test')) !== '["127.0.0.9"]') {
    await dns.close();
    dns = null;
    return '127.0.0.11:53 does not reach the test\'s DNS (Docker\'s own resolver is there)';
  }
  return null;
}

const skip = (await whyNot()) || false;
let redisSrv;
let haproxy;
let lbPort;
let statsPort;
const replicas = new Map(); // address -> spawnApi handle

async function startReplica(addr) {
  const api = spawnApi({
    GLANCE_HOST: addr,
    GLANCE_PORT: 8080,
    GLANCE_REDIS_URL: `redis://127.0.0.1:${redisSrv.port}/0`,
    GLANCE_BOTS: 'main:360',
    GLANCE_WEB_ROOT: path.join(REPO_ROOT, 'web'),
    GLANCE_REPLICA_NAME: `c${addr.split('.')[3]}`,
  });
  replicas.set(addr, api);
  await waitUntil(async () => (await call(addr, 8080, 'GET', '/readyz').catch(() => ({}))).status === 200,
    { timeoutMs: 10000, message: `the replica on ${addr}:8080 to be ready` });
  return api;
}

/** Sends n POSTs through the load balancer; resolves {replica: count}, failing on anything but 204. */
async function spread(n) {
  const seen = {};
  for (let i = 0; i < n; i++) {
    const r = await call('127.0.0.1', lbPort, 'POST', `/api/status/main/${i}/3`);
    assert.equal(r.status, 204);
    seen[r.replica] = (seen[r.replica] || 0) + 1;
  }
  return seen;
}

const upServers = async () => Object.values(await lbServers(statsPort)).filter((s) => s === 'UP').length;

before(async () => {
  if (skip) return;
  redisSrv = await startRedis();
  await startReplica(ADDRS[0]);
  await startReplica(ADDRS[1]);
  lbPort = await freePort();
  statsPort = await freePort();
  const dir = makeTempDir('glance-lb-');
  haproxy = spawn('haproxy', ['-db', '-f', path.join(REPO_ROOT, 'deploy/haproxy.cfg'), '-f', path.join(REPO_ROOT, 'deploy/haproxy.docker.cfg')], {
    env: { ...process.env, GLANCE_LB_BIND: `127.0.0.1:${lbPort}`, GLANCE_LB_STATS_BIND: `127.0.0.1:${statsPort}`, GLANCE_LB_SOCKET: path.join(dir, 'admin.sock') },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  haproxy.output = '';
  haproxy.stdout.on('data', (d) => { haproxy.output += d; });
  haproxy.stderr.on('data', (d) => { haproxy.output += d; });
  process.on('exit', () => { try { process.kill(haproxy.pid, 'SIGKILL'); } catch {} });
});

after(async () => {
  if (haproxy && alive(haproxy.pid)) {
    haproxy.kill('SIGKILL');
    await new Promise((resolve) => haproxy.once('exit', resolve));
  }
  await dns?.close();
  await cleanup();
});

test('the compose HAProxy finds the replicas through Docker\'s DNS and spreads POSTs over them', { skip }, async () => {
  await waitUntil(async () => (await upServers()) === 2, { timeoutMs: 15000, intervalMs: 100, message: `two servers up (HAProxy output: ${haproxy.output.slice(-500)})` });
  const servers = await lbServers(statsPort);
  assert.equal(Object.keys(servers).length, 10, 'GLANCE_LB_SLOTS defaults to 10 server slots');
  assert.equal(Object.values(servers).filter((s) => s.startsWith('MAINT')).length, 8, `empty slots wait in maintenance: ${JSON.stringify(servers)}`);
  const seen = await spread(30);
  assert.deepEqual(Object.keys(seen).sort(), ['c2', 'c3'], JSON.stringify(seen));
  assert.ok(dns.queries > 0);
});

test('scaling up is a new DNS answer: a third replica takes traffic with no configuration change', { skip }, async () => {
  await startReplica(ADDRS[2]);
  dns.set('api', ADDRS);
  await waitUntil(async () => (await upServers()) === 3, { timeoutMs: 15000, intervalMs: 100, message: 'three servers up' });
  const seen = await spread(30);
  assert.deepEqual(Object.keys(seen).sort(), ['c2', 'c3', 'c4'], JSON.stringify(seen));
});

test('scaling down: a replica that stops and leaves the DNS leaves the rotation, and no request fails', { skip }, async () => {
  dns.set('api', [ADDRS[0], ADDRS[2]]);
  const gone = replicas.get(ADDRS[1]);
  gone.child.kill('SIGTERM');
  await gone.waitExit(15000);
  await waitUntil(async () => (await upServers()) === 2, { timeoutMs: 15000, intervalMs: 100, message: 'two servers up' });
  const seen = await spread(30);
  assert.deepEqual(Object.keys(seen).sort(), ['c2', 'c4'], JSON.stringify(seen));
  const r = await request(lbPort, 'GET', '/readyz');
  assert.equal(r.status, 200);
});
