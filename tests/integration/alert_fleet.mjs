// alert_fleet.mjs -- what the alert delivery suites (alert_delivery, alert_answers, alert_records) share: a Redis,
// a fake Discord and replicas delivering to it, the shards' pings, the requests in a short form for assertion
// messages, and what every request a replica sends Discord must be. GLANCE_TEST_ALERT_TIMEOUT_MS sets the replicas'
// GLANCE_ALERT_TIMEOUT_MS (1000 by default; test.sh also runs the suites at 100, the least accepted), and
// GLANCE_TEST_DEAD_WEBHOOK=1 puts a webhook nothing listens on first in every replica's list.

import assert from 'node:assert/strict';
import net from 'node:net';
import { startRedis, startApi, redis, waitUntil, sleep, getMetrics, metricValue, postEach, cleanup, freePort } from './harness.mjs';
import { stopAll } from '../faults/lib.mjs';
import { startDiscord } from './discord.mjs';

export const PASSPHRASE = 'alert-delivery-passphrase-0123';
export const AUTH = { authorization: `Bearer ${PASSPHRASE}` };
export const DELAY_S = 1;
export const TIMEOUT_MS = Number(process.env.GLANCE_TEST_ALERT_TIMEOUT_MS || 1000); // also run at 100, the least accepted
export const LOCK_S = 3; // the sender's lock (alert_sender.c), whatever the timeout
// short, so an outage comes soon after the last ping; long enough that 360 status posts finish well within it
export const HEALTH_S = 2;
// from the last ping to a delivered alert: the health timeout, the delay, and slack for a loaded machine
export const DELIVERY_BOUND_MS = (HEALTH_S + DELAY_S + 5) * 1000;
export const ROLE = '987654321098765432';
// a port nothing listens on, for GLANCE_TEST_DEAD_WEBHOOK=1
export const DEAD_PORT = process.env.GLANCE_TEST_DEAD_WEBHOOK === '1' ? await freePort() : null;
export const DEAD_SHOWN = DEAD_PORT && `http://127.0.0.1:${DEAD_PORT}`;

/** The fake webhooks a file started: closeFleets() closes them. */
export const fakes = [];

/** Closes every fake and stops every process the file started: each suite's after(). */
export async function closeFleets() {
  for (const f of fakes) await f.close();
  await stopAll();
  await cleanup();
}

export const range = (n) => Array.from({ length: n }, (_, i) => i);

/** Every shard of main reports online; resolves the time of the last answer (the shards' last ping). */
export async function online(apis, shards) {
  await postEach(apis, range(shards).map((s) => `/api/status/main/${s}/3`), AUTH);
  return Date.now();
}

/**
 * Pings every shard of main through the living replicas, several times per health timeout, until the returned
 * stop() is awaited: a cluster that recovered must not fall silent again while a test still watches it.
 */
export function keepHealthy(apis, shards) {
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

export const condition = async (port) => Number(await redis(port, 'HGET', 'glance:{main}:condition', 'condition'));

/** n replicas named api1..apiN, delivering to `webhooks`, with a passphrase and short timeouts. */
export async function replicas(n, redisPort, shards, webhooks, env = {}) {
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
export async function summed(apis, name) {
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
export function delivery(alert) {
  if (!DEAD_PORT) return alert.delivery;
  const live = alert.webhooks.filter((w) => w.webhook !== DEAD_SHOWN);
  if (live.every((w) => w.delivery === 'sent')) return 'sent';
  return `not sent to ${live.filter((w) => w.delivery !== 'sent').map((w) => `${w.webhook} ${w.delivery.replace(/^not sent /, '')}`).join('; ')}`;
}

export const creates = (fake) => fake.requests.filter((r) => r.method === 'POST');
export const edits = (fake) => fake.requests.filter((r) => r.method === 'PATCH');
export const answered = (list, status) => list.filter((r) => r.answeredWith === status);
export const title = (r) => r.body?.embeds?.[0]?.title ?? '';

/** Every request in a short form, for assertion messages. */
export const log = (fake) => fake.requests.map((r) => `#${r.n} ${r.method} ${r.path.replace(/\/webhooks\/(\d+)\/[^/]+/, '/webhooks/$1/…')}`
  + ` from ${r.replica} -> ${r.answeredWith} ${JSON.stringify(title(r) || r.body?.condition || '')}${r.early ? ' EARLY' : ''}`
  + `${r.problems.length ? ` problems: ${r.problems.join('; ')}` : ''}`).join('\n  ') || '(no requests)';

export function waitForRequest(fake, pred, what, timeoutMs = DELIVERY_BOUND_MS) {
  return waitUntil(() => fake.requests.find(pred), { timeoutMs, intervalMs: 20, message: what })
    .catch((e) => { throw new Error(`${e.message}\nthe receiver saw:\n  ${log(fake)}`); });
}

/** A Redis, a fake Discord and `n` replicas sending to it, for one test of its own. */
export async function fleet(n, shards, env = {}) {
  const rds = await startRedis();
  const discord = await startDiscord();
  fakes.push(discord);
  return { rds, discord, apis: await replicas(n, rds.port, shards, discord.url(), env) };
}

/** What every request a replica sends a Discord webhook must be: well formed and honouring the rate limits. */
export function assertWellBehaved(discord) {
  for (const r of discord.requests) {
    assert.deepEqual(r.problems, [], `request #${r.n} was malformed:\n  ${log(discord)}`);
    assert.equal(r.early, false, `request #${r.n} came before the rate limit allowed it:\n  ${log(discord)}`);
    assert.match(r.replica ?? '', /^api\d$/, `request #${r.n} carries no x-glance-replica header`);
    if (r.method === 'POST') assert.equal(r.query.wait, 'true', `a create without ?wait=true never learns the message id (#${r.n})`);
  }
}

/** A TCP server that accepts and never answers: a webhook that hangs until the replica's timeout. */
export async function startSilentHook() {
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
