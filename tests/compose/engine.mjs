// engine.mjs -- a Docker engine of the compose suite's own (containerd and dockerd on private sockets), the
// base and stand-in images it needs, and docker-compose driven against it with the project's own file.
//
// Nothing here talks to another daemon: every docker and docker-compose call carries DOCKER_HOST for the
// socket this module made. The data root lives in a fixed place (STATE_DIR) so that a second run finds its
// base images and build cache; the sockets, exec root and pid files live in a fresh temp dir per run.
// stop() ends both daemons by the PIDs this module started; a process 'exit' hook does it too if a test
// file dies before its after() hook runs.

import { spawn, execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync, writeSync, openSync, closeSync } from 'node:fs';
import path from 'node:path';
import { REPO_ROOT, sleep, waitUntil } from '../integration/harness.mjs';

export const HERE = path.join(REPO_ROOT, 'tests', 'compose');
// outside the repository, so the build context (.dockerignore) and git never see it
export const STATE_DIR = process.env.GLANCE_COMPOSE_STATE_DIR || '/var/tmp/glance-compose-test';
// Debian's 20.10 client, which matches its dockerd; /usr/local/bin/docker may be a newer client only
export const DOCKER = '/usr/bin/docker';
const DOCKERD = '/usr/sbin/dockerd';
const CONTAINERD = '/usr/bin/containerd';

/**
 * Runs a command, bounded by timeoutMs (then SIGKILL). Never rejects on a non-zero exit: resolves
 * {code, stdout, stderr, ms, timedOut}. input, when given, is written to its stdin. With buffer: true,
 * stdout is a Buffer.
 */
export function sh(file, args, { env = process.env, cwd = REPO_ROOT, input, timeoutMs = 60000, buffer = false } = {}) {
  return new Promise((resolve) => {
    const started = Date.now();
    const child = spawn(file, args, { env, cwd, stdio: ['pipe', 'pipe', 'pipe'] });
    const out = [];
    const err = [];
    let timedOut = false;
    const timer = setTimeout(() => { timedOut = true; child.kill('SIGKILL'); }, timeoutMs);
    child.stdout.on('data', (d) => out.push(d));
    child.stderr.on('data', (d) => err.push(d));
    child.on('error', (e) => err.push(Buffer.from(`${file}: ${e.message}\n`)));
    child.on('close', (code) => {
      clearTimeout(timer);
      const stdout = Buffer.concat(out);
      resolve({ code: code ?? -1, stdout: buffer ? stdout : stdout.toString('utf8'),
        stderr: Buffer.concat(err).toString('utf8'), ms: Date.now() - started, timedOut });
    });
    child.stdin.on('error', () => {});
    if (input !== undefined) child.stdin.end(input); else child.stdin.end();
  });
}

/** Throws with the command's output unless it exited 0; returns its result otherwise. */
export function check(r, what) {
  if (r.code !== 0) {
    const out = `${r.stdout}${r.stderr}`.trim().slice(-4000);
    throw new Error(`${what} exited ${r.code}${r.timedOut ? ' (timed out)' : ''}:\n${out}`);
  }
  return r;
}

/** true while pid runs and is not a zombie. */
function running(pid) {
  try { process.kill(pid, 0); } catch { return false; }
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2)[0] !== 'Z';
  } catch { return false; }
}

function cmdline(pid) {
  try { return readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0'); } catch { return []; }
}

/** SIGTERM, up to graceMs for the exit, then SIGKILL; only for a pid this suite started. */
async function terminate(pid, graceMs) {
  if (!running(pid)) return;
  try { process.kill(pid, 'SIGTERM'); } catch {}
  const deadline = Date.now() + graceMs;
  while (running(pid) && Date.now() < deadline) await sleep(100);
  if (running(pid)) {
    try { process.kill(pid, 'SIGKILL'); } catch {}
    const killDeadline = Date.now() + 5000;
    while (running(pid) && Date.now() < killDeadline) await sleep(50);
  }
}

// The lock file names the node process that owns STATE_DIR and the daemons it started. A second run while
// one is live waits for it (the data root and the project name cannot be shared); daemons left by a run
// that died are ours to stop.
const LOCK = path.join(STATE_DIR, 'owner.json');

async function takeLock(log) {
  const deadline = Date.now() + 20 * 60000;
  let told = false;
  for (;;) {
    try {
      const fd = openSync(LOCK, 'wx');
      writeSync(fd, JSON.stringify({ node: process.pid }));
      closeSync(fd);
      return;
    } catch (e) {
      if (e.code !== 'EEXIST') throw e;
    }
    let prev = null;
    try { prev = JSON.parse(readFileSync(LOCK, 'utf8')); } catch {}
    let age = Infinity;
    try { age = Date.now() - statSync(LOCK).mtimeMs; } catch {}
    const live = prev ? running(prev.node) && cmdline(prev.node)[0]?.includes('node') : age < 5000; // null: being written
    if (live) {
      if (Date.now() > deadline) throw new Error(`another compose suite (node pid ${prev?.node}) still holds ${LOCK} after 20 minutes`);
      if (!told) { log(`waiting for another compose suite (node pid ${prev?.node}) to finish`); told = true; }
      await sleep(2000);
      continue;
    }
    for (const pid of [prev?.dockerd, prev?.containerd]) {
      // only a daemon whose command line names our data root: the pid may have been reused since
      if (pid && running(pid) && cmdline(pid).some((a) => a.includes(STATE_DIR))) await terminate(pid, 30000);
    }
    rmSync(LOCK, { force: true });
  }
}

/**
 * Installs what is missing (packages.sh), then starts containerd and dockerd of our own and waits until
 * dockerd answers. Rejects with a clear reason (not root, a daemon that does not come up, with its log).
 * Returns the engine: {host, env, run dir, docker(args, opts), stop()}.
 */
export async function startEngine({ log = () => {} } = {}) {
  if (typeof process.getuid === 'function' && process.getuid() !== 0) {
    throw new Error('the compose suite needs root: it installs docker.io and runs a Docker daemon of its own');
  }
  let t = Date.now();
  check(await sh(path.join(HERE, 'packages.sh'), [], { timeoutMs: 600000 }), 'tests/compose/packages.sh');
  log(`packages: ${Date.now() - t} ms`);

  mkdirSync(path.join(STATE_DIR, 'data'), { recursive: true });
  await takeLock(log);
  // a short path: unix socket paths are limited to 107 bytes, and containerd nests its sockets deep
  const run = mkdtempSync('/tmp/glance-dockerd-');
  const sock = path.join(run, 'docker.sock');
  const ctrSock = path.join(run, 'containerd.sock');
  const engine = {
    run,
    host: `unix://${sock}`,
    env: null,
    daemons: {},
    logs: { dockerd: path.join(run, 'dockerd.log'), containerd: path.join(run, 'containerd.log') },
  };
  // containerd of our own even when the machine runs one: dockerd would otherwise adopt
  // /run/containerd/containerd.sock, another daemon's, if it finds it there
  const ctrConfig = path.join(run, 'containerd.toml');
  writeFileSync(ctrConfig, [
    'version = 2',
    `root = "${path.join(STATE_DIR, 'data', 'containerd')}"`,
    `state = "${path.join(run, 'containerd')}"`,
    // Kubernetes' plugin has nothing to do here
    'disabled_plugins = ["io.containerd.grpc.v1.cri"]',
    '[grpc]',
    `  address = "${ctrSock}"`,
    '[ttrpc]',
    `  address = "${ctrSock}.ttrpc"`,
    '[debug]',
    `  address = "${ctrSock}.debug"`,
    '',
  ].join('\n'));
  const daemonEnv = { PATH: '/usr/sbin:/usr/bin:/sbin:/bin', HOME: process.env.HOME || '/root' };
  const spawnDaemon = (name, bin, args) => {
    const fd = openSync(engine.logs[name], 'a');
    const child = spawn(bin, args, { env: daemonEnv, stdio: ['ignore', fd, fd], detached: true });
    closeSync(fd);
    child.on('error', () => {});
    child.unref();
    engine.daemons[name] = child.pid;
    return child;
  };
  const stopOnExit = () => stopSync(engine);
  // a test run interrupted (^C, or the runner's timeout) must not leave the daemons and their containers up
  const stopOnSignal = (signal) => { stopSync(engine); process.exit(signal === 'SIGINT' ? 130 : 143); };
  process.on('exit', stopOnExit);
  process.on('SIGINT', stopOnSignal);
  process.on('SIGTERM', stopOnSignal);

  engine.stop = async () => {
    process.off('exit', stopOnExit);
    process.off('SIGINT', stopOnSignal);
    process.off('SIGTERM', stopOnSignal);
    // dockerd first: on SIGTERM it stops its containers (no live-restore) before it exits
    if (engine.daemons.dockerd) await terminate(engine.daemons.dockerd, 60000);
    if (engine.daemons.containerd) await terminate(engine.daemons.containerd, 15000);
    try { rmSync(LOCK); } catch {}
    try { rmSync(run, { recursive: true, force: true }); } catch {}
  };

  try {
    t = Date.now();
    // the paths again as flags, so that a leftover daemon can be told apart by its command line
    const ctr = spawnDaemon('containerd', CONTAINERD, ['--config', ctrConfig, '--root', path.join(STATE_DIR, 'data', 'containerd'),
      '--state', path.join(run, 'containerd'), '--address', ctrSock]);
    await waitUntil(() => {
      if (ctr.exitCode !== null || !running(ctr.pid)) throw new Error('containerd exited');
      return existsSync(ctrSock);
    }, { timeoutMs: 30000, intervalMs: 100, message: 'containerd to open its socket' });
    const dockerd = spawnDaemon('dockerd', DOCKERD, [
      '--data-root', path.join(STATE_DIR, 'data', 'docker'),
      '--exec-root', path.join(run, 'exec'),
      '--pidfile', path.join(run, 'docker.pid'),
      '-H', engine.host,
      '--containerd', ctrSock,
    ]);
    writeFileSync(LOCK, JSON.stringify({ node: process.pid, dockerd: dockerd.pid, containerd: ctr.pid }));
    engine.env = {
      PATH: '/usr/bin:/usr/sbin:/bin:/sbin',
      HOME: process.env.HOME || '/root',
      DOCKER_HOST: engine.host,
      // the classic builder: Debian's engine has no buildx, and docker-compose builds through the API
      DOCKER_BUILDKIT: '0',
      COMPOSE_DOCKER_CLI_BUILD: '0',
      // a user's client config (contexts, credential helpers) must not redirect anything
      DOCKER_CONFIG: path.join(run, 'client'),
    };
    mkdirSync(engine.env.DOCKER_CONFIG);
    engine.docker = (args, opts = {}) => sh(DOCKER, args, { env: engine.env, ...opts });
    await waitUntil(async () => {
      if (!running(dockerd.pid)) throw new Error('dockerd exited');
      return (await engine.docker(['version', '--format', '{{.Server.Version}}'], { timeoutMs: 5000 })).code === 0;
    }, { timeoutMs: 60000, intervalMs: 250, message: `dockerd to answer on ${sock}` });
    log(`daemons up: ${Date.now() - t} ms`);
  } catch (err) {
    const tail = (f) => { try { return readFileSync(f, 'utf8').slice(-3000); } catch { return ''; } };
    await engine.stop();
    throw new Error(`${err.message}\n--- containerd log ---\n${tail(engine.logs.containerd)}\n--- dockerd log ---\n${tail(engine.logs.dockerd)}`);
  }
  return engine;
}

/** The exit hook's stop: the same order as stop(), synchronous, shorter waits. */
function stopSync(engine) {
  const pids = [engine.daemons.dockerd, engine.daemons.containerd].filter(Boolean);
  // a daemon that exited stays a zombie until node reaps it, which it cannot do while it waits here
  const script = `alive() { s=$(cut -d' ' -f3 /proc/$1/stat 2>/dev/null); [ -n "$s" ] && [ "$s" != Z ]; }
    for p in "$@"; do alive "$p" || continue; kill -TERM "$p"; i=0
      while alive "$p" && [ $i -lt 300 ]; do sleep 0.1; i=$((i+1)); done
      alive "$p" && kill -KILL "$p"; done`;
  try {
    execFileSync('/bin/sh', ['-c', script, 'stop', ...pids.map(String)], { stdio: 'ignore', timeout: 70000 });
  } catch {}
  try { rmSync(LOCK); } catch {}
  try { rmSync(engine.run, { recursive: true, force: true }); } catch {}
}

// ------------------------------------------------------------------------------------------ images

/** debian:12 and debian:12-slim from Debian's mirror when the engine lacks them (base-images.sh). */
export async function ensureBaseImages(engine) {
  const work = path.join(STATE_DIR, 'debootstrap');
  return check(await sh(path.join(HERE, 'base-images.sh'), [work], { env: { ...engine.env, DOCKER }, timeoutMs: 900000 }),
    'tests/compose/base-images.sh');
}

/** The compose file as data (Debian's python3-yaml, through tests/deploy/yaml2json.py). */
export async function readComposeFile(file = path.join(REPO_ROOT, 'docker-compose.yml')) {
  const r = check(await sh('python3', [path.join(REPO_ROOT, 'tests', 'deploy', 'yaml2json.py'), file]), 'yaml2json.py');
  return JSON.parse(r.stdout)[0].docs[0];
}

/**
 * For every service that names a registry image and builds nothing (redis, haproxy), builds the stand-in
 * tests/compose/<name>.Dockerfile as glance-test/<name>:<tag> and returns the override file's text, which
 * changes only `image:` of those services. Throws when a service's image has no stand-in.
 */
export async function buildStandIns(engine, composeDoc, { log = () => {} } = {}) {
  const lines = ['# generated by tests/compose/engine.mjs: the official images swapped for stand-ins built from Debian', 'services:'];
  // an image some service builds (glance-api:local, which the demo reuses) is the project's own
  const built = new Set(Object.values(composeDoc.services).filter((d) => d.build).map((d) => d.image));
  for (const [service, def] of Object.entries(composeDoc.services)) {
    if (def.build || !def.image || built.has(def.image)) continue;
    const [name, tag = 'latest'] = def.image.split(':');
    const dockerfile = path.join(HERE, `${path.basename(name)}.Dockerfile`);
    if (!existsSync(dockerfile)) throw new Error(`service ${service} uses ${def.image}, and tests/compose has no stand-in ${path.basename(dockerfile)}`);
    const standIn = `glance-test/${path.basename(name)}:${tag}`;
    const t = Date.now();
    check(await engine.docker(['build', '-q', '-t', standIn, '-f', dockerfile, HERE], { timeoutMs: 600000 }), `docker build ${standIn}`);
    log(`${standIn} (for ${def.image}): ${Date.now() - t} ms`);
    lines.push(`  ${service}:`, `    image: ${standIn}`);
  }
  return `${lines.join('\n')}\n`;
}

// ------------------------------------------------------------------------------------------ compose

/**
 * docker-compose against the engine with the project's docker-compose.yml unchanged plus the override,
 * under our own project name, with exactly the environment given (nothing from the caller's shell or a
 * .env in the checkout). Returns {run(args, opts), ...}.
 */
export function composeProject(engine, { project, overrideFile, env = {}, emptyEnvFile }) {
  const fullEnv = { ...engine.env };
  for (const [k, v] of Object.entries(env)) if (v !== undefined) fullEnv[k] = String(v);
  const base = ['--env-file', emptyEnvFile, '-f', path.join(REPO_ROOT, 'docker-compose.yml'), '-f', overrideFile, '-p', project,
    '--project-directory', REPO_ROOT];
  return {
    project,
    env: fullEnv,
    run: (args, opts = {}) => sh('docker-compose', [...base, ...args], { env: fullEnv, timeoutMs: 300000, ...opts }),
  };
}

/** A temp dir for one run's generated files, removed by the caller. */
export function runDir() {
  return mkdtempSync('/tmp/glance-compose-');
}
