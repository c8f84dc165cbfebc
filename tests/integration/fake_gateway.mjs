// fake_gateway.mjs -- a fake Discord for the adapters' tests: enough of the REST API and of the gateway protocol
// (v10, JSON, with or without zlib-stream) for discord.js 14 and discord.py 2.2 to log in, identify, resume and
// receive dispatches, and a handle the test drives (dispatch, reconnect, invalidate, close a shard's socket).
//
// Everything a library does here is its own behaviour: the fake never counts for it. It records what the libraries
// sent (IDENTIFY, RESUME, with the path they connected to) and what /gateway/bot answered, for the tests to compare.

import http from 'node:http';
import zlib from 'node:zlib';
import { WebSocketServer, WebSocket } from 'ws';
import { freePort } from './harness.mjs';

const OP = { DISPATCH: 0, HEARTBEAT: 1, IDENTIFY: 2, RESUME: 6, RECONNECT: 7, INVALID_SESSION: 9, HELLO: 10, ACK: 11 };
const BOT = { id: '1000000000000000001', username: 'glance-test', discriminator: '0', global_name: null,
  avatar: null, bot: true, verified: true, flags: 0, mfa_enabled: false };

/** A guild id that Discord (and both libraries) place on shard `shard` of `count`: (id >> 22) % count. */
export const guildId = (shard, count, n) => String((BigInt(n) * BigInt(count) + BigInt(shard)) << 22n);

function guildPayload(id) {
  return { id, name: `guild ${id}`, unavailable: false, member_count: 10, owner_id: BOT.id, large: false,
    joined_at: new Date(0).toISOString(), icon: null, splash: null, discovery_splash: null, banner: null,
    description: null, features: [], channels: [], roles: [], emojis: [], stickers: [], members: [],
    voice_states: [], threads: [], presences: [], stage_instances: [], guild_scheduled_events: [],
    verification_level: 0, default_message_notifications: 0, explicit_content_filter: 0, mfa_level: 0,
    premium_tier: 0, nsfw_level: 0, preferred_locale: 'en-US', system_channel_flags: 0, afk_timeout: 300 };
}

/**
 * Starts the fake on 127.0.0.1 (a port below the ephemeral range, harness freePort). Options: shards (the count
 * /gateway/bot recommends and every IDENTIFY must name), guilds (per shard, sent as READY's unavailable list, then
 * one GUILD_CREATE each), heartbeatMs, and the session_start_limit it answers (remaining goes down by one at each
 * IDENTIFY, as Discord's does). Resolves a handle; stop() closes everything.
 */
export async function startFakeGateway({ shards = 2, guilds = 2, heartbeatMs = 1000,
  limit = { total: 1000, remaining: 990, reset_after: 14_400_000, max_concurrency: 16 } } = {}) {
  const port = await freePort();
  const base = `ws://127.0.0.1:${port}`;
  const sessionLimit = { ...limit };
  const sessions = new Map(); // session_id -> { shard, seq }
  const conns = new Set(); // open sockets: { ws, shard, session, deflate, queue, path }
  const sent = []; // what the libraries sent: { shard, op: 'IDENTIFY' | 'RESUME', path, compress }
  const gatewayBot = []; // every /gateway/bot answer, in order
  let failGatewayBot = 0; // answer the next n /gateway/bot calls with a 403
  let nextSession = 1;

  const rest = {
    'GET /api/v10/gateway': () => ({ url: base }),
    'GET /api/v10/gateway/bot': () => {
      if (failGatewayBot > 0) {
        failGatewayBot--;
        return [403, { message: 'Missing Access', code: 50001 }]; // a 5xx would be retried by both libraries
      }
      const body = { url: base, shards, session_start_limit: { ...sessionLimit } };
      gatewayBot.push(body);
      return body;
    },
    'GET /api/v10/users/@me': () => BOT,
    // discord.py's login asks for its application
    'GET /api/v10/oauth2/applications/@me': () => ({ id: BOT.id, name: BOT.username, description: '', icon: null,
      rpc_origins: [], bot_public: true, bot_require_code_grant: false, owner: BOT, verify_key: '0', flags: 0,
      summary: '', team: null }),
  };

  const server = http.createServer((req, res) => {
    const route = rest[`${req.method} ${req.url.split('?')[0]}`];
    const answer = route ? route() : [404, { message: '404: Not Found', code: 0 }];
    const [status, body] = Array.isArray(answer) ? answer : [200, answer];
    res.writeHead(status, { 'content-type': 'application/json' });
    res.end(JSON.stringify(body));
  });
  const wss = new WebSocketServer({ server });

  // zlib-stream: one deflate context per connection, each payload flushed with Z_SYNC_FLUSH (ending 00 00 ff ff),
  // which is how both libraries tell a whole message; sends go one at a time so the stream stays in order
  function send(conn, payload) {
    conn.queue = conn.queue.then(() => new Promise((resolve) => {
      if (conn.ws.readyState !== WebSocket.OPEN) return resolve();
      const json = JSON.stringify(payload);
      if (!conn.deflate) {
        conn.ws.send(json, () => resolve());
        return;
      }
      const chunks = [];
      const onData = (chunk) => chunks.push(chunk);
      conn.deflate.on('data', onData);
      conn.deflate.write(json);
      conn.deflate.flush(zlib.constants.Z_SYNC_FLUSH, () => {
        conn.deflate.off('data', onData);
        conn.ws.send(Buffer.concat(chunks), { binary: true }, () => resolve());
      });
    }));
    return conn.queue;
  }

  function dispatchOn(conn, t, d) {
    const session = sessions.get(conn.session);
    session.seq++;
    return send(conn, { op: OP.DISPATCH, t, s: session.seq, d });
  }

  async function identify(conn, d) {
    const [shard, count] = d.shard ?? [0, 1];
    if (count !== shards || shard >= shards) {
      conn.ws.close(4010, 'Invalid shard');
      return;
    }
    sent.push({ shard, op: 'IDENTIFY', path: conn.path, compress: Boolean(conn.deflate) });
    sessionLimit.remaining = Math.max(0, sessionLimit.remaining - 1);
    const id = `session-${nextSession++}`;
    sessions.set(id, { shard, seq: 0 });
    Object.assign(conn, { shard, session: id });
    const ids = Array.from({ length: guilds }, (_, n) => guildId(shard, shards, n));
    await dispatchOn(conn, 'READY', { v: 10, user: BOT, session_id: id, resume_gateway_url: `${base}/resume`,
      shard: [shard, count], guilds: ids.map((gid) => ({ id: gid, unavailable: true })),
      application: { id: BOT.id, flags: 0 }, private_channels: [], relationships: [], presences: [],
      guild_join_requests: [], geo_ordered_rtc_regions: [], user_settings: {} });
    for (const gid of ids) await dispatchOn(conn, 'GUILD_CREATE', guildPayload(gid));
  }

  async function resume(conn, d) {
    const session = sessions.get(d.session_id);
    if (!session) {
      await send(conn, { op: OP.INVALID_SESSION, d: false }); // the library identifies anew
      return;
    }
    sent.push({ shard: session.shard, op: 'RESUME', path: conn.path, compress: Boolean(conn.deflate) });
    Object.assign(conn, { shard: session.shard, session: d.session_id });
    // nothing to replay: every dispatch of the session reached the old socket before it closed
    await dispatchOn(conn, 'RESUMED', {});
  }

  wss.on('connection', (ws, req) => {
    const url = new URL(req.url, base);
    const conn = { ws, shard: null, session: null, path: url.pathname, queue: Promise.resolve(),
      deflate: url.searchParams.get('compress') === 'zlib-stream' ? zlib.createDeflate() : null };
    conns.add(conn);
    ws.on('close', () => { conns.delete(conn); conn.deflate?.close(); });
    ws.on('error', () => {});
    ws.on('message', (data, isBinary) => {
      let msg;
      try {
        msg = JSON.parse(isBinary ? Buffer.from(data).toString() : data.toString());
      } catch {
        ws.close(4002, 'Decode error');
        return;
      }
      if (msg.op === OP.HEARTBEAT) send(conn, { op: OP.ACK, d: null });
      else if (msg.op === OP.IDENTIFY) identify(conn, msg.d);
      else if (msg.op === OP.RESUME) resume(conn, msg.d);
      // presence updates, voice state, request guild members: accepted and ignored
    });
    send(conn, { op: OP.HELLO, d: { heartbeat_interval: heartbeatMs } });
  });

  await new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', resolve);
  });

  // the newest open socket that identified or resumed as this shard
  const live = (shard) => [...conns].filter((c) => c.shard === shard && c.ws.readyState === WebSocket.OPEN).at(-1);
  const must = (shard) => {
    const conn = live(shard);
    if (!conn) throw new Error(`fake gateway: shard ${shard} has no open session`);
    return conn;
  };

  return {
    port,
    /** discord.js's rest.api, discord.py's Route.BASE without the version. */
    api: `http://127.0.0.1:${port}/api`,
    gatewayUrl: `${base}/`,
    sent,
    gatewayBot,
    /** IDENTIFYs or RESUMEs (op: 'IDENTIFY' | 'RESUME') this shard sent. */
    count: (shard, op) => sent.filter((s) => s.shard === shard && s.op === op).length,
    /** true while the shard has an open, identified or resumed socket. */
    connected: (shard) => Boolean(live(shard)),
    /** Sends n dispatches of type t to the shard (TYPING_START by default: no library needs it in its caches). */
    async dispatch(shard, n = 1, t = 'TYPING_START') {
      const conn = must(shard);
      for (let i = 0; i < n; i++) {
        await dispatchOn(conn, t, { channel_id: '1', user_id: BOT.id, timestamp: Math.floor(Date.now() / 1000) });
      }
    },
    /** op 7: the library closes the socket and resumes on resume_gateway_url. */
    reconnect: (shard) => send(must(shard), { op: OP.RECONNECT, d: null }),
    /** op 9, not resumable: the session is forgotten and the library must IDENTIFY again. */
    invalidate(shard) {
      const conn = must(shard);
      sessions.delete(conn.session);
      return send(conn, { op: OP.INVALID_SESSION, d: false });
    },
    /** Closes the shard's socket from the server's side (4000, unknown error: both libraries resume). */
    close: (shard, code = 4000) => must(shard).ws.close(code, 'closed by the fake gateway'),
    /** The next n /gateway/bot calls fail with a 403. */
    failGatewayBot(n = 1) { failGatewayBot = n; },
    async stop() {
      for (const c of conns) c.ws.terminate();
      await new Promise((resolve) => wss.close(() => resolve()));
      server.closeAllConnections?.();
      await new Promise((resolve) => server.close(() => resolve()));
    },
  };
}
