/** Builders for the Envoy resources tests feed the proxy (the shapes docs/xds-support.md describes). */

import type { Cluster, FilterChain, FilterChainMatch, Listener } from '../xds/resources.js';
import { TypeUrl } from '../xds/type-urls.js';

export function tcpChain(
  cluster: string,
  match: FilterChainMatch = {},
  extra: {
    name?: string;
    rule?: string;
    audit?: boolean;
    idle_timeout?: string;
    max_duration?: string;
    weighted?: { name: string; weight: number }[];
  } = {},
): FilterChain {
  const tcp: Record<string, unknown> = { '@type': TypeUrl.TcpProxy, stat_prefix: cluster };
  if (extra.weighted) tcp['weighted_clusters'] = { clusters: extra.weighted };
  else tcp['cluster'] = cluster;
  if (extra.idle_timeout) tcp['idle_timeout'] = extra.idle_timeout;
  if (extra.max_duration) tcp['max_downstream_connection_duration'] = extra.max_duration;
  const meta: Record<string, string> = {};
  if (extra.rule) meta['rule'] = extra.rule;
  if (extra.audit) meta['egressMode'] = 'audit';
  return {
    ...(extra.name ? { name: extra.name } : {}),
    ...(Object.keys(match).length ? { filter_chain_match: match } : {}),
    filters: [{ name: 'envoy.filters.network.tcp_proxy', typed_config: tcp as never }],
    ...(Object.keys(meta).length ? { metadata: { filter_metadata: { 'sluice.dev': meta } } } : {}),
  };
}

export function httpChain(routeConfigName: string, match: FilterChainMatch = {}): FilterChain {
  return {
    ...(Object.keys(match).length ? { filter_chain_match: match } : {}),
    filters: [
      {
        name: 'envoy.filters.network.http_connection_manager',
        typed_config: {
          '@type': TypeUrl.HttpConnectionManager,
          stat_prefix: routeConfigName,
          rds: { route_config_name: routeConfigName, config_source: { ads: {} } },
          http_filters: [{ name: 'envoy.filters.http.router', typed_config: { '@type': TypeUrl.Router } }],
        },
      },
    ],
  };
}

export function portListener(
  address: string,
  port: number,
  chains: FilterChain[],
  defaultChain?: FilterChain,
): Listener {
  return {
    name: `${address}_${port}`,
    address: { socket_address: { address, port_value: port } },
    bind_to_port: false,
    traffic_direction: 'OUTBOUND',
    filter_chains: chains,
    ...(defaultChain ? { default_filter_chain: defaultChain } : {}),
  };
}

export type Mode = 'ALLOW_ANY' | 'REGISTRY_ONLY' | 'AUDIT';

export function virtualOutbound(mode: Mode, port = 15001): Listener {
  const fallback =
    mode === 'REGISTRY_ONLY'
      ? tcpChain('BlackHoleCluster', {}, { name: 'virtualOutbound-blackhole-default' })
      : tcpChain('PassthroughCluster', {}, { name: 'virtualOutbound-catchall-tcp', audit: mode === 'AUDIT' });
  return {
    name: 'virtualOutbound',
    address: { socket_address: { address: '0.0.0.0', port_value: port } },
    use_original_dst: true,
    traffic_direction: 'OUTBOUND',
    filter_chains: [tcpChain('BlackHoleCluster', { destination_port: port }, { name: 'virtualOutbound-blackhole' })],
    default_filter_chain: fallback,
  };
}

export function staticCluster(
  name: string,
  endpoints: { address: string; port: number }[],
  extra: Partial<Cluster> = {},
): Cluster {
  return {
    name,
    type: 'STATIC',
    connect_timeout: '10s',
    load_assignment: {
      cluster_name: name,
      endpoints: [
        {
          lb_endpoints: endpoints.map((e) => ({
            endpoint: { address: { socket_address: { address: e.address, port_value: e.port } } },
          })),
        },
      ],
    },
    ...extra,
  };
}

export function originalDstCluster(name: string, extra: Partial<Cluster> = {}): Cluster {
  return { name, type: 'ORIGINAL_DST', lb_policy: 'CLUSTER_PROVIDED', connect_timeout: '10s', ...extra };
}

export const passthroughCluster = (): Cluster => originalDstCluster('PassthroughCluster');
export const blackHoleCluster = (): Cluster => ({
  name: 'BlackHoleCluster',
  type: 'STATIC',
  connect_timeout: '10s',
  load_assignment: { cluster_name: 'BlackHoleCluster' },
});
