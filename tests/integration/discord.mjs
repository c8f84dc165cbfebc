// discord.mjs -- fakes of what replicas deliver alerts to, for the tests: Discord's webhook API (messages
// created and edited, its rate limits and its errors, answered as a real Discord answers them) and a generic JSON
// webhook. Both record every request with the time it arrived and how it was answered, and both take a queue of
// behaviours that script the next answers: a 429, a 404, a 500, a delay, a reset, or no answer at all.
//
// A message exists, and an edit is applied, only once the 200 that says so has been written to the socket: a
// request the fake held and never answered changed nothing, so a test can tell one delivery from two. (A real
// Discord creates the message before it answers; the difference is the point of the fake.)
//
// Plain HTTP on 127.0.0.1, a free port; close() ends every connection, the held ones included.

import http from 'node:http';
import crypto from 'node:crypto';

const DISCORD_EPOCH = 1420070400000n;
const MAX_BODY_BYTES = 1 << 20;

// What Discord answers for each error status a behaviour may script (a body given in the behaviour wins).
// Discord's 5xx come from Cloudflare as HTML more often than as JSON, so a replica must not expect JSON there.
const ERROR_BODIES = {
  400: { json: { message: 'Invalid Form Body', code: 50035 } },
  401: { json: { message: 'Invalid Webhook Token', code: 50027 } },
  403: { json: { message: 'Missing Permissions', code: 50013 } },
  404: { json: { message: 'Unknown Webhook', code: 10015 } },
  405: { json: { message: '405: Method Not Allowed', code: 0 } },
  500: { json: { message: '500: Internal Server Error', code: 0 } },
  502: { html: '<html><head><title>502 Bad Gateway</title></head><body><center><h1>502 Bad Gateway</h1></center><hr><center>cloudflare</center></body></html>' },
  503: { html: '<html><head><title>503 Service Temporarily Unavailable</title></head><body><center><h1>503 Service Temporarily Unavailable</h1></center><hr><center>cloudflare</center></body></html>' },
  504: { html: '<html><head><title>504 Gateway Time-out</title></head><body><center><h1>504 Gateway Time-out</h1></center><hr><center>cloudflare</center></body></html>' },
};

/**
 * The part both fakes share: the server, the request log, the behaviour queue, held requests, answers.
 * route(entry, res, fake) is called once an entry's body has arrived; it answers through fake.answer().
 */
async function serve(route) {
  const requests = [];
  const queue = [];
  const held = new Map(); // entry -> {res, proceed}
  const sockets = new Set();

  const fake = {
    requests,
    /** Scripts the answers to the next requests, one behaviour each, in order. */
    setNext: (...behaviours) => { queue.push(...behaviours); },
    /** Behaviours not used yet. */
    pending: () => queue.length,
    takeBehaviour: () => queue.shift() || null,

    /**
     * Writes an answer, unless the peer is gone. Records the status and time once the answer has been handed to
     * the socket, and only then calls onSent(at): that is when a message counts as created.
     */
    answer(entry, res, { status, headers = {}, json, html, onSent }) {
      if (res.destroyed || res.socket?.destroyed || res.writableEnded) {
        entry.answeredWith = 'closed by peer';
        return;
      }
      let body = '';
      const h = { ...headers };
      if (status !== 204) {
        if (json !== undefined) { body = JSON.stringify(json); h['content-type'] = 'application/json'; }
        else if (html !== undefined) { body = html; h['content-type'] = 'text/html; charset=utf-8'; }
      }
      h['content-length'] = Buffer.byteLength(body);
      entry.answering = status;
      res.on('finish', () => {
        entry.answeredWith = status;
        entry.answeredAt = Date.now();
        if (onSent) onSent(entry.answeredAt);
      });
      res.writeHead(status, h);
      res.end(body);
    },

    /** The scripted answer for an error status, in the shape the real service gives it. */
    answerError(entry, res, status, { headers, body } = {}) {
      const canned = ERROR_BODIES[status] || { json: { message: `${status}`, code: 0 } };
      const shaped = body === undefined ? canned : (typeof body === 'string' ? { html: body } : { json: body });
      fake.answer(entry, res, { status, headers, ...shaped });
    },

    /**
     * Applies a behaviour that is not about the content of the answer: hold (never answer), reset (close the
     * connection without a word) or delayMs (answer later). Calls proceed() to answer, now or later.
     */
    applyTiming(entry, res, behaviour, proceed) {
      if (behaviour?.hold) {
        entry.answeredWith = 'held';
        held.set(entry, { res, proceed });
        return;
      }
      if (behaviour?.reset) {
        entry.answeredWith = 'reset';
        res.socket?.destroy();
        return;
      }
      if (behaviour?.delayMs) {
        setTimeout(proceed, behaviour.delayMs);
        return;
      }
      proceed();
    },

    /**
     * Lets the held requests go: by default their connections are reset (so they never count); with
     * {answer: true} they are answered now, as if they had just arrived.
     */
    release({ answer = false } = {}) {
      for (const [entry, { res, proceed }] of held) {
        held.delete(entry);
        if (entry.answeredWith !== 'held') continue; // the peer closed it already
        if (answer) { proceed(); } else { entry.answeredWith = 'reset by the fake'; res.socket?.destroy(); }
      }
    },
  };

  const server = http.createServer((req, res) => {
    const url = new URL(req.url, 'http://fake.invalid');
    const entry = {
      n: requests.length + 1,
      method: req.method,
      path: url.pathname,
      query: Object.fromEntries(url.searchParams),
      headers: req.headers,
      replica: req.headers['x-glance-replica'] ?? null,
      at: Date.now(),
      raw: '',
      body: undefined,
      problems: [],
      behaviour: null,
      early: false,
      answeredWith: null,
      answeredAt: null,
    };
    requests.push(entry);
    res.on('close', () => {
      // the peer went away before an answer was written: a held request whose replica gave up or died
      if (!res.writableFinished && (entry.answeredWith === null || entry.answeredWith === 'held')) {
        entry.answeredWith = 'closed by peer';
        entry.closedAt = Date.now();
      }
    });
    const chunks = [];
    let size = 0;
    req.on('data', (c) => { size += c.length; if (size <= MAX_BODY_BYTES) chunks.push(c); });
    req.on('end', () => {
      if (size > MAX_BODY_BYTES) {
        entry.problems.push(`body of ${size} bytes`);
        fake.answer(entry, res, { status: 413, json: { message: 'Request entity too large', code: 40005 } });
        return;
      }
      entry.raw = Buffer.concat(chunks).toString('utf8');
      if (entry.raw !== '') {
        try { entry.body = JSON.parse(entry.raw); } catch { entry.invalidJson = true; }
      }
      route(entry, res, fake);
    });
    req.on('error', () => {});
  });
  server.on('connection', (s) => { sockets.add(s); s.on('close', () => sockets.delete(s)); });
  server.on('clientError', (err, socket) => { socket.destroy(); });
  const port = await new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve(server.address().port));
  });

  fake.port = port;
  fake.base = `http://127.0.0.1:${port}`;
  /** Resets every held request, ends every connection and stops listening. */
  fake.close = () => new Promise((resolve) => {
    fake.release();
    for (const s of sockets) s.destroy();
    server.close(() => resolve());
  });
  return fake;
}

// ------------------------------------------------------------------------------------------------ Discord

/**
 * What a real Discord would refuse in a message body (create, or edit when `edit`), plus two rules of ours that
 * Discord does not have, so that a replica that forgets them fails here loudly: every alert carries an embeds
 * array, and says whom it may ping (allowed_mentions), so a cluster name can never page @everyone.
 */
export function messageProblems(body, { edit = false } = {}) {
  const problems = [];
  if (body === null || typeof body !== 'object' || Array.isArray(body)) return ['the body is not a JSON object'];
  const { content, embeds, allowed_mentions: mentions } = body;
  if (content !== undefined && content !== null) {
    if (typeof content !== 'string') problems.push('content: not a string');
    else if (content.length > 2000) problems.push(`content: ${content.length} characters, more than 2000`);
  }
  if (!Array.isArray(embeds)) {
    problems.push('embeds: missing or not an array (ours: every alert is an embed)');
  } else {
    if (embeds.length > 10) problems.push(`embeds: ${embeds.length}, more than 10`);
    let total = 0;
    embeds.forEach((e, i) => {
      const at = `embeds[${i}]`;
      if (e === null || typeof e !== 'object' || Array.isArray(e)) { problems.push(`${at}: not an object`); return; }
      const text = (name, max) => {
        const v = e[name];
        if (v === undefined || v === null) return;
        if (typeof v !== 'string') { problems.push(`${at}.${name}: not a string`); return; }
        if (v.length > max) problems.push(`${at}.${name}: ${v.length} characters, more than ${max}`);
        total += v.length;
      };
      text('title', 256);
      text('description', 4096);
      if (e.color !== undefined && e.color !== null
        && !(Number.isInteger(e.color) && e.color >= 0 && e.color <= 0xffffff)) problems.push(`${at}.color: not an integer from 0 to 16777215`);
      if (e.timestamp !== undefined && e.timestamp !== null
        && !(typeof e.timestamp === 'string' && /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?(Z|[+-]\d\d:\d\d)$/.test(e.timestamp)
          && !Number.isNaN(Date.parse(e.timestamp)))) problems.push(`${at}.timestamp: not an ISO 8601 time`);
      if (e.fields !== undefined) {
        if (!Array.isArray(e.fields) || e.fields.length > 25) problems.push(`${at}.fields: not an array of at most 25`);
        else for (const f of e.fields) total += String(f?.name ?? '').length + String(f?.value ?? '').length;
      }
      if (e.footer?.text !== undefined) total += String(e.footer.text).length;
      if (e.author?.name !== undefined) total += String(e.author.name).length;
    });
    if (total > 6000) problems.push(`embeds: ${total} characters in all, more than 6000`);
  }
  if (!edit && !(typeof content === 'string' && content.length > 0) && !(Array.isArray(embeds) && embeds.length > 0)) {
    problems.push('empty message');
  }
  if (mentions === undefined || mentions === null) {
    problems.push('allowed_mentions: missing (ours: an alert says whom it may ping)');
  } else if (typeof mentions !== 'object' || Array.isArray(mentions)) {
    problems.push('allowed_mentions: not an object');
  } else {
    const parse = mentions.parse ?? [];
    if (!Array.isArray(parse) || parse.some((p) => !['roles', 'users', 'everyone'].includes(p))) {
      problems.push('allowed_mentions.parse: not a list of roles, users, everyone');
    }
    for (const kind of ['roles', 'users']) {
      const ids = mentions[kind];
      if (ids === undefined) continue;
      if (!Array.isArray(ids) || ids.length > 100 || ids.some((id) => typeof id !== 'string' || !/^\d{1,20}$/.test(id))) {
        problems.push(`allowed_mentions.${kind}: not a list of at most 100 snowflakes as strings`);
      } else if (ids.length > 0 && Array.isArray(parse) && parse.includes(kind)) {
        problems.push(`allowed_mentions: parse:["${kind}"] and ${kind}:[...] are mutually exclusive`);
      }
    }
  }
  return problems;
}

/** Roles the content mentions that allowed_mentions lets ping (what Discord would put in mention_roles). */
function pingedRoles(content, mentions) {
  if (typeof content !== 'string' || !mentions) return [];
  const named = [...content.matchAll(/<@&(\d+)>/g)].map((m) => m[1]);
  const parse = Array.isArray(mentions.parse) ? mentions.parse : [];
  const allowed = Array.isArray(mentions.roles) ? mentions.roles : [];
  return [...new Set(named.filter((id) => parse.includes('roles') || allowed.includes(id)))];
}

/**
 * A fake of Discord's webhook API: POST /api/webhooks/<id>/<token>[?wait=true] creates a message (200 with the
 * message when wait=true, else 204), PATCH, GET and DELETE .../messages/<id> edit, read and remove one, GET on
 * the webhook describes it. Unknown webhook 404 (10015), wrong token 401 (50027), unknown message 404 (10008),
 * a body Discord would refuse 400 (50035, 50006, 50109).
 *
 * Versions as Discord serves them: a path without one (/api/webhooks/...) is API v6, whose 429 gives retry_after in
 * milliseconds; /api/v8/... and later give seconds.
 *
 * Rate limits as Discord states them: each webhook has a bucket of `limit` requests per `windowMs`; every
 * answer carries X-RateLimit-Limit, -Remaining, -Reset, -Reset-After and -Bucket. A request that arrives while
 * the bucket is empty, or before a 429's retry_after ran out, is answered 429 again and marked `early`: a
 * replica that honours the limits never sees that.
 *
 * Behaviours for setNext(): {status: 429, retryAfter: s, global}, {status: 401|403|404|500|502|503, body},
 * {hold: true}, {reset: true}, {delayMs}, {remaining: 0, resetAfter: s} (answer normally, but say the bucket is
 * empty for resetAfter seconds), or {} (answer normally). Each applies to the next request that reaches a known
 * webhook with its token. deleteWebhook(id) makes every later request to it a 404.
 *
 * Returns {port, base, url(id?, token?), webhooks, messages (Map id -> message), requests, setNext, pending,
 * deleteWebhook, release({answer}), close()}. A message is {id, webhookId, content, embeds, allowed_mentions,
 * mention_roles, createdAt, editedAt, history: [{method, body, at}], deleted}.
 */
export async function startDiscord({ rateLimit = { limit: 5, windowMs: 2000 } } = {}) {
  const webhooks = new Map(); // id -> {id, token, channelId, deleted, bucket, remaining, resetAt, blockedUntil}
  const messages = new Map();
  let increment = 0n;
  const snowflake = () => {
    increment = (increment + 1n) & 0xfffn;
    return String(((BigInt(Date.now()) - DISCORD_EPOCH) << 22n) | (1n << 17n) | (1n << 12n) | increment);
  };

  // Takes one request from the webhook's bucket; returns the headers that say what is left.
  function consume(hook, now) {
    const h = { 'x-ratelimit-bucket': hook.bucket };
    if (!rateLimit) return h;
    if (now >= hook.resetAt) { hook.remaining = rateLimit.limit; hook.resetAt = now + rateLimit.windowMs; }
    hook.remaining -= 1;
    if (hook.remaining <= 0) hook.blockedUntil = Math.max(hook.blockedUntil, hook.resetAt);
    return {
      ...h,
      'x-ratelimit-limit': String(rateLimit.limit),
      'x-ratelimit-remaining': String(Math.max(0, hook.remaining)),
      'x-ratelimit-reset': ((hook.resetAt) / 1000).toFixed(3),
      'x-ratelimit-reset-after': ((hook.resetAt - now) / 1000).toFixed(3),
    };
  }

  // The API version a path names: /api/v10/webhooks/... is 10; /api/webhooks/... names none, which Discord serves
  // as v6.
  const apiVersion = (p) => Number(/^\/api\/v(\d+)\//.exec(p)?.[1] || 6);

  function tooManyRequests(fake, entry, res, hook, retryAfterS, { global = false } = {}) {
    const now = Date.now();
    hook.blockedUntil = Math.max(hook.blockedUntil, now + retryAfterS * 1000);
    fake.answer(entry, res, {
      status: 429,
      headers: {
        'retry-after': String(Math.ceil(retryAfterS)),
        'x-ratelimit-limit': String(rateLimit ? rateLimit.limit : 5),
        'x-ratelimit-remaining': '0',
        'x-ratelimit-reset': ((now + retryAfterS * 1000) / 1000).toFixed(3),
        'x-ratelimit-reset-after': retryAfterS.toFixed(3),
        'x-ratelimit-bucket': hook.bucket,
        'x-ratelimit-scope': global ? 'global' : 'user',
        ...(global ? { 'x-ratelimit-global': 'true' } : {}),
      },
      // in seconds from API v8 on; a URL without a version is v6, whose retry_after is in milliseconds
      json: { message: 'You are being rate limited.', retry_after: apiVersion(entry.path) >= 8 ? retryAfterS : retryAfterS * 1000, global },
    });
  }

  function view(m) {
    return {
      id: m.id,
      type: 0,
      content: m.content ?? '',
      channel_id: m.channelId,
      author: { id: m.webhookId, username: 'Glance', avatar: null, discriminator: '0000', public_flags: 0, bot: true },
      attachments: [],
      embeds: (m.embeds || []).map((e) => ({ type: 'rich', ...e })),
      mentions: [],
      mention_roles: m.mention_roles,
      pinned: false,
      mention_everyone: false,
      tts: false,
      timestamp: new Date(m.createdAt).toISOString(),
      edited_timestamp: m.editedAt ? new Date(m.editedAt).toISOString() : null,
      flags: 0,
      components: [],
      webhook_id: m.webhookId,
    };
  }

  // Checks a create or edit body; answers 400 and returns false when Discord (or we) would refuse it.
  function acceptable(fake, entry, res, rl, edit) {
    if (!/^application\/json\b/i.test(entry.headers['content-type'] || '')) {
      entry.problems.push(`content-type ${JSON.stringify(entry.headers['content-type'] ?? null)}, not application/json`);
      // Discord reads no fields from a body it does not parse as JSON, so the message is empty
      fake.answer(entry, res, { status: 400, headers: rl, json: { message: 'Cannot send an empty message', code: 50006 } });
      return false;
    }
    if (entry.invalidJson) {
      entry.problems.push('the body is not JSON');
      fake.answer(entry, res, { status: 400, headers: rl, json: { message: 'The request body contains invalid JSON.', code: 50109 } });
      return false;
    }
    entry.problems.push(...messageProblems(entry.body, { edit }));
    if (entry.problems.length === 0) return true;
    const code = entry.problems.includes('empty message') ? 50006 : 50035;
    fake.answer(entry, res, {
      status: 400,
      headers: rl,
      json: code === 50006 ? { message: 'Cannot send an empty message', code }
        : { message: 'Invalid Form Body', code, errors: { _problems: entry.problems } },
    });
    return false;
  }

  function route(entry, res, fake) {
    const m = /^\/api(?:\/v\d+)?\/webhooks\/(\d+)\/([^/]+)(?:\/messages\/(\d+|@original))?\/?$/.exec(entry.path);
    if (!m) { fake.answer(entry, res, { status: 404, json: { message: '404: Not Found', code: 0 } }); return; }
    const [, hookId, token, messageId] = m;
    entry.webhookId = hookId;
    const hook = webhooks.get(hookId);
    if (!hook || hook.deleted) { fake.answerError(entry, res, 404); return; }
    if (token !== hook.token) { fake.answerError(entry, res, 401); return; }

    const now = Date.now();
    if (now < hook.blockedUntil) {
      entry.early = true;
      tooManyRequests(fake, entry, res, hook, Math.max(0.001, (hook.blockedUntil - now) / 1000));
      return;
    }
    const behaviour = fake.takeBehaviour();
    entry.behaviour = behaviour;
    const rl = consume(hook, now);
    if (behaviour?.remaining === 0) {
      // a bucket emptied by others sharing it: this answer is a success that says to wait resetAfter seconds
      const after = behaviour.resetAfter ?? 1;
      hook.blockedUntil = Math.max(hook.blockedUntil, now + after * 1000);
      Object.assign(rl, {
        'x-ratelimit-remaining': '0',
        'x-ratelimit-reset': ((now + after * 1000) / 1000).toFixed(3),
        'x-ratelimit-reset-after': after.toFixed(3),
      });
    }

    fake.applyTiming(entry, res, behaviour, () => {
      if (behaviour?.status === 429) { tooManyRequests(fake, entry, res, hook, behaviour.retryAfter ?? 1, behaviour); return; }
      if (behaviour?.status && behaviour.status !== 200) {
        fake.answerError(entry, res, behaviour.status, { headers: rl, body: behaviour.body });
        return;
      }
      if (messageId === undefined) {
        if (entry.method === 'GET') {
          fake.answer(entry, res, {
            status: 200,
            headers: rl,
            json: { id: hook.id, type: 1, name: 'Glance', avatar: null, channel_id: hook.channelId, guild_id: hook.guildId, application_id: null, token: hook.token },
          });
          return;
        }
        if (entry.method !== 'POST') { fake.answerError(entry, res, 405, { headers: rl }); return; }
        if (!acceptable(fake, entry, res, rl, false)) return;
        const b = entry.body;
        const msg = {
          id: snowflake(),
          webhookId: hook.id,
          channelId: hook.channelId,
          content: b.content ?? '',
          embeds: b.embeds,
          allowed_mentions: b.allowed_mentions,
          mention_roles: pingedRoles(b.content, b.allowed_mentions),
          createdAt: null,
          editedAt: null,
          history: [],
          deleted: false,
        };
        entry.messageId = msg.id;
        const wait = entry.query.wait === 'true' || entry.query.wait === '1';
        const onSent = (at) => {
          msg.createdAt = at;
          msg.history.push({ method: 'POST', body: b, at });
          messages.set(msg.id, msg);
        };
        // without wait=true Discord answers 204 and the sender never learns the message id
        if (wait) fake.answer(entry, res, { status: 200, headers: rl, json: view({ ...msg, createdAt: now }), onSent });
        else fake.answer(entry, res, { status: 204, headers: rl, onSent });
        return;
      }

      const msg = messageId === '@original' ? undefined : messages.get(messageId);
      entry.messageId = messageId;
      if (!msg || msg.deleted || msg.webhookId !== hook.id) {
        fake.answer(entry, res, { status: 404, headers: rl, json: { message: 'Unknown Message', code: 10008 } });
        return;
      }
      if (entry.method === 'GET') { fake.answer(entry, res, { status: 200, headers: rl, json: view(msg) }); return; }
      if (entry.method === 'DELETE') {
        fake.answer(entry, res, { status: 204, headers: rl, onSent: () => { msg.deleted = true; } });
        return;
      }
      if (entry.method !== 'PATCH') { fake.answerError(entry, res, 405, { headers: rl }); return; }
      if (!acceptable(fake, entry, res, rl, true)) return;
      const b = entry.body;
      const edited = {
        ...msg,
        content: b.content !== undefined ? (b.content ?? '') : msg.content,
        embeds: b.embeds !== undefined ? b.embeds : msg.embeds,
        allowed_mentions: b.allowed_mentions !== undefined ? b.allowed_mentions : msg.allowed_mentions,
        editedAt: now,
      };
      edited.mention_roles = pingedRoles(edited.content, edited.allowed_mentions);
      fake.answer(entry, res, {
        status: 200,
        headers: rl,
        json: view(edited),
        onSent: (at) => {
          Object.assign(msg, edited, { editedAt: at, history: msg.history });
          msg.history.push({ method: 'PATCH', body: b, at });
        },
      });
    });
  }

  const fake = await serve(route);
  /**
   * A webhook's URL, as a replica is configured with it. Without arguments a new webhook (a fresh id and
   * token); with an id already known, that webhook's URL.
   */
  fake.url = (id, token) => {
    let hook = id !== undefined ? webhooks.get(String(id)) : undefined;
    if (!hook) {
      hook = {
        id: id !== undefined ? String(id) : snowflake(),
        token: token || crypto.randomBytes(34).toString('base64url'),
        channelId: snowflake(),
        guildId: snowflake(),
        deleted: false,
        bucket: crypto.randomBytes(16).toString('hex'),
        remaining: rateLimit ? rateLimit.limit : 0,
        resetAt: 0,
        blockedUntil: 0,
      };
      webhooks.set(hook.id, hook);
    }
    return `${fake.base}/api/webhooks/${hook.id}/${hook.token}`;
  };
  fake.webhooks = webhooks;
  fake.messages = messages;
  /** Every later request to this webhook is answered 404 Unknown Webhook, as after it was deleted in Discord. */
  fake.deleteWebhook = (id) => { const hook = webhooks.get(String(id)); if (hook) hook.deleted = true; };
  /** The webhook id in one of this fake's URLs. */
  fake.idOf = (url) => /\/webhooks\/(\d+)\//.exec(url)?.[1];
  return fake;
}

// -------------------------------------------------------------------------------------- generic JSON webhook

/**
 * A generic JSON webhook: every POST to any path is recorded and answered 204 (or as scripted with setNext:
 * {status}, {hold}, {reset}, {delayMs}). A body that is not JSON sent as application/json is answered 400.
 * Returns {port, base, url(name?), requests, setNext, pending, release({answer}), close()}.
 */
export async function startJsonHook() {
  const fake = await serve((entry, res, f) => {
    if (entry.method !== 'POST') { f.answer(entry, res, { status: 405, json: { error: 'POST only' } }); return; }
    const behaviour = f.takeBehaviour();
    entry.behaviour = behaviour;
    f.applyTiming(entry, res, behaviour, () => {
      if (!/^application\/json\b/i.test(entry.headers['content-type'] || '')) entry.problems.push('content-type is not application/json');
      if (entry.invalidJson || entry.body === null || typeof entry.body !== 'object' || Array.isArray(entry.body)) {
        entry.problems.push('the body is not a JSON object');
      }
      if (entry.problems.length > 0) { f.answer(entry, res, { status: 400, json: { error: entry.problems.join('; ') } }); return; }
      if (behaviour?.status) { f.answer(entry, res, { status: behaviour.status, json: behaviour.body ?? { status: behaviour.status } }); return; }
      f.answer(entry, res, { status: 204 });
    });
  });
  fake.url = (name = 'alerts') => `${fake.base}/hooks/${name}`;
  return fake;
}
