// poll.js -- asking the API again and again without hurting the page or the server: a JSON GET with a
// deadline, and a poller that runs one task at a time, on an interval, sooner on request, backs off
// after failures, adds jitter (a thousand pages must not ask in step) and rests while the tab is hidden.

/**
 * GETs `url` and resolves {body, text} (the parsed JSON and its text); rejects on a network error, an
 * answer that is not 2xx, a body that is not JSON, or after `timeoutMs`. `signal` aborts it too.
 */
export async function getJson(url, { signal, timeoutMs = 10000, fetchImpl = globalThis.fetch } = {}) {
  const abort = new AbortController();
  const timer = setTimeout(() => abort.abort(), timeoutMs);
  const onAbort = () => abort.abort();
  signal?.addEventListener('abort', onAbort);
  try {
    const res = await fetchImpl(url, { signal: abort.signal, headers: { accept: 'application/json' }, cache: 'no-store' });
    if (!res.ok) throw new Error(`GET ${url}: ${res.status}`);
    const text = await res.text();
    return { body: JSON.parse(text), text };
  } finally {
    clearTimeout(timer);
    signal?.removeEventListener('abort', onAbort);
  }
}

/**
 * Runs `task(signal)` (async; resolves when done, rejects on failure) now and then every `everyMs`;
 * after a failure, again after `retryMs`, doubling up to `everyMs`. soon(ms) asks for a run within
 * `ms` (never later than one already due). Each wait gets up to `jitter` (a fraction) added. While the
 * document is hidden a due run waits for it to be shown. `random`, `isHidden` are for tests.
 */
export class Poller {
  constructor(task, {
    everyMs, retryMs = 5000, jitter = 0.1, random = Math.random,
    isHidden = () => globalThis.document?.hidden === true,
  }) {
    this.task = task;
    this.everyMs = everyMs;
    this.retryMs = retryMs;
    this.jitter = jitter;
    this.random = random;
    this.isHidden = isHidden;
    this.timer = 0;
    this.dueAt = Infinity; // when the timer fires
    this.running = null; // the run under way (a promise), or null
    this.again = false; // soon() was called during a run: run once more after it
    this.failures = 0;
    this.waiting = false; // due, but the tab is hidden
    this.stopped = true;
    this.runs = 0;
    this.onVisible = () => { if (this.waiting && !this.isHidden()) { this.waiting = false; this.run(); } };
  }

  start(delayMs = 0) {
    this.stopped = false;
    globalThis.document?.addEventListener('visibilitychange', this.onVisible);
    this.schedule(delayMs, false);
  }

  stop() {
    this.stopped = true;
    clearTimeout(this.timer);
    this.dueAt = Infinity;
    globalThis.document?.removeEventListener('visibilitychange', this.onVisible);
  }

  /** Asks for a run within about `ms` (plus jitter); a run already due sooner stays as it is. */
  soon(ms = 0) {
    if (this.stopped) return;
    if (this.running) { this.again = true; return; }
    this.schedule(ms, true);
  }

  schedule(ms, keepSooner) {
    const wait = Math.round(ms * (1 + this.jitter * this.random()));
    const at = Date.now() + wait;
    if (keepSooner && this.dueAt <= at) return;
    clearTimeout(this.timer);
    this.dueAt = at;
    this.timer = setTimeout(() => { this.dueAt = Infinity; this.run(); }, wait);
  }

  async run() {
    if (this.stopped || this.running) return;
    if (this.isHidden()) { this.waiting = true; return; }
    clearTimeout(this.timer);
    this.dueAt = Infinity;
    this.again = false;
    this.runs++;
    let ok = true;
    this.running = (async () => { try { await this.task(); } catch { ok = false; } })();
    await this.running;
    this.running = null;
    if (this.stopped) return;
    this.failures = ok ? 0 : this.failures + 1;
    const next = ok ? this.everyMs : Math.min(this.everyMs, this.retryMs * 2 ** (this.failures - 1));
    if (this.again) this.schedule(0, false);
    else this.schedule(next, false);
  }
}
