// figures.test.mjs -- what bots report besides states, on the dashboard in Debian's Chromium against the
// real stack (redis-server and glance-api): a shard's latency, guilds and members in its tooltip (posted as
// query parameters and as batches), each cluster's total guilds and median/p95 latency in its header, the
// latency colouring with its legend (and states that outrank it), remembered across visits and readable in
// both colour schemes, and the guild finder with a pasted message link that says plainly since when the
// server's shard is down. Writes screenshot-latency.png.

import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startRedis, startApi, request, postEach, cleanup, waitUntil } from '../integration/harness.mjs';
import { launch, newPage, closeBrowsers, waitLive, waitShardState, screenshot } from './browser.mjs';

const BOTS = 'main:360;canary:16';
const GUILD = '81384788765712384'; // shard 298 of main (360), shard 2 of canary (16)
const DOWN_SHARD = 298;
// main's latencies, by band: 90 shards at 40 ms, 180 at 150, 60 at 300, 30 at 700, spread over the grid
// (7 and 12 are coprime, so s * 7 % 12 visits each remainder 30 times). Sorted, the 180th and 181st are
// 150 and the 342nd and 343rd are 700: median 150 ms and p95 700 ms by any rank or interpolation rule.
const LEVELS = [40, 150, 300, 700];
const levelOf = (s) => { const r = (s * 7) % 12; return r < 3 ? 0 : r < 9 ? 1 : r < 11 ? 2 : 3; };
const latencyOf = (s) => LEVELS[levelOf(s)];
const firstOf = (band) => [...Array(360).keys()].find((s) => s !== 5 && levelOf(s) === band); // 0, 1, 3, 17 for bands 0 to 3
// shard 5 reports over the single endpoint, after the batch: 42 ms, so the counts move by one (median
// and p95 stay where they are), 1,105 guilds (100 more than the batch said) of which 3 unavailable, and
// the only member count
const SHARD5 = { latency_ms: 42, guilds: 1105, unavailable_guilds: 3, members: 25000 };
const GUILDS_MAIN = 360 * 1000 + (359 * 360) / 2; // shard s serves 1000 + s guilds: 424,620

let rds;
let api;
let browser;
let page;

const post = async (p, { body, type = 'application/json' } = {}) => {
  const r = await request(api.port, 'POST', p, {
    headers: body === undefined ? {} : { 'content-type': type }, body: body === undefined ? undefined : JSON.stringify(body),
  });
  assert.ok(r.status >= 200 && r.status < 300, `POST ${p}: ${r.status} ${r.body}`);
  return r;
};

/** The computed look of one shard: background colour and image, size of the layers, text colour, border. */
const look = (pg, cluster, shard) => pg.$eval(`.s[data-cluster="${cluster}"][data-shard="${shard}"]`, (e) => {
  const cs = getComputedStyle(e);
  return { bg: cs.backgroundColor, image: cs.backgroundImage, size: cs.backgroundSize, color: cs.color, border: cs.borderTopStyle, band: e.dataset.band ?? null };
});

/** The colour a CSS expression computes to on this page (e.g. "var(--c1)"). */
const colourOf = (pg, expr) => pg.evaluate((x) => {
  const probe = document.createElement('i');
  probe.style.color = x;
  document.body.append(probe);
  const c = getComputedStyle(probe).color;
  probe.remove();
  return c;
}, expr);

async function setLatencyColouring(pg, on) {
  if (!(await pg.isVisible('#by-latency'))) await pg.click('.settings summary');
  await pg.setChecked('#by-latency', on);
}

before(async () => {
  rds = await startRedis();
  api = await startApi({ redisPort: rds.port, bots: BOTS, healthTimeout: 3600 });
  const paths = [];
  for (let s = 0; s < 360; s++) paths.push(`/api/status/main/${s}/3`);
  for (let s = 0; s < 16; s++) paths.push(`/api/status/canary/${s}/3`);
  await postEach([api], paths);
  // one batch per cluster: main's latencies and guilds, and half of canary (its other half never reports figures)
  const r = await post('/api/clusters/main/report', {
    body: { shards: Array.from({ length: 360 }, (_, id) => ({ id, latency_ms: latencyOf(id), guilds: 1000 + id, unavailable_guilds: 0 })) },
  });
  assert.deepEqual(r.json(), { reported: 360, changed: 0 });
  await post('/api/clusters/canary/report', { body: { shards: Array.from({ length: 8 }, (_, id) => ({ id, latency_ms: 80, guilds: 10 })) } });
  const q = new URLSearchParams(Object.entries(SHARD5).map(([k, v]) => [k, String(v)]));
  await post(`/api/health/main/5?${q}`);
  // the server keeps its figures for up to 5 s: the page's first poll should find them as posted
  await waitUntil(async () => {
    const main = (await request(api.port, 'GET', '/api/figures')).json().clusters.find((c) => c.name === 'main');
    return main.latency[5] === 42 && main.unavailable_guilds === 3;
  }, { timeoutMs: 15000, intervalMs: 250, message: 'GET /api/figures to have the figures posted' });
  browser = await launch();
  page = await newPage(browser);
  await page.goto(`${api.url}/`);
  await waitLive(page);
});

after(async () => {
  await closeBrowsers();
  await cleanup();
});

describe('figures on the dashboard', { timeout: 90000 }, () => {
  it('shows a shard\'s latency, guilds, unavailable guilds, members and when it reported in its tooltip', async () => {
    await page.hover('.s[data-cluster="main"][data-shard="5"]');
    await page.waitForFunction(() => document.querySelectorAll('#shard-tip .tip-figure').length > 0, null);
    const lines = await page.$$eval('#shard-tip .tip-figure', (els) => els.map((e) => e.textContent));
    assert.deepEqual(lines.slice(0, 3), ['Latency 42 ms', '1,105 guilds, 3 unavailable', '25,000 members']);
    assert.match(lines[3], /^Reported (just now|\d+ s ago)$/);
    assert.equal(lines.length, 4);
    // a shard from the batch: no unavailable guilds, no members, so neither is said
    await page.hover('.s[data-cluster="main"][data-shard="0"]');
    await page.waitForFunction(() => /shard 0$/.test(document.querySelector('#shard-tip .tip-where')?.textContent)
      && document.querySelectorAll('#shard-tip .tip-figure').length > 0, null);
    const first = await page.$$eval('#shard-tip .tip-figure', (els) => els.map((e) => e.textContent));
    assert.deepEqual(first.slice(0, 2), [`Latency ${latencyOf(0)} ms`, '1,000 guilds']);
    assert.equal(first.length, 3);
    await page.mouse.move(0, 0);
    assert.deepEqual(page.problems, []);
  });

  it('shows nothing of figures for a shard that never sent any', async () => {
    const status = (await request(api.port, 'GET', '/api/status/canary/12')).json();
    assert.equal(status.figures, null, 'the API says it has none');
    await page.hover('.s[data-cluster="canary"][data-shard="12"]');
    // the story has come (the tooltip says since when), and with it no figure
    await page.waitForFunction(() => /canary · shard 12/.test(document.querySelector('#shard-tip').textContent)
      && /Since \d|No change recorded yet/.test(document.querySelector('#shard-tip').textContent), null);
    await page.waitForTimeout(300);
    assert.equal(await page.$$eval('#shard-tip .tip-figure', (els) => els.length), 0);
    assert.doesNotMatch(await page.textContent('#shard-tip'), /Latency|guild|Reported/);
    await page.mouse.move(0, 0);
  });

  it('gives each cluster\'s total guilds and median/p95 latency in its header, as GET /api/figures has them', async () => {
    await page.waitForFunction(() => !document.querySelector('section[data-cluster="main"] .cluster-figures').hidden, null, { timeout: 20000 });
    const served = (await request(api.port, 'GET', '/api/figures')).json().clusters;
    const main = served.find((c) => c.name === 'main');
    assert.equal(main.guilds, GUILDS_MAIN + 100, 'shard 5 now reports 1,105');
    assert.deepEqual(main.latency_ms, { median: 150, p95: 700 });
    const heads = await page.$$eval('section.cluster', (els) => Object.fromEntries(els.map((e) => [e.dataset.cluster,
      { text: e.querySelector('.cluster-figures').textContent, hidden: e.querySelector('.cluster-figures').hidden }])));
    assert.equal(heads.main.text, '424,720 guilds (3 unavailable) · 25,000 members · latency median 150 ms, p95 700 ms');
    assert.equal(heads.canary.text, '80 guilds · latency median 80 ms, p95 80 ms');
    assert.deepEqual(page.problems, []);
  });

  it('marks every shard with its latency band, from the figures', async () => {
    const bands = await page.$$eval('.s[data-cluster="main"]', (els) => els.map((e) => e.dataset.band ?? null));
    assert.deepEqual(bands, Array.from({ length: 360 }, (_, s) => (s === 5 ? '0' : String(levelOf(s)))));
    const canary = await page.$$eval('.s[data-cluster="canary"]', (els) => els.map((e) => e.dataset.band ?? null));
    assert.deepEqual(canary, [...Array(8).fill('0'), ...Array(8).fill(null)], 'no band without a fresh figure');
  });

  it('colours shards by latency when asked, with a legend that states the thresholds; a down shard keeps its state colour', async () => {
    await post('/api/status/main/57/1');
    await post('/api/status/main/58/2');
    await waitShardState(page, 'main', 58, 2);
    const byState = { fast: await look(page, 'main', 5), slow: await look(page, 'main', firstOf(3)), down: await look(page, 'main', 57) };
    assert.equal(await page.isHidden('#latency-key'), true, 'no legend while colouring by state');
    assert.equal(byState.fast.bg, byState.slow.bg, 'by state, two online shards look the same');

    await setLatencyColouring(page, true);
    assert.equal(await page.getAttribute('#clusters', 'data-colour'), 'latency');
    assert.equal(await page.isVisible('#latency-key'), true);
    const legend = await page.$$eval('#latency-key li', (els) => els.map((li) => ({
      band: li.dataset.band, label: li.textContent.trim(), bg: getComputedStyle(li.querySelector('.swatch')).backgroundColor,
      size: getComputedStyle(li.querySelector('.swatch')).backgroundSize,
    })));
    assert.deepEqual(legend.map((l) => [l.band, l.label]),
      [['0', '< 100 ms'], ['1', '100–250 ms'], ['2', '250–500 ms'], ['3', '≥ 500 ms'], ['none', 'No recent figure']]);
    assert.match(await page.textContent('#latency-key'), /any other state keep/);

    // one shard of each band: 5 (42 ms over the single endpoint), then the batch's first of bands 1 to 3
    const sample = { 0: 5, 1: firstOf(1), 2: firstOf(2), 3: firstOf(3) };
    const shown = {};
    for (const [band, s] of Object.entries(sample)) shown[band] = await look(page, 'main', s);
    for (const [band, l] of Object.entries(shown)) {
      assert.equal(l.band, band);
      assert.equal(l.bg, legend[band].bg, `band ${band}: the shard has its legend's colour`);
      assert.notEqual(l.bg, byState.fast.bg, `band ${band}: not the online colour`);
    }
    assert.equal(new Set(Object.values(shown).map((l) => l.bg)).size, 4, 'four bands, four colours');
    // not colour alone: a bar along the foot, longer for a slower band
    const widths = Object.values(shown).map((l) => parseFloat(l.size));
    assert.deepEqual(widths, [25, 50, 75, 100], `bar widths ${Object.values(shown).map((l) => l.size).join(' | ')}`);
    assert.ok(Object.values(shown).every((l) => /gradient/.test(l.image)));
    assert.deepEqual(legend.slice(0, 4).map((l) => parseFloat(l.size)), [25, 50, 75, 100], 'the legend draws the same bars');
    // no fresh figure: hollow and dashed, as the legend's last entry
    const none = await look(page, 'canary', 12);
    assert.equal(none.border, 'dashed');
    assert.equal(none.bg, await colourOf(page, 'var(--card)'));
    assert.equal(none.bg, legend[4].bg);
    // state outranks latency: a down shard keeps its colour and pattern, whatever its latency
    const down = await look(page, 'main', 57);
    assert.equal(down.band, String(levelOf(57)), 'shard 57 has a band of its own');
    assert.equal(down.bg, await colourOf(page, 'var(--c1)'));
    assert.equal(down.image, byState.down.image, 'with the unhealthy pattern');
    assert.equal((await look(page, 'main', 58)).bg, await colourOf(page, 'var(--c2)'));
    // and its tooltip and accessible name still say the latency in words
    await page.focus('.s[data-cluster="main"][tabindex="0"]');
    await page.keyboard.press('Home');
    for (let i = 0; i < 5; i++) await page.keyboard.press('ArrowRight');
    assert.equal(await page.evaluate(() => document.activeElement.getAttribute('aria-label')), 'main shard 5: Online, latency 42 ms');
    await page.keyboard.press('Escape');
    await page.evaluate(() => document.activeElement.blur());

    await setLatencyColouring(page, false);
    assert.equal(await page.isHidden('#latency-key'), true);
    assert.equal((await look(page, 'main', firstOf(3))).bg, byState.slow.bg, 'back to the state colours');
    assert.deepEqual(page.problems, []);
  });

  it('remembers the latency colouring across visits', async () => {
    const p2 = await newPage(browser);
    try {
      await p2.goto(`${api.url}/`);
      await waitLive(p2);
      assert.equal(await p2.isChecked('#by-latency'), false, 'off by default');
      await setLatencyColouring(p2, true);
      await p2.reload();
      await waitLive(p2);
      assert.equal(await p2.isChecked('#by-latency'), true);
      assert.equal(await p2.getAttribute('#clusters', 'data-colour'), 'latency');
      assert.equal(await p2.isVisible('#latency-key'), true);
      await setLatencyColouring(p2, false);
      await p2.reload();
      await waitLive(p2);
      assert.equal(await p2.isChecked('#by-latency'), false);
      assert.equal(await p2.isHidden('#latency-key'), true);
      assert.deepEqual(p2.problems, []);
    } finally {
      await p2.context().close();
    }
  });

  it('keeps the ids readable on every band, in light and dark (at least 4.5:1, as the rest of the page)', async () => {
    for (const scheme of ['light', 'dark']) {
      const p2 = await newPage(browser, { colorScheme: scheme });
      try {
        await p2.goto(`${api.url}/`);
        await waitLive(p2);
        await setLatencyColouring(p2, true);
        await p2.waitForSelector('.s[data-cluster="main"][data-shard="5"][data-band="0"]', { timeout: 20000 });
        const ratios = await p2.evaluate(() => {
          const lum = (c) => {
            const [r, g, b] = c.match(/[\d.]+/g).slice(0, 3).map(Number).map((v) => v / 255)
              .map((v) => (v <= 0.03928 ? v / 12.92 : ((v + 0.055) / 1.055) ** 2.4));
            return 0.2126 * r + 0.7152 * g + 0.0722 * b;
          };
          const ratio = (a, b) => { const [x, y] = [lum(a), lum(b)].sort((p, q) => q - p); return (x + 0.05) / (y + 0.05); };
          const out = {};
          for (const b of ['0', '1', '2', '3']) {
            const e = document.querySelector(`.s[data-cluster="main"][data-state="3"][data-band="${b}"]`);
            const cs = getComputedStyle(e);
            out[`band ${b}`] = ratio(cs.color, cs.backgroundColor);
          }
          const hollow = document.querySelector('.s[data-cluster="canary"][data-shard="12"]');
          out.none = ratio(getComputedStyle(hollow).color, getComputedStyle(hollow).backgroundColor);
          return out;
        });
        for (const [what, r] of Object.entries(ratios)) assert.ok(r >= 4.5, `${scheme}: ${what} contrast ${r.toFixed(2)}`);
        assert.deepEqual(p2.problems, []);
      } finally {
        await p2.context().close();
      }
    }
  });

  it('finds the server from a pasted message link and says plainly since when its shard is unhealthy', async () => {
    await post(`/api/status/main/${DOWN_SHARD}/1`);
    await waitShardState(page, 'main', DOWN_SHARD, 1);
    const since = (await request(api.port, 'GET', `/api/status/main/${DOWN_SHARD}`)).json().since_ms;
    assert.ok(since > 0);
    // HH:MM on the page's own clock and time zone, worked out without the page's formatter
    const hhmm = await page.evaluate((ms) => { const d = new Date(ms); return `${String(d.getHours()).padStart(2, '0')}:${String(d.getMinutes()).padStart(2, '0')}`; }, since);
    await page.fill('#guild', `  https://discord.com/channels/ ${GUILD}/1015060230222131221/1189307452913238118 \n`);
    await page.press('#guild', 'Enter');
    await page.waitForFunction(() => document.querySelectorAll('[aria-current="true"]').length === 2, null);
    const marked = await page.$$eval('[aria-current="true"]', (els) => els.map((e) => [e.dataset.cluster, Number(e.dataset.shard)]));
    assert.deepEqual(marked, [['main', DOWN_SHARD], ['canary', 2]]);
    const want = `Your server's shard in cluster main is unhealthy since ${hhmm}.`;
    await page.waitForFunction((w) => document.querySelector('#guild-result .result-down')?.textContent === w, want);
    const said = await page.$$eval('#guild-result p', (els) => els.map((e) => e.textContent));
    assert.equal(said[0], want, 'the down shard comes first');
    assert.equal(said.filter((s) => /^Your server's shard/.test(s)).length, 1, 'canary\'s shard is online: one sentence');
    assert.equal(new URL(page.url()).searchParams.get('guild'), GUILD, 'the address carries the id, not the link');
    assert.equal(await page.getAttribute('#guild', 'aria-invalid'), 'false');

    // it follows the shard: back online, the sentence goes
    await post(`/api/status/main/${DOWN_SHARD}/3`);
    await page.waitForFunction(() => !document.querySelector('#guild-result .result-down')
      && /shard 298 of cluster main|main\s*shard 298: Online/.test(document.querySelector('#guild-result').textContent), null);
    assert.deepEqual(page.problems, []);
  });

  it('takes ptb and canary links without the scheme, and says a DM link has no server', async () => {
    await page.fill('#guild', `ptb.discord.com/channels/${GUILD}/1`);
    await page.press('#guild', 'Enter');
    await page.waitForFunction(() => document.querySelectorAll('[aria-current="true"]').length === 2, null);
    await page.fill('#guild', '');
    await page.press('#guild', 'Enter');
    await page.waitForFunction(() => document.querySelectorAll('[aria-current="true"]').length === 0, null);
    await page.fill('#guild', `<https://canary.discordapp.com/channels/${GUILD}/1/2>`);
    await page.press('#guild', 'Enter');
    await page.waitForFunction(() => document.querySelectorAll('[aria-current="true"]').length === 2, null);
    await page.fill('#guild', 'https://discord.com/channels/@me/1015060230222131221/1189307452913238118');
    await page.press('#guild', 'Enter');
    await page.waitForFunction(() => /direct message/.test(document.querySelector('#guild-result').textContent), null);
    assert.match(await page.textContent('#guild-result'), /direct messages belong to no server/);
    assert.equal(await page.$$eval('[aria-current="true"]', (els) => els.length), 0);
    assert.equal(await page.getAttribute('#guild', 'aria-invalid'), 'true');
    await page.fill('#guild', 'https://discord.com.evil.example/channels/81384788765712384/1');
    await page.press('#guild', 'Enter');
    await page.waitForFunction(() => /is not a guild ID or a Discord link/.test(document.querySelector('#guild-result').textContent), null);
    assert.equal(await page.$$eval('[aria-current="true"]', (els) => els.length), 0);
    assert.equal(new URL(page.url()).searchParams.get('guild'), null, 'a bad link is never shared');
  });

  it('fits a phone with the latency colouring, its legend and the header figures on', async () => {
    const phone = await newPage(browser, { width: 360, height: 780, deviceScaleFactor: 2, isMobile: true, hasTouch: true });
    try {
      await phone.goto(`${api.url}/`);
      await waitLive(phone);
      await setLatencyColouring(phone, true);
      await phone.waitForSelector('section[data-cluster="main"] .cluster-figures:not([hidden])', { timeout: 20000 });
      const overflow = await phone.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
      assert.ok(overflow <= 0, `the phone page is ${overflow}px wider than the screen`);
      assert.deepEqual(phone.problems, []);
    } finally {
      await phone.context().close();
    }
  });

  it('writes a screenshot with the latency colouring on (tests/out; docs/ with GLANCE_UPDATE_SCREENSHOTS=1)', async () => {
    const p2 = await newPage(browser, { width: 1280, height: 900 });
    try {
      await post(`/api/status/main/${DOWN_SHARD}/1`);
      await p2.goto(`${api.url}/?guild=${GUILD}`);
      await waitLive(p2);
      await setLatencyColouring(p2, true);
      await p2.waitForSelector('.s[data-cluster="main"][data-shard="5"][data-band="0"]', { timeout: 20000 });
      await p2.waitForSelector('#guild-result .result-down');
      await p2.waitForFunction(() => / since \d\d:\d\d\.$/.test(document.querySelector('#guild-result .result-down').textContent), null);
      await p2.click('.settings summary'); // the legend, not the open settings, beside the grid
      await p2.waitForSelector('section[data-cluster="main"] .cluster-figures:not([hidden])', { timeout: 20000 });
      await p2.evaluate(() => document.fonts.ready);
      const file = await screenshot(p2, 'screenshot-latency.png');
      assert.match(file, /screenshot-latency\.png$/);
      assert.deepEqual(p2.problems, []);
    } finally {
      await p2.context().close();
    }
  });

  it('says a shard near Discord\'s 2,500-guild cap in its cluster\'s header and its tooltip', async () => {
    await post('/api/health/canary/3?guilds=2400');
    // the page polls the figures every 15 s, the server keeps them 5 s: a reload asks at once
    await waitUntil(async () => (await request(api.port, 'GET', '/api/figures')).json().clusters
      .find((c) => c.name === 'canary').guild_cap.near === 1, { timeoutMs: 15000, intervalMs: 250, message: 'GET /api/figures to count it' });
    await page.reload();
    await waitLive(page);
    await page.waitForFunction(() => /1 shard near the guild cap: reshard soon$/
      .test(document.querySelector('section[data-cluster="canary"] .cluster-figures').textContent), null);
    await page.hover('.s[data-cluster="canary"][data-shard="3"]');
    await page.waitForFunction(() => [...document.querySelectorAll('#shard-tip .tip-figure')]
      .some((e) => e.textContent === '2,400 guilds (near the 2,500 cap: reshard soon)'), null);
    await page.mouse.move(0, 0);
    assert.deepEqual(page.problems, []);
  });
});
