/**
 * What the analyzers look things up in: the resources by kind (namespaces filled in), the
 * services the mesh knows (Kubernetes Services by FQDN, ServiceEntry hosts), and DestinationRules.
 */
import { hostCovers, resolveHost } from '../hosts.js';
import type { Resource } from '../resource.js';
import { FindingCollector } from '../validate/collector.js';
import { isObj, listAt, numAt, objAt, strAt, strings } from '../validate/values.js';

export interface Workload {
  namespace: string;
  labels: Record<string, string>;
}

export interface KnownService {
  /** FQDN for Kubernetes Services; the host as written (maybe a wildcard) for ServiceEntries. */
  host: string;
  namespace: string;
  ports: { number: number; name?: string; protocol?: string }[];
  /** Kubernetes Service selector, or ServiceEntry workloadSelector labels. */
  selector?: Record<string, string>;
  /** ServiceEntry endpoint labels (each endpoint is a workload of the entry). */
  endpointLabels?: Record<string, string>[];
  source: Resource;
}

export interface Entry {
  resource: Resource;
  namespace: string;
  name: string;
  spec: Record<string, unknown>;
  out: FindingCollector;
}

export function labelsOf(v: unknown): Record<string, string> {
  const out: Record<string, string> = {};
  if (isObj(v)) for (const [k, val] of Object.entries(v)) if (typeof val === 'string') out[k] = val;
  return out;
}

export function selects(selector: Record<string, string>, labels: Record<string, string>): boolean {
  return Object.entries(selector).every(([k, v]) => labels[k] === v);
}

export class Registry {
  readonly byKind = new Map<string, Entry[]>();
  readonly services: KnownService[] = [];
  private readonly serviceByFqdn = new Map<string, KnownService>();

  constructor(resources: readonly Resource[]) {
    for (const resource of resources) {
      if (!isObj(resource) || typeof resource.kind !== 'string') continue;
      const out = new FindingCollector(resource);
      const spec = isObj(resource.spec) ? (resource.spec as Record<string, unknown>) : {};
      const entry: Entry = {
        resource,
        namespace: out.ref?.namespace ?? 'default',
        name: out.ref?.name ?? '',
        spec,
        out,
      };
      const list = this.byKind.get(resource.kind) ?? [];
      list.push(entry);
      this.byKind.set(resource.kind, list);
    }
    for (const svc of this.of('Service')) {
      const known: KnownService = {
        host: resolveHost(svc.name, svc.namespace),
        namespace: svc.namespace,
        ports: listAt(svc.spec, 'ports').flatMap((p) => {
          const number = numAt(p, 'port');
          return number === undefined ? [] : [{ number, name: strAt(p, 'name'), protocol: strAt(p, 'protocol') }];
        }),
        selector: labelsOf(objAt(svc.spec, 'selector')),
        source: svc.resource,
      };
      this.services.push(known);
      this.serviceByFqdn.set(known.host, known);
    }
    for (const se of this.of('ServiceEntry')) {
      const ports = listAt(se.spec, 'ports').flatMap((p) => {
        const number = numAt(p, 'number');
        return number === undefined ? [] : [{ number, name: strAt(p, 'name'), protocol: strAt(p, 'protocol') }];
      });
      const selector = objAt(se.spec, 'workloadSelector');
      for (const [host] of strings(listAt(se.spec, 'hosts'))) {
        const known: KnownService = {
          host: host.toLowerCase(),
          namespace: se.namespace,
          ports,
          endpointLabels: listAt(se.spec, 'endpoints').map((ep) => labelsOf(objAt(ep, 'labels'))),
          source: se.resource,
        };
        if (selector) known.selector = labelsOf(objAt(selector, 'labels'));
        this.services.push(known);
      }
    }
  }

  of(kind: string): Entry[] {
    return this.byKind.get(kind) ?? [];
  }

  /** The service a resolved host names: an exact Kubernetes Service, else the ServiceEntry host covering it. */
  lookup(fqdn: string): KnownService | undefined {
    const exact = this.serviceByFqdn.get(fqdn);
    if (exact) return exact;
    let best: KnownService | undefined;
    for (const s of this.services) {
      if (s.host === fqdn) return s;
      if (hostCovers(s.host, fqdn) && (!best || s.host.length > best.host.length)) best = s;
    }
    return best;
  }

  /** Services a (possibly wildcard) DestinationRule host applies to. */
  servicesCoveredBy(fqdn: string): KnownService[] {
    return this.services.filter((s) => hostCovers(fqdn, s.host) || hostCovers(s.host, fqdn));
  }

  /** DestinationRules whose host covers `fqdn`. */
  destinationRulesFor(fqdn: string): Entry[] {
    return this.of('DestinationRule').filter((dr) => {
      const host = strAt(dr.spec, 'host');
      return host !== undefined && hostCovers(resolveHost(host, dr.namespace), fqdn);
    });
  }
}
