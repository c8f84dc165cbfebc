// sweep.mjs -- how long the sweep takes to catch shards whose health ran out while no replica ran: N shards
// online in Redis with no health key at all, then one replica starts; the time from /readyz 200 until every
// shard is unhealthy. Nothing else happens meanwhile, so this is the sweep alone (SWEEP_PER_TICK shards a
// second per replica). Not part of tests/bench/run.
// Run: node tests/bench/sweep.mjs [shards ...]   (default 100000 1000000)
import { startRedis, startApi, redis, sleep, cleanup } from '../integration/harness.mjs';

const sizes = process.argv.slice(2).map(Number).filter((n) => n > 0);
const COUNT_LUA = `local s = redis.call('GET', KEYS[1]) or '' local n = 0
for _ in string.gmatch(s, '1') do n = n + 1 end return n`;

for (const shards of sizes.length ? sizes : [100000, 1000000]) {
  const rds = await startRedis();
  await redis(rds.port, 'EVAL', `redis.call('SET', KEYS[1], string.rep('3', tonumber(ARGV[1]))) return 1`, '1', 'glance:{main}:states', shards);
  const api = await startApi({ redisPort: rds.port, bots: `main:${shards}` });
  const ready = Date.now();
  let unhealthy = 0;
  const deadline = ready + Math.max(30000, shards / 10);
  while (unhealthy < shards && Date.now() < deadline) {
    await sleep(250);
    unhealthy = Number(await redis(rds.port, 'EVAL', COUNT_LUA, '1', 'glance:{main}:states'));
  }
  const ms = Date.now() - ready;
  console.log(JSON.stringify({ shards, unhealthy, msAfterReady: ms, perSecond: Math.round(unhealthy / (ms / 1000)) }));
  await api.stop();
  await rds.stop?.();
}
await cleanup();
