/** IST0174 (DestinationRule host matches no service) and IST0173 (subset selects no workload). */
import { resolveHost } from '../hosts.js';
import { isObj, listAt, objAt, strAt } from '../validate/values.js';
import { type KnownService, labelsOf, type Registry, selects, type Workload } from './registry.js';

function selectsSomething(
  service: KnownService,
  subsetLabels: Record<string, string>,
  workloads: readonly Workload[],
): boolean {
  if (service.endpointLabels && service.endpointLabels.length > 0)
    return service.endpointLabels.some((labels) => selects(subsetLabels, labels));
  const selector = { ...(service.selector ?? {}), ...subsetLabels };
  return workloads.some((w) => w.namespace === service.namespace && selects(selector, w.labels));
}

export function checkDestinationRules(registry: Registry, workloads: readonly Workload[]): void {
  for (const dr of registry.of('DestinationRule')) {
    const host = strAt(dr.spec, 'host');
    if (!host) continue;
    const fqdn = resolveHost(host, dr.namespace);
    const services = registry.servicesCoveredBy(fqdn);
    if (services.length === 0) {
      dr.out.add(
        'drHostNotFound',
        'spec.host',
        `DestinationRule host ${JSON.stringify(host)}${fqdn !== host ? ` (${fqdn})` : ''} matches no Service or ServiceEntry`,
        'check the spelling, or the namespace a short name resolves in',
      );
      continue;
    }
    // Subsets are checked against the service the host names exactly (wildcard hosts are skipped).
    const service = registry.lookup(fqdn);
    if (!service || fqdn.startsWith('*')) continue;
    // Services selecting nothing (ServiceEntries with neither endpoints nor selector) have no workloads to check.
    if (!service.selector && !(service.endpointLabels && service.endpointLabels.length > 0)) continue;
    listAt(dr.spec, 'subsets').forEach((subset, i) => {
      if (!isObj(subset)) return;
      const labels = labelsOf(objAt(subset, 'labels'));
      if (selectsSomething(service, labels, workloads)) return;
      const shown = Object.entries(labels)
        .map(([k, v]) => `${k}=${v}`)
        .join(',');
      dr.out.add(
        'subsetSelectsNothing',
        `spec.subsets[${i}]`,
        `subset ${JSON.stringify(subset['name'])} of ${fqdn} selects no workload${shown ? ` (labels ${shown})` : ''}`,
        'check the subset labels against the workloads behind the service',
      );
    });
  }
}
