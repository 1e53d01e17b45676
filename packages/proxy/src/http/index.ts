/**
 * The sidecar's HTTP/1.1 router: Envoy RouteConfiguration semantics (what Istio VirtualServices
 * compile to) over Node's strict HTTP parser. See docs/proxy-http.md.
 *
 * Hand-off contract: `HttpRouterContext` (./http-handoff.ts) is defined here until the proxy's shared
 * `src/handoff.ts` carries the same fields: compiled routes (or a getter), a cluster table whose
 * clusters pick endpoints and carry circuit breakers / connect timeout, the original destination
 * (ORIGINAL_DST clusters), bytes already read, shared upstream pools, and the access-log and
 * metrics callbacks.
 */
export { compileRouteConfiguration, DEFAULT_ROUTE_TIMEOUT_MS } from './compile.js';
export { RouteConfigError } from './errors.js';
export type { ResponseFlag } from './local-reply.js';
export { serveHttpConnection } from './proxy-handoff.js';
export type {
  HttpAccessLogRecord,
  HttpCircuitBreakers,
  HttpCluster,
  HttpClusterTable,
  HttpEndpoint,
  HttpRequestSample,
  HttpRouterContext,
  HttpServerLimits,
} from './router-context.js';
export { type RequestView, selectRoute, selectVirtualHost } from './select.js';
export { serveWithContext, stopHttpServers } from './serve.js';
export type { CompiledRoute, CompiledRoutes, CompiledVirtualHost } from './types.js';
export { defaultUpstreamPools, UpstreamPools } from './upstream-pools.js';
export { validateRouteConfiguration } from './validate.js';
