// firstpaint.mjs -- benchmark for issue 16's first paint: a bot of 20,000 shards, and the time from navigation
// start to the frame after the last shard's element exists, by the page's clock, each load cold (a fresh
// browser context: no cache). Then one cold load under a Chromium trace, broken down by what the renderer's
// main thread did. One Redis, one replica per page version, headless Chromium (tests/browser/browser.mjs).
//
// Usage: node tests/bench/firstpaint.mjs [--loads 9] [--shards 20000] [--web DIR] [--against DIR]
//        [--trace PREFIX] [--json]
// --web serves the page from DIR (default: web/); --against DIR serves another version of it (e.g. a copy of
// web/ before a change) from a second replica on the same Redis, and the loads alternate between the two, so
// that both see the same moments of a noisy machine. Prints Markdown, or the figures as JSON.
import { mkdirSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { cleanup, makeTempDir, startApi, startRedis, REPO_ROOT } from '../integration/harness.mjs';
import { launch, closeBrowsers, OUT_DIR } from '../browser/browser.mjs';
import { seedShards, coldLoad, tracedColdLoad, spread, median } from '../browser/firstpaint.mjs';

const argv = process.argv.slice(2);
const arg = (name, dflt) => {
  const i = argv.indexOf(`--${name}`);
  return i >= 0 ? argv[i + 1] : dflt;
};
const LOADS = Number(arg('loads', 9));
const SHARDS = Number(arg('shards', 20000));
const WEB = path.resolve(arg('web', path.join(REPO_ROOT, 'web')));
const AGAINST = arg('against', null) && path.resolve(arg('against'));
const TRACE = arg('trace', path.join(OUT_DIR, 'firstpaint-trace'));
const JSON_OUT = argv.includes('--json');

const fmt = (x) => (x === null || x === undefined ? '–' : (Math.round(x * 10) / 10).toLocaleString('en-US'));
const line = (s) => `${fmt(s.median)} (${fmt(s.min)}–${fmt(s.max)})`;

/** The figures of one version of the page: its cold loads' spreads and its traced load's breakdown. */
function summarise(runs, traced, trace) {
  return {
    paintedMs: spread(runs, 'paintedMs'),
    existsMs: spread(runs, 'existsMs'),
    helloMs: spread(runs, 'helloMs'),
    htmlMs: spread(runs, 'htmlMs'),
    helloParseMs: spread(runs, 'helloParseMs'),
    buildMs: spread(runs, 'buildMs'),
    runs: runs.map((r) => r.paintedMs),
    scripts: runs[Math.floor(runs.length / 2)].scripts,
    traced: { paintedMs: traced.load.paintedMs, file: trace, ...traced.breakdown },
  };
}

function print(name, f) {
  console.log(`#### ${name}: ${f.web}\n`);
  console.log(`| cold load, by the page's clock (ms from navigation start) | median (range) of ${LOADS} |`);
  console.log('|---|---|');
  console.log(`| HTML received | ${line(f.htmlMs)} |`);
  console.log(`| hello received | ${line(f.helloMs)} |`);
  console.log(`| last shard's element exists | ${line(f.existsMs)} |`);
  console.log(`| **the frame after it, painted** | **${line(f.paintedMs)}** |`);
  console.log(`\nthe loads: ${f.runs.map(fmt).join(' / ')} ms; hello decoded in ${line(f.helloParseMs)} ms, `
    + `grid built in ${line(f.buildMs)} ms (the page's metrics)\n`);
  const b = f.traced;
  console.log(`traced load (${b.file}): painted at ${fmt(b.paintedMs)} ms; renderer main thread busy `
    + `${fmt(b.mainThreadBusyMs)} ms of it`);
  console.log(`- by kind (self time, ms): ${Object.entries(b.kinds).map(([k, v]) => `${k} ${fmt(v)}`).join(', ')}`);
  const m = b.moments;
  console.log(`- moments (ms): ${m.requests.map((r) => `${r.url} ${fmt(r.sent)}→${fmt(r.finished)}`).join(', ')}; `
    + `WebSocket created ${fmt(m.webSocketCreated)}, open ${fmt(m.webSocketOpen)}; hello handled ${fmt(m.hello)}; `
    + `last shard ${fmt(m.lastShard)}; painted ${fmt(m.painted)}`);
  console.log(`- spans of 5 ms or more: ${b.spans.filter((s) => !/^V8\.GC_|^V8\.GCScav/.test(s.name))
    .map((s) => `${s.name}${s.url ? ` ${s.url}` : ''}${s.fn ? ` ${s.fn}` : ''}${s.type ? ` ${s.type}` : ''}`
    + ` at ${fmt(s.at)} for ${fmt(s.ms)}`).join('; ')}\n`);
}

const rds = await startRedis({ dir: makeTempDir() });
await seedShards(rds.port, SHARDS);
const sites = [{ name: 'this page', web: WEB }, ...(AGAINST ? [{ name: 'against', web: AGAINST }] : [])];
for (const site of sites) {
  site.api = await startApi({ redisPort: rds.port, bots: `main:${SHARDS}`, env: { GLANCE_WEB_ROOT: site.web } });
  site.runs = [];
}
const browser = await launch();
try {
  // one load each to warm what is not the page's (the browser's own start-up, the replica's first hello)
  for (const site of sites) await coldLoad(browser, `${site.api.url}/`, { shards: SHARDS });
  for (let i = 0; i < LOADS; i++) {
    for (let k = 0; k < sites.length; k++) {
      const site = sites[(i + k) % sites.length]; // the order alternates
      site.runs.push(await coldLoad(browser, `${site.api.url}/`, { shards: SHARDS }));
    }
  }
  const problems = sites.flatMap((s) => s.runs.flatMap((r) => r.problems));
  if (problems.length) throw new Error(`page problems: ${problems.join('; ')}`);
  mkdirSync(path.dirname(TRACE), { recursive: true });
  const figures = { shards: SHARDS, loads: LOADS, cores: os.cpus().length, date: new Date().toISOString() };
  for (const [k, site] of sites.entries()) {
    const file = `${TRACE}${sites.length > 1 ? `-${k ? 'against' : 'this'}` : ''}.json`;
    const traced = await tracedColdLoad(browser, `${site.api.url}/`, { shards: SHARDS, file });
    figures[k ? 'against' : 'page'] = { ...summarise(site.runs, traced, file), web: site.web };
  }
  if (AGAINST) {
    const ratios = sites[0].runs.map((r, i) => r.paintedMs / sites[1].runs[i].paintedMs);
    figures.ratio = { median: median(ratios), min: Math.min(...ratios), max: Math.max(...ratios) };
  }
  if (JSON_OUT) {
    console.log(JSON.stringify(figures, null, 2));
  } else {
    console.log(`### First paint, ${SHARDS.toLocaleString('en-US')} shards, cold page, ${figures.date.slice(0, 16).replace('T', ' ')} UTC, `
      + `${os.cpus().length} cores\n`);
    print('this page', figures.page);
    if (AGAINST) {
      print('against', figures.against);
      const r = figures.ratio;
      console.log(`painted, this page ÷ against, load by load: median ${r.median.toFixed(2)} (${r.min.toFixed(2)}–${r.max.toFixed(2)})`);
    }
  }
} finally {
  await closeBrowsers();
  await cleanup();
}
