// hostile_http.test.mjs -- what a hostile HTTP client can send one replica on its own (the default host is
// 0.0.0.0, so a replica may be reached without the load balancer): requests framed two ways at once, with a
// second request hidden behind the body (request smuggling); control bytes in static paths; cleartext HTTP/2,
// whose streams let one connection ask for far more than it reads. Every answer carries nosniff.
//
// What must hold: an ambiguously framed request gets one JSON 400 and its connection is closed, so nothing
// behind it runs; ordinary pipelining still works; a control byte in a path is a 400, never a file; HTTP/2 in
// cleartext is off (neither an h2c upgrade nor the prior-knowledge preface starts it), and 5 connections asking
// for 100 streams of /plain each cost no memory.

import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import {
  startRedis, startApi, request, shardState, sleep, waitUntil, cleanup, REPO_ROOT,
} from '../integration/harness.mjs';
import { rssKiB, sanitized, proved, stopAll, assertCleanStop } from './lib.mjs';

const SHARDS = 20000; // /plain at 20,000 shards: the size the HTTP/2 pile-up was measured at (issue 11)
const H2_CONNECTIONS = 5;
const H2_STREAMS = 100; // h2o's SETTINGS_MAX_CONCURRENT_STREAMS
const H2_BOUND_MIB = 32;

after(async () => { await stopAll(); await cleanup(); });

/** Parses the HTTP/1 responses in buf, in order: [{status, headers, body}]; stops at a 101 or at a cut-off response. */
function parseResponses(buf) {
  const out = [];
  let off = 0;
  while (off < buf.length) {
    const end = buf.indexOf('\r\n\r\n', off);
    if (end < 0) break;
    const head = buf.subarray(off, end).toString('latin1');
    const status = Number((/^HTTP\/1\.[01] (\d{3})/.exec(head) || [])[1] || 0);
    const headers = {};
    for (const line of head.split('\r\n').slice(1)) {
      const i = line.indexOf(':');
      if (i > 0) headers[line.slice(0, i).trim().toLowerCase()] = line.slice(i + 1).trim();
    }
    let bodyStart = end + 4;
    let body;
    if (status === 101 || status === 0) {
      out.push({ status, headers, body: '', rest: buf.subarray(bodyStart) });
      break;
    }
    if (status === 204 || status === 304) {
      body = Buffer.alloc(0);
      off = bodyStart;
    } else if (headers['content-length'] !== undefined) {
      const len = Number(headers['content-length']);
      if (buf.length < bodyStart + len) break;
      body = buf.subarray(bodyStart, bodyStart + len);
      off = bodyStart + len;
    } else if (/chunked/i.test(headers['transfer-encoding'] || '')) {
      const parts = [];
      for (;;) {
        const eol = buf.indexOf('\r\n', bodyStart);
        if (eol < 0) return out;
        const size = parseInt(buf.subarray(bodyStart, eol).toString('latin1'), 16);
        if (size === 0) { off = eol + 4; break; }
        parts.push(buf.subarray(eol + 2, eol + 2 + size));
        bodyStart = eol + 2 + size + 2;
      }
      body = Buffer.concat(parts);
    } else {
      body = buf.subarray(bodyStart); // a response without a length ends with the connection
      off = buf.length;
    }
    out.push({ status, headers, body: body.toString('utf8') });
  }
  return out;
}

/**
 * Writes `bytes` on a fresh connection and reads until the replica closes it or timeoutMs passes.
 * Resolves {buf, closed (by the replica), responses, ms}.
 */
function exchange(port, bytes, { timeoutMs = 3000 } = {}) {
  return new Promise((resolve) => {
    const started = Date.now();
    const sock = net.connect({ host: '127.0.0.1', port });
    const chunks = [];
    let closed = false;
    let done = false;
    const finish = () => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      sock.destroy();
      const buf = Buffer.concat(chunks);
      resolve({ buf, closed, responses: parseResponses(buf), ms: Date.now() - started });
    };
    const timer = setTimeout(finish, timeoutMs);
    sock.setNoDelay(true);
    sock.on('connect', () => sock.write(bytes));
    sock.on('data', (d) => chunks.push(d));
    sock.on('end', () => { closed = true; finish(); });
    sock.on('close', () => { closed = true; finish(); });
    sock.on('error', () => {});
  });
}

function assertJson400(r, what) {
  assert.equal(r.status, 400, `${what}: ${r.status} ${r.body.slice(0, 200)}`);
  assert.match(r.headers['content-type'] || '', /^application\/json/, what);
  assert.equal(typeof JSON.parse(r.body).error, 'string', what);
}

const post = (p, extra = '') => `POST ${p} HTTP/1.1\r\nHost: x\r\n${extra}`;

// ------------------------------------------------------------------------------------------------ HTTP/2

/** One HTTP/2 frame. */
function h2frame(type, flags, streamId, payload = Buffer.alloc(0)) {
  const head = Buffer.alloc(9);
  head.writeUIntBE(payload.length, 0, 3);
  head[3] = type;
  head[4] = flags;
  head.writeUInt32BE(streamId, 5);
  return Buffer.concat([head, payload]);
}

const H2_PREFACE = Buffer.from('PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n', 'latin1');

/** HPACK for GET http://x/plain, literals only (no Huffman, no dynamic table). */
function h2GetPlain() {
  const lit = (index, value) => Buffer.concat([Buffer.from([index, value.length]), Buffer.from(value, 'latin1')]);
  return Buffer.concat([Buffer.from([0x82, 0x86]), lit(0x04, '/plain'), lit(0x01, 'x')]); // :method GET, :scheme http
}

/** The preface, SETTINGS with a flow-control window of 0 (nothing may be sent to us), then `streams` GET /plain. */
function h2Flood(streams) {
  const settings = Buffer.alloc(6);
  settings.writeUInt16BE(0x4, 0); // SETTINGS_INITIAL_WINDOW_SIZE
  settings.writeUInt32BE(0, 2);
  const frames = [H2_PREFACE, h2frame(0x4, 0, 0, settings)];
  const block = h2GetPlain();
  for (let i = 0; i < streams; i++) frames.push(h2frame(0x1, 0x4 | 0x1, 1 + 2 * i, block)); // END_HEADERS | END_STREAM
  return Buffer.concat(frames);
}

/** true when buf starts with an HTTP/2 SETTINGS frame (the server's first frame of an HTTP/2 connection). */
const startsWithSettings = (buf) => buf.length >= 9 && buf[3] === 0x4 && buf.readUInt32BE(5) === 0;

describe('a hostile HTTP client against one replica', { timeout: 90000 }, () => {
  let rds;
  let api;
  let pid;

  before(async () => {
    rds = await startRedis();
    api = await startApi({ redisPort: rds.port, bots: `main:${SHARDS};demo:1` });
    pid = api.pid;
  });

  it('Content-Length with Transfer-Encoding (either order): one JSON 400, Connection: close, the connection closed, '
    + 'and the request hidden behind the body never runs', async (t) => {
    const seen = [];
    for (const [order, outer, hiddenShard] of [['CL then TE', 4, 5], ['TE then CL', 14, 15]]) {
      const hidden = `${post(`/api/status/main/${hiddenShard}/3`)}Content-Length: 0\r\n\r\n`;
      const body = `0\r\n\r\n${hidden}`; // a proxy reading Content-Length sees one request; chunked ends after "0"
      const framing = order === 'CL then TE'
        ? `Content-Length: ${body.length}\r\nTransfer-Encoding: chunked\r\n`
        : `Transfer-Encoding: chunked\r\nContent-Length: ${body.length}\r\n`;
      const r = await exchange(api.port, `${post(`/api/status/main/${outer}/3`, framing)}\r\n${body}`);
      assert.equal(r.responses.length, 1, `${order}: ${r.responses.length} responses: ${r.buf.toString('latin1').slice(0, 600)}`);
      assertJson400(r.responses[0], order);
      assert.equal(r.responses[0].headers.connection, 'close', `${order}: Connection header`);
      assert.ok(r.closed, `${order}: the replica closed the connection`);
      assert.equal(r.responses[0].headers['x-content-type-options'], 'nosniff');
      seen.push(`${order} -> ${r.responses[0].status} ${r.responses[0].body} (Connection: close, closed after ${r.ms} ms)`);
    }
    await sleep(200); // a request that did slip through would have reached Redis by now
    for (const shard of [4, 5, 14, 15]) assert.equal(await shardState(rds.port, 'main', shard), '', `main/${shard} was written`);
    proved(t, `hostile-http: ${seen.join('; ')}; shards 4, 5, 14, 15 never reported (neither the request nor the one hidden behind it ran)`);
  });

  it('two different Content-Length values: one JSON 400, the connection closed, the hidden request never runs', async (t) => {
    const hidden = `${post('/api/status/main/25/3')}Content-Length: 0\r\n\r\n`;
    const a = await exchange(api.port, `${post('/api/status/main/24/3', `Content-Length: 0\r\nContent-Length: ${hidden.length}\r\n`)}\r\n${hidden}`);
    assert.equal(a.responses.length, 1, `${a.responses.length} responses: ${a.buf.toString('latin1').slice(0, 600)}`);
    assertJson400(a.responses[0], '0 then N');
    assert.equal(a.responses[0].headers.connection, 'close');
    assert.ok(a.closed, 'the replica closed the connection');
    const b = await exchange(api.port, `${post('/api/status/main/26/3', `Content-Length: ${hidden.length}\r\nContent-Length: 0\r\n`)}\r\n${hidden}`);
    assert.equal(b.responses.length, 1);
    assertJson400(b.responses[0], 'N then 0');
    assert.ok(b.closed, 'the replica closed the connection');
    await sleep(200);
    for (const shard of [24, 25, 26]) assert.equal(await shardState(rds.port, 'main', shard), '', `main/${shard} was written`);
    proved(t, `hostile-http: Content-Length 0 and ${hidden.length} (either order) -> ${a.responses[0].status} ${a.responses[0].body}, `
      + 'connection closed; shards 24, 25, 26 never reported');
  });

  it('the same with lines that end in a bare LF (h2o accepts them): one 400, closed, nothing hidden runs', async (t) => {
    const lf = (text) => text.replace(/\r\n/g, '\n');
    const hiddenA = lf(`${post('/api/status/main/35/3')}Content-Length: 0\r\n\r\n`);
    const bodyA = `0\n\n${hiddenA}`;
    const a = await exchange(api.port, lf(`${post('/api/status/main/34/3', `Content-Length: ${bodyA.length}\r\nTransfer-Encoding: chunked\r\n`)}\r\n`) + bodyA);
    assert.equal(a.responses.length, 1, `${a.responses.length} responses: ${a.buf.toString('latin1').slice(0, 600)}`);
    assertJson400(a.responses[0], 'LF, CL and TE');
    assert.ok(a.closed, 'the replica closed the connection');
    const hiddenB = lf(`${post('/api/status/main/37/3')}Content-Length: 0\r\n\r\n`);
    const b = await exchange(api.port, lf(`${post('/api/status/main/36/3', `Content-Length: 0\r\nContent-Length: ${hiddenB.length}\r\n`)}\r\n`) + hiddenB);
    assert.equal(b.responses.length, 1, `${b.responses.length} responses: ${b.buf.toString('latin1').slice(0, 600)}`);
    assertJson400(b.responses[0], 'LF, two Content-Lengths');
    assert.ok(b.closed, 'the replica closed the connection');
    await sleep(200);
    for (const shard of [34, 35, 36, 37]) assert.equal(await shardState(rds.port, 'main', shard), '', `main/${shard} was written`);
    proved(t, 'hostile-http: the smuggling shapes with bare-LF line ends -> 400, closed; shards 34-37 never reported');
  });

  it('two identical Content-Length values are served as usual, and the connection stays open for the next request', async (t) => {
    const r = await exchange(api.port, `${post('/api/status/main/6/3', 'Content-Length: 0\r\nContent-Length: 0\r\n')}\r\n`
      + 'GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n');
    assert.deepEqual(r.responses.map((x) => x.status), [204, 200], r.buf.toString('latin1').slice(0, 600));
    assert.equal(await shardState(rds.port, 'main', 6), '3');
    proved(t, 'hostile-http: Content-Length: 0 twice -> 204 (main/6 set to 3), then the pipelined GET /healthz -> 200 on the same connection');
  });

  it('ordinary pipelining still works: a bodiless, a Content-Length and a chunked request on one connection all get answers', async (t) => {
    const r = await exchange(api.port,
      `${post('/api/status/main/7/2')}\r\n`
      + `${post('/api/status/main/8/2', 'Content-Length: 5\r\n')}\r\nhello`
      + `${post('/api/status/main/9/2', 'Transfer-Encoding: chunked\r\n')}\r\n5\r\nhello\r\n0\r\n\r\n`
      + 'GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n');
    assert.deepEqual(r.responses.map((x) => x.status), [204, 204, 204, 200], r.buf.toString('latin1').slice(0, 800));
    assert.ok(r.closed, 'closed after the request that asked for it');
    for (const shard of [7, 8, 9]) assert.equal(await shardState(rds.port, 'main', shard), '2', `main/${shard}`);
    proved(t, `hostile-http: 4 pipelined requests (bodiless, Content-Length, chunked, GET) -> ${r.responses.map((x) => x.status).join(', ')}`);
  });

  it('x-content-type-options: nosniff on an API answer, an API error, /plain, the dashboard page and its script', async (t) => {
    const cases = [
      ['GET', '/api/status', 200],
      ['GET', '/api/nope', 404],
      ['POST', '/api/status/main/x/3', 400],
      ['GET', '/healthz', 200],
      ['GET', '/plain', 200],
      ['GET', '/', 200],
      ['GET', '/assets/app.js', 200],
    ];
    const seen = [];
    for (const [method, p, status] of cases) {
      const r = await request(api.port, method, p);
      assert.equal(r.status, status, `${method} ${p}`);
      assert.equal(r.headers['x-content-type-options'], 'nosniff', `${method} ${p}`);
      seen.push(`${method} ${p} ${r.status} ${(r.headers['content-type'] || '').split(';')[0]}`);
    }
    proved(t, `hostile-http: nosniff on ${seen.join(', ')}`);
  });

  it('a control byte in a static path, percent-encoded or raw, gets a 400 and never a file', async (t) => {
    const index = readFileSync(path.join(REPO_ROOT, 'web', 'index.html'), 'utf8');
    const script = readFileSync(path.join(REPO_ROOT, 'web', 'assets', 'app.js'), 'utf8');
    const seen = [];
    for (const p of ['/%00index.html', '/%01x', '/assets/app.js%00.html', '/index.html%7f', '/assets/%0aapp.js']) {
      const r = await request(api.port, 'GET', p);
      assertJson400(r, p);
      assert.ok(!r.body.includes('<html') && !r.body.includes(script.slice(0, 200)), `${p} served a file`);
      seen.push(`${p} -> ${r.status}`);
    }
    for (const [name, byte] of [['NUL', '\x00'], ['SOH', '\x01'], ['TAB', '\t'], ['DEL', '\x7f']]) {
      const r = await exchange(api.port, Buffer.from(`GET /${byte}index.html HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n`, 'latin1'));
      assert.equal(r.responses.length, 1, `raw ${name}: ${r.buf.toString('latin1').slice(0, 300)}`);
      assert.equal(r.responses[0].status, 400, `raw ${name}`);
      assert.ok(!r.responses[0].body.includes(index.slice(0, 200)), `raw ${name} served index.html`);
      seen.push(`raw ${name} -> ${r.responses[0].status} ${(r.responses[0].headers['content-type'] || '').split(';')[0]}`);
    }
    const ok = await request(api.port, 'GET', '/index.html');
    assert.equal(ok.status, 200, 'the page itself is still served');
    proved(t, `hostile-http: ${seen.join(', ')} (a raw control byte is refused by h2o's parser before a handler runs)`);
  });

  it('an h2c upgrade request is answered as plain HTTP/1.1 (no 101)', async (t) => {
    const r = await exchange(api.port, 'GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: Upgrade, HTTP2-Settings\r\nUpgrade: h2c\r\n'
      + 'HTTP2-Settings: AAMAAABkAARAAAAAAAIAAAAA\r\n\r\n', { timeoutMs: 1500 });
    assert.ok(r.responses.length >= 1, `no HTTP/1 response: ${JSON.stringify(r.buf.subarray(0, 64).toString('latin1'))}`);
    assert.equal(r.responses[0].status, 200, r.buf.toString('latin1').slice(0, 300));
    assert.deepEqual(JSON.parse(r.responses[0].body), { ok: true });
    assert.ok(!r.responses[0].headers.upgrade, 'an Upgrade header in the answer');
    proved(t, `hostile-http: GET /healthz with Upgrade: h2c -> HTTP/1.1 ${r.responses[0].status} ${r.responses[0].body}`);
  });

  it('a connection opening with the HTTP/2 preface gets an HTTP/1 400 or is closed, never a SETTINGS frame', async (t) => {
    const r = await exchange(api.port, h2Flood(1), { timeoutMs: 1500 });
    assert.ok(!startsWithSettings(r.buf), `an HTTP/2 SETTINGS frame came back: ${r.buf.subarray(0, 32).toString('hex')}`);
    const first = r.buf.subarray(0, 12).toString('latin1');
    assert.ok(first.startsWith('HTTP/1.1 4') || (r.buf.length === 0 && r.closed), `answered ${JSON.stringify(first)}`);
    assert.ok(r.closed, 'the connection was closed');
    proved(t, `hostile-http: the HTTP/2 preface -> ${r.buf.length ? JSON.stringify(r.buf.toString('latin1').split('\r\n')[0]) : 'nothing'}, `
      + `connection closed after ${r.ms} ms`);
  });

  it(`${H2_CONNECTIONS} connections sending ${H2_STREAMS} HTTP/2 streams of GET /plain each (window 0, never read) `
    + `cost less than ${H2_BOUND_MIB} MiB`, async (t) => {
    const asan = sanitized(pid);
    const plain = await request(api.port, 'GET', '/plain');
    assert.equal(plain.status, 200);
    const rss0 = rssKiB(pid);
    const socks = [];
    for (let i = 0; i < H2_CONNECTIONS; i++) {
      const s = net.connect({ host: '127.0.0.1', port: api.port });
      s.on('error', () => {});
      s.pause(); // never read
      s.firstBytes = Buffer.alloc(0);
      await new Promise((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error('no connection within 2 s')), 2000);
        s.once('connect', () => { clearTimeout(timer); resolve(); });
      });
      s.write(h2Flood(H2_STREAMS));
      socks.push(s);
    }
    // what a pile-up there is builds within a second or two: watch for 3 s and keep the peak
    let peak = rss0;
    for (let i = 0; i < 30; i++) {
      await sleep(100);
      peak = Math.max(peak, rssKiB(pid));
    }
    const growthMiB = (peak - rss0) / 1024;
    // now read what each got: an HTTP/1 error, not HTTP/2
    const firsts = await Promise.all(socks.map((s) => new Promise((resolve) => {
      const chunks = [];
      const timer = setTimeout(() => { s.destroy(); resolve(Buffer.concat(chunks)); }, 1000);
      s.on('data', (d) => chunks.push(d));
      s.on('close', () => { clearTimeout(timer); resolve(Buffer.concat(chunks)); });
      s.resume();
    })));
    for (const s of socks) s.destroy();
    assert.ok(api.alive(), 'the replica is up');
    if (!asan) assert.ok(growthMiB < H2_BOUND_MIB, `RSS grew ${growthMiB.toFixed(1)} MiB (${rss0} -> ${peak} KiB)`);
    for (const b of firsts) assert.ok(!startsWithSettings(b), `a connection got HTTP/2 frames: ${b.subarray(0, 32).toString('hex')}`);
    const answers = [...new Set(firsts.map((b) => (b.length ? JSON.stringify(b.toString('latin1').split('\r\n')[0]) : 'nothing')))];
    proved(t, `hostile-http${asan ? ' (ASan build, RSS not asserted)' : ''}: ${H2_CONNECTIONS} x ${H2_STREAMS} HTTP/2 streams of `
      + `GET /plain (${plain.body.length} bytes each over HTTP/1) -> peak RSS ${rss0} -> ${peak} KiB (+${growthMiB.toFixed(1)} MiB); `
      + `each connection got ${answers.join(' / ')}`);
  });

  it('the replica carried on: writes and readiness answer', async () => {
    assert.equal(api.pid, pid);
    assert.equal((await request(api.port, 'POST', '/api/status/main/30/4')).status, 204);
    assert.equal(await shardState(rds.port, 'main', 30), '4');
    await waitUntil(async () => (await request(api.port, 'GET', '/readyz')).status === 200,
      { timeoutMs: 3000, message: '/readyz to answer 200' });
  });

  it('shuts down cleanly after it all (exit 0; leak-free under ASan)', async () => {
    await assertCleanStop([api]);
  });
});
