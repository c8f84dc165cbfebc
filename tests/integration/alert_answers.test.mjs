// alert_answers.test.mjs -- what the webhooks answer, and what a sender makes of it, with real Redis, real
// replicas and the fakes of discord.mjs: Discord's rate limits are waited out, not hammered, and an absurd wait is
// capped; a webhook Discord says is unknown is left alone; a dead webhook and one that never answers hold back only
// themselves; a generic JSON webhook gets one POST per alert beside a Discord one that mentions a role.
// With GLANCE_TEST_DEAD_WEBHOOK=1 (test.sh's run at GLANCE_TEST_ALERT_TIMEOUT_MS=100) every replica also has a
// webhook nothing listens on, first in its list: every alert must reach the live ones as it does without it.

import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startRedis, request, waitUntil, sleep, getMetrics, metricValue, freePort } from './harness.mjs';
import { startDiscord, startJsonHook } from './discord.mjs';
import {
  AUTH, fakes, DELAY_S, TIMEOUT_MS, HEALTH_S, ROLE, online, keepHealthy, condition, replicas, summed, delivery,
  creates, edits, answered, title, log, waitForRequest, fleet, assertWellBehaved, startSilentHook, closeFleets,
} from './alert_fleet.mjs';

after(closeFleets);

describe('Discord\'s rate limits', { timeout: 40000 }, () => {
  const SHARDS = 8;
  const RETRY_AFTER_S = 1.5;
  // longer than the recovery takes to fall due (the delay, and a little), so the wait is what is measured
  const RESET_AFTER_S = 3;
  let rds;
  let discord;
  let apis;
  let ok;
  let stopPings = async () => {};

  before(async () => {
    rds = await startRedis();
    discord = await startDiscord();
    fakes.push(discord);
    apis = await replicas(2, rds.port, SHARDS, discord.url());
  });
  after(() => stopPings());

  it('after a 429 the next attempt waits at least retry_after, and one message is created', async (t) => {
    // the create is refused with a 429, then accepted with a bucket that is empty for RESET_AFTER_S
    discord.setNext({ status: 429, retryAfter: RETRY_AFTER_S }, { remaining: 0, resetAfter: RESET_AFTER_S });
    await online(apis, SHARDS);
    const limited = await waitForRequest(discord, (r) => r.answeredWith === 429, 'the rate-limited create');
    ok = await waitForRequest(discord, (r) => r.method === 'POST' && r.answeredWith === 200,
      'the create after the wait', RETRY_AFTER_S * 1000 + 8000);
    await sleep(1500);
    const next = discord.requests[discord.requests.indexOf(limited) + 1];
    t.diagnostic(`429 answered at +0 ms; next request (${next.replica}) at +${next.at - limited.answeredAt} ms; retry_after ${RETRY_AFTER_S} s`);
    assert.ok(next.at - limited.answeredAt >= RETRY_AFTER_S * 1000,
      `the next request came ${next.at - limited.answeredAt} ms after the 429 that said ${RETRY_AFTER_S} s:\n  ${log(discord)}`);
    assert.equal(ok.path, limited.path);
    // the URL was given without a version (as Discord shows it); the replica calls v10, where retry_after is in
    // seconds (unversioned is v6, in milliseconds: 479eca0 read 1500 of them as seconds and waited 25 minutes)
    assert.match(ok.path, /^\/api\/v10\/webhooks\//);
    assert.equal(answered(creates(discord), 200).length, 1, `one create:\n  ${log(discord)}`);
    assert.equal(discord.messages.size, 1);
    assertWellBehaved(discord);
    assert.ok(await summed(apis, 'glance_alerts_rate_limited_total') >= 1, 'rate limited, counted');
    assert.equal(await summed(apis, 'glance_alerts_sent_total'), 1, 'sent');
  });

  it('after an answer with X-RateLimit-Remaining 0 the next request waits X-RateLimit-Reset-After', async (t) => {
    assert.ok(ok?.messageId, 'needs the message created by the previous test');
    // at once: the recovery falls due DELAY_S later, well before the bucket is full again
    await online(apis, SHARDS);
    stopPings = keepHealthy(apis, SHARDS);
    const edit = await waitForRequest(discord, (r) => r.method === 'PATCH' && r.answeredWith === 200,
      'the edit to resolved', RESET_AFTER_S * 1000 + 8000);
    t.diagnostic(`create answered with Remaining 0 at +0 ms; edit at +${edit.at - ok.answeredAt} ms; Reset-After ${RESET_AFTER_S} s`);
    assert.ok(edit.at - ok.answeredAt >= RESET_AFTER_S * 1000,
      `the edit came ${edit.at - ok.answeredAt} ms after an answer that said to wait ${RESET_AFTER_S} s:\n  ${log(discord)}`);
    assert.ok(edit.path.endsWith(`/messages/${ok.messageId}`));
    assertWellBehaved(discord);
  });
});

describe('a 429 that asks for an absurd wait', { timeout: 40000 }, () => {
  for (const retryAfter of [1e300, 1e9]) {
    it(`retry_after ${retryAfter}: the replica waits the longest wait it allows (60 s), neither for ever nor not at all, and says so`, async () => {
      const { rds, discord, apis: [api] } = await fleet(1, 8);
      discord.setNext({ status: 429, retryAfter });
      await online([api], 8);
      const limited = await waitForRequest(discord, (r) => r.answeredWith === 429, 'the rate-limited create');
      await sleep(3000);
      // 479eca0: 1e300 overflowed into no wait at all (hundreds of requests, each 429 again), 1e9 stopped alerting
      // until a restart, and neither said why
      const after = discord.requests.slice(discord.requests.indexOf(limited) + 1);
      assert.equal(after.length, 0, `requests within 3 s of a 429 that asked for ${retryAfter} s:\n  ${log(discord)}`);
      await waitUntil(() => /asked to wait .* waiting 60 s, the most any answer can ask/.test(api.stderr()),
        { timeoutMs: 2000, message: `a log line saying the wait was capped; stderr:\n${api.stderr().slice(-1500)}` });
      await api.stop();
      await rds.stop();
    });
  }
});

describe('a webhook Discord says is unknown', { timeout: 40000 }, () => {
  const SHARDS = 8;
  let rds;
  let discord;
  let api;
  let dead;
  let live;
  let stopPings = async () => {};

  before(async () => {
    rds = await startRedis();
    discord = await startDiscord();
    fakes.push(discord);
    const deadUrl = discord.url();
    dead = discord.idOf(deadUrl);
    discord.deleteWebhook(dead);
    live = discord.idOf(discord.url());
    // one replica: each replica finds out for itself that a webhook is gone
    [api] = await replicas(1, rds.port, SHARDS, `${deadUrl},${discord.url(live)}`);
  });
  after(() => stopPings());

  it('gets one request, and none afterwards; the other webhook still gets the incident', async () => {
    await online([api], SHARDS);
    await waitForRequest(discord, (r) => r.webhookId === dead && r.answeredWith === 404, 'the request to the unknown webhook');
    await waitForRequest(discord, (r) => r.webhookId === live && r.method === 'POST' && r.answeredWith === 200, 'the create on the live webhook');
    // the recovery is a second alert: due on the dead webhook too, had it not been given up
    await online([api], SHARDS);
    stopPings = keepHealthy([api], SHARDS);
    await waitForRequest(discord, (r) => r.webhookId === live && r.method === 'PATCH' && r.answeredWith === 200,
      'the recovery on the live webhook');
    await sleep(3000);
    const toDead = discord.requests.filter((r) => r.webhookId === dead);
    assert.equal(toDead.length, 1, `one request to the unknown webhook:\n  ${log(discord)}`);
    assert.equal(discord.messages.size, 1);
  });

  it('the replica says so: the gauge is 1, a log line names the webhook; /readyz stays 200', async (t) => {
    assert.equal(metricValue(await getMetrics(api.port), 'glance_alert_webhooks_disabled'), 1);
    const lines = api.stderr().split('\n').filter((l) => /webhook/i.test(l) && /404|unknown|disabl|stop|gave up|giving up/i.test(l));
    assert.ok(lines.length >= 1, `a log line about the webhook; stderr:\n${api.stderr().slice(-3000)}`);
    t.diagnostic(`log: ${lines[0].trim()}`);
    const token = discord.webhooks.get(dead).token;
    assert.ok(!api.stderr().includes(token), 'the log never shows a webhook token');
    // GET /api/alerts says which webhook did not take them
    const { alerts } = (await request(api.port, 'GET', '/api/alerts', { headers: AUTH })).json();
    assert.equal(alerts.length, 2);
    assert.match(delivery(alerts[1]), /^not sent to http:\/\/127\.0\.0\.1:\d+ \(it answered 404\)$/);
    assert.match(delivery(alerts[0]), /^not sent to http:\/\/127\.0\.0\.1:\d+ \(given up on after a 401, 403 or 404\)$/);
    const r = await request(api.port, 'GET', '/readyz');
    assert.equal(r.status, 200, r.body);
  });
});

describe('a dead webhook and one that never answers, listed before a live one', { timeout: 60000 }, () => {
  it('hold back only themselves: the live one gets every alert as soon as alone, and the others are given up on, with why', async (t) => {
    const SHARDS = 8;
    const GIVE_UP_S = 5; // the least accepted with GLANCE_ALERT_TIMEOUT_MS up to 1000
    const rds = await startRedis();
    const discord = await startDiscord();
    const silent = await startSilentHook();
    fakes.push(discord, silent);
    const closed = await freePort();
    const [api] = await replicas(1, rds.port, SHARDS, `json:http://127.0.0.1:${closed}/hook,json:${silent.url()},${discord.url()}`,
      { GLANCE_ALERT_GIVE_UP: GIVE_UP_S });
    const stop = { pings: async () => {} };
    try {
      // 479eca0 sent to one webhook at a time, in order, retrying the dead one without end: Discord got nothing
      const silentAt = await online([api], SHARDS);
      const created = await waitForRequest(discord, (r) => r.method === 'POST' && r.answeredWith === 200, 'the create on the live webhook');
      t.diagnostic(`last ping -> create at the live webhook: ${created.at - silentAt} ms (health timeout + delay: ${(HEALTH_S + DELAY_S) * 1000})`);
      const backAt = await online([api], SHARDS);
      stop.pings = keepHealthy([api], SHARDS);
      const resolved = await waitForRequest(discord, (r) => r.method === 'PATCH' && /resolved$/.test(title(r)), 'the recovery on the live webhook');
      t.diagnostic(`recovery -> edit at the live webhook: ${resolved.at - backAt} ms (delay: ${DELAY_S * 1000})`);
      assert.ok(resolved.path.endsWith(`/messages/${created.messageId}`));
      assert.equal(creates(discord).length, 1, `one create:\n  ${log(discord)}`);
      assertWellBehaved(discord);

      // each alert, once GIVE_UP_S old, is recorded as not sent to the two others, with why
      let alerts;
      await waitUntil(async () => {
        ({ alerts } = (await request(api.port, 'GET', '/api/alerts', { headers: AUTH })).json());
        return alerts.length === 2 && alerts.every((a) => !/sending|waiting/.test(a.delivery));
      }, { timeoutMs: (GIVE_UP_S + 2 * TIMEOUT_MS / 1000 + 10) * 1000, intervalMs: 200, message: 'both alerts settled at every webhook' })
        .catch((e) => { throw new Error(`${e.message}: ${JSON.stringify(alerts)}`); });
      t.diagnostic(`GET /api/alerts: ${JSON.stringify(alerts[0])}`);
      // the outage was tried until it was GIVE_UP_S old; the recovery, behind it, may have been that old already
      // when its turn came: then it is not tried at all (a dead webhook's backlog drains)
      const stale = `|older than GLANCE_ALERT_GIVE_UP \\(${GIVE_UP_S} s\\) when this webhook's turn came`;
      for (const [i, a] of alerts.entries()) {
        const at = (shown) => a.webhooks.find((w) => w.webhook === shown)?.delivery;
        const or = i === 0 ? stale : '';
        assert.match(at(`http://127.0.0.1:${closed}`), new RegExp(`^not sent \\((gave up ${GIVE_UP_S} s after the alert: .*connect${or})`, 'i'));
        assert.match(at(silent.shown()), new RegExp(`^not sent \\((gave up ${GIVE_UP_S} s after the alert: .*(timed out|timeout)${or})`, 'i'));
        assert.equal(at(new URL(discord.url()).origin), 'sent');
        assert.match(delivery(a), new RegExp(`^not sent to http://127\\.0\\.0\\.1:${closed} \\(.*\\); ${silent.shown().replace(/\./g, '\\.')} \\(`));
      }
      assert.ok(await summed([api], 'glance_alerts_given_up_total') >= 4, 'given up: two alerts at two webhooks');
      assert.equal(metricValue(await getMetrics(api.port), 'glance_alert_webhooks_disabled'), 0, 'neither is disabled: the next alert tries them again');
    } finally {
      await stop.pings();
      await api.stop();
      await rds.stop();
    }
  });
});

describe('a generic JSON webhook, beside a Discord one with a role to mention', { timeout: 40000 }, () => {
  const SHARDS = 8;
  let rds;
  let discord;
  let hook;
  let apis;
  let stopPings = async () => {};

  before(async () => {
    rds = await startRedis();
    discord = await startDiscord();
    hook = await startJsonHook();
    fakes.push(discord, hook);
    apis = await replicas(2, rds.port, SHARDS, `${discord.url()},json:${hook.url()}`, { GLANCE_ALERT_ROLE: ROLE });
  });
  after(() => stopPings());

  it('an incident that gets worse, then resolves: one POST per alert with the documented fields; one Discord message, edited twice', async () => {
    await online(apis, SHARDS);
    stopPings = keepHealthy(apis, SHARDS);
    assert.equal((await request(apis[0].port, 'POST', '/api/status/main/0/2', { headers: AUTH })).status, 204);
    const partial = await waitForRequest(hook, (r) => r.method === 'POST', 'the JSON POST for the partial outage');
    const created = await waitForRequest(discord, (r) => r.method === 'POST' && r.answeredWith === 200, 'the Discord create');
    await stopPings(); // every shard falls silent: the partial outage becomes a major one
    const major = await waitForRequest(hook, (r) => r.method === 'POST' && r.body?.condition !== partial.body?.condition,
      'the JSON POST for the major outage');
    const worse = await waitForRequest(discord, (r) => r.method === 'PATCH' && r.answeredWith === 200, 'the Discord edit to major');
    await online(apis, SHARDS);
    stopPings = keepHealthy(apis, SHARDS);
    const recovery = await waitForRequest(hook, (r) => r.method === 'POST' && r.body?.condition === 'operational',
      'the JSON POST for the recovery');
    const resolved = await waitForRequest(discord, (r) => r.method === 'PATCH' && r !== worse && r.answeredWith === 200,
      'the Discord edit to resolved');
    await sleep(1500);

    assert.equal(hook.requests.length, 3, `three POSTs:\n  ${log(hook)}`);
    for (const r of hook.requests) {
      assert.deepEqual(r.problems, []);
      assert.equal(r.answeredWith, 204);
      assert.equal(r.path, new URL(hook.url()).pathname);
      assert.match(r.replica ?? '', /^api\d$/);
    }
    const expected = [
      [partial, 'partial outage', 'operational', 1, 0],
      [major, 'major outage', 'partial outage', SHARDS, 0],
      [recovery, 'operational', 'major outage', 0, 0],
    ];
    let since = 0;
    for (const [r, cond, prev, down, busy] of expected) {
      const b = r.body;
      assert.deepEqual([b.cluster, b.condition, b.previous, b.down, b.busy, b.total], ['main', cond, prev, down, busy, SHARDS],
        `POST for ${cond}: ${r.raw}`);
      assert.ok(Number.isInteger(b.since_ms) && b.since_ms > since && r.at - b.since_ms >= DELAY_S * 1000,
        `since_ms ${b.since_ms}: the POST for ${cond} came ${r.at - b.since_ms} ms after the condition began`);
      since = b.since_ms;
      assert.ok(typeof b.text === 'string' && b.text.includes('main'), `text: ${JSON.stringify(b.text)}`);
    }

    assert.match(title(created), /partial outage/);
    assert.equal(created.body.content, `<@&${ROLE}>`);
    assert.deepEqual(created.body.allowed_mentions, { parse: [], roles: [ROLE] });
    assert.deepEqual(discord.messages.get(created.messageId).mention_roles, [ROLE]);
    for (const e of [worse, resolved]) assert.ok(e.path.endsWith(`/messages/${created.messageId}`), `${e.path}: not the message created`);
    assert.match(title(worse), /major outage/);
    assert.match(title(resolved), /resolved$/);
    assert.equal(creates(discord).length, 1, log(discord));
    assert.equal(edits(discord).length, 2, log(discord));
    assertWellBehaved(discord);
    assert.equal(await summed(apis, 'glance_alerts_sent_total'), 4, 'one Discord message and three JSON posts');
    assert.equal(await summed(apis, 'glance_alerts_edited_total'), 2);
  });
});
