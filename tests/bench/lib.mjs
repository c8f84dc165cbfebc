// lib.mjs -- helpers for the benchmarks beyond tests/integration/harness.mjs: the Python baseline port,
// glance-sim and wrk runs, a process's RSS, the machine's description. Every process started here is
// tracked by PID and killed by stopAll() (and SIGKILLed on exit if anything is left).
import { spawn, execFileSync } from 'node:child_process';
import http from 'node:http';
import { readFileSync, existsSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { REPO_ROOT, freePort, waitUntil, request } from '../integration/harness.mjs';

export const SIM_BIN = process.env.GLANCE_SIM_BIN || path.join(REPO_ROOT, 'build', 'glance-sim');
export const BASELINE = path.join(REPO_ROOT, 'tests', 'bench', 'baseline', 'glance_baseline.py');
export const PYTHON = process.env.GLANCE_BASELINE_PYTHON || '/usr/bin/python3';

const children = new Map(); // pid -> ChildProcess
process.on('exit', () => {
  for (const pid of children.keys()) {
    try { process.kill(pid, 'SIGKILL'); } catch {}
  }
});

/** Spawns a tracked child; resolves `exited` with {code, signal}. Output is collected unless stdio says otherwise. */
export function run(cmd, args, { env, cwd } = {}) {
  const child = spawn(cmd, args, { env: env || process.env, cwd: cwd || REPO_ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d) => { stdout += d; });
  child.stderr.on('data', (d) => { stderr += d; });
  child.on('error', () => {});
  children.set(child.pid, child);
  child.exited = new Promise((resolve) => child.on('exit', (code, signal) => { children.delete(child.pid); resolve({ code, signal }); }));
  child.out = () => stdout;
  child.err = () => stderr;
  return child;
}

/** SIGTERM a tracked child, SIGKILL after graceMs; resolves its exit. */
export async function stop(child, graceMs = 5000) {
  if (!children.has(child.pid)) return child.exited;
  try { process.kill(child.pid, 'SIGTERM'); } catch {}
  const timer = setTimeout(() => { try { process.kill(child.pid, 'SIGKILL'); } catch {} }, graceMs);
  const r = await child.exited;
  clearTimeout(timer);
  return r;
}

export async function stopAll() {
  await Promise.all([...children.values()].map((c) => stop(c, 3000)));
}

export function percentile(sorted, p) {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];
}

/** Starts the Python baseline port on a free port and waits for /healthz. Returns {port, url, pid, child, stop()}. */
export async function startBaseline({ bots, healthTimeout = 30, pollS = 1 }) {
  const port = await freePort();
  const env = { ...process.env, GLANCE_BOTS: bots, GLANCE_HOST: '127.0.0.1', GLANCE_PORT: String(port),
    GLANCE_HEALTH_TIMEOUT: String(healthTimeout), BASELINE_POLL_S: String(pollS) };
  const child = run(PYTHON, [BASELINE], { env });
  await waitUntil(async () => {
    if (!children.has(child.pid)) throw new Error(`the baseline exited: ${child.err().slice(-2000)}`);
    const r = await request(port, 'GET', '/healthz', { timeoutMs: 1000 }).catch(() => null);
    return r && r.status === 200;
  }, { timeoutMs: 15000, message: 'the baseline to answer /healthz' });
  return { port, url: `http://127.0.0.1:${port}`, pid: child.pid, child, stop: () => stop(child) };
}

/**
 * Runs glance-sim with args (plus --report json) and resolves {report, command, stderr}. onLine(line) sees
 * each stderr line as it comes (the sim says "steady" when the measured phase starts). Killed after limitS.
 */
export async function runSim(args, { limitS = 120, onLine } = {}) {
  const full = [...args, '--report', 'json'];
  const child = run(SIM_BIN, full);
  let buf = '';
  child.stderr.on('data', (d) => {
    buf += d;
    let i;
    while ((i = buf.indexOf('\n')) >= 0) {
      const line = buf.slice(0, i);
      buf = buf.slice(i + 1);
      if (onLine) onLine(line);
    }
  });
  const timer = setTimeout(() => stop(child, 2000), limitS * 1000);
  const { code, signal } = await child.exited;
  clearTimeout(timer);
  const text = child.out().trim();
  let report = null;
  try { report = JSON.parse(text); } catch {}
  if (!report) throw new Error(`glance-sim ${full.join(' ')}: exit ${code} ${signal || ''}, no report: ${child.err().slice(-1500)}`);
  return { report, command: `build/glance-sim ${full.map(shellQuote).join(' ')}`, stderr: child.err(), code };
}

export function shellQuote(s) {
  return /^[A-Za-z0-9_./:=,@%+-]+$/.test(s) ? s : `'${s.replace(/'/g, "'\\''")}'`;
}

/** Runs wrk and resolves {rps, command, output}. */
export async function wrk(args, { env } = {}) {
  const child = run('wrk', args, { env: env ? { ...process.env, ...env } : undefined });
  await child.exited;
  const m = /Requests\/sec:\s+([\d.]+)/.exec(child.out());
  if (!m) throw new Error(`wrk ${args.join(' ')}: ${child.out()} ${child.err()}`);
  const errs = /Non-2xx or 3xx responses: (\d+)/.exec(child.out());
  const envText = env ? `${Object.entries(env).map(([k, v]) => `${k}=${v}`).join(' ')} ` : '';
  return { rps: Number(m[1]), non2xx: errs ? Number(errs[1]) : 0, command: `${envText}wrk ${args.map(shellQuote).join(' ')}`, output: child.out() };
}

/** Resident set size of a process in KiB (VmRSS). */
export function rssKiB(pid) {
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Number(m[1]) : NaN;
}

/** CPU time (user + system) of a process in seconds. */
export function cpuSeconds(pid) {
  const f = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const rest = f.slice(f.lastIndexOf(')') + 2).split(' ');
  return (Number(rest[11]) + Number(rest[12])) / 100; // utime, stime at fields 14, 15; USER_HZ is 100 on Linux
}

export function machine() {
  const sh = (cmd, args) => { try { return execFileSync(cmd, args, { encoding: 'utf8' }).trim(); } catch { return '?'; } };
  const cpu = (/model name\s*:\s*(.*)/.exec(readFileSync('/proc/cpuinfo', 'utf8')) || [])[1] || '?';
  return {
    nproc: sh('nproc', []),
    cpu,
    kernel: sh('uname', ['-srm']),
    memory: sh('free', ['-h']),
    hostname: os.hostname(),
    versions: {
      redis: sh('redis-server', ['--version']),
      haproxy: sh('haproxy', ['-v']).split('\n')[0],
      python: sh(PYTHON, ['--version']),
      aiohttp: sh(PYTHON, ['-c', 'import aiohttp; print(aiohttp.__version__)']),
      node: process.version,
    },
    git: sh('git', ['-C', REPO_ROOT, 'rev-parse', '--short', 'HEAD']) + (sh('git', ['-C', REPO_ROOT, 'status', '--porcelain']) ? ' (with uncommitted changes)' : ''),
    ulimit_n: sh('bash', ['-c', 'ulimit -n']),
    stackScript: existsSync(path.join(REPO_ROOT, 'deploy', 'stack.sh')),
  };
}

/** POSTs to 127.0.0.1:port over `agent`, `body` as JSON when given; resolves the status once the answer is read. */
export function post(port, agent, path, body) {
  return new Promise((resolve, reject) => {
    const req = http.request({ host: '127.0.0.1', port, method: 'POST', path, agent,
      headers: body ? { 'content-type': 'application/json' } : {} }, (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode));
    });
    req.on('error', reject);
    req.end(body ? JSON.stringify(body) : undefined);
  });
}

/** Shards 0..shards-1 of `cluster` online, in batch reports of 1,000 (as a large bot's processes report). */
export async function setOnline(port, agent, cluster, shards) {
  for (let b = 0; b < shards; b += 1000) {
    const items = Array.from({ length: Math.min(1000, shards - b) }, (_, i) => ({ id: b + i, state: 3 }));
    const status = await post(port, agent, `/api/clusters/${cluster}/report`, { shards: items });
    if (status !== 200) throw new Error(`batch report at ${b}: ${status}`);
  }
}

/** POSTs a state change every `gapMs` (shard n % shards, online and resuming by turns) until stop(); resolves the count. */
export function churn(port, agent, cluster, shards, gapMs) {
  let stopped = false;
  let n = 0;
  const done = (async () => {
    while (!stopped) {
      await post(port, agent, `/api/status/${cluster}/${n % shards}/${3 + (n % 2)}`);
      n++;
      await new Promise((r) => setTimeout(r, gapMs));
    }
    return n;
  })();
  return { stop: () => { stopped = true; return done; } };
}
