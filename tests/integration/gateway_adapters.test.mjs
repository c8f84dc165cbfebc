// gateway_adapters.test.mjs -- the adapters in examples/ count gateway events, resumes, identifies and disconnects
// from their libraries' own behaviour, and report the identify budget: a real discord.js 14 client (here) and a real
// discord.py 2.2 bot (gateway_bot.py) log in to the fake Discord of fake_gateway.mjs, which the test drives, and
// report to a real replica; what they sent is read back from GET /api/status/<c>/<id> and GET /api/figures.
//
// Both libraries go through the same story and must report the same counters: the fake never counts for them.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { Client, GatewayIntentBits } from 'discord.js';
import { startRedis, startApi, cleanup, request, waitUntil, REPO_ROOT } from './harness.mjs';
import { startFakeGateway } from './fake_gateway.mjs';
import { Glance } from '../../examples/discord.js/glance.js';

const PASSPHRASE = 'gateway-adapters-passphrase-01';
const PYTHON = existsSync('/usr/bin/python3') ? '/usr/bin/python3' : 'python3'; // Debian's, with python3-discord
const WAIT = { timeoutMs: 20_000 }; // an identify after an invalid session waits up to 5 s in both libraries
const LIMIT = { total: 1000, remaining: 990, reset_after: 14_400_000, max_concurrency: 16 };

let glance; // the replica, and how the test reads it

before(async () => {
  const redis = await startRedis();
  const api = await startApi({ redisPort: redis.port, passphrase: PASSPHRASE, bots: 'gwjs:2;gwpy:2' });
  const read = async (route) => {
    const r = await request(api.port, 'GET', route);
    assert.equal(r.status, 200, r.body);
    return r.json();
  };
  glance = {
    url: api.url,
    /** The shard's four counters as Glance holds them, or null before any report of them. */
    async counters(cluster, id) {
      const { gateway } = await read(`/api/status/${cluster}/${id}`);
      return gateway && { events: gateway.events, resumes: gateway.resumes, identifies: gateway.identifies,
        disconnects: gateway.disconnects };
    },
    /** The cluster's identify budget from /api/figures (shared by a replica for 5 s), or null. */
    async session(cluster) {
      const { clusters } = await read('/api/figures');
      return clusters.find((c) => c.name === cluster).gateway?.session ?? null;
    },
  };
});
after(cleanup);

// waits for the shard's counters to be want; on timeout, fails with the difference from the last ones read
async function untilCounters(cluster, id, want) {
  let last;
  try {
    await waitUntil(async () => JSON.stringify(last = await glance.counters(cluster, id)) === JSON.stringify(want),
      { ...WAIT, message: `${cluster} shard ${id}'s counters` });
  } catch (err) {
    assert.deepEqual(last, want, err.message);
    throw err;
  }
}

const counters = (events, resumes, identifies, disconnects) => ({ events, resumes, identifies, disconnects });

// The same story for both libraries, step by step; a step after a failed one is skipped (it would only time out).
// logs() is what the bot logged so far, shown with a failure; alive() whether the bot still runs.
async function story(t, { fake, cluster, logs, alive }) {
  let failed = false;
  const step = (name, fn) => t.test(name, { skip: failed && 'an earlier step failed' }, async () => {
    try {
      await fn();
    } catch (err) {
      failed = true;
      err.message += `\nthe bot's log:\n${logs()}`;
      throw err;
    }
  });

  await step('each shard identifies once at login; READY and its GUILD_CREATEs are its first events', async () => {
    for (const id of [0, 1]) await untilCounters(cluster, id, counters(3, 0, 1, 0));
    assert.deepEqual([0, 1].map((id) => fake.count(id, 'IDENTIFY')), [1, 1]);
  });

  await step('dispatches are counted on the shard that received them', async () => {
    await fake.dispatch(0, 5);
    await untilCounters(cluster, 0, counters(8, 0, 1, 0));
    assert.deepEqual(await glance.counters(cluster, 1), counters(3, 0, 1, 0));
  });

  await step('a forced reconnect (op 7) is a disconnect and a real RESUME on resume_gateway_url', async () => {
    await fake.reconnect(0);
    await untilCounters(cluster, 0, counters(9, 1, 1, 1)); // RESUMED is a dispatch too
    assert.equal(fake.count(0, 'RESUME'), 1);
    assert.equal(fake.sent.findLast((s) => s.shard === 0).path, '/resume');
  });

  await step('an invalid session (op 9) is a disconnect and a real new IDENTIFY', async () => {
    await fake.invalidate(1);
    await untilCounters(cluster, 1, counters(6, 0, 2, 1));
    assert.equal(fake.count(1, 'IDENTIFY'), 2);
    assert.equal(fake.count(1, 'RESUME'), 0);
  });

  await step('a socket the gateway closes is a disconnect, then the library resumes', async () => {
    fake.close(0);
    await untilCounters(cluster, 0, counters(10, 2, 1, 2));
    assert.equal(fake.count(0, 'RESUME'), 2);
    assert.deepEqual(await glance.counters(cluster, 1), counters(6, 0, 2, 1));
  });

  await step('the identify budget is /gateway/bot\'s, remaining down by the three identifies', async () => {
    let session;
    await waitUntil(async () => (session = await glance.session(cluster))?.remaining === 987,
      { ...WAIT, message: `${cluster}'s identify budget with 987 left` }).catch((err) => {
      throw new Error(`${err.message}; last: ${JSON.stringify(session)}`);
    });
    assert.equal(fake.gatewayBot.at(-1).session_start_limit.remaining, 987);
    assert.deepEqual([session.total, session.max_concurrency, session.short], [1000, 16, false]);
    assert.equal(session.reset_at_ms, session.reported_ms + LIMIT.reset_after);
  });

  await step('a failed /gateway/bot is logged, never reaches the bot, and is asked again', async () => {
    fake.failGatewayBot(1);
    await waitUntil(() => /GET \/gateway\/bot.*(Missing Access|Forbidden)/.test(logs()),
      { ...WAIT, message: 'the adapter\'s log line about the failed /gateway/bot' });
    const failedAt = Date.now();
    await waitUntil(async () => (await glance.session(cluster)).reported_ms > failedAt,
      { ...WAIT, message: 'the next /gateway/bot, reported' });
    assert.ok(alive() && fake.connected(0) && fake.connected(1), 'the bot still runs, both shards connected');
  });
}

test('discord.js 14: the adapter reports what the client lived through on the fake gateway', async (t) => {
  const fake = await startFakeGateway({ limit: LIMIT });
  // shards 'auto': the count comes from /gateway/bot, as for most bots; JSON, no compression without zlib-sync
  const client = new Client({ intents: [GatewayIntentBits.Guilds], shards: 'auto', rest: { api: fake.api } });
  const logged = [];
  const adapter = new Glance(client, { url: glance.url, cluster: 'gwjs', passphrase: PASSPHRASE, interval: 200,
    gatewayInterval: 1000, log: (line) => logged.push(line) });
  try {
    await client.login('any-token');
    assert.ok(fake.sent.every((s) => !s.compress), 'discord.js 14 without zlib-sync: plain JSON');
    await story(t, { fake, cluster: 'gwjs', logs: () => logged.join('\n'), alive: () => client.isReady() });
  } finally {
    await adapter.stop();
    await client.destroy();
    await fake.stop();
  }
});

test('discord.py 2.2: the adapter reports what the client lived through on the fake gateway', async (t) => {
  const fake = await startFakeGateway({ limit: LIMIT });
  let output = '';
  const child = spawn(PYTHON, [path.join(REPO_ROOT, 'tests', 'integration', 'gateway_bot.py')], {
    env: { ...process.env, PYTHONDONTWRITEBYTECODE: '1', FAKE_API: fake.api, FAKE_GATEWAY: fake.gatewayUrl,
      GLANCE_URL: glance.url, GLANCE_PASSPHRASE: PASSPHRASE, GLANCE_CLUSTER: 'gwpy', GLANCE_INTERVAL: '0.2',
      GLANCE_GATEWAY_INTERVAL: '1' },
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  child.stdout.on('data', (d) => { output += d; });
  child.stderr.on('data', (d) => { output += d; });
  const exited = new Promise((resolve) => child.on('exit', (code, signal) => resolve({ code, signal })));
  let exit = null;
  exited.then((e) => { exit = e; });
  try {
    await story(t, { fake, cluster: 'gwpy', logs: () => output, alive: () => exit === null });
    assert.ok(fake.sent.every((s) => s.compress), 'discord.py 2.2 always asks for zlib-stream');
  } finally {
    child.stdin.end(); // gateway_bot.py stops the adapter and the client, then exits
    const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
    exit = await exited;
    clearTimeout(timer);
    await fake.stop();
  }
  assert.deepEqual(exit, { code: 0, signal: null }, output);
  assert.doesNotMatch(output, /Traceback|Unclosed|Task was destroyed/, output);
});
