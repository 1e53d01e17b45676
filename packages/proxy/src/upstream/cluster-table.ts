/**
 * Clusters and their endpoints compiled once per snapshot into the {@link ClusterView} that
 * connection handlers consult: round-robin endpoint choice, connect timeouts, circuit breakers.
 * DNS clusters are resolved (with `dns.lookup`) before the table is used, and on refresh.
 */
import { lookup } from 'node:dns/promises';
import { BLACK_HOLE_CLUSTER, PASSTHROUGH_CLUSTER } from '../decision/decision.js';
import { durationMs } from '../xds/duration.js';
import type { Cluster, ClusterLoadAssignment, ClusterType } from '../xds/resources.js';
import type { ClusterView, Endpoint, OriginalDestination } from './cluster-view.js';

const DEFAULT_CONNECT_TIMEOUT_MS = 10_000;
/** Envoy's default circuit-breaker max_connections. */
const DEFAULT_MAX_CONNECTIONS = 1024;
const UNHEALTHY = new Set(['UNHEALTHY', 'DRAINING', 'TIMEOUT']);

/**
 * Open upstream connections per cluster name; outlives snapshots so limits hold across swaps.
 * With the native byte path the counts of clusters the relay thread connects itself live in a
 * slot array shared with it ({@link attachShared}): both sides add and check atomically.
 */
export class ConnectionCounters {
  readonly #open = new Map<string, number>();
  #shared: Int32Array | undefined;
  #handle: unknown;
  readonly #slots = new Map<string, number>();

  /** Counts from now on go to `slots` (entries without a slot stay here). */
  attachShared(slots: Int32Array, handle: unknown): void {
    this.#shared = slots;
    this.#handle = handle;
  }

  /** The native handle of the shared slots, undefined without them. */
  get sharedHandle(): unknown {
    return this.#handle;
  }

  /** The cluster's slot in the shared array (assigned on first use), or -1 without one. */
  slot(cluster: string): number {
    const shared = this.#shared;
    if (!shared) return -1;
    let slot = this.#slots.get(cluster);
    if (slot === undefined) {
      if (this.#slots.size >= shared.length) return -1;
      slot = this.#slots.size;
      this.#slots.set(cluster, slot);
      const moved = this.#open.get(cluster);
      if (moved) Atomics.add(shared, slot, moved);
      this.#open.delete(cluster);
    }
    return slot;
  }

  get(cluster: string): number {
    const slot = this.#slots.get(cluster);
    if (slot !== undefined) return Atomics.load(this.#shared as Int32Array, slot);
    return this.#open.get(cluster) ?? 0;
  }

  add(cluster: string, delta: number): void {
    const slot = this.#slots.get(cluster);
    if (slot !== undefined) {
      Atomics.add(this.#shared as Int32Array, slot, delta);
      return;
    }
    const n = this.get(cluster) + delta;
    if (n <= 0) this.#open.delete(cluster);
    else this.#open.set(cluster, n);
  }

  /** Counts one more connection unless `max` are open; false when the limit is reached. */
  tryAcquire(cluster: string, max: number): boolean {
    const slot = this.#slots.get(cluster);
    if (slot !== undefined) {
      const shared = this.#shared as Int32Array;
      if (Atomics.add(shared, slot, 1) >= max) {
        Atomics.sub(shared, slot, 1);
        return false;
      }
      return true;
    }
    if (this.get(cluster) >= max) return false;
    this.add(cluster, 1);
    return true;
  }
}

interface CompiledCluster {
  readonly name: string;
  readonly type: ClusterType;
  /** Endpoints (resolved names for DNS clusters). Replaced on DNS refresh. */
  endpoints: Endpoint[];
  /** Hostnames to resolve (DNS clusters). */
  readonly dnsTargets: readonly Endpoint[];
  next: number;
  readonly connectTimeoutMs: number;
  readonly maxConnections: number;
  readonly keepaliveMs: number | undefined;
  readonly service: { host: string; name: string; namespace: string } | undefined;
}

function endpointsOf(cla: ClusterLoadAssignment | undefined): Endpoint[] {
  const out: Endpoint[] = [];
  for (const locality of cla?.endpoints ?? []) {
    for (const lb of locality.lb_endpoints ?? []) {
      if (lb.health_status && UNHEALTHY.has(lb.health_status)) continue;
      const sa = lb.endpoint?.address?.socket_address;
      if (sa?.address) out.push({ address: sa.address, port: sa.port_value ?? 0 });
    }
  }
  return out;
}

export class ClusterTable implements ClusterView {
  readonly #clusters = new Map<string, CompiledCluster>();
  readonly #counters: ConnectionCounters;

  constructor(
    clusters: Iterable<Cluster>,
    endpoints: Readonly<Record<string, ClusterLoadAssignment>>,
    counters: ConnectionCounters,
  ) {
    this.#counters = counters;
    for (const c of clusters) {
      const type = c.type ?? 'STATIC';
      const own = endpointsOf(c.load_assignment);
      const eds = type === 'EDS' ? endpointsOf(endpoints[c.eds_cluster_config?.service_name || c.name]) : [];
      const isDns = type === 'STRICT_DNS' || type === 'LOGICAL_DNS';
      const svc = c.metadata?.filter_metadata?.istio?.services?.[0];
      const ka = c.upstream_connection_options?.tcp_keepalive;
      this.#clusters.set(c.name, {
        name: c.name,
        type,
        endpoints: isDns ? [] : type === 'EDS' ? eds : own,
        dnsTargets: isDns ? own : [],
        next: 0,
        connectTimeoutMs: durationMs(c.connect_timeout, DEFAULT_CONNECT_TIMEOUT_MS),
        maxConnections: c.circuit_breakers?.thresholds?.[0]?.max_connections ?? DEFAULT_MAX_CONNECTIONS,
        keepaliveMs: ka ? (ka.keepalive_time ?? 7200) * 1000 : undefined,
        service: svc?.host
          ? { host: svc.host, name: svc.name ?? svc.host.split('.')[0]!, namespace: svc.namespace ?? '' }
          : undefined,
      });
    }
  }

  /** Resolves every DNS cluster's hosts (STRICT_DNS: all addresses; LOGICAL_DNS: the first). */
  async resolveDns(): Promise<void> {
    const jobs: Promise<void>[] = [];
    for (const c of this.#clusters.values()) {
      if (c.dnsTargets.length === 0) continue;
      jobs.push(
        (async () => {
          const resolved: Endpoint[] = [];
          for (const t of c.dnsTargets) {
            try {
              const addrs = await lookup(t.address, { all: true });
              const picked = c.type === 'LOGICAL_DNS' ? addrs.slice(0, 1) : addrs;
              for (const a of picked) resolved.push({ address: a.address, port: t.port });
            } catch {
              /* unresolvable now: the cluster has no endpoint for this host (flag UH) */
            }
          }
          c.endpoints = resolved;
        })(),
      );
    }
    await Promise.all(jobs);
  }

  get hasDnsClusters(): boolean {
    for (const c of this.#clusters.values()) if (c.dnsTargets.length > 0) return true;
    return false;
  }

  clusterExists(name: string): boolean {
    return name === BLACK_HOLE_CLUSTER || name === PASSTHROUGH_CLUSTER || this.#clusters.has(name);
  }

  pickEndpoint(cluster: string, originalDst?: OriginalDestination): Endpoint | undefined {
    const c = this.#clusters.get(cluster);
    if (!c) {
      if (cluster === PASSTHROUGH_CLUSTER && originalDst)
        return { address: originalDst.address, port: originalDst.port };
      return undefined;
    }
    if (c.type === 'ORIGINAL_DST') {
      return originalDst ? { address: originalDst.address, port: originalDst.port } : undefined;
    }
    const list = c.endpoints;
    if (list.length === 0) return undefined;
    const i = c.next++ % list.length;
    if (c.next >= list.length) c.next = 0;
    return list[i];
  }

  connectTimeoutMs(cluster: string): number {
    return this.#clusters.get(cluster)?.connectTimeoutMs ?? DEFAULT_CONNECT_TIMEOUT_MS;
  }

  /**
   * Where a connection routed to `cluster` goes, as the relay thread's table needs it: the
   * original destination, or the endpoints (round robin), or undefined when there is none.
   */
  endpointPlan(cluster: string): 'original' | readonly Endpoint[] | undefined {
    const c = this.#clusters.get(cluster);
    if (!c) return cluster === PASSTHROUGH_CLUSTER ? 'original' : undefined;
    if (c.type === 'ORIGINAL_DST') return 'original';
    return c.endpoints.length > 0 ? c.endpoints : undefined;
  }

  maxConnections(cluster: string): number {
    return this.#clusters.get(cluster)?.maxConnections ?? DEFAULT_MAX_CONNECTIONS;
  }

  /** The shared per-cluster counters (the relay thread counts its connections there too). */
  get counters(): ConnectionCounters {
    return this.#counters;
  }

  acquireConnection(cluster: string): (() => void) | undefined {
    const max = this.#clusters.get(cluster)?.maxConnections ?? DEFAULT_MAX_CONNECTIONS;
    if (!this.#counters.tryAcquire(cluster, max)) return undefined;
    let released = false;
    return () => {
      if (released) return;
      released = true;
      this.#counters.add(cluster, -1);
    };
  }

  keepalive(cluster: string): { initialDelayMs: number } | undefined {
    const ms = this.#clusters.get(cluster)?.keepaliveMs;
    return ms === undefined ? undefined : { initialDelayMs: ms };
  }

  service(cluster: string): { host: string; name: string; namespace: string } | undefined {
    return this.#clusters.get(cluster)?.service;
  }

  /** For /clusters: name, type, endpoints, open connections, limit. */
  describe(): { name: string; type: string; endpoints: Endpoint[]; open: number; maxConnections: number }[] {
    return [...this.#clusters.values()].map((c) => ({
      name: c.name,
      type: c.type,
      endpoints: [...c.endpoints],
      open: this.#counters.get(c.name),
      maxConnections: c.maxConnections,
    }));
  }
}
