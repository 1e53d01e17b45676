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

  /** Services by exact (non-wildcard) host, in registration order; built on first use. */
  private exactIndex: Map<string, KnownService[]> | undefined;
  /** Services whose host is a wildcard (`*`, `*.example.com`), in registration order. */
  private wildcards: KnownService[] = [];
  /** Position of each service in `services`, to merge index results in registration order. */
  private order = new Map<KnownService, number>();

  private exact(): Map<string, KnownService[]> {
    if (this.exactIndex) return this.exactIndex;
    const index = new Map<string, KnownService[]>();
    this.services.forEach((s, i) => {
      this.order.set(s, i);
      if (s.host.startsWith('*')) this.wildcards.push(s);
      else {
        const list = index.get(s.host);
        if (list) list.push(s);
        else index.set(s.host, [s]);
      }
    });
    this.exactIndex = index;
    return index;
  }

  /**
   * The service a resolved host names: an exact Kubernetes Service, else the first service with
   * exactly that host, else the wildcard ServiceEntry host covering it most narrowly. Hosts of
   * services are lower case, and a plain host covers only itself, so exact names are looked up in
   * an index and only wildcard hosts are scanned.
   */
  lookup(fqdn: string): KnownService | undefined {
    const exactService = this.serviceByFqdn.get(fqdn);
    if (exactService) return exactService;
    const host = fqdn.toLowerCase();
    const first = this.exact().get(host)?.[0];
    if (first) return first;
    let best: KnownService | undefined;
    for (const s of this.wildcards) {
      if (hostCovers(s.host, host) && (!best || s.host.length > best.host.length)) best = s;
    }
    return best;
  }

  /** Services a (possibly wildcard) DestinationRule host applies to, in registration order. */
  servicesCoveredBy(fqdn: string): KnownService[] {
    const host = fqdn.toLowerCase();
    if (host.startsWith('*')) return this.services.filter((s) => hostCovers(host, s.host) || hostCovers(s.host, host));
    const found = [...(this.exact().get(host) ?? []), ...this.wildcards.filter((s) => hostCovers(s.host, host))];
    return found.sort((a, b) => (this.order.get(a) ?? 0) - (this.order.get(b) ?? 0));
  }

  /** DestinationRules with their hosts resolved once, split into exact and wildcard hosts. */
  private drIndex: { exact: Map<string, Entry[]>; wildcard: { host: string; dr: Entry }[] } | undefined;

  /** DestinationRules whose host covers `fqdn`, in the order they were given. */
  destinationRulesFor(fqdn: string): Entry[] {
    if (!this.drIndex) {
      const index = { exact: new Map<string, Entry[]>(), wildcard: [] as { host: string; dr: Entry }[] };
      for (const dr of this.of('DestinationRule')) {
        const written = strAt(dr.spec, 'host');
        if (written === undefined) continue;
        const host = resolveHost(written, dr.namespace);
        if (host.startsWith('*')) index.wildcard.push({ host, dr });
        else {
          const list = index.exact.get(host);
          if (list) list.push(dr);
          else index.exact.set(host, [dr]);
        }
      }
      this.drIndex = index;
    }
    const host = fqdn.toLowerCase();
    const found = [
      ...(this.drIndex.exact.get(host) ?? []),
      ...this.drIndex.wildcard.filter((w) => hostCovers(w.host, host)).map((w) => w.dr),
    ];
    if (found.length < 2) return found;
    const drs = this.of('DestinationRule');
    return found.sort((a, b) => drs.indexOf(a) - drs.indexOf(b));
  }
}
