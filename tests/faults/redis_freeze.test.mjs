// redis_freeze.test.mjs -- Redis frozen (SIGSTOP) for 5 s under a load of writes and reads: every request
// is answered within GLANCE_REDIS_TIMEOUT_MS + 1 s, nothing hangs, and everything recovers on SIGCONT.

import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startRedis, startApi, openFeed, request, waitUntil, sleep, cleanup } from '../integration/harness.mjs';
import { postLoad, proved, stopAll, percentile, assertCleanStop } from './lib.mjs';

const REDIS_TIMEOUT_MS = 1000;
const ANSWER_BOUND_MS = REDIS_TIMEOUT_MS + 1000; // the documented bound for any answer while Redis is frozen
const FREEZE_MS = 5000;
const RECOVERY_BOUND_MS = 3000;

after(async () => { await stopAll(); await cleanup(); });

function* cycle(paths) { for (let i = 0; ; i++) yield paths[i % paths.length]; }

describe(`Redis frozen with SIGSTOP for ${FREEZE_MS / 1000} s`, { timeout: 60000 }, () => {
  let rds;
  let api;
  let pid;
  let feed;
  let writes;
  let reads;
  let frozenAt;
  let thawedAt;
  let readyAt;
  let firstWriteAt;
  let mark;

  before(async () => {
    rds = await startRedis();
    api = await startApi({ redisPort: rds.port, env: { GLANCE_REDIS_TIMEOUT_MS: REDIS_TIMEOUT_MS } });
    pid = api.pid;
    feed = await openFeed(api.port);
    await feed.waitFor((m) => m.type === 'hello', 5000, { what: 'hello' });

    const writePaths = Array.from({ length: 360 }, (_, s) => `/api/status/main/${s}/${3 + (s % 3)}`);
    // a request that hangs would be cut by its own 8 s bound and show up as a transport error
    writes = postLoad(api.port, cycle(writePaths), { concurrency: 4, timeoutMs: 8000, durationMs: 30000, pauseMs: 5 });
    reads = { results: [], stop: false };
    const readLoop = (async () => {
      const paths = ['/api/status/main/7', '/api/status', '/healthz', '/readyz', '/api/guild/81384788765712384'];
      for (let i = 0; !reads.stop; i++) {
        const p = paths[i % paths.length];
        const start = Date.now();
        const r = await request(api.port, 'GET', p, { timeoutMs: 8000 }).catch((e) => ({ status: 0, error: e.message }));
        reads.results.push({ path: p, status: r.status, ms: Date.now() - start, start });
        await sleep(10);
      }
    })();

    await sleep(1000);
    mark = feed.mark();
    rds.kill('SIGSTOP');
    frozenAt = Date.now(); // a request that starts later than this ms was sent to a frozen Redis
    await sleep(FREEZE_MS);
    rds.kill('SIGCONT');
    thawedAt = Date.now();
    readyAt = await waitUntil(async () => {
      const r = await request(api.port, 'GET', '/readyz', { timeoutMs: 1000 }).catch(() => null);
      return r && r.status === 200 && Date.now();
    }, { timeoutMs: 15000, intervalMs: 20, message: '/readyz 200 after SIGCONT' });
    await sleep(1000);
    await writes.stop();
    reads.stop = true;
    await readLoop;
    firstWriteAt = Math.min(...writes.results.filter((r) => r.status === 204 && r.start >= thawedAt).map((r) => r.end));
  });
  after(() => { rds?.kill('SIGCONT'); feed?.close(); });

  it(`every write issued while Redis was frozen got a 503 within ${ANSWER_BOUND_MS} ms`, (t) => {
    const during = writes.results.filter((r) => r.start > frozenAt && r.end <= thawedAt);
    const inFreeze = writes.results.filter((r) => r.start > frozenAt && r.start < thawedAt);
    assert.ok(during.length > 20, `only ${during.length} writes during the freeze`);
    const bad = inFreeze.filter((r) => r.status !== 503 && r.end <= thawedAt);
    assert.deepEqual(bad.slice(0, 5), [], 'answers other than 503 while frozen');
    const slow = inFreeze.filter((r) => r.ms > ANSWER_BOUND_MS);
    assert.deepEqual(slow.slice(0, 5), [], 'writes answered after the bound');
    const ms = inFreeze.map((r) => r.ms);
    proved(t, `redis-freeze: ${inFreeze.length} writes issued during the ${FREEZE_MS} ms freeze, all answered, `
      + `${inFreeze.filter((r) => r.status === 503).length} with 503; slowest ${Math.max(...ms)} ms (bound ${ANSWER_BOUND_MS}), `
      + `p50 ${percentile(ms, 50)} ms, p99 ${percentile(ms, 99)} ms; GLANCE_REDIS_TIMEOUT_MS=${REDIS_TIMEOUT_MS}`);
  });

  it('no request of any kind hung: reads, health and readiness answered within the bound too', (t) => {
    const inFreeze = reads.results.filter((r) => r.start > frozenAt && r.start < thawedAt);
    assert.ok(inFreeze.length > 20, `only ${inFreeze.length} reads during the freeze`);
    const errors = [...reads.results, ...writes.results].filter((r) => r.status === 0);
    assert.deepEqual(errors.slice(0, 5), [], 'requests without an answer');
    const slow = inFreeze.filter((r) => r.ms > ANSWER_BOUND_MS);
    assert.deepEqual(slow.slice(0, 5), [], 'reads answered after the bound');
    const byPath = {};
    for (const r of inFreeze) {
      const k = `${r.path} ${r.status}`;
      byPath[k] = (byPath[k] || 0) + 1;
    }
    proved(t, `redis-freeze: ${inFreeze.length} reads during the freeze, slowest ${Math.max(...inFreeze.map((r) => r.ms))} ms; `
      + `answers ${JSON.stringify(byPath)}`);
  });

  it(`recovers on SIGCONT within ${RECOVERY_BOUND_MS} ms, without a restart`, (t) => {
    assert.ok(readyAt - thawedAt <= RECOVERY_BOUND_MS, `ready ${readyAt - thawedAt} ms after SIGCONT`);
    assert.ok(firstWriteAt - thawedAt <= RECOVERY_BOUND_MS, `first 204 ${firstWriteAt - thawedAt} ms after SIGCONT`);
    assert.equal(api.pid, pid);
    assert.ok(api.alive());
    proved(t, `redis-freeze: /readyz 200 ${readyAt - thawedAt} ms and first 204 ${firstWriteAt - thawedAt} ms after SIGCONT; same PID`);
  });

  it('the feed said stale during the freeze and sent a fresh hello after it', async (t) => {
    const stale = await feed.waitFor((m) => m.type === 'stale', 1000, { from: mark, what: 'stale' });
    const hello = await feed.waitFor((m) => m.type === 'hello', 3000, { from: feed.messages.indexOf(stale) + 1, what: 'hello after stale' });
    proved(t, `redis-freeze: feed stale ${stale.receivedAt - frozenAt} ms after SIGSTOP, hello ${hello.receivedAt - thawedAt} ms after SIGCONT`);
  });

  it('shuts down cleanly after it all (exit 0; leak-free under ASan)', async () => {
    await assertCleanStop([api]);
  });
});
