/**
 * Serves one captured connection: original destination → (ClientHello when the port needs SNI)
 * → decision → black hole, passthrough, TCP relay or HTTP hand-off → one access-log line and the
 * metrics when it ends. This is the one place where a decision becomes wire behaviour.
 */
import type net from 'node:net';
import { BLACK_HOLE_CLUSTER, type EgressDecision, PASSTHROUGH_CLUSTER } from '../decision/decision.js';
import { decideEgress, decideInbound, needsTlsInspection } from '../decision/table.js';
import type { HttpHandoff, SourceWorkload } from '../handoff.js';
import type { ProxyLogger } from '../logger.js';
import { type AccessLogEntry, flagsToString, type ResponseFlag } from '../observability/access-log.js';
import type { ProxyMetrics, TcpMetricLabels } from '../observability/metrics.js';
import type { CompiledSnapshot } from '../snapshot/snapshot.js';
import { type RelayOutcome, TcpRelay } from '../tcp/relay.js';
import type { OriginalDestination } from '../upstream/cluster-view.js';
import { httpModule, tlsModule } from './handoff-modules.js';

/** How long a port that matches on SNI waits for the ClientHello. */
export const CLIENT_HELLO_TIMEOUT_MS = 1000;

/** What the proxy provides to each connection. */
export interface ConnectionContext {
  readonly direction: 'outbound' | 'inbound';
  snapshot(): CompiledSnapshot | undefined;
  readonly metrics: ProxyMetrics;
  readonly logger: ProxyLogger;
  readonly source: SourceWorkload;
  accessLog(entry: AccessLogEntry): void;
  nameForIp?: ((ip: string) => string | undefined) | undefined;
  /** Registers an open connection for policy re-checks; returns its deregistration. */
  track(conn: ActiveConnection): () => void;
}

/** An open connection as the policy re-check sees it. */
export interface ActiveConnection {
  readonly direction: 'outbound' | 'inbound';
  readonly dst: OriginalDestination;
  readonly sni: string | undefined;
  readonly transport: 'tls' | 'raw_buffer' | undefined;
  readonly decision: EgressDecision;
  readonly logBase: AccessLogEntry;
  /** Closes the connection now (policy revoked, proxy destroyed). */
  close(why: string): void;
}

const addr = (ip: string | undefined, port: number | undefined): string => {
  if (!ip) return '-';
  return ip.includes(':') ? `[${ip}]:${port}` : `${ip}:${port}`;
};

/** Re-decides an open connection under a (new) snapshot. */
export function redecide(
  snapshot: CompiledSnapshot | undefined,
  c: Pick<ActiveConnection, 'direction' | 'dst' | 'sni' | 'transport'>,
): EgressDecision {
  const dst = { ip: c.dst.address, port: c.dst.port };
  return c.direction === 'outbound'
    ? decideEgress(snapshot?.table, dst, c.sni, c.transport)
    : decideInbound(snapshot?.table, dst);
}

function pickWeighted(list: readonly { name: string; weight: number }[]): string {
  let total = 0;
  for (const c of list) total += Math.max(0, c.weight);
  if (total <= 0) return list[0]?.name ?? '';
  let r = Math.random() * total;
  for (const c of list) {
    r -= Math.max(0, c.weight);
    if (r < 0) return c.name;
  }
  return list[list.length - 1]!.name;
}

function metricLabels(
  ctx: ConnectionContext,
  snapshot: CompiledSnapshot | undefined,
  cluster: string,
  dst: OriginalDestination | null,
  flags: string,
): TcpMetricLabels {
  const svc = snapshot?.clusters.service(cluster);
  const special = cluster === BLACK_HOLE_CLUSTER || cluster === PASSTHROUGH_CLUSTER;
  return {
    reporter: ctx.direction === 'outbound' ? 'source' : 'destination',
    source_workload: ctx.source.workload || 'unknown',
    source_workload_namespace: ctx.source.namespace || 'unknown',
    destination_service: svc?.host ?? (special ? cluster : dst ? dst.address : 'unknown'),
    destination_service_name: special ? cluster : (svc?.name ?? cluster ?? 'unknown'),
    response_flags: flags,
  };
}

/**
 * Handles one accepted socket (created paused: `pauseOnConnect`). `dst` is the original
 * destination, or null when the connection was not redirected to this listener.
 */
export async function serveConnection(
  ctx: ConnectionContext,
  socket: net.Socket,
  dst: OriginalDestination | null,
): Promise<void> {
  const startMs = Date.now();
  socket.on('error', () => {});
  let snapshot = ctx.snapshot();
  let sni: string | undefined;
  let transport: 'tls' | 'raw_buffer' | undefined;
  let initialData: Buffer | undefined;
  const destination = dst ? { ip: dst.address, port: dst.port } : null;
  if (ctx.direction === 'outbound' && needsTlsInspection(snapshot?.table, destination)) {
    const readClientHello = await tlsModule(ctx.logger);
    if (readClientHello) {
      try {
        const hello = await readClientHello(socket, CLIENT_HELLO_TIMEOUT_MS);
        sni = hello.sni;
        transport = hello.isTls ? 'tls' : 'raw_buffer';
        initialData = hello.buffered.length > 0 ? hello.buffered : undefined;
      } catch (e) {
        ctx.logger.debug({ error: (e as Error).message }, 'reading the ClientHello failed');
      }
      socket.pause();
      snapshot = ctx.snapshot();
    }
  }
  const decision =
    ctx.direction === 'outbound'
      ? decideEgress(snapshot?.table, destination, sni, transport)
      : decideInbound(snapshot?.table, destination);
  ctx.metrics.recordDecision(decision.verdict, decision.reason);
  const dnsName = dst ? ctx.nameForIp?.(dst.address) : undefined;
  const flags: ResponseFlag[] = [];
  const logBase: AccessLogEntry = {
    start_time: new Date(startMs).toISOString(),
    direction: ctx.direction,
    response_flags: '-',
    bytes_received: 0,
    bytes_sent: 0,
    duration: 0,
    upstream_cluster: decision.cluster || '-',
    upstream_host: null,
    downstream_local_address: dst ? addr(dst.address, dst.port) : addr(socket.localAddress, socket.localPort),
    downstream_remote_address: addr(socket.remoteAddress, socket.remotePort),
    sni: sni ?? null,
    requested_server_name: sni ?? dnsName ?? null,
    dns_name: dnsName ?? null,
    route_name: decision.filterChain?.name ?? null,
    rule: decision.rule ?? null,
    source_workload: ctx.source.workload,
    source_namespace: ctx.source.namespace,
    decision: decision.verdict,
    reason: decision.reason,
  };

  const finish = (
    cluster: string,
    outcome: Partial<RelayOutcome> & { upstreamHost?: string | null; details?: string },
  ) => {
    const flagText = flagsToString(flags);
    const entry: AccessLogEntry = {
      ...logBase,
      response_flags: flagText,
      upstream_cluster: cluster || '-',
      upstream_host: outcome.upstreamHost ?? null,
      upstream_local_address: outcome.upstreamLocal ?? null,
      bytes_received: outcome.bytesReceived ?? 0,
      bytes_sent: outcome.bytesSent ?? 0,
      duration: Date.now() - startMs,
    };
    const details = outcome.details ?? outcome.terminatedBy ?? outcome.connectError;
    if (details) entry.response_code_details = details;
    ctx.accessLog(entry);
    const labels = metricLabels(ctx, snapshot, cluster, dst, flagText);
    ctx.metrics.tcpConnectionsOpened.inc(labels);
    ctx.metrics.tcpConnectionsClosed.inc(labels);
    if (entry.bytes_sent) ctx.metrics.tcpSentBytes.inc(labels, entry.bytes_sent);
    if (entry.bytes_received) ctx.metrics.tcpReceivedBytes.inc(labels, entry.bytes_received);
  };

  const reject = (flag: ResponseFlag | undefined, cluster: string, details?: string) => {
    if (flag) flags.push(flag);
    socket.destroy();
    finish(cluster, details ? { details } : {});
  };

  if (decision.verdict === 'blackhole' || !dst) {
    reject('UH', decision.cluster || BLACK_HOLE_CLUSTER, decision.reason);
    return;
  }
  if (!snapshot) {
    reject('UH', BLACK_HOLE_CLUSTER, 'no-config');
    return;
  }
  const chain = decision.filterChain;
  const signal = new AbortController();

  if (chain?.kind === 'http') {
    const serve = await httpModule(ctx.logger);
    if (!serve) {
      reject('NR', '-', 'HTTP routing module not available');
      return;
    }
    const active: ActiveConnection = {
      direction: ctx.direction,
      dst,
      sni,
      transport,
      decision,
      logBase,
      close: (why) => {
        signal.abort(new Error(why));
        socket.destroy();
      },
    };
    const untrack = ctx.track(active);
    socket.once('close', untrack);
    const handoff: HttpHandoff = {
      socket,
      direction: ctx.direction,
      routeConfigName: chain.routeConfigName,
      routes: snapshot.routes,
      clusters: snapshot.clusters,
      metrics: ctx.metrics,
      accessLog: (e) => ctx.accessLog(e),
      logBase: Object.freeze({ ...logBase }),
      source: ctx.source,
      originalDst: dst,
      decision,
      dnsName,
      ...(initialData ? { initialData } : {}),
      signal: signal.signal,
    };
    try {
      await serve(socket, handoff);
    } catch (e) {
      ctx.logger.error({ error: (e as Error).message }, 'HTTP connection handler failed');
      socket.destroy();
    }
    return;
  }

  // TCP: passthrough, audit passthrough or a routed cluster.
  const cluster =
    decision.verdict === 'route' && chain && chain.weightedClusters.length > 0
      ? pickWeighted(chain.weightedClusters)
      : decision.cluster;
  const clusters = snapshot.clusters;
  if (!clusters.clusterExists(cluster)) {
    reject('NC', cluster, `cluster "${cluster}" not found`);
    return;
  }
  const release = clusters.acquireConnection(cluster);
  if (!release) {
    reject('UO', cluster, 'circuit breaker max_connections reached');
    return;
  }
  const ep = clusters.pickEndpoint(cluster, dst);
  if (!ep) {
    release();
    reject('UH', cluster, 'no healthy upstream');
    return;
  }
  const upstreamHost = addr(ep.address, ep.port);
  let durationTimer: NodeJS.Timeout | undefined;
  let untrack: (() => void) | undefined;
  const relay = new TcpRelay(socket, {
    host: ep.address,
    port: ep.port,
    connectTimeoutMs: clusters.connectTimeoutMs(cluster),
    initialData,
    keepaliveMs: clusters.keepalive(cluster)?.initialDelayMs,
    onDone: (outcome) => {
      release();
      clearTimeout(durationTimer);
      untrack?.();
      if (outcome.connectFailure) flags.push('UF');
      finish(cluster, { ...outcome, upstreamHost });
    },
  });
  const active: ActiveConnection = {
    direction: ctx.direction,
    dst,
    sni,
    transport,
    decision,
    logBase,
    close: (why) => relay.terminate(why),
  };
  untrack = ctx.track(active);
  if (chain && chain.idleTimeoutMs > 0) {
    socket.setTimeout(chain.idleTimeoutMs, () => relay.terminate('idle_timeout'));
  }
  if (chain && chain.maxConnectionDurationMs > 0) {
    durationTimer = setTimeout(
      () => relay.terminate('max_downstream_connection_duration'),
      chain.maxConnectionDurationMs,
    );
    durationTimer.unref();
  }
}
