// format.js -- times for people: a clock time and "3 min ago", in the reader's locale.

const clock = new Intl.DateTimeFormat(undefined, { hour: '2-digit', minute: '2-digit', second: '2-digit' });
const dated = new Intl.DateTimeFormat(undefined, {
  month: 'short', day: 'numeric', hour: '2-digit', minute: '2-digit', second: '2-digit',
});

/** The wall-clock time of `ms` (unix milliseconds); with the date when it is not today. */
export function formatTime(ms, now = Date.now()) {
  const d = new Date(ms);
  return d.toDateString() === new Date(now).toDateString() ? clock.format(d) : dated.format(d);
}

/** How long ago `ms` was, roughly: "just now", "42 s ago", "5 min ago", "3 h ago", "2 days ago". */
export function formatAgo(ms, now = Date.now()) {
  const s = Math.max(0, Math.round((now - ms) / 1000));
  if (s < 5) return 'just now';
  if (s < 60) return `${s} s ago`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m} min ago`;
  const h = Math.floor(m / 60);
  if (h < 48) return `${h} h ago`;
  return `${Math.floor(h / 24)} days ago`;
}

/** "12:03:04 (5 min ago)". */
export function formatWhen(ms, now = Date.now()) {
  return `${formatTime(ms, now)} (${formatAgo(ms, now)})`;
}
