/**
 * A pure parser for the first flight of a TLS client: record layer, the ClientHello handshake
 * message (possibly spread over several records), and its server_name and ALPN extensions.
 * Nothing here decrypts or answers; it only reads what the client sent in the clear.
 */

const CONTENT_HANDSHAKE = 0x16;
const HANDSHAKE_CLIENT_HELLO = 0x01;
const EXT_SERVER_NAME = 0x0000;
const EXT_ALPN = 0x0010;
const MAX_RECORD_PAYLOAD = 16_384 + 2048;
const MAX_CLIENT_HELLO = 64 * 1024;

export type ClientHelloParse =
  /** more bytes are needed to decide */
  | { readonly state: 'incomplete' }
  /** the bytes are not a TLS handshake */
  | { readonly state: 'not-tls' }
  /** a TLS record, but not a ClientHello Sluice can read */
  | { readonly state: 'malformed'; readonly reason: string }
  | { readonly state: 'client-hello'; readonly sni: string | undefined; readonly alpn: string[] | undefined };

class Malformed extends Error {}

/** A bounds-checked reader; every overrun is a malformed ClientHello. */
class Reader {
  constructor(
    private readonly buf: Buffer,
    private pos = 0,
    private readonly end = buf.length,
  ) {}
  get remaining(): number {
    return this.end - this.pos;
  }
  u8(): number {
    this.need(1);
    return this.buf[this.pos++]!;
  }
  u16(): number {
    this.need(2);
    const v = this.buf.readUInt16BE(this.pos);
    this.pos += 2;
    return v;
  }
  u24(): number {
    this.need(3);
    const v = this.buf.readUIntBE(this.pos, 3);
    this.pos += 3;
    return v;
  }
  skip(n: number): void {
    this.need(n);
    this.pos += n;
  }
  bytes(n: number): Buffer {
    this.need(n);
    const b = this.buf.subarray(this.pos, this.pos + n);
    this.pos += n;
    return b;
  }
  /** a sub-reader over the next `n` bytes */
  sub(n: number): Reader {
    this.need(n);
    const r = new Reader(this.buf, this.pos, this.pos + n);
    this.pos += n;
    return r;
  }
  private need(n: number): void {
    if (n > this.remaining) throw new Malformed('length field runs past its container');
  }
}

/**
 * Concatenates handshake-record payloads from the start of `data` until `want` bytes are
 * available; returns undefined while incomplete.
 */
function handshakeBytes(data: Buffer, want: (payload: Buffer) => number | undefined): Buffer | undefined {
  const parts: Buffer[] = [];
  let have = 0;
  let pos = 0;
  for (;;) {
    if (data.length < pos + 5) return undefined;
    if (data[pos] !== CONTENT_HANDSHAKE) throw new Malformed(`record ${parts.length} is not a handshake record`);
    if (data[pos + 1] !== 0x03) throw new Malformed('unsupported record version');
    const len = data.readUInt16BE(pos + 3);
    if (len === 0 || len > MAX_RECORD_PAYLOAD) throw new Malformed(`record length ${len} out of range`);
    if (data.length < pos + 5 + len) return undefined;
    parts.push(data.subarray(pos + 5, pos + 5 + len));
    have += len;
    pos += 5 + len;
    const payload = Buffer.concat(parts, have);
    const total = want(payload);
    if (total !== undefined && have >= total) return payload.subarray(0, total);
  }
}

function parseServerName(r: Reader): string | undefined {
  const list = r.sub(r.u16());
  while (list.remaining > 0) {
    const type = list.u8();
    const name = list.bytes(list.u16());
    if (type === 0) {
      const host = name.toString('latin1');
      if (host.length === 0 || !/^[\x21-\x7e]+$/.test(host)) throw new Malformed('server_name is not a host name');
      return host.toLowerCase();
    }
  }
  return undefined;
}

function parseAlpn(r: Reader): string[] {
  const list = r.sub(r.u16());
  const out: string[] = [];
  while (list.remaining > 0) {
    const len = list.u8();
    if (len === 0) throw new Malformed('empty ALPN protocol name');
    out.push(list.bytes(len).toString('latin1'));
  }
  return out;
}

function parseHello(body: Buffer): { sni: string | undefined; alpn: string[] | undefined } {
  const r = new Reader(body);
  const major = r.u8();
  r.u8();
  if (major !== 3) throw new Malformed('unsupported client version');
  r.skip(32); // random
  const sessionId = r.u8();
  if (sessionId > 32) throw new Malformed('session id longer than 32 bytes');
  r.skip(sessionId);
  const suites = r.u16();
  if (suites < 2 || suites % 2 !== 0) throw new Malformed('bad cipher suite list');
  r.skip(suites);
  const compression = r.u8();
  if (compression < 1) throw new Malformed('no compression methods');
  r.skip(compression);
  let sni: string | undefined;
  let alpn: string[] | undefined;
  if (r.remaining === 0) return { sni, alpn };
  const exts = r.sub(r.u16());
  const seen = new Set<number>();
  while (exts.remaining > 0) {
    const type = exts.u16();
    const data = exts.sub(exts.u16());
    if (seen.has(type)) throw new Malformed(`extension ${type} appears twice`);
    seen.add(type);
    if (type === EXT_SERVER_NAME) sni = parseServerName(data);
    else if (type === EXT_ALPN) alpn = parseAlpn(data);
  }
  return { sni, alpn };
}

/** Parses as much of a client's first bytes as is there. Never throws. */
export function parseClientHello(data: Buffer): ClientHelloParse {
  if (data.length === 0) return { state: 'incomplete' };
  if (data[0] !== CONTENT_HANDSHAKE) return { state: 'not-tls' };
  if (data.length >= 2 && data[1] !== 0x03) return { state: 'not-tls' };
  if (data.length >= 6 && data[5] !== HANDSHAKE_CLIENT_HELLO)
    return { state: 'malformed', reason: 'first handshake message is not a ClientHello' };
  try {
    const message = handshakeBytes(data, (payload) => {
      if (payload.length < 4) return undefined;
      const total = 4 + payload.readUIntBE(1, 3);
      if (total > MAX_CLIENT_HELLO) throw new Malformed(`ClientHello of ${total} bytes is too long`);
      return total;
    });
    if (!message) return { state: 'incomplete' };
    if (message[0] !== HANDSHAKE_CLIENT_HELLO)
      return { state: 'malformed', reason: 'first handshake message is not a ClientHello' };
    const body = new Reader(message);
    body.u8();
    const len = body.u24();
    const { sni, alpn } = parseHello(body.bytes(len));
    return { state: 'client-hello', sni, alpn };
  } catch (e) {
    if (e instanceof Malformed) return { state: 'malformed', reason: e.message };
    throw e;
  }
}
