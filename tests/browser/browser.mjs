// browser.mjs -- Debian's Chromium driven by playwright-core, plus the stack helpers the browser tests
// share: a replica on a fixed port (to restart it in place), many POSTs over kept-alive connections,
// a page that fails the test on any script error, and axe-core's audit of a page.

import http from 'node:http';
import { mkdirSync, copyFileSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { chromium } from 'playwright-core';
import { spawnApi, request, redis, postEach, waitUntil, REPO_ROOT } from '../integration/harness.mjs';

export const CHROMIUM = process.env.GLANCE_CHROMIUM || '/usr/bin/chromium';
export const OUT_DIR = path.join(REPO_ROOT, 'tests', 'out');
export const DOCS_DIR = path.join(REPO_ROOT, 'docs');

const browsers = new Set();

const require = createRequire(import.meta.url);
const AXE = readFileSync(require.resolve('axe-core/axe.min.js'), 'utf8');
export const AXE_VERSION = JSON.parse(readFileSync(require.resolve('axe-core/package.json'), 'utf8')).version;
const SHOWN_TARGETS = 12; // per violation; the count says how many more
// axe's defaults (no runOnly: every rule not marked off, whatever its tags) and WCAG 2.2's target size
const AXE_OPTIONS = { resultTypes: ['violations'], rules: { 'target-size': { enabled: true } } };

/**
 * Runs axe-core on the page as it stands (AXE_OPTIONS) and resolves the violations as lines
 * "rule (impact): help -- N element(s): target, target, ...", so that a failing test names what to fix.
 * axe is evaluated into the page rather than added as a <script>, so that it runs on a page whose own
 * scripts are off too.
 */
export async function audit(page) {
  if (!(await page.evaluate(() => typeof window.axe !== 'undefined'))) await page.evaluate(AXE);
  const violations = await page.evaluate(async (options) => {
    const r = await window.axe.run(document, options);
    return r.violations.map((v) => ({
      id: v.id, impact: v.impact, help: v.help, targets: v.nodes.map((n) => n.target.join(' ')),
    }));
  }, AXE_OPTIONS);
  return violations.map((v) => `${v.id} (${v.impact}): ${v.help} -- ${v.targets.length} element(s): `
    + `${v.targets.slice(0, SHOWN_TARGETS).join(', ')}${v.targets.length > SHOWN_TARGETS ? ', ...' : ''}`);
}

/** Launches headless Chromium (closed by closeBrowsers()). */
export async function launch() {
  const browser = await chromium.launch({
    executablePath: CHROMIUM,
    timeout: 60000, // Playwright's 30 s was not enough once, on a slow run
    args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update',
      '--disable-sync', '--no-first-run', '--disable-quic'],
  });
  browsers.add(browser);
  return browser;
}

/** How long any wait on a page may take: long, since a wait ends as soon as its condition holds. */
export const PATIENT_MS = 30000;

export async function closeBrowsers() {
  await Promise.all([...browsers].map((b) => b.close().catch(() => {})));
  browsers.clear();
}

/**
 * A new page (in its own context) that records console errors and uncaught exceptions in
 * page.problems; assertNoProblems(page) fails on any.
 */
export async function newPage(browser, { width = 1280, height = 900, colorScheme = 'light', ...opts } = {}) {
  const context = await browser.newContext({ viewport: { width, height }, colorScheme, ...opts });
  // Every wait in the browser suites is on a condition, none on a time: this bound only says how long a loaded
  // machine may take before a wait is called failed (four suites run at once in test.sh). Waits name no shorter one.
  context.setDefaultTimeout(PATIENT_MS);
  const page = await context.newPage();
  page.problems = [];
  page.on('pageerror', (err) => page.problems.push(`pageerror: ${err.message}`));
  page.on('console', (msg) => { if (msg.type() === 'error') page.problems.push(`console: ${msg.text()}`); });
  return page;
}

/**
 * Waits (bounded) until the page's feed is live and the page has finished rendering every hello it
 * received: app.js pushes one record to metrics.renders per hello, once the grid it built or updated
 * has been painted. So after a reconnect this waits for the new hello's render, not the first one's.
 */
export async function waitLive(page, timeoutMs = PATIENT_MS) {
  await page.waitForFunction(() => {
    const g = window.__glance;
    return g !== undefined && document.documentElement.dataset.feed === 'live' && g.feed.stats.hellos > 0
      && g.metrics.renders.length >= g.feed.stats.hellos;
  }, null, { timeout: timeoutMs });
}

/** The data-state of one shard element, or null when there is none. */
export function shardState(page, cluster, shard) {
  return page.evaluate(([c, s]) => {
    const el = document.querySelector(`.s[data-cluster="${c}"][data-shard="${s}"]`);
    return el ? Number(el.dataset.state) : null;
  }, [cluster, shard]);
}

/** Waits (bounded) until shard `shard` of `cluster` shows `state`. */
export async function waitShardState(page, cluster, shard, state, timeoutMs = 5000) {
  await page.waitForFunction(([c, s, st]) => {
    const el = document.querySelector(`.s[data-cluster="${c}"][data-shard="${s}"]`);
    return el && el.dataset.state === String(st);
  }, [cluster, shard, state], { timeout: timeoutMs });
}

/**
 * Starts glance-api on a given port (so it can be restarted where the page expects it) and waits for
 * GET /readyz to answer 200 (10 s at most). The process is tracked by the harness's cleanup().
 * Returns {port, pid, stop() (SIGTERM, wait, SIGKILL after 5 s), kill(signal)}.
 * No browser test is about expiry: the default health timeout outlasts any file, so that a file slowed by a loaded
 * machine past 30 s (the old default) does not find the shards it set online turned unhealthy under it.
 */
export async function startApiOn(port, { redisPort, bots, healthTimeout = 3600, feedIntervalMs, env = {} } = {}) {
  const proc = spawnApi({
    GLANCE_HOST: '127.0.0.1',
    GLANCE_PORT: port,
    GLANCE_REDIS_URL: `redis://127.0.0.1:${redisPort}/0`,
    GLANCE_BOTS: bots,
    GLANCE_WEB_ROOT: path.join(REPO_ROOT, 'web'),
    GLANCE_HEALTH_TIMEOUT: healthTimeout,
    ...(feedIntervalMs ? { GLANCE_FEED_INTERVAL_MS: feedIntervalMs } : {}),
    ...env,
  });
  await waitUntil(async () => {
    if (proc.child.exitInfo) throw new Error(`glance-api exited: ${proc.stderr().slice(-2000)}`);
    const r = await request(port, 'GET', '/readyz', { timeoutMs: 1000 }).catch(() => null);
    return r && r.status === 200;
  }, { timeoutMs: 10000, message: `glance-api on port ${port} to be ready` });
  return {
    port,
    pid: proc.pid,
    stderr: proc.stderr,
    kill: (signal = 'SIGKILL') => { try { process.kill(proc.pid, signal); } catch { /* gone */ } },
    async stop() {
      try { process.kill(proc.pid, 'SIGTERM'); } catch { /* gone */ }
      if (await proc.waitExit(5000)) return;
      try { process.kill(proc.pid, 'SIGKILL'); } catch { /* gone */ }
      await proc.waitExit(5000);
    },
  };
}

/**
 * POSTs every path in `paths` to 127.0.0.1:port over `concurrency` kept-alive connections; rejects on
 * the first answer that is not 204. Resolves the elapsed milliseconds.
 */
export async function postAll(port, paths, { concurrency = 16, timeoutMs = 30000 } = {}) {
  const agent = new http.Agent({ keepAlive: true, maxSockets: concurrency });
  const started = Date.now();
  let next = 0;
  const one = (p) => new Promise((resolve, reject) => {
    const req = http.request({ host: '127.0.0.1', port, method: 'POST', path: p, agent, timeout: 5000 }, (res) => {
      res.resume();
      res.on('end', () => (res.statusCode === 204 ? resolve() : reject(new Error(`POST ${p}: ${res.statusCode}`))));
    });
    req.on('timeout', () => req.destroy(new Error(`POST ${p}: timed out`)));
    req.on('error', reject);
    req.end();
  });
  const worker = async () => {
    while (next < paths.length) {
      if (Date.now() - started > timeoutMs) throw new Error(`postAll: not done within ${timeoutMs} ms`);
      await one(paths[next++]);
    }
  };
  try {
    await Promise.all(Array.from({ length: concurrency }, worker));
  } finally {
    agent.destroy();
  }
  return Date.now() - started;
}

/**
 * POSTs `rate` requests a second for `seconds` (paths from makePath(i)) over kept-alive connections,
 * sending in 10 ms ticks; requests that fall behind queue on the agent. Resolves {sent, ok, failed,
 * elapsedMs} once every request has been answered (bounded: each times out after 5 s).
 */
export async function postAtRate(port, { rate, seconds, makePath, sockets = 32 }) {
  const agent = new http.Agent({ keepAlive: true, maxSockets: sockets });
  const total = Math.round(rate * seconds);
  const started = Date.now();
  let sent = 0;
  let ok = 0;
  let failed = 0;
  const pending = [];
  const one = (p) => new Promise((resolve) => {
    const req = http.request({ host: '127.0.0.1', port, method: 'POST', path: p, agent, timeout: 5000 }, (res) => {
      res.resume();
      res.on('end', () => { if (res.statusCode === 204) ok++; else failed++; resolve(); });
    });
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.on('error', () => { failed++; resolve(); });
    req.end();
  });
  while (sent < total) {
    const due = Math.min(total, Math.floor(((Date.now() - started) / 1000) * rate) + 1);
    while (sent < due) pending.push(one(makePath(sent++)));
    await new Promise((r) => setTimeout(r, 10));
  }
  await Promise.all(pending);
  agent.destroy();
  return { sent, ok, failed, elapsedMs: Date.now() - started };
}

/**
 * Writes a screenshot to tests/out/<name> and, when GLANCE_UPDATE_SCREENSHOTS=1 and the name is one of the
 * README's (screenshot-*.png), copies it to docs/ (so a test run never dirties the tree unless asked).
 * Resolves the path written in tests/out.
 */
export async function screenshot(page, name, opts = {}) {
  mkdirSync(OUT_DIR, { recursive: true });
  const file = path.join(OUT_DIR, name);
  await page.screenshot({ path: file, timeout: 15000, ...opts });
  if (process.env.GLANCE_UPDATE_SCREENSHOTS === '1' && name.startsWith('screenshot-')) {
    mkdirSync(DOCS_DIR, { recursive: true });
    copyFileSync(file, path.join(DOCS_DIR, name));
  }
  return file;
}

const DAY = 86400000;
const H = 3600000;

/**
 * Sixty days of history for the showcase's clusters main (360 shards), canary (16) and eu (48), so that the day bars
 * show every kind of day: a bad day 4 days ago, one with maintenance 9 days ago, and main's worst day 17 days ago.
 */
export async function seedShowcaseHistory(redisPort) {
  const today = Math.floor(Date.now() / DAY);
  for (const [name, shards] of [['main', 360], ['canary', 16], ['eu', 48]]) {
    const all = shards * DAY;
    const args = [];
    for (let ago = 1; ago <= 60; ago++) {
      let f = [0, 0, all, 0, 0, 0, 0, 0]; // unhealthy, offline, online, starting, stopping, resuming, maintenance down, up
      if (ago === 4) f = [shards * 2 * H, 0, all - shards * 2 * H, 0, 0, 0, 0, 0];
      if (ago === 9) f = [0, 0, all - shards * H, 0, 0, 0, shards * 600000, shards * (H - 600000)];
      if (ago === 17 && name === 'main') f = [30 * 6 * H, 0, all - 30 * 6 * H, 0, 0, 0, 0, 0];
      args.push(`d:${today - ago}`, f.join(' '));
    }
    await redis(redisPort, 'HSET', `glance:{${name}}:history`, ...args);
  }
}

/**
 * The showcase fleet on replica `api` (bots main:360;canary:16;eu:48): every shard online but canary 15 (never
 * reports), a flapping shard, every other state somewhere, a maintenance window on eu and a major incident on main.
 * With `figures`, each status carries a latency and a guild count.
 */
export async function seedShowcase(api, auth, { figures = false } = {}) {
  const paths = [];
  for (const [name, n] of [['main', 360], ['canary', 15], ['eu', 48]]) {
    for (let s = 0; s < n; s++) paths.push(`/api/status/${name}/${s}/3${figures ? `?latency_ms=${40 + (s % 7) * 60}&guilds=${1000 + s}` : ''}`);
  }
  await postEach([api], paths, auth);
  for (let i = 0; i < 8; i++) await postEach([api], [`/api/status/main/203/${i % 2 ? 3 : 6}`], auth);
  await postEach([api], ['/api/status/main/57/1', '/api/status/main/58/1', '/api/status/main/59/1', '/api/status/main/118/4',
    '/api/status/main/119/4', '/api/status/main/264/6', '/api/status/main/300/5', '/api/status/main/301/2',
    '/api/status/eu/12/2', '/api/status/eu/13/4'], auth);
  const post = async (p, body) => {
    const r = await request(api.port, 'POST', p, { headers: { ...auth, 'content-type': 'application/json' }, body: JSON.stringify(body) });
    if (r.status < 200 || r.status >= 300) throw new Error(`POST ${p}: ${r.status} ${r.body}`);
  };
  const now = Date.now();
  await post('/api/maintenance', { title: 'Database upgrade', clusters: ['eu'], text: 'Upgrading the database; eu shards restart one by one.', starts: now - 4 * 60000, ends: now + 56 * 60000 });
  await post('/api/incidents', { title: 'Shards 57–59 of main are not responding', impact: 'major', clusters: ['main'], text: 'Three shards stopped answering health checks.' });
}

/** The dashboard at `url`, live, with its banner, history and incidents painted. */
export async function openDashboard(browser, url, opts = {}) {
  const page = await newPage(browser, opts);
  await page.goto(url);
  await waitLive(page);
  await page.waitForSelector('#notices:not([hidden]) .notice');
  await page.waitForFunction(() => window.__glance.history.stats.painted > 0, null);
  await page.waitForSelector('#incident-list .incident');
  return page;
}
