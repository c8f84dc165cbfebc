// perf.test.mjs -- a 20,000-shard bot in headless Chromium against the real stack: how long the first
// render takes (hello received to grid painted, measured by the page; and from a cold page, navigation start
// to the frame after the last shard exists, as tests/bench/firstpaint.mjs measures it) and how the page copes
// with 1,000 state changes a second, and to 700 health pings a second with pulses on (frame gaps and long
// tasks while they arrive), and that it ends up exact.
//
// The figures are reported (test diagnostics, and tests/out/perf.json), never asserted: speed is the
// benchmark's business on a noisy machine. What is asserted is that the page ends up exact, changes are
// applied in place and the grid is never rebuilt (a hello may still come, e.g. a resync, but it must be
// applied in place). Re-run alone with: node --test tests/browser/perf.test.mjs

import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync, mkdirSync } from 'node:fs';
import path from 'node:path';
import { startRedis, startApi, redis, cleanup, snapshotAt } from '../integration/harness.mjs';
import { launch, newPage, closeBrowsers, waitLive, postAtRate, OUT_DIR } from './browser.mjs';
import { seedShards, coldLoad, spread } from './firstpaint.mjs';

const SHARDS = 20000;
const LOADS = 5;
const COLD_LOADS = 5;
const RATE = 1000; // changes a second
const PINGS = 700; // health pings a second: 20,000 shards pinging every 30 s make 667
const SECONDS = 5;

let rds;
let api;
let browser;
const report = {};

const median = (xs) => [...xs].sort((x, y) => x - y)[Math.floor(xs.length / 2)];
const pct = (xs, p) => [...xs].sort((x, y) => x - y)[Math.min(xs.length - 1, Math.floor(xs.length * p))];
const r1 = (x) => Math.round(x * 10) / 10;

/**
 * Starts recording frame gaps and long tasks in the page, and counts the pulses it starts. Call it after
 * waitLive(), so the first render's record is already in metrics.renders.
 */
function startWatching(page) {
  return page.evaluate(() => {
    const { grid: g, metrics, feed } = window.__glance;
    g.pulseEnabled = true;
    const p = {
      frames: [], long: [], on: true, renders: metrics.renders.length, hellos: feed.stats.hellos, changes: g.changesApplied, pulses: 0,
    };
    window.__perf = p;
    const animate = Element.prototype.animate;
    Element.prototype.animate = function count(...args) { p.pulses++; return animate.apply(this, args); };
    new PerformanceObserver((list) => { for (const e of list.getEntries()) p.long.push(e.duration); })
      .observe({ type: 'longtask' });
    let last = performance.now();
    const tick = (now) => { p.frames.push(now - last); last = now; if (p.on) requestAnimationFrame(tick); };
    requestAnimationFrame(tick);
  });
}

/**
 * Stops recording; resolves what was seen, and whether every shard element matches the page's states.
 * rebuilt counts the render records (one per hello, pushed once painted) of hellos that rebuilt the
 * grid instead of updating it in place; it first waits for the record of every hello received.
 */
async function stopWatching(page) {
  await page.waitForFunction(() => window.__glance.metrics.renders.length >= window.__glance.feed.stats.hellos,
    null, { timeout: 10000 });
  return page.evaluate(() => {
    const p = window.__perf;
    p.on = false;
    const { grid: g, metrics, feed } = window.__glance;
    const v = g.views[0];
    return {
      frames: p.frames.slice(1),
      long: p.long,
      pulses: p.pulses,
      wrong: v.els.filter((el, i) => el.dataset.state !== String(v.states[i])).length,
      changes: g.changesApplied - p.changes,
      rebuilt: metrics.renders.slice(p.renders).filter((r) => !r.inPlace).length,
      hellos: feed.stats.hellos - p.hellos,
      resyncs: feed.stats.resyncs,
    };
  });
}

function summary(seen, sent) {
  return {
    seconds: r1(sent.elapsedMs / 1000),
    frames: seen.frames.length,
    frameMs: { median: r1(median(seen.frames)), p99: r1(pct(seen.frames, 0.99)), max: r1(Math.max(...seen.frames)) },
    framesOver50ms: seen.frames.filter((f) => f > 50).length,
    longTasks: seen.long.length,
    longestTaskMs: r1(Math.max(0, ...seen.long)),
    changesApplied: seen.changes,
    pulses: seen.pulses,
    hellos: seen.hellos,
    resyncs: seen.resyncs,
  };
}

const describe_ = (r) => `frames: median ${r.frameMs.median} ms, p99 ${r.frameMs.p99} ms, max ${r.frameMs.max} ms, `
  + `${r.framesOver50ms} over 50 ms; long tasks: ${r.longTasks} (longest ${r.longestTaskMs} ms)`;

before(async () => {
  rds = await startRedis();
  // every shard online (a few not) and healthy for 10 minutes, written straight into Redis before the
  // replica loads its mirror: the states string (a digit per shard) in one SET
  await seedShards(rds.port, SHARDS);
  api = await startApi({ redisPort: rds.port, bots: `main:${SHARDS}` });
  browser = await launch();
});

after(async () => {
  mkdirSync(OUT_DIR, { recursive: true });
  writeFileSync(path.join(OUT_DIR, 'perf.json'), `${JSON.stringify(report, null, 2)}\n`);
  await closeBrowsers();
  await cleanup();
});

describe(`a bot of ${SHARDS.toLocaleString('en-US')} shards`, { timeout: 90000 }, () => {
  it('renders every shard, with no page error (the time from hello to painted is reported)', async (t) => {
    const runs = [];
    for (let i = 0; i < LOADS; i++) {
      const page = await newPage(browser, { width: 1280, height: 900 });
      try {
        await page.goto(`${api.url}/`);
        await waitLive(page, 15000); // the first render's figures are in once it returns
        runs.push(await page.evaluate(() => {
          const m = window.__glance.metrics;
          return { helloToPaintedMs: m.firstRenderMs, helloToBuiltMs: m.helloToBuiltMs, navigationToPaintedMs: m.firstPaintedAt };
        }));
        assert.equal(await page.$$eval('.s', (els) => els.length), SHARDS);
        assert.deepEqual(page.problems, []);
      } finally {
        await page.context().close();
      }
    }
    const paint = runs.map((r) => r.helloToPaintedMs);
    report.firstRender = {
      shards: SHARDS,
      loads: LOADS,
      helloToPaintedMs: { median: r1(median(paint)), min: r1(Math.min(...paint)), max: r1(Math.max(...paint)) },
      helloToBuiltMs: { median: r1(median(runs.map((r) => r.helloToBuiltMs))) },
      navigationToPaintedMs: { median: r1(median(runs.map((r) => r.navigationToPaintedMs))) },
    };
    t.diagnostic(`first render of ${SHARDS} shards, hello received to painted: median ${r1(median(paint))} ms `
      + `(min ${r1(Math.min(...paint))}, max ${r1(Math.max(...paint))}; ${LOADS} loads); `
      + `navigation to painted: median ${r1(median(runs.map((r) => r.navigationToPaintedMs)))} ms`);
  });

  it('paints every shard from a cold page, with no page error (navigation start to the frame after the last shard is reported)', async (t) => {
    const runs = [];
    for (let i = 0; i < COLD_LOADS; i++) runs.push(await coldLoad(browser, `${api.url}/`, { shards: SHARDS }));
    assert.deepEqual(runs.flatMap((r) => r.problems), []);
    const painted = spread(runs, 'paintedMs');
    report.coldFirstPaint = {
      shards: SHARDS,
      loads: COLD_LOADS,
      navigationToPaintedMs: painted,
      navigationToLastShardMs: spread(runs, 'existsMs'),
      navigationToHelloMs: spread(runs, 'helloMs'),
    };
    t.diagnostic(`cold page, navigation start to the frame after shard ${SHARDS - 1} exists: median ${r1(painted.median)} ms `
      + `(min ${r1(painted.min)}, max ${r1(painted.max)}; ${COLD_LOADS} loads, each in a fresh context); hello received at `
      + `${r1(report.coldFirstPaint.navigationToHelloMs.median)} ms, last shard in the DOM at ${r1(report.coldFirstPaint.navigationToLastShardMs.median)} ms`);
  });

  it(`applies ${RATE.toLocaleString('en-US')} changes a second in place and ends up exact (frame gaps reported)`, async (t) => {
    const page = await newPage(browser, { width: 1280, height: 900 });
    try {
      await page.goto(`${api.url}/`);
      await waitLive(page, 15000);
      await startWatching(page);
      // distinct shards (7919 is prime to 20000), each to a state other than online: every POST a change
      const v0 = Number(await redis(rds.port, 'GET', 'glance:{main}:ver'));
      const sent = await postAtRate(api.port, {
        rate: RATE,
        seconds: SECONDS,
        makePath: (i) => `/api/status/main/${(i * 7919) % SHARDS}/${[1, 2, 4, 5, 6][i % 5]}`,
      });
      assert.equal(sent.failed, 0, `${sent.failed} POSTs failed`);
      const v1 = Number(await redis(rds.port, 'GET', 'glance:{main}:ver'));
      const changed = v1 - v0;
      // the snapshot that holds them all (the mirror takes each write from pub/sub a moment after its 204)
      const want = (await snapshotAt(api.port, v1)).states.join('');
      await page.waitForFunction((w) => window.__glance.grid.views[0].states.join('') === w, want, { timeout: 10000 });
      const seen = await stopWatching(page);
      assert.equal(seen.wrong, 0, 'every shard element shows the state the page holds');
      assert.equal(seen.rebuilt, 0, `the grid was never rebuilt (${seen.hellos} hello(s) came during the burst; each must be applied in place)`);
      report.changes = { posted: sent.ok, changed, changesPerSecond: Math.round(changed / (sent.elapsedMs / 1000)), ...summary(seen, sent) };
      t.diagnostic(`changes: ${sent.ok} POSTs making ${changed} changes in ${r1(sent.elapsedMs / 1000)} s `
        + `(${report.changes.changesPerSecond}/s), ${seen.changes} applied in place; ${describe_(report.changes)}`);
      assert.equal(seen.changes, changed, 'every change was applied in place, once');
    } finally {
      await page.context().close();
    }
  });

  it(`pulses on ${PINGS.toLocaleString('en-US')} health pings a second (only shards on screen pulse; frame gaps reported)`, async (t) => {
    const page = await newPage(browser, { width: 1280, height: 900 });
    try {
      await page.goto(`${api.url}/`);
      await waitLive(page, 15000);
      await startWatching(page);
      const sent = await postAtRate(api.port, {
        rate: PINGS,
        seconds: SECONDS,
        makePath: (i) => `/api/health/main/${(i * 7919) % SHARDS}`,
      });
      assert.equal(sent.failed, 0, `${sent.failed} POSTs failed`);
      const seen = await stopWatching(page);
      report.pings = { posted: sent.ok, pingsPerSecond: Math.round(sent.ok / (sent.elapsedMs / 1000)), ...summary(seen, sent) };
      t.diagnostic(`pings: ${sent.ok} health pings in ${r1(sent.elapsedMs / 1000)} s (${report.pings.pingsPerSecond}/s), `
        + `${seen.pulses} pulses shown; ${describe_(report.pings)}`);
      assert.ok(seen.pulses > 0, 'some shards on screen pulsed');
    } finally {
      await page.context().close();
    }
  });
});
