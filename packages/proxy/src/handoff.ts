/**
 * The contract between the connection handler (this package's TCP side) and the HTTP/1.1 router
 * (`./http/index.ts`) and the TLS ClientHello reader (`./tls/index.ts`).
 *
 * The TCP side accepts a connection, finds its original destination, decides with the egress
 * decision table, and hands connections whose chain is an `http_connection_manager` to
 * `serveHttpConnection(socket, ctx)`. For ports whose chains match on SNI it first calls
 * `readClientHello(socket, timeoutMs)` and then replays `buffered` to whichever side gets the bytes.
 */
import type { Socket } from 'node:net';
import type { EgressDecision } from './decision/decision.js';
import type { AccessLogEntry } from './observability/access-log.js';
import type { ProxyMetrics } from './observability/metrics.js';
import type { ClusterView, OriginalDestination } from './upstream/cluster-view.js';
import type { RouteConfiguration } from './xds/resources.js';

export type { ClusterView, Endpoint, OriginalDestination } from './upstream/cluster-view.js';

/** Who the workload behind this sidecar is (from the xDS node metadata). */
export interface SourceWorkload {
  readonly workload: string;
  readonly namespace: string;
  readonly labels: Readonly<Record<string, string>>;
  readonly serviceAccount: string;
}

/** Everything the HTTP router needs to serve one downstream connection. The object is not shared. */
export interface HttpHandoff {
  /** The accepted downstream socket (paused; `initialData` holds bytes already read from it). */
  readonly socket: Socket;
  /** 'outbound' (from the workload) or 'inbound' (to it). */
  readonly direction: 'outbound' | 'inbound';
  /** The chain's `rds.route_config_name`. */
  readonly routeConfigName: string;
  /** Every RouteConfiguration of the snapshot the connection was accepted under, by name. */
  readonly routes: ReadonlyMap<string, RouteConfiguration>;
  /** The clusters of that snapshot. */
  readonly clusters: ClusterView;
  readonly metrics: ProxyMetrics;
  /** Writes one access-log line (fill the HTTP fields; the base fields are in `logBase`). */
  accessLog(entry: AccessLogEntry): void;
  /** The connection-level fields of the access log (addresses, workload, decision); copy and complete. */
  readonly logBase: Readonly<AccessLogEntry>;
  readonly source: SourceWorkload;
  readonly originalDst: OriginalDestination;
  /** The decision that sent the connection here. */
  readonly decision: EgressDecision;
  /** Host the workload resolved for the destination IP, if known. */
  readonly dnsName: string | undefined;
  /** Bytes already read from the socket (e.g. while sniffing), to be parsed first. */
  readonly initialData?: Buffer;
  /** Aborted when the proxy is destroyed or a new snapshot no longer allows this connection. */
  readonly signal: AbortSignal;
}

/** Signature of `serveHttpConnection` exported by `./http/index.ts`. */
export type ServeHttpConnection = (socket: Socket, ctx: HttpHandoff) => void | Promise<void>;

/** What `readClientHello` resolves to. `buffered` holds every byte it consumed from the socket. */
export interface ClientHelloResult {
  sni?: string;
  isTls: boolean;
  buffered: Buffer;
}

/** Signature of `readClientHello` exported by `./tls/index.ts`. */
export type ReadClientHello = (socket: Socket, timeoutMs: number) => Promise<ClientHelloResult>;
