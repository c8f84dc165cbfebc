// subscriptions.test.mjs -- a visitor subscribes a Discord webhook (issue 29): the confirmation message it must take
// first (with the management link, pinging no one), a webhook Discord says is gone refused, the scopes (the whole
// bot, clusters, a server whose shard differs per cluster), seeing, changing and removing one by its token, the
// limits (per address an hour, behind trusted proxies only; per webhook; in all) and the URLs refused, each with
// nothing written. Real redis-server and glance-api, and the fake Discord of discord.mjs on loopback, allowed as a
// webhook origin with GLANCE_SUBSCRIBE_ORIGINS (Discord's own by default).

import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { redis, redisDump, request, startApi, startRedis } from './harness.mjs';
import { startDiscord, startJsonHook } from './discord.mjs';

const PASS = 'subscriptions-test-passphrase';
const GUILD = '81384788765712384';
const shardOf = (guild, shards) => Number((BigInt(guild) >> 22n) % BigInt(shards));

describe('subscriptions', { timeout: 120000 }, () => {
  let rds;
  let api;
  let discord;
  let hook;
  before(async () => {
    rds = await startRedis();
    discord = await startDiscord({ rateLimit: { limit: 1000, windowMs: 1000 } });
    hook = await startJsonHook();
    api = await startApi({
      redisPort: rds.port, bots: 'main:360;eu:16', passphrase: PASS,
      env: { GLANCE_SUBSCRIBE_ORIGINS: discord.base, GLANCE_SUBSCRIBE_PER_HOUR: 1000, GLANCE_PUBLIC_URL: 'https://status.example.com/',
        GLANCE_TRUSTED_PROXIES: '127.0.0.1' },
    });
  });
  after(async () => {
    await api?.stop();
    await rds?.stop();
    await discord?.close();
    await hook?.close();
  });

  const subscribe = (body, headers = {}) => request(api.port, 'POST', '/api/subscriptions',
    { headers: { 'content-type': 'application/json', ...headers }, body: JSON.stringify(body) });
  const messagesTo = (url) => [...discord.messages.values()].filter((m) => m.webhookId === discord.idOf(url));

  it('confirms in the channel first, then answers with the management link; the link shows the scope, never the URL', async () => {
    const url = discord.url();
    const r = await subscribe({ webhook_url: url, scope: { guild: `https://discord.com/channels/${GUILD}/1/2` } });
    assert.equal(r.status, 201, r.body);
    const made = r.json();
    assert.match(made.token, /^\d+-[0-9a-f]{32}$/);
    assert.equal(made.manage_url, `https://status.example.com/subscription/${made.token}`);
    const main = shardOf(GUILD, 360);
    const eu = shardOf(GUILD, 16);
    assert.notEqual(main, eu, 'a guild whose shard differs per cluster');
    assert.deepEqual(made.scope, { guild: GUILD, shards: { main, eu } });
    assert.equal(made.scope_words, `server ${GUILD} (shard ${main} of main, shard ${eu} of eu)`);
    // the confirmation: one message, with the link, naming no one
    const sent = messagesTo(url);
    assert.equal(sent.length, 1);
    assert.deepEqual(sent[0].allowed_mentions, { parse: [] });
    assert.ok(sent[0].embeds[0].description.includes(made.manage_url), JSON.stringify(sent[0].embeds));
    assert.ok(sent[0].embeds[0].description.includes(`shard ${main} of main`));
    // seen by its token: the scope and where it goes, not the webhook's token, not the secret
    const seen = await request(api.port, 'GET', `/api/subscriptions/${made.token}`);
    assert.equal(seen.status, 200, seen.body);
    assert.deepEqual(seen.json().scope, made.scope);
    assert.equal(seen.json().webhook, `127.0.0.1:${discord.port} webhook ${discord.idOf(url)}`);
    assert.ok(!seen.body.includes(url.split('/').pop()), 'the webhook token is never shown');
    assert.ok(!seen.body.includes('"token"'));
    // indexed for delivery: the shard that serves the guild in each cluster
    assert.equal(await redis(rds.port, 'ZSCORE', 'glance:{main}:subs:guild', String(made.id)), String(main));
    assert.equal(await redis(rds.port, 'ZSCORE', 'glance:{eu}:subs:guild', String(made.id)), String(eu));
  });

  it('changes the scope and removes the subscription by its token; a wrong secret is no subscription', async () => {
    const r = await subscribe({ webhook_url: discord.url(), scope: 'all' });
    assert.equal(r.status, 201, r.body);
    const { token, id } = r.json();
    assert.equal(await redis(rds.port, 'SISMEMBER', 'glance:subs:all', String(id)), '1');
    const wrong = token.replace(/.$/, (c) => (c === '0' ? '1' : '0'));
    assert.equal((await request(api.port, 'GET', `/api/subscriptions/${wrong}`)).status, 404);
    assert.equal((await request(api.port, 'DELETE', `/api/subscriptions/${wrong}`)).status, 404);
    const changed = await request(api.port, 'POST', `/api/subscriptions/${token}`,
      { headers: { 'content-type': 'application/json' }, body: JSON.stringify({ scope: { clusters: ['eu'] } }) });
    assert.equal(changed.status, 200, changed.body);
    assert.deepEqual(changed.json().scope, { clusters: ['eu'] });
    assert.equal(changed.json().scope_words, 'cluster eu');
    assert.equal(await redis(rds.port, 'SISMEMBER', 'glance:subs:all', String(id)), '0');
    assert.equal(await redis(rds.port, 'SISMEMBER', 'glance:{eu}:subs', String(id)), '1');
    assert.equal(await redis(rds.port, 'SISMEMBER', 'glance:{main}:subs', String(id)), '0');
    const webhookChange = await request(api.port, 'POST', `/api/subscriptions/${token}`,
      { headers: { 'content-type': 'application/json' }, body: JSON.stringify({ webhook_url: discord.url(), scope: 'all' }) });
    assert.equal(webhookChange.status, 400);
    assert.match(webhookChange.json().error, /webhook_url cannot be changed/);
    assert.equal((await request(api.port, 'DELETE', `/api/subscriptions/${token}`)).status, 204);
    assert.equal((await request(api.port, 'GET', `/api/subscriptions/${token}`)).status, 404);
    assert.equal((await request(api.port, 'DELETE', `/api/subscriptions/${token}`)).status, 404);
    assert.equal(await redis(rds.port, 'SISMEMBER', 'glance:{eu}:subs', String(id)), '0');
    assert.equal(await redis(rds.port, 'HEXISTS', 'glance:subs', String(id)), '0');
  });

  it('refuses what is not a Discord webhook, or a scope it cannot serve, naming the member, with nothing written', async () => {
    const url = discord.url();
    const before = await redisDump(rds.port);
    const bad = [
      [{ webhook_url: 'https://evil.example/api/webhooks/1/abc', scope: 'all' }, 'webhook_url', /Discord webhook URL/],
      [{ webhook_url: `${discord.base}/api/webhooks/1/abc/messages/2`, scope: 'all' }, 'webhook_url', /Discord webhook URL/],
      [{ webhook_url: `${url}?wait=false`, scope: 'all' }, 'webhook_url', /Discord webhook URL/],
      [{ webhook_url: `${url}/../../../admin`, scope: 'all' }, 'webhook_url', /Discord webhook URL/],
      [{ webhook_url: `json:${hook.url('x')}`, scope: 'all' }, 'webhook_url', /for operators/],
      [{ webhook_url: url, scope: { clusters: ['nope'] } }, 'scope', /unknown cluster "nope"/],
      [{ webhook_url: url, scope: { clusters: [] } }, 'scope', /one or more/],
      [{ webhook_url: url, scope: { guild: 81384788765712384 } }, 'scope', /a string/],
      [{ webhook_url: url, scope: { guild: 'https://discord.com/channels/@me/1/2' } }, 'scope', /direct-message/],
      [{ webhook_url: url, scope: 'everything' }, 'scope', /expected "all"/],
      [{ webhook_url: url }, 'scope', /scope is missing/],
      [{ scope: 'all' }, 'webhook_url', /webhook_url is missing/],
      [{ webhook_url: url, scope: 'all', role: '@everyone' }, undefined, /unknown member "role"/],
    ];
    for (const [body, field, words] of bad) {
      const r = await subscribe(body);
      assert.equal(r.status, 400, `${JSON.stringify(body)}: ${r.status} ${r.body}`);
      assert.match(r.json().error, words, JSON.stringify(body));
      assert.equal(r.json().field, field, JSON.stringify(body));
    }
    const text = await request(api.port, 'POST', '/api/subscriptions', { headers: { 'content-type': 'text/plain' }, body: '{}' });
    assert.equal(text.status, 415);
    assert.deepEqual(await redisDump(rds.port), before);
    assert.equal(messagesTo(url).length, 0, 'no confirmation for a refused request');
  });

  it('refuses a webhook Discord says is gone, and one that cannot take the confirmation now, saving nothing', async () => {
    const from = { 'x-forwarded-for': '198.51.100.40' }; // an address of its own: its refusals count against it
    const gone = discord.url();
    discord.deleteWebhook(discord.idOf(gone));
    const r = await subscribe({ webhook_url: gone, scope: 'all' }, from);
    assert.equal(r.status, 400, r.body);
    assert.match(r.json().error, /answered 404 to the confirmation/);
    assert.equal(r.json().field, 'webhook_url');
    const busy = discord.url();
    discord.setNext({ status: 429, retryAfter: 7 });
    const limited = await subscribe({ webhook_url: busy, scope: 'all' }, from);
    assert.equal(limited.status, 503, limited.body);
    assert.equal(limited.headers['retry-after'], '7');
    const failing = discord.url();
    discord.setNext({ status: 500 });
    const broken = await subscribe({ webhook_url: failing, scope: 'all' }, from);
    assert.equal(broken.status, 502, broken.body);
    assert.match(broken.json().error, /answered 500 to the confirmation; nothing was saved/);
    // Discord holds the busy one to its wait: asked again before then, it answers 429 again
    assert.equal((await subscribe({ webhook_url: busy, scope: 'all' }, from)).status, 503);
    const hooks = await redis(rds.port, 'HGETALL', 'glance:subs:hooks');
    for (const u of [gone, busy, failing]) assert.ok(!hooks.includes(discord.idOf(u)), hooks);
    // the 404 and the two 429s count, against the address and across the replicas (what Discord's edge counts); the
    // 500 does not; and the address, refused three times, may not try again this hour
    assert.equal(await redis(rds.port, 'GET', 'glance:subs:refused'), '3');
    const sent = discord.requests.length;
    const blocked = await subscribe({ webhook_url: discord.url(), scope: 'all' }, from);
    assert.equal(blocked.status, 429, blocked.body);
    assert.equal(discord.requests.length, sent, 'no confirmation sent for it');
  });

  it('sends one confirmation at a time to a webhook, however many ask at once', async () => {
    const url = discord.url();
    discord.setNext({ delayMs: 400 });
    const answers = await Promise.all(Array.from({ length: 6 }, () => subscribe({ webhook_url: url, scope: 'all' })));
    const statuses = answers.map((a) => a.status).sort();
    assert.deepEqual(statuses, [201, 409, 409, 409, 409, 409], answers.map((a) => a.body).join('\n'));
    assert.match(answers.find((a) => a.status === 409).json().error, /a confirmation to this webhook is on its way/);
    assert.equal(messagesTo(url).length, 1, 'one confirmation in the channel, with the one link that works');
    // once it is answered, the next may go
    assert.equal((await subscribe({ webhook_url: url, scope: { clusters: ['eu'] } })).status, 201);
  });

  it('lets an operator subscribe a json: URL, which gets the confirmation as JSON', async () => {
    const r = await subscribe({ webhook_url: `json:${hook.url('ops')}`, scope: { clusters: ['main', 'eu'] } },
      { authorization: `Bearer ${PASS}` });
    assert.equal(r.status, 201, r.body);
    assert.equal(r.json().scope_words, 'clusters main and eu');
    const got = hook.requests.at(-1);
    assert.equal(got.body.kind, 'subscribed');
    assert.equal(got.body.manage_url, r.json().manage_url);
  });

  it('works without script: /plain\'s form subscribes, and the management link is a page with forms', async () => {
    const form = (path, fields) => request(api.port, 'POST', path, {
      headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: new URLSearchParams(fields).toString(),
    });
    const plain = await request(api.port, 'GET', '/plain');
    assert.match(plain.body, /<form action="\/subscribe" method="post">/);
    assert.match(plain.body, /name="cluster" value="eu"/);
    const url = discord.url();
    const made = await form('/subscribe', [['webhook_url', url], ['scope', 'guild'], ['guild', GUILD], ['cluster', 'eu']]);
    assert.equal(made.status, 201, made.body);
    assert.match(made.headers['content-type'], /^text\/html/);
    assert.match(made.headers['content-security-policy'], /default-src 'none'/);
    const token = /https:\/\/status\.example\.com\/subscription\/(\d+-[0-9a-f]{32})/.exec(made.body)?.[1];
    assert.ok(token, made.body);
    assert.match(made.body, new RegExp(`shard ${shardOf(GUILD, 360)} of main`));
    assert.ok(!made.body.includes(url.split('/').pop()), 'the webhook token is not on the page');
    assert.equal(messagesTo(url).length, 1);
    const page = `/subscription/${token}`;
    const seen = await request(api.port, 'GET', page);
    assert.equal(seen.status, 200);
    assert.match(seen.body, new RegExp(`<form method="post" action="${page}">`));
    assert.match(seen.body, /<meta name="referrer" content="no-referrer">/);
    const saved = await form(page, [['action', 'change'], ['scope', 'clusters'], ['cluster', 'main']]);
    assert.equal(saved.status, 200, saved.body);
    assert.match(saved.body, /Saved\./);
    assert.match(saved.body, /about cluster main\./);
    const refused = await form(page, [['action', 'change'], ['scope', 'clusters']]);
    assert.equal(refused.status, 400);
    assert.match(refused.body, /one or more cluster names/);
    const removed = await form(page, [['action', 'remove']]);
    assert.equal(removed.status, 200);
    assert.match(removed.body, /Subscription removed/);
    const gone = await request(api.port, 'GET', page);
    assert.equal(gone.status, 404);
    assert.match(gone.body, /No such subscription/);
    // a form without a webhook: a page that says so, and nothing sent
    const bad = await form('/subscribe', [['scope', 'all']]);
    assert.equal(bad.status, 400);
    assert.match(bad.body, /webhook_url is missing/);
    assert.equal((await request(api.port, 'GET', '/subscribe')).status, 405);
    // a form on another site can neither make nor change one
    const cross = await request(api.port, 'POST', '/subscribe', {
      headers: { 'content-type': 'application/x-www-form-urlencoded', origin: 'https://evil.example', 'sec-fetch-site': 'cross-site' },
      body: new URLSearchParams([['webhook_url', discord.url()], ['scope', 'all']]).toString(),
    });
    assert.equal(cross.status, 403);
    assert.match(cross.body, /a form on another site/);
  });

  it('holds a webhook to 3 subscriptions', async () => {
    const url = discord.url();
    for (let i = 0; i < 3; i++) assert.equal((await subscribe({ webhook_url: url, scope: 'all' })).status, 201);
    const r = await subscribe({ webhook_url: url, scope: 'all' });
    assert.equal(r.status, 409, r.body);
    assert.equal(messagesTo(url).length, 3, 'no confirmation past the bound');
  });
});

describe('subscription limits per address and in all', { timeout: 60000 }, () => {
  let rds;
  let discord;
  const apis = [];
  before(async () => {
    rds = await startRedis();
    discord = await startDiscord({ rateLimit: { limit: 1000, windowMs: 1000 } });
  });
  after(async () => {
    for (const a of apis) await a.stop();
    await rds?.stop();
    await discord?.close();
  });
  const start = async (env, prefix) => {
    const a = await startApi({ redisPort: rds.port, bots: 'main:16',
      env: { GLANCE_SUBSCRIBE_ORIGINS: discord.base, GLANCE_REDIS_PREFIX: prefix, ...env } });
    apis.push(a);
    return a;
  };
  const subscribe = (a, headers = {}) => request(a.port, 'POST', '/api/subscriptions', {
    headers: { 'content-type': 'application/json', ...headers },
    body: JSON.stringify({ webhook_url: discord.url(), scope: 'all' }),
  });

  it('allows GLANCE_SUBSCRIBE_PER_HOUR attempts an address, believing X-Forwarded-For only from a trusted proxy', async () => {
    const direct = await start({ GLANCE_SUBSCRIBE_PER_HOUR: 2 }, 'direct');
    // not behind a trusted proxy: what the client says of itself changes nothing
    assert.equal((await subscribe(direct, { 'x-forwarded-for': '198.51.100.1' })).status, 201);
    assert.equal((await subscribe(direct, { 'x-forwarded-for': '198.51.100.2' })).status, 201);
    const third = await subscribe(direct, { 'x-forwarded-for': '198.51.100.3' });
    assert.equal(third.status, 429, third.body);
    assert.ok(Number(third.headers['retry-after']) > 3500, third.headers['retry-after']);
    assert.match(third.json().error, /too many subscriptions were asked for from this address/);

    const proxied = await start({ GLANCE_SUBSCRIBE_PER_HOUR: 2, GLANCE_TRUSTED_PROXIES: '10.0.0.0/8,127.0.0.1' }, 'proxied');
    // behind our proxy: each client its own budget; what a client wrote left of our proxy's entry is not believed
    for (let i = 0; i < 2; i++) assert.equal((await subscribe(proxied, { 'x-forwarded-for': '203.0.113.9' })).status, 201);
    assert.equal((await subscribe(proxied, { 'x-forwarded-for': '198.51.100.77, 203.0.113.9' })).status, 429);
    assert.equal((await subscribe(proxied, { 'x-forwarded-for': '203.0.113.10' })).status, 201);
    // a proxy of ours behind another: the client is the first address from the right that is not ours
    assert.equal((await subscribe(proxied, { 'x-forwarded-for': '203.0.113.10, 10.1.2.3' })).status, 201);
    assert.equal((await subscribe(proxied, { 'x-forwarded-for': '203.0.113.10, 10.1.2.3' })).status, 429);
    // an IPv6 client is counted by its /64
    assert.equal((await subscribe(proxied, { 'x-forwarded-for': '2001:db8:1:2::1' })).status, 201);
    assert.equal((await subscribe(proxied, { 'x-forwarded-for': '2001:db8:1:2::ffff' })).status, 201);
    assert.equal((await subscribe(proxied, { 'x-forwarded-for': '[2001:db8:1:2:aaaa::1]' })).status, 429);
    const keys = (await redis(rds.port, 'KEYS', 'proxied:subs:rate:*')).split('\n').sort();
    assert.deepEqual(keys, ['proxied:subs:rate:2001:0db8:0001:0002::/64', 'proxied:subs:rate:203.0.113.10', 'proxied:subs:rate:203.0.113.9']);
  });

  it('keeps GLANCE_SUBSCRIPTIONS_MAX in all, and none when it is 0', async () => {
    const two = await start({ GLANCE_SUBSCRIPTIONS_MAX: 2 }, 'two');
    assert.equal((await subscribe(two)).status, 201);
    assert.equal((await subscribe(two)).status, 201);
    const r = await subscribe(two);
    assert.equal(r.status, 503, r.body);
    assert.match(r.json().error, /keeps no more subscriptions/);
    const off = await start({ GLANCE_SUBSCRIPTIONS_MAX: 0 }, 'off');
    assert.equal((await subscribe(off)).status, 404);
  });
});
