// statuspage_widget.test.mjs -- a real consumer of Glance's Statuspage API (issue 30, item 2): Atlassian's own
// embeddable widget, @statuspage/status-widget (npm, Apache-2.0, a web component that reads
// <src>/api/v2/summary.json), on another site's page in Debian's Chromium, pointed at a real replica across origins:
// it shows the bot operational, then, after an outage, what Glance says of it. Both of its appearances.

import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { startRedis, startApi, postEach, freePort, waitUntil, cleanup } from '../integration/harness.mjs';
import { launch, newPage, closeBrowsers, PATIENT_MS } from './browser.mjs';

const PASS = 'statuspage-widget-passphrase';
const AUTH = { authorization: `Bearer ${PASS}` };
const require = createRequire(import.meta.url);
const WIDGET = readFileSync(require.resolve('@statuspage/status-widget/dist/index.js'), 'utf8');

describe('Atlassian\'s status widget reading Glance', { timeout: 180000 }, () => {
  let rds;
  let api;
  let site;
  let sitePort;
  let browser;

  before(async () => {
    rds = await startRedis();
    api = await startApi({ redisPort: rds.port, bots: 'main:16', passphrase: PASS, healthTimeout: 3600 });
    await postEach([api], Array.from({ length: 16 }, (_, s) => `/api/status/main/${s}/3`), AUTH);
    // a bot's website on another origin, with the widget in both appearances
    sitePort = await freePort();
    site = http.createServer((req, res) => {
      if (req.url === '/widget.js') {
        res.writeHead(200, { 'content-type': 'text/javascript' });
        res.end(WIDGET);
        return;
      }
      res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' });
      res.end(`<!doctype html><meta charset="utf-8"><title>Foxbot</title><h1>Foxbot</h1>
        <statuspage-widget id="basic" src="${api.url}"></statuspage-widget>
        <statuspage-widget id="badge" src="${api.url}" appearance="badge"></statuspage-widget>
        <script src="/widget.js"></script>`);
    });
    await new Promise((resolve) => site.listen(sitePort, '127.0.0.1', resolve));
    browser = await launch();
  });
  after(async () => {
    await closeBrowsers();
    await new Promise((resolve) => site?.close(resolve));
    await api?.stop();
    await rds?.stop();
    await cleanup();
  });

  /** What each widget shows: its indicator's classes and its text, from inside its shadow root. */
  const shown = (page) => page.evaluate(() => ['basic', 'badge'].map((id) => {
    const root = document.getElementById(id)?.shadowRoot;
    const indicator = root?.querySelector('.status-indicator');
    return indicator ? { classes: indicator.className, text: root.textContent.replace(/\s+/g, ' ').trim() } : null;
  }));

  it('shows the bot operational, then the outage once Glance says it', async () => {
    const page = await newPage(browser);
    await page.goto(`http://127.0.0.1:${sitePort}/`);
    await page.waitForFunction(() => ['basic', 'badge'].every((id) => document.getElementById(id)?.shadowRoot
      ?.querySelector('.status-indicator')), null, { timeout: PATIENT_MS });
    const before = await shown(page);
    for (const w of before) {
      assert.match(w.classes, /\bnone\b/, JSON.stringify(before));
      assert.match(w.text, /All Systems Operational/i, JSON.stringify(before));
    }
    // every shard offline: a major outage
    await postEach([api], Array.from({ length: 16 }, (_, s) => `/api/status/main/${s}/2`), AUTH);
    // the widget keeps what it read for 30 s, and the browser for Cache-Control's 15: a reader reloads
    let after;
    await waitUntil(async () => {
      await page.reload();
      await page.waitForFunction(() => document.getElementById('basic')?.shadowRoot?.querySelector('.status-indicator'),
        null, { timeout: PATIENT_MS });
      after = await shown(page);
      return after.every((w) => /\bcritical\b/.test(w.classes));
    }, { timeoutMs: 60000, intervalMs: 2000, message: 'the widget showing the outage' });
    assert.match(after[0].text, /Major Service Outage/i, JSON.stringify(after));
    // the widget's published bundle (Babel run over Parcel's output, which makes it strict) assigns to the undeclared
    // `parcelRequire` once loaded, in every browser: its own error, after it has defined the element; any other fails
    assert.deepEqual(page.problems.filter((p) => p !== 'pageerror: parcelRequire is not defined'), []);
  });
});
