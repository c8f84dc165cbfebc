// summary.test.mjs -- GET /api/summary and the badges (issue 16, items 1 and 4) against real Redis and a real
// replica: the words follow the shards, a cluster under maintenance says so and is left out of the whole bot, the
// SVG is XML a real parser (xmllint) reads with its <title>, the shields.io endpoint JSON has its fields, an
// unchanged badge is not rendered again and a client holding its ETag gets a 304.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { cleanup, getMetrics, metricValue, redis, REPO_ROOT, request, startApi, startRedis, waitUntil } from './harness.mjs';

const PASS = 'summary-test-passphrase';
const AUTH = { authorization: PASS, 'content-type': 'application/json' };

/** The README shows real badges: written to docs/ when GLANCE_UPDATE_SCREENSHOTS=1 (as the screenshots are). */
function showInReadme(name, svg) {
  if (process.env.GLANCE_UPDATE_SCREENSHOTS === '1') writeFileSync(path.join(REPO_ROOT, 'docs', name), svg);
}

/** The SVG through xmllint: it must parse; returns the <title> text. */
function svgTitle(svg) {
  return execFileSync('xmllint', ['--xpath', 'string(//*[local-name()="title"])', '-'], { input: svg, encoding: 'utf8' }).trim();
}

describe('summary and badges', () => {
  let rds;
  let api;
  // a write, then the replica's mirror at Redis's version of that cluster: the badges are drawn from the mirror,
  // which hears of the change over pub/sub a moment after the 204
  const post = async (p) => {
    const r = await request(api.port, 'POST', p, { headers: AUTH });
    const cluster = p.split('/')[3];
    const want = Number(await redis(rds.port, 'GET', `glance:{${cluster}}:ver`));
    await waitUntil(async () => (await request(api.port, 'GET', '/api/status')).json().clusters
      .find((c) => c.name === cluster)?.version >= want, { timeoutMs: 3000, message: `the mirror of ${cluster} at ${want}` });
    return r;
  };
  const renders = async () => metricValue(await getMetrics(api.port), 'glance_bodies_rendered_total', { body: 'badge' });

  before(async () => {
    rds = await startRedis();
    api = await startApi({ redisPort: rds.port, bots: 'main:4;demo:2', passphrase: PASS });
  });
  after(cleanup);

  it('says "no data" before any shard reported, then what the shards say', async () => {
    let r = await request(api.port, 'GET', '/badge.svg');
    assert.equal(r.status, 200);
    assert.equal(r.headers['content-type'], 'image/svg+xml');
    assert.equal(svgTitle(r.body), 'status: no data');
    for (let id = 0; id < 4; id++) assert.equal((await post(`/api/status/main/${id}/3`)).status, 204);
    for (let id = 0; id < 2; id++) assert.equal((await post(`/api/status/demo/${id}/3`)).status, 204);
    r = await request(api.port, 'GET', '/badge/main.svg');
    assert.equal(svgTitle(r.body), 'main: operational');
    showInReadme('badge-operational.svg', (await request(api.port, 'GET', '/badge.svg')).body);
    await post('/api/status/main/2/1');
    assert.equal(svgTitle((await request(api.port, 'GET', '/badge/main.svg')).body), 'main: partial outage');
    const whole = (await request(api.port, 'GET', '/badge.svg')).body;
    assert.equal(svgTitle(whole), 'status: partial outage');
    showInReadme('badge-partial-outage.svg', whole);
    await post('/api/status/demo/0/4');
    assert.equal(svgTitle((await request(api.port, 'GET', '/badge/demo.svg')).body), 'demo: degraded');
    for (let id = 0; id < 4; id++) await post(`/api/status/main/${id}/2`);
    assert.equal(svgTitle((await request(api.port, 'GET', '/badge/main.svg')).body), 'main: major outage');
    const s = (await request(api.port, 'GET', '/api/summary')).json();
    assert.deepEqual(s, {
      condition: 'partial outage', shards: 6, down: 4, busy: 1, online: 1, unknown: 0, maintenance: [],
      clusters: [
        { name: 'main', condition: 'major outage', shards: 4, down: 4, busy: 0, online: 0, unknown: 0 },
        { name: 'demo', condition: 'degraded', shards: 2, down: 0, busy: 1, online: 1, unknown: 0 },
      ],
    });
  });

  it('serves the shields.io endpoint JSON', async () => {
    const r = await request(api.port, 'GET', '/badge/demo.json');
    assert.equal(r.status, 200);
    assert.equal(r.headers['access-control-allow-origin'], '*');
    const j = r.json();
    // https://shields.io/badges/endpoint-badge: schemaVersion 1, label and message strings, colours
    assert.equal(j.schemaVersion, 1);
    assert.equal(j.label, 'demo');
    assert.equal(j.message, 'degraded');
    assert.match(j.color, /^[0-9a-f]{6}$/);
    assert.match(j.labelColor, /^[0-9a-f]{6}$/);
    assert.deepEqual(Object.keys(j).sort(), ['color', 'label', 'labelColor', 'message', 'schemaVersion']);
  });

  it('renders a badge once per change; a client with its ETag gets a 304 with no body', async () => {
    const first = await request(api.port, 'GET', '/badge/demo.svg');
    const etag = first.headers.etag;
    assert.match(etag, /^"[0-9a-f]{16}"$/);
    assert.match(first.headers['cache-control'], /max-age=\d+/);
    const before = await renders();
    for (let i = 0; i < 20; i++) {
      const r = await request(api.port, 'GET', '/badge/demo.svg', { headers: { 'if-none-match': etag } });
      assert.equal(r.status, 304);
      assert.equal(r.body, '');
      assert.equal(r.headers.etag, etag);
    }
    // a change that does not change what the badge says keeps it (and its ETag)
    await post('/api/status/demo/1/6');
    const same = await request(api.port, 'GET', '/badge/demo.svg', { headers: { 'if-none-match': etag } });
    assert.equal(same.status, 304);
    assert.equal(await renders(), before);
    await post('/api/status/demo/0/3');
    await post('/api/status/demo/1/3');
    const changed = await request(api.port, 'GET', '/badge/demo.svg', { headers: { 'if-none-match': etag } });
    assert.equal(changed.status, 200);
    assert.notEqual(changed.headers.etag, etag);
    assert.equal(svgTitle(changed.body), 'demo: operational');
    assert.equal(await renders(), before + 1);
    // the summary has its ETag too
    const s = await request(api.port, 'GET', '/api/summary');
    const again = await request(api.port, 'GET', '/api/summary', { headers: { 'if-none-match': s.headers.etag } });
    assert.equal(again.status, 304);
  });

  it('says maintenance for a cluster in a window, and leaves it out of the whole bot', async () => {
    const now = Date.now();
    const m = await request(api.port, 'POST', '/api/maintenance', { headers: AUTH, body: JSON.stringify({
      title: 'Moving hosts', clusters: ['main'], text: 'Shards restart one by one.', starts: now - 1000, ends: now + 3600000 }) });
    assert.equal(m.status, 201, m.body);
    assert.equal(svgTitle((await request(api.port, 'GET', '/badge/main.svg')).body), 'main: maintenance');
    assert.equal((await request(api.port, 'GET', '/badge/main.json')).json().message, 'maintenance');
    // main is all down, but under maintenance: the bot is what demo is
    assert.equal(svgTitle((await request(api.port, 'GET', '/badge.svg')).body), 'status: operational');
    const s = (await request(api.port, 'GET', '/api/summary')).json();
    assert.equal(s.condition, 'operational');
    assert.deepEqual(s.maintenance, ['main']);
    assert.equal(s.shards, 2);
    assert.equal(s.clusters[0].condition, 'maintenance');
  });

  it('refuses an unknown cluster, other methods and other shapes', async () => {
    let r = await request(api.port, 'GET', '/badge/nope.svg');
    assert.equal(r.status, 404);
    assert.match(r.json().error, /no such cluster/);
    r = await request(api.port, 'POST', '/badge.svg');
    assert.equal(r.status, 405);
    r = await request(api.port, 'POST', '/api/summary');
    assert.equal(r.status, 405);
    r = await request(api.port, 'GET', '/badge/main.png');
    assert.equal(r.status, 404);
    r = await request(api.port, 'GET', '/badge/main/x.svg');
    assert.equal(r.status, 404);
  });
});
