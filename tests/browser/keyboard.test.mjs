// keyboard.test.mjs -- the dashboard by keyboard alone, in Debian's Chromium against a live replica: Tab from
// the top visits every control once, in reading order, each with a focus ring that shows; the skip links,
// the guild box, Settings, the banner's "Details" link, the shard grid and the day bars work from the keys;
// Escape closes the tooltips.

import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startRedis, request, postEach, freePort, cleanup } from '../integration/harness.mjs';
import { launch, closeBrowsers, waitLive, startApiOn, openDashboard } from './browser.mjs';

const PASS = 'keyboard test passphrase';
const AUTH = { authorization: `Bearer ${PASS}` };
const BOTS = 'main:360;canary:16';
const INCIDENT = 'Shards 57–59 of main are not responding';
const GUILD = '81384788765712384';

let rds;
let base;
let browser;

/**
 * What has the focus, as a stable description: "link: Glance", "textbox: guild", "button: Find",
 * "summary: Settings", "checkbox: pulse", "radio: theme=system", "shard: main/0", "day: canary/today", or
 * the tag name of anything else ("body").
 */
const FOCUSED = () => {
  const e = document.activeElement;
  if (!e || e === document.body) return 'body';
  const text = (x) => (x.getAttribute('aria-label') || x.textContent).replace(/\s+/g, ' ').trim();
  if (e.matches('.s[data-shard]')) return `shard: ${e.dataset.cluster}/${e.dataset.shard}`;
  if (e.matches('.day')) {
    const row = e.closest('.history-cluster');
    const last = e.parentElement.children.length - 1;
    return `day: ${row.dataset.cluster}/${Number(e.dataset.index) === last ? 'today' : e.dataset.index}`;
  }
  if (e.matches('input[type="radio"]')) return `radio: ${e.name}=${e.value}`;
  if (e.matches('input[type="checkbox"]')) return `checkbox: ${e.id}`;
  if (e.matches('input')) return `textbox: ${e.id}`;
  if (e.matches('a')) return `link: ${text(e)}`;
  if (e.matches('button')) return `button: ${text(e)}`;
  if (e.matches('summary')) return `summary: ${text(e)}`;
  return `${e.tagName.toLowerCase()}${e.id ? `#${e.id}` : ''}`;
};

const focused = (page) => page.evaluate(FOCUSED);

/**
 * How the focused element shows its focus: {ring (an outline of 2 px or more, or a box-shadow it has only
 * while focused), onScreen (its box inside the viewport), focusVisible (:focus-visible matches)}.
 */
const focusLook = (page) => page.evaluate(() => {
  const e = document.activeElement;
  const cs = getComputedStyle(e);
  const outline = cs.outlineStyle !== 'none' && parseFloat(cs.outlineWidth) >= 2;
  const r = e.getBoundingClientRect();
  return {
    ring: outline,
    outline: `${cs.outlineStyle} ${cs.outlineWidth} ${cs.outlineColor}`,
    onScreen: r.width > 0 && r.height > 0 && r.right > 0 && r.bottom > 0 && r.left < innerWidth && r.top < innerHeight,
    focusVisible: e.matches(':focus-visible'),
  };
});

/**
 * Presses Tab from the top of the page until the focus leaves the page's last control (or 60 presses),
 * checking each stop's focus ring; resolves the stops' descriptions in order.
 */
async function tabThrough(page) {
  await page.evaluate(() => { document.activeElement?.blur(); window.scrollTo(0, 0); });
  const stops = [];
  const bad = [];
  for (let i = 0; i < 60; i++) {
    await page.keyboard.press('Tab');
    const now = await focused(page);
    if (now === 'body' || (stops.length > 0 && now === stops[0])) break;
    stops.push(now);
    const look = await focusLook(page);
    if (!look.ring || !look.onScreen || !look.focusVisible) bad.push(`${now}: ${JSON.stringify(look)}`);
  }
  assert.deepEqual(bad, [], `focus not visible on:\n${bad.join('\n')}`);
  return stops;
}

const openPage = (opts = {}) => openDashboard(browser, `${base}/`, opts);

before(async () => {
  rds = await startRedis();
  const port = await freePort();
  const api = await startApiOn(port, {
    redisPort: rds.port, bots: BOTS, env: { GLANCE_PASSPHRASE: PASS, GLANCE_ALERT_DELAY: 86400, GLANCE_DRAIN_MS: 0 },
  });
  base = `http://127.0.0.1:${port}`;
  const paths = [];
  for (const [name, n] of [['main', 360], ['canary', 16]]) for (let s = 0; s < n; s++) paths.push(`/api/status/${name}/${s}/3`);
  await postEach([api], paths, AUTH);
  await postEach([api], ['/api/status/main/57/1', '/api/status/main/58/1', '/api/status/main/59/1'], AUTH);
  const r = await request(port, 'POST', '/api/incidents', {
    headers: { ...AUTH, 'content-type': 'application/json' },
    body: JSON.stringify({ title: INCIDENT, impact: 'major', clusters: ['main'], text: 'Three shards stopped answering health checks.' }),
  });
  assert.ok(r.status >= 200 && r.status < 300, `POST /api/incidents: ${r.status} ${r.body}`);
  browser = await launch();
});

after(async () => {
  await closeBrowsers();
  await cleanup();
});

// every control, once, in reading order: the grids and the history are one stop per cluster (arrow keys move
// inside), the banner's link comes before the grids it speaks of, the latency charts after the grids, the footer's
// last
const ORDER = [
  'link: Skip to the shards',
  'link: Skip to the history',
  'link: Glance',
  'textbox: guild',
  'button: Find',
  `link: Details of ${INCIDENT}`,
  'summary: Settings',
  'shard: main/0',
  'shard: canary/0',
  // the latency charts (latency.js): each cluster's window switch and its table
  'button: 24 h',
  'button: 30 days',
  "summary: Table of main's latency",
  'button: 24 h',
  'button: 30 days',
  "summary: Table of canary's latency",
  'day: main/today',
  'day: canary/today',
  'link: Follow (Atom feed)',
  // Get notified: the scope's radio buttons are one stop (arrow keys move between them), the clusters' boxes one each
  'textbox: webhook-url',
  'radio: scope=guild',
  'textbox: subscribe-guild',
  'checkbox: subscribe-cluster-main',
  'checkbox: subscribe-cluster-canary',
  'button: Subscribe',
  'link: Plain version (no script)',
];

describe('the dashboard by keyboard', { timeout: 60000 }, () => {
  for (const [width, colorScheme] of [[1280, 'light'], [1280, 'dark'], [360, 'light']]) {
    it(`Tab from the top visits every control once, in order, each with a visible focus ring (${width} px, ${colorScheme})`, async () => {
      const page = await openPage({ width, height: 800, colorScheme });
      try {
        assert.deepEqual(await tabThrough(page), ORDER);
        assert.deepEqual(page.problems, []);
      } finally {
        await page.context().close();
      }
    });
  }

  it('Enter and Space on Settings open and close it; its controls follow it in the tab order and work from the keys', async () => {
    const page = await openPage();
    try {
      const open = () => page.$eval('.settings', (d) => d.open);
      await page.focus('.settings summary');
      await page.keyboard.press('Enter');
      assert.equal(await open(), true, 'Enter opens Settings');
      await page.keyboard.press('Tab');
      assert.equal(await focused(page), 'checkbox: pulse');
      assert.equal((await focusLook(page)).ring, true);
      await page.keyboard.press('Tab');
      assert.equal(await focused(page), 'checkbox: by-latency');
      await page.keyboard.press('Space');
      assert.equal(await page.isChecked('#by-latency'), true, 'Space ticks a box');
      await page.waitForSelector('#latency-key:not([hidden])');
      await page.keyboard.press('Space');
      assert.equal(await page.isChecked('#by-latency'), false);
      await page.keyboard.press('Tab');
      assert.equal(await focused(page), 'radio: theme=system');
      await page.keyboard.press('Tab');
      assert.equal(await focused(page), 'shard: main/0', 'after Settings, the grids');
      for (let i = 0; i < 4; i++) await page.keyboard.press('Shift+Tab');
      assert.equal(await focused(page), 'summary: Settings');
      await page.keyboard.press('Space');
      assert.equal(await open(), false, 'Space closes Settings');
      await page.keyboard.press('Tab');
      assert.equal(await focused(page), 'shard: main/0', 'a closed Settings hides its controls from Tab');
      await page.keyboard.press('Shift+Tab');
      await page.keyboard.press('Space');
      assert.equal(await open(), true, 'Space opens Settings too');
      assert.deepEqual(page.problems, []);
    } finally {
      await page.context().close();
    }
  });

  it('the skip links move the focus to the grids and to the history', async () => {
    const page = await openPage();
    try {
      await page.keyboard.press('Tab');
      assert.equal(await focused(page), 'link: Skip to the shards');
      await page.keyboard.press('Enter');
      assert.equal(await focused(page), 'div#clusters');
      await page.keyboard.press('Tab');
      assert.equal(await focused(page), 'shard: main/0');
      // from the top again, on a fresh page (/#clusters would start Tab at the grids, and a blur keeps
      // Chromium's place in the tab order)
      await page.goto(`${base}/`);
      await waitLive(page);
      await page.waitForFunction(() => window.__glance.history.stats.painted > 0, null);
      await page.keyboard.press('Tab');
      await page.keyboard.press('Tab');
      assert.equal(await focused(page), 'link: Skip to the history');
      await page.keyboard.press('Enter');
      assert.equal(await focused(page), 'section#history');
      await page.keyboard.press('Tab');
      assert.equal(await focused(page), 'day: main/today');
      assert.deepEqual(page.problems, []);
    } finally {
      await page.context().close();
    }
  });

  it('the guild box: typed and sent with Enter, its answer\'s button takes the focus to the shard', async () => {
    const page = await openPage();
    try {
      await page.keyboard.press('Tab');
      await page.keyboard.press('Tab');
      await page.keyboard.press('Tab');
      await page.keyboard.press('Tab');
      assert.equal(await focused(page), 'textbox: guild');
      await page.keyboard.type(GUILD);
      await page.keyboard.press('Enter');
      await page.waitForSelector('#guild-result:not([hidden]) button[data-index]');
      const answer = await page.$$eval('#guild-result button[data-index]', (bs) => bs.map((b) => b.textContent));
      assert.equal(answer.length, 2, 'one shard in each cluster');
      await page.keyboard.press('Tab');
      assert.equal(await focused(page), 'button: Find');
      await page.keyboard.press('Tab');
      assert.equal(await focused(page), `link: Details of ${INCIDENT}`, 'the banner comes first, as on screen');
      await page.keyboard.press('Tab');
      assert.match(await focused(page), /^button: /, 'the answer\'s first button is the next stop');
      assert.equal((await focusLook(page)).ring, true);
      await page.keyboard.press('Enter');
      const at = await focused(page);
      assert.match(at, /^shard: main\/\d+$/);
      assert.equal(await page.evaluate(() => document.activeElement.getAttribute('aria-current')), 'true', 'the guild\'s shard');
      assert.deepEqual(page.problems, []);
    } finally {
      await page.context().close();
    }
  });

  it('the arrow keys move between shards and days; Escape closes their tooltips', async () => {
    const page = await openPage();
    try {
      await page.focus('.s[data-cluster="main"][data-shard="0"]');
      await page.keyboard.press('ArrowRight');
      assert.equal(await focused(page), 'shard: main/1');
      await page.waitForSelector('#shard-tip:not([hidden])');
      assert.match(await page.textContent('#shard-tip'), /shard 1/);
      await page.keyboard.press('End');
      assert.equal(await focused(page), 'shard: main/359');
      await page.keyboard.press('Escape');
      assert.equal(await page.isHidden('#shard-tip'), true, 'Escape closes the shard\'s tooltip');
      assert.equal(await focused(page), 'shard: main/359', 'and leaves the focus where it was');

      await page.focus('.history-cluster[data-cluster="main"] .day[tabindex="0"]');
      await page.keyboard.press('ArrowLeft');
      assert.equal(await focused(page), 'day: main/88');
      await page.waitForSelector('#day-tip:not([hidden])');
      await page.keyboard.press('Escape');
      assert.equal(await page.isHidden('#day-tip'), true, 'Escape closes the day\'s tooltip');
      assert.equal(await focused(page), 'day: main/88');
      assert.deepEqual(page.problems, []);
    } finally {
      await page.context().close();
    }
  });

  it('the banner\'s "Details" link, by Enter, takes the focus to the incident in the list', async () => {
    const page = await openPage();
    try {
      await page.focus('#notices .notice a');
      assert.equal(await focused(page), `link: Details of ${INCIDENT}`);
      await page.keyboard.press('Enter');
      await page.waitForFunction(() => document.activeElement?.matches('#incident-list .incident'), null);
      const look = await focusLook(page);
      assert.equal(look.ring, true, `the incident shows its focus: ${look.outline}`);
      assert.equal(look.onScreen, true);
      assert.deepEqual(page.problems, []);
    } finally {
      await page.context().close();
    }
  });
});
