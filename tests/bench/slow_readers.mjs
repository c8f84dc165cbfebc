// slow_readers.mjs -- what readers that never read cost a replica: N shards, one change every `churn` ms, and
// `readers` connections that each send one GET of `route` and never read the answer (opened 100 a second).
// Reports the replica's RSS before, with the readers and after they closed, the bodies rendered, and its CPU.
// Not part of tests/bench/run; the before/after figures in docs/RELIABILITY.md come from it.
// Run: node tests/bench/slow_readers.mjs [shards=20000] [readers=300] [route=/plain] [churn_ms=10] [binary ...]
import net from 'node:net';
import http from 'node:http';
import path from 'node:path';
import { startRedis, startApi, getMetrics, metricValue, sleep, cleanup, REPO_ROOT } from '../integration/harness.mjs';
import { rssKiB, cpuSeconds, setOnline, churn } from './lib.mjs';

const [shards = 20000, readers = 300] = process.argv.slice(2, 4).map(Number);
const route = process.argv[4] || '/plain';
const churnMs = Number(process.argv[5] || 10);
const binaries = process.argv.slice(6);
if (!binaries.length) binaries.push(path.join(REPO_ROOT, 'build', 'glance-api'));

const agent = new http.Agent({ keepAlive: true, maxSockets: 8 });

async function measure(bin) {
  const r = await startRedis();
  const env = process.env.GLANCE_READER_BYTES_MAX_MB ? { GLANCE_READER_BYTES_MAX_MB: process.env.GLANCE_READER_BYTES_MAX_MB } : {};
  const api = await startApi({ redisPort: r.port, bots: `main:${shards}`, bin, healthTimeout: 600, env });
  await setOnline(api.port, agent, 'main', shards);
  await sleep(500);
  const writer = churn(api.port, agent, 'main', shards, churnMs);
  await sleep(300);
  const m0 = await getMetrics(api.port);
  const rss0 = rssKiB(api.pid);
  const cpu0 = cpuSeconds(api.pid);
  const socks = [];
  for (let i = 0; i < readers; i++) {
    const s = net.connect({ host: '127.0.0.1', port: api.port });
    s.on('error', () => {});
    s.on('connect', () => { s.write(`GET ${route} HTTP/1.1\r\nHost: bench\r\n\r\n`); s.pause(); });
    socks.push(s);
    if (i % 10 === 9) await sleep(100);
  }
  await sleep(2000);
  const rssWith = rssKiB(api.pid);
  const cpu = cpuSeconds(api.pid) - cpu0;
  const m1 = await getMetrics(api.port);
  const closedByServer = socks.filter((s) => s.destroyed || s.readableEnded).length;
  for (const s of socks) s.destroy();
  const n = await writer.stop();
  await sleep(1500);
  const rssAfter = rssKiB(api.pid);
  const rendered = (name) => metricValue(m1, 'glance_bodies_rendered_total', { body: name }) - metricValue(m0, 'glance_bodies_rendered_total', { body: name });
  const out = { binary: bin, shards, readers, route, churn_ms: churnMs, changes: n,
    rss_mib: { before: +(rss0 / 1024).toFixed(1), with_readers: +(rssWith / 1024).toFixed(1), after_close: +(rssAfter / 1024).toFixed(1) },
    growth_mib: +((rssWith - rss0) / 1024).toFixed(1), cpu_s: +cpu.toFixed(2),
    renders: { plain: rendered('plain'), status: rendered('status') },
    readers_closed_by_replica: metricValue(m1, 'glance_slow_readers_closed_total') ?? null, sockets_ended: closedByServer };
  await api.stop();
  await r.stop();
  return out;
}

try {
  for (const bin of binaries) console.log(JSON.stringify(await measure(bin)));
} finally {
  agent.destroy();
  await cleanup();
}
