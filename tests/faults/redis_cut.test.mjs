// redis_cut.test.mjs -- one replica cut off from Redis (a TCP proxy between them that the test freezes,
// then resets) while another carries on: the other keeps answering 204 and its feed keeps flowing; the cut
// one answers 503 and /readyz 503 within a bound, and recovers by itself when the network comes back.

import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startRedis, startApi, openFeed, request, waitUntil, sleep, cleanup } from '../integration/harness.mjs';
import { startProxy, postLoad, redisStates, feedView, differences, proved, stopAll, percentile, assertCleanStop } from './lib.mjs';

const REDIS_TIMEOUT_MS = 1000;
const ANSWER_BOUND_MS = REDIS_TIMEOUT_MS + 1000;
const CUT_MS = 4000;
const RECOVERY_BOUND_MS = 3500; // reconnect backoff tops out at about 2 s, plus the handshake and resync

after(async () => { await stopAll(); await cleanup(); });

/** Endless status changes; the two replicas get different shards (offset 0 and 1). */
function* writes(offset) {
  for (let i = 0; ; i++) yield `/api/status/main/${(i * 2 + offset) % 360}/${2 + (i % 5)}`;
}

const readyz = async (api) => (await request(api.port, 'GET', '/readyz', { timeoutMs: 3000 }).catch(() => ({ status: 0 }))).status;

async function pollReady(api, want, since, timeoutMs) {
  return waitUntil(async () => (await readyz(api)) === want && Date.now() - since, { timeoutMs, intervalMs: 20, message: `/readyz ${want}` });
}

let rds;
let proxy;
let direct; // talks to Redis directly
let cut; // talks to Redis through the proxy
let feedDirect;
let feedCut;

before(async () => {
  rds = await startRedis();
  proxy = await startProxy(rds.port);
  const env = { GLANCE_REDIS_TIMEOUT_MS: REDIS_TIMEOUT_MS };
  direct = await startApi({ redisPort: rds.port, env });
  cut = await startApi({ redisPort: proxy.port, env });
  feedDirect = await openFeed(direct.port);
  feedCut = await openFeed(cut.port);
  await Promise.all([feedDirect, feedCut].map((f) => f.waitFor((m) => m.type === 'hello', 5000, { what: 'hello' })));
});
after(async () => { feedDirect?.close(); feedCut?.close(); await proxy?.close(); });

for (const kind of ['freeze', 'reset']) {
  const what = kind === 'freeze'
    ? 'a partition: nothing crosses, connections stay open'
    : 'connections reset and new ones refused';
  describe(`the cut replica's network to Redis: ${what}, for ${CUT_MS / 1000} s`, { timeout: 60000 }, () => {
    let loadDirect;
    let loadCut;
    let cutAt;
    let healAt;
    let notReadyMs;
    let readyMs;
    let directUpdates;
    let markCut;

    before(async () => {
      loadDirect = postLoad(direct.port, writes(0), { concurrency: 2, timeoutMs: 8000, pauseMs: 5 });
      loadCut = postLoad(cut.port, writes(1), { concurrency: 2, timeoutMs: 8000, pauseMs: 5 });
      await sleep(500);
      markCut = feedCut.mark();
      const markDirect = feedDirect.mark();
      cutAt = Date.now();
      proxy[kind]();
      notReadyMs = await pollReady(cut, 503, cutAt, ANSWER_BOUND_MS + 2000);
      await sleep(Math.max(0, CUT_MS - (Date.now() - cutAt)));
      directUpdates = feedDirect.messages.slice(markDirect).filter((m) => m.type === 'update' && m.receivedAt >= cutAt).length;
      healAt = Date.now();
      proxy.pass();
      readyMs = await pollReady(cut, 200, healAt, 10000);
      await sleep(500);
      await Promise.all([loadDirect.stop(), loadCut.stop()]);
      await sleep(400);
    });

    it('the other replica kept answering 204 and its feed kept flowing', (t) => {
      const during = loadDirect.results.filter((r) => r.start >= cutAt && r.end <= healAt);
      assert.ok(during.length > 50, `only ${during.length} writes to the other replica during the cut`);
      assert.deepEqual(during.filter((r) => r.status !== 204).slice(0, 5), [], 'the other replica failed writes');
      assert.ok(directUpdates >= (CUT_MS / 100) * 0.5, `only ${directUpdates} updates reached the other replica's feed`);
      proved(t, `redis-cut(${kind}): the other replica answered ${during.length}/${during.length} writes with 204 during the cut `
        + `(p99 ${percentile(during.map((r) => r.ms), 99)} ms) and its feed client got ${directUpdates} updates`);
    });

    it(`the cut replica answered 503 within ${ANSWER_BOUND_MS} ms and /readyz said 503`, (t) => {
      const during = loadCut.results.filter((r) => r.start >= cutAt && r.start < healAt);
      const afterFirst = during.filter((r) => r.start >= cutAt + ANSWER_BOUND_MS);
      assert.ok(during.length > 20, `only ${during.length} writes to the cut replica`);
      assert.deepEqual(during.filter((r) => r.status === 0).slice(0, 5), [], 'writes without an answer');
      assert.deepEqual(during.filter((r) => r.ms > ANSWER_BOUND_MS).slice(0, 5), [], 'writes answered after the bound');
      assert.deepEqual(afterFirst.filter((r) => r.status !== 503 && r.end <= healAt).slice(0, 5), [], 'answers other than 503 while cut');
      assert.ok(notReadyMs <= ANSWER_BOUND_MS, `/readyz 503 only after ${notReadyMs} ms`);
      const n503 = during.filter((r) => r.status === 503).length;
      proved(t, `redis-cut(${kind}): the cut replica answered all ${during.length} writes, ${n503} with 503, `
        + `slowest ${Math.max(...during.map((r) => r.ms))} ms (bound ${ANSWER_BOUND_MS}); /readyz 503 after ${notReadyMs} ms`);
    });

    it(`the cut replica recovered by itself within ${RECOVERY_BOUND_MS} ms and its feed resynced to what Redis holds`, async (t) => {
      assert.ok(readyMs <= RECOVERY_BOUND_MS, `ready ${readyMs} ms after the network came back`);
      const firstWrite = Math.min(...loadCut.results.filter((r) => r.status === 204 && r.start >= healAt).map((r) => r.end)) - healAt;
      assert.ok(firstWrite <= RECOVERY_BOUND_MS, `first 204 ${firstWrite} ms after the network came back`);
      const after = feedCut.messages.slice(markCut);
      const staleIdx = after.findIndex((m) => m.type === 'stale');
      assert.ok(staleIdx >= 0, 'no stale frame');
      assert.ok(after.findIndex((m, i) => m.type === 'hello' && i > staleIdx) > staleIdx, 'no hello after the stale frame');
      const states = await redisStates(rds.port, 'main', 360);
      for (const f of [feedCut, feedDirect]) {
        assert.deepEqual(differences(feedView(f.messages).clusters.get('main').states, states), [], 'feed view differs from Redis');
      }
      proved(t, `redis-cut(${kind}): /readyz 200 ${readyMs} ms and first 204 ${firstWrite} ms after the network came back; `
        + 'both feed views equal Redis');
    });
  });
}

describe('after both cuts', { timeout: 20000 }, () => {
  it('both replicas shut down cleanly (exit 0; leak-free under ASan)', async () => {
    feedDirect.close();
    feedCut.close();
    await assertCleanStop([direct, cut]);
  });
});
