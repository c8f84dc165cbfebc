// theme.test.mjs -- dark mode in Debian's Chromium against the real stack (redis-server and glance-api): the
// page follows the system's scheme, the Theme setting overrides it and is remembered, a remembered dark
// theme is there at the first paint, the setting works from the keyboard; and the dark screenshots.

import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startRedis, startApi, cleanup, sleep } from '../integration/harness.mjs';
import { launch, newPage, closeBrowsers, waitLive, screenshot, seedShowcase, seedShowcaseHistory } from './browser.mjs';

const PASS = 'theme test passphrase';
const AUTH = { authorization: `Bearer ${PASS}` };
const BOTS = 'main:360;canary:16;eu:48';

let rds;
let api;
let browser;

/** The page's background colour, as computed on <html>. */
const pageBg = (page) => page.evaluate(() => getComputedStyle(document.documentElement).backgroundColor);

/** What --bg computes to under color-scheme `scheme` ('light' or 'dark'), read from main.css on the page. */
const bgOf = (page, scheme) => page.evaluate((s) => {
  const probe = document.createElement('i');
  probe.style.cssText = `color-scheme: ${s}; background-color: var(--bg)`;
  document.body.append(probe);
  const colour = getComputedStyle(probe).backgroundColor;
  probe.remove();
  return colour;
}, scheme);

/** The page's theme as it stands: data-theme, the meta's and the root's color-scheme, the checked radio. */
const themeOf = (page) => page.evaluate(() => ({
  data: document.documentElement.dataset.theme ?? null,
  meta: document.querySelector('meta[name="color-scheme"]').content,
  scheme: getComputedStyle(document.documentElement).colorScheme,
  checked: document.querySelector('input[name="theme"]:checked').value,
}));

const stored = (page) => page.evaluate(() => localStorage.getItem('glance.theme'));

/** Chooses `label` ('System', 'Light', 'Dark') in Settings, as a reader would, with the pointer. */
async function choose(page, label) {
  if (!(await page.$eval('.settings', (d) => d.open))) await page.click('.settings summary');
  await page.getByRole('radio', { name: label }).check();
}

async function openPage(opts = {}) {
  const page = await newPage(browser, opts);
  await page.goto(`${api.url}/`);
  await waitLive(page);
  return page;
}

before(async () => {
  rds = await startRedis();
  await seedShowcaseHistory(rds.port);
  api = await startApi({ redisPort: rds.port, bots: BOTS, passphrase: PASS, healthTimeout: 3600,
    env: { GLANCE_ALERT_DELAY: 86400 } });
  await seedShowcase(api, AUTH);
  browser = await launch();
});

after(async () => {
  await closeBrowsers();
  await cleanup();
});

describe('the theme', { timeout: 60000 }, () => {
  it('follows the system\'s scheme while the setting is System, also when the system changes', async () => {
    const page = await openPage({ colorScheme: 'dark' });
    try {
      assert.deepEqual(await themeOf(page), { data: null, meta: 'light dark', scheme: 'light dark', checked: 'system' });
      const [light, dark] = [await bgOf(page, 'light'), await bgOf(page, 'dark')];
      assert.notEqual(light, dark);
      assert.equal(await pageBg(page), dark);
      await page.emulateMedia({ colorScheme: 'light' });
      assert.equal(await pageBg(page), light);
      assert.deepEqual(page.problems, []);
    } finally {
      await page.context().close();
    }
  });

  it('takes Dark or Light from Settings over the system\'s scheme, remembers it, and follows again on System', async () => {
    const page = await openPage({ colorScheme: 'light' });
    try {
      const [light, dark] = [await bgOf(page, 'light'), await bgOf(page, 'dark')];
      await choose(page, 'Dark');
      assert.deepEqual(await themeOf(page), { data: 'dark', meta: 'dark', scheme: 'dark', checked: 'dark' });
      assert.equal(await pageBg(page), dark);
      assert.equal(await stored(page), 'dark');
      await page.reload();
      await waitLive(page);
      assert.deepEqual(await themeOf(page), { data: 'dark', meta: 'dark', scheme: 'dark', checked: 'dark' });
      assert.equal(await pageBg(page), dark);

      await page.emulateMedia({ colorScheme: 'dark' });
      await choose(page, 'Light');
      assert.deepEqual(await themeOf(page), { data: 'light', meta: 'light', scheme: 'light', checked: 'light' });
      assert.equal(await pageBg(page), light);
      await page.reload();
      await waitLive(page);
      assert.equal(await pageBg(page), light, 'Light survives a reload on a dark system');

      await choose(page, 'System');
      assert.deepEqual(await themeOf(page), { data: null, meta: 'light dark', scheme: 'light dark', checked: 'system' });
      assert.equal(await pageBg(page), dark);
      assert.equal(await stored(page), null);
      await page.emulateMedia({ colorScheme: 'light' });
      assert.equal(await pageBg(page), light);
      assert.deepEqual(page.problems, []);
    } finally {
      await page.context().close();
    }
  });

  it('paints a remembered Dark from the first frame on a light system, before any module runs', async () => {
    const page = await newPage(browser, { colorScheme: 'light' });
    try {
      await page.addInitScript(() => {
        localStorage.setItem('glance.theme', 'dark');
        // the moment <body> is parsed: after the head's inline script, before the deferred modules
        new MutationObserver((_, observer) => {
          if (!document.body || window.atBody) return;
          window.atBody = {
            data: document.documentElement.dataset.theme ?? null,
            meta: document.querySelector('meta[name="color-scheme"]').content,
            modules: Boolean(window.__glance),
          };
          observer.disconnect();
        }).observe(document, { childList: true, subtree: true });
        // and what the first frame paints
        requestAnimationFrame(() => { window.firstFrame = getComputedStyle(document.documentElement).backgroundColor; });
      });
      await page.goto(`${api.url}/`);
      await waitLive(page);
      assert.deepEqual(await page.evaluate(() => window.atBody), { data: 'dark', meta: 'dark', modules: false });
      assert.equal(await page.evaluate(() => window.firstFrame), await bgOf(page, 'dark'));
      assert.deepEqual(page.problems, []);
    } finally {
      await page.context().close();
    }
  });

  it('is one labelled group in Settings, reached by Tab and changed with the arrow keys', async () => {
    const page = await openPage({ colorScheme: 'light' });
    try {
      await page.focus('.settings summary');
      await page.keyboard.press('Enter'); // opens the details
      assert.equal(await page.$eval('.settings', (d) => d.open), true);
      const group = page.getByRole('group', { name: 'Theme' });
      assert.equal(await group.getByRole('radio').count(), 3);
      for (const name of ['System', 'Light', 'Dark']) assert.equal(await group.getByRole('radio', { name, exact: true }).count(), 1, name);
      const focused = () => page.evaluate(() => ({ name: document.activeElement.name, value: document.activeElement.value }));
      let tabs = 0;
      while ((await focused()).name !== 'theme' && tabs++ < 10) await page.keyboard.press('Tab');
      assert.deepEqual(await focused(), { name: 'theme', value: 'system' }, 'Tab reaches the checked choice');
      await page.keyboard.press('ArrowDown');
      assert.deepEqual(await focused(), { name: 'theme', value: 'light' });
      assert.equal((await themeOf(page)).data, 'light');
      await page.keyboard.press('ArrowDown');
      assert.deepEqual(await themeOf(page), { data: 'dark', meta: 'dark', scheme: 'dark', checked: 'dark' });
      assert.equal(await stored(page), 'dark');
      await page.keyboard.press('ArrowUp');
      assert.equal((await themeOf(page)).checked, 'light');
      await page.keyboard.press('ArrowDown');
      await page.keyboard.press('Tab');
      assert.notEqual((await focused()).name, 'theme', 'the group is one tab stop');
      await page.keyboard.press('Shift+Tab');
      assert.deepEqual(await focused(), { name: 'theme', value: 'dark' }, 'Shift+Tab comes back to the choice made');
      assert.deepEqual(page.problems, []);
    } finally {
      await page.context().close();
    }
  });

  it('writes the dark screenshots (tests/out; docs/ with GLANCE_UPDATE_SCREENSHOTS=1)', async () => {
    const desk = await newPage(browser, { width: 1280, height: 900, colorScheme: 'dark' });
    const phone = await newPage(browser, { width: 390, height: 844, deviceScaleFactor: 2, isMobile: true, hasTouch: true, colorScheme: 'dark' });
    try {
      for (const pg of [desk, phone]) {
        await pg.goto(`${api.url}/`);
        await waitLive(pg);
        await pg.waitForSelector('#notices:not([hidden]) .notice');
        await pg.waitForSelector('.s[data-cluster="main"][data-shard="203"][data-flapping]');
        await pg.waitForFunction(() => window.__glance.history.stats.painted > 0, null);
        await pg.evaluate(() => document.fonts.ready);
        assert.equal(await pageBg(pg), await bgOf(pg, 'dark'));
      }
      await sleep(300); // let the summaries settle
      // the whole page at desktop width, as screenshot-desktop.png: every band on screen, so all are painted
      await desk.setViewportSize({ width: 1280, height: await desk.evaluate(() => document.documentElement.scrollHeight) });
      await desk.evaluate(() => new Promise((r) => requestAnimationFrame(() => requestAnimationFrame(r))));
      await screenshot(desk, 'screenshot-dark.png');
      await screenshot(phone, 'screenshot-dark-phone.png');
      assert.deepEqual([...desk.problems, ...phone.problems], []);
    } finally {
      await desk.context().close();
      await phone.context().close();
    }
  });
});
