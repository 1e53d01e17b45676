/**
 * `sluice get KIND [NAME] [-n NS | -A] [-l SELECTOR] [-o yaml|json|wide|name]`: like kubectl get,
 * using the server's Tables for the columns.
 */
import type { KindInfo } from '@sluice/config';
import { type Command, Option } from 'commander';
import YAML from 'yaml';
import {
  type ApiClient,
  CliError,
  collectionPath,
  connect,
  kindFromArg,
  objectPath,
  preferredVersion,
  resourceName,
  runCommand,
} from '../client.js';

/** kubectl's YAML: keys sorted, lists not indented, YAML 1.1 quoting (timestamps, yes/no). */
const KUBECTL_YAML = { indentSeq: false, sortMapEntries: true, version: '1.1' } as const;

const TABLE_ACCEPT = 'application/json;as=Table;v=v1;g=meta.k8s.io,application/json';

interface Column {
  name: string;
  priority: number;
  format?: string;
}
interface Table {
  columnDefinitions: Column[];
  rows: { cells: unknown[]; object?: { metadata?: { namespace?: string; name?: string } } }[];
}

export interface GetOptions {
  namespace?: string;
  allNamespaces?: boolean;
  output?: string;
  selector?: string;
  kubeconfig?: string;
}

function cellText(v: unknown): string {
  if (v === null || v === undefined) return '';
  return typeof v === 'string' ? v : JSON.stringify(v);
}

/** Aligns rows in columns separated by three spaces, as kubectl's tabwriter does. */
export function formatColumns(rows: string[][]): string {
  const widths: number[] = [];
  for (const r of rows) for (const [i, c] of r.entries()) widths[i] = Math.max(widths[i] ?? 0, c.length);
  return rows
    .map((r) =>
      r
        .map((c, i) => (i === r.length - 1 ? c : c.padEnd((widths[i] ?? 0) + 3)))
        .join('')
        .trimEnd(),
    )
    .map((l) => `${l}\n`)
    .join('');
}

export function renderTable(table: Table, opts: { wide: boolean; withNamespace: boolean }): string {
  const cols = table.columnDefinitions.map((c, i) => ({ ...c, i })).filter((c) => opts.wide || c.priority === 0);
  const header = cols.map((c) => c.name.toUpperCase());
  const rows = table.rows.map((r) => cols.map((c) => cellText(r.cells[c.i])));
  if (opts.withNamespace) {
    header.unshift('NAMESPACE');
    for (const [i, r] of table.rows.entries()) rows[i]!.unshift(r.object?.metadata?.namespace ?? '');
  }
  return formatColumns([header, ...rows]);
}

function scope(kind: KindInfo, opts: GetOptions, defaultNs: string): string | undefined {
  if (!kind.namespaced) return undefined;
  if (opts.allNamespaces) return undefined;
  return opts.namespace ?? defaultNs;
}

async function fetchAll(client: ApiClient, path: string, accept: string, selector?: string) {
  const q = new URLSearchParams({ limit: '500' });
  if (selector) q.set('labelSelector', selector);
  return client.call<Record<string, unknown>>('GET', `${path}?${q}`, { accept });
}

export async function runGet(kindArg: string, name: string | undefined, opts: GetOptions): Promise<void> {
  const kind = kindFromArg(kindArg);
  const version = preferredVersion(kind);
  const output = opts.output ?? '';
  if (!['', 'yaml', 'json', 'wide', 'name'].includes(output))
    throw new CliError(
      'BadArguments',
      `unable to match a printer suitable for the output format "${output}", allowed formats are: json,name,wide,yaml`,
    );
  const client = connect(opts.kubeconfig);
  try {
    const ns = scope(kind, opts, client.config.namespace);
    const path = name ? objectPath(kind, version, ns, name) : collectionPath(kind, version, ns);
    if (output === 'yaml' || output === 'json') {
      const r = name ? await client.call('GET', path) : await fetchAll(client, path, 'application/json', opts.selector);
      const doc = name
        ? r.body
        : {
            apiVersion: 'v1',
            items: r.body['items'] ?? [],
            kind: 'List',
            metadata: { resourceVersion: '', selfLink: '' },
          };
      process.stdout.write(output === 'json' ? `${JSON.stringify(doc, null, 4)}\n` : YAML.stringify(doc, KUBECTL_YAML));
      return;
    }
    if (output === 'name') {
      const r = name ? await client.call('GET', path) : await fetchAll(client, path, 'application/json', opts.selector);
      const items = (name ? [r.body] : (r.body['items'] as { metadata: { name: string } }[])) as {
        metadata: { name: string };
      }[];
      for (const o of items) process.stdout.write(`${resourceName(kind)}/${o.metadata.name}\n`);
      return;
    }
    const r = name
      ? await client.call<Table>('GET', path, { accept: TABLE_ACCEPT })
      : await fetchAll(client, path, TABLE_ACCEPT, opts.selector);
    const table = r.body as unknown as Table;
    if (table.rows.length === 0) {
      process.stderr.write(ns === undefined ? 'No resources found\n' : `No resources found in ${ns} namespace.\n`);
      return;
    }
    process.stdout.write(
      renderTable(table, { wide: output === 'wide', withNamespace: kind.namespaced && !!opts.allNamespaces }),
    );
  } finally {
    client.close();
  }
}

export function register(program: Command): void {
  program
    .command('get')
    .description('list resources of a kind, or show one (like kubectl get)')
    .argument('<kind>', 'kind, plural, singular or short name: serviceentries, se, vs, dr, svc, …')
    .argument('[name]', 'one object by name')
    .option('-n, --namespace <ns>', 'namespace (default: the kubeconfig context namespace, else "default")')
    .option('-A, --all-namespaces', 'list across every namespace')
    .option('-l, --selector <selector>', 'label selector, e.g. app=ratings,version!=v1')
    .addOption(new Option('-o, --output <format>', 'output format').choices(['yaml', 'json', 'wide', 'name']))
    .option(
      '--kubeconfig <path>',
      'kubeconfig of the control plane (default: $SLUICE_KUBECONFIG or ~/.sluice/kubeconfig)',
    )
    .addHelpText(
      'after',
      '\nExamples:\n  sluice get serviceentries\n  sluice get se mysql-external -o yaml\n  sluice get vs -A',
    )
    .action((kind: string, name: string | undefined, opts: GetOptions) => runCommand(() => runGet(kind, name, opts)));
}
