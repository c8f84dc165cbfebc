// public_reads.test.mjs -- what a flood of public reads costs while a bot's shards keep changing: /plain and
// GET /api/status are rendered at most once every 250 ms however many ask (a request that finds the body out of
// date waits for the next render instead of making its own), every answer is whole, and the last change shows;
// readers that never read hold a bounded amount of the replica's memory, whatever they ask for.

import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import { readFileSync } from 'node:fs';
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
      assert.ok(changes > 20, `only ${changes} changes were made`);
      assert.ok(answered > made, `${answered} answers from ${made} renders`);
      assert.ok(made <= Math.ceil(elapsed / 250) + 2, `${made} renders in ${elapsed} ms for ${answered} answers`);
      const version = Number(await redis(rds.port, 'GET', 'glance:{main}:ver'));
      await waitUntil(async () => (await request(api.port, 'GET', '/api/status')).json().clusters[0].version === version,
        { timeoutMs: 5000, message: `GET /api/status at version ${version}` });
    });
  }

  it('a flood of distinct shards waits in line behind a few reads in flight, and every one is answered for its shard', async () => {
    for (let id = 0; id < 300; id++) assert.equal((await request(api.port, 'POST', `/api/status/main/${id}/${3 + (id % 2)}`)).status, 204);
    const before = metricValue(await getMetrics(api.port), 'glance_reads_queued_total', { read: 'shard' });
    const answers = await Promise.all(Array.from({ length: 300 }, (_, id) => request(api.port, 'GET', `/api/status/main/${id}`)));
    answers.forEach((r, id) => {
      assert.equal(r.status, 200, r.body);
      assert.deepEqual([r.json().shard, r.json().state], [id, 3 + (id % 2)]);
    });
    const queued = metricValue(await getMetrics(api.port), 'glance_reads_queued_total', { read: 'shard' }) - before;
    assert.ok(queued > 0, 'some reads waited in line');
  });

});

describe('readers that never read', { timeout: 60000 }, () => {
  const SHARDS = 20000;
  const MAX_MB = 4;
  let rds;
  let api;
  before(async () => {
    rds = await startRedis();
    api = await startApi({ redisPort: rds.port, bots: `main:${SHARDS}`, healthTimeout: 600,
      env: { GLANCE_READER_BYTES_MAX_MB: MAX_MB } });
    for (let b = 0; b < SHARDS; b += 1000) {
      const shards = Array.from({ length: 1000 }, (_, i) => ({ id: b + i, state: 3 }));
      const r = await request(api.port, 'POST', '/api/clusters/main/report',
        { headers: { 'content-type': 'application/json' }, body: JSON.stringify({ shards }) });
      assert.equal(r.status, 200, r.body);
    }
  });
  after(async () => {
    await api?.stop();
    await rds?.stop();
  });

  it(`hold at most GLANCE_READER_BYTES_MAX_MB (${MAX_MB}) of bodies between them: past it the oldest are closed`, async () => {
    const rss = () => Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${api.pid}/status`, 'utf8'))[1]) / 1024;
    const rss0 = rss();
    let stop = false;
    let n = 0;
    const writer = (async () => {
      while (!stop) {
        assert.equal((await request(api.port, 'POST', `/api/status/main/${n % SHARDS}/${3 + (n % 2)}`)).status, 204);
        n++;
        await sleep(10);
      }
    })();
    const socks = [];
    for (let i = 0; i < 200; i++) {
      const s = net.connect({ host: '127.0.0.1', port: api.port });
      s.on('error', () => {});
      s.on('connect', () => { s.write('GET /plain HTTP/1.1\r\nHost: test\r\n\r\n'); s.pause(); });
      socks.push(s);
      if (i % 20 === 19) await sleep(100);
    }
    await sleep(1000);
    const m = await getMetrics(api.port);
    const grown = rss() - rss0;
    stop = true;
    await writer;
    for (const s of socks) s.destroy();
    const plainBytes = (await request(api.port, 'GET', '/plain')).body.length;
    assert.ok(plainBytes > 500000, `/plain is ${plainBytes} bytes at ${SHARDS} shards`);
    assert.ok(metricValue(m, 'glance_slow_readers_closed_total') > 0, 'some readers were closed');
    assert.ok(metricValue(m, 'glance_reader_bytes') <= MAX_MB * 1048576 + 2 * plainBytes,
      `held ${metricValue(m, 'glance_reader_bytes')} bytes`);
    assert.ok(grown < 64, `RSS grew by ${grown.toFixed(1)} MiB with 200 readers that do not read`);
  });
});
