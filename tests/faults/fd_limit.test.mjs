// fd_limit.test.mjs -- a replica at its descriptor limit (run under `prlimit --nofile=256`): it raises its
// soft limit to the hard one, keeps feed clients below what the limit allows (and says so), answers
// connections beyond its reserve with a 503 instead of letting them take the descriptors its Redis
// connections need, and never spins: before, 700 idle connections at `ulimit -n 512` put the accept loop at
// 100 % CPU and left Redis unable to reconnect for 23 s ("Too many open files").

import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import { readFileSync } from 'node:fs';
import { startRedis, freePort, redis, request, waitUntil, sleep, rawWebSocket, cleanup, API_BIN, REPO_ROOT } from '../integration/harness.mjs';
import { spawnTracked, proved, stopAll } from './lib.mjs';

const LIMIT = 256;
const IDLE = 400;

after(async () => { await stopAll(); await cleanup(); });

/** CPU seconds (user + system) the process has used. */
function cpuSeconds(pid) {
  const f = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
  return (Number(f[11]) + Number(f[12])) / 100;
}

/** How many of Redis's clients are not the redis-cli asking. */
async function replicaConnections(port) {
  return (await redis(port, 'CLIENT', 'LIST')).split('\n').filter((l) => l && !/cmd=client/.test(l)).length;
}

describe(`a replica run with ${LIMIT} open files at most, and ${IDLE} idle connections`, { timeout: 60000 }, () => {
  let rds;
  let api;
  let port;
  const sockets = [];
  let refused = 0;
  let cpuWhileHeld;
  let reconnectedMs;
  let feeds;

  before(async () => {
    rds = await startRedis();
    port = await freePort();
    const env = { ...process.env, GLANCE_HOST: '127.0.0.1', GLANCE_PORT: String(port), GLANCE_BOTS: 'main:360',
      GLANCE_REDIS_URL: `redis://127.0.0.1:${rds.port}/0`, GLANCE_REDIS_TIMEOUT_MS: '1000', GLANCE_WEB_ROOT: `${REPO_ROOT}/web` };
    api = spawnTracked('prlimit', [`--nofile=${LIMIT}:${LIMIT}`, '--', API_BIN], { label: 'glance-api', env });
    await waitUntil(async () => (await request(port, 'GET', '/readyz', { timeoutMs: 1000 }).catch(() => ({}))).status === 200,
      { timeoutMs: 10000, message: '/readyz 200' });
    for (let i = 0; i < IDLE; i++) {
      const s = net.connect({ host: '127.0.0.1', port });
      s.on('error', () => {});
      s.on('data', (d) => { if (/^HTTP\/1\.1 503/.test(String(d))) refused++; });
      sockets.push(s);
    }
    await waitUntil(() => refused > 0, { timeoutMs: 5000, message: 'some connections refused' });
    await sleep(500);
    const cpu0 = cpuSeconds(api.pid);
    await sleep(2000);
    cpuWhileHeld = cpuSeconds(api.pid) - cpu0;
    // the replica's Redis connections go; they must come back while every slot for clients is taken
    const killedAt = Date.now();
    await redis(rds.port, 'CLIENT', 'KILL', 'TYPE', 'normal', 'SKIPME', 'yes');
    await redis(rds.port, 'CLIENT', 'KILL', 'TYPE', 'pubsub');
    await waitUntil(async () => (await replicaConnections(rds.port)) >= 2, { timeoutMs: 10000, intervalMs: 20, message: 'the replica back on Redis' });
    reconnectedMs = Date.now() - killedAt;
  });
  after(() => { for (const s of sockets) s.destroy(); });

  it('says it keeps feed clients below what the limit allows', () => {
    assert.match(api.output(), /GLANCE_FEED_MAX_CLIENTS=100000 is more than 256 open files allow/);
  });

  it('answers connections beyond its reserve with a 503 and does not spin', (t) => {
    assert.ok(refused > 0 && refused < IDLE, `${refused} of ${IDLE} refused`);
    assert.ok(cpuWhileHeld < 0.5, `${cpuWhileHeld.toFixed(2)} CPU seconds in 2 s while the connections were held`);
    proved(t, `fd-limit: ${refused} of ${IDLE} idle connections refused with 503 at nofile ${LIMIT}; `
      + `${cpuWhileHeld.toFixed(2)} CPU s in 2 s while held; Redis reconnected in ${reconnectedMs} ms`);
  });

  it('its Redis connections come back while every client slot is taken', () => {
    assert.ok(reconnectedMs < 5000, `${reconnectedMs} ms`);
  });

  it('serves again once the connections go', async () => {
    for (const s of sockets) s.destroy();
    await waitUntil(async () => (await request(port, 'GET', '/readyz', { timeoutMs: 1000 }).catch(() => ({}))).status === 200,
      { timeoutMs: 15000, message: '/readyz 200 after the connections went' });
    feeds = 0;
    const opened = [];
    for (let i = 0; i < LIMIT; i++) {
      const ws = await rawWebSocket(port, { timeoutMs: 3000 }).catch(() => null);
      if (ws === null) break;
      opened.push(ws);
      feeds++;
    }
    assert.ok(feeds < LIMIT - 32, `${feeds} feed clients accepted`);
    for (const ws of opened) ws.socket.destroy();
  });

  it('shuts down cleanly', async () => {
    process.kill(api.pid, 'SIGTERM');
    const code = await new Promise((resolve) => api.once('exit', (c) => resolve(c)));
    assert.equal(code, 0, api.output().slice(-2000));
  });
});
