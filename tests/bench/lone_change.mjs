// lone_change.mjs -- how long a state change takes from its POST to a feed client when the feed is otherwise
// quiet (a small bot, a calm night): one change every `gap` ms, each the only one in its interval; p50/p99/max of
// POST sent -> update frame received, per binary, in the same run. Not part of tests/bench/run.
// Run: node tests/bench/lone_change.mjs [changes=40] [gap_ms=400] [binary ...]   (default build/glance-api)
import path from 'node:path';
import { startRedis, startApi, request, openFeed, hasChange, sleep, cleanup, REPO_ROOT } from '../integration/harness.mjs';
import { percentile } from './lib.mjs';

const [count = 40, gap = 400] = process.argv.slice(2, 4).map(Number);
const binaries = process.argv.slice(4);
if (!binaries.length) binaries.push(path.join(REPO_ROOT, 'build', 'glance-api'));

const rds = await startRedis();
for (const bin of binaries) {
  const api = await startApi({ redisPort: rds.port, bots: 'main:360', bin });
  const feed = await openFeed(api.port);
  await feed.waitFor((m) => m.type === 'hello', 5000, { what: 'hello' });
  const ms = [];
  for (let i = 0; i < count; i++) {
    const state = i % 2 ? 3 : 4;
    const from = feed.mark();
    const sent = Date.now();
    const r = await request(api.port, 'POST', `/api/status/main/7/${state}`);
    if (r.status !== 204) throw new Error(`POST answered ${r.status}`);
    const m = await feed.waitFor((x) => hasChange(x, 'main', 7, state), 15000, { from, what: 'the change' });
    ms.push(m.receivedAt - sent);
    await sleep(gap);
  }
  ms.sort((a, b) => a - b);
  console.log(JSON.stringify({ binary: bin, changes: count, gap_ms: gap, p50_ms: percentile(ms, 50), p99_ms: percentile(ms, 99), max_ms: ms[ms.length - 1] }));
  feed.close();
  await api.stop();
}
await cleanup();
