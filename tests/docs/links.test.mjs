// links.test.mjs -- the README and docs/*.md hold together: every relative link and image points at a file or
// folder of the repository, every #anchor (in the same page or another .md) names a heading there, the README
// stays a front door (under 250 lines) and leads to every page in docs/. Absolute links (http:, https:, mailto:)
// are not fetched: this test needs no network.

import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const REPO_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const README_MAX_LINES = 250;

/** README.md and every docs/*.md, as paths relative to the repository. */
function pages() {
  const docs = readdirSync(path.join(REPO_ROOT, 'docs')).filter((f) => f.endsWith('.md')).sort();
  return ['README.md', ...docs.map((f) => `docs/${f}`)];
}

const read = (rel) => readFileSync(path.join(REPO_ROOT, rel), 'utf8');

/** The page with its fenced code blocks blanked (their lines kept, so line numbers hold). */
function withoutFences(text) {
  let fence = null;
  return text.split('\n').map((line) => {
    const m = /^\s{0,3}(`{3,}|~{3,})/.exec(line);
    if (fence) {
      if (m && m[1][0] === fence[0] && m[1].length >= fence.length) fence = null;
      return '';
    }
    if (m) fence = m[1];
    return m ? '' : line;
  }).join('\n');
}

/** The page without what Markdown does not read as links: code blocks, inline code and HTML comments. */
function prose(text) {
  const blank = (s) => s.replace(/[^\n]/g, '');
  return withoutFences(text).replace(/<!--[\s\S]*?-->/g, blank).replace(/(`+)[\s\S]*?\1/g, blank);
}

/**
 * Every link target of a page: inline links and images `[text](target "title")`, nested ones too (an image in a
 * link), reference definitions `[ref]: target`, and HTML `<img src>` and `<a href>`. Returns [{target, line}].
 */
export function linkTargets(text) {
  let body = prose(text);
  const found = [];
  const lineOf = (index) => body.slice(0, index).split('\n').length;
  const inline = /!?\[([^[\]]*)\]\(\s*<?([^()\s<>]*)>?(?:\s+(?:"[^"]*"|'[^']*'|\([^()]*\)))?\s*\)/g;
  // innermost first: a link's text may hold an image; each match is replaced by its text, keeping line numbers
  for (let changed = true; changed;) {
    changed = false;
    body = body.replace(inline, (all, label, target, index) => {
      found.push({ target, line: lineOf(index) });
      changed = true;
      return label + '\n'.repeat(all.split('\n').length - label.split('\n').length);
    });
  }
  for (const m of body.matchAll(/^ {0,3}\[[^\]]+\]:\s*<?(\S+?)>?(?:\s.*)?$/gm)) found.push({ target: m[1], line: lineOf(m.index) });
  for (const m of body.matchAll(/<(?:img|a)\b[^>]*?\b(?:src|href)\s*=\s*["']([^"']*)["']/gi)) found.push({ target: m[1], line: lineOf(m.index) });
  return found;
}

/** A heading's anchor as GitHub makes it: lowercase, punctuation dropped except - and _, each space a -. */
export function slug(heading) {
  const text = heading
    .replace(/!?\[([^\]]*)\]\([^)]*\)/g, '$1') // a link or image: its text
    .replace(/<[^>]+>/g, '') // inline HTML
    .replace(/[*`]/g, ''); // emphasis and code marks (an _ stays: GitHub keeps it)
  return text.trim().toLowerCase().replace(/[^\p{L}\p{M}\p{N}\p{Pc}\- ]/gu, '').replace(/ /g, '-');
}

/** Every anchor a page offers: its headings' slugs (a repeated one gets -1, -2, ...), and HTML id/name attributes. */
export function anchors(text) {
  const seen = new Map();
  const out = new Set();
  for (const m of withoutFences(text).matchAll(/^ {0,3}#{1,6}[ \t]+(.*?)(?:[ \t]+#+)?[ \t]*$/gm)) {
    const base = slug(m[1]);
    const n = seen.get(base) || 0;
    seen.set(base, n + 1);
    out.add(n === 0 ? base : `${base}-${n}`);
  }
  for (const m of text.matchAll(/<[a-z][^>]*?\b(?:id|name)\s*=\s*["']([^"']+)["']/gi)) out.add(m[1]);
  return out;
}

/** What is wrong with one link of `page` (a path relative to the repository), or null when it holds. */
export function checkLink(page, target) {
  if (/^[a-z][a-z0-9+.-]*:/i.test(target) || target.startsWith('//')) return null; // absolute: not fetched
  if (target === '') return 'an empty link';
  const hash = target.indexOf('#');
  const file = decodeURIComponent(hash < 0 ? target : target.slice(0, hash));
  const anchor = hash < 0 ? null : decodeURIComponent(target.slice(hash + 1));
  const resolved = file === '' ? page : path.posix.normalize(path.posix.join(path.posix.dirname(page), file));
  if (resolved.startsWith('../') || path.posix.isAbsolute(resolved)) return `${target} leaves the repository`;
  if (!existsSync(path.join(REPO_ROOT, resolved))) return `${target}: no file ${resolved}`;
  if (anchor === null || !resolved.endsWith('.md')) return null;
  if (!anchors(read(resolved)).has(anchor)) return `${target}: ${resolved} has no heading #${anchor}`;
  return null;
}

describe('the README and docs/', () => {
  it('follow GitHub\'s rules for heading anchors', () => {
    assert.equal(slug('Feed protocol (`GET /api/feed`, WebSocket)'), 'feed-protocol-get-apifeed-websocket');
    assert.equal(slug('Reporting from your bot (examples/)'), 'reporting-from-your-bot-examples');
    assert.equal(slug('The page: web/assets/config.js'), 'the-page-webassetsconfigjs');
    assert.equal(slug('What the code relies on in hiredis 0.14 (Debian 12)'), 'what-the-code-relies-on-in-hiredis-014-debian-12');
    assert.equal(slug('GLANCE_REDIS_URL and **Sentinel**'), 'glance_redis_url-and-sentinel');
    assert.deepEqual([...anchors('# A\n\n```\n# not a heading\n```\n\n## A\n### A\n')], ['a', 'a-1', 'a-2']);
  });

  it('the checker finds a broken link, a missing file and a missing anchor', () => {
    assert.deepEqual(linkTargets('[a](docs/API.md#x) ![b](p.png "t") `[c](no)` [![d](i.svg)](e.md)').map((l) => l.target),
      ['docs/API.md#x', 'p.png', 'i.svg', 'e.md']);
    assert.match(checkLink('README.md', 'docs/NOPE.md'), /no file docs\/NOPE\.md/);
    assert.match(checkLink('README.md', 'docs/API.md#no-such-heading'), /has no heading/);
    assert.match(checkLink('docs/API.md', '#no-such-heading'), /has no heading/);
    assert.equal(checkLink('docs/API.md', '../README.md#two-commands'), null);
    assert.equal(checkLink('README.md', 'https://example.com/nowhere'), null);
  });

  for (const page of pages()) {
    it(`every relative link and image in ${page} points at a file, and at a heading when it names one`, () => {
      const links = linkTargets(read(page));
      const broken = links.map((l) => ({ ...l, why: checkLink(page, l.target) })).filter((l) => l.why);
      assert.deepEqual(broken.map((l) => `${page}:${l.line}: ${l.why}`), []);
    });
  }

  it(`README.md is a front door: under ${README_MAX_LINES} lines`, () => {
    const text = read('README.md');
    const lines = text.split('\n').length - (text.endsWith('\n') ? 1 : 0);
    assert.ok(lines < README_MAX_LINES, `README.md has ${lines} lines; move detail into docs/`);
  });

  it('README.md links to every page in docs/', () => {
    const linked = new Set(linkTargets(read('README.md')).map((l) => l.target.split('#')[0]));
    const missing = pages().filter((p) => p !== 'README.md' && !linked.has(p));
    assert.deepEqual(missing, [], 'pages in docs/ that the README does not lead to');
  });
});
