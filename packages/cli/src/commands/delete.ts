/** `sluice delete KIND NAME... [-n NS]` or `sluice delete -f FILE|DIR|-`: like kubectl delete. */
import { kindInfo, normalizeResource, readManifestPaths } from '@sluice/config';
import type { Command } from 'commander';
import {
  CliError,
  connect,
  kindFromArg,
  objectPath,
  preferredVersion,
  resourceName,
  runCommand,
  ServerError,
} from '../client.js';

export interface DeleteOptions {
  filename?: string[];
  namespace?: string;
  ignoreNotFound?: boolean;
  kubeconfig?: string;
}

interface Target {
  kindArg: string;
  version?: string;
  namespace?: string;
  name: string;
  file?: string;
}

async function targetsFrom(kindArg: string | undefined, names: string[], opts: DeleteOptions): Promise<Target[]> {
  if (opts.filename?.length) {
    if (kindArg) throw new CliError('BadArguments', 'give either KIND NAME or -f FILE, not both');
    const { resources, findings } = await readManifestPaths(opts.filename);
    const bad = findings.filter((f) => f.severity === 'error');
    if (bad.length > 0)
      throw new CliError(
        'BadArguments',
        bad.map((f) => `${f.source?.file ?? ''}:${f.source?.line ?? ''}: ${f.message}`).join('\n'),
      );
    return resources.map((r) => {
      const n = normalizeResource(
        opts.namespace && !r.metadata?.namespace ? { ...r, metadata: { ...r.metadata, namespace: opts.namespace } } : r,
      );
      const t: Target = { kindArg: n.kind, name: n.metadata.name, file: r.source.file };
      if (n.metadata.namespace) t.namespace = n.metadata.namespace;
      if (n.apiVersion.includes('/') || kindInfo(n.kind)?.group === '') t.version = n.apiVersion.split('/').pop()!;
      return t;
    });
  }
  if (!kindArg || names.length === 0) throw new CliError('BadArguments', 'give KIND NAME... or -f FILE');
  return names.map((name) => ({ kindArg, name }));
}

export async function runDelete(kindArg: string | undefined, names: string[], opts: DeleteOptions): Promise<void> {
  const targets = await targetsFrom(kindArg, names, opts);
  const client = connect(opts.kubeconfig);
  let failed = 0;
  try {
    for (const t of targets) {
      const kind = kindFromArg(t.kindArg);
      const ns = kind.namespaced ? (t.namespace ?? opts.namespace ?? client.config.namespace) : undefined;
      const r = await client.request('DELETE', objectPath(kind, t.version ?? preferredVersion(kind), ns, t.name), {
        body: { propagationPolicy: 'Background' },
      });
      if (r.status >= 200 && r.status < 300) {
        process.stdout.write(`${resourceName(kind)} "${t.name}" deleted\n`);
        continue;
      }
      if (r.status === 404 && opts.ignoreNotFound) continue;
      failed++;
      const text = new ServerError(r.status, r.body).message;
      process.stderr.write(
        t.file
          ? `${text.replace(/^(Error from server \([^)]*\)): /, `$1: error when deleting "${t.file}": `)}\n`
          : `${text}\n`,
      );
    }
  } finally {
    client.close();
  }
  if (failed > 0) process.exitCode = 1;
}

function collect(value: string, previous: string[] | undefined): string[] {
  return [...(previous ?? []), value];
}

export function register(program: Command): void {
  program
    .command('delete')
    .description('delete resources by kind and name, or those named in manifests (like kubectl delete)')
    .argument('[kind]', 'kind, plural, singular or short name')
    .argument('[names...]', 'object names')
    .option('-f, --filename <path>', 'delete the objects in these manifests; repeatable', collect)
    .option('-n, --namespace <ns>', 'namespace (default: the kubeconfig context namespace, else "default")')
    .option('--ignore-not-found', 'treat a missing object as deleted')
    .option(
      '--kubeconfig <path>',
      'kubeconfig of the control plane (default: $SLUICE_KUBECONFIG or ~/.sluice/kubeconfig)',
    )
    .addHelpText(
      'after',
      '\nExamples:\n  sluice delete serviceentry mysql-external\n  sluice delete -f virtual-service-ratings-mysql.yaml',
    )
    .action((kind: string | undefined, names: string[], opts: DeleteOptions) =>
      runCommand(() => runDelete(kind, names, opts)),
    );
}
