// browser.mjs -- Debian's Chromium driven by playwright-core, plus the stack helpers the browser tests
// share: a replica on a fixed port (to restart it in place), many POSTs over kept-alive connections,
// and a page that fails the test on any script error.

import http from 'node:http';
import { mkdirSync, copyFileSync } from 'node:fs';
import path from 'node:path';
import { chromium } from 'playwright-core';
import { spawnApi, request, waitUntil, REPO_ROOT } from '../integration/harness.mjs';

export const CHROMIUM = process.env.GLANCE_CHROMIUM || '/usr/bin/chromium';
export const OUT_DIR = path.join(REPO_ROOT, 'tests', 'out');
export const DOCS_DIR = path.join(REPO_ROOT, 'docs');

const browsers = new Set();

/** Launches headless Chromium (closed by closeBrowsers()). */
export async function launch() {
  const browser = await chromium.launch({
    executablePath: CHROMIUM,
    timeout: 30000,
    args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update',
      '--disable-sync', '--no-first-run', '--disable-quic'],
  });
  browsers.add(browser);
  return browser;
}

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
  context.setDefaultTimeout(10000);
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
export async function waitLive(page, timeoutMs = 10000) {
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
 */
export async function startApiOn(port, { redisPort, bots, healthTimeout = 30, feedIntervalMs, env = {} } = {}) {
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
