/**
 * What the HTTP router itself works with, independent of how the proxy describes a connection:
 * {@link ./proxy-handoff.ts} builds it from the proxy's `HttpHandoff` (../handoff.ts).
 */
import type { CompiledRoutes } from './types.js';
import type { UpstreamPools } from './upstream-pools.js';

export interface HttpEndpoint {
  readonly address: string;
  readonly port: number;
}

/** Envoy circuit breaker thresholds of a cluster (thresholds[0]); absent means unlimited. */
export interface HttpCircuitBreakers {
  readonly maxConnections?: number;
  readonly maxPendingRequests?: number;
  readonly maxRequests?: number;
  readonly maxRetries?: number;
}

/** One upstream cluster as the router sees it. */
export interface HttpCluster {
  readonly name: string;
  /** `ORIGINAL_DST` clusters (PassthroughCluster) send to the connection's original destination */
  readonly type?: string;
  /**
   * Picks the endpoint for the next attempt, preferring one whose `address:port` is not in
   * `avoid` (hosts already tried); undefined when the cluster has no healthy endpoint (503 UH).
   */
  pickEndpoint(avoid?: ReadonlySet<string>): HttpEndpoint | undefined;
  /** connect timeout in ms (Envoy default 10 s) */
  readonly connectTimeoutMs?: number;
  /** idle time after which a pooled upstream connection is closed (Istio default 1 h) */
  readonly idleTimeoutMs?: number;
  readonly circuitBreakers?: HttpCircuitBreakers;
  /** the proxy's own per-cluster connection slot (max_connections); undefined result = overflow (UO) */
  acquireConnection?(): (() => void) | undefined;
}

export interface HttpClusterTable {
  get(name: string): HttpCluster | undefined;
}

/** One finished request, for the access log (Envoy's fields, see docs/proxy-http.md). */
export interface HttpAccessLogRecord {
  readonly startTime: Date;
  readonly method: string;
  readonly path: string;
  readonly protocol: string;
  /** 0 when no response was sent (downstream went away first) */
  readonly responseCode: number;
  /** Envoy response flags joined with ",", or "-" */
  readonly responseFlags: string;
  /** why this response (e.g. `via_upstream`, `cluster_not_found: <cluster> ...`) */
  readonly responseCodeDetails: string;
  readonly bytesReceived: number;
  readonly bytesSent: number;
  readonly durationMs: number;
  /** ms from the upstream request start to its response headers, when there was one */
  readonly upstreamServiceTimeMs: number | undefined;
  readonly xForwardedFor: string | undefined;
  readonly userAgent: string | undefined;
  readonly requestId: string;
  readonly authority: string;
  /** `address:port`, when an upstream was chosen */
  readonly upstreamHost: string | undefined;
  readonly upstreamCluster: string | undefined;
  readonly routeName: string | undefined;
  readonly downstreamLocal: string | undefined;
  readonly downstreamRemote: string | undefined;
}

/** Sample for istio_requests_total / istio_request_duration_milliseconds. */
export interface HttpRequestSample {
  readonly method: string;
  readonly responseCode: number;
  readonly responseFlags: string;
  readonly upstreamCluster: string | undefined;
  readonly durationMs: number;
  readonly requestBytes: number;
  readonly responseBytes: number;
}

/** Bounds on the downstream HTTP/1.1 parser (against oversized headers and slowloris). */
export interface HttpServerLimits {
  /** total size of the request line and headers (default 60 KiB, as Envoy) */
  readonly maxHeaderBytes?: number;
  /** time allowed to receive the complete headers (default 10 s) */
  readonly headersTimeoutMs?: number;
  /** time allowed to receive the complete request (default 300 s) */
  readonly requestTimeoutMs?: number;
  /** idle keep-alive connection lifetime (default 1 h, as Envoy's idle_timeout) */
  readonly idleTimeoutMs?: number;
  /** request bodies up to this size are buffered (retries, smuggling safety); larger stream (default 1 MiB) */
  readonly bufferBodyBytes?: number;
  /**
   * header lines allowed in a request (431 above) and in an upstream response (502 above); default
   * 100, Envoy's `max_headers_count`. Headers are never dropped to fit.
   */
  readonly maxHeadersCount?: number;
}

/** Everything the router consults while serving one downstream connection. */
export interface HttpRouterContext {
  /** the route configuration for this listener; a function is called per request (live RDS updates) */
  readonly routes: CompiledRoutes | undefined | (() => CompiledRoutes | undefined);
  readonly clusters: HttpClusterTable;
  /** bytes already read from the socket (protocol sniffing); replayed to the parser first */
  readonly initialData?: Buffer;
  /** the connection's original destination (SO_ORIGINAL_DST), used by ORIGINAL_DST clusters */
  readonly originalDestination?: HttpEndpoint;
  /** upstream connection pools shared across connections; a process-wide default when absent */
  readonly upstreams?: UpstreamPools;
  readonly limits?: HttpServerLimits;
  accessLog?(record: HttpAccessLogRecord): void;
  recordRequest?(sample: HttpRequestSample): void;
  /** aborted when the connection must close (proxy destroyed, policy revoked) */
  readonly signal?: AbortSignal;
}
