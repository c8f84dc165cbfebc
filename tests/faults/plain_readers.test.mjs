// plain_readers.test.mjs -- readers that ask for a big page and never read it cost the replica one shared
// copy, not one each: /plain and /api/status are rendered once per version and sent by reference. Before,
// ten connections asking for /plain at 1,000,000 shards (a 60 MB page) without reading grew the replica by
// 1,141 MiB, held for as long as they stayed.

import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import { startRedis, startApi, request, sleep, getMetrics, metricValue, cleanup } from '../integration/harness.mjs';
import { proved, stopAll, rssKiB, sanitized, assertCleanStop } from './lib.mjs';

const SHARDS = 1000000;
const READERS = 10;

after(async () => { await stopAll(); await cleanup(); });

describe(`${READERS} connections asking for /plain at ${SHARDS} shards and never reading`, { timeout: 60000 }, () => {
  let api;
  let pageBytes;
  let rss0;
  let rss1;
  let renders;
  const sockets = [];

  before(async () => {
    const rds = await startRedis();
    api = await startApi({ redisPort: rds.port, bots: `main:${SHARDS}` });
    pageBytes = (await request(api.port, 'GET', '/plain', { timeoutMs: 20000 })).body.length;
    rss0 = rssKiB(api.pid);
    for (let i = 0; i < READERS; i++) {
      const s = net.connect({ host: '127.0.0.1', port: api.port }, () => {
        s.write(`GET /plain HTTP/1.1\r\nHost: x\r\n\r\nGET /api/status HTTP/1.1\r\nHost: x\r\n\r\n`);
        s.pause(); // and never read
      });
      s.on('error', () => {});
      sockets.push(s);
    }
    await sleep(2000);
    rss1 = rssKiB(api.pid);
    renders = metricValue(await getMetrics(api.port), 'glance_bodies_rendered_total', { body: 'plain' });
  });
  after(() => { for (const s of sockets) s.destroy(); });

  it('the page was rendered once for all of them', () => {
    assert.equal(renders, 1);
  });

  it('the replica grows by far less than a page per reader', (t) => {
    const grewMiB = (rss1 - rss0) / 1024;
    const pageMiB = pageBytes / 1048576;
    proved(t, `plain-readers: ${READERS} non-reading readers of a ${pageMiB.toFixed(1)} MiB page: RSS +${grewMiB.toFixed(1)} MiB`);
    if (!sanitized(api.pid)) assert.ok(grewMiB < 2 * pageMiB, `RSS grew ${grewMiB.toFixed(1)} MiB`);
  });

  it('shuts down cleanly (exit 0; leak-free under ASan)', async () => {
    for (const s of sockets) s.destroy();
    await assertCleanStop([api]);
  });
});
