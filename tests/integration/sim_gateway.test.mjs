// sim_gateway.test.mjs -- glance-sim's gateway trouble (issue 28 item 5) against a real replica: with --gateway every
// shard's events grow, a --zombies shard stays online and keeps reporting while its events stop, the --restart-loop
// cluster burns its identify budget below its shard count in a storm of identifies, and a --near-cap shard serves 2,250
// guilds or more; the replica marks each (silent, stale latency, storm, short budget, near the cap). Run once with a
// POST per ping and once with batch reports, the two ways the simulator's counters travel.

import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { REPO_ROOT, cleanup, request, sleep, startApi, startRedis, waitUntil } from './harness.mjs';
import { runSim, run, stop, SIM_BIN } from '../bench/lib.mjs';
import path from 'node:path';

const MAIN = 24;
const LOOP = 4;
const ONLINE = 3;
const ZOMBIE_AFTER_S = 3;
const SILENT_AFTER_S = 2; // the replica's GLANCE_SILENT_AFTER: the zombie is marked within the test

async function shard(port, cluster, id) {
  const r = await request(port, 'GET', `/api/status/${cluster}/${id}`);
  assert.equal(r.status, 200, r.body);
  return r.json();
}

// "glance-sim: 1 zombies (...): main/17" -> [{cluster: 'main', id: 17}]
function picked(line, what) {
  const m = new RegExp(`^glance-sim: \\d+ ${what}[^:]*: (.*)$`).exec(line);
  return m ? m[1].split(' ').filter(Boolean).map((s) => ({ cluster: s.split('/')[0], id: Number(s.split('/')[1]) })) : null;
}

describe('glance-sim --gateway and its trouble flags', { timeout: 180000 }, () => {
  after(cleanup);

  for (const batch of [0, 8]) {
    it(`${batch ? `batches of ${batch}` : 'a POST per ping'}: a zombie stops its events while online, the loop shorts its budget, a shard sits near the cap`, async (t) => {
      const rds = await startRedis();
      // no health timeout within the test: a late ping on a loaded machine must not turn a calm shard unhealthy
      const api = await startApi({ redisPort: rds.port, bots: `main:${MAIN};loop:${LOOP}`, healthTimeout: 3600,
        env: { GLANCE_SILENT_AFTER: SILENT_AFTER_S } });
      try {
        let zombies = null;
        let near = null;
        // no random events (--rate 0): every change after the boot is the loop's, so main's shards stay online
        const sim = runSim(['--url', api.url, '--clusters', `main:${MAIN};loop:${LOOP}`, '--gateway', '--batch', String(batch),
          '--zombies', '1', '--zombie-after', String(ZOMBIE_AFTER_S), '--near-cap', '1', '--restart-loop', 'loop',
          '--loop-every', '3', '--loop-budget', String(3 * LOOP), '--ping-interval', '0.5', '--rate', '0',
          '--duration', '30', '--seed', '11'], {
          limitS: 60,
          onLine: (line) => { zombies = zombies || picked(line, 'zombies'); near = near || picked(line, 'near the guild cap'); },
        });
        await waitUntil(() => zombies && near, { timeoutMs: 10000, message: 'glance-sim to name its zombie and near-cap shards' });
        const [zombie] = zombies;
        assert.equal(zombie.cluster, 'main', 'zombies are picked out of the looping cluster');
        const others = [...Array(MAIN).keys()].filter((id) => id !== zombie.id).slice(0, 6);

        // the zombie reports events until it goes quiet, ZOMBIE_AFTER_S after it came online
        await waitUntil(async () => (await shard(api.port, 'main', zombie.id)).gateway?.events > 0,
          { timeoutMs: 10000, message: 'the zombie to report events' });
        await sleep((ZOMBIE_AFTER_S + 1) * 1000);
        const before = await shard(api.port, 'main', zombie.id);
        const othersBefore = await Promise.all(others.map((id) => shard(api.port, 'main', id)));
        await sleep(3000);
        const later = await shard(api.port, 'main', zombie.id);
        const othersLater = await Promise.all(others.map((id) => shard(api.port, 'main', id)));
        t.diagnostic(`zombie main/${zombie.id}: events ${before.gateway.events} -> ${later.gateway.events}; others: ${
          othersBefore.map((s, i) => `${s.gateway.events}->${othersLater[i].gateway.events}`).join(' ')}`);
        assert.equal(later.state, ONLINE, 'the zombie stays online');
        assert.ok(later.gateway.reported_ms > before.gateway.reported_ms, 'the zombie keeps reporting');
        assert.equal(later.gateway.events, before.gateway.events, "the zombie's events stop growing");
        assert.equal(later.figures.latency_ms, before.figures.latency_ms, "the zombie's latency stays at the last heartbeat's");
        assert.equal(later.gateway.silent, true, 'the zombie is marked silent');
        assert.equal(later.gateway.stale_latency, true, 'and its latency stale');
        othersLater.forEach((s, i) => {
          assert.equal(s.state, ONLINE);
          assert.equal(s.gateway.silent, false, `main/${others[i]} is not silent`);
          assert.ok(s.gateway.events > othersBefore[i].gateway.events, `main/${others[i]}'s events grow`);
          assert.equal(s.gateway.identifies, 1, `main/${others[i]} identified once, when it started`);
        });

        const nearShard = await shard(api.port, near[0].cluster, near[0].id);
        assert.ok(nearShard.figures.guilds >= 2250, `the near-cap shard serves ${nearShard.figures.guilds} guilds`);
        assert.equal(nearShard.figures.near_guild_cap, true);

        // the loop's budget: 12 at the start, 8 after the boot, 4 after a restart, 0 after another: below 4 shards
        let figures = null;
        const gw = (name) => figures.clusters.find((c) => c.name === name).gateway;
        await waitUntil(async () => {
          figures = (await request(api.port, 'GET', '/api/figures')).json();
          return gw('loop').session?.remaining < LOOP;
        }, { timeoutMs: 20000, intervalMs: 500, message: "the looping cluster's identify budget to fall below its shards" });
        t.diagnostic(`loop: ${JSON.stringify(gw('loop'))}; main: ${JSON.stringify(gw('main'))}`);
        assert.equal(gw('loop').session.total, 1000);
        assert.equal(gw('loop').session.short, true);
        // 4 identifies every 3 s or so, against a day that began with the run: a storm, once the last minute (which
        // the replica judges on) holds 10 or more of them
        await waitUntil(async () => {
          figures = (await request(api.port, 'GET', '/api/figures')).json();
          return gw('loop').storm;
        }, { timeoutMs: 15000, intervalMs: 500, message: `the looping cluster's storm (${JSON.stringify(gw('loop'))})` });
        assert.deepEqual(gw('main').silent_shards, [zombie.id], 'the zombie, and only it, is silent');
        assert.equal(gw('main').session.short, false, "main's budget lasts a full restart");

        const { report, command } = await sim;
        t.diagnostic(`${command}: ${report.events.loop_restarts} loop restarts, ${report.posts.gateway} budgets posted, ${report.posts.errors} errors`);
        assert.equal(report.posts.errors, 0, 'the server took every report and budget');
        assert.ok(report.events.loop_restarts >= 2);
      } finally {
        await api.stop();
        await rds.stop();
      }
    });
  }

  // ./run.sh's fleet (scripts/demo-fleet.sh as run.sh starts it, at a faster pace): only the looping cluster restarts,
  // so only it shows a storm and a short budget; the other starts once and, with its zombies, resumes and
  // disconnects, shows neither. Its random events once restarted whole clusters too, and main stormed a minute after
  // start.
  it('the demo fleet: the looping cluster storms and runs short of its budget, the calm one does neither', async (t) => {
    const rds = await startRedis();
    const bots = 'main:48;demo:4';
    const api = await startApi({ redisPort: rds.port, bots, healthTimeout: 3600 });
    const fleet = run(path.join(REPO_ROOT, 'scripts/demo-fleet.sh'), [api.url], {
      env: { ...process.env, GLANCE_SIM_BIN: SIM_BIN, GLANCE_BOTS: bots, GLANCE_DEMO_RATE: '100',
        GLANCE_DEMO_PING_SECONDS: '1', GLANCE_DEMO_LOOP_SECONDS: '4', GLANCE_HEALTH_TIMEOUT: '3600' },
    });
    try {
      let figures = null;
      const gw = (name) => figures.clusters.find((c) => c.name === name).gateway;
      await waitUntil(async () => {
        if (fleet.exitCode !== null) throw new Error(`demo-fleet.sh exited: ${fleet.err().slice(-1500)}`);
        figures = (await request(api.port, 'GET', '/api/figures')).json();
        return gw('demo').session?.short === true && gw('main').reporting === 48;
      }, { timeoutMs: 20000, intervalMs: 500, message: "the looping cluster's budget to run short" });
      // 100 changes a second asked for, 10 s more: the old mix restarted main within them nearly every time
      await sleep(10000);
      figures = (await request(api.port, 'GET', '/api/figures')).json();
      t.diagnostic(`main: ${JSON.stringify(gw('main'))}; demo: ${JSON.stringify(gw('demo'))}`);
      assert.equal(gw('main').storm, false, 'main, which started once, is not in a storm');
      assert.equal(gw('main').session.short, false, "main's budget lasts a full restart");
      assert.equal(gw('demo').session.short, true);
      assert.equal(gw('demo').storm, true, 'demo, restarting every few seconds, is');
    } finally {
      await stop(fleet);
      await api.stop();
      await rds.stop();
    }
  });
});
