// alert_records.test.mjs -- what Redis keeps of alerts, and what the senders make of it, with real Redis, real
// replicas and the fake Discord of discord.mjs: a message id Redis does not take at first is saved before anything
// else is sent; Redis that lost its data is set up again; a sender upgraded from one consumer group for all webhooks
// delivers what was pending and nothing twice; a cluster that keeps changing is said to be flapping once.
// With GLANCE_TEST_DEAD_WEBHOOK=1 (test.sh's run at GLANCE_TEST_ALERT_TIMEOUT_MS=100) every replica also has a
// webhook nothing listens on, first in its list: every alert must reach the live ones as it does without it.

import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startRedis, request, redis, waitUntil, sleep } from './harness.mjs';
import { startDiscord } from './discord.mjs';
import {
  AUTH, fakes, ROLE, DEAD_SHOWN, online, keepHealthy, condition, replicas, creates, edits, answered, title, log,
  waitForRequest, fleet, assertWellBehaved, closeFleets,
} from './alert_fleet.mjs';

after(closeFleets);

describe('a message id Redis does not take at first', { timeout: 40000 }, () => {
  it('is saved once Redis takes writes again, and the recovery edits that message', async (t) => {
    const SHARDS = 8;
    const { rds, discord, apis: [api] } = await fleet(1, SHARDS, { GLANCE_ALERT_TIMEOUT_MS: 5000 });
    const stop = { pings: async () => {} };
    try {
      discord.setNext({ hold: true });
      await online([api], SHARDS);
      const create = await waitForRequest(discord, (r) => r.method === 'POST', 'the create (held)');
      // the replica's Redis refuses HSET while Discord answers the create (as READONLY or OOM would), for 0.6 s
      await redis(rds.port, 'ACL', 'SETUSER', 'default', '-hset');
      discord.release({ answer: true });
      await waitUntil(() => create.answeredWith === 200, { timeoutMs: 2000, message: 'the create answered' });
      await sleep(600);
      await redis(rds.port, 'ACL', 'SETUSER', 'default', '+hset');
      await waitUntil(async () => (await redis(rds.port, 'HGETALL', 'glance:{main}:incident')).split('\n').includes(create.messageId),
        { timeoutMs: 3000, message: `message ${create.messageId} saved in Redis` });
      await online([api], SHARDS);
      stop.pings = keepHealthy([api], SHARDS);
      // 479eca0 kept the id in memory only: it edited the outage again, then found nothing to resolve
      const resolved = await waitForRequest(discord, (r) => r.method === 'PATCH' && /resolved$/.test(title(r)), 'the edit to resolved');
      t.diagnostic(`requests: ${log(discord)}`);
      assert.ok(resolved.path.endsWith(`/messages/${create.messageId}`), `resolved ${resolved.path}, not ${create.messageId}`);
      assert.equal(creates(discord).length, 1, `one create:\n  ${log(discord)}`);
      assertWellBehaved(discord);
    } finally {
      await stop.pings();
      await api.stop();
      await rds.stop();
    }
  });
});

describe('Redis that lost its data', { timeout: 40000 }, () => {
  it('an alert written to the new stream before the consumer group was made again is still delivered', async () => {
    const { rds, discord, apis: [first] } = await fleet(1, 8);
    await waitUntil(async () => (await redis(rds.port, 'EXISTS', 'glance:alerts')) === '1',
      { timeoutMs: 5000, message: 'the sender to make its consumer group' });
    await first.stop();
    // the data gone (a restart without persistence); an alert is written before any sender made the group again,
    // as alert_due.lua writes it
    await redis(rds.port, 'FLUSHALL');
    await redis(rds.port, 'XADD', 'glance:alerts', '*', 'cluster', 'main', 'condition', '4', 'previous', '1',
      'since', String(Date.now()), 'down', '8', 'busy', '0', 'total', '8', 'flapping', '0', 'changes', '1');
    const [api] = await replicas(1, rds.port, 8, discord.url());
    // 479eca0 made the group at the stream's end ($): this alert was never read
    const created = await waitForRequest(discord, (r) => r.method === 'POST' && r.answeredWith === 200, 'the create');
    assert.match(title(created), /major outage/i);
    await api.stop();
    await rds.stop();
  });
});

describe('a replica upgraded from one consumer group for all webhooks, then given a second webhook, then the first taken out and put back', { timeout: 40000 }, () => {
  it('goes on where the old group stopped, a new webhook starts at what is new, and one put back is not sent what is too old', async () => {
    const rds = await startRedis();
    const discord = await startDiscord();
    fakes.push(discord);
    const alert = (condition, previous) => redis(rds.port, 'XADD', 'glance:alerts', '*', 'cluster', 'main', 'condition',
      String(condition), 'previous', String(previous), 'since', String(Date.now()), 'down', condition === 1 ? '0' : '8',
      'busy', '0', 'total', '8', 'flapping', '0', 'changes', '1');
    // an incident the builds before delivered through the group "glance-alerts", then an outage it had read but not
    // acknowledged when it was stopped, then its recovery, written after
    await alert(4, 1);
    await alert(1, 4);
    await redis(rds.port, 'XGROUP', 'CREATE', 'glance:alerts', 'glance-alerts', '$');
    await alert(4, 1);
    await redis(rds.port, 'XREADGROUP', 'GROUP', 'glance-alerts', 'old-sender', 'COUNT', '1', 'STREAMS', 'glance:alerts', '>');
    await alert(1, 4);
    const first = discord.url();
    let [api] = await replicas(1, rds.port, 8, first);
    const resolved = await waitForRequest(discord, (r) => r.method === 'PATCH' && r.answeredWith === 200, 'the recovery');
    await sleep(1500);
    assert.deepEqual(discord.requests.map((r) => `${r.method} ${title(r)}`), ['POST main: major outage', 'PATCH main: resolved'],
      `the pending outage and its recovery, not the incident delivered before:\n  ${log(discord)}`);
    assert.ok(resolved.path.endsWith(`/messages/${creates(discord)[0].messageId}`));
    await api.stop();

    // a second webhook: it gets the next incident, not the stream's past
    const second = discord.url();
    [api] = await replicas(1, rds.port, 8, `${first},${second}`);
    await alert(4, 1);
    const secondId = discord.idOf(second);
    await waitForRequest(discord, (r) => r.webhookId === secondId && r.answeredWith === 200, 'the outage on the second webhook');
    await waitUntil(() => creates(discord).length === 3, { timeoutMs: 5000, message: 'the outage on the first webhook' });
    await sleep(1500);
    const toSecond = discord.requests.filter((r) => r.webhookId === secondId);
    assert.deepEqual(toSecond.map((r) => `${r.method} ${title(r)}`), ['POST main: major outage'], `only what is new:\n  ${log(discord)}`);
    assert.equal(discord.requests.length, 4, `one request per webhook for the new alert:\n  ${log(discord)}`);
    assertWellBehaved(discord);
    await api.stop();

    // the first webhook taken out, an alert delivered without it, then the webhook put back after more than
    // GLANCE_ALERT_GIVE_UP: its group is where it was left, but what it missed is too old to send now
    const GIVE_UP_S = 5;
    [api] = await replicas(1, rds.port, 8, second);
    const missedId = (await alert(1, 4)).trim();
    await waitUntil(() => discord.requests.length === 5, { timeoutMs: 8000, message: 'the recovery on the second webhook' })
      .catch(async (e) => { throw new Error(`${e.message}\n  ${log(discord)}\n${api.stderr().slice(-2000)}\n${await redis(rds.port, 'XINFO', 'GROUPS', 'glance:alerts')}\n${await redis(rds.port, 'XRANGE', 'glance:alerts', '-', '+')}\n${await redis(rds.port, 'HGETALL', 'glance:{main}:incident')}`); });
    await api.stop();
    await sleep(GIVE_UP_S * 1000 + 200);
    [api] = await replicas(1, rds.port, 8, `${first},${second}`, { GLANCE_ALERT_GIVE_UP: GIVE_UP_S });
    const firstShown = new URL(first).origin;
    const firstId = discord.idOf(first);
    let missed;
    await waitUntil(async () => {
      const { alerts } = (await request(api.port, 'GET', '/api/alerts', { headers: AUTH })).json();
      missed = alerts.find((a) => a.id === missedId);
      return /^not sent \(/.test(missed?.webhooks.find((w) => w.webhook === firstShown && w.id !== undefined)?.delivery ?? '');
    }, { timeoutMs: 8000, intervalMs: 200, message: 'the missed alert settled at the first webhook' })
      .catch((e) => { throw new Error(`${e.message}: ${JSON.stringify(missed)}`); });
    assert.deepEqual(missed.webhooks.filter((w) => w.webhook !== DEAD_SHOWN).map((w) => w.delivery),
      [`not sent (older than GLANCE_ALERT_GIVE_UP (${GIVE_UP_S} s) when this webhook's turn came)`, 'sent']);
    assert.equal(discord.requests.filter((r) => r.webhookId === firstId).length, 3, `nothing more to the first webhook:\n  ${log(discord)}`);
    await api.stop();
    await rds.stop();
  });
});

describe('a cluster that keeps changing (flapping)', { timeout: 60000 }, () => {
  const SHARDS = 8;
  const TOGGLES = 6;
  let rds;
  let discord;
  let apis;
  let stopPings = async () => {};

  before(async () => {
    rds = await startRedis();
    discord = await startDiscord();
    fakes.push(discord);
    apis = await replicas(2, rds.port, SHARDS, discord.url(), { GLANCE_ALERT_ROLE: ROLE });
  });
  after(() => stopPings());

  it('is said in one message, edited in place and pinging no one, not in a message per change', async () => {
    await online(apis, SHARDS);
    stopPings = keepHealthy(apis, SHARDS);
    // shard 0 offline, then online, then offline ...: each condition held past the delay is one alert
    for (let i = 0; i < TOGGLES; i++) {
      assert.equal((await request(apis[i % 2].port, 'POST', `/api/status/main/0/${i % 2 ? 3 : 2}`, { headers: AUTH })).status, 204);
      await waitUntil(async () => Number(await redis(rds.port, 'XLEN', 'glance:alerts')) === i + 1,
        { timeoutMs: 5000, intervalMs: 50, message: `alert ${i + 1} in the stream` });
    }
    const entries = (await redis(rds.port, 'XRANGE', 'glance:alerts', '-', '+')).split('\n');
    const flags = entries.reduce((out, line, i) => (line === 'flapping' ? [...out, entries[i + 1]] : out), []);
    assert.deepEqual(flags, ['0', '0', '0', '1', '1', '1'], 'the fourth alert within the window and those after it flap');
    await waitUntil(() => discord.requests.filter((r) => r.answeredWith === 200).length === TOGGLES,
      { timeoutMs: 10000, intervalMs: 50, message: `${TOGGLES} answered requests` }).catch((e) => { throw new Error(`${e.message}\n  ${log(discord)}`); });
    await sleep(1000);
    // before it flaps: an incident, resolved, and a new one; from then on that one message says it all
    assert.deepEqual(discord.requests.map((r) => r.method), ['POST', 'PATCH', 'POST', 'PATCH', 'PATCH', 'PATCH'], log(discord));
    const [, , second, ...episode] = discord.requests;
    for (const r of episode) {
      assert.ok(r.path.endsWith(`/messages/${second.messageId}`), `${r.path} edits the incident's message`);
      assert.equal(title(r), 'main: flapping');
      assert.equal(r.body.content, undefined, 'an edit pings no one');
    }
    assert.equal(discord.messages.size, 2);
    assertWellBehaved(discord);
  });
});
