/**
 * `sluice proxy-status`: every connected proxy and, per resource type (CDS, LDS, EDS, RDS, NDS),
 * whether it acked what the control plane last sent — like `istioctl proxy-status`. Reads the API
 * server's `/debug/syncz`, authenticated with the kubeconfig's token.
 */
import { readFileSync } from 'node:fs';
import { request as httpRequest } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { homedir } from 'node:os';
import path from 'node:path';
import { type Command, Option } from 'commander';
import YAML from 'yaml';

/** The control plane could not be reached or answered with an error; `message` says which and how to fix it. */
export class DebugApiError extends Error {
  readonly code = 'DEBUG_API';
}

/** One proxy as `/debug/syncz` reports it (the xDS server's ProxyStatus, as JSON). */
export interface ProxyStatus {
  id: string;
  podName: string;
  namespace: string;
  connectedSince: string;
  configRevision: string;
  inSync: boolean;
  generationError?: string;
  types: Partial<Record<'CDS' | 'LDS' | 'EDS' | 'RDS' | 'NDS', TypeStatus>>;
}

export interface TypeStatus {
  state: 'SYNCED' | 'STALE' | 'NACKED' | 'NOT_SENT';
  sentVersion?: string;
  ackedVersion?: string;
  nonce?: string;
  lastNack?: { version: string; message: string; at: string };
}

interface Kubeconfig {
  'current-context'?: string;
  contexts?: { name: string; context: { cluster: string; user: string } }[];
  clusters?: { name: string; cluster: { server: string; 'certificate-authority-data'?: string } }[];
  users?: { name: string; user: { token?: string } }[];
}

export function kubeconfigPath(flag: string | undefined): string {
  return flag ?? process.env.KUBECONFIG?.split(path.delimiter)[0] ?? path.join(homedir(), '.kube', 'config');
}

/** GETs a path of the API server named by the kubeconfig's current context; parses JSON. */
export async function getDebugJson(kubeconfig: string, urlPath: string): Promise<unknown> {
  let cfg: Kubeconfig;
  try {
    cfg = YAML.parse(readFileSync(kubeconfig, 'utf8')) as Kubeconfig;
  } catch (e) {
    throw new DebugApiError(
      `cannot read kubeconfig ${kubeconfig}: ${(e as Error).message} (give --kubeconfig or set KUBECONFIG)`,
    );
  }
  const ctx = cfg.contexts?.find((c) => c.name === cfg['current-context'])?.context;
  const cluster = cfg.clusters?.find((c) => c.name === ctx?.cluster)?.cluster;
  if (!cluster?.server) throw new DebugApiError(`${kubeconfig}: current-context names no cluster with a server`);
  const token = cfg.users?.find((u) => u.name === ctx?.user)?.user.token;
  const url = new URL(urlPath, cluster.server);
  const ca = cluster['certificate-authority-data'];
  const headers: Record<string, string> = { accept: 'application/json' };
  if (token) headers.authorization = `Bearer ${token}`;
  return new Promise((resolve, reject) => {
    const req = (url.protocol === 'https:' ? httpsRequest : httpRequest)(
      url,
      { method: 'GET', headers, ...(ca ? { ca: Buffer.from(ca, 'base64') } : {}), timeout: 30_000 },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => {
          const text = Buffer.concat(chunks).toString('utf8');
          let body: unknown;
          try {
            body = JSON.parse(text);
          } catch {
            body = text;
          }
          if ((res.statusCode ?? 500) >= 400) {
            const msg = (body as { message?: string })?.message ?? text;
            reject(new DebugApiError(`${url.pathname}: ${res.statusCode} ${msg}`));
          } else resolve(body);
        });
      },
    );
    req.on('timeout', () => req.destroy(new Error('no answer within 30 s')));
    req.on('error', (e) =>
      reject(new DebugApiError(`cannot reach the control plane at ${cluster.server}: ${e.message}`)),
    );
    req.end();
  });
}

export async function fetchStatuses(kubeconfig: string): Promise<ProxyStatus[]> {
  const body = await getDebugJson(kubeconfig, '/debug/syncz');
  if (!Array.isArray(body)) throw new DebugApiError('/debug/syncz: expected a list of proxy statuses');
  return body as ProxyStatus[];
}

const TYPES = ['CDS', 'LDS', 'EDS', 'RDS', 'NDS'] as const;

function cell(t: TypeStatus | undefined): string {
  if (!t) return 'NOT SENT';
  const state = t.state === 'NOT_SENT' ? 'NOT SENT' : t.state;
  const version = t.state === 'SYNCED' ? t.ackedVersion : t.sentVersion;
  return version ? `${state} (${version.slice(0, 8)})` : state;
}

/** The table `sluice proxy-status` prints. */
export function formatStatusTable(statuses: ProxyStatus[]): string {
  const rows = statuses.map((s) => [
    `${s.podName}.${s.namespace}`,
    ...TYPES.map((t) => cell(s.types[t])),
    s.configRevision,
  ]);
  const header = ['NAME', ...TYPES, 'REVISION'];
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]?.length ?? 0)));
  const line = (r: string[]) => r.map((c, i) => (i === r.length - 1 ? c : c.padEnd((widths[i] ?? 0) + 3))).join('');
  let out = [header, ...rows].map(line).join('\n') + '\n';
  for (const s of statuses) {
    for (const t of TYPES) {
      const n = s.types[t]?.lastNack;
      if (s.types[t]?.state === 'NACKED' && n) out += `${s.podName}.${s.namespace} ${t} NACK: ${n.message}\n`;
    }
    if (s.generationError) out += `${s.podName}.${s.namespace} generation failed: ${s.generationError}\n`;
  }
  return out;
}

export function register(program: Command): void {
  program
    .command('proxy-status')
    .description('show whether each connected proxy acked the config the control plane last sent')
    .option('--kubeconfig <file>', 'kubeconfig naming the control plane (default: $KUBECONFIG or ~/.kube/config)')
    .addOption(new Option('-o, --output <format>', 'output format').choices(['table', 'json']).default('table'))
    .addHelpText(
      'after',
      `
States: SYNCED (acked what was sent), STALE (sent, not acked yet), NACKED (rejected: the error is
printed under the table), NOT SENT. The short hash is the version sent (or acked when SYNCED).

Examples:
  sluice proxy-status
  sluice proxy-status -o json | jq '.[] | select(.inSync | not)'`,
    )
    .action(async (opts: { kubeconfig?: string; output: 'table' | 'json' }) => {
      const statuses = await fetchStatuses(kubeconfigPath(opts.kubeconfig));
      if (opts.output === 'json') process.stdout.write(`${JSON.stringify(statuses, null, 2)}\n`);
      else process.stdout.write(statuses.length ? formatStatusTable(statuses) : 'No proxies are connected.\n');
    });
}
