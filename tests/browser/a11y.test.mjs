// a11y.test.mjs -- axe-core 4.14 (node_modules/axe-core, from the committed lock file) run inside Debian's
// Chromium against a live replica on every page a reader can reach: the dashboard at desktop and phone width
// (with a guild looked up), /plain and /plain?guild=, the widget, the history with a day's tooltip, Settings
// open (with the latency colours on), a shard's tooltip, and the dark theme. Every rule axe runs by default
// is checked (tags wcag2a, wcag2aa, wcag21a, wcag21aa and best-practice), and target-size (wcag22aa), which
// axe leaves off by default; no violation of any impact passes, and a failure prints each violation's rule,
// impact and targets, so it says what to fix.

import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startRedis, freePort, cleanup, request } from '../integration/harness.mjs';
import { startDiscord } from '../integration/discord.mjs';
import {
  launch, newPage, closeBrowsers, startApiOn, seedShowcase, seedShowcaseHistory, openDashboard as openDashboardAt,
  audit, AXE_VERSION,
} from './browser.mjs';

const PASS = 'a11y test passphrase';
const AUTH = { authorization: `Bearer ${PASS}` };
const BOTS = 'main:360;canary:16;eu:48';
const GUILD = '81384788765712384'; // any id: the page marks its shard in every cluster

let rds;
let api;
let base;
let browser;
let discord;

/** Fails the test, with every violation as a diagnostic and in the message, unless axe found none. */
async function expectClean(t, page, where) {
  const found = await audit(page);
  for (const line of found) t.diagnostic(`${where}: ${line}`);
  assert.deepEqual(found, [], `axe-core ${AXE_VERSION} on ${where}:\n${found.join('\n')}`);
  assert.deepEqual(page.problems, []);
}

const openDashboard = (path = '/', opts = {}) => openDashboardAt(browser, `${base}${path}`, opts);

before(async () => {
  rds = await startRedis();
  await seedShowcaseHistory(rds.port);
  const port = await freePort();
  discord = await startDiscord(); // the webhook a subscription's page is made with
  api = await startApiOn(port, {
    redisPort: rds.port, bots: BOTS,
    env: { GLANCE_PASSPHRASE: PASS, GLANCE_ALERT_DELAY: 86400, GLANCE_DRAIN_MS: 0, GLANCE_SUBSCRIBE_ORIGINS: discord.base },
  });
  base = `http://127.0.0.1:${port}`;
  await seedShowcase(api, AUTH, { figures: true }); // the latency colours need figures
  browser = await launch();
});

after(async () => {
  await closeBrowsers();
  await discord?.close();
  await cleanup();
});

describe(`axe-core ${AXE_VERSION} finds no violation`, { timeout: 240000 }, () => {
  it('runs the axe-core the lock file pins, which does find what it should', async () => {
    assert.equal(AXE_VERSION, '4.14.1');
    const page = await newPage(browser);
    try {
      // a page with faults (and no landmark or heading), so that a run that checked nothing could not pass for a clean one
      await page.setContent('<!doctype html><html><title>x</title><body><img src="data:,"><p style="color:#aaa;background:#fff">faint text</p>'
        + '<a href="#"></a></body></html>');
      const found = (await audit(page)).map((line) => line.split(' ')[0]).sort();
      assert.deepEqual(found, ['color-contrast', 'html-has-lang', 'image-alt', 'landmark-one-main', 'link-name', 'page-has-heading-one', 'region']);
    } finally {
      await page.context().close();
    }
  });

  it('on / at 1280 px', async (t) => {
    const page = await openDashboard('/', { width: 1280, height: 900 });
    try {
      await expectClean(t, page, '/ at 1280 px');
    } finally {
      await page.context().close();
    }
  });

  it('on /?guild=<id> at 360 px, the guild\'s shards marked', async (t) => {
    const page = await openDashboard(`/?guild=${GUILD}`, { width: 360, height: 780, isMobile: true, hasTouch: true });
    try {
      await page.waitForSelector('#guild-result:not([hidden])');
      await page.waitForSelector('.s[aria-current="true"]');
      await expectClean(t, page, `/?guild=${GUILD} at 360 px`);
    } finally {
      await page.context().close();
    }
  });

  it('on / with Settings open and the shards coloured by latency', async (t) => {
    const page = await openDashboard('/', { width: 1280, height: 900 });
    try {
      await page.click('.settings summary');
      assert.equal(await page.$eval('.settings', (d) => d.open), true);
      await expectClean(t, page, '/ with Settings open');
      await page.check('#by-latency');
      await page.waitForSelector('#latency-key:not([hidden])');
      await expectClean(t, page, '/ with Settings open and the latency colours');
    } finally {
      await page.context().close();
    }
  });

  it('on / with a shard\'s tooltip shown', async (t) => {
    const page = await openDashboard('/', { width: 1280, height: 900 });
    try {
      await page.hover('.s[data-cluster="main"][data-shard="57"]');
      await page.waitForSelector('#shard-tip:not([hidden])');
      await expectClean(t, page, '/ with a shard\'s tooltip');
    } finally {
      await page.context().close();
    }
  });

  it('on the history, a day bar focused and its tooltip shown', async (t) => {
    const page = await openDashboard('/#history', { width: 1280, height: 900 });
    try {
      await page.focus('.history-cluster[data-cluster="main"] .day[tabindex="0"]');
      await page.keyboard.press('ArrowLeft');
      await page.waitForSelector('#day-tip:not([hidden])');
      await expectClean(t, page, 'the history with a day\'s tooltip');
    } finally {
      await page.context().close();
    }
  });

  it('on / in the dark theme, at 1280 and at 360 px', async (t) => {
    for (const [width, height] of [[1280, 900], [360, 780]]) {
      const page = await openDashboard('/', { width, height, colorScheme: 'dark' });
      try {
        assert.equal(await page.evaluate(() => matchMedia('(prefers-color-scheme: dark)').matches), true);
        await expectClean(t, page, `/ dark at ${width} px`);
        await page.click('.settings summary');
        await page.check('#by-latency');
        await expectClean(t, page, `/ dark at ${width} px, Settings open, latency colours`);
      } finally {
        await page.context().close();
      }
    }
  });

  // /plain has no script of its own, so what axe sees with scripts on is what a browser without them shows
  it('on /plain and /plain?guild=<id>, at 1280 and 360 px, on a light and a dark system', async (t) => {
    for (const [width, colorScheme] of [[1280, 'light'], [360, 'light'], [1280, 'dark']]) {
      for (const path of ['/plain', `/plain?guild=${GUILD}`]) {
        const page = await newPage(browser, { width, height: 900, colorScheme });
        try {
          await page.goto(`${base}${path}`);
          assert.equal(await page.$$eval('script', (els) => els.length), 0, 'no script on /plain');
          await page.click('details summary'); // the incident history, open
          assert.equal(await page.$eval('details', (d) => d.open), true);
          // the only console message /plain can cause is the browser's own 404 for /favicon.ico
          page.problems = page.problems.filter((p) => !/status of 404/.test(p));
          await expectClean(t, page, `${path} at ${width} px (${colorScheme})`);
        } finally {
          await page.context().close();
        }
      }
    }
  });

  it('on a subscription\'s page (its management link) and the page the form answers with, at 1280 and 360 px', async (t) => {
    const made = await request(api.port, 'POST', '/api/subscriptions', {
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ webhook_url: discord.url(), scope: { guild: GUILD } }),
    });
    assert.equal(made.status, 201, made.body);
    for (const [width, colorScheme] of [[1280, 'light'], [360, 'light'], [360, 'dark']]) {
      const page = await newPage(browser, { width, height: 900, colorScheme });
      try {
        await page.goto(`${base}/subscription/${made.json().token}`);
        assert.equal(await page.$$eval('form', (els) => els.length), 2, 'the change and remove forms');
        page.problems = page.problems.filter((p) => !/status of 404/.test(p)); // /favicon.ico
        await expectClean(t, page, `/subscription/<token> at ${width} px (${colorScheme})`);
        // the form on /plain, filled in and sent as a browser without script sends it
        await page.goto(`${base}/plain`);
        await page.fill('form[action="/subscribe"] input[name="webhook_url"]', discord.url());
        await page.fill('form[action="/subscribe"] input[name="guild"]', GUILD);
        await Promise.all([page.waitForURL(`${base}/subscribe`), page.click('form[action="/subscribe"] button')]);
        assert.match(await page.textContent('h1'), /^Subscribed$/, await page.textContent('main'));
        page.problems = page.problems.filter((p) => !/status of (404|201)/.test(p));
        await expectClean(t, page, `the subscribed page at ${width} px (${colorScheme})`);
      } finally {
        await page.context().close();
      }
    }
  });

  it('on the widget, /embed and /embed/<cluster>, light and dark', async (t) => {
    for (const colorScheme of ['light', 'dark']) {
      for (const path of ['/embed', '/embed/main']) {
        const page = await newPage(browser, { width: 420, height: 220, colorScheme });
        try {
          await page.goto(`${base}${path}`);
          await page.waitForFunction(() => window.__embed !== undefined && document.documentElement.dataset.feed === 'live'
            && window.__embed.metrics.painted > 0, null);
          await expectClean(t, page, `${path} (${colorScheme})`);
        } finally {
          await page.context().close();
        }
      }
    }
  });
});
