/**
 * A small client for Sluice's Kubernetes-style API: the agent's only way to read desired state
 * and report pod status (like a kubelet). Speaks HTTPS with the CA and bearer token of a
 * kubeconfig; never logs the token.
 */
import { readFileSync } from 'node:fs';
import https from 'node:https';
import { kindInfo, type Resource } from '@sluice/config';
import YAML from 'yaml';

export interface ApiCredentials {
  server: string;
  token?: string;
  ca?: Buffer;
  insecureSkipTlsVerify?: boolean;
  /** The current context's namespace, when it names one. */
  namespace?: string;
}

type Named<T> = { name?: string } & T;

/**
 * The current context's cluster and user from a kubeconfig's text (the named context, else the
 * first one; likewise for its cluster and user). `source` names the file in errors.
 */
export function parseKubeconfig(text: string, source: string): ApiCredentials {
  // biome-ignore lint/suspicious/noExplicitAny: a kubeconfig is loosely typed YAML, checked below
  let doc: any;
  try {
    doc = YAML.parse(text);
  } catch (err) {
    throw new ApiError(0, 'BadKubeconfig', `${source}: not YAML: ${(err as Error).message}`);
  }
  const pick = <T>(list: Named<T>[] | undefined, name: string | undefined): Named<T> | undefined =>
    (Array.isArray(list) ? list : []).find((x) => x.name === name) ?? (Array.isArray(list) ? list[0] : undefined);
  const ctx = pick<{ context?: { cluster?: string; user?: string; namespace?: string } }>(
    doc?.contexts,
    doc?.['current-context'],
  )?.context;
  const cluster = pick<{ cluster?: Record<string, unknown> }>(doc?.clusters, ctx?.cluster)?.cluster;
  const user = pick<{ user?: Record<string, unknown> }>(doc?.users, ctx?.user)?.user ?? {};
  if (typeof cluster?.['server'] !== 'string')
    throw new ApiError(0, 'BadKubeconfig', `${source}: no cluster server found`);
  const creds: ApiCredentials = {
    server: cluster['server'],
    insecureSkipTlsVerify: cluster['insecure-skip-tls-verify'] === true,
  };
  const caData = cluster['certificate-authority-data'];
  const caFile = cluster['certificate-authority'];
  if (typeof caData === 'string') creds.ca = Buffer.from(caData, 'base64');
  else if (typeof caFile === 'string') creds.ca = readFileSync(caFile);
  if (typeof user['token'] === 'string') creds.token = user['token'];
  if (typeof ctx?.namespace === 'string' && ctx.namespace) creds.namespace = ctx.namespace;
  return creds;
}

/** Reads the current context's cluster and user from a kubeconfig file. */
export function loadKubeconfig(path: string): ApiCredentials {
  return parseKubeconfig(readFileSync(path, 'utf8'), `kubeconfig ${path}`);
}

export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly reason: string,
    message: string,
  ) {
    super(message);
    this.name = 'ApiError';
  }
}

export interface WatchEvent<T = Resource> {
  type: 'ADDED' | 'MODIFIED' | 'DELETED' | 'ERROR';
  object: T;
}

/** Path of a collection or object for a kind, per Kubernetes REST conventions. */
export function resourcePath(kind: string, namespace?: string, name?: string): string {
  const info = kindInfo(kind);
  if (!info) throw new ApiError(0, 'UnknownKind', `unknown kind ${kind}`);
  const version = info.versions.includes('v1beta1') ? 'v1beta1' : info.versions[0];
  const base = info.group ? `/apis/${info.group}/${version}` : '/api/v1';
  const ns = info.namespaced && namespace ? `/namespaces/${encodeURIComponent(namespace)}` : '';
  return `${base}${ns}/${info.plural}${name ? `/${encodeURIComponent(name)}` : ''}`;
}

export class KubeClient {
  private readonly agent: https.Agent;
  private readonly url: URL;

  constructor(private readonly creds: ApiCredentials) {
    this.url = new URL(creds.server);
    this.agent = new https.Agent({
      keepAlive: true,
      ca: creds.ca,
      rejectUnauthorized: !creds.insecureSkipTlsVerify,
    });
  }

  private headers(extra: Record<string, string> = {}): Record<string, string> {
    const h: Record<string, string> = { accept: 'application/json', ...extra };
    if (this.creds.token) h.authorization = `Bearer ${this.creds.token}`;
    return h;
  }

  async request<T = any>(method: string, path: string, body?: unknown, contentType = 'application/json'): Promise<T> {
    const payload = body === undefined ? undefined : Buffer.from(JSON.stringify(body));
    return new Promise<T>((resolve, reject) => {
      const req = https.request(
        {
          host: this.url.hostname,
          port: this.url.port,
          path,
          method,
          agent: this.agent,
          headers: this.headers(
            payload ? { 'content-type': contentType, 'content-length': String(payload.length) } : {},
          ),
          timeout: 30_000,
        },
        (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (c: Buffer) => chunks.push(c));
          res.on('end', () => {
            const text = Buffer.concat(chunks).toString('utf8');
            let parsed: any;
            try {
              parsed = text ? JSON.parse(text) : undefined;
            } catch {
              parsed = undefined;
            }
            const status = res.statusCode ?? 0;
            if (status >= 200 && status < 300) resolve(parsed as T);
            else
              reject(
                new ApiError(status, parsed?.reason ?? 'Error', parsed?.message ?? `${method} ${path}: HTTP ${status}`),
              );
          });
          res.on('error', reject);
        },
      );
      req.on('timeout', () => req.destroy(new ApiError(0, 'Timeout', `${method} ${path}: timed out`)));
      req.on('error', reject);
      req.end(payload);
    });
  }

  get<T = Resource>(kind: string, namespace: string, name: string): Promise<T> {
    return this.request('GET', resourcePath(kind, namespace, name));
  }

  /** Lists a kind in one namespace or all; returns items and the list resourceVersion. */
  async list<T = Resource>(kind: string, namespace?: string): Promise<{ items: T[]; resourceVersion: string }> {
    const r = await this.request<any>('GET', resourcePath(kind, namespace));
    return { items: r?.items ?? [], resourceVersion: r?.metadata?.resourceVersion ?? '0' };
  }

  create<T = Resource>(obj: Resource): Promise<T> {
    return this.request('POST', resourcePath(obj.kind, obj.metadata.namespace), obj);
  }

  update<T = Resource>(obj: Resource): Promise<T> {
    return this.request('PUT', resourcePath(obj.kind, obj.metadata.namespace, obj.metadata.name), obj);
  }

  async delete(kind: string, namespace: string, name: string): Promise<void> {
    await this.request('DELETE', resourcePath(kind, namespace, name));
  }

  /**
   * Watches a kind across namespaces from a resourceVersion. Calls `onEvent` per event in order;
   * `onEnd(err?)` when the stream ends (the caller relists and watches again).
   */
  watch(
    kind: string,
    resourceVersion: string,
    onEvent: (e: WatchEvent) => void,
    onEnd: (err?: Error) => void,
  ): () => void {
    const path = `${resourcePath(kind)}?watch=true&resourceVersion=${encodeURIComponent(resourceVersion)}`;
    let ended = false;
    const end = (err?: Error) => {
      if (ended) return;
      ended = true;
      onEnd(err);
    };
    const req = https.request(
      { host: this.url.hostname, port: this.url.port, path, method: 'GET', agent: this.agent, headers: this.headers() },
      (res) => {
        if ((res.statusCode ?? 0) >= 300) {
          res.resume();
          end(new ApiError(res.statusCode ?? 0, 'WatchFailed', `watch ${kind}: HTTP ${res.statusCode}`));
          return;
        }
        let buf = '';
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => {
          buf += chunk;
          let nl = buf.indexOf('\n');
          while (nl >= 0) {
            const line = buf.slice(0, nl).trim();
            buf = buf.slice(nl + 1);
            if (line) {
              try {
                onEvent(JSON.parse(line) as WatchEvent);
              } catch (e) {
                end(e as Error);
                req.destroy();
                return;
              }
            }
            nl = buf.indexOf('\n');
          }
        });
        res.on('end', () => end());
        res.on('error', (e) => end(e));
      },
    );
    req.on('error', (e) => end(e));
    req.end();
    return () => {
      ended = true;
      req.destroy();
    };
  }

  close(): void {
    this.agent.destroy();
  }
}
