// config.test.mjs -- start-up configuration: bad values stop the process with exit code 2 and one line
// naming the variable; a .env file in the working directory is read and the environment wins over it.

import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { startRedis, startApi, spawnApi, freePort, request, makeTempDir, openFeed, cleanup } from './harness.mjs';

let rds;
before(async () => { rds = await startRedis(); });
after(cleanup);

describe('a bad value stops start-up', { timeout: 60000 }, () => {
  // [variable, value (undefined = unset), text the line must also contain, or null]
  const cases = [
    ['GLANCE_BOTS', undefined, null],
    ['GLANCE_BOTS', '', null],
    ['GLANCE_BOTS', 'main', null],
    ['GLANCE_BOTS', 'main:0', null],
    ['GLANCE_BOTS', 'main:abc', null],
    ['GLANCE_BOTS', 'main:-3', null],
    ['GLANCE_BOTS', 'main:1000001', null],
    ['GLANCE_BOTS', 'bad name!:3', null],
    ['GLANCE_BOTS', `${'x'.repeat(65)}:3`, null],
    ['GLANCE_BOTS', 'main:3;main:4', null],
    ['GLANCE_PORT', '70000', '70000'],
    ['GLANCE_PORT', 'http', 'http'],
    ['GLANCE_HEALTH_TIMEOUT', '0', null],
    ['GLANCE_HEALTH_TIMEOUT', '86401', '86401'],
    ['GLANCE_FEED_INTERVAL_MS', 'abc', 'abc'],
    ['GLANCE_FEED_INTERVAL_MS', '5', null],
    ['GLANCE_REDIS_URL', 'http://x', 'http://x'],
    ['GLANCE_REDIS_URL', 'redis://127.0.0.1:notaport/0', 'notaport'],
    ['GLANCE_REDIS_TIMEOUT_MS', 'soon', 'soon'],
    ['GLANCE_EMBED_ORIGINS', "https://bot.example; script-src 'unsafe-inline'", 'script-src'],
    ['GLANCE_EMBED_ORIGINS', 'bot.example', 'bot.example'],
  ];
  for (const [name, value, mustContain] of cases) {
    const shown = value === undefined ? 'unset' : JSON.stringify(value);
    it(`${name}=${shown} exits with code 2 within 2 s and one stderr line naming ${name}${mustContain ? ' and the value' : ''}`, async () => {
      const port = await freePort();
      const env = {
        GLANCE_HOST: '127.0.0.1',
        GLANCE_PORT: port,
        GLANCE_REDIS_URL: `redis://127.0.0.1:${rds.port}/0`,
        GLANCE_BOTS: 'main:3',
      };
      if (value === undefined) delete env[name];
      else env[name] = value;
      const proc = spawnApi(env);
      const exit = await proc.waitExit(2000);
      if (!exit) proc.child.kill('SIGKILL');
      assert.ok(exit, `still running after 2 s; stderr: ${proc.stderr().slice(0, 500)}`);
      assert.equal(exit.code, 2, `exit ${JSON.stringify(exit)}; stderr: ${proc.stderr().slice(0, 500)}`);
      const lines = proc.stderr().split('\n').filter((l) => l.trim() !== '');
      assert.equal(lines.length, 1, `expected one line on stderr, got ${JSON.stringify(lines)}`);
      assert.ok(lines[0].includes(name), `the line names ${name}: ${JSON.stringify(lines[0])}`);
      if (mustContain) assert.ok(lines[0].includes(mustContain), `the line names the value ${mustContain}: ${JSON.stringify(lines[0])}`);
    });
  }
});

it('a bad GLANCE_REDIS_URL with a password exits 2 without printing the password', async () => {
  const proc = spawnApi({ GLANCE_HOST: '127.0.0.1', GLANCE_PORT: await freePort(), GLANCE_BOTS: 'main:3',
    GLANCE_REDIS_URL: 'redis://:hunter2secret@127.0.0.1:notaport/0' });
  const exit = await proc.waitExit(2000);
  if (!exit) proc.child.kill('SIGKILL');
  assert.equal(exit?.code, 2, `exit ${JSON.stringify(exit)}; stderr: ${proc.stderr().slice(0, 500)}`);
  assert.match(proc.stderr(), /GLANCE_REDIS_URL/);
  assert.doesNotMatch(proc.stderr(), /hunter2secret/);
});

describe('the .env file', { timeout: 60000 }, () => {
  const clusters = async (api) => {
    const r = await request(api.port, 'GET', '/api/status');
    assert.equal(r.status, 200);
    return r.json().clusters.map((c) => [c.name, c.shards]);
  };

  it('in the working directory is read when the variable is not in the environment', async () => {
    const cwd = makeTempDir('glance-envfile-');
    writeFileSync(path.join(cwd, '.env'), '# glance settings\nGLANCE_BOTS=fromfile:7;other:2\n');
    const api = await startApi({ redisPort: rds.port, env: { GLANCE_BOTS: undefined }, cwd });
    try {
      assert.deepEqual(await clusters(api), [['fromfile', 7], ['other', 2]]);
    } finally {
      await api.stop();
    }
  });

  it('loses to the environment when both set a variable', async () => {
    const cwd = makeTempDir('glance-envfile-');
    writeFileSync(path.join(cwd, '.env'), 'GLANCE_BOTS=fromfile:7\n');
    const api = await startApi({ redisPort: rds.port, bots: 'fromenv:5', cwd });
    try {
      assert.deepEqual(await clusters(api), [['fromenv', 5]]);
    } finally {
      await api.stop();
    }
  });

  it('named by GLANCE_ENV_FILE is read instead of ./.env', async () => {
    const cwd = makeTempDir('glance-envfile-');
    const other = path.join(makeTempDir('glance-envfile-'), 'glance.env');
    writeFileSync(path.join(cwd, '.env'), 'GLANCE_BOTS=dotenv:3\n');
    writeFileSync(other, 'GLANCE_BOTS=named:4\n');
    const api = await startApi({ redisPort: rds.port, env: { GLANCE_BOTS: undefined, GLANCE_ENV_FILE: other }, cwd });
    try {
      assert.deepEqual(await clusters(api), [['named', 4]]);
    } finally {
      await api.stop();
    }
  });

  it('with a bad value stops start-up with exit code 2 naming the variable', async () => {
    const cwd = makeTempDir('glance-envfile-');
    writeFileSync(path.join(cwd, '.env'), 'GLANCE_BOTS=main:3\nGLANCE_HEALTH_TIMEOUT=never\n');
    const proc = spawnApi({ GLANCE_HOST: '127.0.0.1', GLANCE_PORT: await freePort(), GLANCE_REDIS_URL: `redis://127.0.0.1:${rds.port}/0` }, { cwd });
    const exit = await proc.waitExit(2000);
    if (!exit) proc.child.kill('SIGKILL');
    assert.equal(exit?.code, 2, `exit ${JSON.stringify(exit)}; stderr: ${proc.stderr().slice(0, 500)}`);
    assert.match(proc.stderr(), /GLANCE_HEALTH_TIMEOUT/);
  });
});

describe('the defaults', { timeout: 30000 }, () => {
  it('a replica given only GLANCE_BOTS, a port and Redis becomes ready and reports health_timeout 30', async () => {
    const api = await startApi({ redisPort: rds.port, bots: 'main:3' });
    try {
      const r = await request(api.port, 'GET', '/api/status/main/0');
      assert.equal(r.status, 200);
      const feed = await openFeed(api.port);
      const hello = await feed.waitFor((m) => m.type === 'hello', 3000, { what: 'hello' });
      feed.close();
      assert.equal(hello.type, 'hello');
      assert.equal(hello.health_timeout, 30);
      assert.equal(hello.interval_ms, 100);
    } finally {
      await api.stop();
    }
  });
});
