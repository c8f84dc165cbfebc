// ws_abuse.test.mjs -- what a hostile feed client can send: bursts of pings and resyncs in one write, frames
// that break the protocol, an oversized message. The replica answers by the protocol, closes the offender
// with the right code, and keeps serving everyone else.

import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startRedis, startApi, openFeed, rawWebSocket, encodeClientTextFrame, request, sleep, cleanup } from '../integration/harness.mjs';
import { proved, stopAll, assertCleanStop, clientFrame, frameReader } from './lib.mjs';

after(async () => { await stopAll(); await cleanup(); });

const frame = clientFrame;
const reader = (socket, rest) => frameReader(socket, rest);

describe('a hostile feed client', { timeout: 30000 }, () => {
  let rds;
  let api;
  let pid;
  let bystander;

  before(async () => {
    rds = await startRedis();
    api = await startApi({ redisPort: rds.port });
    pid = api.pid;
    bystander = await openFeed(api.port);
    await bystander.waitFor((m) => m.type === 'hello', 5000, { what: 'hello' });
  });
  after(() => bystander?.close());

  it('1,000 pings in one write (131 KB): the latest is answered, pongs do not pile up, the replica stays up', async (t) => {
    const { socket, rest } = await rawWebSocket(api.port);
    const r = reader(socket, rest);
    const payloads = Array.from({ length: 1000 }, (_, i) => Buffer.from(String(i).padStart(125, 'a')));
    const last = payloads[payloads.length - 1];
    socket.write(Buffer.concat(payloads.map((p) => frame(0x9, p))));
    const answered = () => r.frames.some((f) => f.opcode === 0xa && f.payload.equals(last));
    for (let i = 0; i < 40 && !answered() && api.alive(); i++) await sleep(50);
    const why = api.stderr().split('\n').filter((l) => /ERROR|SUMMARY/.test(l)).join(' ');
    assert.ok(api.alive(), `the replica died: ${JSON.stringify(api.child.exitInfo)} ${why}`);
    const pongs = r.frames.filter((f) => f.opcode === 0xa);
    assert.ok(answered(), 'the latest ping got its pong');
    const known = new Set(payloads.map((p) => p.toString()));
    assert.ok(pongs.every((p) => known.has(p.payload.toString())), 'every pong echoes one of the pings');
    socket.destroy();
    proved(t, `ws-abuse: a burst of 1,000 pings in one write got ${pongs.length} pongs, the last echoing the latest ping; `
      + 'the replica stayed up');
  });

  it('300 resync requests in one write get a few hellos, not 300 (one unsent hello answers them all)', async (t) => {
    const { socket, rest } = await rawWebSocket(api.port);
    const r = reader(socket, rest);
    socket.write(Buffer.concat(Array.from({ length: 300 }, () => encodeClientTextFrame('{"type":"resync"}'))));
    await sleep(1000); // proving that no more come takes the time it takes
    assert.ok(api.alive(), 'the replica died');
    const hellos = r.frames.filter((f) => f.opcode === 0x1 && f.payload.toString().startsWith('{"type":"hello"')).length;
    // the first hello, and at most the burst of 3 that the resync rate allows
    assert.ok(hellos >= 1 && hellos <= 1 + 3, `${hellos} hellos`);
    socket.destroy();
    proved(t, `ws-abuse: 300 resyncs in one write got ${hellos} hellos (the first included)`);
  });

  for (const [name, bytes, code] of [
    ['an unmasked frame', Buffer.from([0x81, 0x03, 0x61, 0x62, 0x63]), 1002],
    ['reserved bits set', (() => { const f = frame(0x1, Buffer.from('abc')); f[0] |= 0x40; return f; })(), 1002],
    ['a reserved opcode', frame(0x3, Buffer.from('x')), 1002],
    ['a fragmented ping', frame(0x9, Buffer.from('x'), { fin: false }), 1002],
    ['a 126-byte ping', frame(0x9, Buffer.alloc(126)), 1002],
    ['a message over 4 KiB', frame(0x1, Buffer.alloc(0), { claim: 4097 }), 1009],
    ['a length of 2^63', frame(0x2, Buffer.alloc(0), { claim: 2 ** 62 * 2 }), 1009],
  ]) {
    it(`${name} is answered with close ${code}`, async (t) => {
      const { socket, rest } = await rawWebSocket(api.port);
      const r = reader(socket, rest);
      socket.write(bytes);
      for (let i = 0; i < 40 && !r.closed; i++) await sleep(50);
      const close = r.frames.find((f) => f.opcode === 0x8);
      assert.ok(close, 'a close frame');
      assert.equal(close.payload.readUInt16BE(0), code);
      assert.ok(r.closed, 'the connection was closed');
      proved(t, `ws-abuse: ${name} -> close ${code} "${close.payload.subarray(2).toString()}"`);
    });
  }

  it('the other clients and the replica carried on', async () => {
    assert.equal(api.pid, pid);
    const mark = bystander.mark();
    assert.equal((await request(api.port, 'POST', '/api/status/main/3/3')).status, 204);
    await bystander.waitFor((m) => m.type === 'update', 3000, { from: mark, what: 'an update' });
  });

  it('shuts down cleanly after it all (exit 0; leak-free under ASan)', async () => {
    await assertCleanStop([api]);
  });
});
