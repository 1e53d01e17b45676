/**
 * Serves one captured connection: original destination → (ClientHello when the port needs SNI)
 * → decision → black hole, passthrough, TCP relay or HTTP hand-off → one access-log line and the
 * metrics when it ends. This is the one place where a decision becomes wire behaviour.
 */
import type net from 'node:net';
import { BLACK_HOLE_CLUSTER, type EgressDecision } from '../decision/decision.js';
import { decideEgress, decideInbound, needsTlsInspection } from '../decision/table.js';
import type { HttpHandoff, SourceWorkload } from '../handoff.js';
import type { ProxyLogger } from '../logger.js';
import type { AccessLogEntry, ResponseFlag, TcpLogClose } from '../observability/access-log.js';
import type { ProxyMetrics } from '../observability/metrics.js';
import type { CompiledSnapshot } from '../snapshot/snapshot.js';
import { TcpRelay } from '../tcp/relay.js';
import type { OriginalDestination } from '../upstream/cluster-view.js';
import { type ConnectionOutcome, finishConnection, hostPort, openLogBase, pickWeighted } from './connection-log.js';
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
  /** A TCP connection's line, written without an intermediate entry (else `accessLog(tcpEntry(…))`). */
  accessLogTcp?(base: AccessLogEntry, close: TcpLogClose): void;
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
  const flags: ResponseFlag[] = [];
  const logBase = openLogBase(
    ctx,
    decision,
    dst,
    { address: socket.localAddress, port: socket.localPort },
    { address: socket.remoteAddress, port: socket.remotePort },
    sni,
    startMs,
  );

  const finish = (cluster: string, outcome: ConnectionOutcome) =>
    finishConnection(ctx, snapshot, logBase, startMs, dst, cluster, flags, outcome);

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
      dnsName: logBase.dns_name ?? undefined,
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
  const upstreamHost = hostPort(ep.address, ep.port);
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
