// seed_subscriptions.mjs -- subscriptions written straight into Redis as subscription.lua's "add" writes them, for
// the tests and the benchmark that need hundreds or thousands: making them through the API would take a
// confirmation each, 120 a minute at most (its own bound). Each gets a fresh webhook of the fake Discord. And one
// made through the API, as a visitor makes it, for the tests that need a few.

import assert from 'node:assert/strict';
import { redis, request } from './harness.mjs';

/** Subscribes a fresh webhook of `discord` to `scope` through the replica on `port`; resolves {url, ...the 201's body}. */
export async function subscribeThrough(port, discord, scope) {
  const url = discord.url();
  const r = await request(port, 'POST', '/api/subscriptions',
    { headers: { 'content-type': 'application/json' }, body: JSON.stringify({ webhook_url: url, scope }) });
  assert.equal(r.status, 201, r.body);
  return { url, ...r.json() };
}

/** Writes `n` subscriptions to the clusters `clusters`, ids from `firstId`; resolves their webhook URLs in order.
 * With `shardOf` (i -> shard), subscription i is a server's instead, served by that shard in each of the clusters. */
export async function seedSubscriptions(rdsPort, discord, n, { firstId, clusters = ['main'], prefix = 'glance', shardOf }) {
  const urls = [];
  const records = [];
  for (let i = 0; i < n; i++) {
    const url = discord.url();
    urls.push(url);
    records.push(JSON.stringify({ id: firstId + i, url: url.replace('/api/webhooks/', '/api/v10/webhooks/'),
      hook: discord.idOf(url), shown: `webhook ${discord.idOf(url)}`, secret: '0'.repeat(32), created_ms: Date.now(),
      base: 'https://status.example.com', json: false,
      ...(shardOf ? { scope: 'guild', guild: String(firstId + i), shards: Object.fromEntries(clusters.map((c) => [c, shardOf(i)])) }
        : { scope: 'clusters', clusters }) }));
  }
  for (let i = 0; i < n; i += 200) {
    await redis(rdsPort, 'EVAL', `local names = cjson.decode(ARGV[1])
      for i = 2, #ARGV do
        local rec = cjson.decode(ARGV[i])
        redis.call('HSET', KEYS[1], rec.id, ARGV[i])
        redis.call('HINCRBY', KEYS[2], rec.hook, 1)
        for _, c in ipairs(names) do
          if rec.shards then redis.call('ZADD', KEYS[3] .. ':{' .. c .. '}:subs:guild', rec.shards[c], rec.id)
          else redis.call('SADD', KEYS[3] .. ':{' .. c .. '}:subs', rec.id) end
        end
      end`, 3, `${prefix}:subs`, `${prefix}:subs:hooks`, prefix, JSON.stringify(clusters), ...records.slice(i, i + 200));
  }
  return urls;
}
