/**
 * The values the egress decision table produces. Plain data, no I/O: the connection handler
 * consults a decision; it never computes one.
 */

/** What happens to the connection. */
export type EgressVerdict = 'route' | 'passthrough' | 'blackhole' | 'audit-passthrough';

/**
 * What decided, a closed set so metrics can group by it:
 * - `capture-port`: the connection was not redirected (its destination is the capture listener itself);
 * - `no-config`: no configuration received yet (fail closed);
 * - `exact-ip`: a listener or chain for exactly this address (/32, /128) on this port;
 * - `cidr`: the longest matching `prefix_ranges` shorter than a host prefix;
 * - `sni`: a chain matched by TLS server name;
 * - `port-only`: a chain for any address on this port;
 * - `allow-any`: no match, the fallback passes through (ALLOW_ANY);
 * - `registry-only`: no match, the fallback black-holes (REGISTRY_ONLY);
 * - `audit-would-block`: no match, audit mode: would be black-holed, passed through and logged;
 * - `default-chain`: no match, the fallback routes to a named cluster;
 * - `no-filter-chain`: nothing matched and there is no fallback (black hole, like Envoy);
 * - `inbound-passthrough`: inbound connection with no inbound listener configured.
 */
export type EgressReason =
  | 'capture-port'
  | 'no-config'
  | 'exact-ip'
  | 'cidr'
  | 'sni'
  | 'port-only'
  | 'allow-any'
  | 'registry-only'
  | 'audit-would-block'
  | 'default-chain'
  | 'no-filter-chain'
  | 'inbound-passthrough';

export const BLACK_HOLE_CLUSTER = 'BlackHoleCluster';
export const PASSTHROUGH_CLUSTER = 'PassthroughCluster';

/** A filter chain compiled for enforcement. Frozen. */
export interface CompiledChain {
  /** Chain name, or `<listener>#<index>` when unnamed. */
  readonly name: string;
  readonly listener: string;
  /** `tcp` for tcp_proxy, `http` for http_connection_manager. */
  readonly kind: 'tcp' | 'http';
  /** tcp_proxy `cluster`, or the first of `weighted_clusters`; '' for HTTP chains. */
  readonly cluster: string;
  /** tcp_proxy `weighted_clusters` (weights as given), empty when `cluster` is used. */
  readonly weightedClusters: readonly { readonly name: string; readonly weight: number }[];
  /** HTTP chains: the RDS route configuration name. */
  readonly routeConfigName: string;
  /** tcp_proxy idle_timeout in ms (0 = none; Envoy's default 1 h applies when unset). */
  readonly idleTimeoutMs: number;
  /** tcp_proxy max_downstream_connection_duration in ms (0 = none). */
  readonly maxConnectionDurationMs: number;
  /** metadata.filter_metadata["sluice.dev"].rule */
  readonly rule: string | undefined;
  /** true when filter_metadata["sluice.dev"].egressMode is "audit". */
  readonly audit: boolean;
  /** Verdict when this chain is selected. */
  readonly verdict: EgressVerdict;
}

/** The outcome of {@link decideEgress}. Frozen values shared by all connections that hit them. */
export interface EgressDecision {
  readonly verdict: EgressVerdict;
  readonly reason: EgressReason;
  /** The Istio resource behind the decision, when the control plane named it. */
  readonly rule?: string;
  /** Cluster to connect to (see CompiledChain.cluster); BlackHoleCluster for black holes. */
  readonly cluster: string;
  /** The chain that decided, undefined for `capture-port`, `no-config`, `no-filter-chain`. */
  readonly filterChain: CompiledChain | undefined;
  /** true when a fallback (default) chain decided. */
  readonly isDefault: boolean;
}

/** A destination as the decision table sees it. `ip` in any textual form (v4, v6, v4-mapped v6). */
export interface Destination {
  readonly ip: string;
  readonly port: number;
}
