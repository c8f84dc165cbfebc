// dns.mjs -- a tiny DNS server over UDP that plays Docker's embedded DNS (127.0.0.11:53) for the tests:
// it answers A queries for the names it is given, NODATA for other types of those names and NXDOMAIN for
// the rest. Enough for HAProxy's resolvers; nothing more (no compression beyond the question, no TCP).

import dgram from 'node:dgram';

/** Reads the question of a query: {name, type, end (offset after the question)}, or null if malformed. */
function parseQuestion(msg) {
  if (msg.length < 12 || msg.readUInt16BE(4) < 1) return null;
  const labels = [];
  let off = 12;
  while (off < msg.length) {
    const len = msg[off];
    if (len === 0) { off++; break; }
    if (len > 63 || off + 1 + len > msg.length) return null;
    labels.push(msg.subarray(off + 1, off + 1 + len).toString('latin1'));
    off += 1 + len;
  }
  if (off + 4 > msg.length) return null;
  return { name: labels.join('.').toLowerCase(), type: msg.readUInt16BE(off), end: off + 4 };
}

/**
 * Starts the server on host:port. records: {name: ['127.0.0.2', ...]}, changeable later with set().
 * Returns {set(name, addresses), queries (count), close()}.
 */
export async function startDns({ host = '127.0.0.11', port = 53, records = {} } = {}) {
  const table = new Map(Object.entries(records).map(([k, v]) => [k.toLowerCase(), v]));
  const sock = dgram.createSocket('udp4');
  const server = { queries: 0 };
  sock.on('message', (msg, rinfo) => {
    const q = parseQuestion(msg);
    if (!q) return;
    server.queries++;
    const addrs = table.get(q.name);
    const answers = addrs && q.type === 1 ? addrs : [];
    const header = Buffer.alloc(12);
    header.writeUInt16BE(msg.readUInt16BE(0), 0); // id
    // QR, the query's RD, RA; NXDOMAIN for a name we do not know
    header.writeUInt16BE(0x8080 | (msg.readUInt16BE(2) & 0x0100) | (addrs ? 0 : 3), 2);
    header.writeUInt16BE(1, 4);
    header.writeUInt16BE(answers.length, 6);
    const parts = [header, msg.subarray(12, q.end)];
    for (const a of answers) {
      const rr = Buffer.alloc(16);
      rr.writeUInt16BE(0xc00c, 0); // the name: a pointer to the question's
      rr.writeUInt16BE(1, 2); // A
      rr.writeUInt16BE(1, 4); // IN
      rr.writeUInt32BE(1, 6); // TTL 1 s
      rr.writeUInt16BE(4, 10);
      a.split('.').forEach((b, i) => { rr[12 + i] = Number(b); });
      parts.push(rr);
    }
    sock.send(Buffer.concat(parts), rinfo.port, rinfo.address);
  });
  await new Promise((resolve, reject) => {
    sock.once('error', reject);
    sock.bind(port, host, () => { sock.off('error', reject); resolve(); });
  });
  server.set = (name, addresses) => table.set(name.toLowerCase(), addresses);
  server.table = table;
  server.close = () => new Promise((resolve) => sock.close(resolve));
  return server;
}

/**
 * Asks host:port for the A records of name; resolves the addresses, or null when no answer came within
 * timeoutMs. (Used to make sure queries to 127.0.0.11:53 really reach our server: inside a Docker
 * container, Docker redirects that address to its own resolver.)
 */
export function queryA(name, { host = '127.0.0.11', port = 53, timeoutMs = 1000 } = {}) {
  return new Promise((resolve) => {
    const sock = dgram.createSocket('udp4');
    const labels = name.split('.').map((l) => Buffer.concat([Buffer.from([l.length]), Buffer.from(l, 'latin1')]));
    const q = Buffer.concat([Buffer.from([0x12, 0x34, 0x01, 0x00, 0, 1, 0, 0, 0, 0, 0, 0]), ...labels, Buffer.from([0, 0, 1, 0, 1])]);
    const done = (v) => { clearTimeout(timer); try { sock.close(); } catch {} resolve(v); };
    const timer = setTimeout(() => done(null), timeoutMs);
    sock.on('error', () => done(null));
    sock.on('message', (msg) => {
      const an = msg.readUInt16BE(6);
      const out = [];
      let off = q.length;
      for (let i = 0; i < an && off + 12 <= msg.length; i++) {
        const rdlen = msg.readUInt16BE(off + 10);
        if (msg.readUInt16BE(off + 2) === 1 && rdlen === 4) out.push([...msg.subarray(off + 12, off + 16)].join('.'));
        off += 12 + rdlen;
      }
      done(out);
    });
    sock.send(q, port, host);
  });
}
