// shard_notices.test.mjs -- a server's subscribers told that the shard serving it went down and came back (issue 29,
// item 2): only after GLANCE_ALERT_DELAY (a restart quicker than that says nothing), once per episode whichever of the
// replicas asks, only to the servers that shard serves, the "back" and a second fall ("flapping") edited into the
// episode's one message, a shard of another cluster in a message of its own, a message deleted in Discord posted
// anew, a fall inside a maintenance window said once the window is over, and a fall still said when the replica that
// saw it is killed. Real redis-server, two glance-api, discord.mjs's
// fake Discord on loopback.

import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { getMetrics, metricValue, postEach, redis, request, sleep, startApi, startRedis, waitUntil } from './harness.mjs';
import { startDiscord, startJsonHook } from './discord.mjs';
import { subscribeThrough } from './seed_subscriptions.mjs';

const PASS = 'shard-notices-passphrase';
const AUTH = { authorization: `Bearer ${PASS}` };
const DELAY_S = 2;
const GUILD = '81384788765712384';
const OTHER_GUILD = '175928847299117063';
const THIRD_GUILD = '302050872395948608';
const FOURTH_GUILD = '302050867517850377'; // shard 50 of main, 10 of eu
const FIFTH_GUILD = '302050866049843977'; // shard 60 of main, 12 of eu
const shardOf = (guild, shards) => Number((BigInt(guild) >> 22n) % BigInt(shards));
const MAIN = shardOf(GUILD, 360);
const EU = shardOf(GUILD, 16);

describe('telling a server of the shard that serves it', { timeout: 120000 }, () => {
  let rds;
  let apis;
  let discord;
  let hook;
  let server;
  let other;
  let whole;

  const subscribe = (scope) => subscribeThrough(apis[0].port, discord, scope);
  /** The shard messages a webhook holds (not the confirmation), oldest first. */
  const shardMessages = (sub) => [...discord.messages.values()]
    .filter((m) => m.webhookId === discord.idOf(sub.url) && !m.deleted && m.embeds[0].title.startsWith('Your server'))
    .sort((a, b) => a.createdAt - b.createdAt);
  const set = (cluster, shard, state) => postEach([apis[1]], [`/api/status/${cluster}/${shard}/${state}`], AUTH);
  const said = async () => {
    let sum = 0;
    for (const a of apis) if (a.alive()) sum += metricValue(await getMetrics(a.port), 'glance_shard_notices_total');
    return sum;
  };

  before(async () => {
    rds = await startRedis();
    discord = await startDiscord({ rateLimit: { limit: 1000, windowMs: 1000 } });
    hook = await startJsonHook();
    const env = { GLANCE_SUBSCRIBE_ORIGINS: discord.base, GLANCE_SUBSCRIBE_PER_HOUR: 1000, GLANCE_ALERT_DELAY: DELAY_S,
      GLANCE_ALERT_TIMEOUT_MS: 1000, GLANCE_PUBLIC_URL: 'https://status.example.com' };
    apis = [];
    for (let i = 0; i < 2; i++) {
      apis.push(await startApi({ redisPort: rds.port, bots: 'main:360;eu:16', passphrase: PASS, healthTimeout: 3600, env }));
    }
    assert.notEqual(shardOf(OTHER_GUILD, 360), MAIN, 'the other server is served by another shard of main');
    server = await subscribe({ guild: GUILD });
    other = await subscribe({ guild: OTHER_GUILD });
    whole = await subscribe('all');
    // every shard up: an episode starts only with a fall
    await postEach(apis, Array.from({ length: 360 }, (_, s) => `/api/status/main/${s}/3`), AUTH);
    await postEach(apis, Array.from({ length: 16 }, (_, s) => `/api/status/eu/${s}/3`), AUTH);
    await sleep(DELAY_S * 1000 + 1000);
  });
  after(async () => {
    for (const a of apis || []) await a.stop();
    await rds?.stop();
    await discord?.close();
    await hook?.close();
  });

  it('says nothing of shards coming up, nor of a restart shorter than the delay', async () => {
    await set('main', MAIN, 2);
    await sleep(500);
    await set('main', MAIN, 3);
    await sleep(DELAY_S * 1000 + 2000);
    assert.deepEqual(shardMessages(server), []);
    assert.equal(await said(), 0);
  });

  it('says a fall once it held for the delay: once, to the servers that shard serves alone', async () => {
    const downAt = Date.now();
    await set('main', MAIN, 2);
    await waitUntil(async () => shardMessages(server).length === 1, { timeoutMs: 15000, intervalMs: 100, message: 'the fall said' });
    const [m] = shardMessages(server);
    assert.ok(m.createdAt - downAt >= DELAY_S * 1000, `said ${m.createdAt - downAt} ms after the fall`);
    assert.equal(m.embeds[0].title, "Your server's shard is down");
    assert.match(m.embeds[0].description, new RegExp(`\\(shard ${MAIN} of main\\) is down since <t:\\d+:t>`));
    assert.ok(m.embeds[0].description.includes(server.manage_url), 'with its management link');
    assert.deepEqual(m.allowed_mentions, { parse: [] });
    await sleep(1500); // the other replica asked too: nothing more
    assert.equal(shardMessages(server).length, 1);
    assert.equal(await said(), 1, 'said by one replica');
    assert.deepEqual(shardMessages(other), [], 'another shard\'s server hears nothing');
    assert.deepEqual(shardMessages(whole), [], 'a whole-bot subscription is told of incidents, not of one shard');
  });

  it('edits the episode\'s message when the shard is back, and again when it falls again (flapping)', async () => {
    const [m] = shardMessages(server);
    await set('main', MAIN, 3);
    await waitUntil(async () => discord.messages.get(m.id).embeds[0].title === "Your server's shard is back",
      { timeoutMs: 15000, intervalMs: 100, message: 'the back edited in' });
    assert.match(discord.messages.get(m.id).embeds[0].description, /is back since <t:\d+:t>, after being down from <t:\d+:t>/);
    await set('main', MAIN, 2);
    await waitUntil(async () => discord.messages.get(m.id).embeds[0].title === "Your server's shard is flapping",
      { timeoutMs: 15000, intervalMs: 100, message: 'the second fall edited in' });
    assert.match(discord.messages.get(m.id).embeds[0].description, /keeps going down: 2 times since <t:\d+:t>/);
    await set('main', MAIN, 3);
    await waitUntil(async () => discord.messages.get(m.id).embeds[0].title === "Your server's shard is back",
      { timeoutMs: 15000, intervalMs: 100, message: 'back again' });
    assert.match(discord.messages.get(m.id).embeds[0].description, /after going down 2 times since/);
    assert.equal(shardMessages(server).length, 1, 'one message for the whole episode');
    assert.equal(discord.messages.get(m.id).history.filter((h) => h.method === 'PATCH').length, 3);
    assert.equal(await said(), 4);
  });

  it('tells of another cluster\'s shard in a message of its own, and posts anew when the episode\'s message was deleted', async () => {
    await set('eu', EU, 2);
    await waitUntil(async () => shardMessages(server).length === 2, { timeoutMs: 15000, intervalMs: 100, message: 'eu\'s fall said' });
    const eu = shardMessages(server)[1];
    assert.match(eu.embeds[0].description, new RegExp(`\\(shard ${EU} of eu\\) is down since`));
    discord.messages.get(eu.id).deleted = true; // the server's admin deleted it
    await set('eu', EU, 3);
    await waitUntil(async () => shardMessages(server).some((x) => x.id !== eu.id && x.embeds[0].title === "Your server's shard is back"),
      { timeoutMs: 15000, intervalMs: 100, message: 'the back posted anew' });
    assert.equal(metricValue(await getMetrics(apis[0].port), 'glance_subscriptions_removed_total')
      + metricValue(await getMetrics(apis[1].port), 'glance_subscriptions_removed_total'), 0, 'a deleted message is no deleted webhook');
  });

  it('a fall whose message Discord made wait (429) is not posted after the back: one message, showing the back', async () => {
    const fourth = await subscribe({ guild: FOURTH_GUILD });
    // its webhook rate-limited for the next 7 s: Discord answers its posts 429 until then (the cluster's automatic
    // incident, which this server hears of too, included)
    discord.webhooks.get(discord.idOf(fourth.url)).blockedUntil = Date.now() + 7000;
    await set('main', 50, 2);
    await waitUntil(async () => discord.requests.some((r) => r.method === 'POST' && r.path.includes(discord.idOf(fourth.url))
      && r.answeredWith === 429), { timeoutMs: 15000, intervalMs: 100, message: 'the fall answered 429' });
    await set('main', 50, 3);
    await waitUntil(async () => shardMessages(fourth).some((m) => m.embeds[0].title === "Your server's shard is back"),
      { timeoutMs: 30000, intervalMs: 100, message: 'the back said' });
    await sleep(8000); // past the fall's retry
    const told = shardMessages(fourth).filter((m) => m.embeds[0].description.includes('(shard 50 of main)'));
    assert.equal(told.length, 1, told.map((m) => m.embeds[0].title).join(' / '));
    assert.equal(told[0].embeds[0].title, "Your server's shard is back");
  });

  it('sends an operator\'s json: URL a document for each notice', async () => {
    const r = await request(apis[0].port, 'POST', '/api/subscriptions', { headers: { ...AUTH, 'content-type': 'application/json' },
      body: JSON.stringify({ webhook_url: `json:${hook.url('ops')}`, scope: { guild: FIFTH_GUILD } }) });
    assert.equal(r.status, 201, r.body);
    const shardDocs = () => hook.requests.filter((q) => q.body?.kind === 'shard').map((q) => q.body);
    await set('main', 60, 2);
    await waitUntil(async () => shardDocs().length === 1, { timeoutMs: 15000, intervalMs: 100, message: 'the fall sent' });
    await set('main', 60, 3);
    await waitUntil(async () => shardDocs().length === 2, { timeoutMs: 15000, intervalMs: 100, message: 'the back sent' });
    const [down, back] = shardDocs();
    assert.deepEqual({ ...down, since_ms: 0, episode_ms: 0 }, { kind: 'shard', event: 'down', cluster: 'main', shard: 60,
      episode_ms: 0, since_ms: 0, falls: 1, manage_url: r.json().manage_url });
    assert.equal(back.event, 'back');
    assert.equal(back.episode_ms, down.since_ms, 'the episode began with the fall');
    assert.ok(back.since_ms > down.since_ms);
  });

  it('holds a fall inside a maintenance window back until the window is over, and says none it recovered from', async () => {
    const third = await subscribe({ guild: THIRD_GUILD });
    const shard = shardOf(THIRD_GUILD, 16);
    const ends = Date.now() + 6000;
    const r = await request(apis[1].port, 'POST', '/api/maintenance', { headers: { ...AUTH, 'content-type': 'application/json' },
      body: JSON.stringify({ title: 'eu restarts', clusters: ['eu'], text: 'Planned.', starts: Date.now() + 100, ends }) });
    assert.equal(r.status, 201, r.body);
    await sleep(300);
    await set('eu', shard, 2);
    const quick = shardOf(OTHER_GUILD, 16); // down and back inside the window: nothing to say
    await set('eu', quick, 2);
    await sleep(DELAY_S * 1000 + 500);
    await set('eu', quick, 3);
    await waitUntil(async () => shardMessages(third).length === 1, { timeoutMs: 20000, intervalMs: 100, message: 'the fall said after the window' });
    const [m] = shardMessages(third);
    assert.ok(m.createdAt >= ends, `said ${ends - m.createdAt} ms before the window ended`);
    assert.match(m.embeds[0].description, new RegExp(`\\(shard ${shard} of eu\\) is down since`));
    await sleep(DELAY_S * 1000 + 1000);
    assert.ok(!shardMessages(other).some((x) => x.embeds[0].description.includes(`(shard ${quick} of eu)`)),
      'a fall it recovered from inside the window is not said');
  });

  it('says a fall still when the replica that saw it is killed', async () => {
    const before = shardMessages(other).length;
    const shard = shardOf(OTHER_GUILD, 360);
    await set('main', shard, 2);
    apis[1].kill('SIGKILL');
    await waitUntil(async () => shardMessages(other).length === before + 1, { timeoutMs: 20000, intervalMs: 100, message: 'the fall said by the replica left' });
    assert.match(shardMessages(other).at(-1).embeds[0].description, new RegExp(`\\(shard ${shard} of main\\) is down since`));
  });
});
