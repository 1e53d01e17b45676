/** `sluice describe KIND NAME [-n NS]`: one object in kubectl's describe layout. */
import type { Command } from 'commander';
import { connect, kindFromArg, objectPath, preferredVersion, runCommand } from '../client.js';
import { LAST_APPLIED } from './apply.js';

type Obj = Record<string, unknown>;
const isObject = (v: unknown): v is Obj => v !== null && typeof v === 'object' && !Array.isArray(v);

/** `creationTimestamp` → `Creation Timestamp`, as kubectl's describe prints field names. */
function title(key: string): string {
  const words = key.replace(/([a-z0-9])([A-Z])/g, '$1 $2').replace(/[_-]/g, ' ');
  return words.charAt(0).toUpperCase() + words.slice(1);
}

function mapText(m: unknown, indent: string): string {
  if (!isObject(m) || Object.keys(m).length === 0) return '<none>';
  return Object.entries(m)
    .map(([k, v], i) => `${i === 0 ? '' : indent}${k}: ${String(v)}`)
    .join('\n');
}

function describeValue(v: unknown, depth: number): string[] {
  const pad = '  '.repeat(depth);
  if (Array.isArray(v)) {
    // Each element of a list of objects is printed as a map at the same depth, as kubectl does.
    return v.flatMap((item) => (isObject(item) ? describeValue(item, depth) : [`${pad}${String(item)}`]));
  }
  if (!isObject(v)) return [`${pad}${String(v)}`];
  const scalars = Object.entries(v).filter(([, val]) => !isObject(val) && !Array.isArray(val));
  const width = Math.max(0, ...scalars.map(([k]) => title(k).length + 1));
  const lines: string[] = [];
  for (const [k, val] of Object.entries(v)) {
    if (isObject(val) || Array.isArray(val)) lines.push(`${pad}${title(k)}:`, ...describeValue(val, depth + 1));
    else lines.push(`${pad}${`${title(k)}:`.padEnd(width)}  ${String(val)}`);
  }
  return lines;
}

/** Rows under a header and a line of dashes, columns two spaces apart (kubectl describe's tables). */
function table(header: string[], rows: string[][], indent: string): string[] {
  const all = [header, header.map((h) => '-'.repeat(h.length)), ...rows];
  const widths = header.map((_, i) => Math.max(...all.map((r) => (r[i] ?? '').length)));
  return all.map((r) => `${indent}${r.map((c, i) => (i === r.length - 1 ? c : c.padEnd(widths[i]! + 2))).join('')}`);
}

const text = (v: unknown) => (v === undefined || v === null ? '' : String(v));

/**
 * A ServiceEntry's status as two sections: `Addresses` (the auto-allocated VIPs) and
 * `Conditions` (e.g. a shared-port Conflict); other status fields go under `Status`.
 */
function serviceEntryStatus(status: unknown): string[] {
  const s = isObject(status) ? status : {};
  const { addresses, conditions, ...rest } = s;
  const lines: string[] = [];
  const addressRows = Array.isArray(addresses)
    ? addresses.filter(isObject).map((a) => [text(a['host']), text(a['value'])])
    : [];
  if (addressRows.length === 0) lines.push('Addresses:    <none>');
  else lines.push('Addresses:', ...table(['Host', 'Value'], addressRows, '  '));
  const conditionRows = Array.isArray(conditions)
    ? conditions
        .filter(isObject)
        .map((c) => [
          text(c['type']),
          text(c['status']),
          text(c['reason']),
          text(c['lastTransitionTime']),
          text(c['message']),
        ])
    : [];
  if (conditionRows.length === 0) lines.push('Conditions:   <none>');
  else
    lines.push(
      'Conditions:',
      ...table(['Type', 'Status', 'Reason', 'Last Transition Time', 'Message'], conditionRows, '  '),
    );
  if (Object.keys(rest).length > 0) lines.push('Status:', ...describeValue(rest, 1));
  return lines;
}

/** The text of `describe` for one object. */
export function describeObject(o: Obj): string {
  const meta = (o['metadata'] ?? {}) as Obj;
  const annotations = { ...((meta['annotations'] as Obj | undefined) ?? {}) };
  delete annotations[LAST_APPLIED]; // kubectl describe hides it too
  const lines = [`Name:         ${String(meta['name'] ?? '')}`];
  if (meta['namespace'] !== undefined) lines.push(`Namespace:    ${String(meta['namespace'])}`);
  lines.push(`Labels:       ${mapText(meta['labels'], '              ')}`);
  lines.push(`Annotations:  ${mapText(annotations, '              ')}`);
  lines.push(`API Version:  ${String(o['apiVersion'] ?? '')}`);
  lines.push(`Kind:         ${String(o['kind'] ?? '')}`);
  const { name: _n, namespace: _ns, labels: _l, annotations: _a, ...restMeta } = meta;
  lines.push('Metadata:', ...describeValue(restMeta, 1));
  const serviceEntry = o['kind'] === 'ServiceEntry';
  for (const [k, v] of Object.entries(o)) {
    if (['apiVersion', 'kind', 'metadata'].includes(k)) continue;
    if (serviceEntry && k === 'status') continue;
    if (isObject(v) || Array.isArray(v)) lines.push(`${title(k)}:`, ...describeValue(v, 1));
    else lines.push(`${title(k)}:  ${String(v)}`);
  }
  if (serviceEntry) lines.push(...serviceEntryStatus(o['status']));
  lines.push('Events:  <none>');
  return `${lines.join('\n')}\n`;
}

export async function runDescribe(kindArg: string, name: string, opts: { namespace?: string; kubeconfig?: string }) {
  const kind = kindFromArg(kindArg);
  const client = connect(opts.kubeconfig);
  try {
    const ns = kind.namespaced ? (opts.namespace ?? client.config.namespace) : undefined;
    const r = await client.call('GET', objectPath(kind, preferredVersion(kind), ns, name));
    process.stdout.write(describeObject(r.body));
  } finally {
    client.close();
  }
}

export function register(program: Command): void {
  program
    .command('describe')
    .description('show one object in detail (like kubectl describe)')
    .argument('<kind>', 'kind, plural, singular or short name')
    .argument('<name>', 'object name')
    .option('-n, --namespace <ns>', 'namespace (default: the kubeconfig context namespace, else "default")')
    .option(
      '--kubeconfig <path>',
      'kubeconfig of the control plane (default: $SLUICE_KUBECONFIG or ~/.sluice/kubeconfig)',
    )
    .action((kind: string, name: string, opts: { namespace?: string; kubeconfig?: string }) =>
      runCommand(() => runDescribe(kind, name, opts)),
    );
}
