/**
 * `sluice analyze`: validates and analyses mesh config together, like `istioctl analyze`.
 * - `-f FILE|DIR|-` alone: the files, offline (`--use-kube=false`).
 * - no `-f`: every object stored in the running control plane (the kubeconfig's).
 * - `-f … --live`: the files applied over the live config, i.e. the mesh as it would be after
 *   `sluice apply -f …`: a file object replaces the live object of the same kind, namespace and name.
 * Exit 1 when any finding is an error.
 */
import {
  analyze,
  copyLineTable,
  dedupeFindings,
  type Finding,
  formatFindings,
  KINDS,
  normalizeResource,
  type Resource,
  readManifestPaths,
  validateResource,
  workloadsOf,
} from '@sluice/config';
import { type Command, Option } from 'commander';
import { type ApiClient, CliError, collectionPath, connect, preferredVersion, runCommand } from '../client.js';
import { useColor } from '../output.js';

const WORKLOAD_KINDS = new Set(['Deployment', 'Pod', 'WorkloadEntry']);
/** Never read from the server: no analysis uses them, and their data has no business in the CLI. */
const NOT_ANALYSED = new Set(['Secret']);

function collect(value: string, previous: string[] | undefined): string[] {
  return [...(previous ?? []), value];
}

function order(a: Finding, b: Finding): number {
  const fa = a.source?.file ?? '';
  const fb = b.source?.file ?? '';
  if (fa !== fb) return fa < fb ? -1 : 1;
  return (a.source?.document ?? 0) - (b.source?.document ?? 0) || (a.source?.line ?? 0) - (b.source?.line ?? 0);
}

function keyOf(r: Resource): string {
  return `${r.kind}/${r.metadata?.namespace ?? ''}/${r.metadata?.name ?? ''}`;
}

/** A copy of `r` with `change` applied, keeping its source and line table (for findings' lines). */
function amended(r: Resource, change: (copy: Resource) => void): Resource {
  const copy = { ...r, metadata: { ...r.metadata } };
  change(copy);
  copyLineTable(r, copy);
  return copy;
}

/** Analyses `resources` (already validated); adds the findings to `findings`. */
function analyzeSet(resources: Resource[], findings: Finding[]): Finding[] {
  const hasWorkloads = resources.some((r) => WORKLOAD_KINDS.has(r.kind));
  findings.push(...analyze(resources, hasWorkloads ? { workloads: workloadsOf(resources) } : {}));
  return dedupeFindings(findings).sort(order);
}

/** Reads, validates and analyses the manifests under `paths`; the findings of all three steps. */
export async function analyzePaths(paths: string[]): Promise<{ findings: Finding[]; objects: number }> {
  const { resources, findings } = await readManifestPaths(paths);
  for (const r of resources) findings.push(...validateResource(r));
  const normalized = resources.map((r) => normalizeResource(r));
  return { findings: analyzeSet(normalized, findings), objects: resources.length };
}

/** Every object of every analysed kind stored in the control plane, in all namespaces. */
export async function readLiveConfig(client: ApiClient): Promise<Resource[]> {
  const kinds = KINDS.filter((k) => !NOT_ANALYSED.has(k.kind));
  const lists = await Promise.all(
    kinds.map(async (kind) => {
      const version = preferredVersion(kind);
      const r = await client.call<{ items?: Resource[] }>('GET', collectionPath(kind, version, undefined));
      const apiVersion = kind.group ? `${kind.group}/${version}` : version;
      return (r.body.items ?? []).map((o) => ({ ...o, apiVersion: o.apiVersion ?? apiVersion, kind: kind.kind }));
    }),
  );
  return lists.flat();
}

/**
 * The live config with `files` applied over it, as the control plane would store it: a file
 * object keeps the creation time and status of the live object it replaces; a new one is the
 * newest object; ServiceEntry VIPs are allocated as the control plane allocates them.
 */
export async function overlay(live: readonly Resource[], files: readonly Resource[]): Promise<Resource[]> {
  const byKey = new Map(live.map((r) => [keyOf(r), r]));
  const now = `${new Date().toISOString().slice(0, 19)}Z`;
  for (const f of files) {
    const prior = byKey.get(keyOf(f));
    byKey.set(
      keyOf(f),
      amended(f, (copy) => {
        copy.metadata.creationTimestamp = prior?.metadata.creationTimestamp ?? now;
        if (prior?.status !== undefined && copy.status === undefined) copy.status = prior.status;
      }),
    );
  }
  const merged = [...byKey.values()];
  // Imported here so that offline analysis never loads the control plane's modules.
  const { withAllocatedVips } = await import('@sluice/controlplane');
  const allocated = withAllocatedVips(merged);
  for (const [i, r] of allocated.entries()) copyLineTable(merged[i] as Resource, r);
  return allocated;
}

/** The client for live analysis; without files and without a kubeconfig, says what to give instead. */
function connectForLive(kubeconfig: string | undefined, haveFiles: boolean): ApiClient {
  try {
    return connect(kubeconfig);
  } catch (err) {
    if (haveFiles || !(err instanceof CliError) || err.code !== 'NoKubeconfig') throw err;
    throw new CliError(
      'NoKubeconfig',
      `required option '-f, --filename <path>' not specified, and there is no control plane to analyse instead: ${err.message}`,
    );
  }
}

export interface AnalyzeCommandOptions {
  filename?: string[];
  live?: boolean;
  output: 'text' | 'json';
  kubeconfig?: string;
}

/** The findings and object count for the command's options. */
export async function analyzeForOptions(
  opts: AnalyzeCommandOptions,
): Promise<{ findings: Finding[]; objects: number }> {
  const files = opts.filename ?? [];
  if (files.length > 0 && !opts.live) return analyzePaths(files);
  const { resources, findings } =
    files.length > 0 ? await readManifestPaths(files) : { resources: [], findings: [] as Finding[] };
  for (const r of resources) findings.push(...validateResource(r));
  const fromFiles = resources.map((r) => normalizeResource(r));
  const client = connectForLive(opts.kubeconfig, files.length > 0);
  let live: Resource[];
  try {
    live = await readLiveConfig(client);
  } finally {
    client.close();
  }
  const merged = await overlay(
    live.map((r) => normalizeResource(r)),
    fromFiles,
  );
  return { findings: analyzeSet(merged, findings), objects: merged.length };
}

export function register(program: Command): void {
  program
    .command('analyze')
    .description(
      'validate and analyse mesh config: the running control plane (default), files (-f), or files over it (-f --live)',
    )
    .option(
      '-f, --filename <path>',
      'file, directory (recursive: *.yaml, *.yml, *.json) or - for stdin; repeatable; offline unless --live',
      collect,
    )
    .option('--live', 'with -f: analyse the files applied over the live config (what the mesh would be after apply)')
    .option(
      '--kubeconfig <path>',
      'kubeconfig of the control plane (default: $SLUICE_KUBECONFIG or ~/.sluice/kubeconfig)',
    )
    .addOption(new Option('-o, --output <format>', 'output format').choices(['text', 'json']).default('text'))
    .addHelpText(
      'after',
      `
Examples:
  sluice analyze -f samples/bookinfo/networking/     # files only, offline
  sluice analyze                                     # the live config of the running control plane
  sluice analyze -f fix.yaml --live                  # the mesh as it would be after "sluice apply -f fix.yaml"
  sluice analyze -f mysql-external.yaml -f virtual-service-ratings-mysql.yaml
  kubectl get serviceentries -A -o yaml | sluice analyze -f -
  sluice analyze -o json | jq '.findings[] | select(.severity == "error")'

Exit status: 1 when any finding is an error (or the control plane cannot be read), 0 otherwise
(warnings do not fail).
Codes: YAML… input, SLC… Sluice rules, IST… Istio analyzer codes (see docs/config-validation.md).`,
    )
    .action((opts: AnalyzeCommandOptions) =>
      runCommand(async () => {
        const { findings, objects } = await analyzeForOptions(opts);
        const errors = findings.filter((f) => f.severity === 'error').length;
        if (opts.output === 'json') {
          const summary = {
            objects,
            errors,
            warnings: findings.filter((f) => f.severity === 'warning').length,
            info: findings.filter((f) => f.severity === 'info').length,
          };
          process.stdout.write(`${JSON.stringify({ findings, summary }, null, 2)}\n`);
        } else {
          process.stdout.write(formatFindings(findings, { color: useColor(process.stdout) }));
        }
        process.exitCode = errors > 0 ? 1 : 0;
      }),
    );
}
