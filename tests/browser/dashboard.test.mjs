// dashboard.test.mjs -- the dashboard page in Debian's Chromium against the real stack (redis-server and
// two glance-api replicas): every cluster shown, live changes, the exact guild lookup, the settings, a
// replica restart survived without a reload, a missed update healed by a resync, and the screenshots.

import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startRedis, startApi, request, freePort, cleanup, sleep } from '../integration/harness.mjs';
import {
  launch, newPage, closeBrowsers, waitLive, shardState, waitShardState, startApiOn, postAll, screenshot,
} from './browser.mjs';

const BOTS = 'main:360;canary:12';
const SIZES = { main: 360, canary: 12 };
// ids the original page's float math gets wrong are among these: above 2^53, low 22 bits all ones
const GUILDS = [
  '81384788765712384',
  '9007199254740993', // 2^53 + 1
  '4611686070210265087', // ((2^40 + 12345) << 22) | 0x3fffff
  '9223372036858970111', // 2^63 | 0x3fffff
  '1152921504606846975', // 2^60 - 1
  '18446744073709551615', // 2^64 - 1
  '4194303', // 2^22 - 1
];

let rds;
let aPort; // replica A, on a port of its own so it can be restarted where the page expects it
let a;
let b; // replica B, up the whole time
let browser;
let page;
let base;

const post = async (port, p) => {
  const r = await request(port, 'POST', p);
  assert.equal(r.status, 204, `POST ${p}: ${r.status} ${r.body}`);
};

/** [cluster, shard] pairs the page marks with aria-current="true". */
const marked = (pg) => pg.$$eval('[aria-current="true"]', (els) => els.map((e) => [e.dataset.cluster, Number(e.dataset.shard)]));

before(async () => {
  rds = await startRedis();
  aPort = await freePort();
  a = await startApiOn(aPort, { redisPort: rds.port, bots: BOTS });
  b = await startApi({ redisPort: rds.port, bots: BOTS, healthTimeout: 3600 });
  base = `http://127.0.0.1:${aPort}`;
  // a believable fleet: everything online, then a few shards in every other state; canary 11 never reported
  const paths = [];
  for (let s = 0; s < 360; s++) paths.push(`/api/status/main/${s}/3`);
  for (let s = 0; s < 11; s++) paths.push(`/api/status/canary/${s}/3`);
  await postAll(aPort, paths);
  const special = [[57, 1], [58, 1], [59, 1], [203, 1], [118, 4], [119, 4], [264, 6], [300, 5], [301, 2], [302, 2]];
  await postAll(aPort, special.map(([s, st]) => `/api/status/main/${s}/${st}`), { concurrency: 1 });
  browser = await launch();
  page = await newPage(browser);
  await page.goto(`${base}/`);
  await waitLive(page);
});

after(async () => {
  await closeBrowsers();
  await cleanup();
});

describe('the dashboard', { timeout: 60000 }, () => {
  it('shows every cluster, and every shard with its id and state', async () => {
    const clusters = await page.$$eval('section.cluster', (els) => els.map((e) => e.dataset.cluster));
    assert.deepEqual(clusters, ['main', 'canary']);
    for (const [name, size] of Object.entries(SIZES)) {
      const shards = await page.$$eval(`.s[data-cluster="${name}"]`, (els) => els.map((e) => [Number(e.dataset.shard), Number(e.dataset.state), e.textContent]));
      assert.equal(shards.length, size, `${name}: ${shards.length} shard elements`);
      shards.forEach(([id, , text], i) => { assert.equal(id, i); assert.equal(text, String(i)); });
    }
    assert.equal(await shardState(page, 'main', 0), 3);
    assert.equal(await shardState(page, 'main', 57), 1);
    assert.equal(await shardState(page, 'main', 301), 2);
    assert.equal(await shardState(page, 'canary', 11), 0);
    assert.deepEqual(page.problems, []);
  });

  it('sums up the whole bot and each cluster in words', async () => {
    const overall = await page.textContent('#overall');
    assert.match(overall, /Partial outage\s+6 of 372 shards unhealthy or offline/);
    assert.match(await page.textContent('section[data-cluster="canary"] .cluster-summary'), /Operational\s+11 of 12 shards online; 1 not reporting yet/);
  });

  it('has a colour key that names every state, with a pattern, not colour alone', async () => {
    const key = await page.$$eval('#key li', (els) => els.map((li) => ({
      label: li.querySelector('.key-label').textContent,
      pattern: getComputedStyle(li.querySelector('.swatch')).backgroundImage,
    })));
    assert.deepEqual(key.map((k) => k.label), ['Unknown', 'Unhealthy', 'Offline', 'Online', 'Starting', 'Stopping', 'Resuming']);
    const patterns = key.filter((k) => k.label !== 'Online').map((k) => k.pattern);
    assert.ok(patterns.every((p) => p.includes('gradient')), `patterns: ${patterns.join(' | ')}`);
    assert.equal(new Set(patterns).size, patterns.length, 'every state has its own pattern');
  });

  it('links to /plain for readers without script', async () => {
    assert.ok(await page.$('footer a[href="/plain"]'));
    assert.match(await page.content(), /<noscript>[\s\S]*href="\/plain"/);
  });

  it('shows a status POSTed over HTTP live, without a reload', async () => {
    await page.evaluate(() => { window.noReload = true; });
    await post(aPort, '/api/status/main/7/1');
    await waitShardState(page, 'main', 7, 1);
    await post(b.port, '/api/status/main/7/4'); // through the other replica
    await waitShardState(page, 'main', 7, 4);
    await page.waitForFunction(() => /7 of 372 shards/.test(document.querySelector('#overall').textContent)
      || /Partial outage/.test(document.querySelector('#overall').textContent), null);
    assert.equal(await page.evaluate(() => window.noReload), true);
  });

  it('marks the right shard in every cluster for every guild id, even above 2^53', async () => {
    for (const id of GUILDS) {
      const want = (await request(aPort, 'GET', `/api/guild/${id}`)).json().clusters.map((c) => [c.name, c.shard]);
      await page.fill('#guild', id);
      await page.press('#guild', 'Enter');
      await page.waitForFunction((n) => document.querySelectorAll('[aria-current="true"]').length === n, want.length);
      assert.deepEqual(await marked(page), want, `guild ${id}`);
      const said = await page.textContent('#guild-result');
      assert.ok(said.includes(id), `the result names the guild: ${said}`);
      for (const [name, shard] of want) assert.match(said, new RegExp(`${name}\\s*shard ${shard}:`), `result for ${id}: ${said}`);
      assert.equal(new URL(page.url()).searchParams.get('guild'), id, 'the address carries the id');
    }
  });

  it('says the answer in words, with the state, in an aria-live region', async () => {
    const region = await page.$eval('#guild-result', (el) => ({ live: el.getAttribute('aria-live'), role: el.getAttribute('role'), hidden: el.hidden }));
    assert.deepEqual(region, { live: 'polite', role: 'status', hidden: false });
    await page.fill('#guild', '81384788765712384');
    await page.press('#guild', 'Enter');
    await page.waitForFunction(() => /main\s*shard 298: Online/.test(document.querySelector('#guild-result').textContent));
    await page.fill('#guild', 'not a number');
    await page.waitForFunction(() => /is not a guild ID/.test(document.querySelector('#guild-result').textContent), null);
    assert.deepEqual(await marked(page), []);
    assert.equal(await page.getAttribute('#guild', 'aria-invalid'), 'true');
  });

  it('looks up while typing and keeps the address in step', async () => {
    await page.fill('#guild', '');
    await page.type('#guild', '1152921504606846975');
    // every prefix typed is an id too, with two shards of its own marked: wait for the whole id's, not any two
    const want = [['main', 183], ['canary', 3]]; // (2^38 - 1) % 360, % 12
    await page.waitForFunction((w) => JSON.stringify([...document.querySelectorAll('[aria-current="true"]')]
      .map((e) => [e.dataset.cluster, Number(e.dataset.shard)])) === w, JSON.stringify(want)).catch(() => {});
    assert.deepEqual(await marked(page), want);
    await page.waitForFunction(() => new URL(location.href).searchParams.get('guild') === '1152921504606846975', null);
  });

  it('opens /?guild=ID with the lookup done', async () => {
    const p2 = await newPage(browser);
    try {
      await p2.goto(`${base}/?guild=18446744073709551615`);
      await waitLive(p2);
      await p2.waitForFunction(() => document.querySelectorAll('[aria-current="true"]').length === 2, null);
      assert.deepEqual(await marked(p2), [['main', 63], ['canary', 3]]); // (2^42 - 1) % 360, % 12
      assert.equal(await p2.inputValue('#guild'), '18446744073709551615');
      assert.deepEqual(p2.problems, []);
    } finally {
      await p2.context().close();
    }
  });

  it('shows a shard\'s state and since when in a tooltip', async () => {
    await page.hover('.s[data-cluster="main"][data-shard="57"]');
    await page.waitForFunction(() => {
      const tip = document.querySelector('#shard-tip');
      return !tip.hidden && /main · shard 57/.test(tip.textContent) && /Unhealthy/.test(tip.textContent) && /Since \d/.test(tip.textContent);
    }, null);
    await page.mouse.move(0, 0);
  });

  it('is keyboard reachable: one tab stop per grid, arrow keys move, the tooltip follows', async () => {
    await page.fill('#guild', '');
    await page.press('#guild', 'Enter');
    await page.focus('.s[data-cluster="main"][tabindex="0"]');
    await page.keyboard.press('Home');
    await page.keyboard.press('ArrowRight');
    await page.keyboard.press('ArrowRight');
    const focused = await page.evaluate(() => ({
      shard: document.activeElement.dataset.shard,
      label: document.activeElement.getAttribute('aria-label'),
      tip: document.querySelector('#shard-tip').textContent,
      stops: document.querySelectorAll('section[data-cluster="main"] [tabindex="0"]').length,
    }));
    assert.equal(focused.shard, '2');
    assert.equal(focused.label, 'main shard 2: Online');
    assert.match(focused.tip, /shard 2/);
    assert.equal(focused.stops, 1);
    await page.keyboard.press('ArrowDown');
    const cols = await page.evaluate(() => Number(getComputedStyle(document.querySelector('.shards')).getPropertyValue('--cols')));
    assert.equal(await page.evaluate(() => document.activeElement.dataset.shard), String(2 + cols));
  });

  it('re-flows a grid when the window narrows, keeping every shard in order', async () => {
    const cols = () => page.evaluate(() => Number(document.querySelector('.shards').style.getPropertyValue('--cols')));
    const wide = await cols();
    await page.setViewportSize({ width: 360, height: 780 });
    await page.waitForFunction((w) => Number(document.querySelector('.shards').style.getPropertyValue('--cols')) < w, wide);
    const order = await page.$$eval('.s[data-cluster="main"]', (els) => els.every((e, i) => e.dataset.shard === String(i)) && els.length);
    assert.equal(order, 360);
    const box = await page.$eval('.s[data-cluster="main"][data-shard="359"]', (e) => { e.scrollIntoView(); const r = e.getBoundingClientRect(); return r.right <= innerWidth && r.width > 20; });
    assert.ok(box, 'the last shard fits on the narrow screen');
    await page.setViewportSize({ width: 1280, height: 900 });
    await page.waitForFunction((w) => Number(document.querySelector('.shards').style.getPropertyValue('--cols')) === w, wide);
  });

  it('pulses a shard on screen on its health ping when pulses are on', async () => {
    await page.$eval('.s[data-cluster="main"][data-shard="42"]', (el) => el.scrollIntoView({ block: 'center' }));
    await page.waitForFunction(() => window.__glance.grid.onScreen.has(
      document.querySelector('.s[data-cluster="main"][data-shard="42"]').parentElement), null);
    await page.evaluate(() => {
      window.__glance.grid.pulseEnabled = true;
      const el = document.querySelector('.s[data-cluster="main"][data-shard="42"]');
      window.pulsed = false;
      const original = el.animate.bind(el);
      el.animate = (...args) => { window.pulsed = true; return original(...args); };
    });
    await post(aPort, '/api/health/main/42');
    await page.waitForFunction(() => window.pulsed, null);
  });

  it('remembers "pulse shards on health checks" across visits', async () => {
    const p2 = await newPage(browser);
    try {
      await p2.goto(`${base}/`);
      await waitLive(p2);
      const before = await p2.isChecked('#pulse');
      await p2.click('.settings summary');
      await p2.setChecked('#pulse', !before);
      await p2.reload();
      await waitLive(p2);
      assert.equal(await p2.isChecked('#pulse'), !before);
      assert.equal(await p2.evaluate(() => window.__glance.grid.pulseEnabled), !before);
    } finally {
      await p2.context().close();
    }
  });

  it('writes a screenshot at desktop and at phone width', async () => {
    const guild = '81384788765712384';
    const desk = await newPage(browser, { width: 1280, height: 860 });
    const phone = await newPage(browser, { width: 360, height: 780, deviceScaleFactor: 2, isMobile: true, hasTouch: true });
    try {
      for (const p of [desk, phone]) {
        await p.goto(`${base}/?guild=${guild}`);
        await waitLive(p);
        await p.waitForFunction(() => document.querySelectorAll('[aria-current="true"]').length === 2);
        await p.evaluate(() => document.fonts.ready);
        await sleep(300); // let the summaries settle
      }
      // tests/out only: the README's screenshots, with incidents and history, come from history.test.mjs
      const files = [await screenshot(desk, 'dashboard-desktop.png'), await screenshot(phone, 'dashboard-phone.png')];
      // readable at 360 px: nothing wider than the screen
      const overflow = await phone.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
      assert.ok(overflow <= 0, `the phone page is ${overflow}px wider than the screen`);
      assert.deepEqual([...desk.problems, ...phone.problems], []);
      assert.equal(files.length, 2);
    } finally {
      await desk.context().close();
      await phone.context().close();
    }
  });

  it('survives a replica restart without a reload: says its data may be stale, then catches up', async () => {
    await page.evaluate(() => { window.noReload = true; });
    const connects = await page.evaluate(() => window.__glance.feed.stats.connects);
    await a.stop(); // SIGTERM: feeds are closed with 1001
    await page.waitForFunction(() => document.documentElement.dataset.feed === 'reconnecting'
      && !document.querySelector('#stale').hidden, null);
    const notice = await page.textContent('#stale');
    assert.match(notice, /may be (stale|out of date)/);
    assert.match(notice, /stopped at \d/);
    assert.match(await page.textContent('#connection'), /Disconnected|Reconnecting/);
    await post(b.port, '/api/status/main/8/6'); // a change the page cannot hear about while A is down
    a = await startApiOn(aPort, { redisPort: rds.port, bots: BOTS });
    await waitLive(page, 20000);
    await waitShardState(page, 'main', 8, 6); // from the new hello
    assert.equal(await page.isHidden('#stale'), true);
    await post(aPort, '/api/status/main/9/5');
    await waitShardState(page, 'main', 9, 5); // and live again
    assert.equal(await page.evaluate(() => window.noReload), true, 'the page was reloaded');
    assert.ok(await page.evaluate(() => window.__glance.feed.stats.connects) > connects);
  });

  it('survives a replica killed outright (no close frame) the same way', async () => {
    a.kill('SIGKILL');
    await page.waitForFunction(() => document.documentElement.dataset.feed !== 'live', null);
    await post(b.port, '/api/status/main/10/2');
    a = await startApiOn(aPort, { redisPort: rds.port, bots: BOTS });
    await waitLive(page, 20000);
    await waitShardState(page, 'main', 10, 2);
    assert.equal(await page.evaluate(() => window.noReload), true);
    assert.deepEqual(page.problems.filter((p) => !/WebSocket|ERR_CONNECTION_REFUSED|Failed to load resource/.test(p)), []);
  });

  it('asks for a resync when it missed an update, and ends up right', async () => {
    const p2 = await newPage(browser);
    const fromPage = [];
    let dropped = null;
    await p2.routeWebSocket(/\/api\/feed$/, (ws) => {
      const server = ws.connectToServer();
      server.onMessage((m) => {
        const msg = JSON.parse(m);
        if (!dropped && msg.type === 'update' && msg.clusters.some((c) => c.changes?.length)) { dropped = msg; return; }
        ws.send(m);
      });
      ws.onMessage((m) => { fromPage.push(JSON.parse(m)); server.send(m); });
    });
    try {
      await p2.goto(`${base}/`);
      await waitLive(p2);
      await post(aPort, '/api/status/main/20/1'); // this update is dropped on its way to the page
      await assertEventually(() => dropped !== null, 'the first update to be dropped');
      await sleep(250); // a later interval, so the next change comes in a frame of its own
      await post(aPort, '/api/status/main/21/4'); // its update starts above the page's version
      await waitShardState(p2, 'main', 21, 4);
      await waitShardState(p2, 'main', 20, 1); // only a fresh hello can have brought this
      assert.deepEqual(fromPage, [{ type: 'resync' }]);
      assert.equal(await p2.evaluate(() => window.__glance.feed.stats.hellos), 2);
    } finally {
      await p2.context().close();
    }
  });
});

async function assertEventually(fn, what, timeoutMs = 5000) {
  const deadline = Date.now() + timeoutMs;
  while (!fn()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(25);
  }
}
