// config.test.mjs -- the deployment files, checked as far as this machine can without Docker or a cluster:
// HAProxy loads its configuration, docker compose validates its file, the shell scripts pass shellcheck,
// the Kubernetes YAML parses and hangs together, the Dockerfile's runtime stage has every library
// glance-api links, and .env.sample means the same to glance-api, docker compose and the docs.

import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { API_BIN, REPO_ROOT, makeTempDir, freePort, spawnApi, request, waitUntil, cleanup } from '../integration/harness.mjs';
import { run } from './stack.mjs';

const repo = (...p) => path.join(REPO_ROOT, ...p);
const read = (...p) => readFileSync(repo(...p), 'utf8');
const PYTHON = existsSync('/usr/bin/python3') ? '/usr/bin/python3' : 'python3'; // Debian's, with python3-yaml

after(cleanup);

/** Parses YAML files with Debian's python3-yaml: [{file, docs}]. */
async function parseYaml(files) {
  const r = await run(PYTHON, [repo('tests/deploy/yaml2json.py'), ...files]);
  assert.equal(r.code, 0, `YAML does not parse: ${r.stderr}`);
  return JSON.parse(r.stdout);
}

/** `docker-compose config` (Debian's docker-compose) with an env file; resolves the parsed result. */
async function composeConfig(envFile, ...extra) {
  const args = ['--env-file', envFile, '-f', repo('docker-compose.yml'), ...extra, 'config'];
  const r = await run('docker-compose', args);
  assert.equal(r.code, 0, `docker-compose ${args.join(' ')}: ${r.stderr}`);
  const out = path.join(makeTempDir('glance-compose-'), 'config.yml');
  writeFileSync(out, r.stdout);
  return (await parseYaml([out]))[0].docs[0];
}

function emptyEnvFile() {
  const f = path.join(makeTempDir('glance-env-'), 'empty.env');
  writeFileSync(f, '');
  return f;
}

// ------------------------------------------------------------------------------------------- HAProxy

test('HAProxy loads deploy/haproxy.cfg with the docker compose server list, without a warning', async () => {
  const r = await run('haproxy', ['-c', '-f', repo('deploy/haproxy.cfg'), '-f', repo('deploy/haproxy.docker.cfg')],
    { env: { ...process.env, GLANCE_LB_SOCKET: path.join(makeTempDir('glance-lb-'), 'admin.sock') } });
  assert.equal(r.code, 0, r.stdout + r.stderr);
  assert.doesNotMatch(r.stdout + r.stderr, /WARNING|ALERT/);
});

test('HAProxy loads deploy/haproxy.cfg with a local server list like deploy/stack.sh writes, without a warning', async () => {
  const servers = path.join(makeTempDir('glance-lb-'), 'haproxy.servers.cfg');
  const list = '    server api1 127.0.0.1:18081\n    server api2 127.0.0.1:18082\n';
  writeFileSync(servers, `backend api\n${list}backend feed\n    default-server on-marked-down shutdown-sessions\n${list}`);
  const r = await run('haproxy', ['-c', '-f', repo('deploy/haproxy.cfg'), '-f', servers]);
  assert.equal(r.code, 0, r.stdout + r.stderr);
  assert.doesNotMatch(r.stdout + r.stderr, /WARNING|ALERT/);
  assert.match(read('deploy/stack.sh'), /-f "\$repo\/deploy\/haproxy\.cfg" -f "\$dir\/haproxy\.servers\.cfg"/,
    'stack.sh uses the one shared haproxy.cfg');
});

test('haproxy.cfg balances round robin, checks /readyz every second, retries safely and keeps WebSockets open', () => {
  const cfg = read('deploy/haproxy.cfg').split('\n').map((l) => l.replace(/#.*/, '').trim().replace(/\s+/g, ' ')).filter(Boolean);
  for (const line of [
    'balance roundrobin',
    'option httpchk GET /readyz',
    'timeout tunnel 1h',
    'retry-on conn-failure empty-response',
    'option redispatch 1',
    'http-check disable-on-404',
    'use_backend feed if { hdr(upgrade) -i websocket }',
  ]) assert.ok(cfg.includes(line), `haproxy.cfg has "${line}"`);
  const ds = cfg.find((l) => l.startsWith('default-server '));
  for (const w of ['check', 'inter 1s', 'fall 2']) assert.ok(ds.includes(w), `default-server has ${w}`);
  // a POST waiting to connect to a replica that is marked down is retried, never cut: only feeds are
  assert.ok(!ds.includes('shutdown-sessions'), 'the API backend keeps its sessions when a replica is marked down');
  const connect = cfg.find((l) => l.startsWith('timeout connect '));
  assert.ok(['100ms', '250ms', '500ms', '1s'].includes(connect.split(' ')[2]), `a short connect timeout (${connect})`);
  const docker = read('deploy/haproxy.docker.cfg');
  assert.match(docker, /nameserver \S+ 127\.0\.0\.11:53/);
  const backends = docker.split(/^backend /m).slice(1);
  assert.deepEqual(backends.map((b) => b.split('\n')[0].trim()), ['api', 'feed']);
  for (const b of backends) assert.match(b, /server-template api "\$\{GLANCE_LB_SLOTS-10\}" api:8080 resolvers docker init-addr none/);
  assert.doesNotMatch(backends[0], /shutdown-sessions/);
  assert.match(backends[1], /^\s*default-server on-marked-down shutdown-sessions$/m);
  assert.match(read('deploy/stack.sh'), /backend feed\n\s*# .*\n\s*default-server on-marked-down shutdown-sessions\n/,
    'stack.sh writes the same feed backend');
});

// ------------------------------------------------------------------------------------ docker compose

test('docker-compose.yml validates with Debian\'s docker-compose, with and without the demo profile', async () => {
  const env = emptyEnvFile();
  for (const extra of [[], ['--profile', 'demo']]) {
    const r = await run('docker-compose', ['--env-file', env, '-f', repo('docker-compose.yml'), ...extra, 'config', '-q']);
    assert.equal(r.code, 0, `docker-compose ${extra.join(' ')} config -q: ${r.stdout}${r.stderr}`);
  }
});

test('compose runs Redis with deploy/redis.conf on a named volume, three api replicas and HAProxy on 8080', async () => {
  const c = await composeConfig(emptyEnvFile(), '--profile', 'demo');
  const { redis, api, lb, demo } = c.services;

  assert.ok(redis.command.includes('/usr/local/etc/redis/redis.conf'));
  assert.ok(redis.volumes.some((v) => v.startsWith(`${repo('deploy/redis.conf')}:/usr/local/etc/redis/redis.conf`)), JSON.stringify(redis.volumes));
  assert.ok(redis.volumes.some((v) => v.startsWith('redis-data:/data')), JSON.stringify(redis.volumes));
  assert.ok('redis-data' in c.volumes);
  assert.deepEqual(redis.healthcheck.test, ['CMD', 'redis-cli', 'ping']);

  assert.equal(api.build.context, REPO_ROOT);
  assert.equal(api.deploy.replicas, 3);
  assert.equal(api.depends_on.redis.condition, 'service_healthy');
  assert.equal(api.environment.GLANCE_REDIS_URL, 'redis://redis:6379/0');
  assert.equal(api.environment.GLANCE_BOTS, 'main:360;demo:16', 'a demo configuration without a .env');
  assert.equal(api.environment.GLANCE_PASSPHRASE, null, 'no passphrase unless configured');
  assert.ok(!api.ports, 'replicas are reached through the load balancer only');

  assert.ok(lb.volumes.some((v) => v.startsWith(`${repo('deploy/haproxy.cfg')}:`)));
  assert.ok(lb.volumes.some((v) => v.startsWith(`${repo('deploy/haproxy.docker.cfg')}:`)));
  assert.ok(lb.ports.some((p) => p.published === 8080 && p.target === 8080), JSON.stringify(lb.ports));

  assert.deepEqual(demo.profiles, ['demo']);
  assert.match(demo.entrypoint.join(' '), /demo-fleet\.sh http:\/\/lb:8080/);
});

test('.env.sample configures glance-api, docker compose and the stack alike, and documents every variable', async () => {
  // glance-api reads it and starts (it listens even while its Redis is missing)
  const port = await freePort();
  const api = spawnApi({ GLANCE_ENV_FILE: repo('.env.sample'), GLANCE_HOST: '127.0.0.1', GLANCE_PORT: port,
    GLANCE_REDIS_URL: `redis://127.0.0.1:${await freePort()}/0` });
  await waitUntil(async () => {
    if (api.child.exitInfo) throw new Error(`glance-api rejected .env.sample: ${api.stderr()}`);
    return (await request(port, 'GET', '/healthz', { timeoutMs: 1000 }).catch(() => ({}))).status === 200;
  }, { timeoutMs: 10000, message: 'glance-api started with .env.sample' });

  // docker compose reads the same value from it
  const c = await composeConfig(repo('.env.sample'));
  assert.equal(c.services.api.environment.GLANCE_BOTS, 'main:360;demo:16');

  // and so do stack.sh and run.sh
  const r = await run('bash', ['-c', `. deploy/env.sh; glance_setting GLANCE_BOTS none; glance_setting GLANCE_LB_PORT 8080`],
    { env: { PATH: process.env.PATH, GLANCE_ENV_FILE: repo('.env.sample') } });
  assert.equal(r.stdout, 'main:360;demo:16\n8080\n');

  const sample = read('.env.sample');
  const section = read('docs/CONFIGURATION.md').split('## Every variable')[1]?.split('\n## ')[0] || '';
  const documented = [...section.matchAll(/^\| `(GLANCE_[A-Z_]+)`/gm)].map((m) => m[1]);
  assert.ok(documented.length >= 10, 'docs/CONFIGURATION.md lists the variables');
  // every variable glance-api reads is in that table: its sources name each one as a string of its own
  const readByApi = new Set();
  const walk = (dir) => {
    for (const name of readdirSync(dir)) {
      const p = path.join(dir, name);
      if (statSync(p).isDirectory()) walk(p);
      else if (/\.[ch]$/.test(name)) for (const m of readFileSync(p, 'utf8').matchAll(/"(GLANCE_[A-Z_]+)"/g)) readByApi.add(m[1]);
    }
  };
  walk(repo('services/api'));
  assert.ok(readByApi.has('GLANCE_BOTS') && readByApi.size >= 10, `the variables glance-api reads: ${[...readByApi].join(' ')}`);
  for (const v of readByApi) assert.ok(documented.includes(v), `docs/CONFIGURATION.md documents ${v}, which glance-api reads`);
  // and .env.sample mentions each, but for the variable that names the file itself (a .env cannot set it)
  for (const v of documented.filter((d) => d !== 'GLANCE_ENV_FILE')) {
    assert.match(sample, new RegExp(`\\b${v}\\b`), `.env.sample mentions ${v}`);
  }
});

// -------------------------------------------------------------------------------------------- shell

function shellScripts() {
  const out = [];
  const skipDirs = new Set(['.git', 'node_modules']);
  const walk = (dir) => {
    for (const name of readdirSync(dir)) {
      const p = path.join(dir, name);
      const st = statSync(p);
      if (st.isDirectory()) {
        if (!skipDirs.has(name) && !/^build/.test(name)) walk(p);
      } else if (st.size < 200000) {
        const head = readFileSync(p, 'utf8').slice(0, 200);
        if (name.endsWith('.sh') || /^#!.*\b(bash|sh)\b/.test(head) || /^# shellcheck shell=/m.test(head)) out.push(path.relative(REPO_ROOT, p));
      }
    }
  };
  walk(REPO_ROOT);
  return out.sort();
}

test('deploy/stack.sh refuses ports that collide, with one line, before it starts anything', async () => {
  const dir = makeTempDir();
  const up = (env) => run('bash', ['deploy/stack.sh', 'up', '3'], { env: { ...process.env, GLANCE_STACK_DIR: dir, ...env } });
  let r = await up({ GLANCE_LB_PORT: '18082', GLANCE_STACK_API_PORT: '18081' });
  assert.equal(r.code, 2, r.stderr);
  assert.equal(r.stderr, 'stack: port 18082 is both GLANCE_LB_PORT and replica api2 (GLANCE_STACK_API_PORT + 1); give them different ports\n');
  r = await up({ GLANCE_LB_STATS_PORT: '6380', GLANCE_STACK_REDIS_PORT: '6380' });
  assert.equal(r.code, 2, r.stderr);
  assert.match(r.stderr, /^stack: port 6380 is both GLANCE_LB_STATS_PORT and GLANCE_STACK_REDIS_PORT;/);
  r = await up({ GLANCE_STACK_API_PORT: '65534' });
  assert.equal(r.code, 2, r.stderr);
  assert.match(r.stderr, /^stack: GLANCE_STACK_API_PORT 65534 leaves no port for replica api3/);
  assert.ok(!existsSync(path.join(dir, 'procs')), 'nothing was started');
});

test('every shell script passes shellcheck', async () => {
  const scripts = shellScripts();
  for (const s of ['run.sh', 'test.sh', 'deploy/stack.sh', 'deploy/env.sh', 'scripts/deps.sh', 'scripts/build.sh', 'scripts/demo-fleet.sh']) {
    assert.ok(scripts.includes(s), `${s} is checked (found: ${scripts.join(' ')})`);
  }
  const r = await run('shellcheck', ['-x', ...scripts]);
  assert.equal(r.code, 0, `shellcheck:\n${r.stdout}${r.stderr}`);
});

// ---------------------------------------------------------------------------------------- Kubernetes

test('the Kubernetes manifests parse and hang together: probes, grace, resources, PDB, HPA, Ingress, Redis', async () => {
  const dir = repo('deploy/k8s');
  const files = readdirSync(dir).filter((f) => f.endsWith('.yaml')).map((f) => path.join(dir, f));
  const parsed = await parseYaml(files);
  const kust = parsed.find((p) => p.file.endsWith('kustomization.yaml')).docs[0];
  assert.deepEqual([...kust.resources].sort(), files.map((f) => path.basename(f)).filter((f) => f !== 'kustomization.yaml').sort(),
    'kustomization.yaml lists every manifest');
  const docs = parsed.filter((p) => !p.file.endsWith('kustomization.yaml')).flatMap((p) => p.docs);
  for (const d of docs) {
    assert.ok(d.apiVersion && d.kind && d.metadata?.name, `a Kubernetes object: ${JSON.stringify(d).slice(0, 200)}`);
  }
  const get = (kind, name) => {
    const d = docs.find((x) => x.kind === kind && (!name || x.metadata.name === name));
    assert.ok(d, `a ${kind}${name ? ` ${name}` : ''}`);
    return d;
  };

  const deploy = get('Deployment', 'glance-api');
  const pod = deploy.spec.template.spec;
  const ctr = pod.containers[0];
  const podLabels = deploy.spec.template.metadata.labels;
  const matches = (sel) => Object.entries(sel).every(([k, v]) => podLabels[k] === v);
  assert.equal(deploy.spec.replicas, 3);
  assert.ok(matches(deploy.spec.selector.matchLabels));
  assert.equal(ctr.readinessProbe.httpGet.path, '/readyz');
  assert.equal(ctr.livenessProbe.httpGet.path, '/healthz');
  // the drain + glance-api's 10 s to close feeds and finish requests must fit in the grace period
  const preStop = Number(ctr.lifecycle?.preStop?.exec?.command?.[1] || 0);
  const drain = Number(get('ConfigMap', 'glance-config').data.GLANCE_DRAIN_MS ?? 3000) / 1000;
  assert.ok(drain >= 3, `the drain outlasts the readiness probe's detection (${drain} s)`);
  assert.ok(pod.terminationGracePeriodSeconds >= preStop + drain + 10 + 5,
    `grace ${pod.terminationGracePeriodSeconds} s, preStop ${preStop} s, drain ${drain} s`);
  assert.ok(ctr.resources.requests.cpu && ctr.resources.requests.memory);
  assert.equal(pod.securityContext.runAsNonRoot, true);
  assert.equal(pod.securityContext.runAsUser, 10001, 'the Dockerfile\'s user');
  assert.ok(ctr.envFrom.some((e) => e.configMapRef?.name === 'glance-config'));
  get('ConfigMap', 'glance-config');

  const svc = get('Service', 'glance-api');
  assert.ok(matches(svc.spec.selector));
  const svcPort = svc.spec.ports[0];
  assert.equal(svcPort.targetPort, ctr.ports[0].name);

  const ing = get('Ingress');
  const backend = ing.spec.rules[0].http.paths[0].backend.service;
  assert.equal(backend.name, 'glance-api');
  assert.equal(backend.port.name, svcPort.name);
  assert.ok(Number(ing.metadata.annotations['nginx.ingress.kubernetes.io/proxy-read-timeout']) >= 3600, 'feeds outlive the default 60 s');

  const pdb = get('PodDisruptionBudget');
  assert.ok(matches(pdb.spec.selector.matchLabels));
  const hpa = get('HorizontalPodAutoscaler');
  assert.equal(hpa.spec.scaleTargetRef.kind, 'Deployment');
  assert.equal(hpa.spec.scaleTargetRef.name, 'glance-api');
  assert.equal(hpa.spec.minReplicas, 3);

  const sts = get('StatefulSet', 'glance-redis');
  const redisSvc = get('Service', sts.spec.serviceName);
  assert.ok(Object.entries(redisSvc.spec.selector).every(([k, v]) => sts.spec.template.metadata.labels[k] === v));
  assert.ok(sts.spec.volumeClaimTemplates.length === 1, 'Redis keeps its AOF on a volume');
  const config = get('ConfigMap', 'glance-config');
  assert.match(config.data.GLANCE_REDIS_URL, new RegExp(`^redis://${redisSvc.metadata.name}:6379/`));

  // the cluster's redis.conf is deploy/redis.conf
  const directives = (text) => text.split('\n').map((l) => l.trim()).filter((l) => l && !l.startsWith('#'));
  const redisConf = get('ConfigMap', 'glance-redis-config').data['redis.conf'];
  assert.deepEqual(directives(redisConf), directives(read('deploy/redis.conf')));
  assert.ok(directives(redisConf).includes('appendonly yes'));
});

test('kubectl kustomize renders deploy/k8s (when kubectl is installed)', async (t) => {
  const which = await run('bash', ['-c', 'command -v kubectl']);
  if (which.code !== 0) { t.skip('kubectl is not installed'); return; }
  const r = await run('kubectl', ['kustomize', repo('deploy/k8s')]);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /namespace: glance/);
});

// -------------------------------------------------------------------------------------------- Docker

function dockerfileStages() {
  const lines = read('Dockerfile').replace(/\\\n/g, ' ').split('\n').filter((l) => l.trim() && !l.trim().startsWith('#'));
  const stages = [];
  for (const l of lines) {
    const [instr, ...rest] = l.trim().split(/\s+/);
    if (instr.toUpperCase() === 'FROM') stages.push({ from: rest.join(' '), lines: [] });
    else stages[stages.length - 1].lines.push({ instr: instr.toUpperCase(), args: rest.join(' ') });
  }
  return stages;
}

test('Dockerfile: Debian 12 build stage, slim runtime as a non-root user with web/, a /healthz check and SIGTERM', () => {
  const [build, runtime, ...more] = dockerfileStages();
  assert.equal(more.length, 0);
  assert.equal(build.from, 'debian:12 AS build');
  assert.equal(runtime.from, 'debian:12-slim');
  const has = (instr, re) => runtime.lines.some((l) => l.instr === instr && re.test(l.args));
  assert.ok(has('USER', /^10001(:10001)?$/));
  assert.ok(has('COPY', /^web\/ /));
  assert.ok(has('COPY', /^--from=build /));
  assert.ok(has('HEALTHCHECK', /\/healthz/));
  assert.ok(has('STOPSIGNAL', /^SIGTERM$/));
  assert.ok(has('EXPOSE', /^8080$/));
  assert.ok(!runtime.lines.some((l) => l.instr === 'RUN' && /-dev\b|build-essential|cmake/.test(l.args)), 'no build tools at run time');
});

test('Dockerfile: the runtime stage installs the Debian package of every library glance-api and glance-sim link', async (t) => {
  const bins = [API_BIN, path.join(path.dirname(API_BIN), 'glance-sim')].filter((b) => existsSync(b));
  const libs = new Set();
  for (const bin of bins) {
    const ldd = await run('ldd', [bin]);
    assert.equal(ldd.code, 0, ldd.stderr);
    if (/libasan|libubsan/.test(ldd.stdout)) { t.skip('a sanitizer build'); return; }
    const found = [...ldd.stdout.matchAll(/=> (\/\S+)/g)].map((m) => m[1]);
    assert.ok(found.length >= 3, ldd.stdout);
    for (const l of found) libs.add(l);
  }
  const [, runtime] = dockerfileStages();
  const installed = runtime.lines.filter((l) => l.instr === 'RUN').map((l) => l.args).join(' ');
  const apt = /apt-get install (.*?)(&&|$)/.exec(installed)[1].split(/\s+/).filter((w) => w && !w.startsWith('-'));
  // what those packages bring with them (libcurl4 brings libnghttp2-14 ...), as this machine's dpkg knows it
  const closure = new Set(apt);
  for (let todo = [...apt]; todo.length;) {
    const r = await run('dpkg-query', ['-W', '-f=${Depends},${Pre-Depends}', todo.pop()]);
    for (const dep of r.stdout.split(/[,|]/).map((d) => d.trim().split(/[\s:(]/)[0]).filter(Boolean)) {
      if (!closure.has(dep)) { closure.add(dep); todo.push(dep); }
    }
  }
  for (const lib of libs) {
    let r = await run('dpkg', ['-S', lib]);
    if (r.code !== 0) r = await run('dpkg', ['-S', lib.replace(/^\/usr\/lib\//, '/lib/').replace(/^\/lib\//, '/usr/lib/')]);
    assert.equal(r.code, 0, `no Debian package owns ${lib}`);
    const pkg = r.stdout.split(':')[0];
    if (pkg === 'libc6') continue; // in every Debian image
    assert.ok(closure.has(pkg), `${lib} comes from ${pkg}, which the runtime stage does not install, nor anything it installs (it installs ${apt.join(' ')})`);
  }
});

test('.dockerignore lets in everything the Dockerfile copies, and never a .env', () => {
  const rules = read('.dockerignore').split('\n').map((l) => l.trim()).filter((l) => l && !l.startsWith('#'));
  // the allow-list form: exclude everything, then let named paths in
  assert.equal(rules[0], '*');
  const allowed = rules.filter((r) => r.startsWith('!')).map((r) => r.slice(1).replace(/\/$/, ''));
  const sources = dockerfileStages().flatMap((s) => s.lines)
    .filter((l) => l.instr === 'COPY' && !l.args.startsWith('--from'))
    .flatMap((l) => l.args.split(/\s+/).slice(0, -1)).map((s) => s.replace(/\/$/, ''));
  for (const src of sources) {
    assert.ok(existsSync(repo(src)), `${src} exists`);
    assert.ok(allowed.some((a) => src === a || src.startsWith(`${a}/`)), `${src} is in the build context`);
  }
  assert.ok(!allowed.some((a) => a === '.env' || a.startsWith('.env')));
});
