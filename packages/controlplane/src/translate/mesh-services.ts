/**
 * The service registry a proxy can see: Kubernetes Services and ServiceEntry hosts flattened into
 * one list of {@link MeshService}, as istiod's service registry does. Pure.
 */
import type { K8sServiceSpec, Resource, ServiceEntrySpec, WorkloadEntrySpec } from '@sluice/config';
import { byCreation, needsVip } from './vip.js';

export const CLUSTER_DOMAIN = 'svc.cluster.local';

/** How traffic to a port is carried: decides TCP proxying, SNI matching or HTTP routing. */
export type PortKind = 'http' | 'tls' | 'tcp' | 'udp';

export interface MeshPort {
  number: number;
  name: string;
  /** Upper-case Istio protocol name ("TCP", "HTTP", …); "TCP" when unset (Sluice never sniffs). */
  protocol: string;
  kind: PortKind;
  targetPort?: number | string;
}

export type Resolution = 'NONE' | 'STATIC' | 'DNS' | 'DNS_ROUND_ROBIN' | 'EDS';

export interface MeshService {
  hostname: string;
  namespace: string;
  kind: 'ServiceEntry' | 'Service';
  /** The resource's name. */
  name: string;
  /** `<Kind>/<namespace>/<name>`, as filter chain metadata and conflicts name it. */
  ref: string;
  /** User-set addresses (IPs or CIDRs), the clusterIP, or the auto-allocated VIP. */
  addresses: string[];
  autoAllocated: boolean;
  ports: MeshPort[];
  resolution: Resolution;
  location: 'MESH_EXTERNAL' | 'MESH_INTERNAL';
  exportTo: string[];
  /** Labels selecting pods/WorkloadEntries (Service selector or ServiceEntry workloadSelector). */
  selector?: Record<string, string>;
  /** Inline endpoints of a ServiceEntry. */
  endpoints?: WorkloadEntrySpec[];
  /** Precedence rank: lower is older (creation time, name, namespace). */
  rank: number;
}

const HTTP_PROTOCOLS = new Set(['HTTP', 'HTTP2', 'GRPC', 'GRPC-WEB', 'HTTP_PROXY']);
const TLS_PROTOCOLS = new Set(['HTTPS', 'TLS']);

export function portKind(protocol: string): PortKind {
  const p = protocol.toUpperCase();
  if (HTTP_PROTOCOLS.has(p)) return 'http';
  if (TLS_PROTOCOLS.has(p)) return 'tls';
  if (p === 'UDP') return 'udp';
  return 'tcp';
}

/** Istio's protocol selection for a Kubernetes Service port: appProtocol, else the name's prefix. */
export function k8sPortProtocol(port: { name?: string; protocol?: string; appProtocol?: string }): string {
  if (port.protocol?.toUpperCase() === 'UDP') return 'UDP';
  const known = ['HTTP', 'HTTP2', 'GRPC', 'GRPC-WEB', 'HTTPS', 'TLS', 'TCP', 'MONGO', 'REDIS', 'MYSQL'];
  if (port.appProtocol && known.includes(port.appProtocol.toUpperCase())) return port.appProtocol.toUpperCase();
  const prefix = (port.name ?? '').split('-')[0]?.toUpperCase() ?? '';
  return known.includes(prefix) ? prefix : 'TCP';
}

function normalizeExportTo(list: string[] | undefined): string[] {
  return list && list.length > 0 ? list : ['*'];
}

/**
 * The services built from one resource object, kept while that object (and its rank and VIPs) stays
 * the same, so an unchanged resource yields the same MeshService objects from one snapshot to the
 * next and everything derived from them can be reused (see clusters.ts, listeners.ts).
 */
const builtFrom = new WeakMap<Resource, { rank: number; vips: string; services: MeshService[] }>();

function vipSignature(r: Resource, vips: ReadonlyMap<string, string>): string {
  if (r.kind === 'Service') return '';
  const spec = r.spec as ServiceEntrySpec | undefined;
  const ns = r.metadata.namespace ?? 'default';
  let sig = '';
  for (const host of spec?.hosts ?? []) if (needsVip(spec, host)) sig += `${vips.get(`${ns}/${host}`) ?? ''},`;
  return sig;
}

/** Builds the registry from a snapshot's Services and ServiceEntries. `vips` maps `<ns>/<host>` → VIP. */
export function buildMeshServices(
  services: readonly Resource<K8sServiceSpec>[],
  entries: readonly Resource<ServiceEntrySpec>[],
  vips: ReadonlyMap<string, string>,
): MeshService[] {
  const out: MeshService[] = [];
  const ordered = [...(entries as Resource[]), ...(services as Resource[])].sort(byCreation);
  ordered.forEach((r, rank) => {
    const sig = vipSignature(r, vips);
    const known = builtFrom.get(r);
    if (known && known.rank === rank && known.vips === sig) {
      out.push(...known.services);
      return;
    }
    const start = out.length;
    buildFrom(r, rank, vips, out);
    builtFrom.set(r, { rank, vips: sig, services: out.slice(start) });
  });
  return out;
}

function buildFrom(r: Resource, rank: number, vips: ReadonlyMap<string, string>, out: MeshService[]): void {
  {
    const ns = r.metadata.namespace ?? 'default';
    if (r.kind === 'Service') {
      const spec = (r.spec ?? {}) as K8sServiceSpec;
      const clusterIP = spec.clusterIP && spec.clusterIP !== 'None' ? spec.clusterIP : undefined;
      const exportAnn = r.metadata.annotations?.['networking.istio.io/exportTo'];
      const svc: MeshService = {
        hostname: `${r.metadata.name}.${ns}.${CLUSTER_DOMAIN}`,
        namespace: ns,
        kind: 'Service',
        name: r.metadata.name,
        ref: `Service/${ns}/${r.metadata.name}`,
        addresses: clusterIP ? [clusterIP] : [],
        autoAllocated: false,
        ports: (spec.ports ?? []).map((p) => {
          const protocol = k8sPortProtocol(p);
          return {
            number: p.port,
            name: p.name ?? String(p.port),
            protocol,
            kind: portKind(protocol),
            targetPort: p.targetPort ?? p.port,
          };
        }),
        resolution: 'EDS',
        location: 'MESH_INTERNAL',
        exportTo: normalizeExportTo(exportAnn?.split(',').map((s) => s.trim())),
        rank,
      };
      if (spec.selector) svc.selector = spec.selector;
      out.push(svc);
      return;
    }
    const spec = (r.spec ?? { hosts: [] }) as ServiceEntrySpec;
    for (const host of spec.hosts ?? []) {
      const vip = needsVip(spec, host) ? vips.get(`${ns}/${host}`) : undefined;
      const svc: MeshService = {
        hostname: host,
        namespace: ns,
        kind: 'ServiceEntry',
        name: r.metadata.name,
        ref: `ServiceEntry/${ns}/${r.metadata.name}`,
        addresses: vip ? [vip] : [...(spec.addresses ?? [])],
        autoAllocated: vip !== undefined,
        ports: (spec.ports ?? []).map((p) => {
          const protocol = (p.protocol ?? 'TCP').toUpperCase();
          const port: MeshPort = { number: p.number, name: p.name, protocol, kind: portKind(protocol) };
          if (p.targetPort) port.targetPort = p.targetPort;
          return port;
        }),
        resolution: spec.resolution ?? 'NONE',
        location: spec.location ?? 'MESH_EXTERNAL',
        exportTo: normalizeExportTo(spec.exportTo),
        rank,
      };
      if (spec.workloadSelector?.labels) svc.selector = spec.workloadSelector.labels;
      if (spec.endpoints) svc.endpoints = spec.endpoints;
      out.push(svc);
    }
  }
}

/** Whether an object of `ownerNamespace` with this exportTo is visible from `proxyNamespace`. */
export function isExportedTo(exportTo: readonly string[], ownerNamespace: string, proxyNamespace: string): boolean {
  for (const e of exportTo) {
    if (e === '*') return true;
    if (e === '.' && ownerNamespace === proxyNamespace) return true;
    if (e === proxyNamespace) return true;
  }
  return false;
}

/** Whether `host` (possibly `*.example.com`) matches `pattern` (exact, `*` or `*.suffix`). */
export function hostMatches(pattern: string, host: string): boolean {
  if (pattern === '*' || pattern === host) return true;
  if (pattern.startsWith('*.')) {
    const suffix = pattern.slice(1);
    if (host.startsWith('*.')) return host.slice(1).endsWith(suffix);
    return host.endsWith(suffix);
  }
  return false;
}

/** Resolves a short host ("reviews") in a namespace to its FQDN, as Istio does for VS/DR hosts. */
export function resolveHost(host: string, namespace: string): string {
  if (host === '*' || host.includes('.')) return host;
  return `${host}.${namespace}.${CLUSTER_DOMAIN}`;
}

export function labelsMatch(selector: Record<string, string> | undefined, labels: Record<string, string>): boolean {
  if (!selector) return true;
  for (const [k, v] of Object.entries(selector)) if (labels[k] !== v) return false;
  return true;
}
