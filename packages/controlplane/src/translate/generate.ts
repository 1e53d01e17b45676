/**
 * The translation entry point: a proxy and a config snapshot in, that proxy's Envoy resources out,
 * the way istiod builds them. Pure and deterministic. The snapshot is compiled once (cached per
 * snapshot object) and the result is cached per proxy shape (namespace + labels), so a thousand
 * proxies of a few shapes cost a few generations. Returned objects are shared: do not mutate.
 */
import type { K8sServiceSpec } from '@sluice/config';
import { blackHoleCluster, buildOutboundClusters, inboundCluster, passthroughCluster } from './clusters.js';
import {
  buildOutboundListeners,
  defaultRuleName,
  fallbackChain,
  virtualInboundListener,
  virtualOutboundListener,
} from './listeners.js';
import { type MeshIndex, meshIndex } from './mesh-index.js';
import { labelsMatch } from './mesh-services.js';
import { buildNameTable } from './name-table.js';
import { type ProxyScope, proxyScope } from './proxy-scope.js';
import { buildRoutes } from './routes.js';
import type { ConfigSnapshot, GeneratedResources, ProxyInfo } from './types.js';

/** The key under which proxies share generated resources. */
export function proxyShapeKey(proxy: Pick<ProxyInfo, 'namespace' | 'labels'>): string {
  const labels = Object.keys(proxy.labels)
    .sort()
    .map((k) => [k, proxy.labels[k]]);
  return JSON.stringify([proxy.namespace, labels]);
}

function inboundPorts(scope: ProxyScope, cfg: ConfigSnapshot): number[] {
  const ports = new Set<number>();
  for (const r of cfg.resources) {
    if (r.kind !== 'Service' || (r.metadata.namespace ?? 'default') !== scope.namespace) continue;
    const spec = (r.spec ?? {}) as K8sServiceSpec;
    if (!spec.selector || !labelsMatch(spec.selector, scope.labels)) continue;
    for (const p of spec.ports ?? []) {
      if (p.protocol?.toUpperCase() === 'UDP') continue;
      const target = typeof p.targetPort === 'number' ? p.targetPort : p.targetPort === undefined ? p.port : undefined;
      if (target) ports.add(target);
    }
  }
  for (const ing of scope.sidecar?.spec?.ingress ?? []) if (ing.port?.number) ports.add(ing.port.number);
  return [...ports].sort((a, b) => a - b);
}

const byName = (a: { name: string }, b: { name: string }) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0);

function generate(index: MeshIndex, cfg: ConfigSnapshot, proxy: ProxyInfo): GeneratedResources {
  const scope = proxyScope(index, proxy.namespace, proxy.labels);
  const meshName = cfg.resources.find((r) => r.kind === 'MeshConfig')?.metadata.name;
  const rule = defaultRuleName(scope, meshName);
  const fallback = fallbackChain(scope, rule);
  const outbound = buildOutboundClusters(index, scope);
  const ol = buildOutboundListeners(scope, outbound.facts, fallback);
  const inPorts = inboundPorts(scope, cfg);
  const listeners = [virtualOutboundListener(fallback), virtualInboundListener(inPorts), ...ol.listeners].sort(byName);
  const clusters = [
    blackHoleCluster(),
    passthroughCluster(),
    ...inPorts.map(inboundCluster),
    ...outbound.clusters,
  ].sort(byName);
  const endpoints = outbound.endpoints.sort((a, b) =>
    a.cluster_name < b.cluster_name ? -1 : a.cluster_name > b.cluster_name ? 1 : 0,
  );
  const result: GeneratedResources = {
    listeners,
    clusters,
    routes: buildRoutes(scope, ol.httpPorts, rule),
    endpoints,
    nameTable: buildNameTable(scope.services, scope.namespace),
    conflicts: ol.conflicts,
    outboundMode: scope.mode,
    audit: scope.audit,
  };
  if (scope.sidecar)
    result.sidecar = `Sidecar/${scope.sidecar.metadata.namespace ?? 'default'}/${scope.sidecar.metadata.name}`;
  return result;
}

/**
 * Generates one proxy's Envoy resources from a snapshot. Throws an error with a `code` when the
 * snapshot holds a value that cannot be translated (e.g. `XDS_INVALID_DURATION`), naming the resource.
 */
export function generateProxyResources(proxy: ProxyInfo, cfg: ConfigSnapshot): GeneratedResources {
  const index = meshIndex(cfg);
  const key = proxyShapeKey(proxy);
  const cached = index.shapeCache.get(key);
  if (cached) return cached;
  const result = generate(index, cfg, proxy);
  index.shapeCache.set(key, result);
  return result;
}
