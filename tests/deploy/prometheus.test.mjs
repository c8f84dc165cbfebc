// prometheus.test.mjs -- the operations kit for Prometheus users (issue 31, item 3) held to Debian's real promtool:
// deploy/prometheus/rules.yml passes `promtool check rules` and its unit tests (`promtool test rules`,
// tests/deploy/prometheus_rules_test.yml: each alert fires on what should raise it and not on a blip); and the
// /metrics of a real replica that has taken writes, reads, an incident and an Alertmanager notification passes
// `promtool check metrics` with no complaint, holds every series the rules read, and times requests and the
// transition scripts' round trips in histograms (issue 31, item 2).
import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { REPO_ROOT, cleanup, request, startApi, startRedis } from '../integration/harness.mjs';

const PROMTOOL = process.env.GLANCE_PROMTOOL || '/usr/bin/promtool';
const RULES = path.join(REPO_ROOT, 'deploy', 'prometheus', 'rules.yml');
const PASS = 'prometheus-test-passphrase';

const promtool = (args, input) => new Promise((resolve) => {
  const child = execFile(PROMTOOL, args, { cwd: REPO_ROOT, timeout: 60000 }, (err, stdout, stderr) => resolve({
    code: err ? (typeof err.code === 'number' ? err.code : 1) : 0, out: `${stdout}${stderr}`,
  }));
  if (input !== undefined) child.stdin.end(input);
});

after(cleanup);

describe('Prometheus: the alert rules and the metrics, checked by promtool', () => {
  it('the rules pass promtool check rules', async () => {
    const r = await promtool(['check', 'rules', RULES]);
    assert.equal(r.code, 0, r.out);
    assert.match(r.out, /SUCCESS: 9 rules found/);
  });

  it('the rules pass their unit tests (promtool test rules)', async () => {
    const r = await promtool(['test', 'rules', path.join(REPO_ROOT, 'tests', 'deploy', 'prometheus_rules_test.yml')]);
    assert.equal(r.code, 0, r.out);
    assert.match(r.out, /SUCCESS/);
  });

  it('a replica\'s /metrics passes promtool check metrics and holds every series the rules read', async () => {
    const rds = await startRedis();
    const api = await startApi({ redisPort: rds.port, bots: 'main:16;eu:8', passphrase: PASS });
    const auth = { authorization: PASS, 'content-type': 'application/json' };
    for (let id = 0; id < 16; id++) await request(api.port, 'POST', `/api/status/main/${id}/3`, { headers: auth });
    await request(api.port, 'POST', '/api/status/main/3/2', { headers: auth });
    await request(api.port, 'GET', '/api/status');
    await request(api.port, 'POST', '/api/incidents', { headers: auth, body: JSON.stringify({
      title: 'Gateway errors', impact: 'minor', clusters: ['main'], text: 'Looking.' }) });
    await request(api.port, 'POST', '/api/alertmanager', { headers: auth, body: JSON.stringify({
      version: '4', groupKey: '{}:{alertname="X"}', status: 'firing',
      alerts: [{ status: 'firing', labels: { alertname: 'X', glance_cluster: 'eu' }, annotations: {} }] }) });
    const metrics = (await request(api.port, 'GET', '/metrics')).body;
    const r = await promtool(['check', 'metrics'], metrics);
    assert.equal(r.code, 0, `promtool check metrics:\n${r.out}`);
    assert.equal(r.out.trim(), '');
    // every metric an alert rule names is there (the rules would otherwise watch nothing)
    const rules = readFileSync(RULES, 'utf8');
    const named = [...new Set(rules.match(/glance_[a-z_]+/g))];
    assert.ok(named.length >= 8, named.join(' '));
    for (const name of named) assert.match(metrics, new RegExp(`^${name}(\\{| )`, 'm'), `${name} is not in /metrics`);
    // the latency histograms: the 17 writes went through route="write", each a status script's round trip
    const count = (re) => Number((metrics.match(re) ?? [])[1]);
    assert.ok(count(/^glance_http_request_duration_seconds_count\{route="write"\} (\d+)$/m) >= 18, 'writes timed');
    assert.ok(count(/^glance_http_request_duration_seconds_count\{route="read"\} (\d+)$/m) >= 1, 'reads timed');
    assert.ok(count(/^glance_redis_script_duration_seconds_count\{script="status"\} (\d+)$/m) >= 17, 'round trips timed');
    assert.equal(count(/^glance_redis_script_duration_seconds_bucket\{script="status",le="\+Inf"\} (\d+)$/m),
      count(/^glance_redis_script_duration_seconds_count\{script="status"\} (\d+)$/m));
    assert.match(metrics, /^glance_ready 1$/m);
    assert.match(metrics, /^glance_subscription_synced 1$/m);
    assert.match(metrics, /^glance_shards\{cluster="main",state="offline"\} 1$/m);
    await api.stop();
  });
});
