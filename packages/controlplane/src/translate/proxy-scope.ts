/**
 * What one proxy sees: the Sidecar that applies to it, its outbound mode (mesh default, MeshConfig,
 * Sidecar), audit mode, and the services, VirtualServices and DestinationRules it imports
 * (Sidecar egress hosts and exportTo). Pure.
 */
import {
  type DestinationRuleSpec,
  EGRESS_MODE_ANNOTATION,
  type Resource,
  type SidecarSpec,
  type VirtualServiceSpec,
} from '@sluice/config';
import type { MeshIndex } from './mesh-index.js';
import { hostMatches, isExportedTo, labelsMatch, type MeshService, resolveHost } from './mesh-services.js';
import type { OutboundMode } from './types.js';

export interface ProxyScope {
  namespace: string;
  labels: Record<string, string>;
  sidecar?: Resource<SidecarSpec>;
  mode: OutboundMode;
  audit: boolean;
  services: MeshService[];
  virtualServices: Resource<VirtualServiceSpec>[];
  destinationRules: Resource<DestinationRuleSpec>[];
}

/** Istio's Sidecar choice: selector match in the proxy's namespace, else its namespace default, else the root default. */
export function selectSidecar(
  index: MeshIndex,
  namespace: string,
  labels: Record<string, string>,
): Resource<SidecarSpec> | undefined {
  const inNs = index.sidecars.filter((s) => (s.metadata.namespace ?? 'default') === namespace);
  const selected = inNs.find(
    (s) => s.spec?.workloadSelector?.labels && labelsMatch(s.spec.workloadSelector.labels, labels),
  );
  if (selected) return selected;
  const nsDefault = inNs.find((s) => !s.spec?.workloadSelector?.labels);
  if (nsDefault) return nsDefault;
  return index.sidecars.find(
    (s) => (s.metadata.namespace ?? 'default') === index.rootNamespace && !s.spec?.workloadSelector?.labels,
  );
}

interface ImportRule {
  namespace: string;
  host: string;
}

function importRules(sidecar: Resource<SidecarSpec> | undefined): ImportRule[] {
  const hosts = (sidecar?.spec?.egress ?? []).flatMap((e) => e.hosts ?? []);
  if (hosts.length === 0) return [{ namespace: '*', host: '*' }];
  return hosts.map((h) => {
    const slash = h.indexOf('/');
    return slash < 0 ? { namespace: '*', host: h } : { namespace: h.slice(0, slash), host: h.slice(slash + 1) };
  });
}

function imported(rules: ImportRule[], proxyNamespace: string, objNamespace: string, host: string): boolean {
  return rules.some((r) => {
    const nsOk =
      r.namespace === '*' || (r.namespace === '.' ? objNamespace === proxyNamespace : r.namespace === objNamespace);
    return nsOk && r.namespace !== '~' && hostMatches(r.host, host);
  });
}

export function proxyScope(index: MeshIndex, namespace: string, labels: Record<string, string>): ProxyScope {
  const sidecar = selectSidecar(index, namespace, labels);
  const rules = importRules(sidecar);
  const mode: OutboundMode =
    sidecar?.spec?.outboundTrafficPolicy?.mode ?? index.mesh.outboundTrafficPolicy?.mode ?? 'ALLOW_ANY';
  const sidecarAnn = sidecar?.metadata.annotations?.[EGRESS_MODE_ANNOTATION];
  const meshAudit = index.mesh.egressMode === 'audit' || index.mesh.annotations[EGRESS_MODE_ANNOTATION] === 'audit';
  const audit = sidecarAnn !== undefined ? sidecarAnn === 'audit' : meshAudit;
  // What a proxy imports depends on its namespace and Sidecar only: computed once per pair.
  const importKey = `${namespace}\0${sidecar ? `${sidecar.metadata.namespace ?? 'default'}/${sidecar.metadata.name}` : ''}`;
  const imports = index.importCache.get(importKey) ?? visible(index, namespace, rules);
  index.importCache.set(importKey, imports);
  const { services, virtualServices } = imports;
  const destinationRules = index.destinationRules.filter((dr) => {
    const ns = dr.metadata.namespace ?? 'default';
    if (!isExportedTo(dr.spec?.exportTo?.length ? dr.spec.exportTo : ['*'], ns, namespace)) return false;
    const sel = dr.spec?.workloadSelector?.labels;
    return !sel || (ns === namespace && labelsMatch(sel, labels));
  });
  const scope: ProxyScope = { namespace, labels, mode, audit, services, virtualServices, destinationRules };
  if (sidecar) scope.sidecar = sidecar;
  return scope;
}

function visible(
  index: MeshIndex,
  namespace: string,
  rules: ImportRule[],
): { services: MeshService[]; virtualServices: Resource<VirtualServiceSpec>[] } {
  const services = index.services.filter(
    (s) => isExportedTo(s.exportTo, s.namespace, namespace) && imported(rules, namespace, s.namespace, s.hostname),
  );
  const virtualServices = index.virtualServices.filter((vs) => {
    const ns = vs.metadata.namespace ?? 'default';
    if (!isExportedTo(vs.spec?.exportTo?.length ? vs.spec.exportTo : ['*'], ns, namespace)) return false;
    const gateways = vs.spec?.gateways;
    if (gateways && gateways.length > 0 && !gateways.includes('mesh')) return false;
    return (vs.spec?.hosts ?? []).some((h) => imported(rules, namespace, ns, resolveHost(h, ns)));
  });
  return { services, virtualServices };
}

/** The DestinationRule for a host, by Istio's lookup order: proxy namespace, service namespace, root, others. */
export function destinationRuleFor(
  scope: ProxyScope,
  rootNamespace: string,
  service: MeshService,
): Resource<DestinationRuleSpec> | undefined {
  let best: { dr: Resource<DestinationRuleSpec>; score: number } | undefined;
  for (const dr of scope.destinationRules) {
    const ns = dr.metadata.namespace ?? 'default';
    const host = resolveHost(dr.spec?.host ?? '', ns);
    if (!hostMatches(host, service.hostname)) continue;
    const nsScore = ns === scope.namespace ? 0 : ns === service.namespace ? 1 : ns === rootNamespace ? 2 : 3;
    const score = nsScore * 2 + (host === service.hostname ? 0 : 1);
    if (!best || score < best.score) best = { dr, score };
  }
  return best?.dr;
}

/** The VirtualService routing a host: the oldest visible one naming it (exact before wildcard). */
export function virtualServiceFor(scope: ProxyScope, hostname: string): Resource<VirtualServiceSpec> | undefined {
  let wildcard: Resource<VirtualServiceSpec> | undefined;
  for (const vs of scope.virtualServices) {
    const ns = vs.metadata.namespace ?? 'default';
    for (const h of vs.spec?.hosts ?? []) {
      const host = resolveHost(h, ns);
      if (host === hostname) return vs;
      if (!wildcard && hostMatches(host, hostname)) wildcard = vs;
    }
  }
  return wildcard;
}
