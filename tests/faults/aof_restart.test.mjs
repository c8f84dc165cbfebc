// aof_restart.test.mjs -- Redis SIGKILLed under a steady POST load and started again from its AOF: no
// write that was answered 204 is lost, both replicas recover by themselves, feed clients resync.
//
// Every POST sets a shard that no other POST touches (cluster "load", state 3), so "answered 204" and
// "in Redis at the end" can be compared shard by shard with no ambiguity.

import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startApi, openFeed, request, waitUntil, sleep, cleanup } from '../integration/harness.mjs';
import {
  startRedisServer, postLoad, redisStates, feedView, differences, proved, stopAll, percentile, assertCleanStop,
} from './lib.mjs';

const LOAD_SHARDS = 100000;
const BOTS = `main:360;load:${LOAD_SHARDS}`;
const REDIS_TIMEOUT_MS = 1000;
const DOWN_MS = 1000; // how long Redis stays dead
const RECOVERY_BOUND_MS = 5000; // Redis answering PING -> every replica ready and writing

after(async () => { await stopAll(); await cleanup(); });

/** shards start..LOAD_SHARDS-1, every `step`-th, as POST paths */
function* shardPaths(first, step) {
  for (let s = first; s < LOAD_SHARDS; s += step) yield `/api/status/load/${s}/3`;
}

async function scenario(fsync) {
  const rds = await startRedisServer({ args: ['--appendonly', 'yes', '--appendfsync', fsync] });
  const env = { GLANCE_REDIS_TIMEOUT_MS: REDIS_TIMEOUT_MS };
  const apis = [
    await startApi({ redisPort: rds.port, bots: BOTS, env }),
    await startApi({ redisPort: rds.port, bots: BOTS, env }),
  ];
  const pids = apis.map((a) => a.pid);
  const feeds = await Promise.all(apis.map((a) => openFeed(a.port)));
  await Promise.all(feeds.map((f) => f.waitFor((m) => m.type === 'hello', 5000, { what: 'hello' })));

  // two replicas, four connections each, disjoint shards
  const loads = apis.map((a, i) => postLoad(a.port, shardPaths(i, 2), { concurrency: 4, timeoutMs: 5000, durationMs: 30000 }));
  await sleep(1500);

  const marks = feeds.map((f) => f.mark());
  const killAt = Date.now();
  await rds.kill('SIGKILL');
  await sleep(DOWN_MS);
  await rds.start(); // same port, same dir: the AOF is replayed before PING answers
  const upAt = Date.now();

  // each replica: first /readyz 200 and first 204 after Redis is back
  const readyAt = await Promise.all(apis.map((a) => waitUntil(async () => {
    const r = await request(a.port, 'GET', '/readyz', { timeoutMs: 1000 }).catch(() => null);
    return r && r.status === 200 && Date.now();
  }, { timeoutMs: 15000, intervalMs: 25, message: 'a replica to be ready again' })));
  await sleep(1500); // keep writing for a while after the recovery
  const results = (await Promise.all(loads.map((l) => l.stop())));

  const firstWriteAfter = results.map((rs) => Math.min(...rs.filter((r) => r.status === 204 && r.start >= upAt).map((r) => r.end)));
  const all = results.flat();
  const acked = all.filter((r) => r.status === 204);
  const failed = all.filter((r) => r.status !== 204);
  const byStatus = {};
  for (const r of failed) byStatus[r.status || r.error] = (byStatus[r.status || r.error] || 0) + 1;

  const states = await redisStates(rds.port, 'load', LOAD_SHARDS);
  const shardOf = (p) => Number(p.split('/')[4]);
  const lost = acked.filter((r) => states[shardOf(r.path)] !== 3).map((r) => shardOf(r.path));
  const unackedApplied = failed.filter((r) => states[shardOf(r.path)] === 3).length;

  // the feed clients: a stale frame, then a hello, and in the end the same states as Redis
  await sleep(500);
  const feedChecks = [];
  for (let i = 0; i < feeds.length; i++) {
    const after = feeds[i].messages.slice(marks[i]);
    const staleIdx = after.findIndex((m) => m.type === 'stale');
    const helloIdx = after.findIndex((m, j) => m.type === 'hello' && j > staleIdx);
    const view = feedView(feeds[i].messages).clusters.get('load').states;
    feedChecks.push({ staleIdx, helloIdx, diff: differences(view, states) });
  }

  return {
    fsync, sent: all.length, acked: acked.length, failed: failed.length, byStatus, lost, unackedApplied,
    pids, alive: apis.map((a) => a.alive()), samePid: apis.map((a, i) => a.pid === pids[i]),
    recoveryReadyMs: readyAt.map((t) => t - upAt), recoveryWriteMs: firstWriteAfter.map((t) => t - upAt),
    outageMs: upAt - killAt, maxFailMs: Math.max(0, ...failed.map((r) => r.ms)),
    p99Ms: percentile(acked.map((r) => r.ms), 99), feedChecks,
    stopClean: async () => { for (const f of feeds) f.close(); await assertCleanStop(apis); },
    stop: async () => { for (const f of feeds) f.close(); for (const a of apis) await a.stop(); await rds.stop(); },
  };
}

describe('Redis SIGKILLed under a POST load and restarted from its AOF (appendfsync always)', { timeout: 90000 }, () => {
  let r;
  before(async () => { r = await scenario('always'); });
  after(async () => { await r?.stop(); });

  it('loses no write that was answered 204', (t) => {
    assert.ok(r.acked > 500, `only ${r.acked} writes were acknowledged`);
    assert.deepEqual(r.lost.slice(0, 20), [], `${r.lost.length} acknowledged writes are missing from Redis`);
    proved(t, `aof-restart(always): ${r.sent} POSTs sent, ${r.acked} answered 204, ${r.failed} not `
      + `(${JSON.stringify(r.byStatus)}; ${r.unackedApplied} of those were applied anyway), acknowledged writes lost: ${r.lost.length}; `
      + `Redis down ${r.outageMs} ms; slowest failed request ${r.maxFailMs} ms; p99 of the 204s ${r.p99Ms} ms`);
  });

  it(`every replica recovers by itself within ${RECOVERY_BOUND_MS} ms of Redis answering, without a restart`, (t) => {
    assert.deepEqual(r.alive, [true, true]);
    assert.deepEqual(r.samePid, [true, true]);
    for (const ms of [...r.recoveryReadyMs, ...r.recoveryWriteMs]) assert.ok(ms <= RECOVERY_BOUND_MS, `recovered after ${ms} ms`);
    proved(t, `aof-restart(always): replicas ready ${r.recoveryReadyMs.join(' / ')} ms and writing (first 204) `
      + `${r.recoveryWriteMs.join(' / ')} ms after Redis answered PING again; same PIDs ${r.pids.join(', ')}`);
  });

  it('feed clients are told the data is stale, get a fresh hello and end with the states Redis holds', (t) => {
    for (const [i, c] of r.feedChecks.entries()) {
      assert.ok(c.staleIdx >= 0, `feed ${i}: no stale frame after the kill`);
      assert.ok(c.helloIdx > c.staleIdx, `feed ${i}: no hello after the stale frame`);
      assert.deepEqual(c.diff, [], `feed ${i}: view differs from Redis at [shard, feed, redis]`);
    }
    proved(t, 'aof-restart(always): both feed clients got stale then hello, and their final view equals Redis (100,000 shards)');
  });

  it('both replicas shut down cleanly afterwards (exit 0; leak-free under ASan)', async () => {
    await r.stopClean();
  });
});

describe('the same with the shipped appendfsync everysec (a killed process, not a crashed machine)', { timeout: 90000 }, () => {
  let r;
  before(async () => { r = await scenario('everysec'); });
  after(async () => { await r?.stop(); });

  it('loses no acknowledged write either: what Redis wrote is in the page cache when only the process dies', (t) => {
    assert.deepEqual(r.lost.slice(0, 20), [], `${r.lost.length} acknowledged writes are missing from Redis`);
    assert.deepEqual(r.samePid, [true, true]);
    proved(t, `aof-restart(everysec): ${r.sent} POSTs sent, ${r.acked} answered 204, acknowledged writes lost: ${r.lost.length}; `
      + `replicas writing again ${r.recoveryWriteMs.join(' / ')} ms after Redis answered `
      + '(a power loss could still lose up to ~1 s: not testable here)');
  });
});
