// story.js -- a shard's own story for its tooltip, from GET /api/status/<cluster>/<id>: its last
// transitions (when, from which state to which), its availability over 24 h and 7 d, and whether it
// flaps. Pure functions, no DOM.

import { stateLabel } from './states.js';
import { formatPercent, formatTime } from './format.js';

export const STORY_TRANSITIONS = 5; // how many of the (up to 16) transitions the tooltip lists

const stateValue = (x) => (Number.isInteger(Number(x)) && x !== null && x !== '' ? Number(x) : null);

/**
 * The newest `limit` transitions of a status body, newest first, in words:
 * [{at, text: "14:02:11 Online → Unhealthy"}]. Entries without a time are left out.
 */
export function transitionLines(body, { now = Date.now(), limit = STORY_TRANSITIONS } = {}) {
  const list = Array.isArray(body?.transitions) ? body.transitions : [];
  return list
    .filter((t) => t && Number.isFinite(Number(t.at_ms)) && Number(t.at_ms) > 0)
    .map((t) => ({ at: Number(t.at_ms), from: stateValue(t.from), to: stateValue(t.to) }))
    .sort((a, b) => b.at - a.at)
    .slice(0, limit)
    .map(({ at, from, to }) => ({
      at,
      text: `${formatTime(at, now)} ${from === null ? '?' : stateLabel(from)} → ${to === null ? '?' : stateLabel(to)}`,
    }));
}

/** "Available 99.98 % over 24 h, 100 % over 7 d"; null when the body has no availability at all. */
export function availabilityLine(body) {
  const a = body?.availability;
  if (!a || typeof a !== 'object' || !('24h' in a || '7d' in a)) return null;
  return `Available ${formatPercent(a['24h'] ?? null)} over 24 h, ${formatPercent(a['7d'] ?? null)} over 7 d`;
}

/** Whether a shard flaps, by its status body or by the history's flapping list. */
export function isFlapping(body, listed = false) {
  return body?.flapping === true || listed === true;
}
