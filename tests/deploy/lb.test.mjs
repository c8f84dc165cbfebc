// lb.test.mjs -- three glance-api replicas behind HAProxy (deploy/stack.sh with deploy/haproxy.cfg): writes
// spread over every replica, every feed client hears every change whichever replica it is on, and the
// stack's own commands (status, down) do what they say.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { request, getMetrics, metricValue, shardState, waitUntil, cleanup } from '../integration/harness.mjs';
import { stackUp, BrowserFeed, alive } from './stack.mjs';

let stack;
const feeds = [];

before(async () => {
  stack = await stackUp({ replicas: 3, bots: 'main:360;demo:4' });
});

after(async () => {
  for (const f of feeds) f.stop();
  if (stack) await stack.down();
  await cleanup();
});

test('stack.sh up starts Redis, three replicas and HAProxy, and HAProxy sees every replica up', async () => {
  assert.deepEqual(stack.procs.map((p) => p.name), ['redis', 'api1', 'api2', 'api3', 'haproxy']);
  assert.deepEqual(await stack.servers(), { api1: 'UP', api2: 'UP', api3: 'UP' });
  const ready = await request(stack.lbPort, 'GET', '/readyz');
  assert.equal(ready.status, 200);
  const st = await stack.status();
  assert.equal(st.code, 0, `stack.sh status: ${st.stdout}${st.stderr}`);
  for (const name of ['redis', 'api1', 'api2', 'api3', 'haproxy']) assert.match(st.stdout, new RegExp(`^${name} `, 'm'));
  assert.match(st.stdout, /haproxy sees: api1 UP api2 UP api3 UP/);
});

test('bots POSTing through the load balancer land on every replica (header and /metrics agree)', async () => {
  const before204 = {};
  for (const r of stack.replicas()) before204[r.name] = metricValue(await getMetrics(r.port), 'glance_http_requests_total', { code: '204' }) || 0;

  // one keep-alive connection, like a bot's HTTP client: HAProxy still balances request by request
  const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
  const seen = {};
  const total = 60;
  for (let i = 0; i < total; i++) {
    const res = await new Promise((resolve, reject) => {
      const req = http.request({ host: '127.0.0.1', port: stack.lbPort, method: 'POST', path: `/api/status/main/${i}/3`, agent, headers: { 'content-length': 0 } });
      req.setTimeout(5000, () => req.destroy(new Error('timeout')));
      req.on('response', (r) => { r.resume(); r.on('end', () => resolve(r)); });
      req.on('error', reject);
      req.end();
    });
    assert.equal(res.statusCode, 204);
    const replica = res.headers['x-glance-replica'];
    seen[replica] = (seen[replica] || 0) + 1;
  }
  agent.destroy();
  assert.deepEqual(Object.keys(seen).sort(), ['api1', 'api2', 'api3'], `replicas that answered: ${JSON.stringify(seen)}`);
  for (const [name, n] of Object.entries(seen)) assert.ok(n >= total / 3 - 2, `round robin: ${name} answered ${n} of ${total}`);

  let sum = 0;
  for (const r of stack.replicas()) {
    const delta = metricValue(await getMetrics(r.port), 'glance_http_requests_total', { code: '204' }) - before204[r.name];
    assert.equal(delta, seen[r.name], `${r.name}'s /metrics counts the 204s its header claimed`);
    sum += delta;
  }
  assert.equal(sum, total);
  for (let i = 0; i < total; i++) assert.equal(await shardState(stack.redisPort, 'main', i), '3');
});

test('feed clients connected through the load balancer, on every replica, receive every change', async () => {
  for (let i = 0; i < 6; i++) {
    const f = new BrowserFeed(stack.lbPort);
    feeds.push(f);
    await f.start();
  }
  const byReplica = {};
  for (const f of feeds) byReplica[f.current.replica] = (byReplica[f.current.replica] || 0) + 1;
  assert.deepEqual(Object.keys(byReplica).sort(), ['api1', 'api2', 'api3'], `feeds per replica: ${JSON.stringify(byReplica)}`);

  // changes sent to every replica in turn; each feed must end up with all of them, whatever replica it is on
  const expected = new Map();
  for (let i = 0; i < 45; i++) {
    const shard = 100 + i;
    const state = 2 + (i % 5);
    const r = await request(stack.lbPort, 'POST', `/api/status/main/${shard}/${state}`);
    assert.equal(r.status, 204);
    expected.set(shard, state);
  }
  const r = await request(stack.lbPort, 'POST', '/api/status/demo/3/5');
  assert.equal(r.status, 204);
  for (const f of feeds) {
    await f.waitFor(() => [...expected].every(([s, st]) => f.states('main')[s] === st) && f.states('demo')[3] === 5,
      10000, `every change on the feed via ${f.current.replica}`);
    assert.equal(f.connections.length, 1, 'no feed had to reconnect');
  }
});

let stoppedDir;

test('stack.sh down stops every process it started, by PID; feeds through HAProxy are closed with 1001 first', async () => {
  const pids = stack.procs.map((p) => p.pid);
  const r = await stack.down();
  assert.equal(r.code, 0, r.stdout + r.stderr);
  await waitUntil(() => pids.every((pid) => !alive(pid)), { timeoutMs: 5000, message: 'every stack process to be gone' });
  for (const f of feeds) {
    await f.waitFor(() => f.connections[0].closedAt, 5000, 'the feed to close');
    assert.equal(f.connections[0].closeCode, 1001, `the feed via ${f.connections[0].replica} was told "going away"`);
    f.stop();
  }
  const st = await stack.status();
  assert.equal(st.code, 3, st.stdout);
  assert.match(st.stdout, /not running/);
  stoppedDir = stack.dir;
  stack = null;
});

// HAProxy keeps idle connections to every server for reuse, so a SIGTERM'd replica always holds some;
// h2o 2.2.5 cannot dispose of its context while they are open, and main.c must not abort over it.
test('behind HAProxy, every replica shuts down cleanly on SIGTERM (logs "stopped", no abort)', () => {
  assert.ok(stoppedDir, 'the stack was stopped');
  for (const name of ['api1', 'api2', 'api3']) {
    const log = readFileSync(path.join(stoppedDir, 'logs', `${name}.log`), 'utf8');
    assert.doesNotMatch(log, /Assertion|Aborted|AddressSanitizer|runtime error/, `${name}'s log:\n${log.slice(-600)}`);
    assert.match(log, /info stopped[^\n]*\s*$/, `${name} logged "stopped" last`);
  }
});
