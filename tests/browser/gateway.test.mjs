// gateway.test.mjs -- what Glance concludes from the gateway counters, on the dashboard in Debian's Chromium
// against the real stack (redis-server and glance-api, GLANCE_SILENT_AFTER 1 s): silent shards marked on exactly
// their cells, counted in their cluster's header, said in the cell's accessible name and its tooltip (with the
// frozen latency), and unmarked when events flow again; a reconnect storm and a short identify budget warned of in
// the header, the budget's reset in the page's time zone (Asia/Tokyo, not the machine's); the cluster's events a
// second and budget in its figures; axe-core clean with all of it shown, light at desktop width and dark on a phone.

import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startRedis, startApi, request, cleanup, waitUntil, sleep } from '../integration/harness.mjs';
import { launch, newPage, closeBrowsers, waitLive, audit, screenshot, PATIENT_MS } from './browser.mjs';

const BOTS = 'quiet:16;storm:8;budget:1440';
const SILENT = [2, 5, 11]; // quiet's shards that stop receiving events: 5 with a frozen latency, 2 and 11 with a moving one
const NO_GUILDS = 7; // receives nothing too, but serves no guild: not silent
const ZONE = 'Asia/Tokyo'; // UTC+9 all year (no daylight saving), so the expected hour is plain arithmetic
const TOKYO_MS = 9 * 3600000;

let rds;
let api;
let browser;
let page;
let session; // the budget cluster's session as /api/figures gives it

const post = async (p, body) => {
  const r = await request(api.port, 'POST', p, body === undefined ? {}
    : { headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
  assert.ok(r.status >= 200 && r.status < 300, `POST ${p}: ${r.status} ${r.body}`);
  return r;
};
const figuresOf = async (name) => (await request(api.port, 'GET', '/api/figures')).json().clusters.find((c) => c.name === name);
const cell = (cluster, s) => `.s[data-cluster="${cluster}"][data-shard="${s}"]`;
/** The ids of a cluster's cells that carry the silent mark. */
const marked = (pg, cluster) => pg.$$eval(`.s[data-cluster="${cluster}"][data-silent]`, (els) => els.map((e) => Number(e.dataset.shard)));
const headOf = (pg, cluster) => pg.$eval(`.cluster[data-cluster="${cluster}"] .cluster-head`, (h) => ({
  counts: [...h.querySelectorAll('.cluster-counts li')].map((li) => li.textContent),
  figures: h.querySelector('.cluster-figures').hidden ? '' : h.querySelector('.cluster-figures').textContent,
  warnings: h.querySelector('.cluster-warnings').hidden ? [] : [...h.querySelectorAll('.cluster-warnings li')].map((li) => li.textContent),
}));

before(async () => {
  rds = await startRedis();
  api = await startApi({ redisPort: rds.port, bots: BOTS, healthTimeout: 3600, env: { GLANCE_SILENT_AFTER: 1 } });
  // quiet: every shard online, receiving events and serving guilds (but one), at 41 ms
  for (let s = 0; s < 16; s++) {
    await post(`/api/status/quiet/${s}/3`, { events: 500, guilds: s === NO_GUILDS ? 0 : 100, latency_ms: 41, resumes: 2, identifies: 1, disconnects: 3 });
  }
  // storm: each shard's first counters (first sight adds nothing), then 15 identifies and 5 resumes more each
  for (let s = 0; s < 8; s++) await post(`/api/status/storm/${s}/3`, { events: 10, identifies: 1, resumes: 0 });
  await post('/api/clusters/storm/report', { shards: Array.from({ length: 8 }, (_, id) => ({ id, events: 20, identifies: 16, resumes: 5 })) });
  // budget: 1,000 left for 1,440 shards, reset in 5 h 17 min
  await post('/api/clusters/budget/gateway', {
    session_start_total: 2000, session_start_remaining: 1000, session_start_reset_after_ms: (5 * 60 + 17) * 60000, max_concurrency: 16,
  });
  await sleep(1200); // past GLANCE_SILENT_AFTER
  for (let s = 0; s < 16; s++) {
    const still = SILENT.includes(s) || s === NO_GUILDS;
    await post(`/api/health/quiet/${s}`, { events: still ? 500 : 900, latency_ms: s === 5 || s === NO_GUILDS ? 41 : 45, resumes: 2, identifies: 1, disconnects: 3 });
  }
  // the server keeps its figures for up to 5 s: the page's first poll should find all of it
  await waitUntil(async () => {
    const [q, st, b] = [await figuresOf('quiet'), await figuresOf('storm'), await figuresOf('budget')];
    session = b.gateway.session;
    return q.gateway.silent === 3 && st.gateway.storm === true && session?.short === true;
  }, { timeoutMs: 15000, intervalMs: 250, message: 'GET /api/figures to say the silent shards, the storm and the budget' });
  browser = await launch();
  page = await newPage(browser, { timezoneId: ZONE });
  await page.goto(`${api.url}/`);
  await waitLive(page);
  await page.waitForSelector(`${cell('quiet', 5)}[data-silent]`);
});

after(async () => {
  await closeBrowsers();
  await cleanup();
});

describe('the gateway on the dashboard', { timeout: 120000 }, () => {
  it('marks exactly the silent shards, and counts them in their cluster\'s header', async () => {
    assert.deepEqual(await marked(page, 'quiet'), SILENT);
    assert.deepEqual(await marked(page, 'storm'), []);
    const head = await headOf(page, 'quiet');
    assert.ok(head.counts.includes('3 silent'), JSON.stringify(head.counts));
    assert.match(head.figures, /\b[\d,.]+ events\/s\b/, 'the cluster\'s events a second, quietly');
    // the mark is drawn (a ring in the top-left corner), not only an attribute
    const ring = await page.$eval(cell('quiet', 5), (e) => {
      const cs = getComputedStyle(e, '::before');
      return { content: cs.content, radius: cs.borderTopLeftRadius, width: cs.width, style: cs.borderTopStyle };
    });
    assert.deepEqual(ring, { content: '""', radius: '50%', width: '9px', style: 'solid' });
    assert.equal(await page.$eval(cell('quiet', 4), (e) => getComputedStyle(e, '::before').content), 'none');
    assert.deepEqual(page.problems, []);
  });

  it('says a silent shard in its accessible name and its tooltip, with the latency frozen at the last heartbeat', async () => {
    await page.focus(`.s[data-cluster="quiet"][tabindex="0"]`);
    for (let s = 0; s < 5; s++) await page.keyboard.press('ArrowRight');
    const label = await page.$eval(cell('quiet', 5), (e) => e.getAttribute('aria-label'));
    assert.match(label, /^quiet shard 5: Online.*, silent: no gateway events$/);
    await page.waitForFunction(() => document.querySelectorAll('#shard-tip .tip-gateway').length > 0, null);
    const tip = await page.$eval('#shard-tip', (t) => ({
      silent: [...t.querySelectorAll('.tip-silent')].map((e) => e.textContent),
      gateway: [...t.querySelectorAll('.tip-gateway')].map((e) => e.textContent),
    }));
    assert.equal(tip.silent.length, 2, JSON.stringify(tip));
    assert.match(tip.silent[0], /^Silent: online but no gateway events for \d+ s$/);
    assert.equal(tip.silent[1], 'Its latency (41 ms) has not changed since: frozen at the last heartbeat');
    assert.deepEqual(tip.gateway, ['0 events/s', '2 resumes, 1 identify, 3 disconnects']);
    // shard 2 is silent with a moving latency: no frozen-latency line
    for (let s = 0; s < 3; s++) await page.keyboard.press('ArrowLeft');
    await page.waitForFunction(() => /shard 2$/.test(document.querySelector('#shard-tip .tip-where')?.textContent)
      && document.querySelectorAll('#shard-tip .tip-gateway').length > 0, null);
    assert.deepEqual((await page.$$eval('#shard-tip .tip-silent', (els) => els.map((e) => e.textContent))).length, 1);
    // a shard receiving events: its rate, no warning, and nothing said of silence in its name
    await page.keyboard.press('ArrowRight');
    await page.waitForFunction(() => /shard 3$/.test(document.querySelector('#shard-tip .tip-where')?.textContent)
      && document.querySelectorAll('#shard-tip .tip-gateway').length > 0, null);
    assert.equal(await page.$$eval('#shard-tip .tip-silent', (els) => els.length), 0);
    assert.match(await page.$eval('#shard-tip .tip-gateway', (e) => e.textContent), /^[\d.]+ events\/s$/);
    assert.doesNotMatch(await page.$eval(cell('quiet', 3), (e) => e.getAttribute('aria-label')), /silent/);
    assert.deepEqual(page.problems, []);
  });

  it('warns of a reconnect storm in its cluster\'s header', async () => {
    const head = await headOf(page, 'storm');
    assert.deepEqual(head.warnings, ['Reconnect storm: 120 identifies and 40 resumes a minute']);
    assert.deepEqual((await headOf(page, 'quiet')).warnings, []);
  });

  it('warns that a full restart would exhaust the identify budget, its reset in the page\'s time zone', async () => {
    const reset = session.reset_at_ms;
    const tokyo = new Date(reset + TOKYO_MS);
    const hhmm = `${String(tokyo.getUTCHours()).padStart(2, '0')}:${String(tokyo.getUTCMinutes()).padStart(2, '0')}`;
    const sameDay = new Date(Date.now() + TOKYO_MS).getUTCDate() === tokyo.getUTCDate();
    const head = await headOf(page, 'budget');
    assert.equal(head.warnings.length, 1, JSON.stringify(head));
    const text = head.warnings[0];
    assert.ok(text.startsWith('A full restart now would exhaust the daily identify budget (1,000 left, 1,440 shards); it resets at '), text);
    if (sameDay) assert.ok(text.endsWith(`resets at ${hhmm}`), `${text}: ${hhmm} in ${ZONE}`);
    else assert.match(text, new RegExp(`resets at \\D*${tokyo.getUTCDate()}\\D+${hhmm}$`), `${text}: ${hhmm} on day ${tokyo.getUTCDate()} in ${ZONE}`);
    // the budget itself, quietly in the figures
    assert.match(head.figures, /identify budget 1,000 of 2,000 left, 16 at once/);
    assert.deepEqual(page.problems, []);
  });

  it('is clean under axe-core with the marks, warnings and a silent shard\'s tooltip shown', async (t) => {
    await page.focus(cell('quiet', 3));
    await page.keyboard.press('ArrowRight');
    await page.keyboard.press('ArrowRight');
    await page.waitForFunction(() => document.querySelectorAll('#shard-tip .tip-silent').length > 0, null);
    await screenshot(page, 'gateway-marks.png');
    let found = await audit(page);
    for (const line of found) t.diagnostic(line);
    assert.deepEqual(found, [], found.join('\n'));
    const phone = await newPage(browser, { width: 360, height: 780, isMobile: true, hasTouch: true, colorScheme: 'dark', timezoneId: ZONE });
    try {
      await phone.goto(`${api.url}/`);
      await waitLive(phone);
      await phone.waitForSelector(`${cell('quiet', 5)}[data-silent]`);
      await phone.waitForSelector('.cluster[data-cluster="budget"] .cluster-warnings:not([hidden])');
      await screenshot(phone, 'gateway-marks-phone.png');
      found = await audit(phone);
      for (const line of found) t.diagnostic(`phone: ${line}`);
      assert.deepEqual(found, [], found.join('\n'));
      assert.deepEqual(phone.problems, []);
    } finally {
      await phone.context().close();
    }
  });

  it('unmarks a shard when its events flow again, at the page\'s next figures', async () => {
    await post('/api/health/quiet/11', { events: 950 });
    await waitUntil(async () => (await figuresOf('quiet')).gateway.silent === 2,
      { timeoutMs: 15000, intervalMs: 250, message: 'GET /api/figures to see shard 11 recover' });
    // the page's own poll (every 15 s) would find it; asking now spares the wait, the same code path
    await page.evaluate(() => window.__glance.figures.fetch());
    await page.waitForFunction(() => !document.querySelector('.s[data-cluster="quiet"][data-shard="11"]').hasAttribute('data-silent'), null,
      { timeout: PATIENT_MS });
    assert.deepEqual(await marked(page, 'quiet'), [2, 5]);
    await page.waitForFunction(() => [...document.querySelectorAll('.cluster[data-cluster="quiet"] .cluster-counts li')]
      .some((li) => li.textContent === '2 silent'), null);
    assert.deepEqual(page.problems, []);
  });
});
