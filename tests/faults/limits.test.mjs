// limits.test.mjs -- bad input and abuse get clear errors: body, path and header sizes; feed clients per
// replica and per address; the allowed Origin list; and a passphrase read from a file that never shows up
// in the replica's output.
//
// Two kinds of answer: glance-api's own (JSON, {"error": ...}) for what reaches its handlers, and h2o's
// (plain text) for what h2o 2.2.5 refuses before a handler runs: a header block over 417,792 bytes
// (8192 + 4096 x 100) or over 100 header lines, a request line that long, or a body over
// max_request_entity_size (1 MiB).

import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import crypto from 'node:crypto';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import {
  startRedis, startApi, spawnApi, request, makeTempDir, waitUntil, cleanup, REPO_ROOT, freePort,
} from '../integration/harness.mjs';
import { proved, stopAll } from './lib.mjs';

after(async () => { await stopAll(); await cleanup(); });

/**
 * Sends raw bytes on a fresh connection (from localAddress) and resolves the response head and body
 * that arrived within timeoutMs, and whether the server closed the connection.
 */
function raw(port, text, { timeoutMs = 3000, localAddress = '127.0.0.1', keepOpen = false } = {}) {
  return new Promise((resolve) => {
    const started = Date.now();
    const sock = net.connect({ host: '127.0.0.1', port, localAddress });
    let buf = Buffer.alloc(0);
    let closed = false;
    const finish = () => {
      clearTimeout(timer);
      const text = buf.toString('latin1');
      const end = text.indexOf('\r\n\r\n');
      const head = end >= 0 ? text.slice(0, end) : text;
      const status = Number((/^HTTP\/1\.1 (\d{3})/.exec(head) || [])[1] || 0);
      const headers = {};
      for (const line of head.split('\r\n').slice(1)) {
        const i = line.indexOf(':');
        if (i > 0) headers[line.slice(0, i).trim().toLowerCase()] = line.slice(i + 1).trim();
      }
      if (!keepOpen || status !== 101) sock.destroy();
      resolve({ status, headers, body: end >= 0 ? text.slice(end + 4) : '', closed, ms: Date.now() - started, socket: sock });
    };
    const timer = setTimeout(finish, timeoutMs);
    sock.on('data', (d) => {
      buf = Buffer.concat([buf, d]);
      const s = buf.toString('latin1');
      const end = s.indexOf('\r\n\r\n');
      if (end < 0) return;
      const len = Number((/content-length:\s*(\d+)/i.exec(s.slice(0, end)) || [])[1] ?? -1);
      if (/^HTTP\/1\.1 101/.test(s) || (len >= 0 && buf.length >= end + 4 + len)) finish();
    });
    sock.on('error', () => {});
    sock.on('close', () => { closed = true; finish(); });
    sock.write(text);
  });
}

const upgrade = (port, extra = '', opts = {}) => raw(port, 'GET /api/feed HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\n'
  + `Connection: Upgrade\r\nSec-WebSocket-Key: ${crypto.randomBytes(16).toString('base64')}\r\nSec-WebSocket-Version: 13\r\n${extra}\r\n`,
{ keepOpen: true, ...opts });

function assertJsonError(r, status) {
  assert.equal(r.status, status, `expected ${status}, got ${r.status}: ${r.body.slice(0, 200)}`);
  assert.match(r.headers['content-type'] || '', /^application\/json/);
  assert.equal(typeof JSON.parse(r.body).error, 'string');
}

let rds;
before(async () => { rds = await startRedis(); });

describe('request size limits', { timeout: 40000 }, () => {
  let api;
  before(async () => { api = await startApi({ redisPort: rds.port }); });

  it('a body over 4 KiB gets a JSON 413 from glance-api; over 1 MiB a plain-text 413 from h2o', async (t) => {
    const a = await raw(api.port, 'POST /api/status/main/1/3 HTTP/1.1\r\nHost: x\r\nContent-Length: 5000\r\nConnection: close\r\n\r\n'
      + 'x'.repeat(5000));
    assertJsonError(a, 413);
    const b = await raw(api.port, 'POST /api/status/main/1/3 HTTP/1.1\r\nHost: x\r\nContent-Length: 2000000\r\n\r\nxxxx');
    assert.equal(b.status, 413);
    assert.match(b.headers['content-type'], /^text\/plain/);
    const c = await raw(api.port, 'POST /api/status/main/1/3 HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n'
      + `1400\r\n${'x'.repeat(5120)}\r\n0\r\n\r\n`);
    assertJsonError(c, 413);
    proved(t, `limits: 5,000-byte body -> ${a.status} JSON; 2,000,000-byte Content-Length -> ${b.status} "${b.body}" (h2o, text/plain, `
      + `answered before the body is read); 5 KiB chunked body -> ${c.status} JSON`);
  });

  it('a path over 1024 bytes gets a JSON 414; a request line over h2o\'s limit a plain-text 400', async (t) => {
    const a = await raw(api.port, `GET /api/status/${'a'.repeat(1100)} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n`);
    assertJsonError(a, 414);
    const b = await raw(api.port, `GET /api/status/${'a'.repeat(500 * 1024)} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n`);
    assert.equal(b.status, 400);
    assert.match(b.headers['content-type'], /^text\/plain/);
    assert.equal(b.headers.connection, 'close', 'h2o closes the connection');
    proved(t, `limits: 1,100-byte path -> ${a.status} JSON; 500 KiB request line -> ${b.status} "${b.body}" (h2o, text/plain, connection closed)`);
  });

  it('headers: up to h2o\'s 417,792-byte block and 100 lines are served; more gets a plain-text 400 and a closed connection', async (t) => {
    const ok = await raw(api.port, `GET /healthz HTTP/1.1\r\nHost: x\r\nX-Big: ${'a'.repeat(100 * 1024)}\r\nConnection: close\r\n\r\n`);
    assert.equal(ok.status, 200);
    const big = await raw(api.port, `GET /healthz HTTP/1.1\r\nHost: x\r\nX-Big: ${'a'.repeat(500 * 1024)}\r\nConnection: close\r\n\r\n`);
    assert.equal(big.status, 400);
    assert.match(big.headers['content-type'], /^text\/plain/);
    assert.equal(big.headers.connection, 'close');
    const lines = Array.from({ length: 101 }, (_, i) => `X-H${i}: v\r\n`).join('');
    const many = await raw(api.port, `GET /healthz HTTP/1.1\r\nHost: x\r\n${lines}Connection: close\r\n\r\n`);
    assert.equal(many.status, 400);
    assert.equal((await request(api.port, 'GET', '/healthz')).status, 200, 'the replica still serves');
    proved(t, `limits: a 100 KiB header -> ${ok.status} (within h2o's limit); a 500 KiB header -> ${big.status} "${big.body}" `
      + `(h2o, text/plain, closed); 101 header lines -> ${many.status}`);
  });

  it('a client that never finishes its header is disconnected by h2o\'s request timeout (10 s)', async (t) => {
    const r = await raw(api.port, 'GET /healthz HTTP/1.1\r\nHost: x\r\n', { timeoutMs: 15000 });
    assert.ok(r.closed, 'the connection was closed');
    assert.ok(r.ms >= 9000 && r.ms <= 13000, `closed after ${r.ms} ms`);
    proved(t, `limits: a half-sent header is dropped after ${r.ms} ms (h2o's HTTP/1 request timeout) with status ${r.status || 'none'}`);
  });
});

describe('feed limits', { timeout: 30000 }, () => {
  it('GLANCE_FEED_MAX_CLIENTS=2: the third client gets a JSON 503 with Retry-After; a slot frees when one leaves', async (t) => {
    const api = await startApi({ redisPort: rds.port, env: { GLANCE_FEED_MAX_CLIENTS: 2 } });
    const a = await upgrade(api.port);
    const b = await upgrade(api.port);
    assert.equal(a.status, 101);
    assert.equal(b.status, 101);
    const c = await upgrade(api.port);
    assertJsonError(c, 503);
    assert.match(c.headers['retry-after'] || '', /^\d+$/);
    a.socket.destroy();
    const d = await waitUntil(async () => {
      const r = await upgrade(api.port);
      if (r.status === 101) return r;
      return false;
    }, { timeoutMs: 3000, message: 'a slot to free up' });
    b.socket.destroy();
    d.socket.destroy();
    proved(t, `limits: GLANCE_FEED_MAX_CLIENTS=2 -> third upgrade ${c.status} ${c.body} Retry-After: ${c.headers['retry-after']}; `
      + 'a new client gets 101 once one leaves');
    await api.stop();
  });

  it('GLANCE_FEED_MAX_PER_ADDRESS=1: a second client from the same address gets a JSON 429, another address gets in', async (t) => {
    const api = await startApi({ redisPort: rds.port, env: { GLANCE_FEED_MAX_PER_ADDRESS: 1 } });
    const a = await upgrade(api.port);
    assert.equal(a.status, 101);
    const b = await upgrade(api.port);
    assertJsonError(b, 429);
    const c = await upgrade(api.port, '', { localAddress: '127.0.0.2' });
    assert.equal(c.status, 101, 'a client from 127.0.0.2');
    a.socket.destroy();
    c.socket.destroy();
    proved(t, `limits: GLANCE_FEED_MAX_PER_ADDRESS=1 -> second client from 127.0.0.1 ${b.status} ${b.body}; from 127.0.0.2 ${c.status}`);
    await api.stop();
  });

  it('GLANCE_FEED_ORIGINS: a foreign Origin gets a JSON 403; a listed one, or none, gets 101', async (t) => {
    const api = await startApi({ redisPort: rds.port, env: { GLANCE_FEED_ORIGINS: 'https://status.example.com,http://localhost:8080' } });
    const foreign = await upgrade(api.port, 'Origin: https://evil.example\r\n');
    assertJsonError(foreign, 403);
    const prefix = await upgrade(api.port, 'Origin: https://status.example.com.evil.example\r\n');
    assertJsonError(prefix, 403);
    const listed = await upgrade(api.port, 'Origin: https://status.example.com\r\n');
    assert.equal(listed.status, 101);
    const second = await upgrade(api.port, 'Origin: http://localhost:8080\r\n');
    assert.equal(second.status, 101);
    const none = await upgrade(api.port);
    assert.equal(none.status, 101, 'a client without Origin (not a browser)');
    for (const r of [listed, second, none]) r.socket.destroy();
    proved(t, `limits: GLANCE_FEED_ORIGINS -> foreign Origin ${foreign.status}, look-alike prefix ${prefix.status}, `
      + `listed ${listed.status}/${second.status}, `
      + `no Origin ${none.status}`);
    await api.stop();
  });
});

describe('the passphrase from a file (GLANCE_PASSPHRASE_FILE)', { timeout: 30000 }, () => {
  const secret = `pf-${crypto.randomBytes(12).toString('hex')}`;
  let dir;
  let api;
  before(async () => {
    dir = makeTempDir('glance-faults-secret-');
    writeFileSync(path.join(dir, 'passphrase'), `${secret}\nsecond line is ignored\n`);
    api = await startApi({ redisPort: rds.port, env: { GLANCE_PASSPHRASE_FILE: path.join(dir, 'passphrase') } });
  });

  it('guards the writes with the first line of the file', async () => {
    assertJsonError(await request(api.port, 'POST', '/api/status/main/1/3'), 401);
    assertJsonError(await request(api.port, 'POST', '/api/status/main/1/3', { headers: { Authorization: 'second line is ignored' } }), 401);
    assertJsonError(await request(api.port, 'POST', '/api/status/main/1/3', { headers: { Authorization: `${secret}\u0021` } }), 401);
    assert.equal((await request(api.port, 'POST', '/api/status/main/1/3', { headers: { Authorization: `Bearer ${secret}` } })).status, 204);
    assert.equal((await request(api.port, 'POST', '/api/health/main/1', { headers: { Authorization: secret } })).status, 204);
  });

  it('never shows it: not in the output after start-up, bad requests and a stop, nor in /metrics', async (t) => {
    const wrong = { headers: { Authorization: `Bearer ${secret.slice(0, -1)}x` } };
    for (let i = 0; i < 5; i++) await request(api.port, 'POST', '/api/status/main/1/3', wrong);
    const metrics = await request(api.port, 'GET', '/metrics');
    assert.equal(await api.stop(), 0);
    const out = api.stderr() + api.stdout();
    assert.ok(out.length > 0, 'the replica logged something');
    assert.ok(!out.includes(secret) && !out.includes(secret.slice(0, -1)), 'the passphrase is in the output');
    assert.ok(!metrics.body.includes(secret));
    proved(t, `limits: GLANCE_PASSPHRASE_FILE guards writes (401 without, 204 with); ${out.split('\n').length - 1} lines of output `
      + 'after start-up, 5 wrong passphrases and a stop, none holding it');
  });

  it('an empty file, a missing file, or both variables set stop start-up with exit 2, naming the variable and not the passphrase', async (t) => {
    writeFileSync(path.join(dir, 'empty'), '\n');
    const base = { GLANCE_BOTS: 'main:1', GLANCE_HOST: '127.0.0.1', GLANCE_PORT: await freePort(), GLANCE_WEB_ROOT: path.join(REPO_ROOT, 'web') };
    const cases = [
      ['empty file', { GLANCE_PASSPHRASE_FILE: path.join(dir, 'empty') }],
      ['missing file', { GLANCE_PASSPHRASE_FILE: path.join(dir, 'nope') }],
      ['both set', { GLANCE_PASSPHRASE_FILE: path.join(dir, 'passphrase'), GLANCE_PASSPHRASE: secret }],
    ];
    const lines = [];
    for (const [name, env] of cases) {
      const p = spawnApi({ ...base, ...env });
      const exit = await p.waitExit(5000);
      assert.equal(exit?.code, 2, `${name}: exit ${JSON.stringify(exit)}`);
      assert.match(p.stderr(), /GLANCE_PASSPHRASE/, name);
      assert.ok(!p.stderr().includes(secret), `${name}: the passphrase is in the error`);
      lines.push(`${name}: ${p.stderr().trim()}`);
    }
    proved(t, `limits: ${lines.join(' | ')}`);
  });
});
