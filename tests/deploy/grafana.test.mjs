// grafana.test.mjs -- the Grafana dashboard (deploy/grafana/glance.json, issue 31, item 4) proved without Grafana (not
// in Debian): Debian's real Prometheus scrapes three replicas on loopback every second while a bot writes through
// them and a browser follows the feed, loads deploy/prometheus/rules.yml, and every expression of every panel is run
// through its HTTP API, each answering data (a finite number where the series have one).
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { REPO_ROOT, cleanup, freePort, openFeed, request, sleep, startApi, startRedis, waitUntil } from '../integration/harness.mjs';

const PROMETHEUS = process.env.GLANCE_PROMETHEUS || '/usr/bin/prometheus';
const DASHBOARD = JSON.parse(readFileSync(path.join(REPO_ROOT, 'deploy', 'grafana', 'glance.json'), 'utf8'));

describe('the Grafana dashboard\'s queries, against a real Prometheus scraping three replicas', () => {
  let prom;
  let promPort;
  let dir;
  let stopLoad = false;
  let load;
  let apis;
  const apisAlive = () => apis.map((a) => a.alive());

  before(async () => {
    const rds = await startRedis();
    apis = [];
    for (let i = 0; i < 3; i++) apis.push(await startApi({ redisPort: rds.port, bots: 'main:16;eu:4' }));
    const feed = await openFeed(apis[0].port);
    await feed.waitFor((m) => m.type === 'hello', 5000, { what: 'hello' });
    // a bot: states changing and pings through every replica, a batch report now and then
    load = (async () => {
      for (let n = 0; !stopLoad; n++) {
        const api = apis[n % 3];
        // a replica that died is the test's failure to report, not the load's: every request is bounded and caught
        await request(api.port, 'POST', `/api/status/main/${n % 16}/${n % 5 === 0 ? 2 : 3}`).catch(() => {});
        await request(api.port, 'POST', `/api/health/eu/${n % 4}`).catch(() => {});
        if (n % 20 === 0) {
          await request(api.port, 'POST', '/api/clusters/eu/report', { headers: { 'content-type': 'application/json' },
            body: JSON.stringify({ shards: [0, 1, 2, 3].map((id) => ({ id, state: 3 })) }) }).catch(() => {});
        }
        await sleep(20);
      }
    })();
    dir = mkdtempSync(path.join(tmpdir(), 'glance-prometheus-'));
    promPort = await freePort();
    writeFileSync(path.join(dir, 'prometheus.yml'), [
      'global:', '  scrape_interval: 1s', '  evaluation_interval: 1s',
      'rule_files:', `  - ${path.join(REPO_ROOT, 'deploy', 'prometheus', 'rules.yml')}`,
      'scrape_configs:', '  - job_name: glance', '    static_configs:',
      `      - targets: [${apis.map((a) => `"127.0.0.1:${a.port}"`).join(', ')}]`, '',
    ].join('\n'));
    prom = spawn(PROMETHEUS, [`--config.file=${path.join(dir, 'prometheus.yml')}`, `--storage.tsdb.path=${path.join(dir, 'data')}`,
      `--web.listen-address=127.0.0.1:${promPort}`, '--log.level=warn'], { stdio: ['ignore', 'pipe', 'pipe'] });
    let log = '';
    prom.stdout.on('data', (d) => { log += d; });
    prom.stderr.on('data', (d) => { log += d; });
    await waitUntil(async () => (await fetch(`http://127.0.0.1:${promPort}/-/ready`, { signal: AbortSignal.timeout(2000) })
      .catch(() => null))?.status === 200,
      { timeoutMs: 20000, intervalMs: 200, message: `Prometheus ready\n${log}` });
    // every replica scraped, and enough samples for the rates
    await waitUntil(async () => {
      const r = await query('count(up{job="glance"} == 1)');
      return r.length === 1 && Number(r[0].value[1]) === 3;
    }, { timeoutMs: 20000, intervalMs: 500, message: 'three replicas up in Prometheus' });
    await sleep(12000);
  });
  after(async () => {
    stopLoad = true;
    await load;
    if (prom && prom.exitCode === null && prom.signalCode === null) {
      const exited = new Promise((resolve) => prom.once('exit', resolve));
      prom.kill('SIGTERM');
      const t = setTimeout(() => prom.kill('SIGKILL'), 5000);
      await exited;
      clearTimeout(t);
    }
    if (dir) rmSync(dir, { recursive: true, force: true });
    await cleanup();
  });

  async function query(expr) {
    const r = await fetch(`http://127.0.0.1:${promPort}/api/v1/query?query=${encodeURIComponent(expr)}`,
      { signal: AbortSignal.timeout(5000) });
    const body = await r.json();
    if (body.status !== 'success') throw new Error(`${expr}: ${JSON.stringify(body)}`);
    return body.data.result;
  }

  it('loads the alert rules, every one healthy', async () => {
    for (const a of apisAlive()) assert.ok(a, 'a replica died');
    const r = await (await fetch(`http://127.0.0.1:${promPort}/api/v1/rules`, { signal: AbortSignal.timeout(5000) })).json();
    const rules = r.data.groups.flatMap((g) => g.rules);
    assert.equal(rules.length, 9);
    for (const rule of rules) assert.equal(rule.health, 'ok', `${rule.name}: ${rule.lastError}`);
  });

  it('answers every panel\'s expression with data', async () => {
    const targets = DASHBOARD.panels.flatMap((p) => p.targets.map((t) => ({ panel: p.title, expr: t.expr })));
    assert.ok(targets.length >= 12);
    for (const { panel, expr } of targets) {
      // Grafana's own variable, as it would fill it for a 1 s scrape
      const result = await query(expr.replaceAll('$__rate_interval', '10s'));
      assert.ok(result.length > 0, `${panel}: ${expr} answered nothing`);
      assert.ok(result.some((s) => Number.isFinite(Number(s.value[1]))), `${panel}: ${expr} answered ${JSON.stringify(result)}`);
    }
  });

  it('sees what the replicas did: writes and their latency, the feed client, every shard', async () => {
    const writes = await query('sum(rate(glance_http_request_duration_seconds_count{route="write"}[10s]))');
    assert.ok(Number(writes[0].value[1]) > 5, `writes/s ${writes[0].value[1]}`);
    const p99 = await query('histogram_quantile(0.99, sum by (le) (rate(glance_http_request_duration_seconds_bucket{route="write"}[10s])))');
    assert.ok(Number(p99[0].value[1]) > 0 && Number(p99[0].value[1]) < 5, `p99 ${p99[0].value[1]} s`);
    const clients = await query('sum(glance_feed_clients)');
    assert.equal(Number(clients[0].value[1]), 1);
    // each replica's own count (summing the per-state maxima of three replicas a change apart would count a shard
    // that is changing twice)
    const shards = await query('max by (cluster) (sum by (cluster, instance) (glance_shards))');
    assert.deepEqual(Object.fromEntries(shards.map((s) => [s.metric.cluster, Number(s.value[1])])), { main: 16, eu: 4 });
  });
});
