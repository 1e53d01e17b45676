/**
 * The CLI's client for a running control plane: reads a kubeconfig, speaks HTTPS with its CA and
 * bearer token (never printed), and maps Kubernetes Status replies to errors that print like
 * kubectl's. Knows REST paths from the KINDS table; no discovery round trips.
 */
import { readFileSync } from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { type ApiCredentials, ApiError, parseKubeconfig } from '@sluice/agent/kube-client';
import { type KindInfo, kindByName } from '@sluice/config';

export class CliError extends Error {
  constructor(
    readonly code: 'NoKubeconfig' | 'BadKubeconfig' | 'Unreachable' | 'UnknownKind' | 'BadArguments',
    message: string,
  ) {
    super(message);
    this.name = 'CliError';
  }
}

/** A Status reply from the API server. `message` is what kubectl would print for it. */
export class ServerError extends Error {
  readonly code: string;
  constructor(
    readonly httpStatus: number,
    readonly status: Record<string, unknown>,
  ) {
    super(kubectlErrorText(httpStatus, status));
    this.name = 'ServerError';
    this.code = String(status['reason'] ?? 'Unknown');
  }
}

interface Cause {
  field?: string;
  message?: string;
}

/** The text kubectl prints for a Status (including the 422 text it rebuilds from causes). */
export function kubectlErrorText(httpStatus: number, status: Record<string, unknown>): string {
  const reason = String(status['reason'] ?? '');
  const message = String(status['message'] ?? `HTTP ${httpStatus}`);
  if (httpStatus === 401) return `error: You must be logged in to the server (${message})`;
  if (reason === 'Invalid') {
    const details = (status['details'] ?? {}) as { kind?: string; name?: string; causes?: Cause[] };
    const causes = details.causes ?? [];
    const head = `The ${details.kind ?? ''} "${details.name ?? ''}" is invalid`;
    if (causes.length === 0) return head;
    if (causes.length === 1) return `${head}: ${causes[0]?.field}: ${causes[0]?.message}`;
    return `${head}: \n${causes.map((c) => `* ${c.field}: ${c.message}`).join('\n')}`;
  }
  return `Error from server (${reason || 'Unknown'}): ${message}`;
}

export interface Kubeconfig {
  path: string;
  server: string;
  token?: string;
  ca?: Buffer;
  insecureSkipTlsVerify: boolean;
  namespace: string;
}

export const DEFAULT_DATA_DIR = join(homedir(), '.sluice');

/** `--kubeconfig`, then `$SLUICE_KUBECONFIG`, then `~/.sluice/kubeconfig`. */
export function kubeconfigPath(flag?: string): string {
  return flag || process.env['SLUICE_KUBECONFIG'] || join(DEFAULT_DATA_DIR, 'kubeconfig');
}

export function loadKubeconfig(path: string): Kubeconfig {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch {
    throw new CliError(
      'NoKubeconfig',
      `no kubeconfig at ${path}: start a control plane with "sluice up", or pass --kubeconfig / set SLUICE_KUBECONFIG`,
    );
  }
  let creds: ApiCredentials;
  try {
    creds = parseKubeconfig(text, path);
  } catch (err) {
    if (err instanceof ApiError) throw new CliError('BadKubeconfig', err.message);
    throw err;
  }
  return {
    ...creds,
    path,
    insecureSkipTlsVerify: creds.insecureSkipTlsVerify === true,
    namespace: creds.namespace ?? 'default',
  };
}

/** The kind a command-line name means (`se`, `serviceentries`, `ServiceEntry`, …). */
export function kindFromArg(name: string): KindInfo {
  const kind = kindByName(name.split('.')[0] ?? name);
  if (!kind) throw new CliError('UnknownKind', `error: the server doesn't have a resource type "${name}"`);
  return kind;
}

/** The version used when only a kind is named: v1beta1 for Istio kinds, as the API server prefers. */
export function preferredVersion(kind: KindInfo): string {
  return kind.versions.includes('v1beta1') ? 'v1beta1' : kind.versions[0]!;
}

/** `serviceentry.networking.istio.io` / `deployment.apps` / `service`, as kubectl names resources. */
export function resourceName(kind: KindInfo): string {
  return kind.group ? `${kind.singular}.${kind.group}` : kind.singular;
}

export function collectionPath(kind: KindInfo, version: string, namespace: string | undefined): string {
  const base = kind.group ? `/apis/${kind.group}/${version}` : `/api/${version}`;
  const ns = kind.namespaced && namespace !== undefined ? `/namespaces/${encodeURIComponent(namespace)}` : '';
  return `${base}${ns}/${kind.plural}`;
}

export function objectPath(kind: KindInfo, version: string, namespace: string | undefined, name: string): string {
  return `${collectionPath(kind, version, namespace ?? 'default')}/${encodeURIComponent(name)}`;
}

export interface Reply<T = Record<string, unknown>> {
  status: number;
  body: T;
  warnings: string[];
}

/** `299 - "text"` header values → texts. */
function parseWarnings(header: string | string[] | undefined): string[] {
  const values = header === undefined ? [] : Array.isArray(header) ? header : [header];
  const out: string[] = [];
  for (const v of values)
    for (const m of v.matchAll(/299\s+\S+\s+"((?:[^"\\]|\\.)*)"/g)) out.push(m[1]!.replace(/\\(.)/g, '$1'));
  return out;
}

export class ApiClient {
  private readonly url: URL;
  private readonly agent: http.Agent;

  constructor(readonly config: Kubeconfig) {
    this.url = new URL(config.server);
    this.agent =
      this.url.protocol === 'https:'
        ? new https.Agent({ keepAlive: true, ca: config.ca, rejectUnauthorized: !config.insecureSkipTlsVerify })
        : new http.Agent({ keepAlive: true });
  }

  /** Sends one request; resolves with any HTTP reply (Status bodies included). */
  request<T = Record<string, unknown>>(
    method: string,
    path: string,
    opts: { body?: unknown; contentType?: string; accept?: string } = {},
  ): Promise<Reply<T>> {
    const payload = opts.body === undefined ? undefined : Buffer.from(JSON.stringify(opts.body));
    const headers: Record<string, string> = { accept: opts.accept ?? 'application/json', 'user-agent': 'sluice-cli' };
    if (this.config.token && this.url.protocol === 'https:') headers['authorization'] = `Bearer ${this.config.token}`;
    if (payload) {
      headers['content-type'] = opts.contentType ?? 'application/json';
      headers['content-length'] = String(payload.length);
    }
    const mod = this.url.protocol === 'https:' ? https : http;
    return new Promise((resolve, reject) => {
      const req = mod.request(
        { host: this.url.hostname, port: this.url.port, path, method, headers, agent: this.agent, timeout: 330_000 },
        (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (c: Buffer) => chunks.push(c));
          res.on('end', () => {
            const text = Buffer.concat(chunks).toString('utf8');
            let body: unknown = {};
            try {
              body = text ? JSON.parse(text) : {};
            } catch {
              body = { kind: 'Status', message: text.slice(0, 200) };
            }
            resolve({ status: res.statusCode ?? 0, body: body as T, warnings: parseWarnings(res.headers['warning']) });
          });
          res.on('error', reject);
        },
      );
      req.on('timeout', () => req.destroy(new CliError('Unreachable', `${method} ${path}: timed out`)));
      req.on('error', (err) =>
        reject(
          err instanceof CliError
            ? err
            : new CliError('Unreachable', `cannot reach the control plane at ${this.config.server}: ${err.message}`),
        ),
      );
      req.end(payload);
    });
  }

  /** Like request, but a non-2xx reply throws ServerError. */
  async call<T = Record<string, unknown>>(
    method: string,
    path: string,
    opts: { body?: unknown; contentType?: string; accept?: string } = {},
  ): Promise<Reply<T>> {
    const r = await this.request<T>(method, path, opts);
    if (r.status < 200 || r.status >= 300) throw new ServerError(r.status, r.body as Record<string, unknown>);
    return r;
  }

  close(): void {
    this.agent.destroy();
  }
}

/** Opens a client from the `--kubeconfig` flag / environment / default. */
export function connect(flag?: string): ApiClient {
  return new ApiClient(loadKubeconfig(kubeconfigPath(flag)));
}

/** Prints warnings once each, as kubectl does. */
export function printWarnings(warnings: Iterable<string>, seen = new Set<string>()): void {
  for (const w of warnings) {
    if (seen.has(w)) continue;
    seen.add(w);
    process.stderr.write(`Warning: ${w}\n`);
  }
}

/** Runs a command body; prints CliError/ServerError the kubectl way and sets exit code 1. */
export async function runCommand(body: () => Promise<void>): Promise<void> {
  try {
    await body();
  } catch (err) {
    if (err instanceof ServerError || err instanceof CliError) {
      process.stderr.write(
        `${err.message.startsWith('error:') || err instanceof ServerError ? '' : 'error: '}${err.message}\n`,
      );
      process.exitCode = 1;
      return;
    }
    throw err;
  }
}
