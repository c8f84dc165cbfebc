// hostile_feed.test.mjs -- what a feed client can cost the replica by asking, and how it must speak.
//
// A resync is answered with a whole hello (here ~100 KB), so asking is bounded: a client has at most one
// unsent hello, which answers every resync that arrives meanwhile; beyond that it may ask for a burst of 3,
// then one every 2 s; one asking faster is closed with 1008 and counted in glance_feed_resyncs_refused_total.
// (A client keeping 40 resyncs outstanding used to get 40 hellos per round: 875 times what it sent.)
// Frames follow RFC 6455: text that is not UTF-8 is closed with 1007, a continuation with no message
// started with 1002, and a message sent in fragments is accepted.

import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import {
  startRedis, startApi, openFeed, rawWebSocket, encodeClientTextFrame, request, sleep, waitUntil, getMetrics,
  metricValue, hasChange, cleanup,
} from '../integration/harness.mjs';
import { proved, stopAll, assertCleanStop, clientFrame, frameReader } from './lib.mjs';

const SHARDS = 100000; // one digit a shard: a hello of ~100 KB
const BURST = 3;
const REFILL_MS = 2000;

after(async () => { await stopAll(); await cleanup(); });

const frame = clientFrame;
const reader = (socket, rest) => frameReader(socket, rest, { paused: true });

const isHello = (f) => f.opcode === 0x1 && f.payload.subarray(0, 16).toString() === '{"type":"hello",';
const closeCode = (r) => { const c = r.frames.find((f) => f.opcode === 0x8); return c && c.payload.length >= 2 ? c.payload.readUInt16BE(0) : undefined; };

describe('a feed client that asks for too much or breaks the framing rules', { timeout: 60000 }, () => {
  let rds;
  let api;
  let pid;
  let bystander;
  let helloLen;

  before(async () => {
    rds = await startRedis();
    api = await startApi({ redisPort: rds.port, bots: `main:${SHARDS};demo:1` });
    pid = api.pid;
    // the size of a hello frame, as the replica counts the bytes it sends
    const { socket, rest } = await rawWebSocket(api.port);
    const r = reader(socket, rest);
    r.resume();
    const hello = await waitUntil(() => r.frames.find(isHello), { timeoutMs: 5000, intervalMs: 20, message: 'the first hello' });
    socket.destroy();
    const len = hello.payload.length;
    helloLen = len + (len > 65535 ? 10 : len > 125 ? 4 : 2);
  });
  after(() => bystander?.close());

  it('a client keeping 40 resyncs outstanding for 3 s without reading costs at most 1 + 3 hellos (and one every 2 s)',
    async (t) => {
      const m0 = await getMetrics(api.port);
      const started = Date.now();
      const { socket } = await rawWebSocket(api.port);
      let closed = false;
      let error = null;
      let batches = 0;
      let elapsed;
      let closedByReplica = false;
      socket.pause(); // never read
      socket.on('error', (e) => { error = e.code || e.message; });
      socket.on('close', () => { closed = true; });
      const batch = Buffer.concat(Array.from({ length: 40 }, () => encodeClientTextFrame('{"type":"resync"}')));
      const ask = () => { if (!socket.destroyed) { socket.write(batch); batches += 1; } };
      const timer = setInterval(ask, 100); // 40 outstanding again and again: 400 resyncs a second
      try {
        ask();
        // whether the replica's writes stall (then its one unsent hello answers every resync) or the kernel takes
        // them (then the client runs out of resyncs and is closed) depends on the socket buffers: both are bounded
        await waitUntil(() => closed || Date.now() - started >= 3000, { timeoutMs: 4000, intervalMs: 20, message: '3 s to pass' });
        clearInterval(timer);
        await sleep(300); // a close decided at the last moment is counted by now
        elapsed = Date.now() - started;
        closedByReplica = closed;
      } finally {
        clearInterval(timer);
        socket.destroy();
      }
      const m1 = await getMetrics(api.port);
      const refused = metricValue(m1, 'glance_feed_resyncs_refused_total') - (metricValue(m0, 'glance_feed_resyncs_refused_total') ?? 0);
      const sent = metricValue(m1, 'glance_feed_bytes_sent_total') - metricValue(m0, 'glance_feed_bytes_sent_total');
      const dropped = metricValue(m1, 'glance_feed_clients_dropped_total') - metricValue(m0, 'glance_feed_clients_dropped_total');
      const allowed = 1 + BURST + Math.floor(elapsed / REFILL_MS);
      assert.ok(sent <= allowed * helloLen + 4096, `the replica sent ${sent} bytes: more than ${allowed} hellos of ${helloLen}`);
      assert.equal(dropped, 0, 'not dropped for a backlog of hellos: no backlog builds');
      assert.ok(refused === 0 || refused === 1, `glance_feed_resyncs_refused_total +${refused}`);
      if (closedByReplica) assert.equal(refused, 1, 'closed by the replica: counted as refused');
      // a close frame is not read here: the replica closes with the client's unread resyncs in its socket, which
      // resets the connection
      proved(t, `hostile-feed: ${batches} rounds of 40 resyncs (${batches * 40} in all) in ${elapsed} ms without reading -> `
        + `glance_feed_bytes_sent_total +${sent} bytes = ${(sent / helloLen).toFixed(2)} hellos of ${helloLen} (at most ${allowed}), `
        + `where one round of 40 used to be answered with 40 x ${helloLen} = ${40 * helloLen} bytes; `
        + `${closedByReplica ? `closed by the replica (${error || 'FIN'}), ` : 'still open (its hello unsent), '}`
        + `glance_feed_resyncs_refused_total +${refused}`);
    });

  it('a client asking again as soon as each hello arrives gets 1 + 3 hellos, then a close frame with 1008', async (t) => {
    const m0 = await getMetrics(api.port);
    const started = Date.now();
    const { socket, rest } = await rawWebSocket(api.port);
    const r = reader(socket, rest);
    let asked = 0;
    let answered = 0;
    const resync = encodeClientTextFrame('{"type":"resync"}');
    const timer = setInterval(() => {
      const hellos = r.frames.filter(isHello).length;
      if (hellos > answered && !r.closed && !socket.destroyed) { answered = hellos; asked += 1; socket.write(resync); }
    }, 5);
    r.resume();
    try {
      await waitUntil(() => r.closed, { timeoutMs: 5000, intervalMs: 20, message: 'the replica to close the client' });
    } finally {
      clearInterval(timer);
      socket.destroy();
    }
    const elapsed = Date.now() - started;
    const m1 = await getMetrics(api.port);
    const hellos = r.frames.filter(isHello);
    assert.ok(hellos.length <= 1 + BURST + Math.floor(elapsed / REFILL_MS), `${hellos.length} hellos in ${elapsed} ms`);
    assert.ok(hellos.length >= 1 + BURST, `only ${hellos.length} hellos: the burst of ${BURST} was not served`);
    assert.equal(closeCode(r), 1008, `closed with ${closeCode(r)}; frames: ${r.frames.map((f) => f.opcode).join(',')}`);
    assert.equal(metricValue(m1, 'glance_feed_resyncs_refused_total') - (metricValue(m0, 'glance_feed_resyncs_refused_total') ?? 0), 1);
    const reason = r.frames.find((f) => f.opcode === 0x8).payload.subarray(2).toString();
    proved(t, `hostile-feed: ${asked} resyncs, each sent when the previous hello arrived -> ${hellos.length} hellos, `
      + `then close 1008 "${reason}" after ${elapsed} ms`);
  });

  it('a page asking for a burst of 3 resyncs, then one every 2.5 s, is served every time and never closed', async (t) => {
    const m0 = await getMetrics(api.port);
    const feed = await openFeed(api.port);
    await feed.waitFor((m) => m.type === 'hello', 5000, { what: 'the first hello' });
    const served = [];
    for (let i = 0; i < 3 + 3; i++) {
      if (i >= 3) await sleep(2500);
      const mark = feed.mark();
      const asked = Date.now();
      feed.send({ type: 'resync' });
      const hello = await feed.waitFor((m) => m.type === 'hello', 5000, { from: mark, what: `the hello for resync ${i + 1}` });
      served.push(hello.receivedAt - asked);
    }
    await sleep(200);
    assert.equal(feed.closeInfo, null, `closed: ${JSON.stringify(feed.closeInfo)}`);
    const m1 = await getMetrics(api.port);
    assert.equal(metricValue(m1, 'glance_feed_resyncs_refused_total') - metricValue(m0, 'glance_feed_resyncs_refused_total'), 0);
    feed.close();
    proved(t, `hostile-feed: 3 resyncs at once and 3 more 2.5 s apart -> 6 hellos (answered in ${served.join(', ')} ms), `
      + 'never closed, none refused');
  });

  for (const [name, bytes] of [
    ['a byte that is never UTF-8 (0xff)', Buffer.from([0x7b, 0xff, 0x7d])],
    ['an overlong NUL (C0 80)', Buffer.concat([Buffer.from('{"type":"resync"'), Buffer.from([0xc0, 0x80]), Buffer.from('}')])],
    ['a surrogate (ED A0 80)', Buffer.from([0x22, 0xed, 0xa0, 0x80, 0x22])],
    ['a truncated sequence (E2 82)', Buffer.from([0x61, 0xe2, 0x82])],
  ]) {
    it(`a text frame holding ${name} is closed with 1007`, async (t) => {
      const { socket, rest } = await rawWebSocket(api.port);
      const r = reader(socket, rest);
      r.resume();
      socket.write(frame(0x1, bytes));
      await waitUntil(() => r.closed, { timeoutMs: 3000, intervalMs: 20, message: 'the close' }).catch(() => {});
      socket.destroy();
      assert.equal(closeCode(r), 1007, `closed with ${closeCode(r)}`);
      proved(t, `hostile-feed: text with ${name} -> close ${closeCode(r)} "${r.frames.find((f) => f.opcode === 0x8).payload.subarray(2)}"`);
    });
  }

  for (const [name, frames] of [
    ['a continuation frame with no message started', [frame(0x0, Buffer.from('x'))]],
    ['a new text frame while a fragmented message is unfinished', [frame(0x1, Buffer.from('{"type":'), { fin: false }), frame(0x1, Buffer.from('{}'))]],
  ]) {
    it(`${name} is closed with 1002`, async (t) => {
      const { socket, rest } = await rawWebSocket(api.port);
      const r = reader(socket, rest);
      r.resume();
      socket.write(Buffer.concat(frames));
      await waitUntil(() => r.closed, { timeoutMs: 3000, intervalMs: 20, message: 'the close' }).catch(() => {});
      socket.destroy();
      assert.equal(closeCode(r), 1002, `closed with ${closeCode(r)}`);
      proved(t, `hostile-feed: ${name} -> close ${closeCode(r)} "${r.frames.find((f) => f.opcode === 0x8).payload.subarray(2)}"`);
    });
  }

  it('a text message in fragments, with a ping between them, is accepted: the ping is answered and nothing is closed', async (t) => {
    const { socket, rest } = await rawWebSocket(api.port);
    const r = reader(socket, rest);
    r.resume();
    const payload = Buffer.from('are you there');
    const second = Buffer.from('still here');
    let pong;
    try {
      socket.write(Buffer.concat([
        frame(0x1, Buffer.from('{"type":'), { fin: false }),
        frame(0x9, payload), // a control frame may come between fragments
        frame(0x0, Buffer.from('"note",'), { fin: false }),
        frame(0x0, Buffer.from('"text":"d\u00e9j\u00e0 vu"}')), // UTF-8 across the last fragment
      ]));
      pong = await waitUntil(() => r.frames.find((f) => f.opcode === 0xa), { timeoutMs: 3000, intervalMs: 20, message: 'the pong' });
      // and after the message, the connection still takes the next one
      socket.write(frame(0x9, second));
      await waitUntil(() => r.frames.some((f) => f.opcode === 0xa && f.payload.equals(second)),
        { timeoutMs: 3000, intervalMs: 20, message: 'the second pong' });
      await sleep(200);
    } finally {
      socket.destroy();
    }
    assert.ok(pong.payload.equals(payload), 'the pong echoes the ping');
    assert.equal(closeCode(r), undefined, 'a close frame came');
    proved(t, 'hostile-feed: a text message in 3 fragments with a ping between the first two -> the ping answered, '
      + 'a later ping answered, no close');
  });

  it('the other clients and the replica carried on', async () => {
    assert.equal(api.pid, pid);
    bystander = await openFeed(api.port);
    await bystander.waitFor((m) => m.type === 'hello', 5000, { what: 'hello' });
    const mark = bystander.mark();
    assert.equal((await request(api.port, 'POST', '/api/status/main/3/3')).status, 204);
    await bystander.waitFor((m) => hasChange(m, 'main', 3, 3), 3000, { from: mark, what: 'the update for main 3' });
  });

  it('shuts down cleanly after it all (exit 0; leak-free under ASan)', async () => {
    bystander?.close();
    await assertCleanStop([api]);
  });
});
