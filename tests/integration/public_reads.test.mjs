// public_reads.test.mjs -- what a flood of public reads costs while a bot's shards keep changing: /plain and
// GET /api/status are rendered at most once every 250 ms however many ask (a request that finds the body out of
// date waits for the next render instead of making its own), every answer is whole, and the last change shows.

import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startRedis, startApi, request, getMetrics, metricValue, redis, sleep, waitUntil, cleanup } from './harness.mjs';

after(cleanup);

const renders = async (api, body) => metricValue(await getMetrics(api.port), 'glance_bodies_rendered_total', { body });

describe('public reads under a stream of changes', { timeout: 60000 }, () => {
  let rds;
  let api;
  before(async () => {
    rds = await startRedis();
    api = await startApi({ redisPort: rds.port, bots: 'main:2000' });
  });
  after(async () => {
    await api?.stop();
    await rds?.stop();
  });

  for (const [path, body] of [['/api/status', 'status'], ['/plain', 'plain']]) {
    it(`${path}: one render per 250 ms at most while a change comes every 5 ms, and the last change shows`, async () => {
      const before = await renders(api, body);
      let stop = false;
      let changes = 0;
      const writer = (async () => {
        while (!stop) {
          assert.equal((await request(api.port, 'POST', `/api/status/main/${changes % 2000}/${3 + (changes % 2)}`)).status, 204);
          changes++;
          await sleep(5);
        }
      })();
      const started = Date.now();
      let answered = 0;
      const readers = Array.from({ length: 16 }, async () => {
        while (Date.now() - started < 2000) {
          const r = await request(api.port, 'GET', path);
          assert.equal(r.status, 200);
          if (path === '/api/status') assert.equal(r.json().clusters[0].states.length, 2000);
          else assert.match(r.body, /<\/html>\s*$/);
          answered++;
        }
      });
      await Promise.all(readers);
      const elapsed = Date.now() - started;
      stop = true;
      await writer;
      const made = (await renders(api, body)) - before;
      assert.ok(changes > 100, `only ${changes} changes were made`);
      assert.ok(answered > made, `${answered} answers from ${made} renders`);
      assert.ok(made <= Math.ceil(elapsed / 250) + 2, `${made} renders in ${elapsed} ms for ${answered} answers`);
      const version = Number(await redis(rds.port, 'GET', 'glance:{main}:ver'));
      await waitUntil(async () => (await request(api.port, 'GET', '/api/status')).json().clusters[0].version === version,
        { timeoutMs: 2000, message: `GET /api/status at version ${version}` });
    });
  }
});
