// guild.js -- which shard serves a guild: what users paste (an id or a Discord link) read into a guild id,
// and exact 64-bit math with BigInt. Pure functions, no DOM.
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

const MAX_INPUT = 512; // longer than any link Discord makes: refused before any pattern runs

// https://discord.com/channels/<guild>/<channel>[/<message>], on the ptb and canary hosts and the old
// discordapp.com too, with or without the scheme; Discord's <...> (which stops an embed) is allowed around
// it, and a query or fragment after it. `@me` in the guild's place is a direct message. Digits are ASCII
// only (no `u` flag: \d is [0-9]); ids are checked against 64 bits by parseGuildId, not by the pattern.
const LINK = /^<?(?:https?:\/\/)?(?:(?:www|ptb|canary)\.)?discord(?:app)?\.com\/channels\/(@me|[0-9]{1,20})(?:\/[0-9]{1,20}){0,2}\/?(?:[?#][^<>]*)?>?$/i;

/**
 * Reads what a user pasted into the guild box: a guild id, or a Discord channel or message link. White
 * space anywhere is ignored. Returns {kind, guild}: kind is 'empty', 'id' or 'link' (guild is the BigInt),
 * 'dm' (a link into direct messages, which belong to no server; guild is null) or 'invalid'.
 */
export function parseGuildInput(text) {
  if (typeof text !== 'string') return { kind: 'invalid', guild: null };
  const s = text.replace(/\s+/g, '');
  if (s === '') return { kind: 'empty', guild: null };
  if (s.length > MAX_INPUT) return { kind: 'invalid', guild: null };
  const id = parseGuildId(s);
  if (id !== null) return { kind: 'id', guild: id };
  const m = LINK.exec(s);
  if (!m) return { kind: 'invalid', guild: null };
  if (m[1] === '@me') return { kind: 'dm', guild: null };
  const guild = parseGuildId(m[1]);
  return guild === null ? { kind: 'invalid', guild: null } : { kind: 'link', guild };
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
