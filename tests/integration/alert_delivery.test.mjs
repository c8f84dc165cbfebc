// alert_delivery.test.mjs -- alerts delivered to webhooks, with real Redis, real replicas and the fakes of
// discord.mjs: one incident is one Discord message, created once and edited as it gets worse and when it is
// resolved, whatever the number of replicas and shards; a restart within the delay sends nothing; an alert
// survives the replica that held it and a Redis restart; Discord's rate limits are waited out, not hammered; a
// dead webhook is left alone, and one that never answers holds back only itself; a generic JSON webhook gets one POST
// per alert. With GLANCE_TEST_DEAD_WEBHOOK=1 (test.sh's second run) every replica also has a webhook nothing listens
// on, first in its list: every alert must reach the live ones as it does without it.

import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import { startRedis, startApi, request, redis, waitUntil, sleep, getMetrics, metricValue, postEach, cleanup, freePort } from './harness.mjs';
import { startRedisServer, stopAll } from '../faults/lib.mjs';
import { startDiscord, startJsonHook } from './discord.mjs';

const PASSPHRASE = 'alert-delivery-passphrase-0123';
const AUTH = { authorization: `Bearer ${PASSPHRASE}` };
const DELAY_S = 1;
const TIMEOUT_MS = Number(process.env.GLANCE_TEST_ALERT_TIMEOUT_MS || 1000); // also run at 100, the least accepted
const LOCK_S = 3; // the sender's lock (alert_sender.c), whatever the timeout
// short, so an outage comes soon after the last ping; long enough that 360 status posts finish well within it
const HEALTH_S = 2;
// from the last ping to a delivered alert: the health timeout, the delay, and slack for a loaded machine
const DELIVERY_BOUND_MS = (HEALTH_S + DELAY_S + 5) * 1000;
const ROLE = '987654321098765432';
// a port nothing listens on, for GLANCE_TEST_DEAD_WEBHOOK=1
const DEAD_PORT = process.env.GLANCE_TEST_DEAD_WEBHOOK === '1' ? await freePort() : null;
const DEAD_SHOWN = DEAD_PORT && `http://127.0.0.1:${DEAD_PORT}`;

const fakes = [];
after(async () => {
  for (const f of fakes) await f.close();
  await stopAll();
  await cleanup();
});

const range = (n) => Array.from({ length: n }, (_, i) => i);

/** Every shard of main reports online; resolves the time of the last answer (the shards' last ping). */
async function online(apis, shards) {
  await postEach(apis, range(shards).map((s) => `/api/status/main/${s}/3`), AUTH);
  return Date.now();
}

/**
 * Pings every shard of main through the living replicas, several times per health timeout, until the returned
 * stop() is awaited: a cluster that recovered must not fall silent again while a test still watches it.
 */
function keepHealthy(apis, shards) {
  let stopped = false;
  const paths = range(shards).map((s) => `/api/health/main/${s}`);
  const loop = (async () => {
    while (!stopped) {
      await postEach(apis.filter((a) => a.alive()), paths, AUTH).catch(() => {});
      await sleep((HEALTH_S * 1000) / 4);
    }
  })();
  return async () => { stopped = true; await loop; };
}

const condition = async (port) => Number(await redis(port, 'HGET', 'glance:{main}:condition', 'condition'));

/** n replicas named api1..apiN, delivering to `webhooks`, with a passphrase and short timeouts. */
async function replicas(n, redisPort, shards, webhooks, env = {}) {
  const apis = [];
  for (let i = 1; i <= n; i++) {
    const api = await startApi({
      redisPort, bots: `main:${shards}`, passphrase: PASSPHRASE, healthTimeout: HEALTH_S,
      env: {
        GLANCE_ALERT_WEBHOOKS: DEAD_PORT ? `json:${DEAD_SHOWN}/dead,${webhooks}` : webhooks, GLANCE_ALERT_DELAY: DELAY_S, GLANCE_ALERT_TIMEOUT_MS: TIMEOUT_MS,
        GLANCE_REPLICA_NAME: `api${i}`, ...env,
      },
    });
    api.name = `api${i}`;
    apis.push(api);
  }
  return apis;
}

/** A metric summed over the living replicas; undefined when a replica does not export it. */
async function summed(apis, name) {
  let sum = 0;
  for (const a of apis.filter((x) => x.alive())) {
    const v = metricValue(await getMetrics(a.port), name);
    if (v === undefined) return undefined;
    sum += v;
  }
  return sum;
}

/**
 * What GET /api/alerts says became of an alert at the webhooks a test configured: its `delivery`, or, with the dead
 * webhook of GLANCE_TEST_DEAD_WEBHOOK=1, the same summary made from the other webhooks' parts.
 */
function delivery(alert) {
  if (!DEAD_PORT) return alert.delivery;
  const live = alert.webhooks.filter((w) => w.webhook !== DEAD_SHOWN);
  if (live.every((w) => w.delivery === 'sent')) return 'sent';
  return `not sent to ${live.filter((w) => w.delivery !== 'sent').map((w) => `${w.webhook} ${w.delivery.replace(/^not sent /, '')}`).join('; ')}`;
}

const creates = (fake) => fake.requests.filter((r) => r.method === 'POST');
const edits = (fake) => fake.requests.filter((r) => r.method === 'PATCH');
const answered = (list, status) => list.filter((r) => r.answeredWith === status);
const title = (r) => r.body?.embeds?.[0]?.title ?? '';

/** Every request in a short form, for assertion messages. */
const log = (fake) => fake.requests.map((r) => `#${r.n} ${r.method} ${r.path.replace(/\/webhooks\/(\d+)\/[^/]+/, '/webhooks/$1/…')}`
  + ` from ${r.replica} -> ${r.answeredWith} ${JSON.stringify(title(r) || r.body?.condition || '')}${r.early ? ' EARLY' : ''}`
  + `${r.problems.length ? ` problems: ${r.problems.join('; ')}` : ''}`).join('\n  ') || '(no requests)';

function waitForRequest(fake, pred, what, timeoutMs = DELIVERY_BOUND_MS) {
  return waitUntil(() => fake.requests.find(pred), { timeoutMs, intervalMs: 20, message: what })
    .catch((e) => { throw new Error(`${e.message}\nthe receiver saw:\n  ${log(fake)}`); });
}

/** What every request a replica sends a Discord webhook must be: well formed and honouring the rate limits. */
/** A Redis, a fake Discord and `n` replicas sending to it, for one test of its own. */
async function fleet(n, shards, env = {}) {
  const rds = await startRedis();
  const discord = await startDiscord();
  fakes.push(discord);
  return { rds, discord, apis: await replicas(n, rds.port, shards, discord.url(), env) };
}

function assertWellBehaved(discord) {
  for (const r of discord.requests) {
    assert.deepEqual(r.problems, [], `request #${r.n} was malformed:\n  ${log(discord)}`);
    assert.equal(r.early, false, `request #${r.n} came before the rate limit allowed it:\n  ${log(discord)}`);
    assert.match(r.replica ?? '', /^api\d$/, `request #${r.n} carries no x-glance-replica header`);
    if (r.method === 'POST') assert.equal(r.query.wait, 'true', `a create without ?wait=true never learns the message id (#${r.n})`);
  }
}

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

/** A TCP server that accepts and never answers: a webhook that hangs until the replica's timeout. */
async function startSilentHook() {
  const sockets = new Set();
  const server = net.createServer((c) => { sockets.add(c); c.on('close', () => sockets.delete(c)); c.on('error', () => {}); });
  const port = await freePort();
  await new Promise((resolve) => server.listen(port, '127.0.0.1', resolve));
  return {
    url: () => `http://127.0.0.1:${server.address().port}/hook`,
    shown: () => `http://127.0.0.1:${server.address().port}`,
    connections: () => sockets.size,
    close: () => { for (const c of sockets) c.destroy(); return new Promise((resolve) => server.close(resolve)); },
  };
}

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
