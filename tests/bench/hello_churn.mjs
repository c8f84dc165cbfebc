// hello_churn.mjs -- what new feed clients cost a replica while a bot changes a shard every `churn` ms: N shards
// online, `clients` WebSocket clients connecting over a second, each waiting for its hello. Reports the replica's
// CPU over that second and the hellos it encoded (glance_feed_hellos_encoded_total), per binary, in the same run.
// Not part of tests/bench/run; the before/after figures in docs/RELIABILITY.md come from it.
// Run: node tests/bench/hello_churn.mjs [shards=1000000] [clients=100] [churn_ms=10] [binary ...]
import http from 'node:http';
import path from 'node:path';
import { startRedis, startApi, getMetrics, metricValue, openFeed, sleep, cleanup, REPO_ROOT } from '../integration/harness.mjs';
import { cpuSeconds, setOnline, churn } from './lib.mjs';

const [shards = 1000000, clients = 100, churnMs = 10] = process.argv.slice(2, 5).map(Number);
const binaries = process.argv.slice(5);
if (!binaries.length) binaries.push(path.join(REPO_ROOT, 'build', 'glance-api'));

const agent = new http.Agent({ keepAlive: true, maxSockets: 8 });

async function measure(bin) {
  const r = await startRedis();
  const api = await startApi({ redisPort: r.port, bots: `main:${shards}`, bin, healthTimeout: 600 });
  await setOnline(api.port, agent, 'main', shards);
  await sleep(1000);
  const writer = churn(api.port, agent, 'main', shards, churnMs);
  await sleep(500);
  const hellos0 = metricValue(await getMetrics(api.port), 'glance_feed_hellos_encoded_total');
  const cpu0 = cpuSeconds(api.pid);
  const started = Date.now();
  const feeds = [];
  for (let i = 0; i < clients; i++) {
    feeds.push(openFeed(api.port, { timeoutMs: 30000 }));
    await sleep(1000 / clients);
  }
  const opened = await Promise.all(feeds);
  await Promise.all(opened.map((f) => f.waitFor((m) => m.type === 'hello', 30000, { what: 'a hello' })));
  const allHelloMs = Date.now() - started;
  const cpu = cpuSeconds(api.pid) - cpu0;
  const hellos = metricValue(await getMetrics(api.port), 'glance_feed_hellos_encoded_total') - hellos0;
  for (const f of opened) f.close();
  const n = await writer.stop();
  await api.stop();
  await r.stop();
  return { binary: bin, shards, clients, churn_ms: churnMs, changes: n, replica_cpu_s: +cpu.toFixed(3),
    hellos_encoded: hellos, all_hellos_ms: allHelloMs };
}

try {
  for (const bin of binaries) console.log(JSON.stringify(await measure(bin)));
} finally {
  agent.destroy();
  await cleanup();
}
