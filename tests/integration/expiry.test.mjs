// expiry.test.mjs -- Redis key expiry drives the unhealthy transition (GLANCE_HEALTH_TIMEOUT=2): once per
// shard however many replicas hear it, and the sweep catches expiries that nobody heard.

import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import {
  startRedis, startApi, redis, request, openFeed, waitUntil, sleep, hasChange, updateFor, cleanup,
  getMetrics, metricValue, shardState, countState as countStateIn,
} from './harness.mjs';

const TIMEOUT_S = 2;
const BOTS = 'main:64;fleet:50;sweep:20';
const POLL_MS = 25;
const SLACK_MS = 100; // polling through redis-cli: one poll round trip plus the sleep

let rds;
let replicas = [];

const ver = async (cluster) => Number((await redis(rds.port, 'GET', `glance:{${cluster}}:ver`)) || 0);
const hget = (cluster, id) => shardState(rds.port, cluster, id); // the digit, or '' when never reported
const countState = (cluster, state) => countStateIn(rds.port, cluster, state);
const post = async (api, p) => {
  const r = await request(api.port, 'POST', p);
  assert.equal(r.status, 204, `POST ${p}: ${r.status} ${r.body}`);
  return Date.now();
};

before(async () => {
  rds = await startRedis();
  // flags already set by an operator must survive the replicas turning on their own
  await redis(rds.port, 'CONFIG', 'SET', 'notify-keyspace-events', 'Kg');
  for (let i = 0; i < 3; i++) replicas.push(await startApi({ redisPort: rds.port, bots: BOTS, healthTimeout: TIMEOUT_S }));
});
after(cleanup);

it('a replica turns on expired keyevent notifications in Redis and keeps the flags already set', async () => {
  const flags = (await redis(rds.port, 'CONFIG', 'GET', 'notify-keyspace-events')).split('\n')[1] || '';
  assert.ok(flags.includes('E'), `notify-keyspace-events is ${JSON.stringify(flags)}: no E (keyevent)`);
  assert.ok(flags.includes('x') || flags.includes('A'), `notify-keyspace-events is ${JSON.stringify(flags)}: no x (expired)`);
  assert.ok(flags.includes('K') && (flags.includes('g') || flags.includes('A')), `notify-keyspace-events is ${JSON.stringify(flags)}: lost K or g`);
});

describe('one silent shard', { timeout: 20000 }, () => {
  let feed;
  let tOnline; // response time of the last status for shard 1
  let tUnhealthy; // first poll that saw state 1 for shard 1
  let tOffline; // response time of the status for shard 4 (offline)
  let tOfflineUnhealthy;
  let pingedState; // state of the pinged shard 2 at the end, about 5 s after its status
  let verAfter;
  let verLater;

  before(async () => {
    const [a] = replicas;
    feed = await openFeed(a.port);
    await feed.waitFor((m) => m.type === 'hello', 3000, { what: 'hello' });
    await post(a, '/api/status/main/2/3');
    tOffline = await post(a, '/api/status/main/4/2');
    tOnline = await post(a, '/api/status/main/1/3');
    // shard 2 pings every 700 ms throughout; the version is sampled once shards 1 and 4 turned unhealthy
    // and again at the end, more than a sweep period later
    let nextPing = Date.now() + 700;
    for (;;) {
      const now = Date.now();
      const bothSeen = tUnhealthy !== undefined && tOfflineUnhealthy !== undefined;
      if ((bothSeen && now >= tOnline + 5000) || now > tOnline + 8000) break;
      if (now >= nextPing) {
        await post(a, '/api/health/main/2');
        nextPing = Date.now() + 700;
      }
      if (tUnhealthy === undefined && (await hget('main', 1)) === '1') tUnhealthy = Date.now();
      if (tOfflineUnhealthy === undefined && (await hget('main', 4)) === '1') tOfflineUnhealthy = Date.now();
      if (verAfter === undefined && bothSeen && now >= tOnline + 3300) verAfter = await ver('main');
      await sleep(POLL_MS);
    }
    pingedState = await hget('main', 2);
    verLater = await ver('main');
  });

  it(`an online shard turns unhealthy in Redis within ${TIMEOUT_S} s + 1 s of its last status`, (t) => {
    assert.ok(tUnhealthy !== undefined, 'shard 1 never turned unhealthy (waited 8 s)');
    const took = tUnhealthy - tOnline;
    t.diagnostic(`unhealthy ${took} ms after the status response`);
    assert.ok(took <= TIMEOUT_S * 1000 + 1000 + SLACK_MS, `turned unhealthy ${took} ms after its last status`);
  });

  it('an online shard stays online until its health timeout has passed', () => {
    assert.ok(tUnhealthy !== undefined, 'shard 1 never turned unhealthy');
    const took = tUnhealthy - tOnline;
    assert.ok(took >= TIMEOUT_S * 1000 - 200, `turned unhealthy after only ${took} ms`);
  });

  it('the feed announces the unhealthy shard as an update with [1, 1] within the same bound', async (t) => {
    const m = await feed.waitFor((x) => hasChange(x, 'main', 1, 1), 1000, { what: 'an update with main [1,1]' });
    const took = m.receivedAt - tOnline;
    t.diagnostic(`update received ${took} ms after the status response`);
    assert.ok(took <= TIMEOUT_S * 1000 + 1000 + 200, `update arrived ${took} ms after the last status`);
  });

  it('an offline shard that goes silent turns unhealthy too', () => {
    assert.ok(tOfflineUnhealthy !== undefined, 'shard 4 (offline) never turned unhealthy');
    assert.ok(tOfflineUnhealthy - tOffline <= TIMEOUT_S * 1000 + 1000 + SLACK_MS, `took ${tOfflineUnhealthy - tOffline} ms`);
  });

  it('a shard that keeps sending health pings stays online', () => {
    assert.equal(pingedState, '3');
  });

  it('a shard never given a status stays unknown', async () => {
    assert.equal(await hget('main', 3), '');
    const r = await request(replicas[0].port, 'GET', '/api/status/main/3');
    assert.equal(r.json().state, 0);
    assert.ok(!feed.messages.some((m) => (updateFor(m, 'main')?.changes || []).some(([s]) => s === 3)),
      'the feed never reports a change for shard 3');
  });

  it('an unhealthy shard is not made unhealthy again (the version stays put)', () => {
    assert.notEqual(verAfter, undefined, 'shards 1 and 4 never both turned unhealthy');
    assert.equal(verLater, verAfter);
  });

  it('a health ping turns an unhealthy shard online, in Redis and on the feed', async () => {
    const from = feed.mark();
    const r = await request(replicas[1].port, 'POST', '/api/health/main/1');
    assert.equal(r.status, 204, r.body);
    assert.equal(await hget('main', 1), '3');
    await feed.waitFor((x) => hasChange(x, 'main', 1, 3), 2000, { from, what: 'an update with main [1,3]' });
  });
});

describe('three replicas hearing the same expiries', { timeout: 20000 }, () => {
  const N = 50;
  let feeds;
  let v0;
  let tLast;
  let tAll;
  let v1;

  before(async () => {
    feeds = await Promise.all(replicas.map((r) => openFeed(r.port)));
    await Promise.all(feeds.map((f) => f.waitFor((m) => m.type === 'hello', 3000, { what: 'hello' })));
    for (let id = 0; id < N; id++) tLast = await post(replicas[id % 3], `/api/status/fleet/${id}/3`);
    v0 = await ver('fleet');
    await waitUntil(async () => (await countState('fleet', 1)) === N,
      { timeoutMs: 8000, intervalMs: POLL_MS, message: `all ${N} fleet shards to be unhealthy` });
    tAll = Date.now();
    await sleep(1500); // late duplicates from the other replicas and a sweep or two would land here
    v1 = await ver('fleet');
  });

  it(`all ${N} shards turn unhealthy within ${TIMEOUT_S} s + 1 s of the last status`, (t) => {
    t.diagnostic(`all unhealthy ${tAll - tLast} ms after the last status response`);
    assert.ok(tAll - tLast <= TIMEOUT_S * 1000 + 1000 + SLACK_MS, `took ${tAll - tLast} ms`);
  });

  it(`the version rises by exactly ${N}: one unhealthy transition per shard, not one per replica`, () => {
    assert.equal(v1 - v0, N);
  });

  it('every replica\'s feed reports every shard as unhealthy', async () => {
    for (const [i, f] of feeds.entries()) {
      await waitUntil(() => {
        const latest = new Map();
        for (const m of f.messages) for (const [s, st] of updateFor(m, 'fleet')?.changes || []) latest.set(s, st);
        return [...Array(N).keys()].every((s) => latest.get(s) === 1);
      }, { timeoutMs: 2000, message: `replica ${i}'s feed to show all ${N} fleet shards as 1` });
    }
  });
});

describe('the sweep', { timeout: 20000 }, () => {
  const N = 20;
  let tReady;
  let tAll;
  let v0;
  let statesWhileDown;

  before(async () => {
    for (let id = 0; id < N; id++) await post(replicas[0], `/api/status/sweep/${id}/3`);
    v0 = await ver('sweep');
    for (const r of replicas) await r.stop();
    // nobody listens while the health keys expire; SCAN also makes Redis drop keys already past their TTL
    await waitUntil(async () => (await redis(rds.port, '--scan', '--pattern', 'glance:{sweep}:hb:*')) === '',
      { timeoutMs: 6000, intervalMs: 100, message: 'the sweep cluster health keys to expire' });
    statesWhileDown = await countState('sweep', 3);
    const d = await startApi({ redisPort: rds.port, bots: BOTS, healthTimeout: TIMEOUT_S });
    tReady = Date.now();
    replicas = [d];
    await waitUntil(async () => (await countState('sweep', 1)) === N,
      { timeoutMs: 10000, intervalMs: POLL_MS, message: `all ${N} sweep shards to be unhealthy` }).catch(() => {});
    tAll = Date.now();
  });

  it('(precondition) the shards are still online in Redis while no replica runs', () => {
    assert.equal(statesWhileDown, N);
  });

  it('a replica started after the expiries turns every expired shard unhealthy within 3 s', async (t) => {
    t.diagnostic(`all unhealthy ${tAll - tReady} ms after the replica was ready`);
    assert.equal(await countState('sweep', 1), N, `only ${await countState('sweep', 1)} of ${N} unhealthy after 10 s`);
    assert.ok(tAll - tReady <= 3000, `took ${tAll - tReady} ms after the replica was ready`);
  });

  it('the sweep makes exactly one transition per expired shard', async () => {
    await sleep(1200);
    assert.equal(await ver('sweep'), v0 + N);
  });
});

describe("the replica's own deadlines", { timeout: 20000 }, () => {
  const N = 20;
  const counters = async (api) => {
    const text = await getMetrics(api.port);
    return ['deadline', 'notification', 'sweep'].map((k) => metricValue(text, `glance_expired_by_${k}_total`));
  };
  let before0;
  let after0;
  let v0;

  before(async () => {
    // Redis now samples for expired keys once a second: a replica that waited for it would be late
    await redis(rds.port, 'CONFIG', 'SET', 'hz', '1');
    const [d] = replicas;
    before0 = await counters(d);
    for (let id = 0; id < N; id++) await post(d, `/api/status/fleet/${id}/3`);
    v0 = await ver('fleet');
    // the rest of the cluster is unhealthy already (above)
    await waitUntil(async () => (await countState('fleet', 3)) === 0,
      { timeoutMs: 8000, intervalMs: POLL_MS, message: `all ${N} fleet shards to be unhealthy again` });
    await sleep(1200); // a sweep and the late notifications land here
    after0 = await counters(d);
  });
  after(() => redis(rds.port, 'CONFIG', 'SET', 'hz', '10'));

  it('a shard whose deadline passes without a ping is checked by the replica that heard its last status', (t) => {
    const [byDeadline, byNotification, bySweep] = after0.map((v, i) => v - before0[i]);
    t.diagnostic(`deadline ${byDeadline}, notification ${byNotification}, sweep ${bySweep}`);
    assert.equal(byDeadline + byNotification + bySweep, N, `deadline ${byDeadline}, notification ${byNotification}, sweep ${bySweep}`);
    assert.ok(byDeadline >= 1, `no shard was turned unhealthy at its deadline (notification ${byNotification}, sweep ${bySweep})`);
  });

  it('still one transition per shard', async () => {
    assert.equal(await ver('fleet'), v0 + N);
  });
});

describe('checks the mirror rules out', { timeout: 20000 }, () => {
  const skipped = async () => {
    let sum = 0;
    for (const r of replicas) sum += metricValue(await getMetrics(r.port), 'glance_expiry_checks_skipped_total');
    return sum;
  };

  it('an expiry heard for a shard every mirror holds unhealthy costs Redis no check, and changes nothing', async () => {
    const [a] = replicas;
    await post(a, '/api/status/main/10/1');
    for (const r of replicas) {
      await waitUntil(async () => (await request(r.port, 'GET', '/api/status')).json().clusters[0].states[10] === 1,
        { timeoutMs: 3000, message: `replica ${r.port}'s mirror to hold shard 10 unhealthy` });
    }
    const before0 = await skipped();
    const v0 = await ver('main');
    // a health key that runs out for it anyway (as one set by hand, or a ping's that lost a race): every replica
    // hears the expiry
    await redis(rds.port, 'SET', 'glance:{main}:hb:10', '1', 'PX', '50');
    await sleep(100);
    await redis(rds.port, 'EXISTS', 'glance:{main}:hb:10'); // expired on access, if the sampler has not yet
    await waitUntil(async () => (await skipped()) >= before0 + replicas.length,
      { timeoutMs: 3000, message: 'each replica to leave the expiry out' });
    assert.equal(await ver('main'), v0, 'no transition');
    assert.equal(await hget('main', 10), '1');
  });
});

describe('the sweep and the deadlines it leaves alone', { timeout: 20000 }, () => {
  it('shards kept alive by pings the replica heard cost its sweep no check in Redis', async (t) => {
    const [a] = replicas;
    const ids = Array.from({ length: 30 }, (_, i) => i);
    for (const id of ids) await post(a, `/api/status/fleet/${id}/3`);
    const pingAll = async () => { for (const id of ids) await post(a, `/api/health/fleet/${id}`); };
    const existsCalls = async () => Number(/cmdstat_exists:calls=(\d+)/.exec(await redis(rds.port, 'INFO', 'commandstats'))?.[1] || 0);
    await redis(rds.port, 'CONFIG', 'RESETSTAT');
    // three sweep ticks (one a second), the shards pinged well within the 2 s timeout throughout
    const until = Date.now() + 3000;
    while (Date.now() < until) {
      await pingAll();
      await sleep(400);
    }
    const checks = await existsCalls();
    t.diagnostic(`${checks} health keys checked by expire.lua in 3 s`);
    assert.equal(checks, 0, 'the sweep checked shards whose deadline the replica holds');
    for (const id of ids) assert.equal(await hget('fleet', id), '3', `fleet shard ${id} stayed online`);
  });
});
