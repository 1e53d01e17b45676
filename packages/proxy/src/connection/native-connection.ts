/**
 * Serves one connection the native relay thread accepted: decide in TypeScript, then tell the
 * thread what to do — close it (black hole), connect it to an upstream and relay it, or hand its
 * fd over to JavaScript (`new net.Socket({ fd })`) for what only JavaScript does: ports that match
 * on SNI (the ClientHello is read first), HTTP chains, and upstream hosts that are names.
 * The access-log line and metrics are written when the thread reports the pair's end.
 */
import net from 'node:net';
import { BLACK_HOLE_CLUSTER } from '../decision/decision.js';
import { decideEgress, decideInbound, needsTlsInspection } from '../decision/table.js';
import type { AcceptedConnection, ByteEngine, NativeDecided, PairEnd } from '../native/byte-engine.js';
import type { NativeTable } from '../native/native-table.js';
import type { ResponseFlag } from '../observability/access-log.js';
import type { CompiledSnapshot } from '../snapshot/snapshot.js';
import type { OriginalDestination } from '../upstream/cluster-view.js';
import { type ActiveConnection, type ConnectionContext, serveConnection } from './connection.js';
import { finishConnection, hostPort, openLogBase, pickWeighted } from './connection-log.js';

/** What a pair's end means in `response_code_details` (JavaScript relay wording). */
function endDetails(end: PairEnd, connectTimeoutMs: number, host: string): string | undefined {
  switch (end.reason) {
    case 'connect_timeout':
      return `connect timeout after ${connectTimeoutMs} ms`;
    case 'connect_error':
      return `connect ${end.errorCode ?? 'error'} ${host}`;
    case 'idle_timeout':
      return 'idle_timeout';
    case 'max_duration':
      return 'max_downstream_connection_duration';
    case 'engine_stopped':
      return 'proxy_destroyed';
    default:
      return undefined;
  }
}

/** Hands an accepted connection to the JavaScript path (it decides again there). */
function serveInJavaScript(
  ctx: ConnectionContext,
  engine: ByteEngine,
  c: AcceptedConnection,
  dst: OriginalDestination | null,
): void {
  engine.handOver(c.id);
  let socket: net.Socket;
  try {
    // pauseOnCreate (undocumented, what net.Server's pauseOnConnect uses): nothing is read before the decision.
    const opts = { fd: c.fd, allowHalfOpen: true, pauseOnCreate: true, readable: true, writable: true };
    socket = new net.Socket(opts as net.SocketConstructorOpts);
  } catch (e) {
    ctx.logger.error({ error: (e as Error).message }, 'cannot take over an accepted connection');
    return;
  }
  serveConnection(ctx, socket, dst).catch((e) => {
    ctx.logger.error({ error: (e as Error).message }, 'connection handler failed');
    socket.destroy();
  });
}

/** What a relayed pair needs to be tracked (policy re-checks) and logged when the thread reports its end. */
interface RelayedPair {
  dst: OriginalDestination;
  decision: ActiveConnection['decision'];
  logBase: ActiveConnection['logBase'];
  snapshot: CompiledSnapshot;
  cluster: string;
  flags: ResponseFlag[];
  startMs: number;
  upstreamHost: string;
  connectTimeoutMs: number;
}

/**
 * Tracks a pair the relay thread connects (so a policy change can close it) and returns the
 * handler for its end report, which writes the access-log line. Both the pairs JavaScript decided
 * and those the thread decided itself go through here.
 */
function trackRelayedPair(
  ctx: ConnectionContext,
  engine: ByteEngine,
  c: AcceptedConnection,
  p: RelayedPair,
  release?: () => void,
): { active: ActiveConnection; onEnd: (end: PairEnd) => void } {
  let terminatedBy: string | undefined;
  const active: ActiveConnection = {
    direction: ctx.direction,
    dst: p.dst,
    sni: undefined,
    transport: undefined,
    decision: p.decision,
    logBase: p.logBase,
    close: (why) => {
      terminatedBy ??= why;
      engine.close(c.id);
    },
  };
  const untrack = ctx.track(active);
  const onEnd = (end: PairEnd) => {
    release?.();
    untrack();
    if (end.reason === 'connect_timeout' || end.reason === 'connect_error') p.flags.push('UF');
    finishConnection(ctx, p.snapshot, p.logBase, p.startMs, p.dst, p.cluster, p.flags, {
      bytesReceived: end.bytesReceived,
      bytesSent: end.bytesSent,
      upstreamHost: p.upstreamHost,
      upstreamLocal: end.upstreamLocal,
      details: terminatedBy ?? endDetails(end, p.connectTimeoutMs, p.upstreamHost),
    });
  };
  return { active, onEnd };
}

export function serveNativeConnection(
  ctx: ConnectionContext,
  engine: ByteEngine,
  c: AcceptedConnection,
  dst: OriginalDestination | null,
): void {
  const startMs = Date.now();
  const snapshot = ctx.snapshot();
  const destination = dst ? { ip: dst.address, port: dst.port } : null;
  if (ctx.direction === 'outbound' && needsTlsInspection(snapshot?.table, destination)) {
    serveInJavaScript(ctx, engine, c, dst);
    return;
  }
  const decision =
    ctx.direction === 'outbound'
      ? decideEgress(snapshot?.table, destination, undefined, undefined)
      : decideInbound(snapshot?.table, destination);
  const chain = decision.filterChain;
  if (chain?.kind === 'http' && decision.verdict !== 'blackhole' && dst && snapshot) {
    serveInJavaScript(ctx, engine, c, dst);
    return;
  }
  const flags: ResponseFlag[] = [];
  const logBase = openLogBase(
    ctx,
    decision,
    dst,
    { address: c.localAddress, port: c.localPort },
    { address: c.remoteAddress, port: c.remotePort },
    undefined,
    startMs,
  );
  const reject = (flag: ResponseFlag, cluster: string, details: string) => {
    flags.push(flag);
    engine.discard(c.id);
    finishConnection(ctx, snapshot, logBase, startMs, dst, cluster, flags, { details });
  };

  if (decision.verdict === 'blackhole' || !dst) {
    reject('UH', decision.cluster || BLACK_HOLE_CLUSTER, decision.reason);
    return;
  }
  if (!snapshot) {
    reject('UH', BLACK_HOLE_CLUSTER, 'no-config');
    return;
  }
  const cluster =
    decision.verdict === 'route' && chain && chain.weightedClusters.length > 0
      ? pickWeighted(chain.weightedClusters)
      : decision.cluster;
  const clusters = snapshot.clusters;
  if (!clusters.clusterExists(cluster)) {
    reject('NC', cluster, `cluster "${cluster}" not found`);
    return;
  }
  const ep = clusters.pickEndpoint(cluster, dst);
  if (!ep) {
    reject('UH', cluster, 'no healthy upstream');
    return;
  }
  if (net.isIP(ep.address) === 0) {
    serveInJavaScript(ctx, engine, c, dst); // a host name: connect through Node's resolver
    return;
  }
  const release = clusters.acquireConnection(cluster);
  if (!release) {
    reject('UO', cluster, 'circuit breaker max_connections reached');
    return;
  }
  const upstreamHost = hostPort(ep.address, ep.port);
  const connectTimeoutMs = clusters.connectTimeoutMs(cluster);
  const { onEnd } = trackRelayedPair(
    ctx,
    engine,
    c,
    { dst, decision, logBase, snapshot, cluster, flags, startMs, upstreamHost, connectTimeoutMs },
    release,
  );
  engine.connect(
    c.id,
    {
      host: ep.address,
      port: ep.port,
      connectTimeoutMs,
      idleTimeoutMs: chain?.idleTimeoutMs ?? 0,
      maxDurationMs: chain?.maxConnectionDurationMs ?? 0,
      keepaliveMs: clusters.keepalive(cluster)?.initialDelayMs,
    },
    onEnd,
  );
}

/** A table the relay thread decides with, and the snapshot it was compiled from. */
export interface NativeTableEntry {
  readonly native: Omit<NativeTable, 'spec'>;
  readonly snapshot: CompiledSnapshot;
}

/**
 * Records a connection the relay thread decided itself (black-holed, refused by the circuit
 * breaker, or connecting): the same decision metric, access-log line and policy tracking as
 * {@link serveNativeConnection}, without a command back to the thread. A connection decided with
 * a table older than the current snapshot is re-checked at once.
 */
export function serveDecidedConnection(
  ctx: ConnectionContext,
  engine: ByteEngine,
  c: AcceptedConnection,
  d: NativeDecided,
  entry: NativeTableEntry,
  dst: OriginalDestination | null,
  recheck: (active: ActiveConnection) => void,
): void {
  const startMs = Date.now();
  const { native, snapshot } = entry;
  const decision = native.decisions[d.index]!;
  const cluster = native.clusters[d.index]!;
  const logBase = openLogBase(
    ctx,
    decision,
    dst,
    { address: c.localAddress, port: c.localPort },
    { address: c.remoteAddress, port: c.remotePort },
    undefined,
    startMs,
  );
  const flags: ResponseFlag[] = [];
  if (d.blackholed || !dst) {
    flags.push('UH');
    finishConnection(ctx, snapshot, logBase, startMs, dst, cluster, flags, { details: decision.reason });
    return;
  }
  if (d.overflow) {
    flags.push('UO');
    finishConnection(ctx, snapshot, logBase, startMs, dst, cluster, flags, {
      details: 'circuit breaker max_connections reached',
    });
    return;
  }
  const upstreamHost = d.endpoint >= 0 ? (native.endpoints[d.endpoint] as string) : hostPort(dst.address, dst.port);
  const connectTimeoutMs = snapshot.clusters.connectTimeoutMs(cluster);
  const { active, onEnd } = trackRelayedPair(ctx, engine, c, {
    dst,
    decision,
    logBase,
    snapshot,
    cluster,
    flags,
    startMs,
    upstreamHost,
    connectTimeoutMs,
  });
  engine.expectEnd(c.id, onEnd);
  if (ctx.snapshot() !== snapshot) recheck(active);
}
