// statuspage.test.mjs -- Statuspage's public API v2 (issue 30, item 1) against real Redis and two replicas: every one of
// the eight documents with Statuspage's fields, types and enumerations; the bot as the page, each cluster a component
// (its condition, or under_maintenance), the page's indicator; incidents with their updates, monitoring_at,
// resolved_at and shortlink; maintenance windows scheduled, in progress and completed; the same bytes and ETag from
// either replica, a 304 for a client that has them, CORS * and Cache-Control; GLANCE_PUBLIC_URL in the links, relative
// links without it; a flood of reads costs Redis nothing per request; unknown documents are a 404 with a JSON body.

import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { postEach, redis, request, startApi, startRedis, waitUntil } from './harness.mjs';

const PASS = 'statuspage-test-passphrase';
const AUTH = { authorization: `Bearer ${PASS}`, 'content-type': 'application/json' };
const PUBLIC = 'https://status.example.com';
const DOCS = ['summary', 'status', 'components', 'incidents', 'incidents/unresolved', 'scheduled-maintenances',
  'scheduled-maintenances/upcoming', 'scheduled-maintenances/active'];
const ISO = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/;
const COMPONENT_STATUSES = ['operational', 'degraded_performance', 'partial_outage', 'major_outage', 'under_maintenance'];

/** Asserts `o` has exactly Statuspage's fields for `kind`, of its types. */
function shape(kind, o, where) {
  const fields = {
    page: { id: 'string', name: 'string', url: 'string', time_zone: 'string', updated_at: 'time' },
    status: { indicator: ['none', 'minor', 'major', 'critical', 'maintenance'], description: 'string' },
    component: { id: 'string', name: 'string', status: COMPONENT_STATUSES, created_at: 'time', updated_at: 'time',
      position: 'number', description: 'null', showcase: 'boolean', start_date: 'null', group_id: 'null',
      page_id: 'string', group: 'boolean', only_show_if_degraded: 'boolean' },
    incident: { id: 'string', name: 'string', status: ['investigating', 'identified', 'monitoring', 'resolved', 'postmortem'],
      created_at: 'time', updated_at: 'time', monitoring_at: 'time?', resolved_at: 'time?', impact: ['none', 'minor', 'major', 'critical'],
      shortlink: 'string', started_at: 'time', page_id: 'string', incident_updates: 'array', components: 'array' },
    maintenance: { id: 'string', name: 'string', status: ['scheduled', 'in_progress', 'verifying', 'completed'],
      created_at: 'time', updated_at: 'time', monitoring_at: 'time?', resolved_at: 'time?', impact: ['maintenance'],
      shortlink: 'string', started_at: 'time', page_id: 'string', incident_updates: 'array', components: 'array',
      scheduled_for: 'time', scheduled_until: 'time' },
    update: { id: 'string', status: 'string', body: 'string', incident_id: 'string', created_at: 'time', updated_at: 'time',
      display_at: 'time', affected_components: 'null', deliver_notifications: 'boolean', custom_tweet: 'null', tweet_id: 'null' },
  }[kind];
  assert.deepEqual(Object.keys(o).sort(), Object.keys(fields).sort(), `${where}: the fields of a ${kind}`);
  for (const [k, t] of Object.entries(fields)) {
    const v = o[k];
    const ok = Array.isArray(t) ? t.includes(v) : t === 'time' ? ISO.test(v) : t === 'time?' ? v === null || ISO.test(v)
      : t === 'null' ? v === null : t === 'array' ? Array.isArray(v) : typeof v === t;
    assert.ok(ok, `${where}: ${kind}.${k} is ${JSON.stringify(v)}, not ${t}`);
  }
  for (const c of kind === 'incident' || kind === 'maintenance' ? o.components : []) shape('component', c, `${where} ${o.id}`);
  for (const u of kind === 'incident' || kind === 'maintenance' ? o.incident_updates : []) shape('update', u, `${where} ${o.id}`);
}

/** Every document's shape, from `port`. */
async function allShapes(port) {
  for (const d of DOCS) {
    const r = await request(port, 'GET', `/api/v2/${d}.json`);
    assert.equal(r.status, 200, `${d}: ${r.body}`);
    const doc = r.json();
    shape('page', doc.page, d);
    if (doc.status) shape('status', doc.status, d);
    for (const c of doc.components || []) shape('component', c, d);
    for (const i of doc.incidents || []) shape('incident', i, d);
    for (const m of doc.scheduled_maintenances || []) shape('maintenance', m, d);
  }
}

describe('Statuspage\'s public API v2', { timeout: 120000 }, () => {
  let rds;
  let apis;
  let plain;

  before(async () => {
    rds = await startRedis();
    apis = [];
    for (let i = 0; i < 2; i++) {
      apis.push(await startApi({ redisPort: rds.port, bots: 'main:8;eu:4', passphrase: PASS, healthTimeout: 3600,
        env: { GLANCE_PUBLIC_URL: PUBLIC, GLANCE_ALERT_DELAY: 0 } }));
    }
    plain = await startApi({ redisPort: rds.port, bots: 'main:8;eu:4', passphrase: PASS, healthTimeout: 3600 });
    await postEach(apis, [...Array.from({ length: 8 }, (_, s) => `/api/status/main/${s}/3`),
      ...Array.from({ length: 4 }, (_, s) => `/api/status/eu/${s}/3`)], { authorization: `Bearer ${PASS}` });
  });
  after(async () => {
    for (const a of [...(apis || []), plain]) await a?.stop();
    await rds?.stop();
  });

  const get = async (d, port = apis[0].port) => (await request(port, 'GET', `/api/v2/${d}.json`)).json();

  it('serves the bot as a page, each cluster a component, and the indicator, in Statuspage\'s shapes', async () => {
    await waitUntil(async () => (await get('summary')).components.every((c) => c.status === 'operational'),
      { timeoutMs: 5000, message: 'every cluster operational' });
    const s = await get('summary');
    assert.deepEqual(Object.keys(s), ['page', 'components', 'incidents', 'scheduled_maintenances', 'status']);
    assert.deepEqual({ ...s.page, updated_at: 'x' }, { id: 'glance', name: 'Glance', url: PUBLIC, time_zone: 'Etc/UTC', updated_at: 'x' });
    assert.deepEqual(s.components.map((c) => [c.id, c.name, c.position, c.page_id]), [['main', 'main', 1, 'glance'], ['eu', 'eu', 2, 'glance']]);
    assert.deepEqual(s.status, { indicator: 'none', description: 'All Systems Operational' });
    assert.deepEqual([s.incidents, s.scheduled_maintenances], [[], []]);
    // shards starting: degraded, in Statuspage's words for it
    await postEach(apis, ['/api/status/eu/0/4'], { authorization: `Bearer ${PASS}` });
    await waitUntil(async () => (await get('status')).status.indicator === 'minor', { timeoutMs: 5000, message: 'eu degraded' });
    assert.deepEqual((await get('status')).status, { indicator: 'minor', description: 'Partially Degraded Service' });
    assert.equal((await get('components')).components[1].status, 'degraded_performance');
    await postEach(apis, ['/api/status/eu/0/3'], { authorization: `Bearer ${PASS}` });
    await waitUntil(async () => (await get('status')).status.indicator === 'none', { timeoutMs: 5000, message: 'eu operational' });
    await allShapes(apis[0].port);
    // a cluster with shards down is an outage, and so is the page
    await postEach(apis, ['/api/status/main/0/2', '/api/status/main/1/2'], { authorization: `Bearer ${PASS}` });
    await waitUntil(async () => (await get('components')).components[0].status === 'partial_outage',
      { timeoutMs: 5000, message: 'main a partial outage' });
    assert.deepEqual((await get('status')).status, { indicator: 'major', description: 'Partial System Outage' });
    assert.equal((await get('components')).components[1].status, 'operational');
    await postEach(apis, ['/api/status/main/0/3', '/api/status/main/1/3'], { authorization: `Bearer ${PASS}` });
    await waitUntil(async () => (await get('status')).status.indicator === 'none', { timeoutMs: 5000, message: 'operational again' });
  });

  it('serves incidents with their updates, monitoring_at, resolved_at and shortlink, and the worst open impact', async () => {
    const made = await request(apis[1].port, 'POST', '/api/incidents', { headers: AUTH,
      body: JSON.stringify({ title: 'Commands time out', impact: 'major', clusters: ['eu'], text: 'Looking into it.' }) });
    assert.equal(made.status, 201, made.body);
    const id = String(made.json().id);
    // written through the other replica: seen here within the incidents copy's few seconds
    await waitUntil(async () => (await get('incidents/unresolved')).incidents.length === 1, { timeoutMs: 8000, message: 'the incident listed' });
    const [inc] = (await get('incidents/unresolved')).incidents;
    assert.equal(inc.id, id);
    assert.equal(inc.name, 'Commands time out');
    assert.equal(inc.status, 'investigating');
    assert.equal(inc.impact, 'major');
    assert.equal(inc.shortlink, `${PUBLIC}/#incident-${id}`);
    assert.deepEqual(inc.components.map((c) => c.id), ['eu']);
    const firstAt = Date.parse(inc.incident_updates[0].created_at);
    assert.deepEqual(inc.incident_updates.map((u) => [u.id, u.status, u.body, u.incident_id]), [[`${id}-${firstAt}`, 'investigating', 'Looking into it.', id]]);
    assert.equal(inc.monitoring_at, null);
    assert.equal(inc.resolved_at, null);
    assert.deepEqual((await get('status')).status, { indicator: 'major', description: 'Partial System Outage' },
      'an open incident\'s impact raises the indicator');
    for (const [status, text] of [['monitoring', 'A fix is out.'], ['resolved', 'All good.']]) {
      const r = await request(apis[0].port, 'POST', `/api/incidents/${id}/updates`, { headers: AUTH, body: JSON.stringify({ status, text }) });
      assert.equal(r.status, 200, r.body);
    }
    const all = (await get('incidents')).incidents;
    const done = all.find((x) => x.id === id);
    assert.equal(done.status, 'resolved');
    assert.match(done.resolved_at, ISO);
    assert.match(done.monitoring_at, ISO);
    assert.deepEqual(done.incident_updates.map((u) => u.status), ['resolved', 'monitoring', 'investigating']);
    // an update's id is its incident's and its time: the same however many updates come after it
    assert.deepEqual(done.incident_updates.map((u) => u.id), done.incident_updates.map((u) => `${id}-${Date.parse(u.created_at)}`));
    assert.equal(done.incident_updates[2].id, `${id}-${firstAt}`);
    assert.deepEqual((await get('incidents/unresolved')).incidents, []);
    assert.deepEqual((await get('status')).status.indicator, 'none');
    await allShapes(apis[0].port);
  });

  it('serves maintenance windows scheduled, in progress and completed; a cluster in one is under_maintenance', async () => {
    const window = async (title, from, to) => {
      const r = await request(apis[0].port, 'POST', '/api/maintenance', { headers: AUTH, body: JSON.stringify({
        title, clusters: ['main'], text: 'Restarts.', starts: Date.now() + from, ends: Date.now() + to }) });
      assert.equal(r.status, 201, r.body);
      return String(r.json().id);
    };
    const later = await window('Database upgrade', 3600000, 7200000);
    const now = await window('Quick restart', 200, 6000);
    await waitUntil(async () => (await get('scheduled-maintenances/active')).scheduled_maintenances.length === 1,
      { timeoutMs: 5000, message: 'the window in progress' });
    const upcoming = (await get('scheduled-maintenances/upcoming')).scheduled_maintenances;
    assert.deepEqual(upcoming.map((m) => [m.id, m.status, m.impact]), [[later, 'scheduled', 'maintenance']]);
    const [active] = (await get('scheduled-maintenances/active')).scheduled_maintenances;
    assert.deepEqual([active.id, active.status], [now, 'in_progress']);
    assert.ok(Date.parse(active.scheduled_until) > Date.parse(active.scheduled_for));
    const s = await get('summary');
    assert.equal(s.components[0].status, 'under_maintenance');
    assert.deepEqual(s.scheduled_maintenances.map((m) => m.id).sort(), [later, now].sort());
    await allShapes(apis[0].port);
    // over: completed, and main back to its condition
    await waitUntil(async () => (await get('scheduled-maintenances')).scheduled_maintenances.find((m) => m.id === now).status === 'completed',
      { timeoutMs: 12000, intervalMs: 250, message: 'the window completed' });
    assert.equal((await get('components')).components[0].status, 'operational');
    assert.deepEqual((await get('scheduled-maintenances/active')).scheduled_maintenances, []);
  });

  it('moves a window from scheduled to in progress by the clock', async (t) => {
    const r = await request(apis[0].port, 'POST', '/api/maintenance', { headers: AUTH, body: JSON.stringify({
      title: 'Soon', clusters: ['eu'], text: 'Restarts.', starts: Date.now() + 1500, ends: Date.now() + 600000 }) });
    assert.equal(r.status, 201, r.body);
    const id = String(r.json().id);
    const written = Date.now();
    assert.ok((await get('scheduled-maintenances/upcoming')).scheduled_maintenances.some((m) => m.id === id));
    await waitUntil(async () => (await get('scheduled-maintenances/active')).scheduled_maintenances.some((m) => m.id === id),
      { timeoutMs: 10000, intervalMs: 100, message: 'the window in progress' });
    t.diagnostic(`in progress ${Date.now() - written} ms after it was written (it starts 1,500 ms after)`);
    assert.ok(!(await get('scheduled-maintenances/upcoming')).scheduled_maintenances.some((m) => m.id === id));
    const done = await request(apis[0].port, 'POST', `/api/incidents/${id}/updates`, { headers: AUTH,
      body: JSON.stringify({ status: 'completed', text: 'Done.' }) });
    assert.equal(done.status, 200, done.body);
  });

  it('sends the same bytes and ETag from either replica, a 304 to a client that has them, CORS * and Cache-Control', async () => {
    for (const d of DOCS) {
      // each replica's copy of the incidents is at most a few seconds old: once both have read the same, the same bytes
      let a;
      let b;
      await waitUntil(async () => {
        [a, b] = await Promise.all(apis.map((x) => request(x.port, 'GET', `/api/v2/${d}.json`)));
        return a.body === b.body;
      }, { timeoutMs: 8000, intervalMs: 250, message: `${d}: the same bytes from both replicas` });
      assert.equal(a.headers.etag, b.headers.etag);
      assert.equal(a.headers['access-control-allow-origin'], '*');
      assert.match(a.headers['cache-control'], /max-age=\d+/);
      assert.match(a.headers['content-type'], /^application\/json/);
      const again = await request(apis[1].port, 'GET', `/api/v2/${d}.json`, { headers: { 'if-none-match': a.headers.etag } });
      assert.equal(again.status, 304, d);
      assert.equal(again.headers.etag, a.headers.etag);
      assert.equal(again.headers['access-control-allow-origin'], '*');
      assert.match(again.headers['cache-control'], /max-age=\d+/);
      const head = await request(apis[1].port, 'HEAD', `/api/v2/${d}.json`);
      assert.equal(head.status, 200, d);
      assert.equal(head.body, '');
      assert.equal(Number(head.headers['content-length']), Buffer.byteLength(b.body));
    }
  });

  it('gives relative links without GLANCE_PUBLIC_URL', async () => {
    const s = (await request(plain.port, 'GET', '/api/v2/incidents.json')).json();
    assert.equal(s.page.url, '/');
    assert.ok(s.incidents.length > 0, 'the incidents recorded above');
    assert.match(s.incidents[0].shortlink, /^\/#incident-\d+$/);
  });

  it('costs Redis nothing per request, and answers an unknown document 404 with a JSON body', async () => {
    for (const d of DOCS) await request(apis[0].port, 'GET', `/api/v2/${d}.json`); // the copies fresh
    await redis(rds.port, 'CONFIG', 'RESETSTAT');
    for (let i = 0; i < 400; i++) await request(apis[0].port, 'GET', `/api/v2/${DOCS[i % DOCS.length]}.json`);
    const calls = [...(await redis(rds.port, 'INFO', 'commandstats')).matchAll(/calls=(\d+)/g)].reduce((s, m) => s + Number(m[1]), 0);
    assert.ok(calls < 40, `${calls} Redis commands for 400 reads`);
    for (const p of ['/api/v2/nope.json', '/api/v2/incidents/nope.json', '/api/v2/summary', '/api/v2/a/b/c.json']) {
      const r = await request(apis[0].port, 'GET', p);
      assert.equal(r.status, 404, p);
      assert.equal(typeof r.json().error, 'string', p);
    }
  });
});
