// sim_trouble.test.mjs -- glance-sim --troubled: resumes, disconnects and silences fall on a few shards of each
// cluster, as trouble does in a real fleet, so that the demo's dashboard marks a few shards flapping, not all. Runs
// the simulator against a real replica and reads back every shard's story: at most round(share x shards) of them,
// one to each stretch of ids, changed after their boot, and the flapping ones are among those.

import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { cleanup, request, startApi, startRedis } from './harness.mjs';
import { runSim } from '../bench/lib.mjs';

const SHARDS = 100;
const TROUBLED = 0.05;
const BOOT = 2; // unknown -> starting -> online

describe('glance-sim --troubled', { timeout: 90000 }, () => {
  after(cleanup);

  // (silences are left out: they need the replica's health timeout to pass within the run, and that timeout would
  // also turn a calm shard whose ping came late on a loaded machine unhealthy)
  it(`puts every resume and disconnect on ${TROUBLED * SHARDS} of ${SHARDS} shards, which flap; the rest only boot`, async (t) => {
    const rds = await startRedis();
    // no health timeout within the test: a late ping on a loaded machine must not turn a calm shard unhealthy
    const api = await startApi({ redisPort: rds.port, bots: `main:${SHARDS}`, healthTimeout: 3600 });
    try {
      const { report, command } = await runSim(['--url', api.url, '--clusters', `main:${SHARDS}`, '--rate', '20',
        '--mix', 'resume=0.4,disconnect=0.6', '--troubled', String(TROUBLED), '--ping-interval', '1', '--duration', '12',
        '--seed', '7'], { limitS: 60 });
      const events = report.events.resume + report.events.disconnect;
      t.diagnostic(`${command}: ${events} events (${report.events.skipped} skipped: their shards were busy)`);
      const changed = [];
      const flapping = [];
      for (let id = 0; id < SHARDS; id++) {
        const r = await request(api.port, 'GET', `/api/status/main/${id}`);
        assert.equal(r.status, 200, r.body);
        const s = r.json();
        if (s.transitions.length > BOOT) changed.push(id);
        if (s.flapping) flapping.push(id);
      }
      t.diagnostic(`changed after the boot: ${changed.join(' ')}; flapping: ${flapping.join(' ')}`);
      assert.ok(events >= 10, `only ${events} events in 12 s`);
      // at most the troubled ones (an event picks one of them at random: one may have had none yet); without
      // --troubled these events would have fallen on about as many shards as there were events
      assert.ok(changed.length >= 1 && changed.length <= TROUBLED * SHARDS, `shards that changed after their boot: ${changed.join(' ')}`);
      // at most one from each stretch of 20 ids: spread over the grid
      const stretches = changed.map((id) => Math.floor(id / (1 / TROUBLED)));
      assert.equal(new Set(stretches).size, stretches.length, `two troubled shards in one stretch: ${changed.join(' ')}`);
      assert.ok(flapping.length >= 1, 'a troubled shard flaps');
      assert.deepEqual(flapping.filter((id) => !changed.includes(id)), [], 'only troubled shards flap');
    } finally {
      await api.stop();
      await rds.stop();
    }
  });
});
