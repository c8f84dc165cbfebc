// snapshot_retry.test.mjs -- a snapshot that fails is tried again with a backoff until one succeeds, without
// waiting for a reconnect: the replica is not left unsynced (and /readyz 503) for as long as the connection
// happens to stay up. The failure is made real by giving the states key the wrong type, which every read of
// it answers with WRONGTYPE; Redis under maxmemory, where this used to show, no longer fails the read-only
// snapshot script (#!lua flags=no-writes), which is checked too.

import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startRedis, startApi, request, redis, waitUntil, getMetrics, metricValue, cleanup } from '../integration/harness.mjs';
import { proved, stopAll, assertCleanStop } from './lib.mjs';

after(async () => { await stopAll(); await cleanup(); });

const readyz = async (api) => (await request(api.port, 'GET', '/readyz', { timeoutMs: 3000 })).status;
const failures = async (api) => metricValue(await getMetrics(api.port), 'glance_snapshot_failures_total');

describe('a snapshot that fails', { timeout: 40000 }, () => {
  let rds;
  let api;
  let failedMore;
  let fixedAt;
  let readyAt;

  before(async () => {
    rds = await startRedis();
    api = await startApi({ redisPort: rds.port });
    assert.equal((await request(api.port, 'POST', '/api/status/main/7/3')).status, 204);
    // the states string becomes a hash: every GET of it now fails
    await redis(rds.port, 'DEL', 'glance:{main}:states');
    await redis(rds.port, 'HSET', 'glance:{main}:states', 'not', 'a string');
    const f0 = await failures(api);
    await redis(rds.port, 'CLIENT', 'KILL', 'TYPE', 'pubsub'); // the replica resubscribes and takes snapshots
    await waitUntil(async () => (await failures(api)) >= f0 + 3, { timeoutMs: 8000, intervalMs: 50, message: 'three failed snapshots' });
    failedMore = (await failures(api)) - f0;
    await redis(rds.port, 'DEL', 'glance:{main}:states');
    await redis(rds.port, 'SETRANGE', 'glance:{main}:states', 7, '3');
    fixedAt = Date.now();
    readyAt = await waitUntil(async () => (await readyz(api)) === 200 && Date.now(), { timeoutMs: 8000, intervalMs: 20, message: '/readyz 200 after the fix' });
  });

  it('is tried again, over and over, on the same connection', () => {
    assert.ok(failedMore >= 3);
    assert.doesNotMatch(api.stderr(), /dropping the connection/);
  });

  it('and the replica is ready soon after the data can be read again (the backoff tops out at 5 s)', (t) => {
    assert.ok(readyAt - fixedAt <= 5000 + 1000, `ready ${readyAt - fixedAt} ms after the fix`);
    proved(t, `snapshot-retry: ${failedMore} failed snapshots retried; ready ${readyAt - fixedAt} ms after the key was readable`);
  });

  it('with the state it holds', async () => {
    const states = (await request(api.port, 'GET', '/api/status')).json().clusters[0].states;
    assert.equal(states[7], 3);
  });

  it('read-only scripts run under maxmemory: shard reads answer and a resync completes', async () => {
    await redis(rds.port, 'CONFIG', 'SET', 'maxmemory-policy', 'noeviction');
    await redis(rds.port, 'CONFIG', 'SET', 'maxmemory', '1');
    try {
      assert.equal((await request(api.port, 'POST', '/api/status/main/8/3')).status, 503); // writes are refused
      const r = await request(api.port, 'GET', '/api/status/main/7');
      assert.equal(r.status, 200);
      assert.equal(r.json().state, 3);
      await redis(rds.port, 'CLIENT', 'KILL', 'TYPE', 'pubsub');
      await waitUntil(async () => (await readyz(api)) === 503, { timeoutMs: 3000, intervalMs: 10, message: 'the resync to start' }).catch(() => {});
      await waitUntil(async () => (await readyz(api)) === 200, { timeoutMs: 5000, intervalMs: 20, message: '/readyz 200 under maxmemory' });
    } finally {
      await redis(rds.port, 'CONFIG', 'SET', 'maxmemory', '0');
    }
  });

  it('shuts down cleanly (exit 0; leak-free under ASan)', async () => {
    await assertCleanStop([api]);
  });
});
