/**
 * Outbound clusters (`outbound|<port>|<subset>|<host>`), the two named defaults
 * (`BlackHoleCluster`, `PassthroughCluster`) and inbound clusters (`inbound|<port>||`), with
 * DestinationRule traffic policy applied as istiod does. Pure.
 */
import type { DestinationRuleSpec, Resource, TrafficPolicy, WorkloadEntrySpec } from '@sluice/config';
import { durationSeconds, protoDuration } from './duration.js';
import type { MeshIndex, WorkloadInstance } from './mesh-index.js';
import { labelsMatch, type MeshPort, type MeshService } from './mesh-services.js';
import { destinationRuleFor, type ProxyScope } from './proxy-scope.js';
import type { EnvoyLoadAssignment, NamedEnvoyResource } from './types.js';

export const BLACK_HOLE_CLUSTER = 'BlackHoleCluster';
export const PASSTHROUGH_CLUSTER = 'PassthroughCluster';

/** Istio's default thresholds for outbound clusters: effectively no limit (max uint32). */
export const UNLIMITED_THRESHOLDS: Readonly<Record<string, number>> = {
  max_connections: 4294967295,
  max_pending_requests: 4294967295,
  max_requests: 4294967295,
  max_retries: 4294967295,
};
const DEFAULT_CONNECT_TIMEOUT = '10s';

export function outboundClusterName(port: number, subset: string | undefined, host: string): string {
  return `outbound|${port}|${subset ?? ''}|${host}`;
}

export function inboundClusterName(port: number): string {
  return `inbound|${port}||`;
}

/** Per outbound cluster, what the listener's tcp_proxy takes from the traffic policy. */
export interface ClusterFacts {
  service: MeshService;
  port: MeshPort;
  subset?: string;
  tcpIdleTimeout?: string;
  maxConnectionDuration?: string;
}

export interface OutboundClusters {
  clusters: NamedEnvoyResource[];
  endpoints: EnvoyLoadAssignment[];
  facts: Map<string, ClusterFacts>;
}

function mergePolicy(base: TrafficPolicy | undefined, over: TrafficPolicy | undefined): TrafficPolicy {
  const out: TrafficPolicy = { ...(base ?? {}) };
  if (!over) return out;
  if (over.loadBalancer) out.loadBalancer = over.loadBalancer;
  if (over.outlierDetection) out.outlierDetection = over.outlierDetection;
  if (over.tls) out.tls = over.tls;
  if (over.connectionPool) {
    out.connectionPool = {
      tcp: { ...(base?.connectionPool?.tcp ?? {}), ...(over.connectionPool.tcp ?? {}) },
      http: { ...(base?.connectionPool?.http ?? {}), ...(over.connectionPool.http ?? {}) },
    };
  }
  return out;
}

/** The policy for one port (top level, then port-level settings, then the subset's own). */
export function effectivePolicy(dr: DestinationRuleSpec | undefined, port: number, subset?: string): TrafficPolicy {
  const forPort = (p: TrafficPolicy | undefined): TrafficPolicy =>
    mergePolicy(
      p,
      p?.portLevelSettings?.find((s) => s.port?.number === port),
    );
  let policy = forPort(dr?.trafficPolicy);
  const sub = subset ? dr?.subsets?.find((s) => s.name === subset) : undefined;
  if (sub?.trafficPolicy) policy = mergePolicy(policy, forPort(sub.trafficPolicy));
  delete policy.portLevelSettings;
  return policy;
}

function lbPolicy(policy: TrafficPolicy): string {
  switch (policy.loadBalancer?.simple) {
    case 'LEAST_REQUEST':
    case 'LEAST_CONN':
      return 'LEAST_REQUEST';
    case 'RANDOM':
      return 'RANDOM';
    default:
      return 'ROUND_ROBIN';
  }
}

function socketEndpoint(address: string, port: number, weight?: number): Record<string, unknown> {
  const ep: Record<string, unknown> = {
    endpoint: { address: { socket_address: { address, port_value: port } } },
    health_status: 'HEALTHY',
  };
  if (weight) ep.load_balancing_weight = weight;
  return ep;
}

function loadAssignment(clusterName: string, lbEndpoints: Record<string, unknown>[]): EnvoyLoadAssignment {
  return lbEndpoints.length > 0
    ? { cluster_name: clusterName, endpoints: [{ lb_endpoints: lbEndpoints }] }
    : { cluster_name: clusterName };
}

function workloadPort(svc: MeshService, port: MeshPort, w: { namedPorts: Record<string, number> }): number | undefined {
  const byName = w.namedPorts[port.name];
  if (svc.kind === 'ServiceEntry')
    return byName ?? (typeof port.targetPort === 'number' ? port.targetPort : port.number);
  if (typeof port.targetPort === 'string') return w.namedPorts[port.targetPort];
  return port.targetPort ?? port.number;
}

function sortEndpoints(list: Record<string, unknown>[]): Record<string, unknown>[] {
  const key = (e: Record<string, unknown>) => {
    const sa = (e.endpoint as { address: { socket_address: { address: string; port_value: number } } }).address
      .socket_address;
    return `${sa.address}:${sa.port_value}`;
  };
  return list.sort((a, b) => (key(a) < key(b) ? -1 : key(a) > key(b) ? 1 : 0));
}

function selectedWorkloads(
  index: MeshIndex,
  svc: MeshService,
  subsetLabels: Record<string, string> | undefined,
): WorkloadInstance[] {
  if (!svc.selector) return [];
  return (index.workloadsByNamespace.get(svc.namespace) ?? []).filter(
    (w) => labelsMatch(svc.selector, w.labels) && labelsMatch(subsetLabels, w.labels),
  );
}

function inlineEndpoints(svc: MeshService, port: MeshPort, subsetLabels: Record<string, string> | undefined) {
  const eps: WorkloadEntrySpec[] = svc.endpoints ?? [];
  const out: Record<string, unknown>[] = [];
  for (const e of eps) {
    if (!e.address || !labelsMatch(subsetLabels, e.labels ?? {})) continue;
    const p = workloadPort(svc, port, { namedPorts: e.ports ?? {} });
    if (p) out.push(socketEndpoint(e.address, p, e.weight));
  }
  if (out.length === 0 && (svc.resolution === 'DNS' || svc.resolution === 'DNS_ROUND_ROBIN') && eps.length === 0) {
    out.push(socketEndpoint(svc.hostname, typeof port.targetPort === 'number' ? port.targetPort : port.number));
  }
  return sortEndpoints(out);
}

function drConfigPath(dr: Resource<DestinationRuleSpec>): string {
  return `/apis/networking.istio.io/v1alpha3/namespaces/${dr.metadata.namespace ?? 'default'}/destination-rule/${dr.metadata.name}`;
}

function buildCluster(
  index: MeshIndex,
  svc: MeshService,
  port: MeshPort,
  dr: Resource<DestinationRuleSpec> | undefined,
  subset: { name: string; labels?: Record<string, string> } | undefined,
  out: OutboundClusters,
): void {
  const name = outboundClusterName(port.number, subset?.name, svc.hostname);
  const where = dr ? `DestinationRule/${dr.metadata.namespace ?? 'default'}/${dr.metadata.name}` : name;
  const policy = effectivePolicy(dr?.spec, port.number, subset?.name);
  const tcp = policy.connectionPool?.tcp ?? {};
  const http = policy.connectionPool?.http ?? {};
  const cluster: NamedEnvoyResource = {
    name,
    connect_timeout: protoDuration(tcp.connectTimeout ?? DEFAULT_CONNECT_TIMEOUT, `${where}: connectTimeout`),
  };
  const passthroughLb = policy.loadBalancer?.simple === 'PASSTHROUGH';
  if (svc.resolution === 'NONE' || passthroughLb) {
    cluster.type = 'ORIGINAL_DST';
    cluster.lb_policy = 'CLUSTER_PROVIDED';
  } else if (svc.resolution === 'EDS' || (svc.resolution === 'STATIC' && svc.selector)) {
    cluster.type = 'EDS';
    cluster.eds_cluster_config = { eds_config: { ads: {}, resource_api_version: 'V3' }, service_name: name };
    cluster.lb_policy = lbPolicy(policy);
    const eps = selectedWorkloads(index, svc, subset?.labels).flatMap((w) => {
      const p = workloadPort(svc, port, w);
      return p ? [socketEndpoint(w.address, p, w.weight)] : [];
    });
    out.endpoints.push(loadAssignment(name, sortEndpoints(eps)));
  } else {
    cluster.type = svc.resolution === 'STATIC' ? 'STATIC' : svc.resolution === 'DNS' ? 'STRICT_DNS' : 'LOGICAL_DNS';
    cluster.lb_policy = lbPolicy(policy);
    cluster.load_assignment = loadAssignment(name, inlineEndpoints(svc, port, subset?.labels));
  }
  // Like Istio: no circuit breaking unless a DestinationRule asks for it (Envoy's own default
  // would cap every service at 1,024 connections).
  const thresholds: Record<string, number> = { ...UNLIMITED_THRESHOLDS };
  if (tcp.maxConnections) thresholds.max_connections = tcp.maxConnections;
  if (http.http1MaxPendingRequests) thresholds.max_pending_requests = http.http1MaxPendingRequests;
  if (http.http2MaxRequests) thresholds.max_requests = http.http2MaxRequests;
  if (http.maxRetries) thresholds.max_retries = http.maxRetries;
  cluster.circuit_breakers = { thresholds: [thresholds] };
  if (tcp.tcpKeepalive) {
    const ka: Record<string, number> = {};
    if (tcp.tcpKeepalive.probes) ka.keepalive_probes = tcp.tcpKeepalive.probes;
    if (tcp.tcpKeepalive.time)
      ka.keepalive_time = durationSeconds(tcp.tcpKeepalive.time, `${where}: tcpKeepalive.time`);
    if (tcp.tcpKeepalive.interval) {
      ka.keepalive_interval = durationSeconds(tcp.tcpKeepalive.interval, `${where}: tcpKeepalive.interval`);
    }
    cluster.upstream_connection_options = { tcp_keepalive: ka };
  }
  const httpOpts: Record<string, string> = {};
  if (http.idleTimeout) httpOpts.idle_timeout = protoDuration(http.idleTimeout, `${where}: http.idleTimeout`);
  if (tcp.maxConnectionDuration) {
    httpOpts.max_connection_duration = protoDuration(tcp.maxConnectionDuration, `${where}: tcp.maxConnectionDuration`);
  }
  if (Object.keys(httpOpts).length > 0 && port.kind === 'http') cluster.common_http_protocol_options = httpOpts;
  const istio: Record<string, unknown> = {
    services: [
      { host: svc.hostname, name: svc.kind === 'Service' ? svc.name : svc.hostname, namespace: svc.namespace },
    ],
  };
  if (subset) istio.subset = subset.name;
  if (dr) istio.config = drConfigPath(dr);
  cluster.metadata = { filter_metadata: { istio } };
  out.clusters.push(cluster);
  const facts: ClusterFacts = { service: svc, port };
  if (subset) facts.subset = subset.name;
  facts.tcpIdleTimeout = protoDuration(tcp.idleTimeout ?? '1h', `${where}: tcp.idleTimeout`);
  if (tcp.maxConnectionDuration) facts.maxConnectionDuration = httpOpts.max_connection_duration ?? '';
  out.facts.set(name, facts);
}

/** What one service port contributes: its clusters (default, then subsets), assignments and facts. */
interface PortClusters {
  clusters: NamedEnvoyResource[];
  endpoints: EnvoyLoadAssignment[];
  facts: [string, ClusterFacts][];
}

const NO_RULE = {};
/**
 * Clusters of services whose output depends only on the service and its DestinationRule (every
 * service without a workload selector: its endpoints come from the entry itself). Keyed by the
 * MeshService object, which stays the same while its resource does, then by the rule object and port.
 */
const portClusterMemo = new WeakMap<MeshService, WeakMap<object, Map<MeshPort, PortClusters>>>();

function portClusters(
  index: MeshIndex,
  svc: MeshService,
  port: MeshPort,
  dr: Resource<DestinationRuleSpec> | undefined,
): PortClusters {
  const memoable = !svc.selector;
  let byRule = memoable ? portClusterMemo.get(svc) : undefined;
  const known = byRule?.get(dr ?? NO_RULE)?.get(port);
  if (known) return known;
  const out: OutboundClusters = { clusters: [], endpoints: [], facts: new Map() };
  buildCluster(index, svc, port, dr, undefined, out);
  for (const subset of dr?.spec?.subsets ?? []) buildCluster(index, svc, port, dr, subset, out);
  const built: PortClusters = { clusters: out.clusters, endpoints: out.endpoints, facts: [...out.facts] };
  if (memoable) {
    if (!byRule) {
      byRule = new WeakMap();
      portClusterMemo.set(svc, byRule);
    }
    let byPort = byRule.get(dr ?? NO_RULE);
    if (!byPort) {
      byPort = new Map();
      byRule.set(dr ?? NO_RULE, byPort);
    }
    byPort.set(port, built);
  }
  return built;
}

/** Every outbound cluster (and EDS assignment) for the services in scope. */
export function buildOutboundClusters(index: MeshIndex, scope: ProxyScope): OutboundClusters {
  const out: OutboundClusters = { clusters: [], endpoints: [], facts: new Map() };
  const seen = new Set<string>();
  for (const svc of scope.services) {
    const dr = destinationRuleFor(scope, index.rootNamespace, svc);
    for (const port of svc.ports) {
      if (port.kind === 'udp') continue;
      const name = outboundClusterName(port.number, undefined, svc.hostname);
      if (seen.has(name)) continue; // same host from an older entry wins
      seen.add(name);
      const built = portClusters(index, svc, port, dr);
      for (const c of built.clusters) out.clusters.push(c);
      for (const e of built.endpoints) out.endpoints.push(e);
      for (const [n, f] of built.facts) out.facts.set(n, f);
    }
  }
  return out;
}

const BLACK_HOLE: NamedEnvoyResource = {
  name: BLACK_HOLE_CLUSTER,
  type: 'STATIC',
  connect_timeout: DEFAULT_CONNECT_TIMEOUT,
};
const PASSTHROUGH: NamedEnvoyResource = {
  name: PASSTHROUGH_CLUSTER,
  type: 'ORIGINAL_DST',
  lb_policy: 'CLUSTER_PROVIDED',
  connect_timeout: DEFAULT_CONNECT_TIMEOUT,
  circuit_breakers: { thresholds: [UNLIMITED_THRESHOLDS] },
};

/** The shared BlackHoleCluster object (do not mutate). */
export function blackHoleCluster(): NamedEnvoyResource {
  return BLACK_HOLE;
}

/** The shared PassthroughCluster object (do not mutate). */
export function passthroughCluster(): NamedEnvoyResource {
  return PASSTHROUGH;
}

const inboundClusters = new Map<number, NamedEnvoyResource>();

/** The inbound cluster of a workload port; one shared object per port (do not mutate). */
export function inboundCluster(port: number): NamedEnvoyResource {
  let c = inboundClusters.get(port);
  if (!c) {
    const name = inboundClusterName(port);
    c = {
      name,
      type: 'STATIC',
      connect_timeout: DEFAULT_CONNECT_TIMEOUT,
      lb_policy: 'ROUND_ROBIN',
      load_assignment: loadAssignment(name, [socketEndpoint('127.0.0.1', port)]),
    };
    inboundClusters.set(port, c);
  }
  return c;
}
