// embed.test.mjs -- the embeddable widget (/embed, /embed/<cluster>) in Debian's Chromium against a real
// redis-server and glance-api: the condition and the counts, the squares in their states' colours, live
// changes, one cluster alone, an unknown cluster, the stale-data mark across a replica restart, the colour
// scheme, 20,000 shards; and the framing policy: inside an <iframe> on a page from an origin on
// GLANCE_EMBED_ORIGINS the widget runs (with cookies and storage blocked), from any other origin Chromium
// refuses the frame. Ends with the screenshot of the widget on a mock bot website.

import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import {
  startRedis, startApi, request, freePort, waitUntil, cleanup,
} from '../integration/harness.mjs';
import { launch, newPage, closeBrowsers, postAll, screenshot, startApiOn, PATIENT_MS } from './browser.mjs';

const BOTS = 'main:360;canary:16';
const DOWN = [57, 58, 59, 203]; // unhealthy in main

let rds;
let apiPort; // a fixed port, so the replica can be restarted where the widgets expect it
let api;
let base;
let hostPort; // the bot's website: an origin on the allow-list
let otherPort; // another website, not on it
let hosts = [];
let browser;
let page; // /embed, opened directly

const post = async (p) => {
  const r = await request(apiPort, 'POST', p);
  assert.equal(r.status, 204, `POST ${p}: ${r.status} ${r.body}`);
};

/** glance-api on `port` with the widget's allow-list, ready (10 s at most); stop() kills it and waits. */
async function startReplica(port) {
  const a = await startApiOn(port, {
    redisPort: rds.port, bots: BOTS, feedIntervalMs: 50,
    env: { GLANCE_DRAIN_MS: 0, GLANCE_EMBED_ORIGINS: `http://127.0.0.1:${hostPort}` },
  });
  // killed, not stopped: the widget must find out the hard way
  return { stop: async () => { a.kill('SIGKILL'); await a.stop(); } };
}

/**
 * A website on 127.0.0.1:port: /frame?src=<url>&w=&h= is a bare page with one <iframe>, /site?src=<url> a
 * mock bot homepage with the widget in its sidebar.
 */
function startHost(port) {
  const server = http.createServer((req, res) => {
    const url = new URL(req.url, 'http://x');
    const src = url.searchParams.get('src') || '';
    const attr = (s) => String(s).replace(/[&<>"]/g, (c) => `&#${c.charCodeAt(0)};`);
    const w = Number(url.searchParams.get('w')) || 420;
    const h = Number(url.searchParams.get('h')) || 220;
    const iframe = `<iframe id="status" src="${attr(src)}" width="${w}" height="${h}" title="Foxbot status" loading="eager" style="border:0;border-radius:10px;display:block"></iframe>`;
    let body;
    if (url.pathname === '/frame') {
      body = `<!doctype html><meta charset="utf-8"><title>A bot's site</title><body style="margin:8px">${iframe}`;
    } else if (url.pathname === '/site') {
      body = `<!doctype html><meta charset="utf-8"><title>Foxbot</title>
<style>
  body { margin: 0; font: 16px/1.5 system-ui, sans-serif; background: #1d1530; color: #f3eefc; }
  header { display: flex; align-items: center; gap: 12px; padding: 18px 32px; background: #2a1f45; }
  header b { font-size: 22px; } .logo { width: 30px; height: 30px; border-radius: 50%; background: #ff8a3d; } header nav { margin-left: auto; display: flex; gap: 20px; color: #cbbcf0; }
  main { display: grid; grid-template-columns: 1fr 420px; gap: 32px; padding: 32px; }
  h1 { margin: 0 0 12px; font-size: 34px; } p { color: #cbbcf0; max-width: 34em; }
  .cta { display: inline-block; margin-top: 12px; padding: 10px 18px; border-radius: 8px; background: #ff8a3d; color: #1d1530; font-weight: 700; }
  aside h2 { margin: 0 0 10px; font-size: 15px; text-transform: uppercase; letter-spacing: .08em; color: #cbbcf0; }
  aside iframe { box-shadow: 0 8px 30px rgba(0,0,0,.35); }
</style>
<header><i class="logo"></i><b>Foxbot</b><nav><span>Features</span><span>Commands</span><span>Support</span><span>Status</span></nav></header>
<main><section><h1>The friendliest bot on Discord</h1>
<p>Moderation, music and games for 1.9 million servers. Add Foxbot to your server in one click.</p>
<span class="cta">Add to Discord</span></section>
<aside><h2>Live status</h2>${iframe}</aside></main>`;
    } else if (url.pathname === '/favicon.ico') {
      res.writeHead(204).end(); // a 404 would be a console error on the page
      return;
    } else {
      res.writeHead(404).end();
      return;
    }
    res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' }).end(body);
  });
  return new Promise((resolve) => server.listen(port, '127.0.0.1', () => resolve(server)));
}

/** Waits (bounded) until the widget in `frame` (a page or a frame) is live and has drawn its shards. */
async function waitWidget(frame, timeoutMs = 10000) {
  await frame.waitForFunction(() => window.__embed !== undefined && document.documentElement.dataset.feed === 'live'
    && window.__embed.metrics.hellos > 0 && window.__embed.metrics.painted === window.__embed.metrics.hellos, null, { timeout: timeoutMs });
}

/**
 * The state whose colour the square of `shard` shows on the widget's canvas (the lowest, where two states
 * share a colour), or -1 when no state's colour is there. The expected colours go through a canvas too, so
 * any CSS colour syntax main.css uses compares equal.
 */
function drawnState(frame, cluster, shard) {
  return frame.evaluate(([c, s]) => {
    const rect = window.__embed.cellRect(c, s);
    if (!rect) return null;
    const mid = Math.floor(rect.size / 2);
    const px = document.querySelector('#grid').getContext('2d').getImageData(rect.x + mid, rect.y + mid, 1, 1).data;
    const probe = document.createElement('canvas').getContext('2d', { willReadFrequently: true });
    return window.__embed.colours.findIndex((colour) => {
      probe.clearRect(0, 0, 1, 1);
      probe.fillStyle = colour;
      probe.fillRect(0, 0, 1, 1);
      const want = probe.getImageData(0, 0, 1, 1).data;
      return [0, 1, 2].every((i) => Math.abs(want[i] - px[i]) <= 2);
    });
  }, [cluster, shard]);
}

/** The text of the widget's parts. */
function widgetText(frame) {
  return frame.evaluate(() => ({
    title: document.querySelector('#condition-title').textContent,
    detail: document.querySelector('#condition-detail').textContent,
    level: document.querySelector('#widget').dataset.level,
    connection: document.querySelector('#connection').textContent.trim(),
    label: document.querySelector('#grid').getAttribute('aria-label'),
    role: document.querySelector('#grid').getAttribute('role'),
    key: Object.fromEntries([...document.querySelectorAll('#key li:not([hidden])')]
      .map((li) => [li.querySelector('.key-label').textContent, li.querySelector('.key-count').textContent])),
  }));
}

before(async () => {
  rds = await startRedis();
  [apiPort, hostPort, otherPort] = await Promise.all([freePort(), freePort(), freePort()]);
  hosts = await Promise.all([startHost(hostPort), startHost(otherPort)]);
  api = await startReplica(apiPort);
  base = `http://127.0.0.1:${apiPort}`;
  const paths = [];
  for (let s = 0; s < 360; s++) paths.push(`/api/status/main/${s}/3`);
  for (let s = 0; s < 15; s++) paths.push(`/api/status/canary/${s}/3`); // canary 15 never reports
  await postAll(apiPort, paths);
  await postAll(apiPort, [...DOWN.map((s) => `/api/status/main/${s}/1`), '/api/status/main/118/4'], { concurrency: 1 });
  browser = await launch();
  page = await newPage(browser, { width: 420, height: 220 });
  await page.goto(`${base}/embed`);
  await waitWidget(page);
});

after(async () => {
  await closeBrowsers();
  await Promise.all(hosts.map((h) => new Promise((resolve) => h.close(resolve))));
  await cleanup();
});

describe('the widget', { timeout: 60000 }, () => {
  it('says the whole bot\'s condition in words, with the counts per state as text', async () => {
    const t = await widgetText(page);
    assert.equal(t.title, 'Partial outage');
    assert.equal(t.detail, '4 of 376 shards unhealthy');
    assert.equal(t.level, 'partial');
    assert.equal(t.connection, 'Live');
    assert.deepEqual(t.key, { Unknown: '1', Unhealthy: '4', Online: '370', Starting: '1' });
    assert.equal(t.role, 'img');
    assert.equal(t.label, 'All clusters. Partial outage: 4 of 376 shards unhealthy. 1 unknown, 4 unhealthy, 370 online, 1 starting.');
    assert.deepEqual(page.problems, []);
  });

  it('draws every shard as a square in its state\'s colour, fitted to the frame\'s width', async () => {
    assert.equal(await drawnState(page, 'main', 0), 3);
    assert.equal(await drawnState(page, 'main', 57), 1);
    assert.equal(await drawnState(page, 'main', 118), 4);
    assert.equal(await drawnState(page, 'canary', 14), 3);
    assert.equal(await drawnState(page, 'canary', 15), 0);
    const fit = await page.evaluate(() => {
      const canvas = document.querySelector('#grid').getBoundingClientRect();
      return { right: canvas.right, width: innerWidth, scroll: document.documentElement.scrollWidth, layout: window.__embed.layout };
    });
    assert.ok(fit.right <= fit.width && fit.scroll <= fit.width, `the grid fits: ${JSON.stringify(fit)}`);
    assert.ok(fit.layout.cell >= 4, `squares big enough to see in a 420 x 220 frame: ${fit.layout.cell} px`);
  });

  it('shows a shard\'s change live: its square, the counts and the condition', async () => {
    await post('/api/status/main/300/2');
    await page.waitForFunction(() => /5 of 376 shards unhealthy or offline/.test(document.querySelector('#condition-detail').textContent));
    assert.equal(await drawnState(page, 'main', 300), 2);
    assert.equal((await widgetText(page)).key.Offline, '1');
    await post('/api/status/main/300/3');
    await page.waitForFunction(() => /4 of 376 shards unhealthy$/.test(document.querySelector('#condition-detail').textContent));
    assert.equal(await drawnState(page, 'main', 300), 3);
    assert.equal((await widgetText(page)).key.Offline, undefined, 'a state without shards leaves the key');
    assert.deepEqual(page.problems, []);
  });

  it('/embed/<cluster> shows only that cluster\'s shards and counts', async () => {
    const p = await newPage(browser, { width: 360, height: 160 });
    try {
      await p.goto(`${base}/embed/canary`);
      await waitWidget(p);
      const t = await widgetText(p);
      assert.equal(t.title, 'Operational');
      assert.equal(t.detail, '15 of 16 shards online; 1 not reporting yet');
      assert.deepEqual(t.key, { Unknown: '1', Online: '15' });
      assert.match(t.label, /^Cluster canary\. /);
      assert.equal(await p.textContent('#name'), 'canary');
      assert.equal(await drawnState(p, 'canary', 3), 3);
      assert.equal(await p.evaluate(() => window.__embed.cellRect('main', 0)), null, 'main is not drawn');
      await post('/api/status/canary/3/1');
      await p.waitForFunction(() => document.querySelector('#condition-title').textContent === 'Partial outage');
      assert.equal(await drawnState(p, 'canary', 3), 1);
      await post('/api/status/main/0/1'); // another cluster's change leaves this widget alone
      await post('/api/status/canary/3/3');
      await p.waitForFunction(() => document.querySelector('#condition-title').textContent === 'Operational');
      assert.deepEqual((await widgetText(p)).key, { Unknown: '1', Online: '15' });
      await post('/api/status/main/0/3');
      assert.deepEqual(p.problems, []);
    } finally {
      await p.context().close();
    }
  });

  it('the server answers an unknown cluster with a 404, and the widget says so when the feed lacks it', async () => {
    const r = await request(apiPort, 'GET', '/embed/nowhere');
    assert.equal(r.status, 404);
    assert.ok(r.json().error);
    // a cluster dropped from GLANCE_BOTS after its widget was served: the page is there, the feed's hello
    // (the real one, with that cluster taken out on its way) lacks it
    const p = await newPage(browser, { width: 360, height: 160 });
    try {
      await p.routeWebSocket(/\/api\/feed$/, (ws) => {
        const server = ws.connectToServer();
        server.onMessage((data) => {
          const msg = JSON.parse(data);
          if (msg.type === 'hello') msg.clusters = msg.clusters.filter((c) => c.name !== 'canary');
          ws.send(JSON.stringify(msg));
        });
      });
      await p.goto(`${base}/embed/canary`);
      await p.waitForFunction(() => !document.querySelector('#problem').hidden);
      assert.match(await p.textContent('#problem'), /no cluster named “canary”/);
      assert.equal(await p.getAttribute('#problem', 'role'), 'alert');
      assert.equal(await p.isHidden('#grid-box'), true);
      assert.equal(await p.textContent('#condition-title'), 'Unknown cluster');
      assert.deepEqual(p.problems, []);
    } finally {
      await p.context().close();
    }
  });

  it('follows the system\'s colour scheme, and ?theme= forces one', async () => {
    const p = await newPage(browser, { width: 360, height: 160, colorScheme: 'light' });
    try {
      await p.goto(`${base}/embed/canary`);
      await waitWidget(p);
      const light = await p.evaluate(() => window.__embed.colours);
      await p.emulateMedia({ colorScheme: 'dark' });
      await p.waitForFunction((before) => window.__embed.colours[3] !== before, light[3]);
      await p.waitForFunction(() => window.__embed.metrics.draws > 1);
      assert.equal(await drawnState(p, 'canary', 0), 3, 'redrawn in the dark colours');
      const dark = await p.evaluate(() => window.__embed.colours);
      await p.emulateMedia({ colorScheme: 'light' });
      await p.goto(`${base}/embed/canary?theme=dark`);
      await waitWidget(p);
      assert.equal(await p.evaluate(() => document.documentElement.dataset.theme), 'dark');
      assert.deepEqual(await p.evaluate(() => window.__embed.colours), dark, 'dark on a light system');
      await p.emulateMedia({ colorScheme: 'dark' });
      await p.goto(`${base}/embed/canary?theme=light`);
      await waitWidget(p);
      assert.deepEqual(await p.evaluate(() => window.__embed.colours), light, 'light on a dark system');
      assert.deepEqual(p.problems, []);
    } finally {
      await p.context().close();
    }
  });

  it('marks the data stale while the replica is gone, and comes back live by itself', async () => {
    const p = await newPage(browser, { width: 420, height: 220 });
    try {
      await p.goto(`${base}/embed`);
      await waitWidget(p);
      await api.stop();
      await p.waitForFunction(() => document.documentElement.dataset.feed === 'reconnecting');
      assert.match(await p.textContent('#connection'), /Reconnecting…/);
      assert.match(await p.textContent('#stale'), /Live updates stopped at .*may be out of date/);
      assert.equal(await p.isVisible('#stale'), true);
      assert.notEqual(await p.$eval('#grid-box', (e) => getComputedStyle(e).filter), 'none', 'the grid is washed out');
      api = await startReplica(apiPort);
      await waitWidget(p, 40000); // the backoff may have grown to several seconds
      assert.equal(await p.isHidden('#stale'), true);
      assert.equal((await widgetText(p)).connection, 'Live');
      // the browser reports the refused connections as console errors (the feed's reconnects, and the summary
      // poll when its first run, a second after load, falls in the outage), and a poll the kill cut on its open
      // connection as reset (CI saw that once in a run); the widget itself adds none
      const refused = /WebSocket connection to .* failed|Failed to load resource: net::ERR_CONNECTION_(REFUSED|RESET)/;
      assert.deepEqual(p.problems.filter((m) => !refused.test(m)), []);
    } finally {
      await p.context().close();
    }
  });

  it('leaves a cluster under maintenance out of the condition and names it, as the page does', async () => {
    const m = await startApi({ redisPort: rds.port, bots: 'main:4;eu:4', healthTimeout: 3600, env: { GLANCE_REDIS_PREFIX: 'embedmaint' } });
    const p = await newPage(browser, { width: 420, height: 220 });
    try {
      await postAll(m.port, [0, 1, 2, 3].flatMap((s) => [`/api/status/main/${s}/3`, `/api/status/eu/${s}/2`]));
      const now = Date.now();
      const w = await request(m.port, 'POST', '/api/maintenance', { headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ title: 'Moving eu', text: 'Shards restart.', clusters: ['eu'], starts: now - 1000, ends: now + 3600000 }) });
      assert.equal(w.status, 201, w.body);
      await p.goto(`${m.url}/embed`);
      await waitWidget(p);
      // the windows come from /api/summary, asked a second after the start
      await p.waitForFunction(() => /eu under maintenance/.test(document.querySelector('#condition-detail').textContent));
      assert.equal((await widgetText(p)).title, 'Operational');
      await p.goto(`${m.url}/embed/eu`);
      await waitWidget(p);
      await p.waitForFunction(() => document.querySelector('#condition-title').textContent === 'Under maintenance');
      assert.equal(await p.$eval('#widget', (e) => e.dataset.level), 'maintenance');
      assert.deepEqual(p.problems, []);
    } finally {
      await p.context().close();
      await m.stop();
    }
  });

  it('stays fast with 20,000 shards', async () => {
    const big = await startApi({ redisPort: rds.port, bots: 'big:20000', healthTimeout: 3600, env: { GLANCE_REDIS_PREFIX: 'embedbig' } });
    const p = await newPage(browser, { width: 600, height: 400 });
    try {
      await postAll(big.port, Array.from({ length: 2000 }, (_, s) => `/api/status/big/${s * 10}/${s % 50 ? 3 : 1}`));
      await p.goto(`${big.url}/embed`);
      await waitWidget(p);
      const m = await p.evaluate(() => ({ ...window.__embed.metrics, layout: window.__embed.layout, counts: window.__embed.counts }));
      assert.equal(m.counts.reduce((a, b) => a + b, 0), 20000);
      assert.ok(m.layout.cols * Math.ceil(20000 / m.layout.cols) >= 20000);
      assert.ok(m.lastDrawMs < 100, `one redraw of 20,000 squares took ${m.lastDrawMs.toFixed(1)} ms`);
      assert.equal(await drawnState(p, 'big', 0), 1);
      assert.equal(await drawnState(p, 'big', 10), 3);
      assert.equal(await drawnState(p, 'big', 19999), 0);
      const r = await request(big.port, 'POST', '/api/status/big/19999/1');
      assert.equal(r.status, 204);
      await p.waitForFunction(() => window.__embed.counts[1] === 41);
      await p.waitForFunction(() => /41 of 20,000 shards unhealthy/.test(document.querySelector('#condition-detail').textContent));
      assert.equal(await drawnState(p, 'big', 19999), 1);
      assert.deepEqual(p.problems, []);
    } finally {
      await p.context().close();
      await big.stop();
    }
  });
});

describe('the widget in an iframe', { timeout: 60000 }, () => {
  it('sends the framing policy: frame-ancestors \'self\' and the allowed origins', async () => {
    for (const p of ['/embed', '/embed/main']) {
      const r = await request(apiPort, 'GET', p);
      assert.equal(r.status, 200, p);
      assert.match(r.headers['content-type'], /^text\/html/);
      const csp = r.headers['content-security-policy'];
      assert.ok(csp, `${p}: a Content-Security-Policy header`);
      assert.match(csp, /frame-ancestors 'self' http:\/\/127\.0\.0\.1:\d+/);
      assert.ok(csp.includes(`http://127.0.0.1:${hostPort}`), csp);
      assert.ok(!csp.includes('localhost'), csp);
      assert.ok(r.body.includes('/assets/embed.js'));
    }
  });

  it('runs inside a frame on a page from an allowed origin, with cookies and storage blocked', async () => {
    const p = await newPage(browser, { width: 700, height: 400 });
    try {
      // as in a browser that blocks third-party storage: any use throws
      await p.context().addInitScript(() => {
        const blocked = () => { throw new DOMException('blocked in this test', 'SecurityError'); };
        for (const name of ['localStorage', 'sessionStorage', 'indexedDB']) Object.defineProperty(window, name, { get: blocked });
        Object.defineProperty(Document.prototype, 'cookie', { get: blocked, set: blocked });
      });
      const src = `${base}/embed/main`;
      await p.goto(`http://127.0.0.1:${hostPort}/frame?src=${encodeURIComponent(src)}`);
      await waitUntil(() => p.frames().find((f) => f.url() === src), { timeoutMs: PATIENT_MS, message: 'the widget frame' });
      const frame = p.frames().find((f) => f.url() === src);
      await waitWidget(frame);
      const t = await widgetText(frame);
      assert.equal(t.title, 'Partial outage');
      assert.equal(t.detail, '4 of 360 shards unhealthy');
      assert.equal(await drawnState(frame, 'main', 57), 1);
      await post('/api/status/main/59/3');
      await frame.waitForFunction(() => /3 of 360 shards unhealthy/.test(document.querySelector('#condition-detail').textContent));
      assert.equal(await drawnState(frame, 'main', 59), 3);
      await post('/api/status/main/59/1');
      assert.equal(await frame.getAttribute('#full', 'target'), '_blank');
      assert.match(await frame.getAttribute('#full', 'rel'), /noopener/);
      assert.deepEqual(p.problems, []);
    } finally {
      await p.context().close();
    }
  });

  it('is refused inside a frame on a page from an origin not on the list', async () => {
    const p = await newPage(browser, { width: 700, height: 400 });
    try {
      const src = `${base}/embed`;
      const responses = [];
      p.on('response', (r) => { if (r.url() === src) responses.push(r); });
      await p.goto(`http://localhost:${otherPort}/frame?src=${encodeURIComponent(src)}`);
      await waitUntil(() => responses.length > 0, { timeoutMs: PATIENT_MS, message: 'the frame\'s response' });
      await waitUntil(() => p.problems.some((m) => /frame-ancestors/.test(m)), { timeoutMs: PATIENT_MS, message: 'Chromium to refuse the frame' });
      assert.match(await responses[0].headerValue('content-security-policy'), /frame-ancestors/);
      const frame = await (await p.$('#status')).contentFrame();
      // Chromium puts its error page in the refused frame: no widget, no script of ours
      const widget = frame ? await frame.evaluate(() => [document.querySelector('#widget') !== null, window.__embed !== undefined]).catch(() => [false, false]) : [false, false];
      assert.deepEqual(widget, [false, false], `frame url ${frame?.url()}`);
      assert.ok(p.problems.every((m) => /frame-ancestors/.test(m)), p.problems.join('\n'));
    } finally {
      await p.context().close();
    }
  });

  it('looks at home on a bot\'s website (screenshot)', async () => {
    const p = await newPage(browser, { width: 1000, height: 420, colorScheme: 'dark' });
    try {
      const src = `${base}/embed?theme=dark`;
      await p.goto(`http://127.0.0.1:${hostPort}/site?src=${encodeURIComponent(src)}&w=420&h=220`);
      await waitUntil(() => p.frames().find((f) => f.url() === src), { timeoutMs: PATIENT_MS, message: 'the widget frame' });
      await waitWidget(p.frames().find((f) => f.url() === src));
      await p.waitForTimeout(200); // the frame's last paint
      await screenshot(p, 'screenshot-embed.png');
      assert.deepEqual(p.problems, []);
    } finally {
      await p.context().close();
    }
  });
});
