/**
 * analyze: checks across resources, like `istioctl analyze`. Input resources need not be valid
 * (broken fields are skipped; validateResource reports them). Returns findings; never throws.
 */
import type { Finding, Resource } from '../resource.js';
import { checkAddressesRequired } from '../validate/service-entry.js';
import { listAt, numAt } from '../validate/values.js';
import { checkDestinationRules } from './destination-rules.js';
import { checkDestinations } from './destinations.js';
import { Registry, type Workload } from './registry.js';
import { checkSidecars } from './sidecars.js';
import { tcpPortConflicts } from './tcp-port-conflicts.js';
import { checkConflictingHosts, checkRuleReachability } from './virtual-services.js';

export interface AnalyzeOptions {
  /**
   * The workloads running (namespace + labels). When given, IST0173 (subset selects no workload),
   * IST0174 (DestinationRule host matches no service) and IST0110 are checked too.
   */
  workloads?: Workload[];
}

export function analyze(resources: Resource[], opts: AnalyzeOptions = {}): Finding[] {
  const registry = new Registry(resources);
  checkDestinations(registry);
  checkConflictingHosts(registry);
  checkRuleReachability(registry);
  for (const se of registry.of('ServiceEntry')) checkAddressesRequired(se.spec, se.out);
  checkSidecars(registry, opts.workloads);
  if (opts.workloads) checkDestinationRules(registry, opts.workloads);

  checkTcpPortConflicts(registry, resources);
  const findings: Finding[] = [];
  for (const entries of registry.byKind.values()) for (const e of entries) findings.push(...e.out.findings);
  return findings;
}

function checkTcpPortConflicts(registry: Registry, resources: Resource[]): void {
  const entries = new Map(registry.of('ServiceEntry').map((e) => [e.resource, e]));
  for (const c of tcpPortConflicts(resources)) {
    const entry = entries.get(c.loserResource);
    if (!entry) continue;
    const portIndex = listAt(entry.spec, 'ports').findIndex((p) => numAt(p, 'number') === c.port);
    entry.out.add(
      'tcpPortConflict',
      portIndex >= 0 ? `spec.ports[${portIndex}]` : 'spec.ports',
      `port ${c.port} is also claimed by ServiceEntry ${c.winner.namespace}/${c.winner.name} with no addresses; that older entry wins and this one is dropped for port ${c.port}`,
      'give one of the entries spec.addresses, or merge them into one entry',
    );
  }
}

/** The workloads described by Deployments (template labels), Pods and WorkloadEntries in `resources`. */
export function workloadsOf(resources: readonly Resource[]): Workload[] {
  const out: Workload[] = [];
  for (const r of new Registry(resources).byKind.entries()) {
    const [kind, entries] = r;
    for (const e of entries) {
      let labels: unknown;
      if (kind === 'Deployment')
        labels = (e.spec['template'] as { metadata?: { labels?: unknown } } | undefined)?.metadata?.labels;
      else if (kind === 'Pod') labels = e.resource.metadata?.labels;
      else if (kind === 'WorkloadEntry') labels = e.spec['labels'];
      else continue;
      const clean: Record<string, string> = {};
      if (typeof labels === 'object' && labels !== null)
        for (const [k, v] of Object.entries(labels)) if (typeof v === 'string') clean[k] = v;
      out.push({ namespace: e.namespace, labels: clean });
    }
  }
  return out;
}

export type { Workload } from './registry.js';
export type { TcpPortConflict } from './tcp-port-conflicts.js';
export { tcpPortConflicts };
