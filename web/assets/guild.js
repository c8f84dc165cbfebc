// guild.js -- which shard serves a guild: exact 64-bit math with BigInt, pure functions, no DOM.
//
// Discord picks a guild's shard as (guild_id >> 22) % shard_count. Guild ids are 64-bit; a JavaScript
// Number holds only 53 bits exactly, so the original page's `Math.floor(id / 2 ** 22) % shards` picks
// the wrong shard for some ids. Everything here stays in BigInt until the shard number, which is small.

const MAX_GUILD_ID = (1n << 64n) - 1n;

/**
 * Parses what a user typed as a guild id. White space anywhere is ignored (a pasted
 * " 8138 4788 7657 12384 " still works). Returns the id as a BigInt, or null when
 * the text is not a whole decimal number from 0 to 2^64 - 1.
 */
export function parseGuildId(text) {
  if (typeof text !== 'string') return null;
  const digits = text.replace(/\s+/g, '');
  if (!/^[0-9]{1,20}$/.test(digits)) return null;
  const id = BigInt(digits);
  return id <= MAX_GUILD_ID ? id : null;
}

/**
 * The zero-based shard that serves guild `id` (a BigInt, or a decimal string) in a cluster of `shards`
 * shards (a positive whole Number). Throws a RangeError when either is out of range.
 */
export function shardFor(id, shards) {
  const guild = typeof id === 'bigint' ? id : parseGuildId(String(id));
  if (guild === null || guild < 0n || guild > MAX_GUILD_ID) throw new RangeError(`not a guild id: ${id}`);
  if (!Number.isSafeInteger(shards) || shards < 1) throw new RangeError(`not a shard count: ${shards}`);
  return Number((guild >> 22n) % BigInt(shards));
}

/**
 * Locates a guild in every cluster: [{cluster, index, shard}] in the clusters' order, where `clusters`
 * is a list of {name, shards} and `index` is the cluster's position in it.
 */
export function locateGuild(id, clusters) {
  return clusters.map((c, index) => ({ cluster: c.name, index, shard: shardFor(id, c.shards) }));
}
