// layers.test.mjs -- the parts of services/api include only downwards: every #include of a project header names
// its part (the folder), and that part must sit below the includer's in LAYERS (or be its own). A header that
// reaches up (state answering HTTP, a renderer reading the handlers) fails here with the line that does it.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const API = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..', 'services', 'api');

// Lowest first; parts on one line are peers and know nothing of each other.
export const LAYERS = [
  ['base'],            // pure: the domain, parsing, encoding, configuration
  ['redis'],           // the connection, the scripts, pub/sub
  ['state'],           // the replica's view of Redis
  ['feed', 'alerts'],  // WebSocket clients; conditions to webhooks
  ['render'],          // bodies from state, no I/O
  ['http'],            // the handlers: read, call, answer
];
const rank = new Map(LAYERS.flatMap((parts, i) => parts.map((p) => [p, i])));

/** Every .c and .h under services/api with the part it lives in ('' for main.c at the top). */
function sources(dir = API, part = '') {
  return readdirSync(dir).flatMap((name) => {
    const full = path.join(dir, name);
    if (statSync(full).isDirectory()) return name === 'lua' ? [] : sources(full, part || name);
    return /\.[ch]$/.test(name) ? [{ file: path.relative(API, full), part }] : [];
  });
}

/** The project headers a source includes, with their line numbers. */
function includes(file) {
  return readFileSync(path.join(API, file), 'utf8').split('\n').flatMap((line, i) => {
    const m = /^\s*#\s*include\s+"([^"]+)"/.exec(line);
    return m && !m[1].startsWith('h2o') ? [{ header: m[1], line: i + 1 }] : [];
  });
}

/** What is wrong with one include of `file` (in `part`), or null. */
export function wrongInclude(part, header, existing) {
  const slash = header.indexOf('/');
  if (slash < 0) return 'names no part (write "<part>/' + header + '")';
  if (!existing.has(header)) return 'is not a header of services/api';
  const to = header.slice(0, slash);
  if (!rank.has(to)) return `is in ${to}/, which LAYERS does not place`;
  if (part === '' || to === part) return null;
  if (!rank.has(part)) return `comes from ${part}/, which LAYERS does not place`;
  if (rank.get(to) > rank.get(part)) return `reaches up from ${part}/ to ${to}/`;
  if (rank.get(to) === rank.get(part)) return `reaches across from ${part}/ to its peer ${to}/`;
  return null;
}

test('every part of services/api includes only the parts below it', () => {
  const all = sources();
  const existing = new Set(all.map((s) => s.file));
  assert.ok(all.length > 40 && all.some((s) => s.part === 'http') && all.some((s) => s.part === 'base'),
    'the sources are where this test looks');
  const wrong = all.flatMap(({ file, part }) => includes(file).flatMap(({ header, line }) => {
    const why = wrongInclude(part, header, existing);
    return why ? [`${file}:${line}: "${header}" ${why}`] : [];
  }));
  assert.deepEqual(wrong, []);
});

test('the check finds an include that runs up, across or nowhere', () => {
  const existing = new Set(['http/app.h', 'state/mirror.h', 'alerts/alerts.h', 'base/codec.h']);
  assert.match(wrongInclude('render', 'http/app.h', existing), /reaches up from render\/ to http\//);
  assert.match(wrongInclude('feed', 'alerts/alerts.h', existing), /peer/);
  assert.match(wrongInclude('state', 'codec.h', existing), /names no part/);
  assert.match(wrongInclude('state', 'base/nothing.h', existing), /not a header/);
  assert.equal(wrongInclude('render', 'state/mirror.h', existing), null);
  assert.equal(wrongInclude('', 'http/app.h', existing), null);
});
