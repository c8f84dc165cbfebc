// write_order.test.mjs -- two status writes for one shard in flight at once end as the replica took them: the later
// one's state stays, even when the earlier one has to be sent to Redis again (its short form declined because the
// mirror was behind, or its script flushed). Redis is held still with DEBUG SLEEP while both writes queue behind
// it, so the order in which the replica sends them is known.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { startApi, request, setShardState, shardState, sleep, cleanup } from './harness.mjs';
import { startRedisServer, stopAll } from '../faults/lib.mjs';

after(async () => {
  await stopAll();
  await cleanup();
});

/** Holds Redis still for `seconds` from a connection of its own, then runs `then` (commands, each an array) on it
 * before any other client is served: they are pipelined behind the sleep. Resolves when redis-cli exits. */
function holdRedis(port, seconds, then = []) {
  const resp = (args) => `*${args.length}\r\n${args.map((a) => `$${Buffer.byteLength(String(a))}\r\n${a}\r\n`).join('')}`;
  const cli = spawn('redis-cli', ['-h', '127.0.0.1', '-p', String(port), '--pipe'], { stdio: ['pipe', 'pipe', 'pipe'] });
  let out = '';
  cli.stdout.on('data', (d) => { out += d; });
  cli.stderr.on('data', (d) => { out += d; });
  cli.stdin.end([['DEBUG', 'SLEEP', seconds], ...then].map(resp).join(''));
  return new Promise((resolve, reject) => cli.on('exit', () => (/ERR/.test(out) ? reject(new Error(`redis-cli: ${out}`)) : resolve())));
}

describe('two status writes for one shard in flight at once', { timeout: 30000 }, () => {
  let rds;
  let api;
  before(async () => {
    rds = await startRedisServer({ args: ['--enable-debug-command', 'yes'] });
    api = await startApi({ redisPort: rds.port, bots: 'main:16' });
  });
  after(async () => {
    await api?.stop();
    await rds?.stop();
  });

  for (const [name, then] of [['a short form declined', []], ['a short form declined across a SCRIPT FLUSH', [['SCRIPT', 'FLUSH']]]]) {
    it(`${name}: the later write's state stays`, async () => {
      const shard = then.length ? 5 : 4;
      const path = (state) => `/api/status/main/${shard}/${state}`;
      assert.equal((await request(api.port, 'POST', path(3))).status, 204);
      // Redis holds 5 behind the mirror's back: the mirror still says 3, so the replica sends the next 3 in the
      // short form (a ping, it expects), which Redis declines and the replica sends again in full
      await setShardState(rds.port, 'main', shard, 5);
      const held = holdRedis(rds.port, 0.6, then);
      await sleep(150);
      const first = request(api.port, 'POST', path(3));
      await sleep(150);
      const second = request(api.port, 'POST', path(4));
      const answers = await Promise.all([first, second, held]);
      assert.deepEqual(answers.slice(0, 2).map((r) => r.status), [204, 204]);
      // 479eca0 sent the declined 3 again behind the 4: the shard ended at 3 until its next report
      assert.equal(await shardState(rds.port, 'main', shard), '4');
      const view = (await request(api.port, 'GET', `/api/status/main/${shard}`)).json();
      assert.equal(view.state, 4);
    });
  }
});
