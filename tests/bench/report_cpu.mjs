// report_cpu.mjs -- benchmark: which process pays for each report mode of tests/bench/report.lua. 10,000 shards
// online through one replica, then wrk (-t1 -c32, 3 s) a mode at a time, twice over: the CPU time redis-server and
// glance-api spent per request (/proc/<pid>/stat) and Redis's own time per EVALSHA (INFO commandstats).
// Usage: node tests/bench/report_cpu.mjs [modes=single,figures,gateway]   (GLANCE_API_BIN picks the build)
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { REPO_ROOT, makeTempDir, redis, request, startApi, startRedis } from '../integration/harness.mjs';

const cpuMs = (pid) => {
  const f = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
  return (Number(f[11]) + Number(f[12])) * 10; // utime + stime, in 10 ms ticks
};
const modes = (process.argv[2] || 'single,figures,gateway').split(',');
const rds = await startRedis({ dir: makeTempDir() });
const api = await startApi({ redisPort: rds.port, bots: 'main:10000' });
try {
  for (let first = 0; first < 10000; first += 1000) {
    const shards = Array.from({ length: 1000 }, (_, i) => ({ id: first + i, state: 3 }));
    const r = await request(api.port, 'POST', '/api/clusters/main/report',
      { headers: { 'content-type': 'application/json' }, body: JSON.stringify({ shards }) });
    if (r.status !== 200) throw new Error(`seeding: ${r.status} ${r.body}`);
  }
  for (let round = 0; round < 2; round++) {
    for (const mode of modes) {
      await redis(rds.port, 'CONFIG', 'RESETSTAT');
      const r0 = cpuMs(rds.pid), a0 = cpuMs(api.pid);
      const out = execFileSync('wrk', ['-t1', '-c32', '-d3s', '-s', path.join(REPO_ROOT, 'tests/bench/report.lua'), api.url],
        { env: { ...process.env, BENCH_SHARDS: '10000', BENCH_MODE: mode, BENCH_BATCH: '256' }, encoding: 'utf8' });
      const n = Number(/(\d+) requests in/.exec(out)[1]);
      const ev = /cmdstat_evalsha:calls=\d+,usec=\d+,usec_per_call=([\d.]+)/.exec(String(await redis(rds.port, 'INFO', 'commandstats')));
      console.log(JSON.stringify({ mode, requests_per_s: Math.round(n / 3), redis_us_per_evalsha: ev ? Number(ev[1]) : null,
        redis_cpu_us_per_request: +((cpuMs(rds.pid) - r0) * 1000 / n).toFixed(1),
        replica_cpu_us_per_request: +((cpuMs(api.pid) - a0) * 1000 / n).toFixed(1) }));
    }
  }
} finally {
  await api.stop();
  await rds.stop();
}
