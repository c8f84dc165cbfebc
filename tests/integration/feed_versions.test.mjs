// feed_versions.test.mjs -- a hello is never older than the versions the updates after it start from, even
// when a version moved without any visible change (a status 0 for a shard that never reported: the digit
// stays 0, the version goes up). The replica used to keep its cached hello until a flush carried a change,
// so a client that connected after such a move got an old hello and then an update starting above it.

import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startRedis, startApi, openFeed, request, redis, cleanup } from './harness.mjs';

after(cleanup);

describe('a version that moves without a visible change', { timeout: 30000 }, () => {
  let rds;
  let api;
  let late;
  let hello;
  let update;
  let redisVersion;

  before(async () => {
    rds = await startRedis();
    api = await startApi({ redisPort: rds.port, feedIntervalMs: 20 });
    assert.equal((await request(api.port, 'POST', '/api/status/main/1/3')).status, 204);
    const early = await openFeed(api.port);
    // once shard 1's change has gone out (the flush of a change drops the cached hello), a new client
    // makes the replica cache a hello at that version
    await early.waitFor((m) => (m.type === 'hello' && m.clusters[0].states[1] === '3')
      || (m.type === 'update' && m.clusters.some((c) => c.changes?.some(([s]) => s === 1))), 5000, { what: "shard 1's change" });
    const cacher = await openFeed(api.port);
    await cacher.waitFor((m) => m.type === 'hello', 5000, { what: 'the hello that gets cached' });
    cacher.close();
    assert.equal((await request(api.port, 'POST', '/api/status/main/100/0')).status, 204); // version +1, digit stays 0
    assert.equal((await request(api.port, 'POST', '/api/health/main/1')).status, 204); // a ping: an update with no change
    await early.waitFor((m) => m.type === 'update' && m.clusters.some((c) => c.pings?.includes(1)), 5000, { what: 'the ping' });
    redisVersion = Number(await redis(rds.port, 'GET', 'glance:{main}:ver'));
    late = await openFeed(api.port);
    hello = await late.waitFor((m) => m.type === 'hello', 5000, { what: "the late client's hello" });
    assert.equal((await request(api.port, 'POST', '/api/status/main/2/4')).status, 204);
    update = await late.waitFor((m) => m.type === 'update' && m.clusters.some((c) => c.name === 'main' && c.changes?.length), 5000, { what: 'the change' });
    early.close();
  });
  after(() => late?.close());

  it('a client that connects afterwards gets a hello at the current version', () => {
    assert.equal(hello.clusters.find((c) => c.name === 'main').version, redisVersion);
  });

  it('and its first update does not start above that hello', () => {
    const helloVersion = hello.clusters.find((c) => c.name === 'main').version;
    const u = update.clusters.find((c) => c.name === 'main');
    assert.ok(u.from <= helloVersion, `update from ${u.from}, hello at ${helloVersion}`);
    assert.equal(u.to, redisVersion + 1);
  });
});
