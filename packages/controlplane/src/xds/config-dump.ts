/** Envoy-admin-like config dump of what the server sent to one proxy (for `sluice proxy-config`). */
import { TypeUrl } from '@sluice/xds';
import type { XdsStream } from './xds-stream.js';

const DUMP = 'type.googleapis.com/envoy.admin.v3.';

export function configDump(stream: XdsStream): Record<string, unknown> {
  const sent = stream.sent();
  const typed = (url: string, json: Record<string, unknown>) => ({ '@type': url, ...json });
  const cds = sent.get(TypeUrl.Cluster);
  const lds = sent.get(TypeUrl.Listener);
  const rds = sent.get(TypeUrl.RouteConfiguration);
  const eds = sent.get(TypeUrl.ClusterLoadAssignment);
  const nds = sent.get(TypeUrl.NameTable);
  const status = stream.status();
  return {
    node: { id: stream.id, namespace: status.namespace, pod: status.podName, connected_since: status.connectedSince },
    configs: [
      {
        '@type': `${DUMP}ClustersConfigDump`,
        version_info: cds?.version ?? '',
        dynamic_active_clusters: (cds?.items ?? []).map((i) => ({
          version_info: cds?.version,
          cluster: typed(TypeUrl.Cluster, i.json),
          last_updated: cds?.at,
        })),
      },
      {
        '@type': `${DUMP}ListenersConfigDump`,
        version_info: lds?.version ?? '',
        dynamic_listeners: (lds?.items ?? []).map((i) => ({
          name: i.name,
          active_state: {
            version_info: lds?.version,
            listener: typed(TypeUrl.Listener, i.json),
            last_updated: lds?.at,
          },
        })),
      },
      {
        '@type': `${DUMP}RoutesConfigDump`,
        dynamic_route_configs: (rds?.items ?? []).map((i) => ({
          version_info: rds?.version,
          route_config: typed(TypeUrl.RouteConfiguration, i.json),
          last_updated: rds?.at,
        })),
      },
      {
        '@type': `${DUMP}EndpointsConfigDump`,
        dynamic_endpoint_configs: (eds?.items ?? []).map((i) => ({
          version_info: eds?.version,
          endpoint_config: typed(TypeUrl.ClusterLoadAssignment, i.json),
          last_updated: eds?.at,
        })),
      },
      {
        '@type': TypeUrl.NameTable,
        version_info: nds?.version ?? '',
        // One item holding the whole table (state of the world) or one item per host (delta).
        table: Object.assign({}, ...(nds?.items ?? []).map((i) => (i.json as { table?: object }).table ?? {})),
      },
    ],
    status,
  };
}
