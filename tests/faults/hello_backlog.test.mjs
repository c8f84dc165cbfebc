// hello_backlog.test.mjs -- a browser still taking in a large hello is not dropped by the updates that follow
// it: its backlog bound is fixed, when the hello is queued, at the usual bound plus that hello. (It used to
// be the usual bound plus whatever hello was cached at the time of the update, and none is cached right
// after a change, so a slow phone that connected to a big bot was cut off by the first change after it.)

import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startRedis, startApi, rawWebSocket, request, sleep, waitUntil, getMetrics, metricValue, cleanup } from '../integration/harness.mjs';
import { stopAll, assertCleanStop } from './lib.mjs';

const CLUSTERS = 8;
const SHARDS = 1000000; // one digit a shard: an 8 MB hello, far more than loopback's socket buffers take
const bots = Array.from({ length: CLUSTERS }, (_, i) => `c${i}:${SHARDS}`).join(';');

after(async () => { await stopAll(); await cleanup(); });

describe(`a client that has not yet read its ${CLUSTERS} MB hello when changes come`, { timeout: 60000 }, () => {
  let api;
  let raw;
  let droppedWhileStalled;
  let received = 0;
  let closedByServer = false;

  before(async () => {
    const rds = await startRedis();
    api = await startApi({ redisPort: rds.port, bots, feedIntervalMs: 50 });
    raw = await rawWebSocket(api.port, { timeoutMs: 10000 });
    raw.socket.on('data', (d) => { received += d.length; });
    raw.socket.on('end', () => { closedByServer = true; });
    await sleep(300); // the hello is queued and the socket's buffers are full (nothing is read meanwhile)
    for (let i = 0; i < 6; i++) {
      assert.equal((await request(api.port, 'POST', `/api/status/c0/${i}/3`)).status, 204);
      await sleep(120); // each change its own update frame
    }
    droppedWhileStalled = metricValue(await getMetrics(api.port), 'glance_feed_clients_dropped_total');
    raw.socket.resume();
    await waitUntil(() => received >= CLUSTERS * SHARDS || closedByServer, { timeoutMs: 20000, intervalMs: 20, message: 'the hello read' });
    await sleep(300); // the updates behind it
  });
  after(() => raw?.socket.destroy());

  it('is not dropped while it stalls', () => {
    assert.equal(droppedWhileStalled, 0);
  });

  it('reads the whole hello and the updates behind it, and stays connected', () => {
    assert.equal(closedByServer, false);
    assert.ok(received >= CLUSTERS * SHARDS, `received ${received} bytes`);
  });

  it('shuts down cleanly (exit 0; leak-free under ASan)', async () => {
    raw.socket.destroy();
    await assertCleanStop([api]);
  });
});
