// firstpaint.mjs -- the cold-page first paint of a large bot, shared by tests/browser/perf.test.mjs and
// tests/bench/firstpaint.mjs: a fresh browser context (empty cache) per load, and the time by the page's own
// clock (performance.now(), from navigation start) of the first frame after the element of the last shard
// exists. Also a Chromium trace of one such load, broken down by what the renderer's main thread did.

import { writeFileSync } from 'node:fs';
import { redis } from '../integration/harness.mjs';

/**
 * Writes `shards` shards of cluster main straight into Redis (every one online but a few, healthy for ten
 * minutes), before a replica loads its mirror. The states string is one SET.
 */
export function seedShards(redisPort, shards) {
  return redis(redisPort, 'EVAL', `local s = {}
    for i = 0, tonumber(ARGV[1]) - 1 do
      s[#s + 1] = (i % 997 == 0) and '1' or ((i % 1499 == 0) and '4' or '3')
      redis.call('SET', KEYS[3] .. i, '1', 'EX', 600) end
    redis.call('SET', KEYS[1], table.concat(s))
    redis.call('SET', KEYS[2], 1) return 1`, '3', 'glance:{main}:states', 'glance:{main}:ver', 'glance:{main}:hb:', shards);
}

/**
 * Runs in the page before its own scripts: notes when the element of shard `last` of cluster main first
 * exists (a MutationObserver, so the moment its insertion's task ends), the next animation frame's start,
 * and a task after that frame (the frame has been produced): all by performance.now().
 */
function watchLastShard(last) {
  const fp = { existsAt: null, frameAt: null, paintedAt: null };
  window.firstPaintWatch = fp;
  const selector = `.s[data-cluster="main"][data-shard="${last}"]`;
  const seen = new MutationObserver(() => {
    if (!document.querySelector(selector)) return;
    seen.disconnect();
    fp.existsAt = performance.now();
    performance.mark('firstpaint:last-shard');
    requestAnimationFrame(() => {
      fp.frameAt = performance.now();
      setTimeout(() => {
        fp.paintedAt = performance.now();
        performance.mark('firstpaint:painted');
        console.debug('firstpaint:painted'); // the runner waits for this: no polling in the page while it loads
      }, 0);
    });
  });
  seen.observe(document, { childList: true, subtree: true });
}

const r1 = (x) => (x === null || x === undefined ? null : Math.round(x * 10) / 10);

/**
 * One cold load of `url` (a replica showing cluster main of `shards` shards) in a new context of `browser`.
 * Resolves {paintedMs (navigation start to the frame after the last shard exists), existsMs, frameMs,
 * helloMs (the hello received, by the page's metrics), htmlMs (the HTML's response end), scripts: [{name,
 * startMs, endMs}], problems}. `onPage(page)` (optional) runs before the navigation (e.g. to start a trace),
 * `onDone(page)` (optional) after the figures are read and before the context is closed, whatever happened.
 */
export async function coldLoad(browser, url, { shards, width = 1280, height = 900, onPage, onDone, timeoutMs = 15000 } = {}) {
  const context = await browser.newContext({ viewport: { width, height }, colorScheme: 'light' });
  const page = await context.newPage();
  try {
    const problems = [];
    page.on('pageerror', (err) => problems.push(`pageerror: ${err.message}`));
    page.on('console', (msg) => { if (msg.type() === 'error') problems.push(`console: ${msg.text()}`); });
    await page.addInitScript(watchLastShard, shards - 1);
    if (onPage) await onPage(page);
    const painted = page.waitForEvent('console', { predicate: (m) => m.text() === 'firstpaint:painted', timeout: timeoutMs });
    painted.catch(() => {}); // awaited below, unless the navigation fails first
    await page.goto(url, { waitUntil: 'commit', timeout: timeoutMs });
    await painted;
    const seen = await page.evaluate(() => {
      const fp = window.firstPaintWatch;
      const nav = performance.getEntriesByType('navigation')[0];
      const m = window.__glance?.metrics;
      const render = m?.renders?.[0];
      return {
        ...fp,
        // the hello's arrival: the first render's record holds the time from it to the paint
        helloAt: m && m.firstPaintedAt !== null ? m.firstPaintedAt - m.firstRenderMs : null,
        parseMs: render ? render.parseMs : null,
        buildMs: render ? render.buildMs : null,
        htmlEnd: nav ? nav.responseEnd : null,
        domContentLoaded: nav ? nav.domContentLoadedEventEnd : null,
        resources: performance.getEntriesByType('resource').map((r) => ({
          name: r.name.replace(/^.*\//, ''), start: r.startTime, end: r.responseEnd, type: r.initiatorType,
        })),
      };
    });
    return {
      paintedMs: r1(seen.paintedAt),
      frameMs: r1(seen.frameAt),
      existsMs: r1(seen.existsAt),
      helloMs: r1(seen.helloAt),
      helloParseMs: r1(seen.parseMs),
      buildMs: r1(seen.buildMs),
      htmlMs: r1(seen.htmlEnd),
      domContentLoadedMs: r1(seen.domContentLoaded),
      scripts: seen.resources.filter((r) => /\.js$/.test(r.name))
        .map((r) => ({ name: r.name, startMs: r1(r.start), endMs: r1(r.end) })),
      problems,
    };
  } finally {
    if (onDone) await onDone(page);
    await context.close();
  }
}

export const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

/** {median, min, max} of `key` over `runs`. */
export function spread(runs, key) {
  const xs = runs.map((r) => r[key]).filter((x) => x !== null);
  return { median: median(xs), min: Math.min(...xs), max: Math.max(...xs) };
}

const TRACE_CATEGORIES = [
  'devtools.timeline', 'disabled-by-default-devtools.timeline', 'disabled-by-default-devtools.timeline.frame',
  'blink.user_timing', 'loading', 'v8.execute', 'v8', 'toplevel', 'blink', 'netlog', 'navigation',
];

/**
 * One cold load under a Chromium trace (written to `file`). Resolves {load (as coldLoad), breakdown}: the
 * renderer main thread's time from navigation start to the frame after the last shard, by what it did
 * (traceBreakdown), and the moments that matter (HTML, scripts, WebSocket, hello, painted).
 */
export async function tracedColdLoad(browser, url, { shards, file, ...opts } = {}) {
  let buf = null;
  const load = await coldLoad(browser, url, {
    shards,
    ...opts,
    onPage: (page) => browser.startTracing(page, { categories: TRACE_CATEGORIES, screenshots: false }),
    onDone: async () => { buf = await browser.stopTracing(); },
  });
  if (file) writeFileSync(file, buf);
  return { load, breakdown: traceBreakdown(JSON.parse(buf.toString('utf8'))) };
}

// the renderer main thread's top-level work, by the trace event names of Chromium 156 (devtools.timeline)
const KINDS = [
  ['html parse', /^ParseHTML$/],
  ['script compile', /^(v8\.compile|v8\.compileModule|V8\.CompileCode|v8\.produceModuleCache|v8\.produceCache|CacheScript)$/],
  ['script run', /^(EvaluateScript|v8\.evaluateModule|FunctionCall|v8\.run|TimerFire|EventDispatch|FireAnimationFrame|RunMicrotasks|V8\.Execute|FireIdleCallback|v8\.callFunction)$/],
  ['style recalc', /^(UpdateLayoutTree|RecalculateStyles|ParseAuthorStyleSheet|InvalidateLayout|ScheduleStyleRecalculation)$/],
  ['layout', /^(Layout|UpdateLayerTree|IntersectionObserverController::computeIntersections|ComputeIntersections)$/],
  ['paint', /^(Paint|PrePaint|Layerize|Commit|PaintImage|CompositeLayers|UpdateLayer|RasterTask)$/],
  ['gc', /^(MinorGC|MajorGC|V8\.GC.*|BlinkGC\..*|ScavengeTask|MajorGCTask)$/],
];

/**
 * Breaks a trace (Chrome's JSON) down: on the renderer's main thread, the self time of each kind of work
 * (KINDS, nested events counted once, in the innermost kind) between navigation start and the
 * firstpaint:painted mark, the idle time, and the moments: responses of each resource, the WebSocket's
 * creation and handshake, the hello's arrival (the message event's start), the last shard and the paint.
 */
export function traceBreakdown(trace) {
  const events = Array.isArray(trace) ? trace : trace.traceEvents;
  const named = (n) => events.filter((e) => e.name === n);
  // the renderer: the process that holds the page's marks
  const mark = named('firstpaint:painted')[0];
  if (!mark) return { error: 'no firstpaint:painted mark in the trace' };
  const pid = mark.pid;
  const nav = events.find((e) => e.pid === pid && e.name === 'navigationStart' && e.cat.includes('blink.user_timing'))
    || events.find((e) => e.name === 'navigationStart');
  const t0 = nav.ts;
  const ms = (ts) => Math.round((ts - t0) / 100) / 10;
  const main = events.find((e) => e.pid === pid && e.ph === 'M' && e.name === 'thread_name' && e.args.name === 'CrRendererMain');
  const tid = main ? main.tid : mark.tid;
  const end = mark.ts;
  // complete events (X) and begin/end pairs (B/E) on the main thread, as intervals
  const spans = [];
  const open = [];
  for (const e of events) {
    if (e.pid !== pid || e.tid !== tid) continue;
    if (e.ph === 'X' && e.dur !== undefined) spans.push({ name: e.name, start: e.ts, end: e.ts + e.dur, args: e.args });
    else if (e.ph === 'B') open.push(e);
    else if (e.ph === 'E') {
      const b = open.pop();
      if (b) spans.push({ name: b.name, start: b.ts, end: e.ts, args: b.args });
    }
  }
  const kindOf = (name) => (KINDS.find(([, re]) => re.test(name)) || [null])[0];
  // self time per kind: each kind-bearing span, less the kind-bearing spans nested inside it
  const kinded = spans.filter((s) => kindOf(s.name) && s.end > t0 && s.start < end)
    .map((s) => ({ ...s, start: Math.max(s.start, t0), end: Math.min(s.end, end), kind: kindOf(s.name) }))
    .sort((a, b) => a.start - b.start || b.end - a.end);
  const self = {};
  const stack = [];
  for (const s of kinded) {
    while (stack.length && stack[stack.length - 1].end <= s.start) stack.pop();
    const parent = stack[stack.length - 1];
    const d = s.end - s.start;
    self[s.kind] = (self[s.kind] || 0) + d;
    if (parent) self[parent.kind] -= Math.min(d, parent.end - s.start);
    stack.push(s);
  }
  const tasks = spans.filter((s) => /^(RunTask|ThreadControllerImpl::RunTask)$/.test(s.name) && s.end > t0 && s.start < end);
  let busy = 0;
  let last = t0;
  for (const t of tasks.sort((a, b) => a.start - b.start)) {
    const a = Math.max(t.start, last);
    const b = Math.min(t.end, end);
    if (b > a) { busy += b - a; last = b; }
  }
  const kinds = Object.fromEntries(Object.entries(self).map(([k, v]) => [k, Math.round(v / 100) / 10]));
  const longest = tasks.map((t) => ({ ms: Math.round((t.end - t.start) / 100) / 10, at: ms(t.start) }))
    .sort((a, b) => b.ms - a.ms).slice(0, 5);
  // moments: every resource's response and finish, the WebSocket, the hello, the marks
  const byRequest = new Map();
  for (const e of events) {
    const d = e.args?.data;
    if (e.pid !== pid || !d || !d.requestId) continue;
    if (e.name === 'ResourceSendRequest') byRequest.set(d.requestId, { url: d.url.replace(/^.*\//, '') || '/', sent: ms(e.ts) });
    const r = byRequest.get(d.requestId);
    if (!r) continue;
    if (e.name === 'ResourceReceiveResponse') r.response = ms(e.ts);
    if (e.name === 'ResourceFinish') r.finished = ms(e.ts);
  }
  const at = (n) => { const e = events.find((x) => x.pid === pid && x.name === n && x.ts >= t0); return e ? ms(e.ts) : null; };
  const helloTask = kinded.find((s) => s.name === 'FunctionCall' && s.args?.data?.functionName === 'ws.onmessage');
  const big = spans.filter((s) => s.start >= t0 && s.end <= end && s.end - s.start >= 5000
    && kindOf(s.name) && !/^(RunTask)$/.test(s.name))
    .map((s) => ({ name: s.name, at: ms(s.start), ms: Math.round((s.end - s.start) / 100) / 10,
      ...(s.args?.data?.url ? { url: s.args.data.url.replace(/^.*\//, '') } : {}),
      ...(s.args?.data?.functionName ? { fn: s.args.data.functionName } : {}),
      ...(s.args?.data?.type ? { type: s.args.data.type } : {}) }));
  return {
    totalMs: ms(end),
    mainThreadBusyMs: Math.round(busy / 100) / 10,
    idleMs: Math.round((end - t0 - busy) / 100) / 10,
    kinds,
    longestTasks: longest,
    spans: big,
    moments: {
      requests: [...byRequest.values()],
      webSocketCreated: at('WebSocketCreate'),
      webSocketHandshakeSent: at('WebSocketSendHandshakeRequest'),
      webSocketOpen: at('WebSocketReceiveHandshakeResponse'),
      hello: helloTask ? ms(helloTask.start) : null,
      lastShard: at('firstpaint:last-shard'),
      painted: ms(end),
    },
  };
}
