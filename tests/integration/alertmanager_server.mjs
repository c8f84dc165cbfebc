// alertmanager_server.mjs -- Debian's real prometheus-alertmanager for the tests: started on a free loopback port with
// a configuration the test writes (clustering off, its own storage), fed alerts through its API v2, and a relay in
// front of the replica that can answer a delivery with a 500 after passing it on (an acknowledgement lost on the
// way), so that Alertmanager sends the same notification again. Every process started here is killed by stop(), or
// by the process 'exit' hook if a test file dies first.
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import http from 'node:http';
import path from 'node:path';
import { freePort, request, waitUntil } from './harness.mjs';

export const ALERTMANAGER_BIN = process.env.GLANCE_ALERTMANAGER_BIN || '/usr/bin/prometheus-alertmanager';

const started = new Set();
process.on('exit', () => {
  for (const child of started) { try { process.kill(child.pid, 'SIGKILL'); } catch {} }
});

/**
 * Starts Alertmanager with `routeYaml` as its route and one webhook receiver `glance` posting to `url` with the
 * passphrase as Bearer credentials (http_config.authorization, as operators would write it).
 * Returns {port, post(alerts), stop(), log()}.
 */
export async function startAlertmanager({ url, passphrase, route }) {
  const dir = mkdtempSync(path.join(tmpdir(), 'glance-am-'));
  const port = await freePort();
  const config = [
    'route:',
    '  receiver: glance',
    ...route.map((l) => `  ${l}`),
    'receivers:',
    '  - name: glance',
    '    webhook_configs:',
    `      - url: ${url}`,
    '        send_resolved: true',
    '        http_config:',
    '          authorization:',
    `            credentials: ${passphrase}`,
    '',
  ].join('\n');
  writeFileSync(path.join(dir, 'alertmanager.yml'), config);
  let log = '';
  const child = spawn(ALERTMANAGER_BIN, [
    `--config.file=${path.join(dir, 'alertmanager.yml')}`, `--storage.path=${path.join(dir, 'data')}`,
    `--web.listen-address=127.0.0.1:${port}`, '--cluster.listen-address=', '--log.level=debug',
  ], { stdio: ['ignore', 'pipe', 'pipe'] });
  started.add(child);
  const exited = new Promise((resolve) => child.on('exit', (code, signal) => { started.delete(child); resolve({ code, signal }); }));
  child.stdout.on('data', (d) => { log += d; });
  child.stderr.on('data', (d) => { log += d; });
  const stop = async () => {
    if (started.has(child)) {
      try { process.kill(child.pid, 'SIGTERM'); } catch {}
      const t = setTimeout(() => { try { process.kill(child.pid, 'SIGKILL'); } catch {} }, 5000);
      await exited;
      clearTimeout(t);
    }
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    // Alertmanager's own routes are asked with fetch: the harness's request() holds answers to Glance's contract
    await waitUntil(async () => (await fetch(`http://127.0.0.1:${port}/-/ready`, { signal: AbortSignal.timeout(1000) })
      .catch(() => null))?.status === 200,
      { timeoutMs: 15000, intervalMs: 100, message: `Alertmanager on port ${port} to be ready` });
  } catch (err) {
    await stop();
    throw new Error(`${err.message}\n--- alertmanager log ---\n${log.slice(-3000)}`);
  }
  return {
    port,
    log: () => log,
    stop,
    /** Posts alerts to its API v2, as Prometheus does: [{labels, annotations, startsAt, endsAt}]. */
    async post(alerts) {
      const r = await fetch(`http://127.0.0.1:${port}/api/v2/alerts`, { method: 'POST',
        headers: { 'content-type': 'application/json' }, body: JSON.stringify(alerts), signal: AbortSignal.timeout(5000) });
      if (r.status !== 200) throw new Error(`Alertmanager refused the alerts: ${r.status} ${await r.text()}`);
    },
  };
}

/**
 * A relay on a free port that passes every request on to 127.0.0.1:`target` and keeps what went through:
 * {method, path, headers, body, status (the replica's), answered (what the relay said)}. While `failNext` > 0, a
 * delivery the replica took is answered 500 instead (and failNext counts down). Returns {port, url, seen, failNext,
 * close()}.
 */
export async function startRelay(target) {
  const port = await freePort();
  const relay = { port, url: `http://127.0.0.1:${port}`, seen: [], failNext: 0 };
  const server = http.createServer((req, res) => {
    const chunks = [];
    req.on('data', (c) => chunks.push(c));
    req.on('end', async () => {
      const body = Buffer.concat(chunks).toString('utf8');
      const headers = { ...req.headers };
      delete headers.host;
      const r = await request(target, req.method, req.url, { headers, body }).catch((e) => ({ status: 502, body: e.message }));
      const lose = r.status === 200 && relay.failNext > 0;
      if (lose) relay.failNext--;
      relay.seen.push({ method: req.method, path: req.url, headers: req.headers, body, status: r.status, reply: r.body,
        answered: lose ? 500 : r.status });
      res.writeHead(lose ? 500 : r.status, { 'content-type': 'application/json' });
      res.end(lose ? '{"error":"the relay lost the answer"}' : r.body);
    });
  });
  await new Promise((resolve) => server.listen(port, '127.0.0.1', resolve));
  relay.close = () => new Promise((resolve) => { server.closeAllConnections?.(); server.close(resolve); });
  return relay;
}
