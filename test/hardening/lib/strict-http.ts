/**
 * An independent, deliberately strict reader of HTTP/1.1 request streams (RFC 9110/9112), used as
 * the oracle for what an upstream receives: it splits a byte stream into requests and reports the
 * first violation of the message syntax — obs-fold, whitespace before a colon, both or conflicting
 * framing headers, bad chunk sizes, bare CR/LF, control characters. It shares no code with the
 * proxy's parser (Node's llhttp), so the two cannot be wrong the same way by construction.
 */

export interface ParsedRequest {
  method: string;
  target: string;
  version: string;
  /** Header names lower-cased, in order, values trimmed. */
  headers: [string, string][];
  body: Buffer;
}

export type StreamParse =
  | { ok: true; requests: ParsedRequest[] /** bytes after the last complete request */; rest: Buffer }
  | { ok: false; requests: ParsedRequest[]; error: string };

const TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;
const METHOD = TOKEN;
const TARGET = /^[\x21-\x7e]+$/;
const FIELD_VALUE = /^[\t\x20-\x7e\x80-\xff]*$/;
const CHUNK_SIZE = /^[0-9A-Fa-f]{1,16}$/;

class Incomplete extends Error {}
class Malformed extends Error {}

function lineAt(buf: Buffer, from: number): { line: string; next: number } {
  const lf = buf.indexOf(0x0a, from);
  if (lf < 0) throw new Incomplete();
  if (lf === from || buf[lf - 1] !== 0x0d) throw new Malformed(`bare LF at byte ${lf}`);
  const line = buf.subarray(from, lf - 1).toString('latin1');
  if (line.includes('\r')) throw new Malformed(`bare CR in line "${line.slice(0, 60)}"`);
  return { line, next: lf + 1 };
}

function parseOne(buf: Buffer, start: number): { req: ParsedRequest; next: number } {
  let { line, next } = lineAt(buf, start);
  const parts = line.split(' ');
  if (parts.length !== 3) throw new Malformed(`request line "${line.slice(0, 80)}" is not METHOD SP TARGET SP VERSION`);
  const [method, target, version] = parts as [string, string, string];
  if (!METHOD.test(method)) throw new Malformed(`method "${method}" is not a token`);
  if (!TARGET.test(target)) throw new Malformed(`request target "${target.slice(0, 80)}" has invalid characters`);
  if (version !== 'HTTP/1.1' && version !== 'HTTP/1.0') throw new Malformed(`version "${version}"`);
  const headers: [string, string][] = [];
  for (;;) {
    ({ line, next } = lineAt(buf, next));
    if (line === '') break;
    if (line[0] === ' ' || line[0] === '\t') throw new Malformed(`obs-fold continuation line "${line.slice(0, 60)}"`);
    const colon = line.indexOf(':');
    if (colon <= 0) throw new Malformed(`header line without a name: "${line.slice(0, 60)}"`);
    const name = line.slice(0, colon);
    if (!TOKEN.test(name))
      throw new Malformed(`header name "${name.slice(0, 60)}" is not a token (whitespace before the colon?)`);
    const value = line.slice(colon + 1).trim();
    if (!FIELD_VALUE.test(value)) throw new Malformed(`header ${name} has control characters`);
    headers.push([name.toLowerCase(), value]);
  }
  const all = (n: string) => headers.filter(([k]) => k === n).map(([, v]) => v);
  const te = all('transfer-encoding');
  const cl = all('content-length');
  if (te.length > 0 && cl.length > 0) throw new Malformed('both Transfer-Encoding and Content-Length');
  if (all('host').length !== 1 && version === 'HTTP/1.1') throw new Malformed(`${all('host').length} Host headers`);
  let body: Buffer;
  if (te.length > 0) {
    const codings = te
      .join(',')
      .split(',')
      .map((s) => s.trim().toLowerCase());
    if (codings.length !== 1 || codings[0] !== 'chunked')
      throw new Malformed(`Transfer-Encoding "${te.join(', ')}" is not exactly chunked`);
    const chunks: Buffer[] = [];
    for (;;) {
      ({ line, next } = lineAt(buf, next));
      const size = line.split(';')[0]!;
      if (!CHUNK_SIZE.test(size)) throw new Malformed(`chunk size "${line.slice(0, 40)}"`);
      const n = Number.parseInt(size, 16);
      if (n === 0) {
        // trailers, then the empty line
        for (;;) {
          ({ line, next } = lineAt(buf, next));
          if (line === '') break;
          if (!TOKEN.test(line.split(':')[0] ?? '')) throw new Malformed(`trailer "${line.slice(0, 60)}"`);
        }
        break;
      }
      if (buf.length < next + n + 2) throw new Incomplete();
      chunks.push(buf.subarray(next, next + n));
      if (buf[next + n] !== 0x0d || buf[next + n + 1] !== 0x0a) throw new Malformed('chunk data not followed by CRLF');
      next += n + 2;
    }
    body = Buffer.concat(chunks);
  } else if (cl.length > 0) {
    const values = new Set(
      cl
        .join(',')
        .split(',')
        .map((s) => s.trim()),
    );
    if (values.size !== 1) throw new Malformed(`conflicting Content-Length ${[...values].join(', ')}`);
    const text = [...values][0]!;
    if (!/^\d{1,15}$/.test(text)) throw new Malformed(`Content-Length "${text}"`);
    const n = Number(text);
    if (buf.length < next + n) throw new Incomplete();
    body = buf.subarray(next, next + n);
    next += n;
  } else {
    body = Buffer.alloc(0);
  }
  return { req: { method, target, version, headers, body: Buffer.from(body) }, next };
}

/** Splits `buf` into complete requests; stops at the first malformed one. */
export function parseRequestStream(buf: Buffer): StreamParse {
  const requests: ParsedRequest[] = [];
  let at = 0;
  while (at < buf.length) {
    try {
      const { req, next } = parseOne(buf, at);
      requests.push(req);
      at = next;
    } catch (err) {
      if (err instanceof Incomplete) break;
      if (err instanceof Malformed) return { ok: false, requests, error: err.message };
      throw err;
    }
  }
  return { ok: true, requests, rest: buf.subarray(at) };
}
