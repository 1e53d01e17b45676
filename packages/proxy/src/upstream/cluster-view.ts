/** What connection handlers (TCP here, HTTP in ../http) may ask of the compiled clusters. */

/** An upstream address. */
export interface Endpoint {
  readonly address: string;
  readonly port: number;
}

/** The original destination of a captured connection. */
export interface OriginalDestination {
  readonly address: string;
  readonly port: number;
  readonly family: 4 | 6;
}

/**
 * Read-only view of the current snapshot's clusters. Swapped atomically with each snapshot:
 * handlers keep the view they started with.
 */
export interface ClusterView {
  /** true when the snapshot has a cluster of that name (false → flag NC). */
  clusterExists(name: string): boolean;
  /**
   * One endpoint for a new upstream connection: round robin over the cluster's endpoints;
   * the original destination for ORIGINAL_DST clusters (and PassthroughCluster).
   * undefined when there is none (flag UH).
   */
  pickEndpoint(cluster: string, originalDst?: OriginalDestination): Endpoint | undefined;
  /** connect_timeout in ms (10 000 when unset). */
  connectTimeoutMs(cluster: string): number;
  /**
   * Takes one connection slot under the cluster's circuit breaker (max_connections, default 1024).
   * Returns the function that gives it back, or undefined on overflow (flag UO).
   */
  acquireConnection(cluster: string): (() => void) | undefined;
  /** TCP keepalive settings for upstream sockets, if the cluster sets them. */
  keepalive(cluster: string): { initialDelayMs: number } | undefined;
  /** Istio service metadata (for metric labels): host and short name. */
  service(cluster: string): { host: string; name: string; namespace: string } | undefined;
}
