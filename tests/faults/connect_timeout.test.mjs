// connect_timeout.test.mjs -- a Redis or a sentinel that takes the connection and then says nothing (a host
// that drops packets, a partition during the connect): each attempt is given up after GLANCE_REDIS_TIMEOUT_MS
// and tried again, instead of waiting on the kernel (two minutes of SYN retries) or forever on a handshake.
// Meanwhile the event loop keeps serving, and /readyz says why it is not ready.

import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startRedis, startApi, request, waitUntil, cleanup } from '../integration/harness.mjs';
import { startProxy, proved, stopAll, assertCleanStop } from './lib.mjs';

const REDIS_TIMEOUT_MS = 1000;

after(async () => { await stopAll(); await cleanup(); });

for (const via of ['redis', 'sentinel']) {
  describe(`a ${via} that accepts connections and never answers`, { timeout: 40000 }, () => {
    let rds;
    let proxy;
    let api;
    let startedAt;
    let retriedAt;
    let why;
    let healthz;

    before(async () => {
      rds = await startRedis();
      proxy = await startProxy(rds.port);
      proxy.freeze();
      const env = via === 'redis'
        ? { GLANCE_REDIS_URL: `redis://127.0.0.1:${proxy.port}/0` }
        : { GLANCE_REDIS_SENTINELS: `127.0.0.1:${proxy.port}`, GLANCE_REDIS_MASTER: 'mymaster' };
      startedAt = Date.now();
      api = await startApi({ redisPort: rds.port, waitReady: false, env: { ...env, GLANCE_REDIS_TIMEOUT_MS: REDIS_TIMEOUT_MS } });
      // two connections (commands, subscriber), then each tried again: the first attempts were given up
      retriedAt = await waitUntil(() => proxy.accepted >= 4 && Date.now(),
        { timeoutMs: 3 * REDIS_TIMEOUT_MS + 3000, intervalMs: 20, message: 'new connection attempts at the frozen proxy' });
      const r = await request(api.port, 'GET', '/readyz', { timeoutMs: 2000 });
      why = { status: r.status, error: r.json().error };
      healthz = await request(api.port, 'GET', '/healthz', { timeoutMs: 2000 });
    });
    after(async () => { await proxy?.close(); });

    it(`gives each attempt up within GLANCE_REDIS_TIMEOUT_MS and tries again`, (t) => {
      // the first retry comes after the timeout and a backoff of at most 200 ms
      assert.ok(retriedAt - startedAt <= REDIS_TIMEOUT_MS + 200 + 1500, `retried after ${retriedAt - startedAt} ms`);
      proved(t, `connect-timeout (${via}): a silent peer was given up and tried again after ${retriedAt - startedAt} ms`);
    });

    it('/readyz says why it is not ready', () => {
      assert.equal(why.status, 503);
      assert.match(why.error, via === 'redis' ? /no answer within GLANCE_REDIS_TIMEOUT_MS/ : /sentinel.*no answer within GLANCE_REDIS_TIMEOUT_MS/);
    });

    it('the event loop keeps serving meanwhile', () => {
      assert.equal(healthz.status, 200);
    });

    if (via === 'redis') {
      it('becomes ready once the network answers again', async () => {
        proxy.pass();
        await waitUntil(async () => (await request(api.port, 'GET', '/readyz', { timeoutMs: 2000 })).status === 200,
          { timeoutMs: 3 * REDIS_TIMEOUT_MS + 3000, intervalMs: 50, message: '/readyz 200 after the network came back' });
      });
    }

    it('shuts down cleanly (exit 0; leak-free under ASan)', async () => {
      await assertCleanStop([api]);
    });
  });
}
