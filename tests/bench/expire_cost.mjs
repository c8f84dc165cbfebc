// expire_cost.mjs -- benchmark: what a transition made by the expire script costs Redis, without the replicas.
// N shards online in a fresh Redis, none with a health key, then expire.lua over them in batches of 1,000 (as the
// deadline path and the sweep send them), then the same batches again (every shard unhealthy by then: the checks
// the other replicas make of a shard one of them has turned). Redis's own count of the script's time (INFO
// commandstats) divided by N, once per Lua tree given, the trees taking turns round after round, so that two
// versions compare on this noisy machine.
// Usage: node tests/bench/expire_cost.mjs <shards> <rounds> <tree>...   a tree is a git revision, `.` (the work tree)
//        or a folder holding lib.lua and expire.lua
// Prints one JSON line per tree: the µs per transition and per repeated check in each round.
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { REPO_ROOT, startRedis, redis, cleanup } from '../integration/harness.mjs';

const BATCH = 1000;
const LOG_MAX = '10000';
const [shards, rounds] = [Number(process.argv[2] || 100000), Number(process.argv[3] || 3)];
const trees = process.argv.slice(4).length ? process.argv.slice(4) : ['.'];

function source(tree, file) {
  const rel = `services/api/redis/lua/${file}`;
  if (tree === '.') return readFileSync(path.join(REPO_ROOT, rel), 'utf8');
  if (existsSync(path.join(tree, file))) return readFileSync(path.join(tree, file), 'utf8'); // a folder of Lua files
  return execFileSync('git', ['show', `${tree}:${rel}`], { cwd: REPO_ROOT, encoding: 'utf8', maxBuffer: 1 << 24 });
}

const k = (s) => `glance:{main}:${s}`;
const HISTORY = ['history', 'maint', 'recent', 'flapping', 'log'].map(k);

async function scriptUsec(port) {
  const m = /cmdstat_evalsha:calls=(\d+),usec=(\d+)/.exec(await redis(port, 'INFO', 'commandstats'));
  return m ? Number(m[2]) : 0;
}

/** Runs expire.lua over every shard once; resolves the script's Redis µs and how many shards it turned. */
async function pass(port, sha) {
  const before = await scriptUsec(port);
  let turned = 0;
  for (let first = 0; first < shards; first += BATCH) {
    const ids = Array.from({ length: Math.min(BATCH, shards - first) }, (_, i) => String(first + i));
    const keys = [k('states'), k('since'), k('ver'), ...HISTORY, ...ids.map((id) => k(`hb:${id}`))];
    turned += Number(await redis(port, 'EVALSHA', sha, keys.length, ...keys, 'glance:bench', 'main', LOG_MAX, ...ids));
  }
  return { usec: (await scriptUsec(port)) - before, turned };
}

async function once(tree) {
  const rds = await startRedis();
  try {
    const sha = await redis(rds.port, 'SCRIPT', 'LOAD', `${source(tree, 'lib.lua')}\n${source(tree, 'expire.lua')}`);
    await redis(rds.port, 'EVAL', "redis.call('SET', KEYS[1], string.rep('3', tonumber(ARGV[1]))) return 1", '1', k('states'), shards);
    // the cluster's last change a second back, every shard online: the first transition accounts that second
    await redis(rds.port, 'HSET', k('history'), 'at', String(Date.now() - 1000), 'n', `0 0 ${shards} 0 0 0`);
    const first = await pass(rds.port, sha);
    const again = await pass(rds.port, sha);
    if (first.turned !== shards || again.turned !== 0) throw new Error(`${tree}: turned ${first.turned} then ${again.turned} of ${shards}`);
    const ver = Number(await redis(rds.port, 'GET', k('ver')));
    if (ver !== shards) throw new Error(`${tree}: version ${ver} after ${shards} transitions`);
    return { transition: first.usec / shards, check: again.usec / shards };
  } finally {
    await rds.stop();
  }
}

const results = new Map(trees.map((t) => [t, []]));
try {
  for (let r = 0; r < rounds; r++) {
    for (const t of trees) results.get(t).push(await once(t));
  }
} finally {
  await cleanup();
}
for (const [tree, runs] of results) {
  const r2 = (x) => Math.round(x * 100) / 100;
  console.log(JSON.stringify({ tree, shards, us_per_transition: runs.map((x) => r2(x.transition)),
    us_per_repeated_check: runs.map((x) => r2(x.check)) }));
}
