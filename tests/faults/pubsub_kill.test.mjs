// pubsub_kill.test.mjs -- the replicas' subscriptions killed (CLIENT KILL TYPE pubsub) while writes go on:
// each replica resubscribes and resyncs, and its feed clients miss no transition: their final view (the
// hellos and updates applied as the protocol says) equals what Redis holds.

import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startRedis, startApi, openFeed, redis, request, waitUntil, sleep, getMetrics, metricValue, cleanup } from '../integration/harness.mjs';
import { postLoad, redisStates, feedView, differences, proved, stopAll, assertCleanStop } from './lib.mjs';

const SHARDS = 360;
const KILLS = 3;

after(async () => { await stopAll(); await cleanup(); });

function* randomWrites() {
  for (let i = 0; ; i++) {
    const shard = Math.floor(Math.random() * SHARDS);
    yield `/api/status/main/${shard}/${2 + (i % 5)}`;
  }
}

describe(`the subscriptions killed ${KILLS} times under a write load`, { timeout: 60000 }, () => {
  let rds;
  let apis;
  let pids;
  let feeds;
  let load;
  const kills = [];

  before(async () => {
    rds = await startRedis();
    apis = [await startApi({ redisPort: rds.port }), await startApi({ redisPort: rds.port })];
    pids = apis.map((a) => a.pid);
    feeds = await Promise.all(apis.map((a) => openFeed(a.port)));
    await Promise.all(feeds.map((f) => f.waitFor((m) => m.type === 'hello', 5000, { what: 'hello' })));
    // writes through replica 0 only: its command connection is not touched, so writes keep landing
    // while the subscriptions are down
    load = postLoad(apis[0].port, randomWrites(), { concurrency: 2, timeoutMs: 5000, durationMs: 30000, pauseMs: 2 });
    await sleep(500);
    for (let k = 0; k < KILLS; k++) {
      const marks = feeds.map((f) => f.mark());
      const at = Date.now();
      const killed = Number(await redis(rds.port, 'CLIENT', 'KILL', 'TYPE', 'pubsub'));
      // the resync is over when each feed got its new hello
      const hellos = await Promise.all(feeds.map((f, i) => f.waitFor((m) => m.type === 'hello', 5000,
        { from: marks[i], what: 'a hello after the kill' })));
      kills.push({ at, killed, resyncMs: hellos.map((h) => h.receivedAt - at) });
      await sleep(400);
    }
    await load.stop();
    await sleep(500); // the last changes go out (interval 100 ms)
  });
  after(() => { for (const f of feeds || []) f.close(); });

  it('every kill dropped both subscriptions and each replica resubscribed and sent a fresh hello', (t) => {
    for (const k of kills) assert.equal(k.killed, 2, 'CLIENT KILL TYPE pubsub killed both subscriber connections');
    const worst = Math.max(...kills.flatMap((k) => k.resyncMs));
    assert.ok(worst < 3000, `a resync took ${worst} ms`);
    proved(t, `pubsub-kill: ${KILLS} kills of both subscriptions; fresh hello after ${kills.map((k) => k.resyncMs.join('/')).join(', ')} ms`);
  });

  it('writes went on during the kills', (t) => {
    const acked = load.results.filter((r) => r.status === 204).length;
    const down = (r) => kills.some((k) => r.start >= k.at && r.end <= k.at + Math.max(...k.resyncMs));
    const during = load.results.filter((r) => r.status === 204 && down(r)).length;
    const failed = load.results.filter((r) => r.status !== 204);
    assert.deepEqual(failed.slice(0, 5), [], 'writes that failed');
    assert.ok(during > 0, 'no write landed while a subscription was down');
    proved(t, `pubsub-kill: ${acked} writes answered 204 (0 failed), ${during} of them while a subscription was down`);
  });

  it("each feed client's final view equals Redis: no transition was missed", async (t) => {
    const states = await redisStates(rds.port, 'main', SHARDS);
    const version = Number(await redis(rds.port, 'GET', 'glance:{main}:ver'));
    for (const [i, f] of feeds.entries()) {
      const view = feedView(f.messages);
      const main = view.clusters.get('main');
      assert.deepEqual(differences(main.states, states), [], `feed ${i}: [shard, feed, redis] differ`);
      assert.equal(main.version, version, `feed ${i}: version`);
      assert.equal(view.gaps, 0, `feed ${i}: updates that skipped a version`);
    }
    proved(t, `pubsub-kill: both feed clients end at version ${version} with all ${SHARDS} states equal to Redis, no version gap`);
  });

  it('the replicas were not restarted and are ready', async () => {
    for (const [i, a] of apis.entries()) {
      assert.equal(a.pid, pids[i]);
      await waitUntil(async () => (await request(a.port, 'GET', '/readyz')).status === 200, { timeoutMs: 3000, message: 'ready' });
      assert.ok(metricValue(await getMetrics(a.port), 'glance_redis_reconnects_total') >= KILLS);
    }
  });

  it('shuts down cleanly after it all (exit 0; leak-free under ASan)', async () => {
    await assertCleanStop(apis);
  });
});
