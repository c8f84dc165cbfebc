// docker_build.test.mjs -- the Dockerfile's build stage replayed without Docker: only what its COPY lines
// bring in (and .dockerignore lets through) goes into an empty directory, then the same build runs there.
// This catches a source the image build would miss; the base image's packages are checked against
// scripts/deps.sh, the list this machine was built with.

import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { cpSync, existsSync, mkdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { REPO_ROOT, makeTempDir, cleanup } from '../integration/harness.mjs';
import { run } from './stack.mjs';

after(cleanup);

function buildStage() {
  const text = readFileSync(path.join(REPO_ROOT, 'Dockerfile'), 'utf8').replace(/\\\n/g, ' ');
  const lines = text.split('\n').map((l) => l.trim()).filter((l) => l && !l.startsWith('#'));
  const start = lines.findIndex((l) => /^FROM debian:12 AS build$/i.test(l));
  assert.ok(start >= 0, 'a build stage FROM debian:12');
  const stage = [];
  for (const l of lines.slice(start + 1)) {
    if (/^FROM /i.test(l)) break;
    const [instr, ...rest] = l.split(/\s+/);
    stage.push({ instr: instr.toUpperCase(), args: rest });
  }
  return stage;
}

test('the build stage installs every build package scripts/deps.sh installs', () => {
  // the first packages=( ... ) list: what building and running need (the tests' own tools come after it)
  const deps = /^packages=\(([^)]*)\)/m.exec(readFileSync(path.join(REPO_ROOT, 'scripts/deps.sh'), 'utf8'))[1];
  const wanted = [...deps.matchAll(/\b(build-essential|cmake|pkg-config|lib[a-z0-9.+-]*-dev)\b/g)].map((m) => m[1]);
  const run = buildStage().filter((s) => s.instr === 'RUN').map((s) => s.args.join(' ')).join(' ');
  for (const p of new Set(wanted)) assert.match(run, new RegExp(`\\b${p.replace(/[.+]/g, '\\$&')}\\b`), `the build stage installs ${p}`);
});

test('the build stage\'s COPY lines bring in everything the build needs: glance-api and glance-sim build from them alone', async () => {
  const stage = buildStage();
  const workdir = stage.find((s) => s.instr === 'WORKDIR').args[0];
  const root = makeTempDir('glance-docker-build-');
  for (const s of stage.filter((x) => x.instr === 'COPY')) {
    const dst = s.args[s.args.length - 1];
    for (const src of s.args.slice(0, -1)) {
      const from = path.join(REPO_ROOT, src);
      assert.ok(existsSync(from), `${src} exists`);
      // "COPY a/ b/" copies a's contents into b; "COPY file dir/" puts the file in dir
      const target = dst.endsWith('/') && !src.endsWith('/') ? path.join(root, dst, path.basename(src)) : path.join(root, dst);
      mkdirSync(path.dirname(target), { recursive: true });
      cpSync(from, target, { recursive: true, filter: (p) => !/\.tmp\./.test(path.basename(p)) });
    }
  }
  const build = stage.filter((s) => s.instr === 'RUN').map((s) => s.args.join(' ')).find((r) => r.includes('scripts/build.sh'));
  assert.ok(build, 'a RUN that builds with scripts/build.sh');
  // the RUN, with the image's paths mapped into the temp dir (no apt-get here: this machine has the packages)
  const cmd = build.replaceAll(`${workdir}/`, `${root}/`).replaceAll(' /out', ` ${root}/out`);
  const r = await run('bash', ['-c', `set -e; cd ${root}; ${cmd}`], { env: { ...process.env, CI: '' }, timeoutMs: 600000 });
  assert.equal(r.code, 0, `the build stage's build failed:\n${(r.stdout + r.stderr).slice(-3000)}`);
  for (const bin of ['glance-api', 'glance-sim']) assert.ok(existsSync(path.join(root, 'out', bin)), `the build stage yields ${bin}`);
});
