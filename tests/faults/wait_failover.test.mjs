// wait_failover.test.mjs -- durable acknowledgements (GLANCE_REDIS_WAIT_REPLICAS, issue 31 item 1) across real
// Sentinel failovers: a master, a replica and three sentinels on loopback (Debian's redis-server and redis-sentinel).
// Each round makes replication lag on purpose (the replica SIGSTOPped and its link dropped by the master, so what the
// master takes next reaches no replica), then SIGKILLs the master and lets the replica go on; Sentinel promotes it, and every write a replica answered 204 is
// looked for in the new master. Two replicas of glance-api write side by side, each a new shard per POST: one with
// GLANCE_REDIS_WAIT_REPLICAS=1, which must lose nothing; one without, which shows the loss the option prevents. The
// old master then comes back as the new master's replica, and the next round starts from there.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { startApi, startRedis, request, getMetrics, metricValue, redis, waitUntil, sleep, cleanup } from '../integration/harness.mjs';
import {
  startSentinelSet, startRedisServer, sentinelMasterPort, postLoad, redisStates, proved, stopAll, assertCleanStop,
} from './lib.mjs';

// 20 on the release build; under the sanitizers, which look at the same code's memory, 5
const ROUNDS = process.env.ASAN_OPTIONS ? 5 : 20;
const SHARDS = 200000;
const BOTS = `load:${SHARDS}`;
const HALF = SHARDS / 2; // the waiting replica writes shards 0.., the other HALF..

let haveSentinel = true;
try { execFileSync('redis-sentinel', ['--version'], { stdio: 'ignore' }); } catch { haveSentinel = false; }
const skip = haveSentinel ? false : 'redis-sentinel is not installed (scripts/deps.sh installs it)';

after(async () => { await stopAll(); await cleanup(); });

describe('GLANCE_REDIS_WAIT_REPLICAS against a Redis without the replicas it asks for', () => {
  it('answers every write 503 (nothing acknowledged that no replica has), counts the short WAITs, reads still answer', async () => {
    const rds = await startRedis();
    const api = await startApi({ redisPort: rds.port, bots: 'main:8',
      env: { GLANCE_REDIS_WAIT_REPLICAS: 1, GLANCE_REDIS_WAIT_MS: 100 } });
    const writes = await Promise.all([0, 1, 2, 3].map((id) => request(api.port, 'POST', `/api/status/main/${id}/3`)));
    for (const r of writes) {
      assert.equal(r.status, 503, r.body);
      assert.match(r.json().error, /redis did not confirm the write; retry/);
    }
    // the write itself landed on the master (a retry is safe: a state written twice is the same state)
    assert.equal(await redis(rds.port, 'GETRANGE', 'glance:{main}:states', 0, 0), '3');
    const m = await getMetrics(api.port);
    const short = metricValue(m, 'glance_redis_waits_total', { outcome: 'short' });
    assert.ok(short >= 1 && short <= 4, `${short} short WAITs for 4 writes sent at once`);
    assert.equal(metricValue(m, 'glance_redis_waits_total', { outcome: 'confirmed' }), 0);
    assert.equal((await request(api.port, 'GET', '/api/status/main/0')).status, 200);
    assert.match(api.stderr(), /WAIT: the writes reached 0 of the 1 redis replicas they must within 100 ms/);
    await api.stop();
  });
});

describe('GLANCE_REDIS_WAIT_REPLICAS under a burst of writes to the same shards through two replicas', () => {
  it('answers every write 204, with many writes a WAIT, whatever supersedes what', async () => {
    const master = await startRedis();
    const replica = await startRedisServer({ args: ['--replicaof', '127.0.0.1', String(master.port)] });
    await waitUntil(async () => (await redis(replica.port, 'INFO', 'replication')).includes('master_link_status:up'),
      { timeoutMs: 15000, message: 'the replica in sync' });
    const env = { GLANCE_REDIS_WAIT_REPLICAS: 1, GLANCE_REDIS_WAIT_MS: 200 };
    const apis = [await startApi({ redisPort: master.port, bots: 'main:4', env }),
      await startApi({ redisPort: master.port, bots: 'main:4', env })];
    // four shards, states cycling, both replicas at once: a replica's mirror is often a change behind the other's
    // writes, so short forms come back as changes and later statuses of the same shard supersede earlier ones
    function* paths(offset) { for (let i = 0; ; i++) yield `/api/status/main/${i % 4}/${2 + ((i + offset) % 3)}`; }
    const loads = apis.map((a, i) => postLoad(a.port, paths(i), { concurrency: 8, timeoutMs: 5000, durationMs: 3000 }));
    const results = (await Promise.all(loads.map((l) => l.done))).flat();
    const statuses = {};
    for (const r of results) statuses[r.status] = (statuses[r.status] ?? 0) + 1;
    assert.deepEqual(Object.keys(statuses), ['204'], JSON.stringify(statuses));
    assert.ok(results.length > 500, `${results.length} writes`);
    const waits = (await Promise.all(apis.map(async (a) => metricValue(await getMetrics(a.port), 'glance_redis_waits_total',
      { outcome: 'confirmed' })))).reduce((x, y) => x + y, 0);
    assert.ok(waits > 0 && waits < results.length, `${waits} WAITs for ${results.length} writes`);
    for (const a of apis) assert.equal(await a.stop(), 0, a.stderr().slice(-2000));
    await replica.stop();
  });
});

describe(`${ROUNDS} Sentinel failovers with replication lagging: what each replica acknowledged`, { timeout: 600000, skip }, () => {
  let set;
  let waiting; // GLANCE_REDIS_WAIT_REPLICAS=1
  let plain;   // today's behaviour
  const rounds = [];

  before(async () => {
    set = await startSentinelSet({ downAfterMs: 1000, failoverTimeoutMs: 5000 });
    const env = {
      GLANCE_REDIS_SENTINELS: set.sentinels.map((s) => `127.0.0.1:${s.port}`).join(','),
      GLANCE_REDIS_MASTER: set.master,
      GLANCE_REDIS_TIMEOUT_MS: 1000,
    };
    waiting = await startApi({ redisPort: 1, bots: BOTS, env: { ...env, GLANCE_REDIS_WAIT_REPLICAS: 1, GLANCE_REDIS_WAIT_MS: 200 } });
    plain = await startApi({ redisPort: 1, bots: BOTS, env });
  });

  it('refuses a wait longer than half the Redis timeout at start-up, with one line', async () => {
    const { spawnApi } = await import('../integration/harness.mjs');
    const p = spawnApi({ GLANCE_BOTS: BOTS, GLANCE_PORT: 1, GLANCE_REDIS_URL: 'redis://127.0.0.1:1/0',
      GLANCE_REDIS_WAIT_REPLICAS: 1, GLANCE_REDIS_WAIT_MS: 1500, GLANCE_REDIS_TIMEOUT_MS: 2000 });
    const exit = await p.waitExit(5000);
    assert.notEqual(exit?.code, 0);
    assert.match(p.stderr(), /GLANCE_REDIS_WAIT_MS=1500: expected at most half of GLANCE_REDIS_TIMEOUT_MS \(2000 ms\)/);
  });

  it('loses no write it acknowledged with GLANCE_REDIS_WAIT_REPLICAS=1; without it, the lagging writes are lost', async (t) => {
    let master = set.primary;
    let replica = set.replica;
    const nextWaiting = { n: 0 };
    const nextPlain = { n: HALF };
    function* ids(next, end) { while (next.n < end) yield `/api/status/load/${next.n++}/3`; }
    for (let round = 0; round < ROUNDS; round++) {
      const w = postLoad(waiting.port, ids(nextWaiting, HALF), { concurrency: 2, timeoutMs: 3000, durationMs: 60000, pauseMs: 20 });
      const p = postLoad(plain.port, ids(nextPlain, SHARDS), { concurrency: 2, timeoutMs: 3000, durationMs: 60000, pauseMs: 20 });
      await sleep(300);
      // replication lags: the replica stops, then the master drops its link (what was sent before is in the
      // replica's socket and reaches it later; what the master takes from now on, only the master has)
      await replica.kill('SIGSTOP');
      await redis(master.port, 'CLIENT', 'KILL', 'TYPE', 'replica');
      const pausedAt = Date.now();
      await sleep(500);
      const killed = master.kill('SIGKILL');
      const killAt = Date.now();
      await killed;
      await replica.kill('SIGCONT');
      // the replica without WAIT writes again through the promoted replica; the one with it cannot until the new
      // master has a replica of its own: the old master comes back as one
      await waitUntil(() => p.results.some((r) => r.status === 204 && r.start > killAt),
        { timeoutMs: 30000, intervalMs: 50, message: `a 204 after the master was killed (round ${round})` })
        .catch(async (e) => {
          const views = await Promise.all(set.sentinels.map(async (x) => `${x.port}: ${(await redis(x.port, 'SENTINEL', 'MASTER', set.master)).replace(/\n/g, ' ')}\n${x.child.output().slice(-1500)}`));
          throw new Error(`${e.message}\n${views.join('\n')}\n--- api ---\n${plain.stderr().slice(-1500)}`);
        });
      const failover = Date.now() - killAt;
      const promoted = await waitUntil(async () => {
        const ports = await Promise.all(set.sentinels.map((x) => sentinelMasterPort(x.port, set.master)));
        return ports.every((x) => x === ports[0]) && ports[0];
      }, { timeoutMs: 15000, intervalMs: 100, message: 'every sentinel to name the same master' });
      assert.equal(promoted, replica.port, `round ${round}: the sentinels promoted the replica`);
      const back = await startRedisServer({ port: master.port, dir: set.dir, label: `redis-${round}`,
        args: ['--dbfilename', `round-${round}.rdb`, '--replicaof', '127.0.0.1', String(replica.port)] });
      await waitUntil(async () => (await redis(back.port, 'INFO', 'replication')).includes('master_link_status:up'),
        { timeoutMs: 15000, intervalMs: 50, message: 'the old master in sync as a replica' });
      const syncedAt = Date.now();
      await waitUntil(() => w.results.some((r) => r.status === 204 && r.start > syncedAt),
        { timeoutMs: 30000, intervalMs: 50, message: `a 204 with WAIT once the new master has a replica (round ${round})` });
      const [wr, pr] = await Promise.all([w.stop(), p.stop()]);
      const states = await redisStates(replica.port, 'load', SHARDS);
      const shard = (r) => Number(r.path.split('/')[4]);
      const lost = (rs) => rs.filter((r) => r.status === 204 && states[shard(r)] !== 3);
      const during = (rs) => rs.filter((r) => r.start >= pausedAt && r.start < killAt);
      rounds.push({
        waitingAcked: wr.filter((r) => r.status === 204).length, waitingLost: lost(wr).map(shard),
        waitingPausedAcked: during(wr).filter((r) => r.status === 204).length,
        waitingRefused: wr.filter((r) => r.status === 503).length,
        plainAcked: pr.filter((r) => r.status === 204).length, plainLost: lost(pr).length,
        plainPausedAcked: during(pr).filter((r) => r.status === 204).length, failover,
      });
      // the sentinels know the old master as a healthy replica before the next round
      await waitUntil(async () => {
        for (const s of set.sentinels) {
          const lines = (await redis(s.port, 'SENTINEL', 'REPLICAS', set.master)).split('\n');
          const i = lines.indexOf('port');
          const flags = lines[lines.indexOf('flags') + 1];
          if (i < 0 || Number(lines[i + 1]) !== back.port || !/^slave$/.test(flags)) return false;
        }
        return true;
      }, { timeoutMs: 20000, intervalMs: 100, message: 'every sentinel to see the old master as a healthy replica' });
      master = replica;
      replica = back;
    }
    const sum = (k) => rounds.reduce((s, r) => s + (Array.isArray(r[k]) ? r[k].length : r[k]), 0);
    proved(t, `wait_failover: ${ROUNDS} failovers with the replica SIGSTOPped and its link dropped 500 ms before the master's SIGKILL: `
      + `GLANCE_REDIS_WAIT_REPLICAS=1 acknowledged ${sum('waitingAcked')} writes, lost ${sum('waitingLost')} (${sum('waitingRefused')} answered 503 `
      + `while the replica lagged); without it ${sum('plainAcked')} acknowledged, ${sum('plainLost')} lost `
      + `(${sum('plainPausedAcked')} acknowledged while the replica was paused), in ${rounds.filter((r) => r.plainLost > 0).length} `
      + `of ${ROUNDS} rounds; failovers took ${Math.min(...rounds.map((r) => r.failover))}-${Math.max(...rounds.map((r) => r.failover))} ms`);
    assert.deepEqual(rounds.flatMap((r) => r.waitingLost), [], 'writes acknowledged with WAIT are missing');
    assert.equal(sum('waitingPausedAcked'), 0, 'a write was acknowledged while its replica could not have it');
    assert.ok(sum('waitingAcked') > ROUNDS * 10, `the waiting replica acknowledged ${sum('waitingAcked')} writes`);
  });

  it('both shut down cleanly after it all (exit 0; leak-free under ASan)', async () => {
    await assertCleanStop([waiting, plain]);
  });
});
