/**
 * The Envoy type URLs the proxy names, as plain strings. The same values as `TypeUrl` in
 * `@sluice/xds` (validate.test.ts checks they agree); kept here so that a proxy without an xDS
 * address never loads gRPC or protobuf (importing `@sluice/xds` loads both).
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
  NameTable: 'type.googleapis.com/istio.networking.nds.v1.NameTable',
} as const;
