// shard_notices.mjs -- benchmark for issue 29, item 2: servers told of the shard that serves them. Two rows.
// 1. An outage: 10,000 servers subscribed, each served by its own shard of a 10,000-shard cluster, and every shard
//    going offline at once, then coming back: the time from the end of the fall's delay (GLANCE_ALERT_DELAY) to the
//    last "down" message, and from the end of the back's delay to the last edit; the notify entries it took (one per
//    shard_notice.lua call that said something, not one per shard), the messages posted and edited, the Redis bytes
//    the episodes and the kept message ids cost per server. Fake Discord on loopback, 20 ms an answer, two replicas.
// 2. What it costs when nobody listens: 100,000 shards coming online (every one a change each replica asks about once
//    the delay has passed), Redis's EVALSHA calls and time over the delay and 3 s more, against the same with
//    subscriptions off (GLANCE_SUBSCRIPTIONS_MAX=0, nothing asked), three replicas.
// Usage: node tests/bench/shard_notices.mjs [--servers 10000] [--shards 100000] [--rate 1000]; prints Markdown.
import http from 'node:http';
import { redis, sleep, startApi, startRedis, waitUntil } from '../integration/harness.mjs';
import { startDiscord } from '../integration/discord.mjs';
import { seedSubscriptions } from '../integration/seed_subscriptions.mjs';
import { machine, setOnline } from './lib.mjs';

const argv = process.argv.slice(2);
const arg = (name, dflt) => { const i = argv.indexOf(`--${name}`); return i >= 0 ? argv[i + 1] : dflt; };
const SERVERS = Number(arg('servers', 10000));
const SHARDS = Number(arg('shards', 100000));
const RATE = Number(arg('rate', 1000));
const DELAY_S = 2;
const PASS = 'shard-notices-bench-passphrase';

/** Every shard of `cluster` set to `state` through batch reports of 1,000. */
async function setAll(port, agent, cluster, shards, state) {
  for (let b = 0; b < shards; b += 1000) {
    const body = JSON.stringify({ shards: Array.from({ length: Math.min(1000, shards - b) }, (_, i) => ({ id: b + i, state })) });
    const status = await new Promise((resolve, reject) => {
      const req = http.request({ host: '127.0.0.1', port, method: 'POST', path: `/api/clusters/${cluster}/report`, agent,
        headers: { authorization: `Bearer ${PASS}`, 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) } });
      req.on('response', (res) => { res.resume(); res.on('end', () => resolve(res.statusCode)); });
      req.on('error', reject);
      req.end(body);
    });
    if (status !== 200) throw new Error(`batch report at ${b}: ${status}`);
  }
}

const evalsha = async (port) => {
  const m = /cmdstat_evalsha:calls=(\d+),usec=(\d+)/.exec(await redis(port, 'INFO', 'commandstats'));
  return m ? { calls: Number(m[1]), ms: Number(m[2]) / 1000 } : { calls: 0, ms: 0 };
};

async function outage() {
  const rds = await startRedis();
  const discord = await startDiscord({ rateLimit: { limit: 1000, windowMs: 1000 } });
  const env = { GLANCE_SUBSCRIBE_ORIGINS: discord.base, GLANCE_SUBSCRIBER_RATE: RATE, GLANCE_ALERT_TIMEOUT_MS: 2000,
    GLANCE_ALERT_DELAY: DELAY_S };
  const apis = [];
  for (let i = 0; i < 2; i++) apis.push(await startApi({ redisPort: rds.port, bots: `main:${SERVERS}`, passphrase: PASS, healthTimeout: 3600, env }));
  const agent = new http.Agent({ keepAlive: true, maxSockets: 4 });
  try {
    await seedSubscriptions(rds.port, discord, SERVERS, { firstId: 1, shardOf: (i) => i });
    const subsBefore = Number(await redis(rds.port, 'MEMORY', 'USAGE', 'glance:subs', 'SAMPLES', '0'));
    await setAll(apis[0].port, agent, 'main', SERVERS, 3);
    await sleep(DELAY_S * 1000 + 2000);
    for (let i = 0; i < SERVERS * 3; i++) discord.setNext({ delayMs: 20 });
    const titled = (t) => [...discord.messages.values()].filter((m) => m.embeds[0].title === t);

    /** Every shard set to `state`; resolves when every server's message shows `title`: that moment, the last
     * message's (`at`: createdAt or editedAt), and the notify entries it took. */
    const round = async (state, title, at) => {
      const entries = Number(await redis(rds.port, 'XLEN', 'glance:notify'));
      await setAll(apis[0].port, agent, 'main', SERVERS, state);
      const changedAt = Date.now();
      await waitUntil(() => titled(title).length >= SERVERS,
        { timeoutMs: (SERVERS / RATE) * 3000 + 60000, intervalMs: 100, message: `every server's message: ${title}` });
      return { seconds: (Math.max(...titled(title).map((m) => m[at])) - changedAt - DELAY_S * 1000) / 1000,
        entries: Number(await redis(rds.port, 'XLEN', 'glance:notify')) - entries };
    };
    const fall = await round(2, "Your server's shard is down", 'createdAt');
    const back = await round(3, "Your server's shard is back", 'editedAt');
    const episodes = Number(await redis(rds.port, 'MEMORY', 'USAGE', 'glance:{main}:episodes', 'SAMPLES', '0'));
    const subsAfter = Number(await redis(rds.port, 'MEMORY', 'USAGE', 'glance:subs', 'SAMPLES', '0'));
    return {
      down: fall.seconds, back: back.seconds, entries: `${fall.entries} + ${back.entries}`,
      edits: titled("Your server's shard is back").length,
      posts: [...discord.messages.values()].filter((m) => m.embeds[0].title.startsWith('Your server')).length,
      bytesPer: (episodes + subsAfter - subsBefore) / SERVERS,
    };
  } finally {
    agent.destroy();
    for (const a of apis) if (a.alive()) await a.stop();
    await rds.stop();
    await discord.close();
  }
}

async function idle(max) {
  const rds = await startRedis();
  const apis = [];
  for (let i = 0; i < 3; i++) {
    apis.push(await startApi({ redisPort: rds.port, bots: `main:${SHARDS}`, healthTimeout: 3600,
      env: { GLANCE_ALERT_DELAY: DELAY_S, GLANCE_SUBSCRIPTIONS_MAX: max } }));
  }
  const agent = new http.Agent({ keepAlive: true, maxSockets: 8 });
  try {
    await setOnline(apis[0].port, agent, 'main', SHARDS);
    await redis(rds.port, 'CONFIG', 'RESETSTAT');
    await sleep(DELAY_S * 1000 + 3000);
    return evalsha(rds.port);
  } finally {
    agent.destroy();
    for (const a of apis) await a.stop();
    await rds.stop();
  }
}

const o = await outage();
const on = await idle(100000);
const off = await idle(0);
const m = machine();
const date = new Date().toISOString().slice(0, 10);
console.log(`\n${SERVERS.toLocaleString('en-US')} servers subscribed, each served by its own shard of one cluster; every shard offline at once, then online; GLANCE_SUBSCRIBER_RATE ${RATE}, GLANCE_ALERT_DELAY ${DELAY_S} s, fake Discord on loopback (20 ms an answer), two replicas; ${m.nproc} cores, ${m.cpu}, ${date}\n`);
console.log('| the delay over → the last "down" message | → the last "back" edit | notify entries (fall + back) | messages posted | edited to "back" | Redis bytes per server (episode + message id) |');
console.log('|---|---|---|---|---|---|');
console.log(`| ${o.down.toFixed(1)} s | ${o.back.toFixed(1)} s | ${o.entries} | ${o.posts.toLocaleString('en-US')} | ${o.edits.toLocaleString('en-US')} | ${o.bytesPer.toFixed(0)} |`);
console.log(`\n${SHARDS.toLocaleString('en-US')} shards coming online, no server subscribed: Redis's EVALSHA over the ${DELAY_S} s delay and 3 s more, three replicas\n`);
console.log('| subscriptions | EVALSHA calls | their Redis time |');
console.log('|---|---|---|');
console.log(`| on (every change asked about once the delay passed) | ${on.calls.toLocaleString('en-US')} | ${on.ms.toFixed(1)} ms |`);
console.log(`| off (GLANCE_SUBSCRIPTIONS_MAX=0) | ${off.calls.toLocaleString('en-US')} | ${off.ms.toFixed(1)} ms |`);
