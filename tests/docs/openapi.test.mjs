// openapi.test.mjs -- docs/openapi.yaml is a valid OpenAPI 3.1 description by Redocly's recommended rules (every one
// an error: redocly.yaml), a broken one fails that lint, and it describes every route `glance-api --routes` lists, so
// a route added to the code without the contract fails here. What each answer holds is checked by the integration
// tests themselves (tests/integration/contract.mjs, called from the harness).

import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { copyFileSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { checkResponse, findOperation, operations } from '../integration/contract.mjs';

const REPO_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const REDOCLY = path.join(REPO_ROOT, 'node_modules', '.bin', 'redocly');
const API_BIN = process.env.GLANCE_API_BIN || path.join(REPO_ROOT, 'build', 'glance-api');
// In the contract, not in --routes: the dashboard's other files, served by h2o's file handler beside /assets/app.js.
const ONLY_IN_CONTRACT = ['GET /assets/{file}'];

function run(file, args, cwd) {
  return new Promise((resolve) => {
    execFile(file, args, { cwd, timeout: 60000 }, (err, stdout, stderr) => resolve({
      code: err ? (typeof err.code === 'number' ? err.code : 1) : 0, out: `${stdout}${stderr}`,
    }));
  });
}

describe('docs/openapi.yaml', () => {
  it('passes redocly lint with the recommended rules as errors', async () => {
    const r = await run(REDOCLY, ['lint', '--format=codeframe'], REPO_ROOT);
    assert.equal(r.code, 0, `redocly lint failed:\n${r.out}`);
  });

  it('a contract that breaks a rule fails the lint (the lint is not a formality)', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'glance-openapi-'));
    try {
      for (const f of ['redocly.yaml', '.redocly.lint-ignore.yaml']) copyFileSync(path.join(REPO_ROOT, f), path.join(dir, f));
      const text = readFileSync(path.join(REPO_ROOT, 'docs', 'openapi.yaml'), 'utf8');
      // a response that points at a schema that is not there
      const broken = text.replace("schema: {$ref: '#/components/schemas/Error'}", "schema: {$ref: '#/components/schemas/NoSuchError'}");
      assert.notEqual(broken, text);
      writeFileSync(path.join(dir, 'openapi.yaml'), broken);
      const r = await run(REDOCLY, ['lint', 'openapi.yaml'], dir);
      assert.notEqual(r.code, 0, `redocly lint passed a broken contract:\n${r.out}`);
      assert.match(r.out, /NoSuchError/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('describes every route glance-api --routes lists, and no route it does not', { skip: !existsSync(API_BIN) && `no ${API_BIN}` }, async () => {
    const r = await run(API_BIN, ['--routes'], REPO_ROOT);
    assert.equal(r.code, 0, r.out);
    const listed = r.out.trim().split('\n').filter(Boolean);
    const missing = listed.filter((line) => {
      const [method, route] = line.split(' ');
      // a concrete route (/assets/app.js) may be one of a template's; a template must be the contract's own
      const found = findOperation(method, route.replace(/\{[^}]+\}/g, 'x'));
      return !found.operation || (route.includes('{') && found.template !== route);
    });
    assert.deepEqual(missing, [], 'routes the contract does not describe');
    const extra = operations().filter((op) => !listed.includes(op) && !ONLY_IN_CONTRACT.includes(op));
    assert.deepEqual(extra, [], 'operations in the contract that glance-api does not route');
  });

  it('the check in the harness refuses what the contract does not describe, and takes what it does', () => {
    const json = { 'content-type': 'application/json' };
    const snapshot = '{"clusters":[{"name":"main","shards":2,"version":4,"states":[3,1]}]}';
    checkResponse('GET', '/api/status', 200, json, snapshot);
    checkResponse('HEAD', '/api/status', 200, json, '');
    checkResponse('POST', '/api/status/main/1/3?latency_ms=4', 204, {}, '');
    checkResponse('DELETE', '/api/status', 405, json, '{"error":"method not allowed here"}');
    checkResponse('GET', '/api/no/such/thing', 404, json, '{"error":"no such endpoint"}');
    const refused = (args, re) => assert.throws(() => checkResponse(...args), re);
    // a state out of range, a member missing, another error shape, a status not listed, a type not listed
    refused(['GET', '/api/status', 200, json, snapshot.replace('[3,1]', '[3,9]')], /states\/1 must be <= 6/);
    refused(['GET', '/api/status', 200, json, snapshot.replace('"version":4,', '')], /must have required property 'version'/);
    refused(['GET', '/api/status/main/x', 400, json, '{"message":"bad"}'], /does not match/);
    refused(['POST', '/api/status/main/1/3', 200, json, '{}'], /a status docs\/openapi.yaml does not list/);
    refused(['GET', '/api/summary', 200, { 'content-type': 'text/html' }, '<p>'], /as text\/html, which/);
    refused(['GET', '/healthz', 200, json, 'ok'], /the body is not JSON/);
  });
});
