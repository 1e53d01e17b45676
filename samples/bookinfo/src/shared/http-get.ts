import http from 'node:http';
import https from 'node:https';

/** A complete upstream reply. */
export interface UpstreamReply {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: string;
}

export interface HttpGetOptions {
  /** Extra request headers (forwarded ones included). */
  headers?: Record<string, string>;
  /** Longest wait for the TCP (or TLS) connection to be established. */
  connectTimeoutMs: number;
  /** Longest silence while waiting for or reading the reply (a socket read timeout). */
  readTimeoutMs: number;
  /** Replies larger than this are refused. */
  maxBodyBytes?: number;
}

export class UpstreamTimeoutError extends Error {
  readonly code = 'BOOKINFO_UPSTREAM_TIMEOUT';
}

export class UpstreamTooLargeError extends Error {
  readonly code = 'BOOKINFO_UPSTREAM_TOO_LARGE';
}

/**
 * GET `url` on a connection of its own (no keep-alive, no pooling: every call opens a new
 * connection, which is what spreads load across endpoints). Timeouts work like a socket's
 * connect and read timeouts; neither retries.
 */
export function httpGet(url: string, options: HttpGetOptions): Promise<UpstreamReply> {
  const target = new URL(url);
  const transport = target.protocol === 'https:' ? https : http;
  const maxBody = options.maxBodyBytes ?? 8 * 1024 * 1024;
  return new Promise<UpstreamReply>((resolve, reject) => {
    const req = transport.request(target, { method: 'GET', headers: options.headers ?? {}, agent: false });
    const connectTimer = setTimeout(() => {
      req.destroy(new UpstreamTimeoutError(`connect to ${target.host} timed out after ${options.connectTimeoutMs} ms`));
    }, options.connectTimeoutMs);
    req.on('socket', (socket) => {
      const connectedEvent = target.protocol === 'https:' ? 'secureConnect' : 'connect';
      socket.once(connectedEvent, () => {
        clearTimeout(connectTimer);
        req.setTimeout(options.readTimeoutMs, () => {
          req.destroy(new UpstreamTimeoutError(`no reply from ${target.host} within ${options.readTimeoutMs} ms`));
        });
      });
    });
    req.on('error', (err) => {
      clearTimeout(connectTimer);
      reject(err);
    });
    req.on('response', (res) => {
      const chunks: Buffer[] = [];
      let size = 0;
      res.on('data', (chunk: Buffer) => {
        size += chunk.length;
        if (size > maxBody) {
          req.destroy(new UpstreamTooLargeError(`reply from ${target.host} exceeds ${maxBody} bytes`));
          return;
        }
        chunks.push(chunk);
      });
      res.on('end', () => {
        clearTimeout(connectTimer);
        resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks).toString('utf8') });
      });
      res.on('error', reject);
    });
    req.end();
  });
}

/** Parses a JSON body, or returns undefined when it is not JSON. */
export function parseJson(body: string): unknown {
  try {
    return JSON.parse(body) as unknown;
  } catch {
    return undefined;
  }
}
