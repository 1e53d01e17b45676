/**
 * What every captured connection records, whichever byte path relays it: the access-log line
 * (its fixed part built when the decision is made, completed once at close) and the TCP metrics.
 */
import { BLACK_HOLE_CLUSTER, type EgressDecision, PASSTHROUGH_CLUSTER } from '../decision/decision.js';
import {
  type AccessLogEntry,
  flagsToString,
  type ResponseFlag,
  type TcpLogClose,
  tcpEntry,
} from '../observability/access-log.js';
import type { TcpMetricLabels } from '../observability/metrics.js';
import type { CompiledSnapshot } from '../snapshot/snapshot.js';
import type { OriginalDestination } from '../upstream/cluster-view.js';
import type { ConnectionContext } from './connection.js';

/** How a connection ended, as far as the log line is concerned. */
export interface ConnectionOutcome {
  bytesReceived?: number | undefined;
  bytesSent?: number | undefined;
  upstreamLocal?: string | undefined;
  upstreamHost?: string | null | undefined;
  /** response_code_details; the first of details, terminatedBy, connectError that is set. */
  details?: string | undefined;
  terminatedBy?: string | undefined;
  connectError?: string | undefined;
}

/** `ip:port`, `[ip6]:port`, or '-' without an address. */
export const hostPort = (ip: string | undefined, port: number | undefined): string => {
  if (!ip) return '-';
  return ip.includes(':') ? `[${ip}]:${port}` : `${ip}:${port}`;
};

/** One cluster of a weighted list, at random by weight. */
export function pickWeighted(list: readonly { name: string; weight: number }[]): string {
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

/** Counts the decision and returns the access-log fields known once the connection is decided (with the DNS name the workload resolved for its destination). */
export function openLogBase(
  ctx: ConnectionContext,
  decision: EgressDecision,
  dst: OriginalDestination | null,
  local: { address: string | undefined; port: number | undefined },
  remote: { address: string | undefined; port: number | undefined },
  sni: string | undefined,
  startMs: number,
): AccessLogEntry {
  ctx.metrics.recordDecision(decision.verdict, decision.reason);
  const dnsName = dst ? ctx.nameForIp?.(dst.address) : undefined;
  return {
    start_time: new Date(startMs).toISOString(),
    direction: ctx.direction,
    response_flags: '-',
    bytes_received: 0,
    bytes_sent: 0,
    duration: 0,
    upstream_cluster: decision.cluster || '-',
    upstream_host: null,
    downstream_local_address: dst ? hostPort(dst.address, dst.port) : hostPort(local.address, local.port),
    downstream_remote_address: hostPort(remote.address, remote.port),
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

/** Writes the connection's access-log line and counts it in the TCP metrics. */
export function finishConnection(
  ctx: ConnectionContext,
  snapshot: CompiledSnapshot | undefined,
  logBase: AccessLogEntry,
  startMs: number,
  dst: OriginalDestination | null,
  cluster: string,
  flags: readonly ResponseFlag[],
  outcome: ConnectionOutcome,
): void {
  const flagText = flagsToString(flags);
  const close: TcpLogClose = {
    response_flags: flagText,
    upstream_cluster: cluster || '-',
    upstream_host: outcome.upstreamHost ?? null,
    upstream_local_address: outcome.upstreamLocal ?? null,
    bytes_received: outcome.bytesReceived ?? 0,
    bytes_sent: outcome.bytesSent ?? 0,
    duration: Date.now() - startMs,
    response_code_details: outcome.details ?? outcome.terminatedBy ?? outcome.connectError,
  };
  if (ctx.accessLogTcp) ctx.accessLogTcp(logBase, close);
  else ctx.accessLog(tcpEntry(logBase, close));
  ctx.metrics.recordTcpConnection(
    metricLabels(ctx, snapshot, cluster, dst, flagText),
    close.bytes_sent,
    close.bytes_received,
  );
}
