// deflate.test.mjs -- permessage-deflate on the feed (RFC 7692; issue 17, item 1) against real Redis and a real
// replica, read byte by byte from raw sockets: a client that offers it gets the extension with
// server_no_context_takeover, the hello and updates compressed (RSV1) that inflate alone to exactly what a
// client without it gets from the same replica at the same time; compressed messages from the client are read;
// what cannot be honoured is declined; bad compressed data closes with 1007.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import zlib from 'node:zlib';
import crypto from 'node:crypto';
import WebSocket from 'ws';
import { cleanup, getMetrics, metricValue, rawWebSocket, redis, request, startApi, startRedis, statesKey, waitUntil } from './harness.mjs';

const SHARDS = 100000;
const OFFER = 'permessage-deflate; client_max_window_bits';
const TAIL = Buffer.from([0x00, 0x00, 0xff, 0xff]);

/** Reads whole frames from a raw socket: next() resolves {fin, rsv1, opcode, payload}. */
function frameReader({ socket, rest }, timeoutMs = 5000) {
  let buf = rest;
  const waiting = [];
  const pump = () => {
    while (waiting.length > 0 && buf.length >= 2) {
      let len = buf[1] & 0x7f;
      let head = 2;
      if (len === 126) { if (buf.length < 4) return; len = buf.readUInt16BE(2); head = 4; }
      if (len === 127) { if (buf.length < 10) return; len = Number(buf.readBigUInt64BE(2)); head = 10; }
      if (buf.length < head + len) return;
      const frame = { fin: (buf[0] & 0x80) !== 0, rsv1: (buf[0] & 0x40) !== 0, opcode: buf[0] & 0x0f, size: head + len, payload: buf.subarray(head, head + len) };
      buf = buf.subarray(head + len);
      waiting.shift().resolve(frame);
    }
  };
  socket.on('data', (d) => { buf = Buffer.concat([buf, d]); pump(); });
  socket.resume();
  return {
    next() {
      return new Promise((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error('no frame within time')), timeoutMs);
        waiting.push({ resolve: (f) => { clearTimeout(timer); resolve(f); } });
        pump();
      });
    },
    /** The next data frame, control frames (pings) skipped. */
    async nextData() {
      for (;;) { const f = await this.next(); if (f.opcode === 1 || f.opcode === 2) return f; if (f.opcode === 8) return f; }
    },
  };
}

/** What a client reads from a frame: the payload, inflated when RSV1 says it is compressed. */
const text = (f) => (f.rsv1
  ? zlib.inflateRawSync(Buffer.concat([f.payload, TAIL]), { finishFlush: zlib.constants.Z_SYNC_FLUSH }) : f.payload).toString('utf8');

/** A masked client frame; `compress` sends it as permessage-deflate does (RSV1, sync flush, tail off). */
function clientFrame(payload, { opcode = 1, compress = false, raw = null } = {}) {
  let body = raw ?? Buffer.from(payload, 'utf8');
  if (compress && raw === null) {
    body = zlib.deflateRawSync(body, { finishFlush: zlib.constants.Z_SYNC_FLUSH });
    body = body.subarray(0, body.length - 4);
  }
  const mask = crypto.randomBytes(4);
  const head = Buffer.from([0x80 | (compress ? 0x40 : 0) | opcode, 0x80 | body.length]);
  const masked = Buffer.from(body.map((b, i) => b ^ mask[i & 3]));
  return Buffer.concat([head, mask, masked]);
}

const extensionsOf = (response) => (/^sec-websocket-extensions: (.*)$/im.exec(response) || [])[1]?.trim() ?? null;

describe('permessage-deflate', () => {
  let rds;
  let api;

  before(async () => {
    rds = await startRedis();
    // a big bot, written straight into Redis: mostly online (each with a health key, or the sweep would rightly
    // expire them during the test), every 97th shard unhealthy
    const states = Buffer.alloc(SHARDS, '3');
    for (let i = 0; i < SHARDS; i += 97) states[i] = 0x31;
    await redis(rds.port, 'SET', statesKey('main'), states.toString('latin1'));
    await redis(rds.port, 'EVAL', `for i = 0, tonumber(ARGV[1]) - 1 do
      redis.call('SET', 'glance:{main}:hb:' .. i, '1', 'PX', 600000) end`, '0', String(SHARDS));
    api = await startApi({ redisPort: rds.port, bots: `main:${SHARDS};eu:360` });
  });
  after(cleanup);

  it('negotiates it, and compresses the hello once to what a plain client gets', async (t) => {
    const plain = await rawWebSocket(api.port);
    const deflate = await rawWebSocket(api.port, { extensions: OFFER });
    assert.equal(extensionsOf(plain.response), null);
    assert.equal(extensionsOf(deflate.response), 'permessage-deflate; server_no_context_takeover; client_no_context_takeover');
    const [p, d] = [await frameReader(plain).nextData(), await frameReader(deflate).nextData()];
    assert.equal(p.rsv1, false);
    assert.equal(d.rsv1, true, 'the hello is compressed');
    assert.equal(d.fin, true);
    assert.equal(text(d), text(p), 'inflated alone, the same bytes');
    assert.equal(JSON.parse(text(p)).type, 'hello');
    t.diagnostic(`hello at ${SHARDS} + 360 shards: ${p.size} bytes plain, ${d.size} compressed (${(p.size / d.size).toFixed(1)}×)`);
    assert.ok(d.size * 10 < p.size, `an order of magnitude smaller: ${d.size} of ${p.size}`);
    const m = await getMetrics(api.port);
    assert.equal(metricValue(m, 'glance_feed_clients_deflate'), 1);
    assert.equal(metricValue(m, 'glance_feed_hellos_encoded_total'), 1, 'one hello encoded for both');
    plain.socket.destroy();
    deflate.socket.destroy();
  });

  it('sends updates compressed to one client and plain to another at the same time', async () => {
    const plain = await rawWebSocket(api.port);
    const deflate = await rawWebSocket(api.port, { extensions: OFFER });
    const rp = frameReader(plain);
    const rd = frameReader(deflate);
    await rp.nextData();
    await rd.nextData();
    // one small change (sent as it is: compression would not shrink it), then many in one interval
    assert.equal((await request(api.port, 'POST', '/api/status/eu/3/2')).status, 204);
    const [p1, d1] = [await rp.nextData(), await rd.nextData()];
    assert.equal(text(d1), text(p1));
    const posts = [];
    for (let id = 0; id < 360; id += 1) posts.push(request(api.port, 'POST', `/api/status/eu/${id}/5`));
    await Promise.all(posts);
    let sawCompressed = false;
    const changed = new Set();
    for (let i = 0; i < 50 && changed.size < 360; i += 1) { // bounded: 360 changes come in a few updates
      const [p, d] = [await rp.nextData(), await rd.nextData()];
      assert.equal(text(d), text(p), 'every update the same once inflated');
      assert.equal(p.rsv1, false);
      if (d.rsv1) { sawCompressed = true; assert.ok(d.size < p.size); }
      for (const [shard, state] of JSON.parse(text(p)).clusters.find((c) => c.name === 'eu')?.changes ?? []) {
        if (state === 5) changed.add(shard);
      }
    }
    assert.equal(changed.size, 360);
    assert.ok(sawCompressed, 'a large update went compressed');
    plain.socket.destroy();
    deflate.socket.destroy();
  });

  it('reads a compressed resync request, and closes with 1007 on data that does not inflate', async () => {
    const c = await rawWebSocket(api.port, { extensions: OFFER });
    const r = frameReader(c);
    await r.nextData();
    c.socket.write(clientFrame('{"type":"resync"}', { compress: true }));
    const again = await r.nextData();
    assert.equal(JSON.parse(text(again)).type, 'hello', 'a compressed resync is answered with a hello');
    c.socket.write(clientFrame(null, { compress: true, raw: Buffer.from([0xff, 0xff, 0xff]) }));
    const close = await r.nextData();
    assert.equal(close.opcode, 8);
    assert.equal(close.payload.readUInt16BE(0), 1007);
  });

  it('closes with 1002 a client that compresses without having taken the extension, or marks a control frame', async () => {
    for (const [extensions, frame] of [
      [null, clientFrame('{"type":"resync"}', { compress: true })],
      [OFFER, clientFrame('', { opcode: 9, compress: true })],
    ]) {
      const c = await rawWebSocket(api.port, extensions ? { extensions } : {});
      const r = frameReader(c);
      await r.nextData();
      c.socket.write(frame);
      const close = await r.nextData();
      assert.equal(close.opcode, 8);
      assert.equal(close.payload.readUInt16BE(0), 1002);
    }
  });

  it('declines an offer it cannot honour, and the client gets plain frames', async () => {
    const c = await rawWebSocket(api.port, { extensions: 'permessage-deflate; server_max_window_bits=10' });
    assert.equal(extensionsOf(c.response), null);
    const f = await frameReader(c).nextData();
    assert.equal(f.rsv1, false);
    assert.equal(JSON.parse(text(f)).type, 'hello');
    c.socket.destroy();
  });

  it('works with a real client library that negotiates it (ws)', async () => {
    const ws = new WebSocket(`ws://127.0.0.1:${api.port}/api/feed`, { perMessageDeflate: true, maxPayload: 64 * 1024 * 1024 });
    const hello = await new Promise((resolve, reject) => {
      ws.once('message', (d) => resolve(JSON.parse(d.toString('utf8'))));
      ws.once('error', reject);
    });
    assert.equal(ws.extensions, 'permessage-deflate');
    assert.equal(hello.clusters[0].states.length, SHARDS);
    assert.equal(hello.clusters[0].states.slice(0, 3), '133');
    // and what it sends (compressed or not, as it likes) is read: a resync gets a hello
    const second = new Promise((resolve) => ws.once('message', (d) => resolve(JSON.parse(d.toString('utf8')))));
    ws.send(JSON.stringify({ type: 'resync', pad: 'x'.repeat(2000) })); // over ws's threshold: sent compressed
    assert.equal((await second).type, 'hello');
    ws.terminate();
    await waitUntil(async () => metricValue(await getMetrics(api.port), 'glance_feed_clients') === 0,
      { message: 'every feed client gone' });
  });
});
