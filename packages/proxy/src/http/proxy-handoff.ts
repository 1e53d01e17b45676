/**
 * The entry point the proxy calls: adapts its `HttpHandoff` (../handoff.ts) to the router's
 * {@link HttpRouterContext}: compiles the listener's RouteConfiguration (once per snapshot object),
 * wraps the snapshot's ClusterView, and turns each finished request into an access-log entry and
 * Istio's request metrics.
 */
import type net from 'node:net';
import type { HttpHandoff } from '../handoff.js';
import type { AccessLogEntry } from '../observability/access-log.js';
import { compileRouteConfiguration } from './compile.js';
import type {
  HttpAccessLogRecord,
  HttpCluster,
  HttpRequestSample,
  HttpRouterContext,
  HttpServerLimits,
} from './router-context.js';
import { serveWithContext } from './serve.js';
import type { CompiledRoutes } from './types.js';
import { defaultUpstreamPools } from './upstream-pools.js';

const compiled = new WeakMap<object, CompiledRoutes | Error>();

/** The compiled form of a RouteConfiguration object, cached for as long as the object lives. */
function compiledRoutes(rc: object | undefined): CompiledRoutes | Error | undefined {
  if (!rc) return undefined;
  let c = compiled.get(rc);
  if (!c) {
    try {
      c = compileRouteConfiguration(rc);
    } catch (e) {
      c = e as Error;
    }
    compiled.set(rc, c);
  }
  return c;
}

function clusterTable(h: HttpHandoff): HttpRouterContext['clusters'] {
  const view = h.clusters;
  const cache = new Map<string, HttpCluster>();
  return {
    get(name) {
      if (!view.clusterExists(name)) return undefined;
      let c = cache.get(name);
      if (!c) {
        c = {
          name,
          pickEndpoint: () => view.pickEndpoint(name, h.originalDst),
          connectTimeoutMs: view.connectTimeoutMs(name),
          acquireConnection: () => view.acquireConnection(name),
        };
        cache.set(name, c);
      }
      return c;
    },
  };
}

function toAccessLogEntry(h: HttpHandoff, r: HttpAccessLogRecord): AccessLogEntry {
  return {
    ...h.logBase,
    start_time: r.startTime.toISOString(),
    response_flags: r.responseFlags,
    response_code_details: r.responseCodeDetails,
    bytes_received: r.bytesReceived,
    bytes_sent: r.bytesSent,
    duration: r.durationMs,
    upstream_cluster: r.upstreamCluster ?? '-',
    upstream_host: r.upstreamHost ?? null,
    route_name: r.routeName || h.logBase.route_name,
    method: r.method,
    path: r.path,
    protocol: r.protocol,
    response_code: r.responseCode,
    authority: r.authority,
    ...(r.userAgent !== undefined ? { user_agent: r.userAgent } : {}),
    request_id: r.requestId,
    ...(r.xForwardedFor !== undefined ? { x_forwarded_for: r.xForwardedFor } : {}),
    ...(r.upstreamServiceTimeMs !== undefined ? { upstream_service_time: r.upstreamServiceTimeMs } : {}),
  };
}

function recordMetrics(h: HttpHandoff, s: HttpRequestSample): void {
  const cluster = s.upstreamCluster ?? 'unknown';
  const svc = h.clusters.service(cluster);
  h.metrics.recordRequest(
    {
      reporter: h.direction === 'outbound' ? 'source' : 'destination',
      source_workload: h.source.workload,
      source_workload_namespace: h.source.namespace,
      destination_service: svc?.host ?? cluster,
      destination_service_name: svc?.name ?? cluster,
      response_flags: s.responseFlags,
      response_code: String(s.responseCode),
    },
    s.durationMs,
  );
}

/**
 * Serves one downstream HTTP/1.1 connection handed off by the proxy, until it closes or
 * `handoff.signal` aborts. Returns at once. A route configuration that does not compile (the xDS
 * client should have NACKed it) serves 404 NR and says why in each log line.
 */
export function serveHttpConnection(socket: net.Socket, handoff: HttpHandoff, limits?: HttpServerLimits): void {
  const routes = compiledRoutes(handoff.routes.get(handoff.routeConfigName));
  const ctx: HttpRouterContext = {
    routes: routes instanceof Error ? undefined : routes,
    clusters: clusterTable(handoff),
    originalDestination: handoff.originalDst,
    upstreams: defaultUpstreamPools(),
    ...(handoff.initialData ? { initialData: handoff.initialData } : {}),
    signal: handoff.signal,
    ...(limits ? { limits } : {}),
    accessLog: (r) => {
      const entry = toAccessLogEntry(handoff, r);
      if (r.responseFlags.includes('NR') && !routes)
        entry.response_code_details = `route_configuration_missing: "${handoff.routeConfigName}"`;
      else if (routes instanceof Error) entry.response_code_details = `route_configuration_invalid: ${routes.message}`;
      handoff.accessLog(entry);
    },
    recordRequest: (s) => recordMetrics(handoff, s),
  };
  serveWithContext(socket, ctx);
}
