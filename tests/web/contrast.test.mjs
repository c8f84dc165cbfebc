// contrast.test.mjs -- WCAG 2.x AA contrast of the page's colours in both themes, computed from
// web/assets/main.css itself: text on every state colour (with its pattern ink over it), on the latency
// bands, the tooltip, the page, the cards and the tinted notices; the marks that only colour shows, the
// search box's edge and the hatching of a day with downtime; and /plain's shard colours (services/api/render/pages.c).

import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';

const CSS = readFileSync(new URL('../../web/assets/main.css', import.meta.url), 'utf8').replace(/\/\*[\s\S]*?\*\//g, '');
const PAGES_C = readFileSync(new URL('../../services/api/render/pages.c', import.meta.url), 'utf8');
const THEMES = ['light', 'dark'];
const TEXT = 4.5; // 1.4.3, normal-size text (the shard ids are 11px)
const NON_TEXT = 3; // 1.4.11

// ------------------------------------------------------------------------------------------ the parser

/** Every rule as {selector, body}, at any depth (rules inside @media are listed with their own selector). */
const RULES = [...CSS.matchAll(/([^{}]+)\{([^{}]*)\}/g)].map((m) => ({ selector: m[1].trim().replace(/\s+/g, ' '), body: m[2] }));

/** The declarations of a rule body as [property, value] pairs, in order. */
const declarations = (body) => body.split(';').map((d) => d.trim()).filter(Boolean).map((d) => {
  const i = d.indexOf(':');
  return [d.slice(0, i).trim(), d.slice(i + 1).trim()];
});

/** The custom properties set on :root, each with the number of times the whole file sets it. */
const ROOT = new Map();
const SET_COUNT = new Map();
for (const r of RULES) {
  for (const [p, v] of declarations(r.body)) {
    if (!p.startsWith('--')) continue;
    SET_COUNT.set(p, (SET_COUNT.get(p) || 0) + 1);
    if (r.selector === ':root') ROOT.set(p, v);
  }
}

/** The value of `property` in the first rule whose selector list is exactly `selector` and sets it. */
function ruleValue(selector, property) {
  const d = RULES.filter((r) => r.selector === selector).flatMap((r) => declarations(r.body)).find(([p]) => p === property);
  assert.ok(d, `main.css has no rule "${selector}" that sets ${property}`);
  return d[1];
}

/** `s` split at its top-level commas (not those inside parentheses). */
function splitArgs(s) {
  const out = [];
  let depth = 0;
  let from = 0;
  for (let i = 0; i < s.length; i++) {
    if (s[i] === '(') depth++;
    else if (s[i] === ')') depth--;
    else if (s[i] === ',' && depth === 0) { out.push(s.slice(from, i).trim()); from = i + 1; }
  }
  out.push(s.slice(from).trim());
  return out;
}

/** The inside of `fn(...)` when `value` is exactly one call of fn, else null. */
function call(fn, value) {
  if (!value.startsWith(`${fn}(`) || !value.endsWith(')')) return null;
  return value.slice(fn.length + 1, -1);
}

/**
 * The colour `value` stands for in `theme`, as {r, g, b, a} (0..255, alpha 0..1). Knows hex, rgb()/rgba()
 * with commas, var() of :root's properties (or of `scope`, for properties set lower down such as
 * --impact), light-dark() and color-mix(in srgb, ...); throws on anything else, so a colour written in a
 * way this parser does not know fails the test instead of being skipped.
 */
function colour(value, theme, scope = {}) {
  value = value.trim();
  let inner;
  if ((inner = call('var', value)) !== null) {
    const name = inner.trim();
    const v = scope[name] ?? ROOT.get(name);
    if (v === undefined) throw new Error(`${name} is not set on :root`);
    return colour(v, theme, scope);
  }
  if ((inner = call('light-dark', value)) !== null) {
    const [light, dark] = splitArgs(inner);
    return colour(theme === 'light' ? light : dark, theme, scope);
  }
  if ((inner = call('color-mix', value)) !== null) {
    // color-mix(in srgb, A p%, B): interpolation of the gamma-encoded channels (CSS Color 5)
    const [space, a, b] = splitArgs(inner);
    assert.equal(space, 'in srgb', `color-mix ${space} is not computed here: ${value}`);
    const m = /^(.*\S)\s+([\d.]+)%$/.exec(a);
    if (!m) throw new Error(`color-mix without a percentage on its first colour: ${value}`);
    const p = Number(m[2]) / 100;
    const ca = colour(m[1], theme, scope);
    const cb = colour(b, theme, scope);
    assert.ok(ca.a === 1 && cb.a === 1, `color-mix of translucent colours: ${value}`);
    return { r: ca.r * p + cb.r * (1 - p), g: ca.g * p + cb.g * (1 - p), b: ca.b * p + cb.b * (1 - p), a: 1 };
  }
  if ((inner = call('rgba', value) ?? call('rgb', value)) !== null) {
    const c = splitArgs(inner).map(Number);
    if (c.length < 3 || c.length > 4 || !c.every(Number.isFinite)) throw new Error(`not a colour this test can read: ${value}`);
    return { r: c[0], g: c[1], b: c[2], a: c[3] ?? 1 };
  }
  let m = /^#([0-9a-f]{3})$/i.exec(value);
  if (m) value = `#${[...m[1]].map((c) => c + c).join('')}`;
  m = /^#([0-9a-f]{2})([0-9a-f]{2})([0-9a-f]{2})$/i.exec(value);
  if (m) return { r: parseInt(m[1], 16), g: parseInt(m[2], 16), b: parseInt(m[3], 16), a: 1 };
  throw new Error(`not a colour this test can read: ${value}`);
}

// ------------------------------------------------------------------------------------- WCAG's formulas

/** `top` painted over the opaque `under`, as a browser composites them (in gamma-encoded sRGB). */
const over = (top, under) => ({
  r: top.r * top.a + under.r * (1 - top.a),
  g: top.g * top.a + under.g * (1 - top.a),
  b: top.b * top.a + under.b * (1 - top.a),
  a: 1,
});

/** WCAG 2.x relative luminance (sRGB's own 0.04045 threshold; WCAG's 0.03928 gives the same for 8 bits). */
function luminance({ r, g, b }) {
  const lin = (c) => { c /= 255; return c <= 0.04045 ? c / 12.92 : ((c + 0.055) / 1.055) ** 2.4; };
  return 0.2126 * lin(r) + 0.7152 * lin(g) + 0.0722 * lin(b);
}

/** The contrast ratio of two opaque colours, 1..21. */
function ratio(x, y) {
  assert.ok(x.a === 1 && y.a === 1, 'contrast of a translucent colour: composite it first');
  const [hi, lo] = [luminance(x), luminance(y)].sort((p, q) => q - p);
  return (hi + 0.05) / (lo + 0.05);
}

/**
 * Checks that every pair in `pairs` ({theme, what, fg, bg}, opaque colours) reaches `min`, printing each
 * ratio as a diagnostic; fails naming every pair that does not.
 */
function expectAll(t, pairs, min) {
  const low = [];
  for (const p of pairs) {
    const r = ratio(p.fg, p.bg);
    t.diagnostic(`${p.theme.padEnd(5)} ${p.what}: ${r.toFixed(2)}:1`);
    if (!(r >= min)) low.push(`${p.theme}: ${p.what} is ${r.toFixed(2)}:1, below ${min}:1`);
  }
  assert.deepEqual(low, [], low.join('\n'));
}

const pair = (theme, fgVar, bgVar, extra = '') => ({
  theme, what: `${fgVar} on ${bgVar}${extra}`, fg: colour(`var(${fgVar})`, theme), bg: colour(`var(${bgVar})`, theme),
});

// --------------------------------------------------------------------------------------------- the tests

describe('main.css defines each colour once, for both themes', () => {
  const COLOURS = ['--bg', '--card', '--fg', '--muted', '--border', '--field', '--accent', '--on-accent', '--mark', '--tip-bg', '--tip-fg',
    '--ink', '--chalk', '--maint', '--flap', '--silent', '--warn', '--nodata', '--hatch',
    ...[0, 1, 2, 3, 4, 5, 6].flatMap((n) => [`--c${n}`, `--on${n}`]), ...[0, 1, 2, 3].flatMap((n) => [`--l${n}`, `--lon${n}`])];
  const ALIASES = ['--ok', '--degraded', '--partial', '--major', '--none'];

  it('sets every colour exactly once, on :root (as light-dark(light, dark) where the themes differ)', () => {
    const wrong = COLOURS.filter((v) => SET_COUNT.get(v) !== 1 || !ROOT.has(v));
    assert.deepEqual(wrong, [], `set more than once, or not on :root: ${wrong.join(' ')}`);
    for (const v of ALIASES) assert.match(ROOT.get(v) || '', /^var\(--c\d\)$/, `${v} names a state colour`);
  });

  it('has no second set of colours behind prefers-color-scheme (data-theme must be able to override it)', () => {
    assert.doesNotMatch(CSS, /prefers-color-scheme/);
    assert.equal(ruleValue(':root', 'color-scheme'), 'light dark');
    assert.equal(ruleValue(':root[data-theme="light"]', 'color-scheme'), 'light');
    assert.equal(ruleValue(':root[data-theme="dark"]', 'color-scheme'), 'dark');
  });
});

describe('text contrast (1.4.3, at least 4.5:1) in both themes', () => {
  /**
   * For state n, from its .s[data-state="n"] rules: the background colour, the text colour, and the pattern
   * inks its background paints over the colour. Every layer of the background is counted, as they cross
   * (state 2's two hatchings): the worst spot a digit can sit on has all of them over the colour. An inset
   * box-shadow is not: it is a 1px edge, and a digit never reaches it (11px text on a 22px line, and at
   * least 5px each side: grid.js's cellMinWidth).
   */
  function stateLook(n) {
    const rules = RULES.filter((r) => r.selector.split(',').some((s) => s.trim() === `.s[data-state="${n}"]`));
    assert.ok(rules.length > 0, `no .s[data-state="${n}"] rule`);
    const decls = rules.flatMap((r) => declarations(r.body));
    const fg = decls.find(([p]) => p === 'color')?.[1].match(/^var\((--on\d)\)$/)?.[1];
    const background = decls.filter(([p]) => p === 'background').map(([, v]) => v).join(' ');
    const bg = [...background.matchAll(/var\((--c\d)\)/g)].map((m) => m[1]);
    const inks = [...background.matchAll(/var\((--ink|--chalk)\)/g)].map((m) => m[1]);
    assert.equal(fg, `--on${n}`, `state ${n}'s text colour`);
    assert.deepEqual([...new Set(bg)], [`--c${n}`], `state ${n}'s background colour`);
    return { fg, bg: bg[0], inks };
  }

  it('shard ids on every state colour, on the bare colour and under all of the state\'s pattern ink', (t) => {
    const pairs = [];
    for (const theme of THEMES) {
      for (let n = 0; n <= 6; n++) {
        const { fg, bg, inks } = stateLook(n);
        const base = colour(`var(${bg})`, theme);
        pairs.push({ theme, what: `${fg} on ${bg}`, fg: colour(`var(${fg})`, theme), bg: base });
        if (inks.length === 0) continue;
        const inked = inks.reduce((under, ink) => over(colour(`var(${ink})`, theme), under), base);
        pairs.push({ theme, what: `${fg} on ${bg} under ${inks.length}× ${[...new Set(inks)].join('+')}`, fg: colour(`var(${fg})`, theme), bg: inked });
      }
    }
    expectAll(t, pairs, TEXT);
  });

  it('shard ids on every latency band', (t) => {
    expectAll(t, THEMES.flatMap((theme) => [0, 1, 2, 3].map((n) => pair(theme, `--lon${n}`, `--l${n}`))), TEXT);
  });

  it('the page\'s text, muted text and links on the page and on the cards', (t) => {
    const pairs = [];
    for (const theme of THEMES) {
      for (const fg of ['--fg', '--muted', '--accent']) for (const bg of ['--bg', '--card']) pairs.push(pair(theme, fg, bg));
      pairs.push(pair(theme, '--on-accent', '--accent', ' (the Find button)'));
      // the finder's placeholder: --muted at the opacity .finder input::placeholder gives it, on the input's --bg
      const opacity = Number(ruleValue('.finder input::placeholder', 'opacity'));
      pairs.push({
        theme, what: `--muted at ${opacity} opacity on --bg (placeholder)`,
        fg: over({ ...colour('var(--muted)', theme), a: opacity }, colour('var(--bg)', theme)), bg: colour('var(--bg)', theme),
      });
    }
    expectAll(t, pairs, TEXT);
  });

  it('the tooltip\'s text, also where it is faded', (t) => {
    const pairs = [];
    for (const theme of THEMES) {
      pairs.push(pair(theme, '--tip-fg', '--tip-bg'));
      const opacity = Math.min(Number(ruleValue('.tip-where', 'opacity')), Number(ruleValue('.tip-heading', 'opacity')));
      const tipBg = colour('var(--tip-bg)', theme);
      pairs.push({ theme, what: `--tip-fg at ${opacity} opacity on --tip-bg`, fg: over({ ...colour('var(--tip-fg)', theme), a: opacity }, tipBg), bg: tipBg });
    }
    expectAll(t, pairs, TEXT);
  });

  it('text on the tinted notices, impact pills and the stale-data bar', (t) => {
    const notice = ruleValue('.notice', 'background');
    const pill = ruleValue('.impact', 'background');
    const stale = ruleValue('.stale', 'background');
    const impacts = RULES.map((r) => [/^\[data-impact="(\w+)"\]$/.exec(r.selector)?.[1], declarations(r.body).find(([p]) => p === '--impact')?.[1]])
      .filter(([k, v]) => k && v);
    assert.ok(impacts.length >= 5, 'every impact has its colour');
    const pairs = [];
    for (const theme of THEMES) {
      for (const [impact, value] of impacts) {
        const scope = { '--impact': value };
        for (const fg of ['--fg', '--muted', '--accent']) { // --accent: a notice's "Details" link
          pairs.push({ theme, what: `${fg} on a ${impact} notice`, fg: colour(`var(${fg})`, theme), bg: colour(notice, theme, scope) });
        }
        pairs.push({ theme, what: `--fg on a ${impact} impact pill`, fg: colour('var(--fg)', theme), bg: colour(pill, theme, scope) });
      }
      pairs.push({ theme, what: '--fg on the stale-data bar', fg: colour('var(--fg)', theme), bg: colour(stale, theme) });
      pairs.push({ theme, what: '--fg on a cluster\'s gateway warning', fg: colour('var(--fg)', theme), bg: colour(ruleValue('.cluster-warnings li', 'background'), theme) });
    }
    expectAll(t, pairs, TEXT);
  });
});

// Non-text contrast (1.4.11) asks 3:1 of the parts of a graphic needed to understand the content, against
// the colours next to them; it does not ask states to differ from one another (how they are told apart is
// 1.4.1's business, met here by a pattern and words). So, which marks need it:
// - a shard cell: no. It is found by its id, text already held to 4.5:1 on its own colour above; its state
//   is told by a per-state pattern besides the colour, and in words in its accessible name and tooltip.
//   Against --card the colour carries nothing: every cell sits in the same grid whatever its state.
// - the key's swatches, the status dots (connection, overall, cluster summary), a notice's or the
//   overview's coloured edge, the impact pills: no. Each stands beside the state or impact in words.
// - a day bar's colour: no, for the same reason as a cell: every day has its bar; its share of downtime
//   is in words in its name and tooltip. But whether a day had downtime, and roughly how much, must show
//   without colour too (1.4.1): a day with downtime is hatched from its foot, higher the more was down,
//   and that hatching needs 3:1 against the day's colour, on every colour of the scale.
// - the search box's edge: yes. A text field is found by its boundary (1.4.11 names it), so the edge
//   needs 3:1 against the card around it and against the field's own fill.
// - the flapping corner mark: yes. It alone shows, without pointing at each shard, which shards flap.
//   main.css outlines it in --card, so --card is the colour next to it on every state and band.
// - the silent ring: yes, for the same reason. main.css fills and haloes it in --card, so --card is next to it.
// - the maintenance cap on a day bar: yes, the one sign of maintenance on the bar itself. It sits on a
//   --card line, so --card is what is next to it too.
// - focus rings (--accent, and --fg on shards) are held to more than 3:1 by the text checks above.
describe('non-text contrast (1.4.11, at least 3:1) where a mark is told by its colour alone', () => {
  it('outlines the flapping mark and the maintenance cap in --card, so --card is what they are seen against', () => {
    assert.match(ruleValue('.s[data-flapping]::after', 'filter'), /drop-shadow\([^)]*var\(--card\)\)/);
    assert.match(ruleValue('.day[data-maintenance], .day-swatch[data-maintenance]', 'background-image'),
      /^linear-gradient\(var\(--maint\), var\(--maint\)\), linear-gradient\(var\(--card\), var\(--card\)\)/);
  });

  it('the flapping mark and the maintenance cap against --card', (t) => {
    expectAll(t, THEMES.flatMap((theme) => [pair(theme, '--flap', '--card'), pair(theme, '--maint', '--card')]), NON_TEXT);
  });

  it('fills and haloes the silent ring in --card, so --card is what its --silent edge is seen against', (t) => {
    const sel = '.s[data-silent]::before, .silent-mark';
    assert.equal(ruleValue(sel, 'background'), 'var(--card)');
    assert.match(ruleValue(sel, 'box-shadow'), /var\(--card\)$/);
    assert.match(ruleValue(sel, 'border'), /solid var\(--silent\)$/);
    expectAll(t, THEMES.map((theme) => pair(theme, '--silent', '--card')), NON_TEXT);
  });
});

describe('non-text contrast (1.4.11, at least 3:1) of the search box and the day bars\' hatching', () => {
  it('draws the search box\'s edge in --field, on --card around it and --bg within', () => {
    assert.equal(ruleValue('.finder input', 'border'), '1px solid var(--field)');
    assert.equal(ruleValue('.finder input', 'background'), 'var(--bg)');
    assert.equal(ruleValue('.top', 'background'), 'var(--card)');
  });

  it('the search box\'s edge against the card and against its fill', (t) => {
    expectAll(t, THEMES.flatMap((theme) => [pair(theme, '--field', '--card'), pair(theme, '--field', '--bg')]), NON_TEXT);
  });

  it('hatches a day with downtime in --hatch, from its foot, as high as its severity', () => {
    const sel = '.day[data-kind="down"], .day-swatch[data-kind="down"]';
    assert.match(ruleValue(sel, 'background-image'), /^repeating-linear-gradient\(45deg, var\(--hatch\) 0 [\d.]+px, transparent/);
    assert.equal(ruleValue(sel, 'background-size'), '100% calc(var(--sev) * 100%)');
    assert.equal(ruleValue(sel, 'background-position'), '0 100%');
    // and on a day that also had maintenance, as one more layer under the maintenance marks
    assert.match(ruleValue('.day[data-kind="down"][data-maintenance]', 'background-image'), /var\(--hatch\)/);
  });

  it('the hatching against every colour of the day scale (green, yellow, red, and orange between)', (t) => {
    // the scale mixes --ok into --degraded into --major in oklab, whose lightness runs between theirs: the
    // ends and --partial (the orange a mix passes near) bound every colour a down day can take
    const pairs = THEMES.flatMap((theme) => ['--ok', '--degraded', '--partial', '--major'].map((bg) => pair(theme, '--hatch', bg)));
    expectAll(t, pairs, NON_TEXT);
  });
});

describe('/plain\'s shard colours (services/api/render/pages.c) are the page\'s, with text at 4.5:1', () => {
  // .sN{background:#...;color:#...}, and .s4,.s6{...} for two states sharing a colour
  const RULE = /((?:\.s\d,?)+)\{background:(#[0-9a-f]{3,6});color:(#[0-9a-f]{3,6})\}/gi;
  const plain = new Map();
  for (const m of PAGES_C.matchAll(RULE)) {
    for (const n of m[1].split(',')) plain.set(Number(n.slice(2)), { bg: m[2], fg: m[3] });
  }

  it('gives every state a background and a text colour, the light theme\'s --cN and --onN', () => {
    assert.deepEqual([...plain.keys()].sort(), [0, 1, 2, 3, 4, 5, 6]);
    for (const [n, { bg, fg }] of plain) {
      assert.deepEqual(colour(bg, 'light'), colour(`var(--c${n})`, 'light'), `/plain's state ${n} background`);
      assert.deepEqual(colour(fg, 'light'), colour(`var(--on${n})`, 'light'), `/plain's state ${n} text`);
    }
  });

  it('shard ids on /plain\'s state colours', (t) => {
    const pairs = [...plain].map(([n, { bg, fg }]) => ({ theme: 'light', what: `/plain .s${n}: ${fg} on ${bg}`, fg: colour(fg, 'light'), bg: colour(bg, 'light') }));
    expectAll(t, pairs, TEXT);
  });
});
