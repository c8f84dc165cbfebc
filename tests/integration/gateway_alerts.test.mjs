// gateway_alerts.test.mjs -- the gateway marks as alerts (issue 28): a silent shard, a short identify budget, a
// reconnect storm each become one alert across two replicas once they held for GLANCE_ALERT_DELAY, in their own
// words, delivered to a fake Discord webhook (a message of its own, never the incident's) and a JSON webhook; the
// end of each is one more; the guild cap alerts only when GLANCE_ALERT_GATEWAY names it; GET /api/alerts lists them.
// Real redis-server and glance-api; GLANCE_SILENT_AFTER of 1 s.

import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { request, sleep, startApi, startRedis, waitUntil, cleanup } from './harness.mjs';
import { startDiscord, startJsonHook } from './discord.mjs';

const PASS = 'gateway-alerts-passphrase-0123';
const AUTH = { authorization: `Bearer ${PASS}` };
const JSON_AUTH = { ...AUTH, 'content-type': 'application/json' };
const BOUND_MS = 30000;

after(cleanup);

async function fleet(rdsPort, webhooks, env = {}) {
  const apis = [];
  for (let i = 1; i <= 2; i++) {
    apis.push(await startApi({
      redisPort: rdsPort, bots: 'gw:8;big:40', passphrase: PASS, healthTimeout: 3600,
      env: { GLANCE_ALERT_WEBHOOKS: webhooks, GLANCE_ALERT_DELAY: 1, GLANCE_SILENT_AFTER: 1, GLANCE_REPLICA_NAME: `api${i}`, ...env },
    }));
  }
  return apis;
}

const post = async (api, path, body) => {
  const r = await request(api.port, 'POST', path, { headers: JSON_AUTH, body: JSON.stringify(body) });
  assert.ok(r.status === 204 || r.status === 200, `${path}: ${r.status} ${r.body}`);
};
const titles = (discord) => discord.requests.filter((r) => r.method === 'POST').map((r) => r.body?.embeds?.[0]?.title);
const gatewayAlerts = async (api) => {
  const r = await request(api.port, 'GET', '/api/alerts', { headers: AUTH });
  assert.equal(r.status, 200, r.body);
  return r.json().alerts.filter((a) => a.kind === 'gateway');
};

describe('gateway marks as alerts', { timeout: 120000 }, () => {
  let rds;
  let discord;
  let hook;
  let apis;
  before(async () => {
    rds = await startRedis();
    discord = await startDiscord();
    hook = await startJsonHook();
    apis = await fleet(rds.port, `${discord.url()},json:${hook.url()}`);
    // a shard near the guild cap from the start: no alert for it, GLANCE_ALERT_GATEWAY leaves it out by default
    await post(apis[0], '/api/status/big/0/3', { guilds: 2400, latency_ms: 40, events: 10 });
  });
  after(async () => {
    for (const a of apis || []) await a.stop();
    await discord?.close();
    await hook?.close();
    await rds?.stop();
  });

  it('a silent shard is one alert, in its words, on both webhooks; its recovery one more', async () => {
    await post(apis[0], '/api/status/gw/3/3', { events: 100, guilds: 50, latency_ms: 41 });
    await sleep(1100);
    await post(apis[1], '/api/health/gw/3', { events: 100, latency_ms: 41 });
    await waitUntil(async () => titles(discord).includes('gw: silent shards'), { timeoutMs: BOUND_MS, message: 'the silent alert on Discord' });
    const message = discord.requests.find((r) => r.method === 'POST' && r.body?.embeds?.[0]?.title === 'gw: silent shards');
    assert.match(message.body.embeds[0].description,
      /^gw: 1 shard online but receiving no gateway events \(silent, 1 with a frozen latency\): 3\. Their connections are likely zombies/);
    await waitUntil(() => hook.requests.some((r) => r.body?.mark === 'silent'), { timeoutMs: BOUND_MS, message: 'the silent alert on the JSON hook' });
    const json = hook.requests.find((r) => r.body?.mark === 'silent').body;
    assert.equal(json.kind, 'gateway');
    assert.equal(json.cluster, 'gw');
    assert.equal(json.active, true);
    assert.ok(json.at_ms - json.since_ms >= 1000, `recorded ${json.at_ms - json.since_ms} ms after it began`);

    // its events flow again
    await post(apis[0], '/api/health/gw/3', { events: 180 });
    await waitUntil(async () => titles(discord).includes('gw: silent shards recovered'), { timeoutMs: BOUND_MS, message: 'the recovery on Discord' });
    await sleep(2500); // neither replica adds another
    assert.deepEqual(titles(discord).filter((t) => t.startsWith('gw: silent')), ['gw: silent shards', 'gw: silent shards recovered']);
    const listed = await gatewayAlerts(apis[1]);
    assert.deepEqual(listed.filter((a) => a.mark === 'silent').map((a) => a.active), [false, true], 'newest first');
    // the incident's message is untouched: a gateway alert is a message of its own
    assert.equal(discord.requests.filter((r) => r.method === 'PATCH').length, 0);
  });

  it('a short identify budget and a reconnect storm alert; the guild cap does not unless named', async () => {
    await post(apis[1], '/api/clusters/big/gateway',
      { session_start_total: 1000, session_start_remaining: 20, session_start_reset_after_ms: 3600000, max_concurrency: 1 });
    const report = (identifies) => ({ shards: Array.from({ length: 8 }, (_, id) => ({ id, state: 3, events: 50 + identifies, identifies })) });
    await post(apis[0], '/api/clusters/gw/report', report(1));
    await post(apis[0], '/api/clusters/gw/report', report(3));
    await waitUntil(async () => titles(discord).includes('big: identify budget short') && titles(discord).includes('gw: reconnect storm'),
      { timeoutMs: BOUND_MS, message: 'the budget and storm alerts' });
    const budget = (await gatewayAlerts(apis[0])).find((a) => a.mark === 'budget');
    assert.match(budget.text, /^big: a full restart now would exhaust the daily identify budget \(20 left of 1,000, 40 shards\); it resets at \d{4}-\d\d-\d\d \d\d:\d\d UTC\.$/);
    const storm = (await gatewayAlerts(apis[0])).find((a) => a.mark === 'storm');
    assert.match(storm.text, /^gw: reconnect storm, 16 identifies and 0 resumes a minute/);
    assert.equal((await gatewayAlerts(apis[0])).filter((a) => a.mark === 'guild_cap').length, 0);
    assert.equal(titles(discord).filter((t) => t === 'big: identify budget short').length, 1);
  });
});

describe('the guild cap, when GLANCE_ALERT_GATEWAY names it', { timeout: 60000 }, () => {
  let rds;
  let hook;
  let apis;
  before(async () => {
    rds = await startRedis();
    hook = await startJsonHook();
    apis = await fleet(rds.port, `json:${hook.url()}`, { GLANCE_ALERT_GATEWAY: 'guild_cap' });
  });
  after(async () => {
    for (const a of apis || []) await a.stop();
    await hook?.close();
    await rds?.stop();
  });

  it('alerts once for shards near the cap, and for nothing else', async () => {
    await post(apis[0], '/api/status/big/7/3', { guilds: 2300 });
    await post(apis[0], '/api/status/big/8/3', { guilds: 2499 });
    await post(apis[1], '/api/status/gw/1/3', { events: 5, guilds: 10 });
    await sleep(1100);
    await post(apis[1], '/api/health/gw/1', { events: 5 }); // silent, but not named
    await waitUntil(() => hook.requests.some((r) => r.body?.mark === 'guild_cap'), { timeoutMs: BOUND_MS, message: 'the guild cap alert' });
    const alert = hook.requests.find((r) => r.body?.mark === 'guild_cap').body;
    assert.equal(alert.text, "big: 2 shards at 90 % of Discord's 2,500-guild cap or more (the most: 2,499 guilds): reshard soon.");
    await sleep(2500);
    assert.deepEqual(hook.requests.map((r) => r.body?.mark), ['guild_cap']);
  });
});
