// failover.test.mjs -- kill -9 one of three replicas behind HAProxy under a steady POST load: no request fails;
// every write that got a 204 is in Redis; the dead replica's feed clients reconnect through the load balancer,
// get a fresh hello and end up with exactly what Redis holds.
//
// A killed container's address stops answering rather than refusing (what Docker showed; tests/compose runs it
// for real). On loopback a dead port refuses at once, which would hide a request the load balancer loses while
// it waits to connect, so right after the kill every packet to the dead replica's port is dropped (iptables,
// one rule on lo naming only that port, removed at the end).

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { request, waitUntil, cleanup, clusterStates } from '../integration/harness.mjs';
import { stackUp, postLoad, BrowserFeed, alive } from './stack.mjs';

const VICTIM = 'api2';
const RATE = 300; // requests per second
const LOAD_MS = 12000;
const KILL_AFTER_MS = 4000;

let stack;
const feeds = [];
let dropRule = null;

/** iptables arguments after -I/-D: drop every TCP packet to 127.0.0.1:port on lo, tagged as this test's. */
const dropArgs = (port) => ['INPUT', '-i', 'lo', '-p', 'tcp', '-d', '127.0.0.1', '--dport', String(port), '-j', 'DROP',
  '-m', 'comment', '--comment', `glance-failover-test-${process.pid}`];

function dropPacketsTo(port) {
  execFileSync('iptables', ['-I', ...dropArgs(port)]);
  dropRule = port;
}

function stopDropping() {
  if (dropRule === null) return;
  try { execFileSync('iptables', ['-D', ...dropArgs(dropRule)], { stdio: 'ignore' }); } catch {}
  dropRule = null;
}
process.on('exit', stopDropping);

before(async () => {
  stack = await stackUp({ replicas: 3, bots: 'load:100000;main:16' });
});

after(async () => {
  stopDropping();
  for (const f of feeds) f.stop();
  if (stack) await stack.down();
  await cleanup();
});

/**
 * The shards of a cluster that hold a state in Redis (its states string), as a Map of shard id (a string) to
 * state digit. Only the load writes this cluster, with states 2..6, so a 0 here is a shard that never reported.
 */
async function storedStates(cluster, shards) {
  const states = await clusterStates(stack.redisPort, cluster, shards);
  const m = new Map();
  states.forEach((st, i) => { if (st !== 0) m.set(String(i), String(st)); });
  return m;
}

test('kill -9 of a replica whose address then drops packets, under POST load: no failure, no acknowledged write lost, its feeds resync elsewhere', async (t) => {
  for (let i = 0; i < 6; i++) {
    const f = new BrowserFeed(stack.lbPort);
    feeds.push(f);
    await f.start();
  }
  const victimFeeds = feeds.filter((f) => f.current.replica === VICTIM);
  assert.ok(victimFeeds.length >= 1, `a feed is on ${VICTIM}: ${feeds.map((f) => f.current.replica).join(' ')}`);

  // every request writes its own shard, so the state each one leaves in Redis is known exactly
  const load = postLoad(stack.lbPort, {
    rate: RATE,
    durationMs: LOAD_MS,
    concurrency: 8,
    next: (i) => ({ shard: i, state: 2 + (i % 5), path: `/api/status/load/${i}/${2 + (i % 5)}` }),
  });

  await new Promise((resolve) => setTimeout(resolve, KILL_AFTER_MS));
  const victim = stack.replica(VICTIM);
  process.kill(victim.pid, 'SIGKILL');
  const killedAt = Date.now();
  dropPacketsTo(victim.port);
  await waitUntil(async () => (await stack.servers())[VICTIM]?.startsWith('DOWN'),
    { timeoutMs: 10000, intervalMs: 25, message: `HAProxy to mark ${VICTIM} down` });
  const noticedAt = Date.now();
  assert.ok(!alive(victim.pid));

  const records = await load;
  const failed = records.filter((r) => r.status !== 204);
  const beforeKill = failed.filter((r) => r.sentAt < killedAt);
  const whileUnnoticed = failed.filter((r) => r.sentAt >= killedAt && r.sentAt < noticedAt);
  const afterNoticed = failed.filter((r) => r.sentAt >= noticedAt);
  const ok = records.filter((r) => r.status === 204);
  const span = (records[records.length - 1].sentAt - records[0].sentAt) / 1000;
  t.diagnostic(`${records.length} POSTs in ${span.toFixed(1)} s (${(records.length / span).toFixed(0)}/s), ${ok.length} answered 204`);
  t.diagnostic(`HAProxy marked ${VICTIM} down ${noticedAt - killedAt} ms after the kill`);
  t.diagnostic(`failed: ${beforeKill.length} before the kill, ${whileUnnoticed.length} between the kill and HAProxy noticing, ${afterNoticed.length} after`);
  if (failed.length) t.diagnostic(`failures: ${JSON.stringify(failed.slice(0, 5).map((r) => ({ i: r.i, status: r.status, error: r.error, at: r.sentAt - killedAt })))}`);

  assert.ok(records.length >= RATE * (LOAD_MS / 1000) * 0.5, `a steady load was sent (${records.length} requests)`);
  assert.ok(records.some((r) => r.replica === VICTIM && r.sentAt < killedAt), `${VICTIM} took part of the load before the kill`);
  assert.ok(records.filter((r) => r.sentAt >= noticedAt).length >= RATE * 2, 'the load went on after HAProxy noticed');
  assert.equal(failed.length, 0, `no request fails, before the kill, while HAProxy has not noticed, or after: ${JSON.stringify(failed.slice(0, 5))}`);
  assert.ok(!records.some((r) => r.replica === VICTIM && r.sentAt >= noticedAt), `nothing is answered by the dead ${VICTIM}`);

  // nothing acknowledged is lost: every 204 is in Redis with the state it set
  const stored = await storedStates('load', 100000);
  const missing = ok.filter((r) => stored.get(String(r.shard)) !== String(r.state));
  assert.equal(missing.length, 0, `acknowledged writes not in Redis: ${JSON.stringify(missing.slice(0, 5))}`);

  // the dead replica's feeds reconnected through the load balancer to a live replica and started over from a
  // hello; every feed, moved or not, ends with exactly what Redis holds
  for (const f of victimFeeds) {
    await f.waitFor(() => f.connections.length >= 2 && f.current.hellos >= 1, 10000, 'a reconnect and a fresh hello');
    assert.equal(f.connections[0].replica, VICTIM);
    assert.notEqual(f.connections[0].closedAt, 0, 'the feed on the dead replica was closed');
    assert.notEqual(f.current.replica, VICTIM, 'it reconnected to a live replica');
    const attempts = f.connections.slice(1, -1).map((c) => `${c.replica || 'no replica'} closed ${c.closeCode} at ${c.closedAt - killedAt} ms`);
    t.diagnostic(`a feed on ${VICTIM} was cut ${f.connections[0].closedAt - killedAt} ms after the kill and had a hello from ${f.current.replica} ${f.current.openedAt - killedAt} ms after it${attempts.length ? ` (attempts before: ${attempts.join('; ')})` : ''}`);
  }
  for (const f of feeds.filter((x) => !victimFeeds.includes(x))) assert.equal(f.connections.length, 1, 'feeds on live replicas stayed connected');
  for (const f of feeds) {
    await f.waitFor(() => [...stored].every(([shard, state]) => f.states('load')[Number(shard)] === Number(state)),
      10000, `the feed via ${f.current.replica} to match Redis`);
  }

  // and the load balancer keeps serving with the two replicas left
  const after = await request(stack.lbPort, 'POST', '/api/status/main/1/3');
  assert.equal(after.status, 204);
  const st = await stack.status();
  assert.equal(st.code, 1, 'stack.sh status reports the dead replica');
  assert.match(st.stdout, new RegExp(`^${VICTIM} .* dead$`, 'm'));
});

test('with every replica gone, the load balancer answers 503 with a JSON error at once', async () => {
  for (const r of stack.replicas()) {
    try { process.kill(r.pid, 'SIGKILL'); } catch {}
  }
  await waitUntil(async () => Object.values(await stack.servers()).every((s) => s.startsWith('DOWN')),
    { timeoutMs: 10000, intervalMs: 50, message: 'HAProxy to mark every replica down' });
  const r = await request(stack.lbPort, 'POST', '/api/status/main/1/3', { timeoutMs: 3000 });
  assert.equal(r.status, 503);
  assert.match(r.headers['content-type'], /application\/json/);
  assert.equal(typeof r.json().error, 'string');
});
