/**
 * The admin endpoint (127.0.0.1 only): /ready, /config_dump (Envoy's ConfigDump shape),
 * /clusters, /stats/prometheus, /logging?level=. The Prometheus-only server on 15090 is the same
 * handler restricted to /stats/prometheus.
 */
import type http from 'node:http';
import { LOG_LEVELS, type LogLevel } from '../logger.js';
import { TypeUrl } from '../xds/type-urls.js';

export interface AdminSource {
  /** undefined when ready, otherwise why not. */
  notReadyReason(): string | undefined;
  configDump(): object;
  clustersText(): string;
  clustersJson(): object;
  metrics(): Promise<string>;
  setLogLevel(level: LogLevel): void;
  logLevel(): string;
}

const PROM_CONTENT_TYPE = 'text/plain; version=0.0.4; charset=utf-8';

export function adminHandler(source: AdminSource, statsOnly: boolean): http.RequestListener {
  return (req, res) => {
    const url = new URL(req.url ?? '/', 'http://admin');
    const send = (status: number, body: string, type = 'text/plain; charset=utf-8') => {
      res.writeHead(status, { 'content-type': type });
      res.end(body);
    };
    if (url.pathname === '/stats/prometheus') {
      source.metrics().then(
        (text) => send(200, text, PROM_CONTENT_TYPE),
        (e) => send(500, `${(e as Error).message}\n`),
      );
      return;
    }
    if (statsOnly) return send(404, 'only /stats/prometheus is served here\n');
    switch (url.pathname) {
      case '/ready': {
        const why = source.notReadyReason();
        return why ? send(503, `${why}\n`) : send(200, 'LIVE\n');
      }
      case '/config_dump':
        return send(200, `${JSON.stringify(source.configDump(), null, 2)}\n`, 'application/json');
      case '/clusters':
        return url.searchParams.get('format') === 'json'
          ? send(200, `${JSON.stringify(source.clustersJson(), null, 2)}\n`, 'application/json')
          : send(200, source.clustersText());
      case '/logging': {
        const level = url.searchParams.get('level');
        if (level === null) return send(200, `active level: ${source.logLevel()}\n`);
        if (!LOG_LEVELS.includes(level as LogLevel)) {
          return send(400, `unknown level "${level}"; use one of ${LOG_LEVELS.join(', ')}\n`);
        }
        source.setLogLevel(level as LogLevel);
        return send(200, `active level: ${level}\n`);
      }
      case '/':
        return send(200, '/ready\n/config_dump\n/clusters\n/stats/prometheus\n/logging?level=\n');
      default:
        return send(404, `no such admin path: ${url.pathname}\n`);
    }
  };
}

/** Envoy's admin ConfigDump for the dynamic resources of a snapshot. */
export function buildConfigDump(input: {
  listeners: Record<string, object>;
  clusters: Record<string, object>;
  routes: Record<string, object>;
  endpoints: Record<string, object>;
  versions: { listeners: string; clusters: string; routes: string; endpoints: string };
  lastUpdated: string;
  bootstrap: object;
}): object {
  const withType = (url: string, o: object) => ({ '@type': url, ...o });
  const v = input.versions;
  return {
    configs: [
      { '@type': 'type.googleapis.com/envoy.admin.v3.BootstrapConfigDump', bootstrap: input.bootstrap },
      {
        '@type': 'type.googleapis.com/envoy.admin.v3.ClustersConfigDump',
        version_info: v.clusters,
        dynamic_active_clusters: Object.values(input.clusters).map((c) => ({
          version_info: v.clusters,
          cluster: withType(TypeUrl.Cluster, c),
          last_updated: input.lastUpdated,
        })),
      },
      {
        '@type': 'type.googleapis.com/envoy.admin.v3.ListenersConfigDump',
        version_info: v.listeners,
        dynamic_listeners: Object.values(input.listeners).map((l) => ({
          name: (l as { name: string }).name,
          active_state: {
            version_info: v.listeners,
            listener: withType(TypeUrl.Listener, l),
            last_updated: input.lastUpdated,
          },
        })),
      },
      {
        '@type': 'type.googleapis.com/envoy.admin.v3.RoutesConfigDump',
        dynamic_route_configs: Object.values(input.routes).map((r) => ({
          version_info: v.routes,
          route_config: withType(TypeUrl.RouteConfiguration, r),
          last_updated: input.lastUpdated,
        })),
      },
      {
        '@type': 'type.googleapis.com/envoy.admin.v3.EndpointsConfigDump',
        dynamic_endpoint_configs: Object.values(input.endpoints).map((e) => ({
          version_info: v.endpoints,
          endpoint_config: withType(TypeUrl.ClusterLoadAssignment, e),
          last_updated: input.lastUpdated,
        })),
      },
    ],
  };
}
