// config_safety.test.mjs -- configuration that would leave the writes open by mistake is refused, and a weak
// passphrase is called out. An empty GLANCE_PASSPHRASE (a template left unfilled, in the environment or in a
// .env file) stops start-up with exit 2 and one line saying to leave it unset to run open; nothing listens.
// A passphrase under 16 characters starts, guards the writes, and draws a warning that does not show it.

import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { startRedis, startApi, spawnApi, freePort, request, makeTempDir, sleep, cleanup, REPO_ROOT } from './harness.mjs';

let rds;
before(async () => { rds = await startRedis(); });
after(cleanup);

/** true when something accepts a TCP connection on 127.0.0.1:port within timeoutMs. */
function listening(port, timeoutMs = 200) {
  return new Promise((resolve) => {
    const sock = net.connect({ host: '127.0.0.1', port });
    const done = (v) => { clearTimeout(timer); sock.destroy(); resolve(v); };
    const timer = setTimeout(() => done(false), timeoutMs);
    sock.on('connect', () => done(true));
    sock.on('error', () => done(false));
  });
}

/** Spawns glance-api and, until it exits (2 s at most), tries to connect to its port every 20 ms. */
async function startAndProbe(env, opts) {
  const proc = spawnApi(env, opts);
  let connects = 0;
  let probes = 0;
  const deadline = Date.now() + 2000;
  while (!proc.child.exitInfo && Date.now() < deadline) {
    probes += 1;
    if (await listening(env.GLANCE_PORT, 100)) connects += 1;
    await sleep(20);
  }
  const exit = await proc.waitExit(Math.max(0, deadline - Date.now()));
  if (!exit) proc.child.kill('SIGKILL');
  return { proc, exit, connects, probes };
}

const baseEnv = async () => ({
  GLANCE_HOST: '127.0.0.1',
  GLANCE_PORT: await freePort(),
  GLANCE_REDIS_URL: `redis://127.0.0.1:${rds.port}/0`,
  GLANCE_BOTS: 'main:3',
  GLANCE_WEB_ROOT: path.join(REPO_ROOT, 'web'),
});

/** The log's warnings about the passphrase. */
const passphraseWarnings = (text) => text.split('\n').filter((l) => / warn /.test(l) && /PASSPHRASE/.test(l));

describe('an empty GLANCE_PASSPHRASE', { timeout: 30000 }, () => {
  it('in the environment exits with code 2 and one stderr line naming GLANCE_PASSPHRASE and saying to leave it unset; '
    + 'nothing listens', async (t) => {
    const env = { ...(await baseEnv()), GLANCE_PASSPHRASE: '' };
    const { proc, exit, connects, probes } = await startAndProbe(env);
    assert.ok(exit, `still running after 2 s; stderr: ${proc.stderr().slice(0, 500)}`);
    assert.equal(exit.code, 2, `exit ${JSON.stringify(exit)}; stderr: ${proc.stderr().slice(0, 500)}`);
    const lines = proc.stderr().split('\n').filter((l) => l.trim() !== '');
    assert.equal(lines.length, 1, `expected one line on stderr, got ${JSON.stringify(lines)}`);
    assert.match(lines[0], /GLANCE_PASSPHRASE/);
    assert.match(lines[0], /unset/, 'the line says how to run without a passphrase');
    assert.equal(proc.stdout(), '');
    assert.equal(connects, 0, `something accepted ${connects} of ${probes} connections on the port`);
    assert.equal(await listening(env.GLANCE_PORT), false, 'something listens after the exit');
    t.diagnostic(`stderr: ${lines[0]}`);
  });

  it('in a .env file (a template left unfilled) is refused the same way', async () => {
    const cwd = makeTempDir('glance-envfile-');
    const env = await baseEnv();
    writeFileSync(path.join(cwd, '.env'), 'GLANCE_BOTS=main:3\nGLANCE_PASSPHRASE=\n');
    const { proc, exit, connects } = await startAndProbe(env, { cwd });
    assert.equal(exit?.code, 2, `exit ${JSON.stringify(exit)}; stderr: ${proc.stderr().slice(0, 500)}`);
    const lines = proc.stderr().split('\n').filter((l) => l.trim() !== '');
    assert.equal(lines.length, 1, JSON.stringify(lines));
    assert.match(lines[0], /GLANCE_PASSPHRASE/);
    assert.equal(connects, 0);
  });

  it('left unset, the replica starts open without a passphrase warning', async () => {
    const api = await startApi({ redisPort: rds.port, bots: 'main:3' });
    assert.equal((await request(api.port, 'POST', '/api/status/main/0/3')).status, 204);
    assert.equal(await api.stop(), 0);
    assert.deepEqual(passphraseWarnings(api.stderr()), []);
  });
});

describe('a short GLANCE_PASSPHRASE', { timeout: 30000 }, () => {
  for (const [secret, warns] of [['sh0rt', true], ['fifteen-chars-x', true], ['sixteen-chars-xy', false]]) {
    it(`of ${secret.length} characters starts and guards the writes, ${warns ? 'with' : 'without'} a warning that it is short`,
      async (t) => {
        const api = await startApi({ redisPort: rds.port, bots: 'main:3', passphrase: secret });
        assert.equal((await request(api.port, 'POST', '/api/status/main/1/3')).status, 401, 'a write without the passphrase');
        assert.equal((await request(api.port, 'POST', '/api/status/main/1/3', { headers: { Authorization: `Bearer ${secret}` } })).status, 204);
        assert.equal(await api.stop(), 0);
        const out = api.stderr() + api.stdout();
        const warnings = passphraseWarnings(out);
        if (warns) {
          assert.equal(warnings.length, 1, `one warning about the passphrase: ${JSON.stringify(warnings)}`);
          assert.match(warnings[0], / warn /, 'logged as a warning');
          assert.match(warnings[0], /\b16\b/, 'the warning says 16 characters are recommended');
          assert.match(warnings[0], new RegExp(`\\b${secret.length}\\b`), 'the warning says how many it has');
          t.diagnostic(`log: ${warnings[0]}`);
        } else {
          assert.deepEqual(warnings, [], 'no warning about a passphrase of 16 characters');
        }
        assert.ok(!out.includes(secret), 'the passphrase is in the output');
      });
  }
});
