// compose.test.mjs -- the project's docker-compose.yml, unchanged, under a real Docker engine of the suite's
// own: up with the demo profile, a write seen on a feed, scaling to 5, a replica killed and one stopped under
// a steady POST load (no request fails, no acknowledged write is lost), and `down` with dashboards open
// (every feed closed with 1001, within the grace period). Only the images that come from a registry are
// swapped for stand-ins built from Debian (see engine.mjs); all traffic goes to the 127.0.0.1 ports the
// stack publishes. GLANCE_TEST_COMPOSE=0 skips it; anything else that keeps it from running fails it.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync, rmSync } from 'node:fs';
import path from 'node:path';
import { freePort, request, waitUntil, sleep, openFeed, hasChange, statesKey, cleanup } from '../integration/harness.mjs';
import { postLoad } from '../deploy/stack.mjs';
import { startEngine, ensureBaseImages, readComposeFile, buildStandIns, composeProject, runDir, check } from './engine.mjs';

const skip = process.env.GLANCE_TEST_COMPOSE === '0' ? 'GLANCE_TEST_COMPOSE=0 turns the compose suite off' : false;

// our own project name: its containers, network and volume can be told from anyone else's, and a
// leftover of a run that died is found and removed by the next one
const PROJECT = 'glancecomposetest';
const PASSPHRASE = 'compose-suite-passphrase-7f3a';
const AUTH = { authorization: `Bearer ${PASSPHRASE}`, 'content-length': 0 };
// the POST loads write one shard each, so a cluster big enough for every request of one load
const LOAD = { cluster: 'load', shards: 3000, rate: 250, durationMs: 10000 };
const BOTS = `main:360;demo:16;${LOAD.cluster}:${LOAD.shards}`;

let engine;
let compose;
let doc;
let dir;
let lbPort;
let statsPort;
let graceMs;
const setupTimes = [];
const started = Date.now();

/** "15s", "1m30s", "500ms" (compose durations) -> milliseconds. */
function durationMs(text) {
  let ms = 0;
  for (const [, n, unit] of String(text).matchAll(/(\d+(?:\.\d+)?)(ms|us|h|m|s)/g)) {
    ms += Number(n) * { h: 3600000, m: 60000, s: 1000, ms: 1, us: 0.001 }[unit];
  }
  return ms;
}

const lines = (text) => text.split('\n').map((l) => l.trim()).filter(Boolean);

async function containers(service) {
  return lines(check(await compose.run(['ps', '-q', service]), `docker-compose ps ${service}`).stdout);
}

/** docker inspect with a format, one line per container. */
async function inspect(ids, format) {
  return lines(check(await engine.docker(['inspect', '--format', format, ...ids]), 'docker inspect').stdout);
}

async function running(service) {
  const ids = await containers(service);
  if (ids.length === 0) return [];
  const states = await inspect(ids, '{{.State.Running}}');
  return ids.filter((_, i) => states[i] === 'true');
}

async function waitHealthy(count) {
  return waitUntil(async () => {
    const ids = await running('api');
    if (ids.length !== count) return false;
    const health = await inspect(ids, '{{.State.Health.Status}}');
    return health.every((h) => h === 'healthy') && ids;
  }, { timeoutMs: 120000, intervalMs: 1000, message: `${count} api replicas running and healthy` });
}

async function lbLogs(tail = 80) {
  const r = await compose.run(['logs', '--no-color', '--tail', String(tail), 'lb'], { timeoutMs: 30000 });
  return `--- docker-compose logs lb (last ${tail}) ---\n${r.stdout}${r.stderr}`;
}

/** HAProxy's stats CSV, one object per row, keyed by the header's names. */
async function lbRows() {
  const r = await request(statsPort, 'GET', '/stats;csv', { timeoutMs: 2000 });
  if (r.status !== 200) throw new Error(`HAProxy stats answered ${r.status}`);
  const [head, ...rows] = lines(r.body);
  const names = head.replace(/^# /, '').split(',');
  return rows.map((l) => Object.fromEntries(l.split(',').map((v, i) => [names[i], v])));
}

const serverRows = async (backend = 'api') => (await lbRows())
  .filter((r) => r.pxname === backend && r.svname !== 'FRONTEND' && r.svname !== 'BACKEND');

/** The shard states of the load cluster as Redis holds them: one byte per shard, '0'..'6', NUL for never. */
async function loadStates() {
  const [redisId] = await containers('redis');
  const r = check(await engine.docker(['exec', redisId, 'redis-cli', '--raw', 'GET', statesKey(LOAD.cluster)], { buffer: true }),
    'redis-cli GET');
  const bytes = r.stdout.subarray(0, Math.max(0, r.stdout.length - 1)); // redis-cli adds a newline
  return Array.from({ length: LOAD.shards }, (_, i) => (i < bytes.length && bytes[i] >= 48 ? bytes[i] - 48 : 0));
}

/**
 * A steady POST load through the LB while `disrupt` runs against `victim` (a replica's container id); each
 * request sets a shard of the load cluster to a state it does not hold yet, so that Redis shows afterwards
 * which acknowledged writes landed; the demo fleet, which writes the same cluster, is paused for the while.
 * HAProxy's stats are polled meanwhile, to time how long the victim's slot stays UP after the disruption.
 * Resolves {records (postLoad's), missing (acknowledged writes Redis does not hold), detectedMs, slot}.
 */
async function loadWhile(t, victim, pick, disrupt) {
  const [demoId] = await running('demo');
  if (demoId) check(await engine.docker(['pause', demoId]), 'docker pause demo');
  try {
    const before = await loadStates();
    const want = before.map(pick);
    const [ip] = await inspect([victim], '{{range .NetworkSettings.Networks}}{{.IPAddress}} {{end}}');
    const victimIp = ip.split(' ')[0];
    const slot = (await serverRows()).find((r) => r.addr?.split(':')[0] === victimIp)?.svname;
    assert.ok(slot, `HAProxy has a server for ${victimIp}: ${JSON.stringify((await serverRows()).map((r) => [r.svname, r.addr, r.status]))}`);

    const load = postLoad(lbPort, {
      rate: LOAD.rate, durationMs: LOAD.durationMs, concurrency: 16, headers: AUTH,
      // past HAProxy's own server timeout, so that a request it holds on to shows up as its answer, not ours
      timeoutMs: 40000,
      next: (i) => ({ path: `/api/status/${LOAD.cluster}/${i}/${want[i]}`, shard: i, state: want[i] }),
    });
    await sleep(3000);
    const at = Date.now();
    const disrupted = disrupt(victim).then((r) => ({ ...r, doneMs: Date.now() - at }));
    let detectedMs = null;
    let lastStatus = '';
    let checkStatus = '';
    while (Date.now() - at < 30000) {
      const row = (await serverRows().catch(() => [])).find((r) => r.svname === slot);
      if (row) {
        lastStatus = row.status;
        checkStatus = row.check_status;
        if (!row.status.startsWith('UP')) { detectedMs = Date.now() - at; break; }
      }
      await sleep(50);
    }
    const records = await load;
    const d = await disrupted;
    check(d, 'the disruption');
    const after = await loadStates();
    assert.ok(records.length <= LOAD.shards, 'one shard per request');
    const acked = records.filter((r) => r.status === 204);
    const missing = acked.filter((r) => after[r.shard] !== r.state);
    t.diagnostic(`load: ${records.length} POSTs, ${acked.length} answered 204; replicas that answered: ${new Set(records.map((r) => r.replica).filter(Boolean)).size}`);
    t.diagnostic(`HAProxy took ${slot} (${victimIp}) out of rotation ${detectedMs ?? 'not within 30000'} ms after the disruption began `
      + `(status ${lastStatus}, last check ${checkStatus}); the docker command took ${d.doneMs} ms`);
    const slowest = records.reduce((m, r) => Math.max(m, r.doneAt - r.sentAt), 0);
    t.diagnostic(`slowest request: ${slowest} ms`);
    return { records, missing, detectedMs, slot };
  } finally {
    if (demoId) await engine.docker(['unpause', demoId]);
  }
}

function describeFailures(records) {
  const bad = records.filter((r) => r.status !== 204);
  const counts = {};
  for (const r of bad) counts[`${r.status} ${r.error || ''}`.trim()] = (counts[`${r.status} ${r.error || ''}`.trim()] || 0) + 1;
  return `${bad.length} request(s) failed: ${JSON.stringify(counts)}; first: ${JSON.stringify(bad.slice(0, 5))}`;
}

before(async () => {
  if (skip) return;
  engine = await startEngine({ log: (m) => setupTimes.push(m) });
  const t = Date.now();
  await ensureBaseImages(engine);
  setupTimes.push(`base images: ${Date.now() - t} ms`);
  doc = await readComposeFile();
  graceMs = durationMs(doc.services.api.stop_grace_period || '10s');
  dir = runDir();
  process.on('exit', () => rmSync(dir, { recursive: true, force: true }));
  const overrideFile = path.join(dir, 'override.yml');
  writeFileSync(overrideFile, await buildStandIns(engine, doc, { log: (m) => setupTimes.push(m) }));
  const emptyEnvFile = path.join(dir, 'empty.env');
  writeFileSync(emptyEnvFile, '# the suite configures the stack through the environment only\n');
  [lbPort, statsPort] = [await freePort(), await freePort()];
  // docker-compose.yml publishes "${GLANCE_LB_PORT:-8080}:8080", on every interface: a host address in the
  // variable keeps the suite's stack on loopback. Should the file name an address itself, the port alone.
  const lbSpec = doc.services.lb.ports.map(String).find((p) => /:8080$/.test(p));
  const lbPortValue = /^\$\{GLANCE_LB_PORT/.test(lbSpec) ? `127.0.0.1:${lbPort}` : String(lbPort);
  compose = composeProject(engine, {
    project: PROJECT,
    overrideFile,
    emptyEnvFile,
    env: {
      GLANCE_LB_PORT: lbPortValue,
      GLANCE_LB_STATS_PORT: statsPort,
      GLANCE_BOTS: BOTS,
      GLANCE_PASSPHRASE: PASSPHRASE,
      // shards the paused fleet stops pinging must not turn unhealthy (a state change) while a load is checked
      GLANCE_HEALTH_TIMEOUT: 600,
    },
  });
  // what a run that died may have left behind
  await compose.run(['--profile', 'demo', 'down', '-v', '--remove-orphans', '-t', '1'], { timeoutMs: 120000 });
}, { timeout: 30 * 60000 });

after(async () => {
  if (skip) return;
  await cleanup();
  try {
    if (compose) {
      for (const id of await containers('demo').catch(() => [])) await engine.docker(['unpause', id]);
      await compose.run(['--profile', 'demo', 'down', '-v', '--remove-orphans', '-t', '5'], { timeoutMs: 180000 });
      // Each --build after a source change leaves the previous glance-api:local and build stage untagged. The
      // classic builder's cache is those very images, so only the ones older than a day go: a warm run the
      // same day reuses the build stage's packages, and the data root does not grow without bound.
      await engine.docker(['image', 'prune', '-f', '--filter', 'until=24h'], { timeoutMs: 120000 });
    }
  } finally {
    await engine?.stop();
    if (dir) rmSync(dir, { recursive: true, force: true });
    process.stderr.write(`compose suite: ${Date.now() - started} ms in all\n`);
  }
}, { timeout: 5 * 60000 });

let up = false;
const needUp = () => assert.ok(up, 'the stack did not come up in the first test');

test('up --build with the demo profile: every replica turns healthy, the dashboard and /api/status answer, the demo fleet writes', { skip, timeout: 20 * 60000 }, async (t) => {
  for (const m of setupTimes) t.diagnostic(`setup: ${m}`);
  const lbPorts = doc.services.lb.ports.map(String);
  const published = lbPorts.find((p) => /:8080$/.test(p));
  if (!/^127\.0\.0\.1:/.test(published)) {
    t.diagnostic(`docker-compose.yml publishes the LB as "${published}": on every interface unless GLANCE_LB_PORT names an address (this suite passes 127.0.0.1:${lbPort})`);
  }
  const r = await compose.run(['--profile', 'demo', 'up', '-d', '--build'], { timeoutMs: 15 * 60000 });
  t.diagnostic(`up -d --build: ${r.ms} ms (${(r.stdout.match(/Using cache/g) || []).length} build steps from the cache)`);
  check(r, 'docker-compose up -d --build');
  const size = check(await engine.docker(['image', 'inspect', 'glance-api:local', '--format', '{{.Size}}']), 'image inspect').stdout.trim();
  t.diagnostic(`glance-api:local is ${(Number(size) / 1e6).toFixed(1)} MB`);

  const port = check(await compose.run(['port', 'lb', '8080']), 'docker-compose port').stdout.trim();
  assert.equal(port, `127.0.0.1:${lbPort}`, 'the LB is published on loopback only');
  const replicas = doc.services.api.deploy?.replicas ?? 1;
  const ids = await waitHealthy(replicas);
  assert.equal(ids.length, replicas);
  await waitUntil(async () => (await request(lbPort, 'GET', '/readyz', { timeoutMs: 2000 })).status === 200,
    { timeoutMs: 60000, intervalMs: 250, message: 'GET /readyz through the LB to answer 200' });
  up = true;

  const page = await request(lbPort, 'GET', '/');
  assert.equal(page.status, 200);
  assert.match(page.headers['content-type'], /^text\/html/);
  assert.match(page.body, /<html/i);

  const status = await request(lbPort, 'GET', '/api/status');
  assert.equal(status.status, 200);
  assert.match(status.headers['content-type'], /json/);
  const clusters = status.json().clusters.map((c) => `${c.name}:${c.shards}`).join(';');
  assert.equal(clusters, BOTS, 'the clusters of GLANCE_BOTS, in order');

  // the fleet boots every shard (starting, then online) through the LB
  await waitUntil(async () => {
    const s = (await request(lbPort, 'GET', '/api/status')).json();
    return s.clusters.every((c) => c.states.some((x) => x !== 0));
  }, { timeoutMs: 90000, intervalMs: 1000, message: 'the demo fleet\'s writes in every cluster of /api/status' });
});

test('a POST through the LB is seen on a feed opened through the LB', { skip, timeout: 60000 }, async () => {
  needUp();
  const feed = await openFeed(lbPort);
  try {
    await feed.waitFor((m) => m.type === 'hello', 10000, { what: 'the hello' });
    const shard = LOAD.shards - 1;
    const now = (await request(lbPort, 'GET', `/api/status/${LOAD.cluster}/${shard}`)).json().state;
    const state = now === 5 ? 6 : 5;
    const unauthorised = await request(lbPort, 'POST', `/api/status/${LOAD.cluster}/${shard}/${state}`, { headers: { 'content-length': 0 } });
    assert.equal(unauthorised.status, 401, 'the passphrase reaches the replicas');
    const from = feed.mark();
    const r = await request(lbPort, 'POST', `/api/status/${LOAD.cluster}/${shard}/${state}`, { headers: AUTH });
    assert.equal(r.status, 204, r.body);
    await feed.waitFor((m) => hasChange(m, LOAD.cluster, shard, state), 10000, { from, what: `the change ${LOAD.cluster}/${shard} -> ${state}` });
  } finally {
    feed.close();
  }
});

test('up --scale api=5 --no-recreate: five healthy replicas, and the LB spreads requests over all five', { skip, timeout: 5 * 60000 }, async (t) => {
  needUp();
  check(await compose.run(['--profile', 'demo', 'up', '-d', '--scale', 'api=5', '--no-recreate'], { timeoutMs: 5 * 60000 }), 'up --scale api=5');
  const ids = await waitHealthy(5);
  const names = (await inspect(ids, '{{.Config.Hostname}}')).sort();
  await waitUntil(async () => (await serverRows()).filter((r) => r.status.startsWith('UP')).length === 5,
    { timeoutMs: 60000, intervalMs: 250, message: 'HAProxy to see five servers UP' });
  const seen = {};
  for (let i = 0; i < 50; i++) {
    const r = await request(lbPort, 'GET', '/api/status');
    assert.equal(r.status, 200);
    seen[r.headers['x-glance-replica']] = (seen[r.headers['x-glance-replica']] || 0) + 1;
  }
  t.diagnostic(`responses per replica: ${JSON.stringify(seen)}`);
  assert.deepEqual(Object.keys(seen).sort(), names, 'every replica (named by its container\'s host name) answers');
});

test('docker kill of a replica under a steady POST load: no request fails and every acknowledged write is in Redis', { skip, timeout: 3 * 60000 }, async (t) => {
  needUp();
  const [victim] = await running('api');
  const { records, missing } = await loadWhile(t, victim, (s) => (s === 5 ? 6 : 5),
    (id) => engine.docker(['kill', id]));
  const bad = records.filter((r) => r.status !== 204);
  const logs = bad.length || missing.length ? await lbLogs() : '';
  assert.equal(bad.length, 0, `${describeFailures(records)}\n${logs}`);
  assert.equal(missing.length, 0, `acknowledged writes missing from Redis: ${JSON.stringify(missing.slice(0, 10))}\n${logs}`);
});

test('docker stop of a replica under a steady POST load (SIGTERM: drain, then exit): no request fails', { skip, timeout: 3 * 60000 }, async (t) => {
  needUp();
  const [victim] = await running('api');
  const { records, missing } = await loadWhile(t, victim, (s) => (s === 4 ? 2 : 4),
    (id) => engine.docker(['stop', '-t', String(Math.ceil(graceMs / 1000)), id], { timeoutMs: graceMs + 30000 }));
  const bad = records.filter((r) => r.status !== 204);
  const logs = bad.length || missing.length ? await lbLogs() : '';
  assert.equal(bad.length, 0, `${describeFailures(records)}\n${logs}`);
  assert.equal(missing.length, 0, `acknowledged writes missing from Redis: ${JSON.stringify(missing.slice(0, 10))}\n${logs}`);
});

test('down with dashboards open: it ends within the api\'s stop_grace_period and every feed is closed with 1001', { skip, timeout: 5 * 60000 }, async (t) => {
  needUp();
  const feeds = [];
  for (let i = 0; i < 6; i++) feeds.push(await openFeed(lbPort));
  await Promise.all(feeds.map((f) => f.waitFor((m) => m.type === 'hello', 10000, { what: 'the hello' })));
  // HAProxy's own account of the shutdown, kept as it happens: the containers are gone afterwards
  const follow = compose.run(['logs', '--no-color', '-f', '-t', '--tail', '0', 'lb'], { timeoutMs: 120000 });
  await sleep(1000); // docker-compose attaches in its own time; what HAProxy says before that is not needed
  const r = await compose.run(['--profile', 'demo', 'down'], { timeoutMs: 120000 });
  t.diagnostic(`down took ${r.ms} ms (the api's stop_grace_period: ${graceMs} ms)`);
  check(r, 'docker-compose down');
  up = false;
  const closes = await Promise.all(feeds.map((f) => f.waitClose(10000).catch(() => null)));
  const codes = closes.map((c) => (c ? c.code : 'still open'));
  t.diagnostic(`feed close codes: ${codes.join(' ')}`);
  const logs = await follow;
  const evidence = `docker-compose down:\n${r.stderr.trim()}\n--- lb during down ---\n${logs.stdout.slice(-4000)}`;
  assert.ok(codes.every((c) => c === 1001), `every feed closed with 1001 (going away), got ${codes.join(' ')}\n${evidence}`);
  assert.ok(r.ms <= graceMs, `down took ${r.ms} ms, more than the api's stop_grace_period (${graceMs} ms)\n${evidence}`);
});
