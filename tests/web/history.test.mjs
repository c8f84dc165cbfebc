// history.test.mjs -- the page's incidents, maintenance and history logic (web/assets/history.js,
// incidents.js, story.js, format.js, poll.js): how a day is shaded and said, how figures are written,
// what the banner shows at a given moment, and how the poller paces its requests.

import { describe, it, afterEach, mock } from 'node:test';
import assert from 'node:assert/strict';
import {
  severity, shadeDay, downFraction, describeDay, availabilityFigures,
} from '../../web/assets/history.js';
import {
  bannerItems, maintenanceByCluster, phaseOf, latestUpdate, updatedAt, overallSummary, nextChange, clusterWords,
  impactOf, statusLabel, windowWords,
} from '../../web/assets/incidents.js';
import { transitionLines, availabilityLine, isFlapping } from '../../web/assets/story.js';
import { formatPercent, formatDuration, formatIn } from '../../web/assets/format.js';
import { Poller, getJson } from '../../web/assets/poll.js';
import { STATES } from '../../web/assets/states.js';

const NBSP = '\u00a0';
const H = 3600000;
const DAY = 24 * H;
const SHARDS = 360;
const NOW = 1764500000000;

/** A day of `shards` shards with `down` shard-ms down and `maint` wall-ms of maintenance for all shards. */
const day = (date, { down = 0, maint = 0, maintDown = 0, shards = SHARDS, empty = false } = {}) => (empty
  ? { date, up_ms: 0, down_ms: 0, maintenance_ms: 0, maintenance_down_ms: 0 }
  : {
    date,
    up_ms: shards * (DAY - maint) - down,
    down_ms: down,
    maintenance_ms: shards * maint,
    maintenance_down_ms: maintDown,
  });

describe('a day\'s bar', () => {
  it('is shaded by the share of shard-time down, not all-or-nothing', () => {
    const minute = shadeDay(day('d', { down: 60000 }));
    const hourAll = shadeDay(day('d', { down: SHARDS * H }));
    const allDay = shadeDay(day('d', { down: SHARDS * DAY }));
    assert.equal(minute.kind, 'down');
    assert.ok(minute.severity > 0 && minute.severity < 0.2, `a minute of one shard is a faint tint (${minute.severity})`);
    assert.ok(hourAll.severity > 0.5 && hourAll.severity < 0.9, `a whole cluster down an hour stands out (${hourAll.severity})`);
    assert.equal(allDay.severity, 1);
  });

  it('grows darker with more downtime, steadily (each tenfold a fifth of the scale)', () => {
    const fs = [1e-6, 1e-5, 1e-4, 1e-3, 1e-2, 1e-1, 1];
    const sev = fs.map((f) => severity(f));
    for (let i = 1; i < sev.length; i++) assert.ok(sev[i] >= sev[i - 1], `severity(${fs[i]}) >= severity(${fs[i - 1]})`);
    assert.equal(severity(1e-3).toFixed(3), '0.400');
    assert.equal(severity(1e-2).toFixed(3), '0.600');
    assert.equal(severity(0), 0);
    assert.equal(severity(1e-12), 0.12, 'any downtime at all is visible');
  });

  it('is green with no downtime, grey with no data, and marks maintenance apart', () => {
    assert.deepEqual(shadeDay(day('d')), { kind: 'up', severity: 0, maintenance: false });
    assert.deepEqual(shadeDay(day('d', { empty: true })), { kind: 'none', severity: 0, maintenance: false });
    assert.deepEqual(shadeDay({ date: 'd' }), { kind: 'none', severity: 0, maintenance: false }, 'missing figures are no data');
    assert.deepEqual(shadeDay(day('d', { maint: 2 * H })), { kind: 'up', severity: 0, maintenance: true });
    assert.deepEqual(shadeDay(day('d', { maint: DAY })), { kind: 'maintenance', severity: 0, maintenance: true });
  });

  it('does not count downtime inside maintenance as down', () => {
    const d = day('d', { maint: 2 * H, maintDown: SHARDS * H });
    assert.equal(downFraction(d), 0);
    assert.equal(shadeDay(d).kind, 'up');
  });

  it('has no down share on a day without data, rather than 0', () => {
    assert.equal(downFraction(day('d', { empty: true })), null);
  });
});

describe('a day in words', () => {
  it('gives the exact figure, the downtime and the maintenance', () => {
    const d = day('2026-11-29', { down: 93000, maint: 2 * H });
    assert.equal(describeDay(d, SHARDS),
      `2026-11-29: 99.999${NBSP}% available, 1 min 33 s of shard-time down across 360 shards; 2 h of maintenance`);
  });

  it('says when a day had no downtime, no data, or only maintenance', () => {
    assert.equal(describeDay(day('2026-11-28'), SHARDS), `2026-11-28: 100${NBSP}% available, no shard-time down across 360 shards`);
    assert.equal(describeDay(day('2026-09-02', { empty: true }), SHARDS), '2026-09-02: no data');
    assert.equal(describeDay(day('2026-10-01', { maint: DAY }), SHARDS), '2026-10-01: only maintenance recorded; 1 d of maintenance');
  });

  it('says the down time inside maintenance apart, as not counted', () => {
    const d = day('2026-11-27', { maint: H, maintDown: 5 * 60000 });
    assert.match(describeDay(d, SHARDS), /1 h of maintenance \(5 min of shard-time down during it, not counted\)$/);
  });

  it('marks today as so far', () => {
    assert.match(describeDay(day('2026-11-30'), SHARDS, { today: true }), /^2026-11-30 \(today, so far\): /);
  });

  it('speaks of one shard in the singular', () => {
    assert.match(describeDay(day('d', { shards: 1, down: 1000 }), 1), /across 1 shard$/);
  });
});

describe('figures', () => {
  it('writes availability with two decimals, rounded down, never 100 short of all', () => {
    assert.equal(formatPercent(0.99912), `99.91${NBSP}%`);
    assert.equal(formatPercent(0.9995), `99.95${NBSP}%`);
    assert.equal(formatPercent(0.99999), `99.99${NBSP}%`);
    assert.equal(formatPercent(0.9999999999999), `99.99${NBSP}%`);
    assert.equal(formatPercent(1), `100${NBSP}%`);
    assert.equal(formatPercent(0), `0.00${NBSP}%`);
    assert.equal(formatPercent(0.5, 3), `50.000${NBSP}%`);
  });

  it('says "no data" for a window without shard-time', () => {
    assert.equal(formatPercent(null), 'no data');
    assert.equal(formatPercent(undefined), 'no data');
    assert.equal(formatPercent('x'), 'no data');
    assert.deepEqual(availabilityFigures({ '24h': 0.99912, '7d': 0.9995, '30d': 1, '90d': null }),
      [['24 h', `99.91${NBSP}%`], ['7 d', `99.95${NBSP}%`], ['30 d', `100${NBSP}%`], ['90 d', 'no data']]);
    assert.deepEqual(availabilityFigures(undefined).map(([, v]) => v), ['no data', 'no data', 'no data', 'no data']);
  });

  it('writes durations in their two largest units, rounded down', () => {
    assert.equal(formatDuration(93000), '1 min 33 s');
    assert.equal(formatDuration(2 * H), '2 h');
    assert.equal(formatDuration(H + 5000), '1 h');
    assert.equal(formatDuration(3 * H + 5 * 60000 + 59000), '3 h 5 min');
    assert.equal(formatDuration(12 * DAY + 4 * H), '12 d 4 h');
    assert.equal(formatDuration(45000), '45 s');
    assert.equal(formatDuration(500), 'under 1 s');
    assert.equal(formatDuration(0), '0 s');
    assert.equal(formatDuration(SHARDS * DAY), '360 d');
  });

  it('says how far ahead a time is', () => {
    assert.equal(formatIn(NOW + 3 * H, NOW), 'in 3 h');
    assert.equal(formatIn(NOW + 5 * 60000, NOW), 'in 5 min');
    assert.equal(formatIn(NOW - 1000, NOW), 'now');
  });
});

// ------------------------------------------------------------------------------------------ incidents

const incident = (o = {}) => ({
  id: 1, kind: 'incident', title: 'Shards offline', impact: 'major', clusters: ['alpha'], automatic: false,
  created_ms: NOW - H, resolved_ms: null, starts_ms: null, ends_ms: null, status: 'investigating', updates: [], ...o,
});
const maintenance = (o = {}) => incident({
  kind: 'maintenance', impact: 'maintenance', status: 'scheduled', title: 'Database upgrade', ...o,
});

describe('the banner', () => {
  it('shows every open incident and no resolved one', () => {
    const list = [incident({ id: 1 }), incident({ id: 2, resolved_ms: NOW - 1000 })];
    assert.deepEqual(bannerItems(list, NOW).map((x) => x.id), [1]);
  });

  it('shows maintenance in progress and maintenance starting within 24 h, not later ones or finished ones', () => {
    const list = [
      maintenance({ id: 10, starts_ms: NOW - H, ends_ms: NOW + H }), // in progress
      maintenance({ id: 11, starts_ms: NOW + 23 * H, ends_ms: NOW + 25 * H }), // within 24 h
      maintenance({ id: 12, starts_ms: NOW + 25 * H, ends_ms: NOW + 26 * H }), // later
      maintenance({ id: 13, starts_ms: NOW - 3 * H, ends_ms: NOW - H }), // over
      maintenance({ id: 14, starts_ms: NOW - H, ends_ms: NOW + H, resolved_ms: NOW - 60000 }), // completed early
    ];
    assert.deepEqual(bannerItems(list, NOW).map((x) => x.id), [10, 11]);
  });

  it('puts the worst incident first, then maintenance under way, then what comes next', () => {
    const list = [
      maintenance({ id: 5, starts_ms: NOW + H, ends_ms: NOW + 2 * H }),
      maintenance({ id: 4, starts_ms: NOW - H, ends_ms: NOW + H }),
      incident({ id: 3, impact: 'minor', created_ms: NOW - 1000 }),
      incident({ id: 2, impact: 'critical', created_ms: NOW - 5 * H }),
      incident({ id: 1, impact: 'bogus', created_ms: NOW - 2000 }),
    ];
    assert.deepEqual(bannerItems(list, NOW).map((x) => x.id), [2, 3, 1, 4, 5]);
  });

  it('follows the clock: a window opens at its start and closes at its end', () => {
    const m = maintenance({ starts_ms: NOW, ends_ms: NOW + H });
    assert.equal(phaseOf(m, NOW - 1), 'scheduled');
    assert.equal(phaseOf(m, NOW), 'in progress');
    assert.equal(phaseOf(m, NOW + H - 1), 'in progress');
    assert.equal(phaseOf(m, NOW + H), 'completed');
    assert.equal(nextChange([m], NOW - 10), NOW);
    assert.equal(nextChange([m], NOW), NOW + H);
    assert.equal(nextChange([m], NOW + H), null);
  });

  it('tolerates junk in the list', () => {
    assert.deepEqual(bannerItems([null, 3, 'x', incident({ id: 9 })], NOW).map((x) => x.id), [9]);
    assert.deepEqual(bannerItems(undefined, NOW), []);
  });

  it('takes the newest update, whatever the order given, and its time as "updated"', () => {
    const inc = incident({ updates: [{ at_ms: NOW - 3000, text: 'old' }, { at_ms: NOW - 1000, text: 'new' }, { at_ms: NOW - 2000, text: 'mid' }] });
    assert.equal(latestUpdate(inc).text, 'new');
    assert.equal(updatedAt(inc), NOW - 1000);
    assert.equal(updatedAt(incident({ updates: [] })), NOW - H, 'without updates, the creation');
  });

  it('names impacts and statuses in words', () => {
    assert.equal(impactOf(incident({ impact: 'critical' })), 'critical');
    assert.equal(impactOf(incident({ impact: '<b>' })), 'none');
    assert.equal(impactOf(maintenance({ impact: undefined })), 'maintenance');
    assert.equal(impactOf(incident({ impact: 'constructor' })), 'none', 'no prototype keys');
    assert.equal(statusLabel('in progress'), 'In progress');
    assert.equal(clusterWords(['a', 'b', 'c']), 'a, b and c');
    assert.equal(clusterWords([]), 'all clusters');
  });

  it('says when a maintenance starts and ends', () => {
    const m = maintenance({ starts_ms: NOW + 3 * H, ends_ms: NOW + 5 * H });
    assert.match(windowWords(m, NOW), /^Starts .+ \(in 3 h\), until .+$/);
    assert.match(windowWords(m, NOW + 4 * H), /^Until .+ \(in 1 h\)$/);
    assert.match(windowWords(m, NOW, { relative: false }), /^.+ to .+$/);
  });
});

describe('maintenance on the dashboard', () => {
  it('knows which clusters are under maintenance now, and until when', () => {
    const list = [
      maintenance({ clusters: ['alpha', 'beta'], starts_ms: NOW - H, ends_ms: NOW + H }),
      maintenance({ clusters: ['beta'], starts_ms: NOW - H, ends_ms: NOW + 2 * H }),
      maintenance({ clusters: ['gamma'], starts_ms: NOW + H, ends_ms: NOW + 2 * H }),
      maintenance({ clusters: ['delta'], starts_ms: NOW - H, ends_ms: null }),
      incident({ clusters: ['alpha'] }),
    ];
    assert.deepEqual([...maintenanceByCluster(list, NOW)], [['alpha', NOW + H], ['beta', NOW + 2 * H], ['delta', Infinity]]);
  });

  const counts = (o) => STATES.map((s) => o[s.key] || 0);

  it('leaves a cluster under maintenance out of the whole bot\'s condition, and says so', () => {
    const sum = overallSummary([
      { name: 'alpha', counts: counts({ offline: 360 }), maintenanceUntil: NOW + H },
      { name: 'beta', counts: counts({ online: 16 }), maintenanceUntil: null },
    ]);
    assert.deepEqual(sum, { level: 'ok', title: 'Operational', detail: 'All 16 shards online; alpha under maintenance' });
  });

  it('says "Under maintenance" when every cluster is', () => {
    const sum = overallSummary([{ name: 'alpha', counts: counts({ offline: 360 }), maintenanceUntil: NOW + H }]);
    assert.deepEqual(sum, { level: 'maintenance', title: 'Under maintenance', detail: 'Maintenance on alpha' });
  });

  it('is the plain summary without maintenance', () => {
    const sum = overallSummary([
      { name: 'a', counts: counts({ online: 348, unhealthy: 12 }), maintenanceUntil: null },
    ]);
    assert.equal(`${sum.title}: ${sum.detail}`, 'Partial outage: 12 of 360 shards unhealthy');
  });
});

// ------------------------------------------------------------------------------------ a shard's story

describe('a shard\'s story', () => {
  const body = {
    state: 1,
    transitions: [
      { at_ms: NOW - 1000, from: 3, to: 1 },
      { at_ms: NOW - 60000, from: 4, to: 3 },
      { at_ms: NOW - 120000, from: 0, to: 4 },
      { at_ms: 'junk', from: 0, to: 4 },
      { at_ms: NOW - 200000, from: 9, to: null },
      { at_ms: NOW - 300000, from: 1, to: 3 },
      { at_ms: NOW - 400000, from: 3, to: 1 },
    ],
    availability: { '24h': 0.98, '7d': null },
    flapping: false,
  };

  it('lists the newest transitions first, with state labels, five at most', () => {
    const lines = transitionLines(body, { now: NOW });
    assert.equal(lines.length, 5);
    assert.deepEqual(lines.map((l) => l.at), [NOW - 1000, NOW - 60000, NOW - 120000, NOW - 200000, NOW - 300000]);
    assert.match(lines[0].text, /Online → Unhealthy$/);
    assert.match(lines[2].text, /Unknown → Starting$/);
    assert.match(lines[3].text, /State 9 → \?$/);
  });

  it('says its availability over 24 h and 7 d', () => {
    assert.equal(availabilityLine(body), `Available 98.00${NBSP}% over 24 h, no data over 7 d`);
    assert.equal(availabilityLine({ state: 3 }), null, 'an older server without the figures');
  });

  it('flaps by its own word or the history\'s list', () => {
    assert.equal(isFlapping(body), false);
    assert.equal(isFlapping({ flapping: true }), true);
    assert.equal(isFlapping(null, true), true);
  });

  it('has no lines without transitions', () => {
    assert.deepEqual(transitionLines({}), []);
    assert.deepEqual(transitionLines(null), []);
  });
});

// ------------------------------------------------------------------------------------------- polling

describe('the poller', () => {
  afterEach(() => mock.timers.reset());

  const setup = (results, opts = {}) => {
    mock.timers.enable({ apis: ['setTimeout', 'Date'], now: NOW });
    const calls = [];
    const poller = new Poller(async () => {
      calls.push(Date.now() - NOW);
      const r = results.shift();
      if (r === 'fail') throw new Error('down');
    }, { everyMs: 60000, retryMs: 5000, jitter: 0, isHidden: () => false, ...opts });
    return { poller, calls };
  };
  const settle = () => new Promise((r) => setImmediate(r));
  const advance = async (ms) => { mock.timers.tick(ms); await settle(); await settle(); };

  it('runs at start and then every interval', async () => {
    const { poller, calls } = setup([]);
    poller.start();
    await advance(0);
    await advance(60000);
    await advance(60000);
    poller.stop();
    assert.deepEqual(calls, [0, 60000, 120000]);
  });

  it('retries sooner after a failure, backing off up to the interval, then keeps the interval', async () => {
    const { poller, calls } = setup(['fail', 'fail', 'fail', 'fail', 'fail']);
    poller.start();
    await advance(0);
    for (let t = 0; t < 200; t++) await advance(1000);
    poller.stop();
    // failures wait 5 s, 10 s, 20 s, 40 s, then 60 s (the interval); a success waits the interval
    assert.deepEqual(calls, [0, 5000, 15000, 35000, 75000, 135000, 195000]);
  });

  it('brings a run forward on soon(), and never pushes one back', async () => {
    const { poller, calls } = setup([]);
    poller.start();
    await advance(0);
    await advance(10000);
    poller.soon(1500);
    await advance(1500);
    assert.deepEqual(calls, [0, 11500]);
    poller.soon(50000);
    poller.soon(70000); // later than the one due: ignored
    await advance(50000);
    poller.stop();
    assert.deepEqual(calls, [0, 11500, 61500]);
  });

  it('waits while the tab is hidden', async () => {
    let hidden = true;
    const { poller, calls } = setup([], { isHidden: () => hidden });
    poller.start();
    await advance(0);
    await advance(120000);
    assert.deepEqual(calls, []);
    assert.equal(poller.waiting, true);
    hidden = false;
    poller.onVisible();
    await settle();
    poller.stop();
    assert.equal(calls.length, 1);
  });

  it('getJson rejects an answer that is not 2xx or not JSON', async () => {
    const fake = (status, text) => async () => ({ ok: status < 300, status, text: async () => text });
    await assert.rejects(getJson('/api/history', { fetchImpl: fake(404, 'no') }), /404/);
    await assert.rejects(getJson('/api/history', { fetchImpl: fake(200, '<html>') }));
    assert.deepEqual((await getJson('/x', { fetchImpl: fake(200, '{"a":1}') })).body, { a: 1 });
  });
});
