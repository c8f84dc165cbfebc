// states.test.mjs -- the words the page uses to sum up shard states (web/assets/states.js).

import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { summarise, stateLabel, STATES } from '../../web/assets/states.js';

/** counts from {unknown: 1, online: 3, ...} */
const c = (o) => STATES.map((s) => o[s.key] || 0);

describe('summarise', () => {
  it('says "Operational" when every shard is online', () => {
    assert.deepEqual(summarise(c({ online: 360 })), { level: 'ok', title: 'Operational', detail: 'All 360 shards online' });
  });
  it('says "Partial outage: 12 of 360 shards unhealthy" when some are unhealthy', () => {
    const s = summarise(c({ online: 348, unhealthy: 12 }));
    assert.equal(`${s.title}: ${s.detail}`, 'Partial outage: 12 of 360 shards unhealthy');
    assert.equal(s.level, 'partial');
  });
  it('names both unhealthy and offline when both are present', () => {
    assert.equal(summarise(c({ online: 10, unhealthy: 1, offline: 2 })).detail, '3 of 13 shards unhealthy or offline');
  });
  it('says "Major outage" when no reporting shard is up', () => {
    assert.deepEqual(summarise(c({ unhealthy: 5 })), { level: 'major', title: 'Major outage', detail: 'All 5 shards unhealthy' });
    assert.equal(summarise(c({ offline: 4, unknown: 1 })).detail, '4 of 5 shards offline');
  });
  it('says "Degraded" while shards start, stop or resume', () => {
    const s = summarise(c({ online: 8, starting: 1, resuming: 1 }));
    assert.deepEqual([s.level, s.detail], ['degraded', '2 of 10 shards starting or resuming']);
  });
  it('says "No data yet" before any shard reported', () => {
    assert.equal(summarise(c({ unknown: 20 })).title, 'No data yet');
    assert.equal(summarise(c({ unknown: 20 })).detail, 'None of the 20 shards has reported yet');
    assert.equal(summarise(c({ unknown: 1 })).detail, 'The shard has not reported yet');
  });
  it('counts shards that have not reported apart from an otherwise healthy bot', () => {
    assert.equal(summarise(c({ online: 18, unknown: 2 })).detail, '18 of 20 shards online; 2 not reporting yet');
  });
  it('speaks of one shard as "the shard"', () => {
    assert.equal(summarise(c({ unhealthy: 1 })).detail, 'The shard is unhealthy');
    assert.equal(summarise(c({ online: 1 })).detail, 'The shard is online');
  });
  it('writes large counts with separators', () => {
    assert.equal(summarise(c({ online: 19988, unhealthy: 12 })).detail, '12 of 20,000 shards unhealthy');
  });
});

describe('stateLabel', () => {
  it('names the seven states and tolerates an unknown value', () => {
    assert.deepEqual([0, 1, 2, 3, 4, 5, 6].map(stateLabel), ['Unknown', 'Unhealthy', 'Offline', 'Online', 'Starting', 'Stopping', 'Resuming']);
    assert.equal(stateLabel(9), 'State 9');
  });
});
