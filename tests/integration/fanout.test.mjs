// fanout.test.mjs -- every change reaches every feed client: glance-sim posts hundreds of state changes a second
// while thousands of feed clients watch one replica, and counts every (change, client) pair. A change that a
// client never sees as itself (coalesced with the shard's next one because the write path or the feed fell
// behind) is counted missing and fails the test. On the release build it runs at the size where 479eca0 lost pairs
// (10,000 clients, 500 changes a second, 10 s: 2,540,158 of 50,000,000 missing there, every one here); under the
// sanitizers, which make every step several times slower, at a fifth of it.

import { describe, it, after } from 'node:test';
import assert from 'node:assert/strict';
import { API_BIN, startRedis, startApi, getMetrics, metricValue, cleanup } from './harness.mjs';
import { runSim } from '../bench/lib.mjs';

const SANITIZED = /asan/.test(API_BIN) || Boolean(process.env.ASAN_OPTIONS);
const SHARDS = 2000;
const VIEWERS = SANITIZED ? 2000 : 10000;
const RATE = SANITIZED ? 300 : 500;
const SECONDS = SANITIZED ? 4 : 10;

after(cleanup);

describe('fan-out', { timeout: 200000 }, () => {
  it(`${VIEWERS} feed clients each see every one of ${RATE} changes a second, in order, nothing coalesced away`, async () => {
    const rds = await startRedis();
    const api = await startApi({ redisPort: rds.port, bots: `main:${SHARDS}` });
    const run = await runSim(['--url', api.url, '--clusters', `main:${SHARDS}`, '--rate', String(RATE), '--mix', 'resume=1',
      '--viewers', String(VIEWERS), '--viewer-rate', '2500', '--duration', String(SECONDS), '--connections', '16',
      '--boot-limit', '60'], { limitS: 150 });
    const r = run.report;
    const m = await getMetrics(api.port);
    assert.equal(r.boot_timed_out, false, 'the fleet booted');
    assert.equal(r.viewers.ready, VIEWERS, `feed clients ready: ${JSON.stringify(r.viewers)}`);
    assert.equal(r.viewers.closed + r.viewers.failed, 0, `feed clients lost: ${JSON.stringify(r.viewers)}`);
    assert.equal(r.posts.errors, 0, `POST errors: ${JSON.stringify(r.posts)}`);
    assert.equal(metricValue(m, 'glance_feed_clients_dropped_total'), 0, 'no client dropped for its backlog');
    assert.ok(r.deliveries.expected >= VIEWERS * RATE * (SECONDS - 1), `changes tracked: ${JSON.stringify(r.deliveries)}`);
    assert.equal(r.deliveries.delivered, r.deliveries.expected,
      `(change, client) pairs delivered: ${JSON.stringify(r.deliveries)}; POST round trips ${JSON.stringify(r.posts.rtt_ms)}`);
    await api.stop();
    await rds.stop();
  });
});
