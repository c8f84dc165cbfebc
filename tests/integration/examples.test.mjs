// examples.test.mjs -- the bot adapters in examples/ against a real replica, driven by their libraries' own client
// objects (discord.js 14 here, Debian's discord.py 2.2 through examples/discord.py/test_glance.py). Nothing logs in:
// events are emitted on the client, shards and guilds go into its caches through discord.js's own classes.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import { Client, GatewayIntentBits, WebSocketShard, Status } from 'discord.js';
import { startRedis, startApi, cleanup, request, waitUntil, sleep, freePort, REPO_ROOT } from './harness.mjs';
import { Glance, State } from '../../examples/discord.js/glance.js';

const PASSPHRASE = 'examples-passphrase-0123456789';
const PYTHON = existsSync('/usr/bin/python3') ? '/usr/bin/python3' : 'python3'; // Debian's, with python3-discord
const DPY_CLUSTERS = ['dpy', 'dpy_bot', 'dpy_timer'];
const FIGURES = ['latency_ms', 'guilds', 'unavailable_guilds', 'members'];

let redis;
let api;
const rejections = [];
const onRejection = (err) => rejections.push(err);

before(async () => {
  process.on('unhandledRejection', onRejection);
  redis = await startRedis();
  api = await startApi({
    redisPort: redis.port, passphrase: PASSPHRASE,
    bots: ['djs', 'djs_report', 'djs_timer', ...DPY_CLUSTERS].map((c) => `${c}:2`).join(';'),
  });
});
after(async () => {
  process.off('unhandledRejection', onRejection);
  await cleanup();
});

async function shard(cluster, id) {
  const r = await request(api.port, 'GET', `/api/status/${cluster}/${id}`);
  assert.equal(r.status, 200, r.body);
  return r.json();
}

const states = (cluster) => Promise.all([0, 1].map(async (id) => (await shard(cluster, id)).state));

async function untilStates(cluster, want) {
  await waitUntil(async () => JSON.stringify(await states(cluster)) === JSON.stringify(want),
    { timeoutMs: 5000, message: `${cluster} shards in states ${JSON.stringify(want)}` });
}

const figuresOf = async (cluster, id) => {
  const { figures } = await shard(cluster, id);
  assert.ok(figures, `${cluster} shard ${id} has figures`);
  return Object.fromEntries(FIGURES.map((k) => [k, figures[k]]));
};

function newClient() {
  return new Client({ intents: [GatewayIntentBits.Guilds], shards: [0, 1], shardCount: 2 });
}

const options = (cluster, more = {}) => ({ url: api.url, cluster, passphrase: PASSPHRASE, interval: 60_000, ...more });

// a guild as the gateway's GUILD_CREATE brings it, through discord.js's own handler (which sets guild.shardId);
// discord.js 14 counts a guild without a channels list as unavailable, as Discord always sends one
function guildCreate(client, shardId, n, data) {
  const id = String((2n * BigInt(n) + BigInt(shardId)) << 22n); // (id >> 22) % 2 === shardId
  const d = data.unavailable ? { id, ...data } : { id, channels: [], roles: [], emojis: [], ...data };
  client.ws.handlePacket({ t: 'GUILD_CREATE', d }, client.ws.shards.get(shardId));
}

test('discord.js: the shards of client.options start as starting, and shard events become states', async () => {
  const client = newClient();
  const glance = new Glance(client, options('djs'));
  await untilStates('djs', [State.STARTING, State.STARTING]);
  client.emit('shardReady', 0, new Set());
  client.emit('shardReconnecting', 1);
  await untilStates('djs', [State.ONLINE, State.RESUMING]);
  client.emit('shardResume', 1, 12);
  client.emit('shardDisconnect', { code: 4014, reason: '', wasClean: true }, 0);
  await untilStates('djs', [State.OFFLINE, State.ONLINE]);
  client.emit('shardError', new Error('read ECONNRESET'), 1); // the close that follows it decides
  await glance.stop(); // resolves once everything queued was sent
  assert.deepEqual(await states('djs'), [State.OFFLINE, State.ONLINE]);
  assert.equal(client.listenerCount('shardReady'), 0);
  client.emit('shardReady', 0, new Set());
  await sleep(200);
  assert.deepEqual(await states('djs'), [State.OFFLINE, State.ONLINE], 'no report after stop()');

  const older = new Glance(client, options('djs')); // 'invalidated', as discord.js 14.0-14.8 emit it
  client.emit('invalidated');
  await untilStates('djs', [State.OFFLINE, State.OFFLINE]);
  await older.stop();
  await client.destroy();
});

test('discord.js: one report carries every shard\'s state, latency and guild counts, and repairs states', async () => {
  const client = newClient();
  for (const id of [0, 1]) client.ws.shards.set(id, new WebSocketShard(client.ws, id));
  const [s0, s1] = [client.ws.shards.get(0), client.ws.shards.get(1)];
  s0.status = Status.Ready; // as after its READY: the adapter reports it online from the start
  s0.ping = 41.6; // as discord.js sets it at each heartbeat ack
  for (const n of [0, 1, 2]) guildCreate(client, 0, n, { name: `a${n}`, member_count: 10 + n });
  guildCreate(client, 1, 0, { name: 'b', member_count: 7 });
  guildCreate(client, 1, 1, { unavailable: true });

  const glance = new Glance(client, options('djs_report'));
  assert.equal(await glance.report(), true);
  assert.deepEqual(await states('djs_report'), [State.ONLINE, State.STARTING]);
  assert.deepEqual(await figuresOf('djs_report', 0), { latency_ms: 42, guilds: 3, unavailable_guilds: 0, members: 33 });
  assert.deepEqual(await figuresOf('djs_report', 1),
    { latency_ms: null, guilds: 2, unavailable_guilds: 1, members: 7 }); // starting: no latency

  client.emit('shardReady', 1, new Set(['unavailable']));
  assert.equal(await glance.report(), true); // online, but no heartbeat acked yet (ping -1): still no latency
  assert.equal((await figuresOf('djs_report', 1)).latency_ms, null);
  s1.ping = 55;
  assert.equal(await glance.report(), true);
  assert.equal((await figuresOf('djs_report', 1)).latency_ms, 55);

  // whatever Glance was told in between, the next report says what the bot knows
  const r = await request(api.port, 'POST', `/api/status/djs_report/0/${State.UNHEALTHY}`,
    { headers: { authorization: PASSPHRASE } });
  assert.equal(r.status, 204, r.body);
  assert.equal(await glance.report(), true);
  assert.deepEqual(await states('djs_report'), [State.ONLINE, State.ONLINE]);

  assert.equal(await glance.stop({ state: State.STOPPING }), true);
  assert.deepEqual(await states('djs_report'), [State.STOPPING, State.STOPPING]);
  await client.destroy();
});

test('discord.js: the interval reports by itself', async () => {
  const client = newClient();
  const glance = new Glance(client, options('djs_timer', { interval: 100 }));
  client.emit('shardReady', 0, new Set());
  const figures = await waitUntil(async () => (await shard('djs_timer', 0)).figures,
    { timeoutMs: 3000, message: 'a periodic report' });
  assert.deepEqual(Object.fromEntries(FIGURES.map((k) => [k, figures[k]])),
    { latency_ms: null, guilds: 0, unavailable_guilds: 0, members: 0 }); // no shard in client.ws: no ping
  await glance.stop();
  await client.destroy();
});

test('discord.js: failures never reach the bot, are logged once per kind, and stop() ends the reports', async () => {
  const hits = [];
  const refusing = http.createServer((req, res) => {
    hits.push(`${req.method} ${req.url} ${req.headers.authorization}`);
    res.writeHead(503, { 'content-type': 'application/json' }).end('{"error":"redis is unreachable"}');
  });
  await new Promise((resolve) => refusing.listen(0, '127.0.0.1', resolve));
  const logged = [];
  const client = newClient();
  try {
    const glance = new Glance(client, { url: `http://127.0.0.1:${refusing.address().port}/`, cluster: 'main',
      passphrase: 'p', interval: 50, log: (line) => logged.push(line) });
    client.emit('shardReady', 0, new Set());
    // the interval's own reports, however slowly a loaded machine runs them: counted, not timed
    await waitUntil(() => hits.filter((h) => h === 'POST /api/clusters/main/report p').length >= 3,
      { timeoutMs: 20_000, message: 'three reports from the interval' });
    assert.equal(await glance.report(), false);
    await glance.stop();
    const count = hits.length;
    await sleep(200);
    assert.equal(hits.length, count, 'no request after stop()');
    assert.ok(hits.includes('POST /api/status/main/0/3 p'), hits.join('\n'));
    assert.ok(hits.filter((h) => h === 'POST /api/clusters/main/report p').length >= 3, hits.join('\n'));
    assert.equal(logged.length, 1, logged.join('\n'));
    assert.match(logged[0], /HTTP 503 \{"error":"redis is unreachable"\}/);

    const closed = await freePort();
    const noisy = new Glance(client, { url: `http://127.0.0.1:${closed}`, cluster: 'main', interval: 60_000,
      log: (line) => { logged.push(line); throw new Error('a logger that throws'); } });
    assert.equal(await noisy.report(), false); // the shards of client.options are known from the start
    assert.equal(await noisy.report(), false);
    await noisy.stop();
    assert.equal(logged.length, 2, logged.join('\n'));
    assert.match(logged[1], /ECONNREFUSED/);
  } finally {
    refusing.close();
    await client.destroy();
  }
  assert.deepEqual(rejections, []);
});

test('discord.py: examples/discord.py/test_glance.py passes against the replica', async () => {
  const child = spawn(PYTHON, [path.join(REPO_ROOT, 'examples', 'discord.py', 'test_glance.py')], {
    env: { ...process.env, PYTHONDONTWRITEBYTECODE: '1', GLANCE_URL: api.url, GLANCE_PASSPHRASE: PASSPHRASE,
      GLANCE_CLUSTERS: DPY_CLUSTERS.join(',') },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout.on('data', (d) => { output += d; });
  child.stderr.on('data', (d) => { output += d; });
  const code = await new Promise((resolve) => {
    const timer = setTimeout(() => child.kill('SIGKILL'), 60_000);
    child.on('close', (c) => { clearTimeout(timer); resolve(c); });
  });
  assert.equal(code, 0, output);
  assert.match(output, /Ran 4 tests/, output);
  assert.doesNotMatch(output, /skipped|Unclosed|Task was destroyed/, output);
});
