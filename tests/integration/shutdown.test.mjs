// shutdown.test.mjs -- SIGTERM leaves rotation before it stops serving: for GLANCE_DRAIN_MS /readyz answers 404
// (HAProxy's disable-on-404: no new work, open feeds kept) while pages, writes and feeds go on as before; then the listener closes, feeds get 1001 and the process exits 0.
// A second signal cuts the drain short.

import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import { startRedis, startApi, openFeed, request, waitUntil, hasChange, cleanup } from './harness.mjs';

const BOTS = 'main:16';
const DRAIN_MS = 2500;
let rds;

before(async () => { rds = await startRedis(); });
after(cleanup);

/** true when a TCP connection to 127.0.0.1:port is accepted within a second. */
function accepts(port) {
  return new Promise((resolve) => {
    const s = net.connect({ host: '127.0.0.1', port });
    const done = (ok) => { s.destroy(); resolve(ok); };
    s.setTimeout(1000, () => done(false));
    s.once('connect', () => done(true));
    s.once('error', () => done(false));
  });
}

describe('SIGTERM with a drain', { timeout: 30000 }, () => {
  let api;
  let feed;
  let signalledAt;
  let exited;

  before(async () => {
    api = await startApi({ redisPort: rds.port, bots: BOTS, env: { GLANCE_DRAIN_MS: DRAIN_MS } });
    feed = await openFeed(api.port);
    await feed.waitFor((m) => m.type === 'hello', 3000, { what: 'hello' });
    exited = api.exited;
    api.kill('SIGTERM');
    signalledAt = Date.now();
  });

  it('answers 404 on /readyz at once, with the reason', async () => {
    await waitUntil(async () => (await request(api.port, 'GET', '/readyz')).status === 404,
      { timeoutMs: 500, intervalMs: 20, message: '/readyz to answer 404' });
    const r = await request(api.port, 'GET', '/readyz');
    assert.equal(r.status, 404);
    assert.match(r.headers['content-type'], /application\/json/);
    assert.match(r.json().error, /shutting down/);
  });

  it('still serves the API, writes and the feed while draining', async () => {
    assert.equal((await request(api.port, 'GET', '/healthz')).status, 200);
    assert.equal((await request(api.port, 'GET', '/api/status')).status, 200);
    const from = feed.mark();
    assert.equal((await request(api.port, 'POST', '/api/status/main/3/4')).status, 204);
    await feed.waitFor((m) => hasChange(m, 'main', 3, 4), 2000, { from, what: 'the write on the open feed' });
    assert.equal(feed.closeInfo, null, 'the feed stays open while draining');
    assert.ok(Date.now() - signalledAt < DRAIN_MS, 'all of this happened within the drain');
  });

  it('then stops accepting, closes the feed with 1001 and exits 0', async () => {
    const close = await feed.waitClose(DRAIN_MS + 5000);
    assert.equal(close.code, 1001, JSON.stringify(close));
    assert.ok(close.at - signalledAt >= DRAIN_MS - 50, `the feed was closed after the drain (${close.at - signalledAt} ms)`);
    const info = await exited;
    assert.equal(info.code, 0, JSON.stringify(info));
    assert.equal(await accepts(api.port), false, 'nothing listens any more');
  });
});

describe('a second SIGTERM during the drain', { timeout: 30000 }, () => {
  it('cuts the drain short', async () => {
    const api = await startApi({ redisPort: rds.port, bots: BOTS, env: { GLANCE_DRAIN_MS: 60000 } });
    api.kill('SIGTERM');
    await waitUntil(async () => (await request(api.port, 'GET', '/readyz')).status === 404,
      { timeoutMs: 1000, intervalMs: 20, message: '/readyz to answer 404' });
    const t0 = Date.now();
    api.kill('SIGTERM');
    const info = await api.exited;
    assert.equal(info.code, 0, JSON.stringify(info));
    assert.ok(Date.now() - t0 < 5000, `exited ${Date.now() - t0} ms after the second signal`);
  });
});
