/**
 * The Envoy v3 resources the proxy consumes, in the proto3 JSON mapping that `@sluice/xds`
 * decodes to (snake_case field names, durations as "10s", enums as strings). Only the subset in
 * docs/xds-support.md is typed; the validator rejects anything else before these types are trusted.
 * Objects of these types handed out by the proxy are frozen: never mutate them.
 */

export interface SocketAddress {
  address: string;
  port_value?: number;
  protocol?: 'TCP';
}
export interface Address {
  socket_address: SocketAddress;
}

export interface CidrRange {
  address_prefix: string;
  prefix_len?: number;
}

export interface FilterChainMatch {
  destination_port?: number;
  prefix_ranges?: CidrRange[];
  server_names?: string[];
  transport_protocol?: string;
  application_protocols?: string[];
}

export interface TypedConfig {
  '@type': string;
  [field: string]: unknown;
}

export interface NetworkFilter {
  name: string;
  typed_config?: TypedConfig;
}

export interface WeightedCluster {
  name: string;
  weight?: number;
}

export interface TcpProxyConfig {
  '@type': string;
  stat_prefix?: string;
  cluster?: string;
  weighted_clusters?: { clusters: WeightedCluster[] };
  idle_timeout?: string;
  max_downstream_connection_duration?: string;
  access_log?: unknown[];
}

export interface HttpConnectionManagerConfig {
  '@type': string;
  stat_prefix?: string;
  rds?: { route_config_name: string; config_source?: unknown };
  http_filters?: { name: string; typed_config?: TypedConfig }[];
  access_log?: unknown[];
}

export interface SluiceChainMetadata {
  /** The Istio resource that produced this chain, e.g. "ServiceEntry/default/mysql-external". */
  rule?: string;
  /** "audit": a would-be block that passes through and is logged as such. */
  egressMode?: string;
}

export interface FilterChain {
  name?: string;
  filter_chain_match?: FilterChainMatch;
  filters?: NetworkFilter[];
  metadata?: { filter_metadata?: { 'sluice.dev'?: SluiceChainMetadata; [k: string]: unknown } };
}

export interface Listener {
  name: string;
  address?: Address;
  use_original_dst?: boolean;
  bind_to_port?: boolean;
  traffic_direction?: 'OUTBOUND' | 'INBOUND' | 'UNSPECIFIED';
  filter_chains?: FilterChain[];
  default_filter_chain?: FilterChain;
  listener_filters?: { name: string }[];
}

export interface LbEndpoint {
  endpoint?: { address?: Address };
  load_balancing_weight?: number;
  health_status?: string;
}

export interface ClusterLoadAssignment {
  cluster_name: string;
  endpoints?: { lb_endpoints?: LbEndpoint[]; locality?: unknown }[];
}

export interface CircuitBreakerThresholds {
  max_connections?: number;
  max_pending_requests?: number;
  max_requests?: number;
  max_retries?: number;
}

export interface IstioClusterMetadata {
  services?: { host?: string; name?: string; namespace?: string }[];
  subset?: string;
  config?: string;
}

export type ClusterType = 'STATIC' | 'STRICT_DNS' | 'LOGICAL_DNS' | 'EDS' | 'ORIGINAL_DST';

export interface Cluster {
  name: string;
  type?: ClusterType;
  eds_cluster_config?: { eds_config?: unknown; service_name?: string };
  load_assignment?: ClusterLoadAssignment;
  connect_timeout?: string;
  lb_policy?: 'ROUND_ROBIN' | 'LEAST_REQUEST' | 'RANDOM' | 'CLUSTER_PROVIDED';
  circuit_breakers?: { thresholds?: CircuitBreakerThresholds[] };
  upstream_connection_options?: {
    tcp_keepalive?: { keepalive_probes?: number; keepalive_time?: number; keepalive_interval?: number };
  };
  common_http_protocol_options?: { idle_timeout?: string; max_connection_duration?: string };
  metadata?: { filter_metadata?: { istio?: IstioClusterMetadata; [k: string]: unknown } };
  dns_refresh_rate?: string;
}

export interface HeaderMatcher {
  name: string;
  string_match?: { exact?: string; prefix?: string; safe_regex?: { regex: string } };
  invert_match?: boolean;
}

export interface RouteMatch {
  prefix?: string;
  path?: string;
  safe_regex?: { regex: string };
  case_sensitive?: boolean;
  headers?: HeaderMatcher[];
  query_parameters?: {
    name: string;
    string_match?: { exact?: string; prefix?: string; safe_regex?: { regex: string } };
  }[];
}

export interface HeaderValueOption {
  header: { key: string; value?: string };
  append_action?: string;
}

export interface RouteAction {
  cluster?: string;
  weighted_clusters?: { clusters: WeightedCluster[] };
  timeout?: string;
  retry_policy?: { retry_on?: string; num_retries?: number; per_try_timeout?: string };
  prefix_rewrite?: string;
  host_rewrite_literal?: string;
}

export interface Route {
  name?: string;
  metadata?: { filter_metadata?: Record<string, unknown> };
  match: RouteMatch;
  route?: RouteAction;
  direct_response?: { status: number; body?: { inline_string?: string } };
  request_headers_to_add?: HeaderValueOption[];
  request_headers_to_remove?: string[];
  response_headers_to_add?: HeaderValueOption[];
  response_headers_to_remove?: string[];
  typed_per_filter_config?: Record<string, TypedConfig>;
}

export interface VirtualHost {
  name: string;
  domains: string[];
  routes?: Route[];
}

export interface RouteConfiguration {
  name: string;
  validate_clusters?: boolean;
  virtual_hosts?: VirtualHost[];
}

/** Istio's NDS name table: fully qualified host → addresses. */
export interface NameTable {
  table?: Record<
    string,
    { ips?: string[]; registry?: string; shortname?: string; namespace?: string; alt_hosts?: string[] }
  >;
}

/** Every accepted resource of one snapshot, by name, and the version each type was ACKed at. */
export interface SnapshotResources {
  listeners: Record<string, Listener>;
  clusters: Record<string, Cluster>;
  routes: Record<string, RouteConfiguration>;
  endpoints: Record<string, ClusterLoadAssignment>;
  /** version_info of the last ACKed response per type ("" when applied directly). */
  versions: { listeners: string; clusters: string; routes: string; endpoints: string };
}
