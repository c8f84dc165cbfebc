// badge.mjs -- benchmark for issue 16's badges and summary and issue 30's Statuspage documents: requests/s of GET
// /badge.svg, of the same with the ETag the client holds (a 304), of /badge/<cluster>.json, of /api/summary and of
// /api/v2/summary.json and /api/v2/incidents.json (with 20 incidents of 3 updates each recorded), each against GET
// /healthz (the cheapest answer a replica gives) in the same round, the order rotating. One replica, 360 shards
// online, wrk -t1 -c32. Usage: node tests/bench/badge.mjs [--rounds 3] [--seconds 4]; prints Markdown.
import { execFileSync } from 'node:child_process';
import os from 'node:os';
import { makeTempDir, request, startApi, startRedis } from '../integration/harness.mjs';

const arg = (name, dflt) => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? Number(process.argv[i + 1]) : dflt;
};
const ROUNDS = arg('rounds', 3);
const SECONDS = arg('seconds', 4);

function wrk(url, headers = []) {
  const out = execFileSync('wrk', ['-t1', '-c32', `-d${SECONDS}s`, ...headers.flatMap((h) => ['-H', h]), url], { encoding: 'utf8' });
  if (/Non-2xx or 3xx responses/.test(out) && !headers.length) throw new Error(`${url}: some requests failed`);
  return Number(/Requests\/sec:\s+([\d.]+)/.exec(out)[1]);
}

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const fmt = (x) => Math.round(x).toLocaleString('en-US');

const rds = await startRedis({ dir: makeTempDir() });
const api = await startApi({ redisPort: rds.port, bots: 'main:360' });
try {
  const shards = Array.from({ length: 360 }, (_, id) => ({ id, state: 3 }));
  await request(api.port, 'POST', '/api/clusters/main/report', { headers: { 'content-type': 'application/json' }, body: JSON.stringify({ shards }) });
  for (let i = 0; i < 20; i++) {
    const json = { 'content-type': 'application/json' };
    const r = await request(api.port, 'POST', '/api/incidents', { headers: json,
      body: JSON.stringify({ title: `Incident ${i}`, impact: 'minor', clusters: ['main'], text: 'Looking into it.' }) });
    for (const [status, text] of [['identified', 'Found it.'], ['resolved', 'Fixed.']]) {
      await request(api.port, 'POST', `/api/incidents/${r.json().id}/updates`, { headers: json, body: JSON.stringify({ status, text }) });
    }
  }
  const etag = (await request(api.port, 'GET', '/badge.svg')).headers.etag;
  const modes = [
    { name: 'GET /healthz', path: '/healthz' },
    { name: 'GET /badge.svg', path: '/badge.svg' },
    { name: 'GET /badge.svg with its ETag (304)', path: '/badge.svg', headers: [`If-None-Match: ${etag}`] },
    { name: 'GET /badge/main.json', path: '/badge/main.json' },
    { name: 'GET /api/summary', path: '/api/summary' },
    { name: 'GET /api/v2/summary.json', path: '/api/v2/summary.json' },
    { name: 'GET /api/v2/incidents.json (20 incidents)', path: '/api/v2/incidents.json' },
    { name: 'GET /api/incidents (the same 20, Glance\'s own JSON)', path: '/api/incidents' },
  ];
  for (const m of modes) m.bytes = Buffer.byteLength((await request(api.port, 'GET', m.path)).body);
  const rates = modes.map(() => []);
  for (let round = 0; round < ROUNDS; round++) {
    for (let k = 0; k < modes.length; k++) {
      const i = (k + round) % modes.length;
      rates[i].push(wrk(api.url + modes[i].path, modes[i].headers));
    }
  }
  console.log(`### Badges and summary (issue 16), ${new Date().toISOString().slice(0, 16).replace('T', ' ')} UTC, ${os.cpus().length} cores\n`);
  console.log(`| one replica, 360 shards online | body bytes | requests/s, median of ${ROUNDS} | ÷ /healthz, same round (median; range) | the runs |`);
  console.log('|---|---|---|---|---|');
  modes.forEach((m, i) => {
    const ratios = rates[i].map((r, k) => r / rates[0][k]);
    console.log(`| ${m.name} | ${fmt(m.bytes)} | ${fmt(median(rates[i]))} | ${median(ratios).toFixed(2)}; ${Math.min(...ratios).toFixed(2)}–` +
      `${Math.max(...ratios).toFixed(2)} | ${rates[i].map(fmt).join(' / ')} |`);
  });
} finally {
  await api.stop();
  await rds.stop();
}
