/**
 * The request target as the client sent it, checked before routing. Requests are routed on the raw
 * path, never on a normalised URL: `new URL()` resolves `..`, `%2e%2e` and `.%2e`, which would turn
 * `…/namespaces/../serviceentries` into the collection of every namespace. A path is refused (400)
 * when a segment is empty, is `.` or `..` (percent-encoded or not), contains an encoded `/` or a
 * NUL, or is not valid percent-encoding of UTF-8.
 */
import { ApiError } from './status.js';

export interface RequestTarget {
  /** The path exactly as sent, without the query (an absolute-form target reduced to its path). */
  rawPath: string;
  /** Only for the query: `pathname` is meaningless here, route on `rawPath`. */
  url: URL;
}

const ABSOLUTE_FORM = /^[a-z][a-z0-9+.-]*:\/\/[^/?#]*/i;
const QUERY_BASE = 'http://api.invalid/';
/** How much of a bad segment an error message quotes. */
const QUOTE_MAX = 80;

/** Splits a request target into its raw path and its query. Never throws. */
export function splitRequestTarget(target: string): RequestTarget {
  const absolute = ABSOLUTE_FORM.exec(target);
  const rest = absolute ? target.slice(absolute[0].length) : target;
  const q = rest.indexOf('?');
  const rawPath = (q < 0 ? rest : rest.slice(0, q)) || '/';
  let url: URL;
  try {
    url = new URL(q < 0 ? QUERY_BASE : QUERY_BASE + rest.slice(q));
  } catch {
    url = new URL(QUERY_BASE);
  }
  return { rawPath, url };
}

function quote(text: string): string {
  return JSON.stringify(text.length > QUOTE_MAX ? `${text.slice(0, QUOTE_MAX)}…` : text);
}

function badPath(message: string): ApiError {
  return new ApiError(400, 'BadRequest', `the request path is invalid: ${message}`);
}

function decodedSegment(raw: string, position: number): string {
  const which = `segment ${position} (${quote(raw)})`;
  if (raw === '') throw badPath(`segment ${position} is empty ("//"): paths are not normalised`);
  let seg: string;
  try {
    seg = decodeURIComponent(raw);
  } catch {
    throw badPath(`${which} is not valid percent-encoding: every "%" must start a "%XX" escape of UTF-8 bytes`);
  }
  if (seg === '.' || seg === '..')
    throw badPath(`${which} is a dot-segment: paths are not normalised, name the namespace and object directly`);
  if (seg.includes('/')) throw badPath(`${which} contains an encoded "/", which no name or namespace may contain`);
  if (seg.includes('\0')) throw badPath(`${which} contains a NUL byte`);
  return seg;
}

/**
 * The percent-decoded segments of a raw path; trailing `/` are ignored. Throws ApiError BadRequest
 * for a path that is not absolute or has a segment refused as described above.
 */
export function pathSegments(rawPath: string): string[] {
  if (!rawPath.startsWith('/')) throw badPath(`it must start with "/" (got ${quote(rawPath)})`);
  const trimmed = rawPath.replace(/\/+$/, '');
  if (trimmed === '') return [];
  return trimmed
    .slice(1)
    .split('/')
    .map((raw, i) => decodedSegment(raw, i + 1));
}
