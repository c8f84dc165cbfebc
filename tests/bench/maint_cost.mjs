// maint_cost.mjs -- what the maintenance windows booked for a cluster cost each of its state changes: every
// transition reads and parses the cluster's maint hash (lib.lua, windows). Redis's own time per transition script
// call (INFO commandstats, usec_per_call of evalsha) over `changes` POSTs with no window, then with `windows` future
// windows booked through the API (50: the most that can be open), in the same run. Not part of tests/bench/run.
// With several binaries, each is measured in turn, the first again at the end (before/after on a noisy machine).
// Run: node tests/bench/maint_cost.mjs [changes=4000] [windows=50] [rounds=3] [binary ...]   (default build/glance-api)
import path from 'node:path';
import { startRedis, startApi, request, redis, cleanup, REPO_ROOT } from '../integration/harness.mjs';

const [changes = 4000, windows = 50, rounds = 3] = process.argv.slice(2, 5).map(Number);
const binaries = process.argv.slice(5);
if (!binaries.length) binaries.push(path.join(REPO_ROOT, 'build', 'glance-api'));
if (binaries.length > 1) binaries.push(binaries[0]);
const PASS = 'maint-cost-passphrase-0123';
const AUTH = { authorization: `Bearer ${PASS}`, 'content-type': 'application/json' };

for (const bin of binaries) {
  const rds = await startRedis();
  const api = await startApi({ redisPort: rds.port, bots: 'main:360', passphrase: PASS, bin });

  /** Redis's microseconds per evalsha over `changes` alternating state POSTs (one shard at a time, one at once). */
  async function usPerChange() {
    await redis(rds.port, 'CONFIG', 'RESETSTAT');
    for (let i = 0; i < changes; i++) {
      const r = await request(api.port, 'POST', `/api/status/main/${i % 360}/${i % 720 < 360 ? 3 : 4}`, { headers: AUTH });
      if (r.status !== 204) throw new Error(`POST answered ${r.status}: ${r.body}`);
    }
    const line = (await redis(rds.port, 'INFO', 'commandstats')).split('\n').find((l) => l.startsWith('cmdstat_evalsha:'));
    const m = /calls=(\d+),usec=(\d+),usec_per_call=([\d.]+)/.exec(line);
    return { calls: Number(m[1]), us: Number(m[3]) };
  }

  const results = [];
  const none = [];
  const booked = [];
  for (let r = 0; r < rounds; r++) none.push(await usPerChange());
  const now = Date.now();
  for (let w = 0; w < windows; w++) {
    const starts = new Date(now + (w + 1) * 3600000).toISOString();
    const ends = new Date(now + (w + 1) * 3600000 + 1800000).toISOString();
    const res = await request(api.port, 'POST', '/api/maintenance', { headers: AUTH, body: JSON.stringify({
      title: `Window ${w}`, clusters: ['main'], text: 'Planned restarts.', starts, ends }) });
    if (res.status !== 201) throw new Error(`maintenance ${w} answered ${res.status}: ${res.body}`);
  }
  const fields = Number(await redis(rds.port, 'HLEN', 'glance:{main}:maint'));
  for (let r = 0; r < rounds; r++) booked.push(await usPerChange());
  const median = (xs) => xs.map((x) => x.us).sort((a, b) => a - b)[Math.floor(xs.length / 2)];
  results.push({ binary: bin, changes, rounds, windows_in_maint_hash: fields, us_per_change_no_window: none.map((x) => x.us),
    us_per_change_with_windows: booked.map((x) => x.us), ratio_of_medians: +(median(booked) / median(none)).toFixed(3) });
  console.log(JSON.stringify(results[0]));
  await api.stop();
  await rds.stop();
}
await cleanup();
