// embed.test.mjs -- the widget's pure helpers (web/assets/embed.js): which cluster an address names, the
// forced theme, how the squares are fitted to the frame, and the words the canvas is named with.

import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { clusterFromPath, themeFromSearch, fitGrid, countsSentence, gridLabel, decodeStates, widgetSummary } from '../../web/assets/embed.js';
import { STATES } from '../../web/assets/states.js';

/** counts from {unknown: 1, online: 3, ...} */
const c = (o) => STATES.map((s) => o[s.key] || 0);

describe('clusterFromPath', () => {
  it('reads the cluster from /embed/<name>, percent-decoded', () => {
    assert.equal(clusterFromPath('/embed/main'), 'main');
    assert.equal(clusterFromPath('/embed/eu-west.2'), 'eu-west.2');
    assert.equal(clusterFromPath('/embed/a%2Eb'), 'a.b');
    assert.equal(clusterFromPath('/embed/main/'), 'main');
  });
  it('means the whole bot at /embed, /embed/ and /embed.html', () => {
    for (const p of ['/embed', '/embed/', '/embed.html', '/']) assert.equal(clusterFromPath(p), null, p);
  });
  it('keeps a name that does not decode as written, so the widget can say there is no such cluster', () => {
    assert.equal(clusterFromPath('/embed/bad%zz'), 'bad%zz');
  });
});

describe('themeFromSearch', () => {
  it('forces light or dark, and nothing else', () => {
    assert.equal(themeFromSearch('?theme=dark'), 'dark');
    assert.equal(themeFromSearch('?x=1&theme=light'), 'light');
    assert.equal(themeFromSearch('?theme=blue'), null);
    assert.equal(themeFromSearch(''), null);
  });
});

describe('fitGrid', () => {
  const fits = (g, sizes, width, height) => {
    assert.ok(g.width <= width, `width ${g.width} <= ${width}`);
    assert.ok(g.height <= height, `height ${g.height} <= ${height}`);
    const rows = sizes.reduce((r, n) => r + Math.ceil(n / g.cols), 0);
    assert.ok(rows * g.cols >= sizes.reduce((a, b) => a + b, 0));
  };

  it('makes the squares as large as the box allows, up to the largest size', () => {
    const few = fitGrid([16], 400, 300, { maxCell: 16 });
    assert.equal(few.cell, 16);
    fits(few, [16], 400, 300);
    const many = fitGrid([360], 400, 120, { maxCell: 16 });
    assert.ok(many.cell < 16 && many.cell >= 5, `cell ${many.cell}`);
    fits(many, [360], 400, 120);
    // one size larger would not have fitted
    const bigger = many.cell + 1;
    const pitch = bigger + Math.max(1, Math.round(bigger / 7));
    const cols = Math.floor((400 + pitch - bigger) / pitch);
    assert.ok(Math.ceil(360 / cols) * pitch - (pitch - bigger) > 120);
  });

  it('fits 20,000 shards into a phone-sized box with tiny squares and no gaps', () => {
    const g = fitGrid([20000], 320, 200, { maxCell: 16 });
    assert.equal(g.gap, 0);
    assert.ok(g.cell >= 1 && g.cell <= 2, `cell ${g.cell}`);
    fits(g, [20000], 320, 200);
  });

  it('starts every cluster on a row of its own, a little apart', () => {
    const g = fitGrid([10, 5], 200, 400, { maxCell: 10 });
    assert.equal(g.tops[0], 0);
    const rows0 = Math.ceil(10 / g.cols);
    assert.equal(g.tops[1], rows0 * g.pitch + g.sep);
    assert.ok(g.sep > g.gap);
  });

  it('takes the smallest square when nothing fits, and says how tall the grid is (the box then scrolls)', () => {
    const g = fitGrid([100000], 100, 10, { maxCell: 16 });
    assert.equal(g.cell, 1);
    assert.equal(g.height, Math.ceil(100000 / g.cols) * g.pitch - g.gap);
    assert.ok(g.height > 10);
  });
});

describe('the words', () => {
  it('lists the states that have shards, in the API order', () => {
    assert.equal(countsSentence(c({ online: 348, unhealthy: 12 })), '12 unhealthy, 348 online');
    assert.equal(countsSentence(c({ online: 20000 })), '20,000 online');
    assert.equal(countsSentence(c({})), 'no shards');
  });
  it('names the canvas with the condition and the counts', () => {
    assert.equal(gridLabel('main', c({ online: 348, unhealthy: 12 })),
      'Cluster main. Partial outage: 12 of 360 shards unhealthy. 12 unhealthy, 348 online.');
    assert.equal(gridLabel(null, c({ online: 3 })), 'All clusters. Operational: All 3 shards online. 3 online.');
  });
});

describe('decodeStates', () => {
  it('reads one digit per shard, unknown for anything else or missing', () => {
    assert.deepEqual([...decodeStates('3149x', 6)], [3, 1, 4, 0, 0, 0]);
  });
});

describe('widgetSummary', () => {
  const main = { name: 'main', states: [3, 3, 1, 3] };
  const eu = { name: 'eu', states: [2, 2] };
  it('is summarise() of every shard shown without maintenance', () => {
    assert.deepEqual(widgetSummary([main, eu], new Set()), { level: 'partial', title: 'Partial outage', detail: '3 of 6 shards unhealthy or offline' });
  });
  it('leaves a cluster under maintenance out and names it, as the page and the badges do', () => {
    const s = widgetSummary([main, eu], new Set(['eu']));
    assert.deepEqual([s.level, s.detail], ['partial', '1 of 4 shards unhealthy; eu under maintenance']);
  });
  it('says "Under maintenance" when every cluster shown is in a window', () => {
    assert.equal(widgetSummary([eu], new Set(['eu'])).level, 'maintenance');
    assert.equal(widgetSummary([eu], new Set(['eu'])).title, 'Under maintenance');
  });
});
