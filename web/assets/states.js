// states.js -- the shard states and the words the page uses for them: pure data and functions, no DOM.

import { formatCount, formatHourMinute } from './format.js';

/** The shard states in value order (the value is the index), as the API and the feed number them. */
export const STATES = [
  { value: 0, key: 'unknown', label: 'Unknown', meaning: 'has not reported yet' },
  { value: 1, key: 'unhealthy', label: 'Unhealthy', meaning: 'missed its health checks' },
  { value: 2, key: 'offline', label: 'Offline', meaning: 'reported itself offline' },
  { value: 3, key: 'online', label: 'Online', meaning: 'connected and healthy' },
  { value: 4, key: 'starting', label: 'Starting', meaning: 'connecting to Discord' },
  { value: 5, key: 'stopping', label: 'Stopping', meaning: 'shutting down' },
  { value: 6, key: 'resuming', label: 'Resuming', meaning: 'reconnecting a dropped session' },
];

const DOWN = [1, 2]; // unhealthy, offline: users of these shards see the bot as down
const BUSY = [4, 5, 6]; // starting, stopping, resuming: on the way somewhere

/** Whether a state means the shard's servers see the bot as down (unhealthy or offline). */
export function isDown(value) {
  return DOWN.includes(value);
}

/**
 * The plain sentence for someone whose server's shard is down: "Your server's shard is unhealthy since
 * 03:12." (local time, with the date when not today). Without a usable `sinceMs` (0: it never changed,
 * or not known yet) the time is left out; `cluster` names the cluster when the bot has several.
 * null when the state is not a down state.
 */
export function downSentence(state, sinceMs, { cluster = null, now = Date.now() } = {}) {
  if (!isDown(state)) return null;
  const where = cluster === null ? '' : ` in cluster ${cluster}`;
  const at = Number(sinceMs);
  const since = at > 0 && at < 8.64e15 ? ` since ${formatHourMinute(at, now)}` : ''; // 8.64e15: the last Date
  return `Your server's shard${where} is ${STATES[state].key}${since}.`;
}

/** The label of a state value ("Online"); "State 9" for a value this page does not know. */
export function stateLabel(value) {
  return STATES[value]?.label ?? `State ${value}`;
}

function plural(n, one, many) {
  return `${formatCount(n)} ${n === 1 ? one : many}`;
}

/** "a", "a or b", "a, b or c". */
function either(words) {
  return words.length <= 1 ? words.join('') : `${words.slice(0, -1).join(', ')} or ${words[words.length - 1]}`;
}

/**
 * Sums up shard counts (an array indexed by state value) for people, in the words of a status page:
 * returns {level, title, detail}, where level is one of 'ok', 'degraded', 'partial', 'major', 'none'
 * (for colour), title is a few words ("Partial outage") and detail says how many shards are affected
 * ("12 of 360 shards unhealthy").
 */
export function summarise(counts) {
  const n = (values) => values.reduce((sum, v) => sum + (counts[v] || 0), 0);
  const total = counts.reduce((sum, c) => sum + (c || 0), 0);
  const unknown = counts[0] || 0;
  const down = n(DOWN);
  const busy = n(BUSY);
  const online = counts[3] || 0;
  const of = (k) => `${formatCount(k)} of ${plural(total, 'shard', 'shards')}`;
  const named = (values) => either(values.filter((v) => counts[v] > 0).map((v) => STATES[v].key));

  if (total === 0) return { level: 'none', title: 'No shards', detail: 'No clusters are configured' };
  if (unknown === total) {
    return { level: 'none', title: 'No data yet', detail: `${total === 1 ? 'The shard has not' : `None of the ${plural(total, 'shard', 'shards')} has`} reported yet` };
  }
  if (total === 1) { // one shard: say its state rather than "1 of 1"
    const st = counts.findIndex((c) => c > 0);
    const level = DOWN.includes(st) ? 'major' : BUSY.includes(st) ? 'degraded' : 'ok';
    const title = { major: 'Major outage', degraded: 'Degraded', ok: 'Operational' }[level];
    return { level, title, detail: `The shard is ${STATES[st].key}` };
  }
  if (down > 0 && down === total - unknown) {
    const all = down === total ? `All ${plural(total, 'shard', 'shards')}` : of(down);
    return { level: 'major', title: 'Major outage', detail: `${all} ${named(DOWN)}` };
  }
  if (down > 0) return { level: 'partial', title: 'Partial outage', detail: `${of(down)} ${named(DOWN)}` };
  if (busy > 0) return { level: 'degraded', title: 'Degraded', detail: `${of(busy)} ${named(BUSY)}` };
  if (unknown > 0) {
    return { level: 'ok', title: 'Operational', detail: `${of(online)} online; ${formatCount(unknown)} not reporting yet` };
  }
  return { level: 'ok', title: 'Operational', detail: `All ${plural(total, 'shard', 'shards')} online` };
}
