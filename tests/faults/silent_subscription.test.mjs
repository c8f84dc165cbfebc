// silent_subscription.test.mjs -- the subscription dies without a word (no FIN, no RST: a Redis host that
// rebooted, a NAT or load balancer that forgot the flow): the replica must notice, resubscribe and resync,
// and meanwhile not claim to be ready with a mirror that no longer moves.
// bus.c PINGs a quiet subscriber and drops it when no answer comes within GLANCE_REDIS_TIMEOUT_MS.

import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startRedis, startApi, openFeed, request, waitUntil, sleep, cleanup } from '../integration/harness.mjs';
import { startProxy, redisStates, feedView, differences, proved, stopAll, assertCleanStop } from './lib.mjs';

const REDIS_TIMEOUT_MS = 1000;
const NOTICE_BOUND_MS = 6000; // a ping interval, GLANCE_REDIS_TIMEOUT_MS, the reconnect and the resync

after(async () => { await stopAll(); await cleanup(); });

describe('the subscription silently dead (the connection is open, Redis is gone from its other end)', { timeout: 40000 }, () => {
  let rds;
  let proxy;
  let direct;
  let ghost;
  let feed;
  let orphanedAt;
  let seenAt = null;

  before(async () => {
    rds = await startRedis();
    proxy = await startProxy(rds.port);
    const env = { GLANCE_REDIS_TIMEOUT_MS: REDIS_TIMEOUT_MS };
    direct = await startApi({ redisPort: rds.port, env });
    ghost = await startApi({ redisPort: proxy.port, env });
    feed = await openFeed(ghost.port);
    await feed.waitFor((m) => m.type === 'hello', 5000, { what: 'hello' });
    orphanedAt = Date.now();
    proxy.orphan();
    // one write a tick through the other replica, until the orphaned one's mirror shows them
    for (let i = 0; Date.now() - orphanedAt < NOTICE_BOUND_MS + 2000; i++) {
      const r = await request(direct.port, 'POST', `/api/status/main/${i % 360}/${2 + (i % 5)}`);
      assert.equal(r.status, 204);
      await sleep(100);
      const snap = (await request(ghost.port, 'GET', '/api/status')).json().clusters[0].states;
      const want = await redisStates(rds.port, 'main', 360);
      if (seenAt === null && differences(snap, want).length === 0 && i > 20) { seenAt = Date.now(); break; }
    }
    await sleep(300);
  });
  after(async () => { feed?.close(); await proxy?.close(); });

  it(`the replica notices within ${NOTICE_BOUND_MS} ms and its mirror follows Redis again`, (t) => {
    assert.ok(seenAt !== null, `the mirror still lags Redis ${NOTICE_BOUND_MS + 2000} ms after the subscription died`);
    assert.ok(seenAt - orphanedAt <= NOTICE_BOUND_MS, `caught up after ${seenAt - orphanedAt} ms`);
    proved(t, `silent-subscription: the mirror follows Redis again ${seenAt - orphanedAt} ms after the subscription died silently`);
  });

  it('its feed clients end with the states Redis holds', async () => {
    const states = await redisStates(rds.port, 'main', 360);
    assert.deepEqual(differences(feedView(feed.messages).clusters.get('main').states, states), []);
  });

  it('it is ready again', async () => {
    await waitUntil(async () => (await request(ghost.port, 'GET', '/readyz')).status === 200, { timeoutMs: 5000, message: '/readyz 200' });
  });

  it('shuts down cleanly after it all (exit 0; leak-free under ASan)', async () => {
    await assertCleanStop([direct, ghost]);
  });
});
