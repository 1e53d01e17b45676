/**
 * The translation entry point: a proxy and a config snapshot in, that proxy's Envoy resources out,
 * the way istiod builds them. Pure and deterministic. The snapshot is compiled once (cached per
 * snapshot object) and the result is cached per proxy shape (namespace + labels), so a thousand
 * proxies of a few shapes cost a few generations; shapes that differ only in their workload ports
 * share one outbound generation, and unchanged services reuse their clusters and port listeners from
 * the previous snapshot. Returned objects are shared: do not mutate.
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
import type {
  ConfigSnapshot,
  EnvoyLoadAssignment,
  GeneratedResources,
  NamedEnvoyResource,
  NameTable,
  PortConflict,
  ProxyInfo,
} from './types.js';

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

/**
 * `[...few, ...sorted].sort(byName)` in linear time: `sorted` is already in name order and `few`
 * is short. On equal names the element of `few` comes first, as the stable sort would place it.
 */
function mergeByName<T extends { name: string }>(few: T[], sorted: readonly T[]): T[] {
  const head = [...few].sort(byName);
  const out: T[] = [];
  let i = 0;
  for (const item of sorted) {
    while (i < head.length && byName(head[i]!, item) <= 0) out.push(head[i++]!);
    out.push(item);
  }
  while (i < head.length) out.push(head[i++]!);
  return out;
}

/** Everything a proxy gets that does not depend on its own workload ports. */
interface OutboundConfig {
  listeners: NamedEnvoyResource[];
  virtualOutbound: NamedEnvoyResource;
  clusters: NamedEnvoyResource[];
  routes: NamedEnvoyResource[];
  endpoints: EnvoyLoadAssignment[];
  nameTable: NameTable;
  conflicts: PortConflict[];
}

/** Whether any VirtualService in scope matches on source labels (then labels shape the outbound config). */
function readsSourceLabels(scope: ProxyScope): boolean {
  for (const vs of scope.virtualServices) {
    const spec = vs.spec;
    for (const rule of [...(spec?.http ?? []), ...(spec?.tcp ?? []), ...(spec?.tls ?? [])]) {
      for (const m of (rule.match ?? []) as { sourceLabels?: unknown }[]) if (m.sourceLabels) return true;
    }
  }
  return false;
}

/**
 * What the outbound config of a scope depends on besides the snapshot: namespace, Sidecar, mode,
 * audit, the workload-selected DestinationRules, and the labels only when a VirtualService matches
 * on them. Shapes with the same key get the same outbound objects.
 */
function outboundKey(scope: ProxyScope, rule: string): string {
  const selectedRules = scope.destinationRules
    .filter((dr) => dr.spec?.workloadSelector?.labels)
    .map((dr) => `${dr.metadata.namespace ?? 'default'}/${dr.metadata.name}`);
  const labels = readsSourceLabels(scope) ? Object.entries(scope.labels).sort() : null;
  return JSON.stringify([
    scope.namespace,
    scope.sidecar ? `${scope.sidecar.metadata.namespace ?? 'default'}/${scope.sidecar.metadata.name}` : null,
    rule,
    scope.mode,
    scope.audit,
    selectedRules,
    labels,
  ]);
}

function outbound(index: MeshIndex, scope: ProxyScope, rule: string): OutboundConfig {
  const key = outboundKey(scope, rule);
  const known = index.outboundCache.get(key) as OutboundConfig | undefined;
  if (known) return known;
  const fallback = fallbackChain(scope, rule);
  const oc = buildOutboundClusters(index, scope);
  const ol = buildOutboundListeners(scope, oc.facts, fallback);
  const built: OutboundConfig = {
    listeners: [...ol.listeners].sort(byName),
    virtualOutbound: virtualOutboundListener(fallback),
    clusters: [...oc.clusters].sort(byName),
    routes: buildRoutes(scope, ol.httpPorts, rule),
    endpoints: oc.endpoints.sort((a, b) =>
      a.cluster_name < b.cluster_name ? -1 : a.cluster_name > b.cluster_name ? 1 : 0,
    ),
    nameTable: buildNameTable(scope.services, scope.namespace),
    conflicts: ol.conflicts,
  };
  index.outboundCache.set(key, built);
  return built;
}

function generate(index: MeshIndex, cfg: ConfigSnapshot, proxy: ProxyInfo): GeneratedResources {
  const scope = proxyScope(index, proxy.namespace, proxy.labels);
  const meshName = cfg.resources.find((r) => r.kind === 'MeshConfig')?.metadata.name;
  const rule = defaultRuleName(scope, meshName);
  const out = outbound(index, scope, rule);
  const inPorts = inboundPorts(scope, cfg);
  const ownListeners = [out.virtualOutbound, virtualInboundListener(inPorts)].sort(byName);
  const ownClusters = [blackHoleCluster(), passthroughCluster(), ...inPorts.map(inboundCluster)].sort(byName);
  const listeners = mergeByName(ownListeners, out.listeners);
  const clusters = mergeByName(ownClusters, out.clusters);
  const result: GeneratedResources = {
    listeners,
    clusters,
    routes: out.routes,
    endpoints: out.endpoints,
    nameTable: out.nameTable,
    conflicts: out.conflicts,
    outboundMode: scope.mode,
    audit: scope.audit,
    parts: {
      listeners: { own: ownListeners, shared: out.listeners },
      clusters: { own: ownClusters, shared: out.clusters },
    },
  };
  if (scope.sidecar)
    result.sidecar = `Sidecar/${scope.sidecar.metadata.namespace ?? 'default'}/${scope.sidecar.metadata.name}`;
  return result;
}

/** Shape keys by proxy object (a proxy's namespace and labels do not change while it is connected). */
const shapeKeys = new WeakMap<ProxyInfo, { namespace: string; labels: ProxyInfo['labels']; key: string }>();

function shapeKeyOf(proxy: ProxyInfo): string {
  const known = shapeKeys.get(proxy);
  if (known && known.namespace === proxy.namespace && known.labels === proxy.labels) return known.key;
  const key = proxyShapeKey(proxy);
  shapeKeys.set(proxy, { namespace: proxy.namespace, labels: proxy.labels, key });
  return key;
}

/**
 * Generates one proxy's Envoy resources from a snapshot. Throws an error with a `code` when the
 * snapshot holds a value that cannot be translated (e.g. `XDS_INVALID_DURATION`), naming the resource.
 */
export function generateProxyResources(proxy: ProxyInfo, cfg: ConfigSnapshot): GeneratedResources {
  const index = meshIndex(cfg);
  const key = shapeKeyOf(proxy);
  const cached = index.shapeCache.get(key);
  if (cached) return cached;
  const result = generate(index, cfg, proxy);
  index.shapeCache.set(key, result);
  return result;
}
