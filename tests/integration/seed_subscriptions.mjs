// seed_subscriptions.mjs -- subscriptions written straight into Redis as subscription.lua's "add" writes them, for
// the tests and the benchmark that need hundreds or thousands: making them through the API would take a
// confirmation each, 120 a minute at most (its own bound). Each gets a fresh webhook of the fake Discord.

import { redis } from './harness.mjs';

/** Writes `n` subscriptions to the clusters `clusters`, ids from `firstId`; resolves their webhook URLs in order. */
export async function seedSubscriptions(rdsPort, discord, n, { firstId, clusters = ['main'], prefix = 'glance' }) {
  const urls = [];
  const records = [];
  for (let i = 0; i < n; i++) {
    const url = discord.url();
    urls.push(url);
    records.push(JSON.stringify({ id: firstId + i, url: url.replace('/api/webhooks/', '/api/v10/webhooks/'),
      hook: discord.idOf(url), shown: `webhook ${discord.idOf(url)}`, secret: '0'.repeat(32), created_ms: Date.now(),
      base: 'https://status.example.com', json: false, scope: 'clusters', clusters }));
  }
  for (let i = 0; i < n; i += 200) {
    await redis(rdsPort, 'EVAL', `local names = cjson.decode(ARGV[1])
      for i = 2, #ARGV do
        local rec = cjson.decode(ARGV[i])
        redis.call('HSET', KEYS[1], rec.id, ARGV[i])
        redis.call('HINCRBY', KEYS[2], rec.hook, 1)
        for _, c in ipairs(names) do redis.call('SADD', KEYS[3] .. ':{' .. c .. '}:subs', rec.id) end
      end`, 3, `${prefix}:subs`, `${prefix}:subs:hooks`, prefix, JSON.stringify(clusters), ...records.slice(i, i + 200));
  }
  return urls;
}
