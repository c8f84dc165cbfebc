// deflate.test.mjs -- Chromium takes permessage-deflate on the feed (issue 17, item 1) and renders from the
// compressed frames the same grid a client without the extension reads from the same replica at the same time,
// through a hello and a burst of live changes; and what the page sends (a resync, compressed by Chromium) is read.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startRedis, startApi, request, redis, cleanup, getMetrics, metricValue, openFeed, waitUntil, snapshotAt } from '../integration/harness.mjs';
import { launch, newPage, closeBrowsers, waitLive, postAll, PATIENT_MS } from './browser.mjs';

const SHARDS = 2000;

/** Every shard's state as the page shows it, as one digit string. */
const pageStates = (page) => page.$$eval('.s[data-cluster="main"]', (els) => {
  const out = [];
  for (const e of els) out[Number(e.dataset.shard)] = e.dataset.state;
  return out.join('');
});

describe('the page on a compressed feed', () => {
  let rds;
  let api;
  let browser;
  let page;
  let plain; // a client without the extension

  before(async () => {
    rds = await startRedis();
    api = await startApi({ redisPort: rds.port, bots: `main:${SHARDS}`, healthTimeout: 3600 });
    const paths = [];
    for (let s = 0; s < SHARDS; s += 1) paths.push(`/api/status/main/${s}/${s % 13 === 0 ? 1 : 3}`);
    await postAll(api.port, paths);
    plain = await openFeed(api.port); // perMessageDeflate: false
    browser = await launch();
    page = await newPage(browser);
    await page.goto(`${api.url}/`);
    await waitLive(page);
  });
  after(async () => {
    await closeBrowsers();
    await cleanup();
  });

  /** The states the plain client holds: its hello with every later update applied. */
  function plainStates() {
    const hello = plain.messages.findLast((m) => m.type === 'hello');
    const states = hello.clusters[0].states.split('');
    for (const m of plain.messages.slice(plain.messages.indexOf(hello) + 1)) {
      for (const [shard, state] of m.clusters?.[0]?.changes ?? []) states[shard] = String(state);
    }
    return states.join('');
  }

  it('negotiates the extension with Chromium and paints what the plain client reads', async () => {
    const m = await getMetrics(api.port);
    assert.equal(metricValue(m, 'glance_feed_clients'), 2);
    assert.equal(metricValue(m, 'glance_feed_clients_deflate'), 1, 'Chromium took permessage-deflate; the Node client did not');
    assert.equal(await pageStates(page), plainStates());
  });

  it('applies a burst of changes from compressed updates exactly as the plain client does', async () => {
    const paths = [];
    for (let s = 0; s < SHARDS; s += 3) paths.push(`/api/status/main/${s}/${s % 2 === 0 ? 4 : 6}`);
    await postAll(api.port, paths);
    // the snapshot that holds every write (one read in twenty under ASan sent at the last 204 missed it)
    const want = (await snapshotAt(api.port, Number(await redis(rds.port, 'GET', 'glance:{main}:ver')))).states.join('');
    await waitUntil(async () => plainStates() === want && (await pageStates(page)) === want,
      { timeoutMs: PATIENT_MS, message: 'the page and the plain client to hold the states the replica has' });
  });

  it('is answered when it asks for a resync over the compressed connection', async () => {
    const hellos = await page.evaluate(() => window.__glance.feed.stats.hellos);
    await page.evaluate(() => window.__glance.feed.resync());
    await page.waitForFunction((n) => window.__glance.feed.stats.hellos > n, hellos);
    assert.deepEqual(page.problems, []);
  });
});
