// format.js -- times and figures for people: a clock time, "3 min ago", "in 2 h", a duration, a
// percentage, in the reader's locale where the locale matters.

/** An Intl formatter made on first use: each one costs ICU work, which at module load would hold up the page's
 * first paint (tens of milliseconds for these nine). */
const lazy = (make) => {
  let f = null;
  return { format: (x) => (f ??= make()).format(x) };
};

const clock = lazy(() => new Intl.DateTimeFormat(undefined, { hour: '2-digit', minute: '2-digit', second: '2-digit' }));
const dated = lazy(() => new Intl.DateTimeFormat(undefined, {
  month: 'short', day: 'numeric', hour: '2-digit', minute: '2-digit', second: '2-digit',
}));
// schedules (maintenance windows) name their time zone: a window is planned, people compare it
const minutes = lazy(() => new Intl.DateTimeFormat(undefined, { hour: '2-digit', minute: '2-digit', timeZoneName: 'short' }));
const minutesDated = lazy(() => new Intl.DateTimeFormat(undefined, {
  month: 'short', day: 'numeric', hour: '2-digit', minute: '2-digit', timeZoneName: 'short',
}));

// "since 03:12": a plain 24-hour clock in the reader's time zone, as people say when something broke
const hhmm = lazy(() => new Intl.DateTimeFormat(undefined, { hour: '2-digit', minute: '2-digit', hourCycle: 'h23' }));
const hhmmDated = lazy(() => new Intl.DateTimeFormat(undefined, { month: 'short', day: 'numeric', hour: '2-digit', minute: '2-digit', hourCycle: 'h23' }));
const hhmmYear = lazy(() => new Intl.DateTimeFormat(undefined, {
  year: 'numeric', month: 'short', day: 'numeric', hour: '2-digit', minute: '2-digit', hourCycle: 'h23',
}));

const count = lazy(() => new Intl.NumberFormat('en-US')); // one formatter: toLocaleString() would make one per call

/** A count with separators, as the rest of the page writes them: 20,000. */
export function formatCount(n) {
  return count.format(n);
}

const sameDay = (a, b) => new Date(a).toDateString() === new Date(b).toDateString();

/** The wall-clock time of `ms` (unix milliseconds); with the date when it is not today. */
export function formatTime(ms, now = Date.now()) {
  const d = new Date(ms);
  return sameDay(ms, now) ? clock.format(d) : dated.format(d);
}

/** A planned time to the minute, with its time zone ("16:00 UTC"); with the date when not today. */
export function formatClock(ms, now = Date.now()) {
  return (sameDay(ms, now) ? minutes : minutesDated).format(new Date(ms));
}

/**
 * The local time of `ms` as HH:MM ("03:12"); with the date when it is not today ("Nov 29, 03:12"), and the
 * year when it is not this year.
 */
export function formatHourMinute(ms, now = Date.now()) {
  if (sameDay(ms, now)) return hhmm.format(new Date(ms));
  return (new Date(ms).getFullYear() === new Date(now).getFullYear() ? hhmmDated : hhmmYear).format(new Date(ms));
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

/** How far ahead `ms` is, roughly: "now", "in 42 s", "in 5 min", "in 3 h", "in 2 days". */
export function formatIn(ms, now = Date.now()) {
  const s = Math.round((ms - now) / 1000);
  if (s < 5) return 'now';
  if (s < 60) return `in ${s} s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `in ${m} min`;
  const h = Math.floor(m / 60);
  if (h < 48) return `in ${h} h`;
  return `in ${Math.floor(h / 24)} days`;
}

/** "12:03:04 (5 min ago)". */
export function formatWhen(ms, now = Date.now()) {
  return `${formatTime(ms, now)} (${formatAgo(ms, now)})`;
}

const UNITS = [['d', 86400000], ['h', 3600000], ['min', 60000], ['s', 1000]];

/**
 * A length of time in its two largest units: "0 s", "under 1 s", "45 s", "1 min 33 s", "2 h",
 * "3 h 5 min", "12 d 4 h". Rounded down, so a figure never says more than happened.
 */
export function formatDuration(ms) {
  if (!(ms > 0)) return '0 s';
  if (ms < 1000) return 'under 1 s';
  const parts = [];
  let rest = Math.floor(ms);
  for (const [unit, size] of UNITS) {
    const n = Math.floor(rest / size);
    rest -= n * size;
    if (n > 0 || parts.length > 0) parts.push(n > 0 ? `${n < 1000 ? n : count.format(n)} ${unit}` : '');
    if (parts.length === 2) break;
  }
  return parts.filter(Boolean).join(' ');
}

/**
 * A fraction (0..1) as a percentage with `digits` decimals, rounded down so that anything short of
 * all is never shown as 100: 0.99912 -> "99.91 %", 1 -> "100 %". null, undefined or NaN -> "no data".
 * The space before "%" does not break.
 */
export function formatPercent(fraction, digits = 2) {
  if (fraction === null || fraction === undefined || !Number.isFinite(Number(fraction))) return 'no data';
  const f = Math.min(1, Math.max(0, Number(fraction)));
  if (f === 1) return '100\u00a0%';
  const scale = 10 ** digits;
  // the small nudge undoes binary rounding (0.9995 * 1e4 is 9994.999...), never a real shortfall
  const value = Math.min(100 * scale - 1, Math.floor(f * 100 * scale + 1e-6)) / scale;
  return `${value.toFixed(digits)}\u00a0%`;
}
