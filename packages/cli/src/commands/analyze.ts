/**
 * `sluice analyze -f FILE|DIR|-`: validates every object and analyses them together, offline,
 * like `istioctl analyze --use-kube=false`. Exit 1 when any error is found.
 */
import {
  analyze,
  dedupeFindings,
  type Finding,
  formatFindings,
  normalizeResource,
  readManifestPaths,
  validateResource,
  workloadsOf,
} from '@sluice/config';
import { type Command, Option } from 'commander';
import { useColor } from '../output.js';

const WORKLOAD_KINDS = new Set(['Deployment', 'Pod', 'WorkloadEntry']);

function collect(value: string, previous: string[] | undefined): string[] {
  return [...(previous ?? []), value];
}

function order(a: Finding, b: Finding): number {
  const fa = a.source?.file ?? '';
  const fb = b.source?.file ?? '';
  if (fa !== fb) return fa < fb ? -1 : 1;
  return (a.source?.document ?? 0) - (b.source?.document ?? 0) || (a.source?.line ?? 0) - (b.source?.line ?? 0);
}

/** Reads, validates and analyses the manifests under `paths`; the findings of all three steps. */
export async function analyzePaths(paths: string[]): Promise<{ findings: Finding[]; objects: number }> {
  const { resources, findings } = await readManifestPaths(paths);
  for (const r of resources) findings.push(...validateResource(r));
  const normalized = resources.map((r) => normalizeResource(r));
  const hasWorkloads = normalized.some((r) => WORKLOAD_KINDS.has(r.kind));
  findings.push(...analyze(normalized, hasWorkloads ? { workloads: workloadsOf(normalized) } : {}));
  return { findings: dedupeFindings(findings).sort(order), objects: resources.length };
}

export function register(program: Command): void {
  program
    .command('analyze')
    .description('validate manifests and analyse them together (offline: nothing is applied)')
    .requiredOption(
      '-f, --filename <path>',
      'file, directory (recursive: *.yaml, *.yml, *.json) or - for stdin; repeatable',
      collect,
    )
    .addOption(new Option('-o, --output <format>', 'output format').choices(['text', 'json']).default('text'))
    .addHelpText(
      'after',
      `
Examples:
  sluice analyze -f samples/bookinfo/networking/
  sluice analyze -f mysql-external.yaml -f virtual-service-ratings-mysql.yaml
  kubectl get serviceentries -A -o yaml | sluice analyze -f -
  sluice analyze -f config/ -o json | jq '.findings[] | select(.severity == "error")'

Exit status: 1 when any finding is an error, 0 otherwise (warnings do not fail).
Codes: YAML… input, SLC… Sluice rules, IST… Istio analyzer codes (see docs/config-validation.md).`,
    )
    .action(async (opts: { filename: string[]; output: 'text' | 'json' }) => {
      const { findings, objects } = await analyzePaths(opts.filename);
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
    });
}
