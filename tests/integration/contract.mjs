// contract.mjs -- docs/openapi.yaml as a check on every answer the integration tests receive: finds the operation
// for a method and a raw path, the response for its status, and validates a JSON body against that response's
// schema (ajv, JSON Schema 2020-12 as OpenAPI 3.1 uses it). harness.mjs calls checkResponse() on each answer, so
// the contract cannot drift from the code without a test failing.
//
// A request that names no operation (no path matches, or the path takes no such method) is checked against the
// contract's `x-glance-no-operation` responses. With GLANCE_CONTRACT_HITS=<file>, every (method, route, status)
// checked is appended to that file once per process, to count what the suite exercised.

import { appendFileSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import Ajv2020 from 'ajv/dist/2020.js';
import addFormats from 'ajv-formats';
import YAML from 'yaml';

export const CONTRACT_PATH = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..', 'docs', 'openapi.yaml');
const DOC_ID = 'openapi.yaml';
const METHODS = ['get', 'put', 'post', 'delete', 'options', 'head', 'patch', 'trace'];
const SNIPPET = 300;

let loaded; // {doc, ajv, routes, validators}: parsed and set up once per process, on first use

function load() {
  if (loaded) return loaded;
  const doc = YAML.parse(readFileSync(CONTRACT_PATH, 'utf8'));
  // strict off: the document is an OpenAPI description, not a bare schema; its schemas carry OpenAPI's own
  // annotations, and union types with bounds (`type: [number, 'null'], minimum: 0`) are what OpenAPI 3.1 writes
  const ajv = new Ajv2020({ strict: false, allErrors: false, validateFormats: true });
  addFormats(ajv);
  ajv.addSchema(doc, DOC_ID);
  // literal routes before templates, and of templates those with fewer parameters: /api/v2/status.json is not
  // /api/status/{cluster}/{shard}, and /assets/app.js would rather be itself than /assets/{file}
  const routes = Object.keys(doc.paths).map((template) => {
    const params = (template.match(/\{[^}]+\}/g) || []).length;
    const source = template.split(/(\{[^}]+\})/).map((part) => (part.startsWith('{') ? '([^/]*)'
      : part.replace(/[.*+?^$()|[\]\\]/g, '\\$&'))).join('');
    return { template, params, re: new RegExp(`^${source}$`), item: doc.paths[template] };
  }).sort((a, b) => a.params - b.params || b.template.length - a.template.length);
  loaded = { doc, ajv, routes, validators: new Map() };
  return loaded;
}

/** The object a local `$ref` ("#/components/responses/X") points at, followed until it is not a reference. */
function deref(doc, obj) {
  let seen = 0;
  while (obj && typeof obj.$ref === 'string' && obj.$ref.startsWith('#/')) {
    if (++seen > 16) throw new Error(`contract: $ref loop at ${obj.$ref}`);
    obj = obj.$ref.slice(2).split('/').map((s) => s.replace(/~1/g, '/').replace(/~0/g, '~'))
      .reduce((o, k) => (o === undefined ? undefined : o[k]), doc);
  }
  return obj;
}

/** The route template and operation for `method` and a raw request path (its query ignored). */
export function findOperation(method, reqPath) {
  const { routes } = load();
  const q = reqPath.indexOf('?');
  const p = q >= 0 ? reqPath.slice(0, q) : reqPath;
  const m = method.toLowerCase();
  for (const r of routes) {
    if (!r.re.test(p)) continue;
    // HEAD is GET without the body, as h2o serves it
    const op = r.item[m] || (m === 'head' ? r.item.get : undefined);
    return { template: r.template, operation: op, pointer: `#/paths/${r.template.replace(/~/g, '~0').replace(/\//g, '~1')}/${r.item[m] ? m : 'get'}` };
  }
  return { template: null, operation: undefined, pointer: null };
}

/** Every (METHOD, template) pair of the contract's operations, as `--routes` prints them. */
export function operations() {
  const { doc } = load();
  return Object.entries(doc.paths).flatMap(([template, item]) => METHODS.filter((m) => item[m])
    .map((m) => `${m.toUpperCase()} ${template}`));
}

function validatorFor(ptr) {
  const { ajv, validators } = load();
  let v = validators.get(ptr);
  if (!v) {
    v = ajv.compile({ $ref: `${DOC_ID}${ptr}` });
    validators.set(ptr, v);
  }
  return v;
}

const hits = new Set();
const hitsFile = process.env.GLANCE_CONTRACT_HITS;
if (hitsFile) {
  process.on('exit', () => {
    if (hits.size) appendFileSync(hitsFile, [...hits].map((h) => `${h}\n`).join(''));
  });
}

const snippet = (text) => JSON.stringify(text.length > SNIPPET ? `${text.slice(0, SNIPPET)}…(${text.length} chars)` : text);

/**
 * Throws an Error naming the method, path, status, what is wrong and a snippet of the body when the answer is not
 * one the contract describes: no response for the status, a media type it does not list, or a JSON body its schema
 * refuses. `headers` as node's http gives them (lower-case names); `body` the whole body as a string.
 */
export function checkResponse(method, reqPath, status, headers, body) {
  const { doc } = load();
  const found = findOperation(method, reqPath);
  let responses;
  let base;
  let route;
  if (found.operation) {
    responses = found.operation.responses || {};
    base = `${found.pointer}/responses`;
    route = found.template;
  } else {
    responses = doc['x-glance-no-operation'];
    base = '#/x-glance-no-operation';
    route = found.template ? `${found.template} (no ${method} operation)` : '(no route)';
  }
  const where = `contract: ${method} ${reqPath.slice(0, 160)} (${route}) answered ${status}`;
  const key = [String(status), `${Math.floor(status / 100)}XX`, 'default'].find((k) => responses[k] !== undefined);
  if (key === undefined) {
    throw new Error(`${where}, a status docs/openapi.yaml does not list there (it lists ${Object.keys(responses).join(', ')}); body: ${snippet(body)}`);
  }
  if (hitsFile) hits.add(`${method === 'HEAD' ? 'HEAD' : method} ${route} ${status}`);
  // a HEAD, a 1xx, 204 and 304 carry no body whatever the media type says
  if (method === 'HEAD' || status < 200 || status === 204 || status === 304) return;
  let ptr = `${base}/${key}`;
  const response = deref(doc, responses[key]);
  if (responses[key].$ref) ptr = responses[key].$ref;
  const content = response.content;
  const type = String(headers['content-type'] || '').split(';')[0].trim().toLowerCase();
  if (!content) {
    if (body.length) throw new Error(`${where} with a body, where docs/openapi.yaml describes none: ${snippet(body)}`);
    return;
  }
  if (!type) {
    if (!body.length) return;
    throw new Error(`${where} with a body and no Content-Type: ${snippet(body)}`);
  }
  if (!content[type]) {
    throw new Error(`${where} as ${type}, which docs/openapi.yaml does not list (it lists ${Object.keys(content).join(', ')}); body: ${snippet(body)}`);
  }
  if (type !== 'application/json' || !content[type].schema) return;
  let value;
  try {
    value = JSON.parse(body);
  } catch (e) {
    throw new Error(`${where} as application/json, but the body is not JSON (${e.message}): ${snippet(body)}`);
  }
  const validate = validatorFor(`${ptr}/content/application~1json/schema`);
  if (!validate(value)) {
    const errs = validate.errors.slice(0, 3).map((e) => `${e.instancePath || '(the body)'} ${e.message}${
      e.params && Object.keys(e.params).length ? ` ${JSON.stringify(e.params)}` : ''}`).join('; ');
    throw new Error(`${where}: the body does not match docs/openapi.yaml (${ptr}): ${errs}; body: ${snippet(body)}`);
  }
}
