// latency.test.mjs -- the Latency section (web/assets/latency.js) in Debian's Chromium against a real replica whose
// Redis holds a latency history written by latency.lua itself: a chart per cluster with an accessible name that
// states its figures, the 24 h / 30 days switch, the table equivalent with the same figures in the reader's time
// zone, a gap drawn as a break, a phone's width, and axe-core clean with the table open.

import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { REPO_ROOT, startRedis, freePort, redis, cleanup } from '../integration/harness.mjs';
import { launch, newPage, closeBrowsers, startApiOn } from './browser.mjs';

const require = createRequire(import.meta.url);
const AXE = readFileSync(require.resolve('axe-core/axe.min.js'), 'utf8');
const LUA = path.join(REPO_ROOT, 'services', 'api', 'redis', 'lua');
const SCRIPT = `${readFileSync(path.join(LUA, 'lib.lua'), 'utf8')}\n${readFileSync(path.join(LUA, 'latency.lua'), 'utf8')}`;
const BOTS = 'main:360;canary:16';
const MINUTE = 60000;

let rds;
let base;
let browser;
let lastMinute; // main's newest minute with data

before(async () => {
  rds = await startRedis();
  const sha = await redis(rds.port, 'SCRIPT', 'LOAD', SCRIPT);
  const now = Math.floor(Date.now() / MINUTE);
  // main: the last two hours, every minute but a gap of ten minutes; canary: nothing (no shard reports a latency)
  for (let m = now - 120; m < now - 1; m++) {
    const gap = m >= now - 60 && m < now - 50;
    await redis(rds.port, 'EVALSHA', sha, 1, 'glance:{main}:latency', m, gap ? 0 : 360, 40 + (m % 7), 90 + (m % 11));
    if (!gap) lastMinute = m;
  }
  const port = await freePort();
  await startApiOn(port, { redisPort: rds.port, bots: BOTS, env: { GLANCE_DRAIN_MS: 0 } });
  base = `http://127.0.0.1:${port}`;
  browser = await launch();
});

after(async () => {
  await closeBrowsers();
  await cleanup();
});

async function openPage(opts = {}) {
  const page = await newPage(browser, opts);
  await page.goto(`${base}/`);
  await page.waitForFunction(() => window.__glanceLatency?.stats.painted > 0);
  return page;
}

describe('latency charts', () => {
  it('draws a chart per cluster with an accessible name that states its figures, and a gap as a break', async () => {
    const page = await openPage();
    const charts = await page.$$eval('#latency .latency-cluster', (items) => items.map((li) => {
      const svg = li.querySelector('svg.latency-chart');
      return { name: li.dataset.cluster, role: svg.getAttribute('role'), label: svg.getAttribute('aria-label'),
        p50: svg.querySelector('.latency-p50').getAttribute('d'), p95: svg.querySelector('.latency-p95').getAttribute('d') };
    }));
    assert.deepEqual(charts.map((c) => c.name), ['main', 'canary']);
    const main = charts[0];
    assert.equal(main.role, 'img');
    assert.match(main.label, new RegExp(`^main, last 24 h: median ${40 + (lastMinute % 7)} ms at the latest .*; 109 of 1,440 minutes have data\\.$`));
    // two runs of minutes (before and after the gap): two segments per line
    assert.equal((main.p50.match(/M/g) || []).length, 2, main.p50);
    assert.equal((main.p95.match(/M/g) || []).length, 2, main.p95);
    assert.equal(charts[1].label, 'canary, last 24 h: no latency reported');
    assert.equal(charts[1].p50, '');
    assert.deepEqual(page.problems, []);
    await page.close();
  });

  it('switches to 30 days of hours, and gives the same figures as a table in the reader\'s time zone', async () => {
    const page = await openPage({ timezoneId: "Europe/Paris", locale: "en-US" });
    const main = page.locator('#latency .latency-cluster[data-cluster="main"]');
    await main.locator('button[data-view="month"]').click();
    assert.equal(await main.locator('button[data-view="month"]').getAttribute('aria-pressed'), 'true');
    assert.equal(await main.locator('button[data-view="day"]').getAttribute('aria-pressed'), 'false');
    assert.match(await main.locator('svg').getAttribute('aria-label'), /^main, last 30 days: .* (2|3) of 720 hours have data\.$/);
    await main.locator('button[data-view="day"]').click();
    await main.locator('summary').click();
    // the table is filled on the details' toggle event, a task after the click: wait for its rows, then count them
    await main.locator('tbody tr').first().waitFor();
    const rows = await main.locator('tbody tr').count();
    assert.equal(rows, 109);
    const head = await main.locator('thead th').allTextContents();
    assert.deepEqual(head, ['Time (Europe/Paris)', 'Median (ms)', '95th percentile (ms)', 'Shards']);
    const first = await main.locator('tbody tr').first().locator('th, td').allTextContents();
    const at = new Intl.DateTimeFormat('en-US', { hour: '2-digit', minute: '2-digit', timeZone: 'Europe/Paris' }).format(new Date(lastMinute * MINUTE));
    assert.deepEqual(first, [at, String(40 + (lastMinute % 7)), String(90 + (lastMinute % 11)), '360']);
    await page.close();
  });

  it('fits a phone, and axe-core finds nothing with the table open, in both themes', async () => {
    for (const colorScheme of ['light', 'dark']) {
      const page = await openPage({ width: 390, height: 844, colorScheme, isMobile: true, hasTouch: true });
      await page.locator('#latency .latency-cluster[data-cluster="main"] summary').click();
      const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
      assert.ok(overflow <= 0, `the page is ${overflow} px wider than the phone`);
      const box = await page.locator('#latency svg.latency-chart').first().boundingBox();
      assert.ok(box.width > 200 && box.width <= 390 && box.height > 40, JSON.stringify(box));
      await page.evaluate(AXE);
      const violations = await page.evaluate(async () => (await window.axe.run(document.getElementById('latency'),
        { resultTypes: ['violations'], rules: { 'target-size': { enabled: true } } }))
        .violations.map((v) => `${v.id}: ${v.nodes.map((n) => n.target.join(' ')).join(', ')}`));
      assert.deepEqual(violations, [], `${colorScheme}: ${violations.join('\n')}`);
      assert.deepEqual(page.problems, []);
      await page.close();
    }
  });
});
