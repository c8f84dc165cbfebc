// idle_cost.mjs -- benchmark: what a healthy fleet that changes nothing costs Redis. N shards set online through
// three replicas (health timeout 600 s, so no deadline comes due), then Redis's own CPU (INFO cpu) over 10 idle
// seconds and the commands it ran. The replicas' sweeps are what runs then. Not part of tests/bench/run.
// Usage: node tests/bench/idle_cost.mjs [shards=100000] [binary ...]   (default: build/glance-api)
import http from 'node:http';
import path from 'node:path';
import { REPO_ROOT, startRedis, startApi, redis, sleep, cleanup } from '../integration/harness.mjs';
import { setOnline } from './lib.mjs';

const shards = Number(process.argv[2] || 100000);
const binaries = process.argv.slice(3).length ? process.argv.slice(3) : [path.join(REPO_ROOT, 'build', 'glance-api')];
const IDLE_S = 10;

async function redisCpu(port) {
  const info = await redis(port, 'INFO', 'cpu');
  const get = (k) => Number(new RegExp(`${k}:([\\d.]+)`).exec(info)[1]);
  return get('used_cpu_user') + get('used_cpu_sys');
}

async function measure(bin) {
  const rds = await startRedis();
  const replicas = [];
  try {
    for (let i = 0; i < 3; i++) replicas.push(await startApi({ redisPort: rds.port, bots: `main:${shards}`, healthTimeout: 600, bin }));
    const agent = new http.Agent({ keepAlive: true, maxSockets: 8 });
    await setOnline(replicas[0].port, agent, 'main', shards);
    agent.destroy();
    await sleep(2000);
    await redis(rds.port, 'CONFIG', 'RESETSTAT');
    const cpu0 = await redisCpu(rds.port);
    await sleep(IDLE_S * 1000);
    const cpu = await redisCpu(rds.port) - cpu0;
    const stats = await redis(rds.port, 'INFO', 'commandstats');
    const commands = [...stats.matchAll(/cmdstat_(\w+):calls=(\d+),usec=(\d+)/g)]
      .map(([, c, calls, usec]) => ({ command: c, calls: Number(calls), ms: Math.round(Number(usec) / 1000) }))
      .sort((a, b) => b.ms - a.ms).slice(0, 4);
    return { bin, shards, replicas: 3, idle_s: IDLE_S, redis_cpu_ms_per_s: Math.round(cpu * 1000 / IDLE_S), commands };
  } finally {
    for (const r of replicas) await r.stop();
    await rds.stop();
  }
}

try {
  for (const bin of binaries) console.log(JSON.stringify(await measure(bin)));
} finally {
  await cleanup();
}
