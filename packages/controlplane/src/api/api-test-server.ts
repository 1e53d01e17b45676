/**
 * A real ApiServer for the API's own tests: HTTPS with a fresh CA and token, a SQLite store in a
 * temporary directory, an ephemeral port on 127.0.0.1. `close()` removes everything it made.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import https from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import tls from 'node:tls';
import { openSqliteStore } from '@sluice/store';
import pino from 'pino';
import { ensureCredentials } from './credentials.js';
import { ApiServer } from './server.js';

export interface ApiReply {
  status: number;
  text: string;
  /** The body parsed as JSON, or undefined when it is not JSON. */
  // biome-ignore lint/suspicious/noExplicitAny: replies are inspected field by field
  json: any;
}

export interface ApiTestServer {
  readonly server: ApiServer;
  readonly port: number;
  /** One request on a fresh connection; `path` is sent exactly as given (no normalisation). */
  request(method: string, path: string, opts?: { body?: string | Buffer; contentType?: string }): Promise<ApiReply>;
  /**
   * A TLS connection to the server, trusted and ready for raw HTTP/1.1 bytes. With `allowHalfOpen`
   * it does not end its side when the server ends its own.
   */
  connect(opts?: { allowHalfOpen?: boolean }): Promise<tls.TLSSocket>;
  readonly token: string;
  close(): Promise<void>;
}

export async function startApiTestServer(): Promise<ApiTestServer> {
  const dir = mkdtempSync(join(tmpdir(), 'slt-api-server-'));
  const store = openSqliteStore(join(dir, 'sluice.db'));
  const creds = ensureCredentials(dir, '127.0.0.1');
  const server = new ApiServer({
    store,
    logger: pino({ level: 'silent' }),
    host: '127.0.0.1',
    port: 0,
    tls: { key: creds.key, cert: creds.cert },
    token: creds.token,
  });
  let closed: Promise<void> | undefined;
  const close = () => {
    closed ??= (async () => {
      server.destroy();
      await server.close();
      await store.close();
      rmSync(dir, { recursive: true, force: true });
    })();
    return closed;
  };
  let port: number;
  try {
    port = (await server.listen()).port;
  } catch (err) {
    await close();
    throw err;
  }
  const request: ApiTestServer['request'] = (method, path, opts = {}) =>
    new Promise((resolve, reject) => {
      const headers: Record<string, string> = { accept: 'application/json', authorization: `Bearer ${creds.token}` };
      if (opts.body !== undefined) headers['content-type'] = opts.contentType ?? 'application/json';
      const req = https.request(
        { host: '127.0.0.1', port, path, method, headers, ca: creds.caCert, agent: false, timeout: 30_000 },
        (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (c: Buffer) => chunks.push(c));
          res.on('error', reject);
          res.on('end', () => {
            const text = Buffer.concat(chunks).toString('utf8');
            let json: unknown;
            try {
              json = text ? JSON.parse(text) : undefined;
            } catch {
              json = undefined;
            }
            resolve({ status: res.statusCode ?? 0, text, json });
          });
        },
      );
      req.on('timeout', () => req.destroy(new Error(`${method} ${path}: no answer`)));
      req.on('error', reject);
      req.end(opts.body);
    });
  const connect: ApiTestServer['connect'] = (opts = {}) =>
    new Promise<tls.TLSSocket>((resolve, reject) => {
      // tls.connect honours the net.Socket option allowHalfOpen, which its typings leave out.
      const options = {
        host: '127.0.0.1',
        port,
        ca: creds.caCert,
        servername: 'localhost',
        allowHalfOpen: opts.allowHalfOpen ?? false,
      } as tls.ConnectionOptions;
      const socket = tls.connect(options);
      socket.once('secureConnect', () => resolve(socket));
      socket.once('error', reject);
    });
  return { server, port, request, connect, token: creds.token, close };
}
