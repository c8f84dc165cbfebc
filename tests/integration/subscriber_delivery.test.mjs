// subscriber_delivery.test.mjs -- the subscribers told (issue 29, item 4): an incident opened, updated and resolved
// reaches every subscription it concerns (the whole bot's, its clusters', the servers' in its clusters) and no other,
// in order; a webhook Discord answers 404 loses its subscription; one it asks to wait (429) is told when it says,
// without holding the others back; and the sending replica killed (SIGKILL) half-way through 600 subscribers: the
// other replica takes over, none is skipped, and only deliveries that were in flight at the kill can go twice. Real
// redis-server and two glance-api; the webhooks are discord.mjs's fake Discord on loopback. Subscriptions are made
// through the API where a test needs few, and written as the API writes them where it needs hundreds (the API's
// own bound, 120 confirmations a minute, would make that take minutes).

import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { getMetrics, metricValue, redis, request, startApi, startRedis, waitUntil } from './harness.mjs';
import { startDiscord } from './discord.mjs';
import { seedSubscriptions, subscribeThrough } from './seed_subscriptions.mjs';

const PASS = 'subscriber-delivery-passphrase';
const JSON_AUTH = { authorization: `Bearer ${PASS}`, 'content-type': 'application/json' };
const GUILD = '81384788765712384';

describe('telling the subscribers', { timeout: 180000 }, () => {
  let rds;
  let apis;
  let discord;
  before(async () => {
    rds = await startRedis();
    discord = await startDiscord({ rateLimit: { limit: 1000, windowMs: 1000 } });
    const env = { GLANCE_SUBSCRIBE_ORIGINS: discord.base, GLANCE_SUBSCRIBE_PER_HOUR: 1000, GLANCE_SUBSCRIBER_RATE: 400,
      GLANCE_ALERT_TIMEOUT_MS: 1000, GLANCE_PUBLIC_URL: 'https://status.example.com', GLANCE_MAINTENANCE_REMIND: 4 };
    apis = [];
    for (let i = 0; i < 2; i++) apis.push(await startApi({ redisPort: rds.port, bots: 'main:360;eu:16', passphrase: PASS, env }));
  });
  after(async () => {
    for (const a of apis) await a.stop();
    await rds?.stop();
    await discord?.close();
  });

  const subscribe = (scope) => subscribeThrough(apis[0].port, discord, scope);
  const told = (url) => [...discord.messages.values()].filter((m) => m.webhookId === discord.idOf(url))
    .map((m) => m.embeds[0].title).filter((t) => !t.startsWith('Subscribed'));
  const incident = async (body) => {
    const r = await request(apis[1].port, 'POST', '/api/incidents', { headers: JSON_AUTH, body: JSON.stringify(body) });
    assert.equal(r.status, 201, r.body);
    return r.json().id;
  };
  const update = async (id, status, text) => {
    const r = await request(apis[1].port, 'POST', `/api/incidents/${id}/updates`, { headers: JSON_AUTH, body: JSON.stringify({ status, text }) });
    assert.equal(r.status, 200, r.body);
  };
  // every entry of the notify stream read by the sender's group, none pending, no queue left
  const DRAINED = `local last = redis.call('XREVRANGE', KEYS[1], '+', '-', 'COUNT', 1)[1]
    if not last then return 0 end
    local ok, groups = pcall(redis.call, 'XINFO', 'GROUPS', KEYS[1])
    if not ok or #groups == 0 then return 0 end
    local g = {}
    for i = 1, #groups[1], 2 do g[groups[1][i]] = groups[1][i + 1] end
    if g['last-delivered-id'] ~= last[1] or g.pending ~= 0 then return 0 end
    return redis.call('HLEN', KEYS[2]) == 0 and 1 or 0`;
  const drained = () => waitUntil(async () => (await redis(rds.port, 'EVAL', DRAINED, 2, 'glance:notify', 'glance:notify:planned')) === '1',
    { timeoutMs: 60000, intervalMs: 200, message: 'every notify entry delivered and acknowledged' });

  it('tells each subscription of what concerns it, in order, and no other', async () => {
    const whole = await subscribe('all');
    const main = await subscribe({ clusters: ['main'] });
    const eu = await subscribe({ clusters: ['eu'] });
    const server = await subscribe({ guild: GUILD });
    const id = await incident({ title: 'Shards 10-19 of main are down', impact: 'major', clusters: ['main'], text: 'Looking into it.' });
    await update(id, 'identified', 'A bad deploy.');
    await update(id, 'resolved', 'Rolled back.');
    await drained();
    const expected = ['Incident: Shards 10-19 of main are down', 'Incident update: Shards 10-19 of main are down',
      'Resolved: Shards 10-19 of main are down'];
    assert.deepEqual(told(whole.url), expected);
    assert.deepEqual(told(main.url), expected);
    assert.deepEqual(told(server.url), expected, 'a server is served by a shard of main: its subscription hears');
    assert.deepEqual(told(eu.url), [], 'eu\'s subscription hears nothing of main');
    // each message names no one and carries its own management link
    const [first] = [...discord.messages.values()].filter((m) => m.webhookId === discord.idOf(main.url) && m.embeds[0].title.startsWith('Incident:'));
    assert.deepEqual(first.allowed_mentions, { parse: [] });
    assert.ok(first.embeds[0].description.includes(main.manage_url), first.embeds[0].description);
    assert.match(first.embeds[0].description, /\*\*investigating\*\*: Looking into it\./);
  });

  it('announces maintenance, reminds GLANCE_MAINTENANCE_REMIND before it starts (once), and says when it is over', async () => {
    const sub = await subscribe({ clusters: ['eu'] });
    const maintenance = async (title, inMs) => {
      const r = await request(apis[1].port, 'POST', '/api/maintenance', { headers: JSON_AUTH, body: JSON.stringify({
        title, clusters: ['eu'], text: 'Expect restarts.', starts: Date.now() + inMs, ends: Date.now() + inMs + 2000 }) });
      assert.equal(r.status, 201, r.body);
    };
    const startsAt = Date.now() + 9000;
    await maintenance('Database upgrade', 9000); // announced 9 s ahead: reminded 4 s before
    await maintenance('Quick fix', 3000); // announced 3 s ahead, within the 4: the announcement is enough
    await waitUntil(async () => told(sub.url).includes('Maintenance soon: Database upgrade'),
      { timeoutMs: 15000, message: 'the reminder' });
    const reminder = [...discord.messages.values()].find((m) => m.webhookId === discord.idOf(sub.url) && m.embeds[0].title === 'Maintenance soon: Database upgrade');
    assert.ok(reminder.createdAt >= startsAt - 4000 - 100 && reminder.createdAt < startsAt, `reminded ${startsAt - reminder.createdAt} ms before it starts`);
    assert.match(reminder.embeds[0].description, /It starts <t:\d+:f> to <t:\d+:f> \(<t:\d+:R>\)/);
    // over: the windows close when they end (any write or read of the list closes them); one more look for reminders
    await waitUntil(async () => told(sub.url).filter((t) => t.startsWith('Maintenance over')).length === 2,
      { timeoutMs: 20000, message: 'both windows said over' });
    await drained();
    const all = told(sub.url);
    assert.deepEqual([...all].sort(), ['Maintenance over: Database upgrade', 'Maintenance over: Quick fix',
      'Maintenance soon: Database upgrade', 'Planned maintenance: Database upgrade', 'Planned maintenance: Quick fix']);
    const at = (t) => all.indexOf(t);
    assert.ok(at('Planned maintenance: Database upgrade') < at('Maintenance soon: Database upgrade')
      && at('Maintenance soon: Database upgrade') < at('Maintenance over: Database upgrade'), all.join(' / '));
    assert.equal(told(sub.url).filter((t) => t === 'Maintenance soon: Database upgrade').length, 1, 'reminded once');
    assert.ok(!told(sub.url).includes('Maintenance soon: Quick fix'));
  });

  it('drops a subscription whose webhook Discord says is gone, and waits for one Discord asks to wait', async () => {
    const gone = await subscribe('all');
    const slow = await subscribe('all');
    const quick = await subscribe('all');
    discord.deleteWebhook(discord.idOf(gone.url));
    // the first message to `slow` gets a 429 asking for 2 s; the others go at once
    const hookSlow = discord.webhooks.get(discord.idOf(slow.url));
    const allowedAt = Date.now() + 4000; // the sender may take up to 2 s (its poll) to start
    hookSlow.blockedUntil = allowedAt;
    await incident({ title: 'eu is slow', impact: 'minor', clusters: ['eu'], text: 'Watching.' });
    await waitUntil(async () => told(quick.url).length === 1, { timeoutMs: 10000, message: 'the quick one told' });
    await waitUntil(async () => told(slow.url).length === 1, { timeoutMs: 15000, message: 'the slow one told once it may' });
    const first = (url) => [...discord.messages.values()].find((m) => m.webhookId === discord.idOf(url) && !m.embeds[0].title.startsWith('Subscribed'));
    const refusedAt = discord.requests.find((r) => r.webhookId === discord.idOf(slow.url) && r.early).at;
    assert.ok(first(slow.url).createdAt >= allowedAt, 'not told before Discord allowed');
    assert.ok(first(quick.url).createdAt - refusedAt < allowedAt - refusedAt,
      `the quick one was told ${first(quick.url).createdAt - refusedAt} ms after the slow one was refused: not held back`);
    // the first was sent before anyone could know (the fake's bucket was emptied by "others sharing it"); none after
    assert.equal(discord.requests.filter((r) => r.webhookId === discord.idOf(slow.url) && r.early).length, 1, 'never asked again early');
    await drained();
    assert.equal(await redis(rds.port, 'HEXISTS', 'glance:subs', String(gone.id)), '0', 'the gone webhook\'s subscription is removed');
    assert.equal((await request(apis[0].port, 'GET', `/api/subscriptions/${gone.token}`)).status, 404);
    let removed = 0;
    for (const a of apis) removed += metricValue(await getMetrics(a.port), 'glance_subscriptions_removed_total');
    assert.equal(removed, 1);
  });

  it('keeps telling the others while one webhook is made to wait, and sends a long text in any script', async () => {
    const waiting = await subscribe({ clusters: ['eu'] });
    const others = await subscribe({ clusters: ['eu'] });
    const blockedUntil = Date.now() + 15000;
    discord.webhooks.get(discord.idOf(waiting.url)).blockedUntil = blockedUntil;
    const titles = [];
    for (let i = 0; i < 6; i++) {
      titles.push(`eu hiccup ${i}`);
      await incident({ title: `eu hiccup ${i}`, impact: 'minor', clusters: ['eu'], text: i === 5 ? `x${'€'.repeat(1300)}` : 'Watching.' });
    }
    // six notices, one after another, while the first waits for its 429 to run out: none held back by it
    await waitUntil(async () => told(others.url).length === 6, { timeoutMs: 12000, message: 'the other subscriber told of all six' });
    assert.ok(Date.now() < blockedUntil, 'before the waiting webhook may be sent anything');
    assert.deepEqual(told(others.url), titles.map((t) => `Incident: ${t}`), 'in order');
    const long = [...discord.messages.values()].find((m) => m.webhookId === discord.idOf(others.url) && m.embeds[0].title === 'Incident: eu hiccup 5');
    assert.match(long.embeds[0].description, /^\*\*investigating\*\*: x€+\n/, 'cut at a character, not inside one');
    // and the waiting one gets all six once it may, none given up for its 429s
    await waitUntil(async () => told(waiting.url).length === 6, { timeoutMs: 30000, message: 'the waiting webhook told of all six' });
    let givenUp = 0;
    for (const a of apis) givenUp += metricValue(await getMetrics(a.port), 'glance_subscriber_messages_given_up_total');
    assert.equal(givenUp, 0);
  });

  it('takes over from a sender killed half-way: none skipped, and only what was in flight at the kill twice', async (t) => {
    const N = 600;
    const urls = await seedSubscriptions(rds.port, discord, N, { firstId: 100000 });
    for (let i = 0; i < N * 2; i++) discord.setNext({ delayMs: 15 }); // a real webhook takes a while to answer
    const before = discord.messages.size;
    await incident({ title: 'main is down', impact: 'critical', clusters: ['main'], text: 'Every shard.' });
    const mine = () => [...discord.messages.values()].filter((m) => m.embeds[0].title === 'Incident: main is down');
    await waitUntil(async () => mine().length >= N / 3, { timeoutMs: 30000, intervalMs: 20, message: 'a third told' });
    const holder = await redis(rds.port, 'GET', 'glance:notify:sender');
    const victim = apis.find((a) => holder.includes(`:${a.pid}`));
    assert.ok(victim, `the sender ${holder} is one of ours`);
    victim.kill('SIGKILL');
    await victim.exited;
    const atKill = mine().length;
    // the deliveries leased when it died: the only ones that may go twice
    const queue = (await redis(rds.port, 'KEYS', 'glance:notify:q:*')).split('\n').filter(Boolean);
    const leased = new Set();
    for (const q of queue) {
      const withScores = (await redis(rds.port, 'ZRANGE', q, '0', '-1', 'WITHSCORES')).split('\n');
      for (let i = 0; i + 1 < withScores.length; i += 2) if (Number(withScores[i + 1]) > 0) leased.add(withScores[i]);
    }
    t.diagnostic(`killed ${victim.pid} with ${atKill} of ${N} told, ${leased.size} leased`);
    apis = apis.filter((a) => a !== victim);
    await drained();
    const count = new Map();
    for (const m of mine()) count.set(m.webhookId, (count.get(m.webhookId) || 0) + 1);
    const skipped = urls.filter((u) => !count.has(discord.idOf(u)));
    const twice = urls.map((u, i) => [u, String(100000 + i)]).filter(([u]) => count.get(discord.idOf(u)) > 1);
    t.diagnostic(`after the take-over: ${mine().length} messages, ${skipped.length} skipped, ${twice.length} twice`);
    assert.deepEqual(skipped, [], 'none skipped');
    for (const [, id] of twice) assert.ok(leased.has(id), `subscription ${id} told twice, but it was not in flight at the kill`);
    assert.ok(urls.every((u) => count.get(discord.idOf(u)) <= 2));
    assert.ok(discord.messages.size - before >= N);
  });
});
