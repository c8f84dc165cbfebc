// figures.test.mjs -- the page's logic for what bots report besides states (web/assets/figures.js,
// guild.js, states.js, format.js): reading a pasted Discord link into a guild id (and refusing hostile
// ones), the latency bands and their legend, a cluster's figures and a shard's in words, the gateway's
// conclusions in words (silent shards, a reconnect storm, a short identify budget), and the plain
// sentence for a server whose shard is down.

import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { parseGuildInput, shardFor } from '../../web/assets/guild.js';
import {
  LATENCY_BANDS, NO_FIGURE, latencyBand, figureOf, latencyText, clusterFigureParts, shardFigureLines, formatMs,
  ClusterFigures, gatewayWarnings, shardGatewayLines, silentShards, budgetText, formatRate,
} from '../../web/assets/figures.js';
import { downSentence, isDown } from '../../web/assets/states.js';
import { formatHourMinute } from '../../web/assets/format.js';

const NOW = 1764500000000;
const GUILD = 81384788765712384n;
const MAX = 18446744073709551615n; // 2^64 - 1

/** HH:MM of `ms` in this machine's time zone, worked out without Intl: what formatHourMinute must say. */
const hhmm = (ms) => {
  const d = new Date(ms);
  return `${String(d.getHours()).padStart(2, '0')}:${String(d.getMinutes()).padStart(2, '0')}`;
};

describe('the guild box reads what users paste', () => {
  it('takes a guild id, with spaces around and inside', () => {
    assert.deepEqual(parseGuildInput('81384788765712384'), { kind: 'id', guild: GUILD });
    assert.deepEqual(parseGuildInput('  8138 4788 7657 12384 \n'), { kind: 'id', guild: GUILD });
    assert.deepEqual(parseGuildInput('18446744073709551615'), { kind: 'id', guild: MAX });
  });

  it('takes message and channel links on every Discord host, with or without the scheme', () => {
    const hosts = ['discord.com', 'ptb.discord.com', 'canary.discord.com', 'discordapp.com', 'www.discord.com',
      'ptb.discordapp.com', 'canary.discordapp.com', 'DISCORD.COM', 'Canary.Discord.com'];
    for (const host of hosts) {
      for (const scheme of ['https://', 'http://', '']) {
        for (const tail of ['/222/333', '/222', '/222/333/', '']) {
          const text = `${scheme}${host}/channels/81384788765712384${tail}`;
          assert.deepEqual(parseGuildInput(text), { kind: 'link', guild: GUILD }, text);
        }
      }
    }
  });

  it('keeps all 64 bits of a linked guild id (BigInt, never Number)', () => {
    const got = parseGuildInput('https://discord.com/channels/18446744073709551615/1/2');
    assert.equal(typeof got.guild, 'bigint');
    assert.equal(got.guild, MAX);
    // 2^53 + 1: a Number would read 9007199254740992 and the shard would be off for some cluster sizes
    assert.equal(parseGuildInput('discord.com/channels/9007199254740993/1').guild, 9007199254740993n);
    assert.equal(shardFor(parseGuildInput('https://discord.com/channels/4611686070210265087/5').guild, 360), 121);
  });

  it('trims what comes with a paste: spaces, line breaks, Discord\'s <...>, a query or fragment', () => {
    const want = { kind: 'link', guild: GUILD };
    assert.deepEqual(parseGuildInput('   https://discord.com/channels/81384788765712384/1/2   '), want);
    assert.deepEqual(parseGuildInput('https://discord.com/channels/ 8138478876 5712384 /1\n/2'), want);
    assert.deepEqual(parseGuildInput('\t<https://ptb.discord.com/channels/81384788765712384/1/2>'), want);
    assert.deepEqual(parseGuildInput('https://discord.com/channels/81384788765712384/1/2?foo=bar#x'), want);
  });

  it('says a direct-message link (@me) has no server', () => {
    for (const t of ['https://discord.com/channels/@me/123456789012345678', 'discord.com/channels/@me/1/2',
      'canary.discordapp.com/channels/@me/1', ' https://ptb.discord.com/channels/@me ']) {
      assert.deepEqual(parseGuildInput(t), { kind: 'dm', guild: null }, t);
    }
  });

  it('says empty input is empty, not invalid', () => {
    assert.deepEqual(parseGuildInput(''), { kind: 'empty', guild: null });
    assert.deepEqual(parseGuildInput(' \n\t '), { kind: 'empty', guild: null });
  });

  it('refuses hostile and look-alike input', () => {
    const bad = [
      'https://discord.com.evil.example/channels/81384788765712384/1', // another host, named like Discord
      'https://evil.example/discord.com/channels/81384788765712384/1',
      'https://discord.com@evil.example/channels/81384788765712384/1',
      'https://evil.discord.com/channels/81384788765712384/1', // only the ptb, canary and www hosts
      'https://discordXcom/channels/81384788765712384/1', // the dot is a dot, not any character
      'https://discord.gg/81384788765712384', // an invite, not a guild
      'https://discord.com/guilds/81384788765712384',
      'https://discord.com/channels/18446744073709551616/1', // 2^64: past 64 bits
      'https://discord.com/channels/123456789012345678901/1', // 21 digits
      'https://discord.com/channels/-1/1',
      'https://discord.com/channels/0x10/1',
      'https://discord.com/channels/１２３/1', // full-width digits
      'https://discord.com/channels/81384788765712384/1/2/3', // one part too many
      'https://discord.com/channels/81384788765712384/abc',
      'ftp://discord.com/channels/81384788765712384/1',
      'javascript:alert(1)//discord.com/channels/81384788765712384/1',
      'https://discord.com/channels/81384788765712384/1/2<script>',
      '<script>alert(1)</script>',
      '81384788765712384 and more',
      '+81384788765712384', '1e18', '1.5', '-5',
      `https://discord.com/channels/81384788765712384/1?${'a'.repeat(600)}`, // longer than any real link
      `https://discord.com/channels/${'9'.repeat(100000)}/1`,
      '\u202ehttps://discord.com/channels/81384788765712384/1', // a right-to-left override in front
      null, undefined, 42, {}, ['81384788765712384'],
    ];
    for (const b of bad) assert.deepEqual(parseGuildInput(b), { kind: 'invalid', guild: null }, `accepted ${String(b).slice(0, 80)}`);
  });

  it('reads a huge hostile paste quickly (no pattern that backtracks)', () => {
    const huge = `discord.com/channels/${'1/'.repeat(200000)}`;
    const started = process.hrtime.bigint();
    assert.equal(parseGuildInput(huge).kind, 'invalid');
    assert.equal(parseGuildInput(`https://discord.com/channels/1/2?${'<'.repeat(400)}`).kind, 'invalid');
    assert.ok(Number(process.hrtime.bigint() - started) / 1e6 < 200, 'under 200 ms');
  });
});

describe('latency bands', () => {
  it('puts each latency in its band at the thresholds the legend states (< 100, 100–250, 250–500, ≥ 500 ms)', () => {
    const cases = [[0, 0], [42, 0], [99, 0], [99.9, 0], [100, 1], [249, 1], [250, 2], [499, 2], [500, 3], [600000, 3], [1e9, 3]];
    for (const [ms, band] of cases) assert.equal(latencyBand(ms), band, `${ms} ms`);
  });

  it('has no band without a usable figure', () => {
    for (const x of [null, undefined, '', NaN, Infinity, -1, 'fast', true, {}, []]) assert.equal(latencyBand(x), 'none', String(x));
    assert.equal(latencyBand('120'), 1, 'a figure as text still counts');
  });

  it('writes the legend from the thresholds themselves', () => {
    assert.deepEqual([...LATENCY_BANDS, NO_FIGURE].map((b) => [b.band, b.label]),
      [[0, '< 100 ms'], [1, '100–250 ms'], [2, '250–500 ms'], [3, '≥ 500 ms'], ['none', 'No recent figure']]);
    // every band's label names the latencies that fall in it
    for (const b of LATENCY_BANDS) {
      const lo = b.band === 0 ? 0 : LATENCY_BANDS[b.band - 1].below;
      assert.equal(latencyBand(lo), b.band, b.label);
      if (b.below !== Infinity) assert.equal(latencyBand(b.below - 0.01), b.band, b.label);
    }
  });
});

describe('figures in words', () => {
  it('gives a cluster\'s median and p95 latency', () => {
    assert.equal(latencyText({ median: 42, p95: 120 }), 'median 42 ms, p95 120 ms');
    assert.equal(latencyText({ median: 41.6, p95: 1204 }), 'median 42 ms, p95 1,204 ms');
    assert.equal(latencyText({ median: 0, p95: 0 }), 'median 0 ms, p95 0 ms', 'zero is a figure');
    assert.equal(latencyText({ median: 42, p95: null }), 'median 42 ms');
    assert.equal(latencyText(null), null);
    assert.equal(latencyText({ median: null, p95: null }), null);
    assert.equal(formatMs(1234567.4), '1,234,567 ms');
  });

  it('says a cluster\'s guilds, unavailable guilds and members and latency for its header', () => {
    const c = {
      name: 'main', shards: 360, reporting: 358, guilds: 123456, unavailable_guilds: 12, members: 98765432,
      latency_ms: { median: 42, p95: 120 }, latency: [],
    };
    assert.deepEqual(clusterFigureParts(c),
      ['123,456 guilds (12 unavailable)', '98,765,432 members', 'latency median 42 ms, p95 120 ms']);
    assert.deepEqual(clusterFigureParts({ ...c, unavailable_guilds: 0, members: null }),
      ['123,456 guilds', 'latency median 42 ms, p95 120 ms'], 'no unavailable guilds, no members: not said');
    assert.deepEqual(clusterFigureParts({ ...c, latency_ms: null }),
      ['123,456 guilds (12 unavailable)', '98,765,432 members', 'no recent latency']);
    assert.deepEqual(clusterFigureParts({ ...c, guilds: 1, unavailable_guilds: 0, members: null, latency_ms: null }), ['1 guild', 'no recent latency']);
    assert.deepEqual(clusterFigureParts({ ...c, latency_ms: null, guild_cap: { highest: 2400, near: 2, shards: [3, 9] } }).at(-1),
      '2 shards near the guild cap: reshard soon');
    assert.deepEqual(clusterFigureParts({ ...c, latency_ms: null, guild_cap: { highest: 2250, near: 1, shards: [3] } }).at(-1),
      '1 shard near the guild cap: reshard soon');
    assert.equal(clusterFigureParts({ ...c, guild_cap: { highest: 100, near: 0, shards: [] } }).some((p) => /cap/.test(p)), false);
  });

  it('says nothing for a cluster whose bots report no figures', () => {
    assert.deepEqual(clusterFigureParts({ name: 'demo', shards: 1, reporting: 0, guilds: 0, unavailable_guilds: 0, members: null, latency_ms: null }), []);
    assert.deepEqual(clusterFigureParts({ name: 'demo', shards: 1, reporting: 0, guilds: null, members: null, latency_ms: null }), []);
    assert.deepEqual(clusterFigureParts(null), []);
  });

  it('gives a shard\'s latency, guilds, unavailable guilds, members and when it reported', () => {
    const f = { latency_ms: 42, guilds: 1000, unavailable_guilds: 3, members: 25000, reported_ms: NOW - 12000 };
    assert.deepEqual(shardFigureLines(f, NOW), ['Latency 42 ms', '1,000 guilds, 3 unavailable', '25,000 members', 'Reported 12 s ago']);
    assert.deepEqual(shardFigureLines({ ...f, unavailable_guilds: 0, members: null }, NOW),
      ['Latency 42 ms', '1,000 guilds', 'Reported 12 s ago'], 'no unavailable guilds, no members: not said');
    assert.deepEqual(shardFigureLines({ latency_ms: null, guilds: 5, unavailable_guilds: null, members: null, reported_ms: NOW - 3 * 60000 }, NOW),
      ['5 guilds', 'Reported 3 min ago']);
    assert.deepEqual(shardFigureLines({ ...f, reported_ms: NOW + 5000 }, NOW).at(-1), 'Reported just now', 'a clock ahead of ours is now');
    assert.deepEqual(shardFigureLines({ ...f, guilds: 2300, near_guild_cap: true }, NOW)[1],
      '2,300 guilds, 3 unavailable (near the 2,500 cap: reshard soon)');
    assert.deepEqual(shardFigureLines({ ...f, near_guild_cap: false }, NOW)[1], '1,000 guilds, 3 unavailable');
  });

  it('gives nothing for a shard that never sent figures', () => {
    assert.deepEqual(shardFigureLines(null, NOW), []);
    assert.deepEqual(shardFigureLines(undefined, NOW), []);
    assert.deepEqual(shardFigureLines({ latency_ms: null, guilds: null, unavailable_guilds: null, members: null, reported_ms: NOW }, NOW), []);
  });

  it('reads a latency only when it is a number from 0 up', () => {
    assert.equal(figureOf(0), 0);
    assert.equal(figureOf('7'), 7);
    for (const x of [null, undefined, '', -1, NaN, 'x', false]) assert.equal(figureOf(x), null, String(x));
  });
});

describe('polling the cluster figures', () => {
  const body = (median) => ({
    now_ms: NOW,
    clusters: [
      { name: 'main', shards: 3, reporting: 3, guilds: 30, unavailable_guilds: 0, members: null, latency_ms: { median, p95: 300 }, latency: [40, median, 300] },
      { name: 'demo', shards: 1, reporting: 0, guilds: 0, unavailable_guilds: 0, members: null, latency_ms: null, latency: [null] },
    ],
  });
  const fakeFetch = (bodies) => async () => {
    const text = JSON.stringify(bodies.shift());
    return { ok: true, status: 200, text: async () => text };
  };

  it('hands each cluster\'s words and per-shard latency on, and only when the answer changed', async () => {
    const seen = [];
    const f = new ClusterFigures({ onCluster: (name, x) => seen.push([name, x]), fetchImpl: fakeFetch([body(90), body(90), body(120)]) });
    await f.fetch();
    assert.deepEqual(seen, [
      ['main', { parts: ['30 guilds', 'latency median 90 ms, p95 300 ms'], latency: [40, 90, 300], silent: [], silentCount: 0, warnings: [] }],
      ['demo', { parts: [], latency: [null], silent: [], silentCount: 0, warnings: [] }],
    ]);
    await f.fetch();
    assert.equal(seen.length, 2, 'the same answer again changes nothing');
    await f.fetch();
    assert.equal(seen.length, 4);
    assert.deepEqual(seen[2][1].parts, ['30 guilds', 'latency median 120 ms, p95 300 ms']);
    assert.deepEqual(f.stats, { loads: 3, failures: 0, applied: 2 });
  });

  it('counts a failed request and keeps what it showed', async () => {
    const seen = [];
    const f = new ClusterFigures({ onCluster: (n) => seen.push(n), fetchImpl: async () => ({ ok: false, status: 404, text: async () => '{}' }) });
    await assert.rejects(f.fetch());
    assert.deepEqual(seen, []);
    assert.equal(f.stats.failures, 1);
  });
});

describe('the gateway in words', () => {
  const gateway = (over = {}) => ({
    reporting: 3, events_per_s: 1234.4, silent: 0, silent_shards: [], stale_latency: 0, identifies_per_min: 0,
    resumes_per_min: 0, sessions_24h: 0, storm: false, session: null, ...over,
  });

  it('gives a cluster\'s events a second and its identify budget quietly in its header\'s figures', () => {
    const c = { shards: 3, reporting: 3, guilds: 30, latency_ms: { median: 40, p95: 60 }, gateway: gateway({
      session: { total: 1000, remaining: 998, reset_at_ms: NOW, max_concurrency: 16, reported_ms: NOW, short: false },
    }) };
    assert.deepEqual(clusterFigureParts(c), ['30 guilds', 'latency median 40 ms, p95 60 ms', '1,234 events/s',
      'identify budget 998 of 1,000 left, 16 at once']);
    // no shard reports its events: no rate, rather than "0 events/s"
    assert.deepEqual(clusterFigureParts({ ...c, gateway: gateway({ reporting: 0, events_per_s: null }) }).slice(2), []);
    assert.equal(budgetText(null), null);
    assert.deepEqual([formatRate(0), formatRate(0.254), formatRate(12.46), formatRate(99.99), formatRate(12345.6)],
      ['0', '0.25', '12.5', '100', '12,346']);
  });

  it('warns of a reconnect storm with its identifies and resumes a minute', () => {
    assert.deepEqual(gatewayWarnings(gateway({ storm: true, identifies_per_min: 120, resumes_per_min: 40 }), 360, NOW),
      [{ kind: 'storm', text: 'Reconnect storm: 120 identifies and 40 resumes a minute' }]);
    assert.deepEqual(gatewayWarnings(gateway({ storm: true, identifies_per_min: 1, resumes_per_min: 1 }), 8, NOW)[0].text,
      'Reconnect storm: 1 identify and 1 resume a minute');
    assert.deepEqual(gatewayWarnings(gateway({ identifies_per_min: 120 }), 360, NOW), [], 'the server decides what a storm is');
    assert.deepEqual(gatewayWarnings(null, 360, NOW), []);
  });

  it('warns when a full restart would exhaust the identify budget, with its reset in the reader\'s time', () => {
    const reset = NOW + 3600000;
    const session = { total: 2000, remaining: 1000, reset_at_ms: reset, max_concurrency: 16, reported_ms: NOW, short: true };
    assert.deepEqual(gatewayWarnings(gateway({ session }), 1440, NOW), [{
      kind: 'budget',
      text: `A full restart now would exhaust the daily identify budget (1,000 left, 1,440 shards); it resets at ${formatHourMinute(reset, NOW)}`,
    }]);
    assert.match(gatewayWarnings(gateway({ session }), 1440, reset - 60000)[0].text, /resets at \d\d:\d\d$/, 'today: the time alone');
    assert.match(gatewayWarnings(gateway({ session }), 1440, reset + 2 * 86400000)[0].text, /resets at \D+ ?\d/, 'another day: with the date');
    assert.deepEqual(gatewayWarnings(gateway({ session: { ...session, short: false } }), 1440, NOW), []);
  });

  it('lists the silent shards and how many there are, past the 1000 listed', () => {
    assert.deepEqual(silentShards(gateway({ silent: 2, silent_shards: [0, 2] })), { ids: [0, 2], count: 2 });
    assert.deepEqual(silentShards(gateway({ silent: 1500, silent_shards: [4] })), { ids: [4], count: 1500 });
    assert.deepEqual(silentShards(gateway({ silent: 'x', silent_shards: [1, -1, 'a', 2.5] })), { ids: [1], count: 1 });
    assert.deepEqual(silentShards(undefined), { ids: [], count: 0 });
  });

  it('says a silent shard\'s silence, its frozen latency and its counters for its tooltip', () => {
    const g = { events: 500, events_per_s: 0, resumes: 2, identifies: 1, disconnects: 0, reported_ms: NOW,
      last_event_ms: NOW - 6 * 60000, silent: true, stale_latency: true };
    assert.deepEqual(shardGatewayLines(g, { latency_ms: 41 }, NOW), {
      warning: ['Silent: online but no gateway events for 6 min',
        'Its latency (41 ms) has not changed since: frozen at the last heartbeat'],
      lines: ['0 events/s', '2 resumes, 1 identify, 0 disconnects'],
    });
    assert.deepEqual(shardGatewayLines({ ...g, silent: false, events_per_s: 12.46, resumes: null, identifies: null, disconnects: null }, null, NOW),
      { warning: [], lines: ['12.5 events/s'] }, 'counters never reported are left out');
    assert.deepEqual(shardGatewayLines({ ...g, stale_latency: false }, { latency_ms: 41 }, NOW).warning,
      ['Silent: online but no gateway events for 6 min']);
    assert.deepEqual(shardGatewayLines(null, null, NOW), { warning: [], lines: [] });
  });
});

describe('when a server\'s shard is down', () => {
  it('says so plainly, with the local time it went down', () => {
    const since = NOW - 2 * 3600000;
    assert.equal(downSentence(1, since, { now: NOW }), `Your server's shard is unhealthy since ${hhmm(since)}.`);
    assert.equal(downSentence(2, since, { now: NOW }), `Your server's shard is offline since ${hhmm(since)}.`);
    assert.equal(downSentence(1, since, { now: NOW, cluster: 'eu' }), `Your server's shard in cluster eu is unhealthy since ${hhmm(since)}.`);
  });

  it('writes the time as HH:MM on a 24-hour clock', () => {
    const d = new Date(NOW);
    d.setHours(3, 12, 0, 0);
    assert.equal(formatHourMinute(d.getTime(), d.getTime() + 60000), '03:12');
    d.setHours(15, 7, 0, 0);
    assert.equal(formatHourMinute(d.getTime(), d.getTime() + 60000), '15:07');
  });

  it('adds the date when it went down before today', () => {
    const now = new Date(NOW);
    now.setHours(1, 0, 0, 0);
    const yesterday = new Date(now);
    yesterday.setDate(now.getDate() - 1);
    yesterday.setHours(23, 5, 0, 0);
    const s = downSentence(1, yesterday.getTime(), { now: now.getTime() });
    assert.match(s, /^Your server's shard is unhealthy since .*23:05\.$/);
    assert.ok(s.includes(String(yesterday.getDate())), `the day of the month is in "${s}"`);
    assert.notEqual(s, `Your server's shard is unhealthy since 23:05.`, 'not the time alone: it reads as today');
    const lastYear = new Date(now);
    lastYear.setFullYear(now.getFullYear() - 1);
    assert.ok(downSentence(2, lastYear.getTime(), { now: now.getTime() }).includes(String(lastYear.getFullYear())), 'and the year when it is not this one');
  });

  it('leaves the time out when it is not known, and says nothing for a shard that is not down', () => {
    assert.equal(downSentence(1, 0, { now: NOW }), 'Your server\'s shard is unhealthy.');
    assert.equal(downSentence(2, null, { now: NOW }), 'Your server\'s shard is offline.');
    assert.equal(downSentence(1, 1e300, { now: NOW }), 'Your server\'s shard is unhealthy.', 'no time past the last Date');
    for (const st of [0, 3, 4, 5, 6, 9]) {
      assert.equal(downSentence(st, NOW, { now: NOW }), null, `state ${st}`);
      assert.equal(isDown(st), false);
    }
    assert.equal(isDown(1) && isDown(2), true);
  });
});
