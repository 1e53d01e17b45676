/**
 * Keep-alive connection pools, one `http.Agent` per (cluster, endpoint), plus the cluster's circuit
 * breaker accounting. Shared by every downstream connection of a proxy; `close()` lets pooled
 * connections finish, `destroy()` closes them at once; both idempotent.
 */
import http from 'node:http';
import type { HttpCluster, HttpEndpoint } from './router-context.js';

const UNLIMITED = 2 ** 31;

function limit(n: number | undefined): number {
  return n === undefined || n <= 0 || n >= UNLIMITED ? Number.POSITIVE_INFINITY : n;
}

interface ClusterCounters {
  requests: number;
  retries: number;
  perEndpoint: Map<string, number>;
}

/** A granted request slot; `release()` once the upstream exchange is over (idempotent). */
export interface UpstreamLease {
  readonly agent: http.Agent;
  release(): void;
}

export class UpstreamPools {
  readonly #agents = new Map<string, http.Agent>();
  readonly #counters = new Map<string, ClusterCounters>();
  #closed = false;

  #countersFor(cluster: string): ClusterCounters {
    let c = this.#counters.get(cluster);
    if (!c) {
      c = { requests: 0, retries: 0, perEndpoint: new Map() };
      this.#counters.set(cluster, c);
    }
    return c;
  }

  /**
   * Reserves a request slot to `endpoint` of `cluster`, or returns undefined when a circuit
   * breaker is full (503 UO): max_requests per cluster, or max_connections + max_pending_requests
   * per endpoint (the agent queues up to max_pending_requests beyond its max_connections sockets).
   */
  acquire(cluster: HttpCluster, endpoint: HttpEndpoint): UpstreamLease | undefined {
    const cb = cluster.circuitBreakers ?? {};
    const counters = this.#countersFor(cluster.name);
    const hostKey = `${endpoint.address}:${endpoint.port}`;
    const onEndpoint = counters.perEndpoint.get(hostKey) ?? 0;
    if (counters.requests >= limit(cb.maxRequests)) return undefined;
    if (onEndpoint >= limit(cb.maxConnections) + limit(cb.maxPendingRequests)) return undefined;
    const releaseSlot = cluster.acquireConnection ? cluster.acquireConnection() : () => {};
    if (!releaseSlot) return undefined;
    counters.requests++;
    counters.perEndpoint.set(hostKey, onEndpoint + 1);
    const agent = this.#agent(cluster, hostKey);
    let released = false;
    return {
      agent,
      release: () => {
        if (released) return;
        released = true;
        releaseSlot();
        counters.requests--;
        const n = (counters.perEndpoint.get(hostKey) ?? 1) - 1;
        if (n <= 0) counters.perEndpoint.delete(hostKey);
        else counters.perEndpoint.set(hostKey, n);
      },
    };
  }

  /** Reserves one concurrent retry of `cluster` (max_retries); returns a release function or undefined. */
  acquireRetry(cluster: HttpCluster): (() => void) | undefined {
    const counters = this.#countersFor(cluster.name);
    if (counters.retries >= limit(cluster.circuitBreakers?.maxRetries)) return undefined;
    counters.retries++;
    let released = false;
    return () => {
      if (released) return;
      released = true;
      counters.retries--;
    };
  }

  #agent(cluster: HttpCluster, hostKey: string): http.Agent {
    const key = `${cluster.name}|${hostKey}`;
    let agent = this.#agents.get(key);
    if (!agent) {
      const maxSockets = limit(cluster.circuitBreakers?.maxConnections);
      agent = new http.Agent({
        keepAlive: !this.#closed,
        maxSockets,
        maxFreeSockets: Number.isFinite(maxSockets) ? maxSockets : 256,
        timeout: cluster.idleTimeoutMs ?? 3_600_000,
        scheduling: 'lifo',
      });
      this.#agents.set(key, agent);
    }
    return agent;
  }

  /** Number of idle pooled connections (for tests and the admin endpoint). */
  idleConnections(): number {
    let n = 0;
    for (const a of this.#agents.values()) for (const list of Object.values(a.freeSockets)) n += list?.length ?? 0;
    return n;
  }

  /** Stops pooling: idle connections are closed; busy ones close when their request ends. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    for (const a of this.#agents.values()) {
      (a as unknown as { keepAlive: boolean }).keepAlive = false;
      for (const list of Object.values(a.freeSockets)) for (const s of list ?? []) s.destroy();
    }
  }

  /** Closes every upstream connection now. */
  destroy(): void {
    this.close();
    for (const a of this.#agents.values()) a.destroy();
    this.#agents.clear();
  }
}

let shared: UpstreamPools | undefined;

/** The process-wide pools used when a handoff brings none. */
export function defaultUpstreamPools(): UpstreamPools {
  shared ??= new UpstreamPools();
  return shared;
}
