// alert_delivery.test.mjs -- an incident's alert delivered once, whatever the number of replicas and shards, with
// real Redis, real replicas and the fake Discord of discord.mjs: one incident is one message, created once and
// edited as it gets worse and when it is resolved; a restart within the delay sends nothing; an alert survives the
// replica that held it, the sender killed between alerts and a Redis restart; at the least GLANCE_ALERT_TIMEOUT_MS
// (100) sixteen clusters make sixteen messages. The fleet and what every request must be: alert_fleet.mjs.
// With GLANCE_TEST_DEAD_WEBHOOK=1 (test.sh's run at GLANCE_TEST_ALERT_TIMEOUT_MS=100) every replica also has a
// webhook nothing listens on, first in its list: every alert must reach the live ones as it does without it.

import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startRedis, request, waitUntil, sleep, getMetrics, metricValue, postEach } from './harness.mjs';
import { startRedisServer } from '../faults/lib.mjs';
import { startDiscord } from './discord.mjs';
import {
  AUTH, fakes, DELAY_S, TIMEOUT_MS, LOCK_S, HEALTH_S, DEAD_PORT, online, keepHealthy, condition, replicas, summed,
  delivery, creates, edits, answered, title, log, waitForRequest, fleet, assertWellBehaved, closeFleets,
} from './alert_fleet.mjs';

after(closeFleets);

describe('one incident across three replicas and 360 shards', { timeout: 60000 }, () => {
  const SHARDS = 360;
  let rds;
  let discord;
  let apis;
  let created;
  let stopPings = async () => {};

  before(async () => {
    rds = await startRedis();
    discord = await startDiscord();
    fakes.push(discord);
    apis = await replicas(3, rds.port, SHARDS, discord.url());
  });
  after(() => stopPings());

  it('every replica exports the delivery metrics, all zero', async () => {
    for (const name of ['glance_alerts_sent_total', 'glance_alerts_edited_total', 'glance_alerts_failed_total',
      'glance_alerts_rate_limited_total', 'glance_alert_webhooks_disabled']) {
      for (const a of apis) assert.equal(metricValue(await getMetrics(a.port), name), 0, `${name} on ${a.name}`);
    }
  });

  it('360 shards going silent at once: one message created, not 360, not 3', async (t) => {
    const silentAt = await online(apis, SHARDS);
    await waitUntil(async () => (await condition(rds.port)) === 1, { timeoutMs: 3000, message: 'main recorded as operational' });
    created = await waitForRequest(discord, (r) => r.method === 'POST', 'the create request');
    await waitUntil(() => created.answeredWith !== null, { timeoutMs: 3000, message: 'the create to be answered' });
    t.diagnostic(`last ping -> create request at the receiver: ${created.at - silentAt} ms `
      + `(health timeout ${HEALTH_S} s + delay ${DELAY_S} s = ${(HEALTH_S + DELAY_S) * 1000} ms of it by design), sent by ${created.replica}`);
    await sleep(1500); // nobody sends a second one
    assert.equal(discord.requests.length, 1, `one request, the create:\n  ${log(discord)}`);
    assert.equal(created.answeredWith, 200);
    assert.equal(discord.messages.size, 1);
    assert.match(title(created), /main/);
    assert.match(title(created), /major outage/);
    assert.ok(!created.body.content, `no role is configured, so nobody is mentioned: ${JSON.stringify(created.body.content)}`);
    assert.deepEqual(created.body.allowed_mentions.parse, []);
    assert.ok(!created.body.allowed_mentions.roles?.length, 'no roles may be pinged');
    assertWellBehaved(discord);
    assert.equal(await summed(apis, 'glance_alerts_sent_total'), 1);
  });

  it('the recovery edits that message to resolved, and the metrics summed over replicas agree', async () => {
    assert.ok(created?.messageId, 'needs the message created by the previous test');
    await online(apis, SHARDS);
    stopPings = keepHealthy(apis, SHARDS);
    const edit = await waitForRequest(discord, (r) => r.method === 'PATCH', 'the edit to resolved');
    await waitUntil(() => edit.answeredWith !== null, { timeoutMs: 3000, message: 'the edit to be answered' });
    await sleep(1500);
    assert.equal(edit.path, `${created.path}/messages/${created.messageId}`, 'the message created');
    assert.equal(edit.answeredWith, 200);
    assert.match(title(edit), /main/);
    assert.match(title(edit), /resolved$/);
    assert.equal(discord.requests.length, 2, `a create and an edit:\n  ${log(discord)}`);
    assert.equal(discord.messages.size, 1);
    assert.match(discord.messages.get(created.messageId).embeds[0].title, /resolved$/);
    assertWellBehaved(discord);
    assert.equal(await summed(apis, 'glance_alerts_sent_total'), 1, 'sent');
    assert.equal(await summed(apis, 'glance_alerts_edited_total'), 1, 'edited');
    if (!DEAD_PORT) assert.equal(await summed(apis, 'glance_alerts_failed_total'), 0, 'failed');
    assert.equal(await summed(apis, 'glance_alerts_rate_limited_total'), 0, 'rate limited');
    assert.equal(await summed(apis, 'glance_alert_webhooks_disabled'), 0, 'disabled');
    const { alerts } = (await request(apis[0].port, 'GET', '/api/alerts', { headers: AUTH })).json();
    assert.deepEqual(alerts.map((a) => [a.condition, delivery(a)]), [['operational', 'sent'], ['major outage', 'sent']]);
  });

  it('a shard restart shorter than the delay reaches no webhook', async () => {
    if ((await condition(rds.port)) !== 1) {
      // the test before did not bring main back: do it here, and let its alert fall due before watching
      await online(apis, SHARDS);
      await stopPings();
      stopPings = keepHealthy(apis, SHARDS);
      await waitUntil(async () => (await condition(rds.port)) === 1, { timeoutMs: 3000, message: 'main recorded as operational' });
      await sleep(DELAY_S * 1000 + 1500);
    }
    const mark = discord.requests.length;
    assert.equal((await request(apis[0].port, 'POST', '/api/status/main/5/2', { headers: AUTH })).status, 204);
    await waitUntil(async () => (await condition(rds.port)) === 3, { timeoutMs: 2000, message: 'main recorded as a partial outage' });
    await sleep(300);
    assert.equal((await request(apis[1].port, 'POST', '/api/status/main/5/3', { headers: AUTH })).status, 204);
    await waitUntil(async () => (await condition(rds.port)) === 1, { timeoutMs: 2000, message: 'main operational again' });
    await sleep(DELAY_S * 1000 + 1500);
    assert.deepEqual(discord.requests.slice(mark), [], `no request for the restart:\n  ${log(discord)}`);
  });
});

describe('a replica killed while it holds an alert', { timeout: 40000 }, () => {
  const SHARDS = 8;
  let rds;
  let discord;
  let apis;

  before(async () => {
    rds = await startRedis();
    discord = await startDiscord();
    fakes.push(discord);
    apis = await replicas(3, rds.port, SHARDS, discord.url());
  });

  it('another replica claims the alert and delivers it: one message in the end', async (t) => {
    discord.setNext({ hold: true });
    await online(apis, SHARDS);
    await waitUntil(async () => (await condition(rds.port)) === 1, { timeoutMs: 3000, message: 'main recorded as operational' });
    const first = await waitForRequest(discord, (r) => r.method === 'POST', 'the first create (held)');
    const holder = apis.find((a) => a.name === first.replica);
    assert.ok(holder, `the held create names a replica we started: ${first.replica}`);
    // at once: left alone, the holder would give up after its timeout and retry by itself
    holder.kill('SIGKILL');
    assert.ok(await holder.child.exited, 'the holder is gone');
    const killedAt = Date.now();

    const delivered = await waitForRequest(discord, (r) => r.method === 'POST' && r.answeredWith === 200,
      'a create by another replica, answered', LOCK_S * 1000 + TIMEOUT_MS + 8000);
    await sleep(1500); // and no other
    t.diagnostic(`${holder.name} held the create at +0 ms and was killed at +${killedAt - first.at} ms; `
      + `${delivered.replica} delivered it at +${delivered.at - first.at} ms (claimable once idle ${LOCK_S * 1000 + TIMEOUT_MS} ms)`);
    assert.equal(first.answeredWith, 'closed by peer', 'the held request was never answered');
    assert.notEqual(delivered.replica, holder.name);
    // the idle time counts from when the holder read the alert, a moment before its request arrived here
    assert.ok(delivered.at - first.at >= LOCK_S * 1000 + TIMEOUT_MS - 1250,
      `claimed ${delivered.at - first.at} ms after the held request, before it was idle for ${LOCK_S * 1000 + TIMEOUT_MS} ms`);
    assert.equal(answered(creates(discord), 200).length, 1, `one create answered:\n  ${log(discord)}`);
    assert.equal(discord.messages.size, 1);
    assert.equal(edits(discord).length, 0);
    assertWellBehaved(discord);
    assert.equal(await summed(apis, 'glance_alerts_sent_total'), 1, 'sent, by the survivors');
  });
});

describe('a sender killed between alerts, with the default 10 s timeout', { timeout: 40000 }, () => {
  it('another replica sends the next alert within the lock\'s 3 s, not 3 x the timeout', async (t) => {
    const SHARDS = 8;
    const { rds, discord, apis } = await fleet(3, SHARDS, { GLANCE_ALERT_TIMEOUT_MS: 10000 });
    await online(apis, SHARDS);
    const created = await waitForRequest(discord, (r) => r.method === 'POST' && r.answeredWith === 200, 'the create');
    await sleep(500); // the id saved, the alert acknowledged
    const sender = apis.find((a) => a.name === created.replica);
    const other = apis.find((a) => a !== sender);
    sender.kill('SIGKILL');
    other.kill('SIGKILL');
    await sender.child.exited;
    await other.child.exited;
    const survivor = apis.find((a) => a !== sender && a !== other);
    const recoveredAt = await online([survivor], SHARDS);
    const stop = keepHealthy([survivor], SHARDS);
    try {
      // 479eca0: the lock lived 3 x GLANCE_ALERT_TIMEOUT_MS, 30 s
      const edit = await waitForRequest(discord, (r) => r.method === 'PATCH' && r.answeredWith === 200, 'the edit to resolved',
        LOCK_S * 1000 + DELAY_S * 1000 + 4000);
      t.diagnostic(`recovered at +0 ms; ${edit.replica} resolved the message at +${edit.at - recoveredAt} ms`);
      assert.equal(edit.replica, survivor.name);
      assert.ok(edit.path.endsWith(`/messages/${created.messageId}`));
      assert.match(title(edit), /resolved$/);
      assertWellBehaved(discord);
    } finally {
      await stop();
      await survivor.stop();
      await rds.stop();
    }
  });
});

describe('the smallest GLANCE_ALERT_TIMEOUT_MS the configuration accepts (100)', { timeout: 60000 }, () => {
  it('16 clusters failing at once across two replicas make 16 messages, one each', async (t) => {
    const CLUSTERS = 16;
    const bots = Array.from({ length: CLUSTERS }, (_, i) => `c${i}:2`).join(';');
    const rds = await startRedis();
    const discord = await startDiscord();
    fakes.push(discord);
    // the two replicas' lock calls half a second apart (each asks once a second), so that one asks while the other's
    // renewal is due; answers that take most of the timeout keep alerts in delivery for long
    const apis = [...await replicas(1, rds.port, 2, discord.url(), { GLANCE_ALERT_TIMEOUT_MS: 100, GLANCE_BOTS: bots })];
    await sleep(500);
    const [second] = await replicas(1, rds.port, 2, discord.url(),
      { GLANCE_ALERT_TIMEOUT_MS: 100, GLANCE_BOTS: bots, GLANCE_REPLICA_NAME: 'api2' });
    second.name = 'api2';
    apis.push(second);
    discord.setNext(...Array.from({ length: CLUSTERS }, () => ({ delayMs: 60 })));
    try {
      // every shard online, then silent: each cluster goes down within the same health timeout
      await postEach(apis, Array.from({ length: CLUSTERS * 2 }, (_, i) => `/api/status/c${i >> 1}/${i & 1}/3`), AUTH);
      // 479eca0: the lock lived 300 ms and was renewed every ~1.25 s, so both replicas sent (25 messages for 16)
      await waitUntil(() => answered(creates(discord), 200).length >= CLUSTERS,
        { timeoutMs: 30000, intervalMs: 100, message: `${CLUSTERS} creates:\n  ${log(discord)}` });
      await sleep(3000); // and no more
      const titles = answered(creates(discord), 200).map(title);
      t.diagnostic(`${titles.length} creates, from ${[...new Set(creates(discord).map((r) => r.replica))].join(', ')}`);
      assert.equal(titles.length, CLUSTERS, `one create per cluster:\n  ${log(discord)}`);
      assert.equal(new Set(titles.map((x) => x.split(':')[0])).size, CLUSTERS, `each cluster once: ${titles.join(' | ')}`);
      assert.equal(discord.messages.size, CLUSTERS);
      assertWellBehaved(discord);
    } finally {
      for (const a of apis) await a.stop();
      await rds.stop();
    }
  });
});

describe('Redis restarted in the middle of an incident', { timeout: 40000 }, () => {
  const SHARDS = 8;
  let rds;
  let discord;
  let apis;
  let stopPings = async () => {};

  before(async () => {
    // every write on disk before Redis answers it, so a restart on the same dir keeps everything
    rds = await startRedisServer({ args: ['--appendonly', 'yes', '--appendfsync', 'always'] });
    discord = await startDiscord();
    fakes.push(discord);
    apis = await replicas(2, rds.port, SHARDS, discord.url());
  });
  after(() => stopPings());

  it('the recovery edits the message created before the restart', async (t) => {
    await online(apis, SHARDS);
    const created = await waitForRequest(discord, (r) => r.method === 'POST' && r.answeredWith === 200, 'the create');
    await sleep(500); // let the replica record what it delivered

    const restartAt = Date.now();
    await rds.stop();
    await rds.start(); // same port, same dir: the AOF is replayed before PING answers
    for (const a of apis) {
      await waitUntil(async () => (await request(a.port, 'GET', '/readyz', { timeoutMs: 1000 }).catch(() => null))?.status === 200,
        { timeoutMs: 10000, intervalMs: 50, message: `${a.name} ready again after the Redis restart` });
    }
    t.diagnostic(`Redis restarted and both replicas ready again within ${Date.now() - restartAt} ms`);

    await online(apis, SHARDS);
    stopPings = keepHealthy(apis, SHARDS);
    const edit = await waitForRequest(discord, (r) => r.method === 'PATCH' && r.answeredWith === 200, 'the edit to resolved');
    await sleep(1500);
    assert.ok(edit.path.endsWith(`/messages/${created.messageId}`), `the edit went to ${edit.path}, not message ${created.messageId}`);
    assert.match(title(edit), /resolved$/);
    assert.equal(creates(discord).length, 1, `no second create:\n  ${log(discord)}`);
    assert.equal(discord.messages.size, 1);
    assertWellBehaved(discord);
  });
});
