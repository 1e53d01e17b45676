/** Writes exactly one response per request, always with Content-Length (except watch streams). */
import type { ServerResponse } from 'node:http';
import type { ApiError } from './status.js';

/** Escapes a warning text as the quoted-string of an RFC 7234 `Warning` header. */
export function warningHeader(text: string): string {
  const clean = text.replace(/[\r\n]+/g, ' ').replace(/[^\x20-\x7e]/g, '?');
  return `299 - "${clean.replaceAll('\\', '\\\\').replaceAll('"', '\\"')}"`;
}

export function sendJson(res: ServerResponse, status: number, body: unknown, warnings: string[] = []): void {
  if (res.headersSent) {
    res.destroy();
    return;
  }
  const payload = Buffer.from(JSON.stringify(body));
  const headers: Record<string, string | string[]> = {
    'content-type': 'application/json',
    'content-length': String(payload.length),
    'cache-control': 'no-cache, private',
  };
  const unique = [...new Set(warnings)];
  if (unique.length > 0) headers['warning'] = unique.map(warningHeader);
  res.writeHead(status, headers);
  res.end(payload);
}

export function sendError(res: ServerResponse, err: ApiError, warnings: string[] = []): void {
  sendJson(res, err.httpStatus, err.toStatus(), warnings);
}
