// subscribers.mjs -- benchmark for issue 29, item 4: 10,000 subscribers of one cluster told of one incident, against
// the fake Discord of tests/integration/discord.mjs on loopback (each answer held 20 ms, as a real webhook takes a
// while). Reported per row: the time from the incident's POST to the last message, the messages a second, the sending
// replica's peak RSS, the Redis bytes per subscription (the subs hash, the cluster's set and the hooks hash, by
// MEMORY USAGE), and for the row whose sender is killed (SIGKILL) half-way, what the other replica made of it: none
// skipped, and how many went twice (only those in flight at the kill can). Two replicas, one Redis.
// Usage: node tests/bench/subscribers.mjs [--subscribers 10000] [--rates 50,1000] [--kill-rate 1000]; prints Markdown.
import { readFileSync } from 'node:fs';
import { redis, request, startApi, startRedis, waitUntil } from '../integration/harness.mjs';
import { startDiscord } from '../integration/discord.mjs';
import { seedSubscriptions } from '../integration/seed_subscriptions.mjs';
import { machine } from './lib.mjs';

const argv = process.argv.slice(2);
const arg = (name, dflt) => { const i = argv.indexOf(`--${name}`); return i >= 0 ? argv[i + 1] : dflt; };
const N = Number(arg('subscribers', 10000));
const RATES = String(arg('rates', '50,1000')).split(',').map(Number);
const KILL_RATE = Number(arg('kill-rate', 1000));
const PASS = 'subscribers-bench-passphrase';
const rssMiB = (pid) => { try { return Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))[1]) / 1024; } catch { return 0; } };

async function row(rate, kill) {
  const rds = await startRedis();
  const discord = await startDiscord({ rateLimit: { limit: 1000, windowMs: 1000 } });
  const env = { GLANCE_SUBSCRIBE_ORIGINS: discord.base, GLANCE_SUBSCRIBER_RATE: rate, GLANCE_ALERT_TIMEOUT_MS: 2000 };
  const apis = [];
  for (let i = 0; i < 2; i++) apis.push(await startApi({ redisPort: rds.port, bots: 'main:360', passphrase: PASS, env }));
  try {
    const urls = await seedSubscriptions(rds.port, discord, N, { firstId: 1 });
    let bytes = 0;
    for (const k of ['glance:subs', 'glance:{main}:subs', 'glance:subs:hooks']) bytes += Number(await redis(rds.port, 'MEMORY', 'USAGE', k, 'SAMPLES', '0'));
    for (let i = 0; i < N * 2; i++) discord.setNext({ delayMs: 20 });
    const told = () => [...discord.messages.values()].filter((m) => m.embeds[0].title === 'Incident: main is down');
    const started = Date.now();
    const r = await request(apis[0].port, 'POST', '/api/incidents', {
      headers: { authorization: `Bearer ${PASS}`, 'content-type': 'application/json' },
      body: JSON.stringify({ title: 'main is down', impact: 'critical', clusters: ['main'], text: 'Every shard.' }),
    });
    if (r.status !== 201) throw new Error(`incident: ${r.status} ${r.body}`);
    let peak = 0;
    let killedAt = null;
    let sender = null;
    const deadline = started + (N / rate) * 1000 * 3 + 60000;
    while (Date.now() < deadline) {
      const holder = await redis(rds.port, 'GET', 'glance:notify:sender');
      sender = apis.find((a) => holder.includes(`:${a.pid}`)) || sender;
      if (sender) peak = Math.max(peak, rssMiB(sender.pid));
      const n = new Set(told().map((m) => m.webhookId)).size;
      if (kill && killedAt === null && n >= N / 2 && sender) {
        sender.kill('SIGKILL');
        await sender.exited;
        killedAt = n;
      }
      if (n >= N) break;
      await new Promise((res) => setTimeout(res, 100));
    }
    const last = Math.max(...told().map((m) => m.createdAt));
    const count = new Map();
    for (const m of told()) count.set(m.webhookId, (count.get(m.webhookId) || 0) + 1);
    const skipped = urls.filter((u) => !count.has(discord.idOf(u))).length;
    const twice = urls.filter((u) => count.get(discord.idOf(u)) > 1).length;
    const seconds = (last - started) / 1000;
    return { rate, kill, seconds, perSecond: told().length / seconds, peak, bytesPer: bytes / N, skipped, twice, killedAt };
  } finally {
    for (const a of apis) if (a.alive()) await a.stop();
    await rds.stop();
    await discord.close();
  }
}

const rows = [];
for (const rate of RATES) rows.push(await row(rate, false));
rows.push(await row(KILL_RATE, true));
const m = machine();
console.log(`\n${N.toLocaleString('en-US')} subscribers of one cluster, one incident; fake Discord on loopback, 20 ms an answer; ${m.nproc} cores, ${m.cpu}, ${new Date().toISOString().slice(0, 10)}\n`);
console.log('| GLANCE_SUBSCRIBER_RATE | sender | to the last message | messages/s | sender peak RSS | Redis bytes / subscription | skipped | twice |');
console.log('|---|---|---|---|---|---|---|---|');
for (const r of rows) {
  console.log(`| ${r.rate} | ${r.kill ? `killed (SIGKILL) at ${r.killedAt.toLocaleString('en-US')} told` : 'one, throughout'} | ${r.seconds.toFixed(1)} s | ${r.perSecond.toFixed(0)} | ${r.peak.toFixed(1)} MiB | ${r.bytesPer.toFixed(0)} | ${r.skipped} | ${r.twice} |`);
}
