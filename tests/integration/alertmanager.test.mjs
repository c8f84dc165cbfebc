// alertmanager.test.mjs -- POST /api/alertmanager (issue 30, item 4) against real Redis and real replicas: one
// incident per Alertmanager group, opened, updated as alerts join or resolve, resolved with the group; repeats and
// retries writing nothing; bad payloads refused whole with a 400 naming the problem; a flood of groups held to the
// bound; and Debian's real prometheus-alertmanager sending to a replica through fire, repeat, a group change and
// resolve, with a delivery answered 500 (the acknowledgement lost) so that it sends the same notification twice.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { cleanup, getMetrics, metricValue, redis, request, spawnApi, startApi, startRedis, waitUntil } from './harness.mjs';
import { startAlertmanager, startRelay } from './alertmanager_server.mjs';

const PASS = 'alertmanager-test-passphrase';
const AUTH = { authorization: PASS, 'content-type': 'application/json' };
const BOTS = 'main:16;eu:8';
const GROUPS = 'glance:alertmanager';

/** One alert as Alertmanager sends it in a notification. */
const alert = (name, cluster, { status = 'firing', severity = 'critical', summary, instance = 'a' } = {}) => ({
  status,
  labels: { alertname: name, ...(cluster ? { glance_cluster: cluster } : {}), severity, instance },
  annotations: summary ? { summary } : {},
  startsAt: '2026-12-08T03:00:00.000Z',
  endsAt: status === 'firing' ? '0001-01-01T00:00:00Z' : '2026-12-08T03:10:00.000Z',
  generatorURL: 'http://prometheus.internal/graph',
  fingerprint: `${name}-${cluster}-${instance}`.replace(/[^a-z0-9]/gi, ''),
});

/** A notification of version 4 for `groupKey`. */
const notification = (groupKey, status, alerts, extra = {}) => ({
  receiver: 'glance', status, alerts, groupLabels: { alertname: alerts[0]?.labels?.alertname ?? 'x' },
  commonLabels: { alertname: alerts[0]?.labels?.alertname ?? 'x' }, commonAnnotations: {},
  externalURL: 'http://alertmanager.internal:9093', version: '4', groupKey, truncatedAlerts: 0, ...extra,
});

const post = (api, body, headers = AUTH) => request(api.port, 'POST', '/api/alertmanager',
  { headers, body: typeof body === 'string' ? body : JSON.stringify(body) });
const incidents = async (api) => {
  const r = await request(api.port, 'GET', '/api/incidents');
  assert.equal(r.status, 200, r.body);
  return r.json().incidents;
};
const fromAlertmanager = async (api) => (await incidents(api)).filter((i) => i.source === 'alertmanager');

describe('POST /api/alertmanager', () => {
  let rds;
  let api;
  let other; // a second replica: the same notification through either writes once

  before(async () => {
    rds = await startRedis();
    api = await startApi({ redisPort: rds.port, bots: BOTS, passphrase: PASS });
    other = await startApi({ redisPort: rds.port, bots: BOTS, passphrase: PASS });
  });
  after(cleanup);

  it('refuses a bad notification whole, with a 400 naming the problem, and writes nothing', async () => {
    const good = notification('{}:{alertname="Bad"}', 'firing', [alert('Bad', 'main')]);
    const cases = [
      ['not json', /not JSON/],
      ['[]', /JSON object/],
      [{ ...good, version: undefined }, /"version" is missing/],
      [{ ...good, version: '3' }, /"version" must be "4"/],
      [{ ...good, version: 4 }, /"version" must be "4"/],
      [{ ...good, groupKey: undefined }, /"groupKey" is missing/],
      [{ ...good, groupKey: 7 }, /"groupKey" must be a string/],
      [{ ...good, groupKey: 'k'.repeat(5000) }, /"groupKey" must be a string of 1 to 4096 bytes/],
      [{ ...good, status: 'pending' }, /"status" must be "firing" or "resolved"/],
      [{ ...good, alerts: undefined }, /"alerts" is missing/],
      [{ ...good, alerts: [] }, /"alerts" must be a list of at least one alert/],
      [{ ...good, alerts: [7] }, /alerts\[0\]: must be an object/],
      [{ ...good, alerts: [{ ...alert('Bad', 'main'), status: undefined }] }, /alerts\[0\]: "status" is missing/],
      [{ ...good, alerts: [{ ...alert('Bad', 'main'), labels: undefined }] }, /alerts\[0\]: "labels" is missing/],
      [{ ...good, alerts: [alert('Bad', 'main'), { ...alert('Bad', 'main'), labels: { alertname: 'Bad', glance_cluster: 'main', severity: 3 } }] },
        /alerts\[1\]: "labels"\."severity" must be a string/],
      [{ ...good, alerts: [{ ...alert('Bad', 'main'), annotations: 'x' }] }, /alerts\[0\]: "annotations" must be an object of strings/],
      [{ ...good, alerts: [{ ...alert('Bad', 'main'), fingerprint: 12 }] }, /alerts\[0\]: "fingerprint" must be a string/],
      [{ ...good, commonLabels: [] }, /"commonLabels" must be an object of strings/],
      [{ ...good, truncatedAlerts: -1 }, /"truncatedAlerts" must be a whole number/],
      [{ ...good, alerts: [alert('Bad', null)] }, /alerts\[0\]: has no "glance_cluster" label naming its cluster, and GLANCE_ALERTMANAGER_CLUSTER names none/],
      [{ ...good, alerts: [alert('Bad', 'mars')] }, /alerts\[0\]: label glance_cluster="mars" names no configured cluster/],
    ];
    for (const [body, why] of cases) {
      const r = await post(api, body);
      assert.equal(r.status, 400, `${JSON.stringify(body).slice(0, 200)}: ${r.status} ${r.body}`);
      assert.match(r.json().error, why);
    }
    const big = await post(api, notification('{}:{alertname="Big"}', 'firing',
      [alert('Big', 'main', { summary: 'x'.repeat(270 * 1024) })]));
    assert.equal(big.status, 413, big.body);
    assert.match(big.json().error, /over 262144 bytes/);
    assert.equal((await post(api, good, { 'content-type': 'application/json' })).status, 401);
    assert.equal((await post(api, good, { authorization: 'Bearer wrong' })).status, 401);
    assert.deepEqual(await fromAlertmanager(api), []);
    assert.equal(await redis(rds.port, 'EXISTS', GROUPS), '0');
    assert.equal(await redis(rds.port, 'GET', 'glance:incidents:next'), '');
    const m = await getMetrics(api.port);
    assert.equal(metricValue(m, 'glance_alertmanager_notifications_total', { outcome: 'refused' }), cases.length);
  });

  it('opens one incident per group, takes Bearer credentials, ignores fields a later Alertmanager adds', async () => {
    const key = '{}/{glance_cluster=~".+"}:{alertname="GatewayErrors", glance_cluster="main"}';
    const body = notification(key, 'firing', [alert('GatewayErrors', 'main', { summary: 'Gateway errors on main' })],
      { commonAnnotations: { summary: 'Shards of main reconnect in a loop' }, someLaterField: { x: 1 } });
    body.alerts[0].someLaterAlertField = [1, 2];
    const r = await post(api, body, { authorization: `Bearer ${PASS}`, 'content-type': 'application/json' });
    assert.equal(r.status, 200, r.body);
    const { incident, event } = r.json();
    assert.equal(event, 'opened');
    const [rec] = await fromAlertmanager(api);
    assert.equal(rec.id, incident);
    assert.equal(rec.title, 'Shards of main reconnect in a loop');
    assert.equal(rec.impact, 'critical');
    assert.deepEqual(rec.clusters, ['main']);
    assert.equal(rec.automatic, true);
    assert.equal(rec.status, 'investigating');
    assert.equal(rec.resolved_ms, null);
    assert.equal(rec.updates.length, 1);
    assert.match(rec.updates[0].text, /^Alertmanager: 1 alert firing\.\n- GatewayErrors \(main\): Gateway errors on main$/);

    // the same notification again, through either replica, any number of times at once: one incident, one update
    const again = await Promise.all(Array.from({ length: 60 }, (_, i) => post(i % 2 ? other : api, body)));
    for (const a of again) assert.deepEqual(a.json(), { incident, event: 'unchanged' });
    const after = await fromAlertmanager(api);
    assert.equal(after.length, 1);
    assert.equal(after[0].updates.length, 1);

    // a second alert joins the group, severity warning: the impact is the worst of what fires
    const joined = notification(key, 'firing', [alert('GatewayErrors', 'main', { summary: 'Gateway errors on main' }),
      alert('GatewayErrors', 'eu', { severity: 'warning', instance: 'b' })]);
    assert.deepEqual((await post(other, joined)).json(), { incident, event: 'updated' });
    assert.deepEqual((await post(api, joined)).json(), { incident, event: 'unchanged' }, 'the same set, in another replica');
    const reordered = { ...joined, alerts: [...joined.alerts].reverse() };
    assert.deepEqual((await post(api, reordered)).json(), { incident, event: 'unchanged' }, 'the same set, in another order');
    // (read where it was written: a replica's copy of the list is shared for a few seconds)
    let [rec2] = await fromAlertmanager(other);
    assert.deepEqual(rec2.clusters, ['main', 'eu']);
    assert.equal(rec2.title, 'GatewayErrors', 'no common summary any more: the alert name');
    assert.equal(rec2.impact, 'critical');
    assert.equal(rec2.updates.length, 2);
    assert.match(rec2.updates[0].text, /^Alertmanager: 2 alerts firing\./);

    // the page's other forms say where it came from, and Statuspage's API lists it as any incident
    const atom = await request(other.port, 'GET', '/history.atom');
    assert.match(atom.body, /Opened by Alertmanager\. Clusters: main, eu\./);
    const unresolved = await request(other.port, 'GET', '/api/v2/incidents/unresolved.json');
    const listed = unresolved.json().incidents.find((i) => i.name === 'GatewayErrors');
    assert.ok(listed, unresolved.body.slice(0, 300));
    assert.equal(listed.impact, 'critical');

    // one resolves: said; the clusters it touched stay named
    const one = notification(key, 'firing', [alert('GatewayErrors', 'main', { summary: 'Gateway errors on main' }),
      alert('GatewayErrors', 'eu', { status: 'resolved', severity: 'warning', instance: 'b' })]);
    assert.deepEqual((await post(api, one)).json(), { incident, event: 'updated' });
    [rec2] = await fromAlertmanager(api);
    assert.match(rec2.updates[0].text, /^Alertmanager: 1 alert firing, 1 resolved\.\n- GatewayErrors \(main\): Gateway errors on main\n- GatewayErrors \(eu\)$/);
    assert.deepEqual(rec2.clusters, ['main', 'eu']);

    // the group resolves: the incident with it, once
    const done = notification(key, 'resolved', one.alerts.map((a) => ({ ...a, status: 'resolved' })));
    assert.deepEqual((await post(api, done)).json(), { incident, event: 'resolved' });
    assert.deepEqual((await post(other, done)).json(), { incident: null, event: 'none' });
    [rec2] = await fromAlertmanager(api);
    assert.equal(rec2.status, 'resolved');
    assert.notEqual(rec2.resolved_ms, null);
    assert.match(rec2.updates[0].text, /^Resolved: every alert of this Alertmanager group is resolved\./);
    assert.equal(rec2.updates.length, 4);
    assert.equal(await redis(rds.port, 'HLEN', GROUPS), '0', 'a resolved group leaves nothing behind');

    // the group fires again later: a new incident
    const reopened = (await post(api, body)).json();
    assert.equal(reopened.event, 'opened');
    assert.notEqual(reopened.incident, incident);
    await post(api, notification(key, 'resolved', [{ ...body.alerts[0], status: 'resolved' }]));
  });

  it('leaves an incident an operator resolved alone while its group repeats the same alerts', async () => {
    const key = '{}:{alertname="DiskFull"}';
    const body = notification(key, 'firing', [alert('DiskFull', 'eu', { severity: 'warning' })]);
    const { incident } = (await post(api, body)).json();
    const r = await request(api.port, 'POST', `/api/incidents/${incident}/updates`, { headers: AUTH,
      body: JSON.stringify({ text: 'Known; being dealt with.', status: 'resolved' }) });
    assert.equal(r.status, 200, r.body);
    assert.deepEqual((await post(api, body)).json(), { incident, event: 'unchanged' });
    const rec = (await fromAlertmanager(api)).find((i) => i.id === incident);
    assert.equal(rec.status, 'resolved');
    assert.equal(rec.impact, 'minor');
    // another alert joins: that is news, and a new incident says it
    const more = notification(key, 'firing', [body.alerts[0], alert('DiskFull', 'eu', { severity: 'warning', instance: 'c' })]);
    const next = (await post(api, more)).json();
    assert.equal(next.event, 'opened');
    assert.notEqual(next.incident, incident);
    await post(api, notification(key, 'resolved', more.alerts.map((a) => ({ ...a, status: 'resolved' }))));
  });

  it('holds a flood of groups to 50 with an open incident: the rest are refused with a 409, Redis stays bounded', async () => {
    const keys = Array.from({ length: 70 }, (_, i) => `{}:{alertname="Flood${i}"}`);
    const results = [];
    for (const k of keys) results.push(await post(api, notification(k, 'firing', [alert(k.slice(15, -2), 'main')])));
    const opened = results.filter((r) => r.status === 200);
    const refused = results.filter((r) => r.status === 409);
    assert.equal(opened.length, 50);
    assert.equal(refused.length, 20);
    assert.match(refused[0].json().error, /at most 50 Alertmanager groups have an open incident at once/);
    assert.equal(await redis(rds.port, 'HLEN', GROUPS), '50');
    // an operator resolves one: its place is free for the next group
    const first = opened[0].json().incident;
    await request(api.port, 'POST', `/api/incidents/${first}/updates`, { headers: AUTH,
      body: JSON.stringify({ text: 'Closed by hand.', status: 'resolved' }) });
    assert.equal((await post(api, notification(keys[60], 'firing', [alert('Flood60', 'main')]))).json().event, 'opened');
    assert.equal((await post(api, notification(keys[61], 'firing', [alert('Flood61', 'main')]))).status, 409);
    // the group whose incident the operator resolved is remembered: its repeats stay quiet, and it takes no place
    assert.equal(await redis(rds.port, 'HLEN', GROUPS), '51');
    assert.deepEqual((await post(api, notification(keys[0], 'firing', [alert('Flood0', 'main')]))).json(),
      { incident: first, event: 'unchanged' });
    // the groups resolve: nothing left
    for (const k of keys) await post(api, notification(k, 'resolved', [alert(k.slice(15, -2), 'main', { status: 'resolved' })]));
    assert.equal(await redis(rds.port, 'HLEN', GROUPS), '0');
    assert.equal((await incidents(api)).filter((i) => i.resolved_ms === null).length, 0);
  });

  it('does not resolve on a "resolved" that left alerts out (max_alerts): those may still fire', async () => {
    const key = '{}:{alertname="Big"}';
    const shown = alert('Big', 'main', { summary: 'one of many' });
    const opened = (await post(api, notification(key, 'firing', [shown], { truncatedAlerts: 4 }))).json();
    assert.equal(opened.event, 'opened');
    let [rec] = (await fromAlertmanager(api)).filter((i) => i.id === opened.incident);
    assert.match(rec.updates[0].text, /^Alertmanager: 1 alert firing\. 4 more left out by Alertmanager \(max_alerts\), which may be firing\./);
    // the shown alert resolves, four are still left out: an update, not the end
    const cut = (await post(api, notification(key, 'resolved', [{ ...shown, status: 'resolved' }], { truncatedAlerts: 4 }))).json();
    assert.deepEqual(cut, { incident: opened.incident, event: 'updated' });
    [rec] = (await fromAlertmanager(api)).filter((i) => i.id === opened.incident);
    assert.equal(rec.resolved_ms, null);
    // one fewer left out is news too
    assert.equal((await post(api, notification(key, 'resolved', [{ ...shown, status: 'resolved' }], { truncatedAlerts: 3 }))).json().event, 'updated');
    // nothing left out: resolved
    assert.deepEqual((await post(api, notification(key, 'resolved', [{ ...shown, status: 'resolved' }]))).json(),
      { incident: opened.incident, event: 'resolved' });
  });

  it('gives an alert without the cluster label to GLANCE_ALERTMANAGER_CLUSTER, and reads the label named by GLANCE_ALERTMANAGER_LABEL', async () => {
    const api2 = await startApi({ redisPort: rds.port, bots: BOTS, passphrase: PASS,
      env: { GLANCE_ALERTMANAGER_CLUSTER: 'eu', GLANCE_ALERTMANAGER_LABEL: 'bot_cluster' } });
    const a = alert('NoLabel', null);
    const r = (await post(api2, notification('{}:{alertname="NoLabel"}', 'firing', [a]))).json();
    assert.equal(r.event, 'opened');
    const b = { ...alert('Labelled', null), labels: { alertname: 'Labelled', bot_cluster: 'main' } };
    const r2 = (await post(api2, notification('{}:{alertname="Labelled"}', 'firing', [b]))).json();
    const recs = await fromAlertmanager(api2);
    assert.deepEqual(recs.find((i) => i.id === r.incident).clusters, ['eu']);
    assert.deepEqual(recs.find((i) => i.id === r2.incident).clusters, ['main']);
    assert.equal(recs.find((i) => i.id === r2.incident).impact, 'major', 'no severity label: major');
    await post(api2, notification('{}:{alertname="NoLabel"}', 'resolved', [{ ...a, status: 'resolved' }]));
    await post(api2, notification('{}:{alertname="Labelled"}', 'resolved', [{ ...b, status: 'resolved' }]));
    await api2.stop();
  });

  it('refuses a bad Alertmanager configuration at start-up with one line', async () => {
    for (const [env, why] of [
      [{ GLANCE_ALERTMANAGER_CLUSTER: 'mars' }, /GLANCE_ALERTMANAGER_CLUSTER="mars": expected one of the clusters of GLANCE_BOTS/],
      [{ GLANCE_ALERTMANAGER_LABEL: '1cluster' }, /GLANCE_ALERTMANAGER_LABEL="1cluster": expected a Prometheus label name/],
      [{ GLANCE_ALERTMANAGER_LABEL: 'bot-cluster' }, /GLANCE_ALERTMANAGER_LABEL="bot-cluster": expected a Prometheus label name/],
    ]) {
      const p = spawnApi({ GLANCE_BOTS: BOTS, GLANCE_PORT: 1, GLANCE_REDIS_URL: `redis://127.0.0.1:${rds.port}/0`, ...env });
      const exit = await p.waitExit(5000);
      assert.notEqual(exit?.code, 0);
      assert.match(p.stderr(), why);
    }
  });
});

describe('with Debian\'s prometheus-alertmanager sending', () => {
  let rds;
  let api;
  let relay;
  let am;

  before(async () => {
    rds = await startRedis();
    api = await startApi({ redisPort: rds.port, bots: BOTS, passphrase: PASS });
    relay = await startRelay(api.port);
    am = await startAlertmanager({ url: `${relay.url}/api/alertmanager`, passphrase: PASS, route: [
      'group_by: [alertname, glance_cluster]', 'group_wait: 1s', 'group_interval: 2s', 'repeat_interval: 3s'] });
  });
  after(async () => {
    await am?.stop();
    await relay?.close();
    await cleanup();
  });

  const amAlert = (instance, { endsAt } = {}) => ({
    labels: { alertname: 'ShardsDown', glance_cluster: 'main', severity: 'critical', instance },
    annotations: { summary: `Shards behind ${instance} are down` },
    startsAt: new Date(Date.now() - 60000).toISOString(),
    ...(endsAt ? { endsAt } : {}),
  });
  const deliveries = () => relay.seen.filter((s) => s.path === '/api/alertmanager');
  const only = async () => {
    const recs = await fromAlertmanager(api);
    assert.equal(recs.length, 1, JSON.stringify(recs));
    return recs[0];
  };

  it('fires, repeats, changes its group and resolves: one incident, told each change once, retries included', async () => {
    // the first delivery is taken by the replica but its answer is lost: Alertmanager sends it again
    relay.failNext = 1;
    await am.post([amAlert('gw-1')]);
    await waitUntil(() => deliveries().filter((d) => d.answered === 200).length >= 1,
      { timeoutMs: 30000, intervalMs: 100, message: 'a delivery acknowledged after the lost one' });
    const first = deliveries();
    assert.equal(first[0].answered, 500);
    assert.equal(first[0].headers.authorization, `Bearer ${PASS}`, 'http_config.authorization sends Bearer credentials');
    assert.deepEqual(JSON.parse(first[0].reply), JSON.parse(first[0].reply)); // the replica answered JSON
    assert.equal(JSON.parse(first[0].reply).event, 'opened');
    assert.equal(JSON.parse(first[1].reply).event, 'unchanged', 'the retry wrote nothing');
    assert.equal(first[1].body, first[0].body, 'Alertmanager sent the same notification again');
    const payload = JSON.parse(first[0].body);
    assert.equal(payload.version, '4');
    let rec = await only();
    assert.equal(rec.title, 'Shards behind gw-1 are down', 'the group\'s common summary');
    assert.equal(rec.updates.length, 1);

    // repeats (repeat_interval 3 s) say nothing new
    const seen = deliveries().length;
    await waitUntil(() => deliveries().length >= seen + 1, { timeoutMs: 20000, intervalMs: 100, message: 'a repeat' });
    assert.equal(JSON.parse(deliveries().at(-1).reply).event, 'unchanged');
    assert.equal((await only()).updates.length, 1);

    // a second alert joins the group: one update
    await am.post([amAlert('gw-1'), amAlert('gw-2')]);
    rec = await waitUntil(async () => { const r = await only(); return r.updates.length === 2 && r; },
      { timeoutMs: 20000, intervalMs: 200, message: 'the update for the alert that joined' });
    assert.match(rec.updates[0].text, /^Alertmanager: 2 alerts firing\./);
    assert.match(rec.updates[0].text, /Shards behind gw-2 are down/);
    assert.equal(rec.title, 'ShardsDown', 'two alerts, no common summary: the alert name');

    // the first resolves: one update
    await am.post([amAlert('gw-1', { endsAt: new Date().toISOString() }), amAlert('gw-2')]);
    rec = await waitUntil(async () => { const r = await only(); return r.updates.length === 3 && r; },
      { timeoutMs: 20000, intervalMs: 200, message: 'the update for the alert that resolved' });
    assert.match(rec.updates[0].text, /^Alertmanager: 1 alert firing, 1 resolved\./);
    assert.equal(rec.resolved_ms, null);

    // the last resolves: the incident is resolved
    await am.post([amAlert('gw-2', { endsAt: new Date().toISOString() })]);
    rec = await waitUntil(async () => { const r = await only(); return r.resolved_ms !== null && r; },
      { timeoutMs: 20000, intervalMs: 200, message: 'the incident resolved with its group' });
    assert.equal(rec.status, 'resolved');
    assert.equal(rec.updates.length, 4);
    assert.equal(await redis(rds.port, 'HLEN', GROUPS), '0');
    for (const d of deliveries()) assert.ok([200, 500].includes(d.answered), `${d.status} ${d.reply}`);
  });
});
