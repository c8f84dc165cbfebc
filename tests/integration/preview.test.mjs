// preview.test.mjs -- link previews and the framing policy (issue 16, items 2 and 3) against real Redis and a real
// replica: `/` carries Open Graph and Twitter tags that say what the page's own summarise() says for the shards
// now (so a link pasted in Discord tells the truth), `/?guild=` previews that server's shards, the tags are
// rendered once per change and not per request, an edited index.html is served as edited, and `/` and `/embed`
// carry the operator's frame-ancestors allow-list.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { cpSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { cleanup, getMetrics, makeTempDir, metricValue, REPO_ROOT, request, startApi, startRedis, waitUntil } from './harness.mjs';
import { summarise } from '../../web/assets/states.js';

const PASS = 'preview-test-passphrase';
const AUTH = { authorization: PASS, 'content-type': 'application/json' };
const GUILD_ON_EU_3 = (3n << 22n).toString(); // shard 3 of eu (16 shards) and of main (360)

/** The page's <meta> tags by property or name. */
function tags(html) {
  const out = {};
  for (const m of html.matchAll(/<meta (property|name)="([^"]+)" content="([^"]*)">/g)) out[m[2]] = m[3];
  return out;
}

/** What the page's script says for these counts: the preview's title must be the same words. */
function pageSays(counts) {
  const { title, detail } = summarise(counts);
  return `${title}: ${detail}`;
}

describe('link previews', () => {
  let rds;
  let api;
  let webRoot;
  const post = (p) => request(api.port, 'POST', p, { headers: AUTH });
  const renders = async () => metricValue(await getMetrics(api.port), 'glance_bodies_rendered_total', { body: 'preview' });

  before(async () => {
    rds = await startRedis();
    webRoot = makeTempDir('glance-web-');
    cpSync(path.join(REPO_ROOT, 'web'), webRoot, { recursive: true });
    api = await startApi({
      redisPort: rds.port, bots: 'main:360;eu:16', passphrase: PASS,
      env: { GLANCE_WEB_ROOT: webRoot, GLANCE_EMBED_ORIGINS: 'https://bot.example,https://*.example.org' },
    });
  });
  after(cleanup);

  it('serves index.html as it is, with the tags at the end of its head', async () => {
    const r = await request(api.port, 'GET', '/');
    assert.equal(r.status, 200);
    assert.equal(r.headers['content-type'], 'text/html; charset=utf-8');
    assert.equal(r.headers['cache-control'], 'no-cache');
    const file = readFileSync(path.join(webRoot, 'index.html'), 'utf8');
    const inserted = r.body.slice(file.indexOf('</head>'), r.body.length - (file.length - file.indexOf('</head>')));
    assert.equal(r.body.replace(inserted, ''), file, 'the page is index.html plus the tags');
    assert.match(inserted, /^(<meta [^>]+>\n)+$/);
    const t = tags(r.body);
    assert.equal(t['og:type'], 'website');
    assert.equal(t['og:site_name'], 'Glance');
    assert.equal(t['twitter:card'], 'summary');
    assert.equal(t['og:title'], pageSays([376, 0, 0, 0, 0, 0, 0]));
    assert.equal(t['og:title'], 'No data yet: None of the 376 shards has reported yet');
    assert.equal((await request(api.port, 'GET', '/index.html')).body, r.body);
    const head = await request(api.port, 'HEAD', '/');
    assert.equal(head.status, 200);
    assert.equal(head.body, '');
    assert.equal(Number(head.headers['content-length']), Buffer.byteLength(r.body));
  });

  it('says what the page says, after every change, in the page\'s words', async () => {
    for (let id = 0; id < 360; id += 1) await post(`/api/status/main/${id}/3`);
    for (let id = 0; id < 16; id += 1) await post(`/api/status/eu/${id}/3`);
    let t = tags((await request(api.port, 'GET', '/')).body);
    assert.equal(t['og:title'], 'Operational: All 376 shards online');
    assert.equal(t['twitter:title'], t['og:title']);
    assert.equal(t['og:description'], 'main: all 360 shards online · eu: all 16 shards online');
    assert.equal(t['theme-color'], '#36a852');
    for (let id = 0; id < 12; id += 1) await post(`/api/status/eu/${id}/1`);
    await post('/api/status/main/7/4');
    t = tags((await request(api.port, 'GET', '/')).body);
    assert.equal(t['og:title'], pageSays([0, 12, 0, 363, 1, 0, 0]));
    assert.equal(t['og:title'], 'Partial outage: 12 of 376 shards unhealthy');
    assert.equal(t['og:description'], 'main: 1 of 360 shards starting · eu: 12 of 16 shards unhealthy');
    assert.equal(t['twitter:description'], t['og:description']);
    assert.equal(t['theme-color'], '#ef8a2a');
  });

  it('previews a guild\'s shards for /?guild=, and the bot for what is not a guild', async () => {
    let t = tags((await request(api.port, 'GET', `/?guild=${GUILD_ON_EU_3}`)).body);
    assert.equal(t['og:title'], 'Your server\'s shard in cluster eu is unhealthy');
    assert.equal(t['og:description'],
      'Served by shard 3 of main (online), shard 3 of eu (unhealthy). The bot: Partial outage: 12 of 376 shards unhealthy.');
    assert.equal(t['theme-color'], '#d0262e');
    const onlineGuild = (13n << 22n).toString(); // shard 13 of both: online in eu and main
    t = tags((await request(api.port, 'GET', `/?guild=${onlineGuild}`)).body);
    assert.equal(t['og:title'], 'Your server\'s shard in cluster main is online');
    assert.equal(t['theme-color'], '#36a852');
    const link = `https://discord.com/channels/${GUILD_ON_EU_3}/1234`;
    t = tags((await request(api.port, 'GET', `/?guild=${encodeURIComponent(link)}`)).body);
    assert.equal(t['og:title'], 'Your server\'s shard in cluster eu is unhealthy', 'a message link finds the server too');
    const bot = tags((await request(api.port, 'GET', '/')).body);
    for (const q of ['?guild=abc', '?guild=', '?x=1', `?guild=${'9'.repeat(30)}`]) {
      const r = await request(api.port, 'GET', `/${q}`);
      assert.equal(r.status, 200);
      assert.deepEqual(tags(r.body), bot, q);
    }
  });

  it('renders the tags once per change, not per request', async () => {
    await request(api.port, 'GET', '/');
    await request(api.port, 'GET', `/?guild=${GUILD_ON_EU_3}`);
    const before0 = await renders();
    for (let i = 0; i < 40; i += 1) {
      await request(api.port, 'GET', '/');
      await request(api.port, 'GET', `/?guild=${GUILD_ON_EU_3}`);
    }
    assert.equal(await renders(), before0, 'unchanged: nothing rendered again');
    await post('/api/status/eu/0/3');
    await request(api.port, 'GET', '/');
    await request(api.port, 'GET', '/');
    assert.equal(await renders(), before0 + 1, 'one change: the bot\'s tags rendered once');
  });

  it('says maintenance when every cluster is in a window', async () => {
    const now = Date.now();
    const m = await request(api.port, 'POST', '/api/maintenance', { headers: AUTH, body: JSON.stringify({
      title: 'Moving hosts', clusters: ['main', 'eu'], text: 'Shards restart.', starts: now - 1000, ends: now + 3600000 }) });
    assert.equal(m.status, 201, m.body);
    // a page load never waits for Redis: the replica's incidents copy catches up within its 5 s
    await waitUntil(async () => tags((await request(api.port, 'GET', '/')).body)['og:title']?.startsWith('Under maintenance'),
      { timeoutMs: 8000, intervalMs: 200, message: 'the preview to say maintenance' });
    const t = tags((await request(api.port, 'GET', '/')).body);
    assert.equal(t['og:description'], 'main: maintenance · eu: maintenance');
    assert.equal(t['theme-color'], '#2a74bd');
  });

  it('serves an edited index.html as edited, with its own title as the site name', async () => {
    const file = path.join(webRoot, 'index.html');
    const original = readFileSync(file, 'utf8');
    writeFileSync(file, original.replace('<title>Glance</title>', '<title>Ruby "Bot" &amp; friends</title>'));
    const r = await request(api.port, 'GET', '/');
    assert.match(r.body, /<title>Ruby "Bot" &amp; friends<\/title>/);
    assert.equal(tags(r.body)['og:site_name'], 'Ruby &quot;Bot&quot; &amp; friends');
    writeFileSync(file, '<!doctype html><p>no head here</p>');
    assert.equal((await request(api.port, 'GET', '/')).body, '<!doctype html><p>no head here</p>', 'no head: nothing inserted');
    // over 1 MiB: served as it is, without the tags, and said once in the log, not on every request
    const big = original.replace('</head>', `<!-- ${'x'.repeat(1024 * 1024)} --></head>`);
    writeFileSync(file, big);
    for (let i = 0; i < 3; i += 1) {
      const r = await request(api.port, 'GET', '/');
      assert.equal(r.status, 200);
      assert.equal(r.body.length, big.length);
    }
    assert.equal(api.stderr().split('served without link previews').length - 1, 1);
    writeFileSync(file, original);
    assert.equal(tags((await request(api.port, 'GET', '/')).body)['og:site_name'], 'Glance');
  });

  it('refuses other methods on / with a JSON error', async () => {
    const r = await request(api.port, 'POST', '/', { body: 'x' });
    assert.equal(r.status, 405);
    assert.equal(r.headers.allow, 'GET, HEAD');
    assert.ok(r.json().error);
  });
});

describe('guild previews kept', () => {
  let api;
  const renders = async () => metricValue(await getMetrics(api.port), 'glance_bodies_rendered_total', { body: 'preview' });

  before(async () => {
    const rds = await startRedis();
    api = await startApi({ redisPort: rds.port, bots: 'main:360;eu:16' });
  });
  after(cleanup);

  it('holds the previews of nine servers on neighbouring shards at once (the slots are spread over all sixteen)', async () => {
    // servers on shards 100..118 of main (and of eu): these nine land in nine different slots of the sixteen, for
    // every shard unknown; asked for in turn, then again, none is rendered a second time. When the slot came from
    // FNV's low bits, neighbouring shards shared one (every request rendered), and only the odd eight slots were
    // used, so nine could never be held
    const shards = [100, 101, 102, 103, 104, 109, 110, 111, 118];
    const url = (s) => `/?guild=${(BigInt(s) << 22n).toString()}`;
    for (const s of shards) assert.equal((await request(api.port, 'GET', url(s))).status, 200);
    const before0 = await renders();
    assert.equal(before0, shards.length, 'one render each the first time');
    for (const s of shards) await request(api.port, 'GET', url(s));
    assert.equal(await renders(), before0, 'none rendered again');
  });
});

describe('framing policy', () => {
  let rds;
  let root; // a web root of its own, so the widget's page is known here
  const WIDGET = '<!doctype html><html><head><title>widget</title></head><body>live</body></html>';
  before(async () => {
    rds = await startRedis();
    root = makeTempDir('glance-web-');
    writeFileSync(path.join(root, 'index.html'), '<!doctype html><html><head><title>Glance</title></head></html>');
    writeFileSync(path.join(root, 'embed.html'), WIDGET);
  });
  after(cleanup);

  it('lets only this site frame the pages by default', async () => {
    const api = await startApi({ redisPort: rds.port, bots: 'main:4', env: { GLANCE_WEB_ROOT: root } });
    for (const p of ['/', '/embed', '/embed/main']) {
      const r = await request(api.port, 'GET', p);
      assert.equal(r.status, 200, p);
      assert.equal(r.headers['content-security-policy'], "frame-ancestors 'self'", p);
    }
    const nope = await request(api.port, 'GET', '/embed/nope');
    assert.equal(nope.status, 404);
    assert.equal(nope.json().error, 'no such cluster');
    assert.equal((await request(api.port, 'GET', '/embed/main/x')).status, 404);
    assert.equal((await request(api.port, 'POST', '/embed')).status, 405);
    await api.stop();
  });

  it('adds the operator\'s origins, wildcards and all', async () => {
    const api = await startApi({ redisPort: rds.port, bots: 'main:4', env: {
      GLANCE_WEB_ROOT: root, GLANCE_EMBED_ORIGINS: 'https://bot.example,https://*.example.org,http://127.0.0.1:*' } });
    const r = await request(api.port, 'GET', '/embed/main');
    assert.equal(r.headers['content-security-policy'], "frame-ancestors 'self' https://bot.example https://*.example.org http://127.0.0.1:*");
    assert.equal(r.body, WIDGET, 'the widget page as it is: no preview tags in it');
    await api.stop();
  });

  it('answers 404 with a JSON body naming the file when the web root has no widget page', async () => {
    const bare = makeTempDir('glance-web-');
    writeFileSync(path.join(bare, 'index.html'), '<!doctype html><head></head>');
    const api = await startApi({ redisPort: rds.port, bots: 'main:4', env: { GLANCE_WEB_ROOT: bare } });
    const r = await request(api.port, 'GET', '/embed');
    assert.equal(r.status, 404);
    assert.match(r.json().error, /embed\.html/);
    await api.stop();
  });
});
