// slow_clients.test.mjs -- 1,000 feed clients that never read: the replica's memory stays bounded, the ones
// that ask for hello after hello get at most a few (one unsent hello answers every request meanwhile; more
// than a burst of 3 closes them with 1008), and a normal client keeps receiving every change.
//
// Each client's unsent backlog is capped at 1 MiB plus one hello. Updates and hellos are encoded once and
// shared by every client, so a backlog of those costs a reference per frame. Pongs are the one frame made
// per client, and an unsent pong is replaced by the next one, so a client that floods pings without reading
// holds a single pong however many pings it sends.

import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import crypto from 'node:crypto';
import {
  startRedis, startApi, openFeed, rawWebSocket, encodeClientTextFrame, request, sleep, waitUntil, getMetrics,
  metricValue, hasChange, cleanup,
} from '../integration/harness.mjs';
import {
  rssKiB, sanitized, postLoad, redisStates, feedView, differences, proved, stopAll, assertCleanStop,
} from './lib.mjs';

const SILENT = 1000;
const RESYNC_SPAMMERS = 100; // of the silent clients, these ask for a hello again and again
const PING_SPAMMERS = 20; // and these flood pings
const BIG = 200000; // shards in the big cluster: a hello of about 200 KB
const BOTS = `main:360;big:${BIG}`;
const CONNECT_BOUND_MIB = 16; // RSS growth for 1,000 idle clients
const SHARED_BOUND_MIB = 32; // RSS growth once 100 of them have asked for 30 hellos each
const HELLOS_PER_SPAMMER = 1 + 3; // the first, then a burst of 3 resyncs (an unsent hello absorbs the rest)
const PER_CLIENT_BOUND_MIB = 1.5; // peak RSS growth per ping flooder: the pings it has in flight, read in one go

const nofile = Number(execFileSync('sh', ['-c', 'ulimit -n']).toString().trim()) || 0;

after(async () => { await stopAll(); await cleanup(); });

describe(`${SILENT} feed clients that never read`, { timeout: 120000, skip: nofile < SILENT + 200 ? `ulimit -n is ${nofile}` : false }, () => {
  let rds;
  let api;
  let normal;
  let silent;
  let rss0;
  let rssConnected;
  let rssAfterLoad;
  let rssAfterResync;
  let loadResults;
  let normalUpdates;
  let resyncDropped;
  let resyncRefused;
  let resyncBytes;
  let hello;
  let asan; // under AddressSanitizer RSS holds its quarantine: memory figures are reported, not asserted

  before(async () => {
    rds = await startRedis();
    api = await startApi({ redisPort: rds.port, bots: BOTS });
    asan = sanitized(api.pid);
    normal = await openFeed(api.port);
    hello = await normal.waitFor((m) => m.type === 'hello', 5000, { what: 'hello' });
    await sleep(200);
    rss0 = rssKiB(api.pid);

    silent = [];
    for (let i = 0; i < SILENT; i++) silent.push(await rawWebSocket(api.port, { timeoutMs: 10000 }));
    await sleep(300);
    rssConnected = rssKiB(api.pid);

    // changes for everyone: the silent clients' kernel buffers fill with updates, the normal one reads them
    const mark = normal.mark();
    const writes = (function* () { for (let i = 0; ; i++) yield `/api/status/main/${i % 360}/${2 + (i % 5)}`; })();
    loadResults = await postLoad(api.port, writes, { concurrency: 2, pauseMs: 5, durationMs: 3000 }).done;
    await sleep(300);
    normalUpdates = normal.messages.slice(mark).filter((m) => m.type === 'update').length;
    rssAfterLoad = rssKiB(api.pid);

    // some of them ask for a hello 30 times (6 MB each) and never read it
    const m0 = await getMetrics(api.port);
    const hellosBefore = metricValue(m0, 'glance_feed_bytes_sent_total');
    const resync = Buffer.concat(Array(30).fill(encodeClientTextFrame('{"type":"resync"}')));
    for (const s of silent.slice(0, RESYNC_SPAMMERS)) s.socket.write(resync);
    await sleep(2000); // every request has been read by now; what they cost is what stays
    const m1 = await getMetrics(api.port);
    resyncDropped = metricValue(m1, 'glance_feed_clients_dropped_total') - metricValue(m0, 'glance_feed_clients_dropped_total');
    resyncRefused = metricValue(m1, 'glance_feed_resyncs_refused_total') - metricValue(m0, 'glance_feed_resyncs_refused_total');
    resyncBytes = metricValue(m1, 'glance_feed_bytes_sent_total') - hellosBefore;
    rssAfterResync = rssKiB(api.pid);
  });
  after(() => { normal?.close(); for (const s of silent || []) s.socket.destroy(); });

  it(`${SILENT} idle clients cost less than ${CONNECT_BOUND_MIB} MiB`, (t) => {
    const mib = (rssConnected - rss0) / 1024;
    if (!asan) assert.ok(mib < CONNECT_BOUND_MIB, `RSS grew ${mib.toFixed(1)} MiB`);
    proved(t, `slow-clients${asan ? ' (ASan build, RSS not asserted)' : ''}: RSS ${rss0} KiB -> ${rssConnected} KiB `
      + `with ${SILENT} connected clients that never read `
      + `(hello ${JSON.stringify(hello).length} bytes, ${BIG + 360} shards)`);
  });

  it('a normal client keeps receiving every change while they sit there', async (t) => {
    const acked = loadResults.filter((r) => r.status === 204).length;
    assert.equal(acked, loadResults.length, 'every write answered 204');
    assert.ok(normalUpdates >= 15, `only ${normalUpdates} updates in 3 s`);
    const states = await redisStates(rds.port, 'main', 360);
    assert.deepEqual(differences(feedView(normal.messages).clusters.get('main').states, states), []);
    proved(t, `slow-clients: with ${SILENT} silent clients, ${acked} writes answered 204 and the normal client got ${normalUpdates} `
      + `updates in 3 s, its view equal to Redis; RSS ${rssAfterLoad} KiB`);
  });

  it(`clients asking for hello after hello get at most ${HELLOS_PER_SPAMMER} each, and memory stays under ${SHARED_BOUND_MIB} MiB of growth`, async (t) => {
    const helloBytes = JSON.stringify(hello).length;
    // what was written to their sockets (the kernel takes what fits; the rest waits, shared, in the queue)
    assert.ok(resyncBytes <= RESYNC_SPAMMERS * HELLOS_PER_SPAMMER * (helloBytes + 16), `${resyncBytes} bytes sent`);
    const mib = (rssAfterResync - rss0) / 1024;
    if (!asan) assert.ok(mib < SHARED_BOUND_MIB, `RSS grew ${mib.toFixed(1)} MiB`);
    const clients = metricValue(await getMetrics(api.port), 'glance_feed_clients');
    assert.ok(clients >= SILENT - RESYNC_SPAMMERS, `only ${clients} clients still connected`);
    proved(t, `slow-clients: ${RESYNC_SPAMMERS} clients asked for 30 hellos each (6 MB) without reading: ${(resyncBytes / 1048576).toFixed(1)} MiB `
      + `written to them, ${resyncRefused} closed for asking too fast (1008), ${resyncDropped} dropped for their backlog, `
      + `${clients} clients still connected; RSS ${rssAfterResync} KiB (+${mib.toFixed(1)} MiB since start)`);
  });

  it(`a client flooding pings without reading costs at most ${PER_CLIENT_BOUND_MIB} MiB`, async (t) => {
    const flooders = silent.slice(RESYNC_SPAMMERS, RESYNC_SPAMMERS + PING_SPAMMERS);
    const payload = crypto.randomBytes(125);
    const mask = crypto.randomBytes(4);
    const ping = Buffer.concat([Buffer.from([0x89, 0x80 | 125]), mask, Buffer.from(payload.map((b, i) => b ^ mask[i % 4]))]);
    const batch = Buffer.concat(Array(1000).fill(ping));
    const base = rssKiB(api.pid);
    const dropped0 = metricValue(await getMetrics(api.port), 'glance_feed_clients_dropped_total');
    let peak = base;
    let sent = 0;
    for (let round = 0; round < 40; round++) {
      await Promise.all(flooders.filter((s) => !s.socket.destroyed).map((s) => new Promise((resolve) => {
        const timer = setTimeout(resolve, 200);
        sent += 1000;
        if (s.socket.write(batch)) { clearTimeout(timer); resolve(); } else s.socket.once('drain', () => { clearTimeout(timer); resolve(); });
      })));
      peak = Math.max(peak, rssKiB(api.pid));
    }
    await sleep(300);
    peak = Math.max(peak, rssKiB(api.pid));
    assert.ok(api.alive(), 'the replica is up');
    // 40,000 pongs (5 MB) each would pass the 1 MiB backlog bound and get every flooder dropped
    const dropped = metricValue(await getMetrics(api.port), 'glance_feed_clients_dropped_total') - dropped0;
    assert.equal(dropped, 0, 'no flooder piled up a backlog');
    const perClient = (peak - base) / 1024 / PING_SPAMMERS;
    if (!asan) assert.ok(perClient <= PER_CLIENT_BOUND_MIB, `${perClient.toFixed(2)} MiB per flooder`);
    proved(t, `slow-clients${asan ? ' (ASan build, RSS not asserted)' : ''}: ${PING_SPAMMERS} clients sent ${sent} pings `
      + `without reading, none piled up a backlog; peak RSS growth ${((peak - base) / 1024).toFixed(1)} MiB, ${perClient.toFixed(3)} MiB per client `
      + '(an unsent pong is replaced by the next)');
  });

  it('the normal client still receives, the replica still answers', async () => {
    const mark = normal.mark();
    assert.equal((await request(api.port, 'POST', '/api/status/main/7/6')).status, 204);
    await normal.waitFor((m) => hasChange(m, 'main', 7, 6), 3000, { from: mark, what: 'the update for main 7' });
    assert.equal((await request(api.port, 'GET', '/readyz')).status, 200);
  });

  it('shuts down cleanly with hundreds of silent clients still connected (exit 0; leak-free under ASan)', async () => {
    await assertCleanStop([api]);
  });
});
