// sentinel.test.mjs -- Redis Sentinel failover: a master, a replica and three sentinels on loopback
// (Debian's redis-server and redis-sentinel; down-after-milliseconds 1000, failover-timeout 5000). The
// master is SIGKILLed under a write load; glance-api, which found the master through the sentinels,
// writes again within the documented bound, without a restart, and its feed resyncs.

import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { startApi, openFeed, request, redis, waitUntil, sleep, cleanup } from '../integration/harness.mjs';
import {
  startSentinelSet, sentinelMasterPort, postLoad, redisStates, feedView, differences, proved, stopAll, assertCleanStop,
} from './lib.mjs';

const FAILOVER_BOUND_MS = 15000; // kill -9 of the master -> first 204 through the new one
const LOAD_SHARDS = 100000;
const BOTS = `main:360;load:${LOAD_SHARDS}`;

let haveSentinel = true;
try { execFileSync('redis-sentinel', ['--version'], { stdio: 'ignore' }); } catch { haveSentinel = false; }

after(async () => { await stopAll(); await cleanup(); });

const skip = haveSentinel ? false : 'redis-sentinel is not installed (scripts/deps.sh installs it)';

describe('the Redis master SIGKILLed: Sentinel promotes the replica', { timeout: 90000, skip }, () => {
  let set;
  let api;
  let pid;
  let feed;
  let load;
  let killAt;
  let firstWriteAt;
  let newMasterPort;
  let results;

  before(async () => {
    set = await startSentinelSet({ downAfterMs: 1000, failoverTimeoutMs: 5000 });
    api = await startApi({
      redisPort: 1, // ignored: the sentinels name the master
      bots: BOTS,
      env: {
        GLANCE_REDIS_SENTINELS: set.sentinels.map((s) => `127.0.0.1:${s.port}`).join(','),
        GLANCE_REDIS_MASTER: set.master,
        GLANCE_REDIS_TIMEOUT_MS: 1000,
      },
    });
    pid = api.pid;
    feed = await openFeed(api.port);
    await feed.waitFor((m) => m.type === 'hello', 5000, { what: 'hello' });

    // every POST a new shard, so what was acknowledged can be checked in the new master one by one
    const paths = (function* () { for (let s = 0; s < LOAD_SHARDS; s++) yield `/api/status/load/${s}/3`; })();
    load = postLoad(api.port, paths, { concurrency: 2, timeoutMs: 5000, durationMs: 60000, pauseMs: 10 });
    await sleep(1000);
    const killed = set.primary.kill('SIGKILL'); // the signal goes at once; this resolves on the exit
    killAt = Date.now(); // a request that starts later than this ms cannot reach the old master
    await killed;
    firstWriteAt = await waitUntil(() => {
      const w = load.results.filter((r) => r.status === 204 && r.start > killAt);
      return w.length > 0 && Math.min(...w.map((r) => r.end));
    }, { timeoutMs: FAILOVER_BOUND_MS + 10000, intervalMs: 50, message: 'a 204 after the master was killed' });
    await sleep(1000);
    results = await load.stop();
    // the sentinels that did not lead the failover learn of it from the others' hello messages (every 2 s)
    newMasterPort = await waitUntil(async () => {
      const ports = await Promise.all(set.sentinels.map((x) => sentinelMasterPort(x.port, set.master)));
      return ports.every((p) => p === ports[0]) && ports[0] !== set.primary.port && ports[0];
    }, { timeoutMs: 10000, intervalMs: 100, message: 'every sentinel to name the new master' });
    await sleep(300);
  });
  after(() => feed?.close());

  it(`glance-api writes again within ${FAILOVER_BOUND_MS} ms of the kill, through the promoted replica`, (t) => {
    const ms = firstWriteAt - killAt;
    assert.equal(newMasterPort, set.replica.port, 'the sentinels promoted the replica');
    assert.ok(ms <= FAILOVER_BOUND_MS, `first 204 ${ms} ms after the kill`);
    const during = results.filter((r) => r.start > killAt && r.start < firstWriteAt);
    const slowest = Math.max(0, ...during.map((r) => r.ms));
    assert.ok(slowest <= 2000, `a request during the failover took ${slowest} ms`);
    proved(t, `sentinel: master SIGKILLed, first 204 through the promoted replica ${ms} ms later (bound ${FAILOVER_BOUND_MS}; `
      + `down-after-milliseconds 1000); ${during.length} writes during the failover answered `
      + `${[...new Set(during.map((r) => r.status))].join('/')}, `
      + `slowest ${slowest} ms`);
  });

  it('glance-api was not restarted and is ready', async () => {
    assert.equal(api.pid, pid);
    assert.ok(api.alive());
    await waitUntil(async () => (await request(api.port, 'GET', '/readyz')).status === 200, { timeoutMs: 5000, message: '/readyz 200' });
  });

  it('acknowledged writes are in the new master (replication is asynchronous: the count lost is reported)', async (t) => {
    const states = await redisStates(set.replica.port, 'load', LOAD_SHARDS);
    const acked = results.filter((r) => r.status === 204);
    const missing = (r) => states[Number(r.path.split('/')[4])] !== 3;
    const lostBefore = acked.filter((r) => r.start <= killAt && missing(r)).length;
    const lostAfter = acked.filter((r) => r.start > killAt && missing(r)).length;
    // after the failover glance-api writes to the new master itself: nothing of that may be missing
    assert.equal(lostAfter, 0, 'writes acknowledged by the new master are missing');
    proved(t, `sentinel: ${acked.length} writes answered 204; missing from the new master: ${lostBefore} acknowledged by the old master `
      + `just before the kill (asynchronous replication), ${lostAfter} acknowledged after it`);
  });

  it('the feed resynced: its view equals the new master', async (t) => {
    const role = (await redis(set.replica.port, 'ROLE')).split('\n')[0];
    assert.equal(role, 'master');
    const states = await redisStates(set.replica.port, 'load', LOAD_SHARDS);
    const view = feedView(feed.messages);
    assert.deepEqual(differences(view.clusters.get('load').states, states), []);
    proved(t, `sentinel: the feed client got ${view.hellos} hellos and ends equal to the new master`);
  });

  it('shuts down cleanly after it all (exit 0; leak-free under ASan)', async () => {
    await assertCleanStop([api]);
  });
});
