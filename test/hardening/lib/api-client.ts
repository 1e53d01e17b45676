/**
 * A real HTTPS client of the control plane's API, configured from the kubeconfig `sluice up` (or
 * `startControlPlane`) writes: it trusts the CA in `certificate-authority-data` and sends the bearer
 * token. Each client has its own keep-alive agent, so several clients are several connections.
 */
import { readFileSync } from 'node:fs';
import https from 'node:https';
import YAML from 'yaml';

export interface ApiReply {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  text: string;
  /** The body parsed as JSON, or undefined when it is not JSON. */
  // biome-ignore lint/suspicious/noExplicitAny: API replies are inspected field by field
  json: any;
}

export interface RequestOptions {
  body?: string | Buffer;
  contentType?: string;
  /** Override the token (null: send none). */
  token?: string | null;
  timeoutMs?: number;
}

export interface WatchEvent {
  type: string;
  // biome-ignore lint/suspicious/noExplicitAny: watch objects are inspected field by field
  object: any;
}

export interface WatchStream {
  readonly events: WatchEvent[];
  /** Resolves once `pred` holds for the events so far, or rejects after `timeoutMs`. */
  waitUntil(pred: (events: WatchEvent[]) => boolean, timeoutMs: number): Promise<void>;
  close(): void;
}

export interface ApiCredentials {
  server: string;
  token: string;
  ca: Buffer;
}

/** The server URL, token and CA of the first cluster and user in a kubeconfig. */
export function readKubeconfig(path: string): ApiCredentials {
  const kc = YAML.parse(readFileSync(path, 'utf8'));
  return {
    server: kc.clusters[0].cluster.server,
    token: kc.users[0].user.token,
    ca: Buffer.from(kc.clusters[0].cluster['certificate-authority-data'], 'base64'),
  };
}

export class ApiClient {
  private readonly agent: https.Agent;
  private readonly url: URL;

  constructor(readonly creds: ApiCredentials) {
    this.url = new URL(creds.server);
    this.agent = new https.Agent({ keepAlive: true, maxSockets: 1, ca: creds.ca });
  }

  static fromKubeconfig(path: string): ApiClient {
    return new ApiClient(readKubeconfig(path));
  }

  request(method: string, path: string, opts: RequestOptions = {}): Promise<ApiReply> {
    const headers: Record<string, string> = { accept: 'application/json' };
    const token = opts.token === undefined ? this.creds.token : opts.token;
    if (token !== null) headers['authorization'] = `Bearer ${token}`;
    if (opts.body !== undefined) headers['content-type'] = opts.contentType ?? 'application/json';
    return new Promise((resolve, reject) => {
      const req = https.request(
        {
          host: this.url.hostname,
          port: this.url.port,
          path,
          method,
          agent: this.agent,
          headers,
          timeout: opts.timeoutMs ?? 30_000,
        },
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
            resolve({ status: res.statusCode ?? 0, headers: res.headers, text, json });
          });
        },
      );
      req.on('timeout', () => req.destroy(new Error(`${method} ${path}: no answer within the timeout`)));
      req.on('error', reject);
      req.end(opts.body);
    });
  }

  /** Opens a `?watch=true` stream on a collection path (query string included in `path`). */
  async watch(path: string): Promise<WatchStream> {
    const events: WatchEvent[] = [];
    const waiters = new Set<() => void>();
    const wake = () => {
      for (const w of [...waiters]) w();
    };
    const req = https.request({
      host: this.url.hostname,
      port: this.url.port,
      path,
      method: 'GET',
      ca: this.creds.ca,
      headers: { accept: 'application/json', authorization: `Bearer ${this.creds.token}` },
    });
    let ended = false;
    await new Promise<void>((resolve, reject) => {
      req.on('error', (err) => {
        ended = true;
        wake();
        reject(err);
      });
      req.on('response', (res) => {
        if (res.statusCode !== 200) {
          reject(new Error(`watch ${path}: HTTP ${res.statusCode}`));
          res.resume();
          return;
        }
        let buf = '';
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => {
          buf += chunk;
          for (let nl = buf.indexOf('\n'); nl >= 0; nl = buf.indexOf('\n')) {
            const line = buf.slice(0, nl).trim();
            buf = buf.slice(nl + 1);
            if (line) events.push(JSON.parse(line) as WatchEvent);
          }
          wake();
        });
        res.on('close', () => {
          ended = true;
          wake();
        });
        resolve();
      });
      req.end();
    });
    return {
      events,
      waitUntil: (pred, timeoutMs) =>
        new Promise<void>((resolve, reject) => {
          const check = () => {
            if (pred(events)) {
              clearTimeout(timer);
              waiters.delete(check);
              resolve();
            } else if (ended) {
              clearTimeout(timer);
              waiters.delete(check);
              reject(new Error(`watch ${path} ended after ${events.length} events before the condition held`));
            }
          };
          const timer = setTimeout(() => {
            waiters.delete(check);
            reject(new Error(`watch ${path}: condition not met within ${timeoutMs} ms (${events.length} events)`));
          }, timeoutMs);
          waiters.add(check);
          check();
        }),
      close: () => req.destroy(),
    };
  }

  close(): void {
    this.agent.destroy();
  }
}
