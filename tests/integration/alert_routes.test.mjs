// alert_routes.test.mjs -- GLANCE_ALERT_ROUTES (issue 29): a cluster's alerts go to its own webhooks at its own level,
// the global webhooks (GLANCE_ALERT_WEBHOOKS) keep the clusters without a route; a webhook named globally and in a
// route is one, taking both; GET /api/alerts lists for each alert only the webhooks it was for, and calls it sent
// when they took it. Real redis-server and glance-api; the webhooks are discord.mjs's fake Discord on loopback.

import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { postEach, request, startApi, startRedis, waitUntil } from './harness.mjs';
import { startDiscord } from './discord.mjs';

const PASS = 'alert-routes-test-passphrase';
const AUTH = { authorization: `Bearer ${PASS}` };
const BOTS = 'main:8;eu:8;us:8';

describe('alerts routed per cluster', { timeout: 90000 }, () => {
  let rds;
  let api;
  let discord;
  let global;
  let eu;
  let shared;
  before(async () => {
    rds = await startRedis();
    discord = await startDiscord({ rateLimit: { limit: 100, windowMs: 1000 } });
    [global, eu, shared] = [discord.url(), discord.url(), discord.url()];
    api = await startApi({
      redisPort: rds.port, bots: BOTS, passphrase: PASS, healthTimeout: 3600,
      env: {
        GLANCE_ALERT_DELAY: 0,
        GLANCE_ALERT_WEBHOOKS: `${global},${shared}`,
        // eu: its own webhook and the shared one, alerted only at a major outage; us: the shared one alone
        GLANCE_ALERT_ROUTES: `eu=${eu},${shared};level=major\n us=${shared}`,
      },
    });
  });
  after(async () => {
    await api?.stop();
    await rds?.stop();
    await discord?.close();
  });

  const set = (cluster, ids, state) => postEach([api], ids.map((s) => `/api/status/${cluster}/${s}/${state}`), AUTH);
  const all = [0, 1, 2, 3, 4, 5, 6, 7];
  const titles = (url) => [...discord.messages.values()].filter((m) => m.webhookId === discord.idOf(url))
    .map((m) => m.embeds[0].title);
  const alerts = async () => {
    const r = await request(api.port, 'GET', '/api/alerts', { headers: AUTH });
    assert.equal(r.status, 200, r.body);
    return r.json().alerts;
  };

  it('sends each cluster\'s alerts where its route says, at its level, and the rest to the global webhooks', async () => {
    for (const c of ['main', 'eu', 'us']) await set(c, all, 3);
    // main (no route): a partial outage, to the global webhooks only
    await set('main', [0, 1, 2], 1);
    await waitUntil(async () => titles(global).length === 1 && titles(shared).length === 1,
      { timeoutMs: 15000, message: 'main\'s alert at the global webhooks' });
    assert.match(titles(global)[0], /^main/);
    // eu's route says major: its partial outage is no alert
    await set('eu', [0, 1, 2], 1);
    // us (routed to the shared webhook): a partial outage there, not at the global one
    await set('us', [0, 1, 2], 1);
    await waitUntil(async () => titles(shared).length === 2, { timeoutMs: 15000, message: 'us\'s alert at the shared webhook' });
    assert.match(titles(shared)[1], /^us/);
    // eu all down: a major outage, to eu's own and the shared webhook
    await set('eu', all, 1);
    await waitUntil(async () => titles(eu).length === 1 && titles(shared).length === 3,
      { timeoutMs: 15000, message: 'eu\'s major outage at its webhooks' });
    assert.match(titles(eu)[0], /^eu/);
    assert.deepEqual(titles(global).map((t) => t.split(':')[0]), ['main'], 'the global webhook heard only main');

    // GET /api/alerts: each alert lists the webhooks it was for, all of them sent
    let list;
    await waitUntil(async () => (list = await alerts()).length === 3 && list.every((a) => a.delivery === 'sent'),
      { timeoutMs: 15000, message: 'three alerts, each sent' });
    const hosts = (a) => a.webhooks.map((w) => w.id).length;
    const by = Object.fromEntries(list.map((a) => [a.cluster, a]));
    assert.equal(hosts(by.main), 2, JSON.stringify(by.main.webhooks));
    assert.equal(hosts(by.us), 1, JSON.stringify(by.us.webhooks));
    assert.equal(hosts(by.eu), 2, JSON.stringify(by.eu.webhooks));
    assert.equal(by.eu.condition, 'major outage');
  });

  it('refuses a route that is not one, naming it, at start-up', async () => {
    const bad = [
      ['nowhere=https://discord.com/api/webhooks/1/a', /"nowhere" is not <cluster>=<webhook URL>/],
      ['eu=https://discord.com/api/webhooks/1/a;level=minor', /is not ;level=degraded, partial or major/],
      ['eu=;level=major', /names no webhook/],
      ['eu=https://discord.com/api/webhooks/1/a eu=https://discord.com/api/webhooks/2/b', /has two routes/],
      ['eu=http://example.com/hook', /not an https:\/\/ URL/],
    ];
    for (const [routes, words] of bad) {
      const a = await startApi({ redisPort: rds.port, bots: BOTS, waitReady: false, env: { GLANCE_ALERT_ROUTES: routes } });
      const code = await a.exited;
      assert.equal(code.code ?? code, 2, routes);
      assert.match(a.stderr(), words, routes);
    }
  });
});
