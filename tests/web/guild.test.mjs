// guild.test.mjs -- the page's guild lookup math (web/assets/guild.js), exact for every 64-bit id.
//
// The expected shards were computed by glance-api's C code (GET /api/guild/<id>, uint64 math) for
// clusters of 1, 7, 16, 360, 1000 and 2500 shards; the page must agree with it everywhere.

import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { parseGuildId, shardFor, locateGuild } from '../../web/assets/guild.js';

const SIZES = [1, 7, 16, 360, 1000, 2500];
// id -> shard for each of SIZES, in that order
const ORACLE = {
  '0': [0, 0, 0, 0, 0, 0],
  '4194303': [0, 0, 0, 0, 0, 0], // 2^22 - 1: the last id of the first shard
  '4194304': [0, 1, 1, 1, 1, 1], // 2^22
  '81384788765712384': [0, 3, 2, 298, 698, 698],
  '9007199254740993': [0, 2, 0, 128, 648, 1148], // 2^53 + 1: not a float
  '1234567890123456789': [0, 1, 7, 7, 167, 2167],
  '175928847299117055': [0, 0, 4, 236, 796, 796],
  '897646484764311552': [0, 6, 9, 73, 433, 1933],
  // above 2^53 with the low 22 bits all ones: float math rounds these up into the next shard
  '4611686070210265087': [0, 6, 9, 121, 121, 121], // ((2^40 + 12345) << 22) | 0x3fffff
  '517815303984381951': [0, 4, 4, 12, 12, 1512], // (123456789012 << 22) | 0x3fffff
  '9223372036858970111': [0, 4, 0, 32, 552, 552], // 2^63 | 0x3fffff
  '1152921504606846975': [0, 3, 15, 183, 943, 1943], // 2^60 - 1
  '18446744073709551615': [0, 0, 15, 63, 103, 1103], // 2^64 - 1, the largest id
};

/** The original page's math, kept only to show the ids it gets wrong. */
const floatShard = (id, shards) => Math.floor(Number(id) / 2 ** 22) % shards;

describe('shardFor', () => {
  it('agrees with the server\'s 64-bit math for every id and cluster size tested', () => {
    for (const [id, shards] of Object.entries(ORACLE)) {
      SIZES.forEach((size, i) => {
        assert.equal(shardFor(BigInt(id), size), shards[i], `guild ${id} in ${size} shards`);
        assert.equal(shardFor(id, size), shards[i], `guild "${id}" (string) in ${size} shards`);
      });
    }
  });

  it('is right where float division is wrong (ids above 2^53 whose low 22 bits are all ones)', () => {
    const hard = ['4611686070210265087', '517815303984381951', '9223372036858970111', '1152921504606846975',
      '18446744073709551615'];
    for (const id of hard) {
      const i = SIZES.indexOf(360);
      assert.notEqual(floatShard(id, 360), ORACLE[id][i], `float math happens to be right for ${id}`);
      assert.equal(shardFor(BigInt(id), 360), ORACLE[id][i]);
    }
  });

  it('matches (id >> 22) % shards on random 64-bit ids', () => {
    let seed = 0x9e3779b97f4a7c15n;
    const next = () => { // xorshift64*
      seed ^= seed >> 12n; seed ^= (seed << 25n) & 0xffffffffffffffffn; seed ^= seed >> 27n;
      return (seed * 0x2545f4914f6cdd1dn) & 0xffffffffffffffffn;
    };
    for (let k = 0; k < 2000; k++) {
      const id = next();
      const shards = Number(next() % 5000n) + 1;
      const want = Number(BigInt.asUintN(64, id) / 4194304n % BigInt(shards)); // division, not shift
      assert.equal(shardFor(id, shards), want, `guild ${id} in ${shards} shards`);
    }
  });

  it('refuses ids out of range and bad shard counts', () => {
    assert.throws(() => shardFor(-1n, 10), RangeError);
    assert.throws(() => shardFor(1n << 64n, 10), RangeError);
    assert.throws(() => shardFor('abc', 10), RangeError);
    assert.throws(() => shardFor(1n, 0), RangeError);
    assert.throws(() => shardFor(1n, 1.5), RangeError);
  });
});

describe('parseGuildId', () => {
  it('reads decimal ids from 0 to 2^64 - 1 exactly', () => {
    assert.equal(parseGuildId('0'), 0n);
    assert.equal(parseGuildId('81384788765712384'), 81384788765712384n);
    assert.equal(parseGuildId('18446744073709551615'), 18446744073709551615n);
    assert.equal(parseGuildId('9007199254740993'), 9007199254740993n);
  });
  it('ignores white space around and inside (pasted ids)', () => {
    assert.equal(parseGuildId('  81384788765712384\n'), 81384788765712384n);
    assert.equal(parseGuildId('8138 4788 7657 12384'), 81384788765712384n);
  });
  it('refuses anything that is not a whole number in range', () => {
    for (const bad of ['', '   ', 'abc', '-1', '+1', '1.5', '1e18', '0x10', '18446744073709551616',
      '99999999999999999999', '123456789012345678901', null, undefined, 42]) {
      assert.equal(parseGuildId(bad), null, `accepted ${JSON.stringify(bad)}`);
    }
  });
});

describe('locateGuild', () => {
  it('names the shard in every cluster, in the clusters\' order', () => {
    const located = locateGuild(81384788765712384n, [{ name: 'main', shards: 360 }, { name: 'demo', shards: 1 }]);
    assert.deepEqual(located, [
      { cluster: 'main', index: 0, shard: 298 },
      { cluster: 'demo', index: 1, shard: 0 },
    ]);
  });
});
