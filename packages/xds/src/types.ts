/**
 * Type URLs and the wire shapes of the discovery protocol (state of the world), as the
 * gRPC stream carries them with `keepCase: true`.
 */

export const TypeUrl = {
  Listener: 'type.googleapis.com/envoy.config.listener.v3.Listener',
  Cluster: 'type.googleapis.com/envoy.config.cluster.v3.Cluster',
  RouteConfiguration: 'type.googleapis.com/envoy.config.route.v3.RouteConfiguration',
  ClusterLoadAssignment: 'type.googleapis.com/envoy.config.endpoint.v3.ClusterLoadAssignment',
  TcpProxy: 'type.googleapis.com/envoy.extensions.filters.network.tcp_proxy.v3.TcpProxy',
  HttpConnectionManager:
    'type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager',
  Router: 'type.googleapis.com/envoy.extensions.filters.http.router.v3.Router',
  HTTPFault: 'type.googleapis.com/envoy.extensions.filters.http.fault.v3.HTTPFault',
  OriginalDst: 'type.googleapis.com/envoy.extensions.filters.listener.original_dst.v3.OriginalDst',
  TlsInspector: 'type.googleapis.com/envoy.extensions.filters.listener.tls_inspector.v3.TlsInspector',
  HttpInspector: 'type.googleapis.com/envoy.extensions.filters.listener.http_inspector.v3.HttpInspector',
  StdoutAccessLog: 'type.googleapis.com/envoy.extensions.access_loggers.stream.v3.StdoutAccessLog',
  /** Istio's DNS name table (NDS); Sluice proxies subscribe to it for their DNS answerer. */
  NameTable: 'type.googleapis.com/istio.networking.nds.v1.NameTable',
} as const;

/** The four resource types a Sluice proxy subscribes to, in the order Envoy requests them. */
export const resourceTypes = [
  TypeUrl.Cluster,
  TypeUrl.ClusterLoadAssignment,
  TypeUrl.Listener,
  TypeUrl.RouteConfiguration,
] as const;
export type ResourceTypeUrl = (typeof resourceTypes)[number];

/** Short names used in CLIs and logs. */
export const shortTypeName: Record<ResourceTypeUrl, 'clusters' | 'endpoints' | 'listeners' | 'routes'> = {
  [TypeUrl.Cluster]: 'clusters',
  [TypeUrl.ClusterLoadAssignment]: 'endpoints',
  [TypeUrl.Listener]: 'listeners',
  [TypeUrl.RouteConfiguration]: 'routes',
};

/** `google.protobuf.Any` as carried on the wire. */
export interface AnyMessage {
  type_url: string;
  value: Buffer | Uint8Array;
}

/** envoy.config.core.v3.Node (the subset Sluice reads). */
export interface XdsNode {
  id: string;
  cluster?: string;
  /** google.protobuf.Struct as decoded by proto-loader: { fields: { key: { stringValue | structValue ... } } } */
  metadata?: unknown;
  user_agent_name?: string;
}

export interface DiscoveryRequest {
  version_info?: string;
  node?: XdsNode;
  resource_names?: string[];
  type_url: string;
  response_nonce?: string;
  error_detail?: { code?: number; message?: string } | null;
}

export interface DiscoveryResponse {
  version_info: string;
  resources: AnyMessage[];
  type_url: string;
  nonce: string;
}
