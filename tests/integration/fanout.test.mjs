// fanout.test.mjs -- every change reaches every feed client: glance-sim posts hundreds of state changes a second
// while thousands of feed clients watch one replica, and counts every (change, client) pair. A change that a
// client never sees as itself (coalesced with the shard's next one because the write path or the feed fell
// behind) is counted missing and fails the test.

import { describe, it, after } from 'node:test';
import assert from 'node:assert/strict';
import { startRedis, startApi, getMetrics, metricValue, cleanup } from './harness.mjs';
import { runSim } from '../bench/lib.mjs';

const SHARDS = 2000;
const VIEWERS = 2000;

after(cleanup);

describe('fan-out', { timeout: 120000 }, () => {
  it(`${VIEWERS} feed clients each see every one of 300 changes a second, in order, nothing coalesced away`, async () => {
    const rds = await startRedis();
    const api = await startApi({ redisPort: rds.port, bots: `main:${SHARDS}` });
    const run = await runSim(['--url', api.url, '--clusters', `main:${SHARDS}`, '--rate', '300', '--mix', 'resume=1',
      '--viewers', String(VIEWERS), '--viewer-rate', '2500', '--duration', '4', '--connections', '16',
      '--boot-limit', '60'], { limitS: 100 });
    const r = run.report;
    const m = await getMetrics(api.port);
    assert.equal(r.boot_timed_out, false, 'the fleet booted');
    assert.equal(r.viewers.ready, VIEWERS, `feed clients ready: ${JSON.stringify(r.viewers)}`);
    assert.equal(r.viewers.closed + r.viewers.failed, 0, `feed clients lost: ${JSON.stringify(r.viewers)}`);
    assert.equal(r.posts.errors, 0, `POST errors: ${JSON.stringify(r.posts)}`);
    assert.equal(metricValue(m, 'glance_feed_clients_dropped_total'), 0, 'no client dropped for its backlog');
    assert.ok(r.deliveries.expected >= VIEWERS * 300 * 3, `changes tracked: ${JSON.stringify(r.deliveries)}`);
    assert.equal(r.deliveries.delivered, r.deliveries.expected,
      `(change, client) pairs delivered: ${JSON.stringify(r.deliveries)}; POST round trips ${JSON.stringify(r.posts.rtt_ms)}`);
    await api.stop();
    await rds.stop();
  });
});
