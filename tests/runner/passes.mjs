// passes.mjs -- the rest of test.sh after the builds: (1) the alert deliveries at the shortest HTTP timeout, then
// compose, with the fuzz targets beside them at the lowest CPU priority; (2) every suite that starts a glance-api
// against the release build and, at the same time, against the ASan + UBSan build, two files at a time each (most of
// a suite's time is spent waiting for a TTL, a timeout, a process), with the suites that start none (page logic,
// docs, layout, Dockerfile) once; (3) one file at a time, with the machine to themselves, the files that measure
// under load or need fixed addresses (SOLO). Each pass's spec output goes to <out>/<pass>.log (printed when it
// fails). Ends with each phase's time, the slowest files, and the runner's summary of all passes; exits 1 on any
// failure.
// Usage: node tests/runner/passes.mjs <out dir>   (test.sh writes <out>/phases.tsv: a line "<phase>\t<seconds>" each)
import { spawn } from 'node:child_process';
import { appendFileSync, existsSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const OUT = path.resolve(process.argv[2] || path.join(ROOT, 'tests', 'out', 'run'));
const flag = (name, dflt) => (process.env[name] ?? dflt) === '1';

const SUITES = ['integration', 'faults', 'deploy', 'web', 'browser', 'docs', 'code'];
// Start no glance-api: nothing for the sanitizers to watch.
const ONCE = ['tests/web/', 'tests/docs/', 'tests/code/', 'tests/deploy/docker_build.test.mjs',
  'tests/deploy/config.test.mjs'];
// On the release build these measure latencies, frame times, RSS or delivery under load, or pin CPUs: they run
// alone, so that no other suite's load is what they measure. compose_lb plays Docker's DNS on 127.0.0.11:53 and
// listens on fixed addresses: one copy at a time.
const SOLO = ['tests/integration/routes.test.mjs', 'tests/integration/fanout.test.mjs', 'tests/browser/perf.test.mjs',
  'tests/faults/read_flood.test.mjs', 'tests/deploy/compose_lb.test.mjs'];
// Under the sanitizers routes.test only walks the routes (no bound is measured there) and compose_lb's release twin
// is not running yet: these two join the others.
const SOLO_SANITIZED = ['tests/integration/fanout.test.mjs', 'tests/browser/perf.test.mjs',
  'tests/faults/read_flood.test.mjs'];
// Files at once in each of the two passes that run side by side. At 2 (four files at once) the two cores are busy
// about 60 % of the time (sampled every 5 s); at 3, 72 % and often 100 %. Every wait in the suites is on a condition,
// with a bound that a loaded machine keeps well within (browser.mjs: PATIENT_MS).
const PER_PASS = Number(process.env.GLANCE_TEST_CONCURRENCY || 2);

const testFiles = (dir) => readdirSync(path.join(ROOT, dir)).filter((f) => f.endsWith('.test.mjs')).sort()
  .map((f) => `${dir}/${f}`);
const all = SUITES.filter((s) => existsSync(path.join(ROOT, 'tests', s))).flatMap((s) => testFiles(`tests/${s}`));
const startsWith = (list) => (f) => list.some((p) => f === p || (p.endsWith('/') && f.startsWith(p)));
const once = all.filter(startsWith(ONCE));
const solo = all.filter(startsWith(SOLO));
const twice = all.filter((f) => !once.includes(f) && !solo.includes(f));
const soloSanitized = all.filter(startsWith(SOLO_SANITIZED));
const compose = flag('GLANCE_TEST_COMPOSE', '1') && existsSync(path.join(ROOT, 'tests', 'compose'))
  ? testFiles('tests/compose') : [];

const SANITIZED = {
  GLANCE_API_BIN: path.join(ROOT, 'build-asan', 'glance-api'),
  ASAN_OPTIONS: 'detect_leaks=1:abort_on_error=1',
  // without the list of suppressions used, which LeakSanitizer prints after a replica's last line when h2o's known
  // leak (tests/lsan.supp) was there at exit: lb.test wants "stopped" last
  LSAN_OPTIONS: `suppressions=${path.join(ROOT, 'tests', 'lsan.supp')}:print_suppressions=0`,
  UBSAN_OPTIONS: 'print_stacktrace=1:halt_on_error=1',
};
const asan = flag('GLANCE_TEST_SANITIZE', '1');

/** Runs one pass: `node --test` over `files`, spec output to <out>/<name>.log, file times to <name>.times.jsonl. */
function runPass({ name, files, env = {}, concurrency = 1 }) {
  const log = path.join(OUT, `${name}.log`);
  const times = path.join(OUT, `${name}.times.jsonl`);
  const started = Date.now();
  console.log(`passes: ${name}: ${files.length} files, ${concurrency} at a time`);
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ['--test', `--test-concurrency=${concurrency}`,
      '--test-reporter=spec', `--test-reporter-destination=${log}`,
      `--test-reporter=${path.join(ROOT, 'tests', 'runner', 'file_times.mjs')}`, `--test-reporter-destination=${times}`,
      ...files], { cwd: ROOT, env: { ...process.env, ...env }, stdio: ['ignore', 'inherit', 'inherit'] });
    child.on('exit', (code, signal) => {
      const secs = (Date.now() - started) / 1000;
      const summary = readSummary(log);
      const failed = code !== 0 || !summary || summary.fail > 0 || summary.cancelled > 0;
      console.log(`passes: ${name}: ${summary ? `${summary.pass} of ${summary.tests} tests passed` : 'no summary'}`
        + `${failed ? `, FAILED (exit ${signal || code})` : ''}, ${secs.toFixed(0)} s`);
      if (failed) printFailures(name, log);
      resolve({ name, secs, summary, failed, times });
    });
  });
}

/** Runs a command that is not a Node suite (the fuzz targets), its output as it comes. */
function runCommand(name, argv, env = {}) {
  const started = Date.now();
  console.log(`passes: ${name}: ${argv.join(' ')}`);
  return new Promise((resolve) => {
    const child = spawn(argv[0], argv.slice(1), { cwd: ROOT, env: { ...process.env, ...env },
      stdio: ['ignore', 'inherit', 'inherit'] });
    child.on('exit', (code, signal) => {
      const secs = (Date.now() - started) / 1000;
      const failed = code !== 0;
      console.log(`passes: ${name}: ${failed ? `FAILED (exit ${signal || code})` : 'passed'}, ${secs.toFixed(0)} s`);
      resolve({ name, secs, summary: null, failed, times: '' });
    });
  });
}

const SUMMARY_KEYS = ['tests', 'suites', 'pass', 'fail', 'cancelled', 'skipped', 'todo', 'duration_ms'];

/** The spec reporter's closing lines ("ℹ tests 12", ...), as numbers. */
function readSummary(log) {
  if (!existsSync(log)) return null;
  const text = readFileSync(log, 'utf8');
  const out = {};
  for (const k of SUMMARY_KEYS) {
    const m = new RegExp(`^ℹ ${k} ([0-9.]+)$`, 'm').exec(text);
    if (!m) return null;
    out[k] = Number(m[1]);
  }
  return out;
}

function printFailures(name, log) {
  const text = existsSync(log) ? readFileSync(log, 'utf8') : '';
  const at = text.indexOf('✖ failing tests:');
  console.log(`passes: ${name}: ${at >= 0 ? 'its failing tests' : `the end of ${path.relative(ROOT, log)}`}:`);
  console.log(at >= 0 ? text.slice(at) : text.split('\n').slice(-80).join('\n'));
}

function phase(name, secs) {
  appendFileSync(path.join(OUT, 'phases.tsv'), `${name}\t${secs.toFixed(0)}\n`);
}

// The order within a pass: the longest files first (measured: `test.sh` prints them), so that what runs last is short
// and both of a pass's slots finish together; the rest as they come.
const ALERTS = ['tests/integration/alert_delivery.test.mjs', 'tests/integration/alert_answers.test.mjs',
  'tests/integration/alert_records.test.mjs'];
const LONG = ['tests/browser/history.test.mjs', 'tests/browser/a11y.test.mjs', 'tests/integration/routes.test.mjs',
  ...ALERTS, 'tests/browser/figures.test.mjs', 'tests/browser/dashboard.test.mjs',
  'tests/browser/embed.test.mjs',
  'tests/integration/incidents.test.mjs', 'tests/integration/expiry.test.mjs', 'tests/integration/alerts.test.mjs',
  'tests/faults/idle.test.mjs', 'tests/integration/history.test.mjs', 'tests/integration/feed.test.mjs',
  'tests/faults/wait_failover.test.mjs'];
const ordered = (files) => [...LONG.filter((f) => files.includes(f)), ...files.filter((f) => !LONG.includes(f))];

const results = [];
let t0;

// 1. The alert deliveries at a 100 ms timeout, their three files at once: the sender's lock and claims must hold
// however short the HTTP timeout, and a dead webhook (first in every replica's list) must not delay the others. Then
// compose, whose Docker engine adds network interfaces: no Chromium may run beside it (its loads fail with
// ERR_NETWORK_CHANGED). The fuzz targets run beside both, at nice 19: they take the CPU the two leave idle (most of
// it: those suites mostly wait) but never a replica's turn. At nice 0 beside compose, a stall of the machine read as a
// timeout at 100 ms, and a create that timed out is made again (alert_sender.c says so): three creates of one alert.
t0 = Date.now();
const fuzz = flag('GLANCE_TEST_FUZZ', '1') && existsSync(path.join(ROOT, 'tests', 'fuzz', 'run.sh'));
// 45 s each (run.sh's default is 30): beside compose a target gets less of a core than alone; measured on fresh
// clones, 45 s there gave about what 30 s alone gave (20.4 M inputs in all against 22.4 M).
const fuzzEnv = { GLANCE_FUZZ_SECONDS: process.env.GLANCE_FUZZ_SECONDS || '45' };
const fuzzing = fuzz && runCommand('fuzz', ['nice', '-n', '19', 'tests/fuzz/run.sh'], fuzzEnv);
results.push(await runPass({ name: 'alerts-100ms', files: ALERTS, concurrency: ALERTS.length,
  env: { GLANCE_TEST_ALERT_TIMEOUT_MS: '100', GLANCE_TEST_DEAD_WEBHOOK: '1' } }));
if (compose.length) results.push(await runPass({ name: 'compose', files: compose }));
if (fuzzing) results.push(await fuzzing);
phase(['the alert deliveries at a 100 ms timeout', compose.length && 'compose', fuzz && 'the fuzz targets beside them']
  .filter(Boolean).join(', '), (Date.now() - t0) / 1000);

// 2. The two builds' passes side by side.
t0 = Date.now();
const together = [
  { name: 'release', files: [...ordered(twice), ...once], concurrency: PER_PASS },
  asan && { name: 'asan', files: ordered([...twice, ...solo.filter((f) => !soloSanitized.includes(f))]),
    env: SANITIZED, concurrency: PER_PASS },
].filter(Boolean);
results.push(...await Promise.all(together.map(runPass)));
phase(`suites: ${together.map((p) => p.name).join(', ')}, at once`, (Date.now() - t0) / 1000);

// 3. One file at a time: those that measure.
t0 = Date.now();
results.push(await runPass({ name: 'release-solo', files: solo }));
if (asan) results.push(await runPass({ name: 'asan-solo', files: soloSanitized, env: SANITIZED }));
phase('suites that measure, one at a time', (Date.now() - t0) / 1000);

// each phase's time, then the slowest files, then the summary of every pass (last, as the runner prints it)
const phases = readFileSync(path.join(OUT, 'phases.tsv'), 'utf8').trim().split('\n').map((l) => l.split('\t'));
console.log('\ntest.sh: time by phase');
for (const [name, secs] of phases) console.log(`  ${secs.padStart(5)} s  ${name}`);
const started = Number(process.env.GLANCE_TEST_STARTED || 0);
if (started) console.log(`  ${String(Math.round(Date.now() / 1000 - started)).padStart(5)} s  in all`);

const files = results
  .flatMap((r) => (r.times && existsSync(r.times) ? readFileSync(r.times, 'utf8').trim().split('\n') : [])
  .filter(Boolean).map((l) => ({ pass: r.name, ...JSON.parse(l) })));
files.sort((a, b) => b.ms - a.ms);
console.log('\ntest.sh: the 15 slowest test files');
for (const f of files.slice(0, 15)) {
  console.log(`  ${(f.ms / 1000).toFixed(1).padStart(6)} s  ${f.pass.padEnd(12)}  ${path.relative(ROOT, f.file)}`);
}

const total = Object.fromEntries(SUMMARY_KEYS.map((k) => [k, 0]));
for (const r of results) for (const k of SUMMARY_KEYS) total[k] += r.summary?.[k] ?? 0;
const failed = results.filter((r) => r.failed);
console.log(`\ntest.sh: ${results.length} passes (${results.map((r) => r.name).join(', ')})`
  + `${failed.length ? `; FAILED: ${failed.map((r) => r.name).join(', ')}` : ''}`);
for (const k of SUMMARY_KEYS) console.log(`ℹ ${k} ${k === 'duration_ms' ? total[k].toFixed(3) : total[k]}`);
process.exit(failed.length ? 1 : 0);
