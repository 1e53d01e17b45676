/**
 * Inputs and outputs of the translation from Istio resources to Envoy v3 resources.
 * Everything here is plain JSON data. Objects handed out by the translator are shared between
 * proxies of the same shape and between calls: callers must treat them as immutable.
 */
import type { Resource } from '@sluice/config';

/** Every stored resource the translation reads, at one store revision. Treat as immutable. */
export interface ConfigSnapshot {
  /** Opaque store revision this snapshot reflects ("0" when it does not come from a store). */
  readonly revision: string;
  readonly resources: readonly Resource[];
}

/** What the control plane knows about one connected proxy, taken from its xDS Node. */
export interface ProxyInfo {
  /** The node id, `sidecar~<ip>~<pod>.<ns>~<ns>.svc.cluster.local`. */
  id: string;
  /** `sidecar` for workload proxies. */
  type: string;
  ips: string[];
  /** Pod (replica) name. */
  podName: string;
  namespace: string;
  labels: Record<string, string>;
  serviceAccount?: string;
  workloadName?: string;
}

/** An Envoy resource in the proto3 JSON mapping (snake_case field names), as `@sluice/xds` encodes it. */
export type EnvoyObject = Record<string, unknown>;

/** A Listener, Cluster, RouteConfiguration: identified by `name`. */
export interface NamedEnvoyResource extends EnvoyObject {
  name: string;
}

/** A ClusterLoadAssignment: identified by `cluster_name`. */
export interface EnvoyLoadAssignment extends EnvoyObject {
  cluster_name: string;
}

/** Istio's NDS resource (`istio.networking.nds.v1.NameTable`). */
export interface NameTable {
  table: Record<
    string,
    { ips: string[]; registry: string; shortname?: string; namespace?: string; alt_hosts?: string[] }
  >;
}

export type OutboundMode = 'ALLOW_ANY' | 'REGISTRY_ONLY';

/** Why a service lost its place on a shared port. */
export type PortConflictReason = 'tcp-over-tcp' | 'http-over-tcp';

/** A service that Istio would silently drop from a port; Sluice reports it. */
export interface PortConflict {
  reason: PortConflictReason;
  port: number;
  /** The entry that keeps the port. */
  winner: { kind: string; namespace: string; name: string; host: string };
  /** The entry whose port is not served: its connections fall to the default (passthrough/black hole). */
  loser: { kind: string; namespace: string; name: string; host: string };
  message: string;
}

/** The Envoy resources of one proxy, plus what generating them revealed. */
export interface GeneratedResources {
  listeners: NamedEnvoyResource[];
  clusters: NamedEnvoyResource[];
  routes: NamedEnvoyResource[];
  endpoints: EnvoyLoadAssignment[];
  nameTable: NameTable;
  /** Shared-port conflicts among the services this proxy sees. */
  conflicts: PortConflict[];
  /** The outbound mode that applies to this proxy, and whether it runs in audit mode. */
  outboundMode: OutboundMode;
  audit: boolean;
  /** `Sidecar/<ns>/<name>` that scoped this proxy, if any. */
  sidecar?: string;
  /**
   * How `listeners` and `clusters` were built: the proxy's `own` few merged by name into a `shared`
   * array (in name order, held by every proxy shape with the same outbound config; on equal names
   * `own` comes first), so encodings of the shared part are made once per snapshot.
   */
  parts?: { listeners: ResourceParts; clusters: ResourceParts };
}

/** A sorted resource array as a few resources of one proxy merged into a shared sorted array. */
export interface ResourceParts {
  own: readonly NamedEnvoyResource[];
  shared: readonly NamedEnvoyResource[];
}
