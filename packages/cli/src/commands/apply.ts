/**
 * `sluice apply -f FILE|DIR|- [--dry-run] [--wait]`: validates every manifest locally (findings
 * with file and line), asks the server to dry-run every change, and only then applies them, so a
 * rejected file set changes nothing. Prints `kind.group/name created|configured|unchanged`.
 */
import {
  dedupeFindings,
  type Finding,
  formatFindings,
  type KindInfo,
  kindInfo,
  normalizeResource,
  type ParsedResource,
  readManifestPaths,
  validateResource,
} from '@sluice/config';
import type { Command } from 'commander';
import {
  type ApiClient,
  CliError,
  collectionPath,
  connect,
  objectPath,
  resourceName,
  runCommand,
  ServerError,
} from '../client.js';
import { useColor } from '../output.js';

export const LAST_APPLIED = 'kubectl.kubernetes.io/last-applied-configuration';

type Obj = Record<string, unknown>;
const isObject = (v: unknown): v is Obj => v !== null && typeof v === 'object' && !Array.isArray(v);

function sortedJson(v: unknown): string {
  if (Array.isArray(v)) return `[${v.map(sortedJson).join(',')}]`;
  if (isObject(v))
    return `{${Object.keys(v)
      .sort()
      .map((k) => `${JSON.stringify(k)}:${sortedJson(v[k])}`)
      .join(',')}}`;
  return JSON.stringify(v);
}

/** The manifest as plain data (no parser bookkeeping). */
function plain(r: ParsedResource): Obj {
  const { source: _source, ...rest } = r;
  return JSON.parse(JSON.stringify(rest)) as Obj;
}

/** kubectl's last-applied-configuration: the manifest, keys sorted, without that annotation, plus "\n". */
export function lastApplied(manifest: Obj): string {
  const copy = structuredClone(manifest);
  const meta = (isObject(copy['metadata']) ? copy['metadata'] : {}) as Obj;
  const annotations = { ...((meta['annotations'] as Obj | undefined) ?? {}) };
  delete annotations[LAST_APPLIED];
  meta['annotations'] = annotations;
  copy['metadata'] = meta;
  return `${sortedJson(copy)}\n`;
}

/** True when every field of `want` has the same value in `have` (server-filled extras are ignored). */
export function isSubset(want: unknown, have: unknown): boolean {
  if (Array.isArray(want))
    return Array.isArray(have) && want.length === have.length && want.every((w, i) => isSubset(w, have[i]));
  if (isObject(want)) return isObject(have) && Object.entries(want).every(([k, w]) => isSubset(w, have[k]));
  return want === have;
}

type Action = 'created' | 'configured' | 'unchanged';

interface Plan {
  kind: KindInfo;
  version: string;
  namespace: string | undefined;
  name: string;
  desired: Obj;
  action: Action;
}

async function plan(client: ApiClient, r: ParsedResource): Promise<Plan> {
  const kind = kindInfo(r.kind)!;
  const version = r.apiVersion.includes('/') ? r.apiVersion.split('/')[1]! : r.apiVersion;
  const namespace = kind.namespaced ? (r.metadata.namespace ?? 'default') : undefined;
  const name = r.metadata.name;
  const manifest = plain(r);
  const la = lastApplied(manifest);
  const meta = manifest['metadata'] as Obj;
  meta['annotations'] = { ...((meta['annotations'] as Obj | undefined) ?? {}), [LAST_APPLIED]: la };
  const live = await client.request('GET', objectPath(kind, version, namespace, name));
  if (live.status === 404) return { kind, version, namespace, name, desired: manifest, action: 'created' };
  if (live.status !== 200) throw new ServerError(live.status, live.body);
  const liveMeta = (live.body['metadata'] ?? {}) as Obj;
  const same = isSubset(manifest, live.body) && isSubset(liveMeta['annotations'] ?? {}, meta['annotations']);
  meta['resourceVersion'] = liveMeta['resourceVersion'];
  return { kind, version, namespace, name, desired: manifest, action: same ? 'unchanged' : 'configured' };
}

async function send(client: ApiClient, p: Plan, dryRun: boolean): Promise<void> {
  if (p.action === 'unchanged') return;
  const q = dryRun ? '?dryRun=All' : '';
  if (p.action === 'created')
    await client.call('POST', `${collectionPath(p.kind, p.version, p.namespace)}${q}`, { body: p.desired });
  else await client.call('PUT', `${objectPath(p.kind, p.version, p.namespace, p.name)}${q}`, { body: p.desired });
}

function where(r: ParsedResource): string {
  return `${r.source.file}:${r.source.line}`;
}

export interface ApplyOptions {
  filename: string[];
  dryRun?: boolean;
  wait?: boolean;
  timeout?: string;
  namespace?: string;
  kubeconfig?: string;
}

/** Reads and validates the manifests; throws (after printing findings) when any has an error. */
export async function loadValidManifests(paths: string[], namespace?: string): Promise<ParsedResource[]> {
  const { resources, findings } = await readManifestPaths(paths);
  const normalized = resources.map((r) => {
    const withNs =
      namespace && kindInfo(r.kind)?.namespaced && !r.metadata?.namespace
        ? ({ ...r, metadata: { ...r.metadata, namespace } } as ParsedResource)
        : r;
    return normalizeResource(withNs);
  });
  const all: Finding[] = [...findings];
  for (const r of normalized) all.push(...validateResource(r));
  const shown = dedupeFindings(all).filter((f) => f.severity !== 'info');
  if (shown.length > 0) process.stderr.write(formatFindings(shown, { color: useColor(process.stderr) }));
  const errors = shown.filter((f) => f.severity === 'error').length;
  if (errors > 0)
    throw new CliError(
      'BadArguments',
      `${errors} error${errors === 1 ? '' : 's'} in the manifests: nothing was applied`,
    );
  if (normalized.length === 0) throw new CliError('BadArguments', 'no objects passed to apply');
  return normalized;
}

export async function runApply(opts: ApplyOptions): Promise<void> {
  const resources = await loadValidManifests(opts.filename, opts.namespace);
  const client = connect(opts.kubeconfig);
  try {
    const plans: Plan[] = [];
    for (const r of resources) plans.push(await plan(client, r));
    // Every change is dry-run first: one rejection and nothing is applied.
    const rejected: string[] = [];
    for (const [i, p] of plans.entries()) {
      try {
        await send(client, p, true);
      } catch (err) {
        if (!(err instanceof ServerError)) throw err;
        rejected.push(`${where(resources[i]!)}: ${err.message}`);
      }
    }
    if (rejected.length > 0) {
      process.stderr.write(`${rejected.join('\n')}\n`);
      throw new CliError(
        'BadArguments',
        `the server rejected ${rejected.length} object${rejected.length === 1 ? '' : 's'}: nothing was applied`,
      );
    }
    for (const p of plans) {
      if (!opts.dryRun) await send(client, p, false);
      process.stdout.write(
        `${resourceName(p.kind)}/${p.name} ${p.action}${opts.dryRun && p.action !== 'unchanged' ? ' (server dry run)' : ''}\n`,
      );
    }
    if (opts.wait && !opts.dryRun) await waitForProxies(client, opts.timeout ?? '60');
  } finally {
    client.close();
  }
}

interface AckResult {
  version: string;
  acked: string[];
  notAcked: string[];
  nacked: string[];
}

async function waitForProxies(client: ApiClient, timeout: string): Promise<void> {
  const seconds = Number(timeout.replace(/s$/, ''));
  if (!Number.isFinite(seconds) || seconds < 0)
    throw new CliError('BadArguments', `--timeout must be a number of seconds (got "${timeout}")`);
  const r = await client.call<AckResult>('GET', `/debug/wait_for_acks?timeoutSeconds=${seconds}`);
  const { acked, notAcked, nacked, version } = r.body;
  if (notAcked.length === 0) {
    process.stdout.write(`${acked.length} prox${acked.length === 1 ? 'y' : 'ies'} in sync with revision ${version}\n`);
    return;
  }
  throw new CliError(
    'Unreachable',
    `not in sync with revision ${version} after ${seconds}s: ${notAcked.join(', ')}${nacked.length ? ` (rejected by ${nacked.join(', ')})` : ''}`,
  );
}

function collect(value: string, previous: string[] | undefined): string[] {
  return [...(previous ?? []), value];
}

export function register(program: Command): void {
  program
    .command('apply')
    .description('create or update resources from manifests (validated first; all or nothing)')
    .requiredOption('-f, --filename <path>', 'file, directory (recursive) or - for stdin; repeatable', collect)
    .option('-n, --namespace <ns>', 'namespace for manifests that name none')
    .option('--dry-run', 'validate on the server and report what would change, store nothing')
    .option('--wait', 'wait until every connected proxy has acknowledged the new config')
    .option('--timeout <seconds>', 'how long --wait waits', '60')
    .option(
      '--kubeconfig <path>',
      'kubeconfig of the control plane (default: $SLUICE_KUBECONFIG or ~/.sluice/kubeconfig)',
    )
    .addHelpText(
      'after',
      '\nExamples:\n  sluice apply -f mysql-external.yaml\n  sluice apply -f samples/bookinfo/networking/ --wait\n  cat se.yaml | sluice apply -f -',
    )
    .action((opts: ApplyOptions) => runCommand(() => runApply(opts)));
}
