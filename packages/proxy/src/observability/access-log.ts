/**
 * One access-log line per TCP connection (and per HTTP request, written by the HTTP router),
 * with Envoy's field names plus what Sluice adds: who the workload is, which host name it
 * resolved for the destination IP, and what the egress decision was and why.
 */
import type { EgressReason, EgressVerdict } from '../decision/decision.js';

/** Envoy response flags Sluice sets. */
export type ResponseFlag = 'UH' | 'UF' | 'UO' | 'NC' | 'NR' | 'URX' | 'DC' | 'UT' | 'UC' | 'SI' | 'DT';

/** One access-log record. Field names are constants: dashboards and tests rely on them. */
export interface AccessLogEntry {
  /** ISO-8601 time the downstream connection (or request) started. */
  start_time: string;
  /** 'outbound' for connections from the workload, 'inbound' for connections to it. */
  direction: 'outbound' | 'inbound';
  /** Comma-joined Envoy flags, '-' when none (Envoy's text form). */
  response_flags: string;
  /** Envoy's connection_termination_details / response_code_details (free text, may be absent). */
  response_code_details?: string;
  /** Bytes from downstream (the workload) to upstream. */
  bytes_received: number;
  /** Bytes from upstream to downstream. */
  bytes_sent: number;
  /** Milliseconds from start to close (or to the end of the response for HTTP). */
  duration: number;
  /** `outbound|port|subset|host`, `inbound|port||`, `BlackHoleCluster`, `PassthroughCluster`, or '-' when none. */
  upstream_cluster: string;
  /** ip:port actually connected to, or null. */
  upstream_host: string | null;
  upstream_local_address?: string | null;
  /** The original destination ip:port the workload asked for. */
  downstream_local_address: string;
  /** The workload's own address ip:port. */
  downstream_remote_address: string;
  /** SNI read from the TLS ClientHello, or null. */
  sni: string | null;
  /** SNI if any, otherwise the host name the workload resolved for the destination IP, or null. */
  requested_server_name: string | null;
  /** The host name the workload's DNS lookup returned this IP for (from the proxy's name hook), or null. */
  dns_name: string | null;
  /** Filter chain (TCP) or route (HTTP) name that decided. */
  route_name: string | null;
  /** The Istio resource behind the decision, e.g. "ServiceEntry/default/mysql-external", or null. */
  rule: string | null;
  source_workload: string;
  source_namespace: string;
  decision: EgressVerdict;
  reason: EgressReason;
  // HTTP fields: absent on TCP lines (the text format prints "- - -").
  method?: string;
  path?: string;
  protocol?: string;
  response_code?: number;
  authority?: string;
  user_agent?: string;
  request_id?: string;
  x_forwarded_for?: string;
  upstream_service_time?: number;
}

export type AccessLogFormat = 'json' | 'text';

/** The fields of a TCP line known only when the connection ends (the rest is the line's base). */
export interface TcpLogClose {
  response_flags: string;
  upstream_cluster: string;
  upstream_host: string | null;
  upstream_local_address: string | null;
  bytes_received: number;
  bytes_sent: number;
  duration: number;
  /** Omitted from the line when undefined or ''. */
  response_code_details: string | undefined;
}

/** The entry a TCP line stands for: the base with the closing fields (same keys, same order). */
export function tcpEntry(base: AccessLogEntry, close: TcpLogClose): AccessLogEntry {
  const entry: AccessLogEntry = {
    ...base,
    response_flags: close.response_flags,
    upstream_cluster: close.upstream_cluster,
    upstream_host: close.upstream_host,
    upstream_local_address: close.upstream_local_address,
    bytes_received: close.bytes_received,
    bytes_sent: close.bytes_sent,
    duration: close.duration,
  };
  if (close.response_code_details) entry.response_code_details = close.response_code_details;
  return entry;
}

const q = JSON.stringify;
/** `,"name":value` as JSON.stringify writes a property; '' when the value is undefined (omitted). */
const str = (name: string, v: string | null | undefined): string =>
  v === undefined ? '' : v === null ? `,"${name}":null` : `,"${name}":${q(v)}`;
const num = (name: string, v: number): string => `,"${name}":${Number.isFinite(v) ? v : 'null'}`;

/**
 * `JSON.stringify(tcpEntry(base, close))` written directly: no merged object, no generic walk.
 * The keys come in the order of {@link tcpEntry}'s object (the base's order as built by the
 * connection, then upstream_local_address, then response_code_details), so lines are byte-identical.
 */
export function tcpJsonLine(b: AccessLogEntry, c: TcpLogClose): string {
  // A base with keys beyond the TCP set (HTTP fields) takes the generic path.
  if (b.method !== undefined || b.upstream_local_address !== undefined || b.response_code_details !== undefined)
    return q(tcpEntry(b, c));
  return (
    `{"start_time":${q(b.start_time)}` +
    str('direction', b.direction) +
    str('response_flags', c.response_flags) +
    num('bytes_received', c.bytes_received) +
    num('bytes_sent', c.bytes_sent) +
    num('duration', c.duration) +
    str('upstream_cluster', c.upstream_cluster) +
    str('upstream_host', c.upstream_host) +
    str('downstream_local_address', b.downstream_local_address) +
    str('downstream_remote_address', b.downstream_remote_address) +
    str('sni', b.sni) +
    str('requested_server_name', b.requested_server_name) +
    str('dns_name', b.dns_name) +
    str('route_name', b.route_name) +
    str('rule', b.rule) +
    str('source_workload', b.source_workload) +
    str('source_namespace', b.source_namespace) +
    str('decision', b.decision) +
    str('reason', b.reason) +
    str('upstream_local_address', c.upstream_local_address) +
    (c.response_code_details ? str('response_code_details', c.response_code_details) : '') +
    '}'
  );
}

/** Writes entries as lines to a sink (stdout by default). */
export class AccessLog {
  readonly #write: (line: string) => void;
  #format: AccessLogFormat;

  constructor(format: AccessLogFormat = 'json', write: (line: string) => void = (l) => process.stdout.write(l)) {
    this.#format = format;
    this.#write = write;
  }

  get format(): AccessLogFormat {
    return this.#format;
  }

  log(entry: AccessLogEntry): void {
    this.#write(this.#format === 'json' ? `${JSON.stringify(entry)}\n` : `${formatText(entry)}\n`);
  }

  /** Writes a TCP connection's line: the same line as `log(tcpEntry(base, close))`, built directly. */
  logTcp(base: AccessLogEntry, close: TcpLogClose): void {
    this.#write(this.#format === 'json' ? `${tcpJsonLine(base, close)}\n` : `${formatText(tcpEntry(base, close))}\n`);
  }
}

const dash = (v: string | number | null | undefined): string =>
  v === null || v === undefined || v === '' ? '-' : String(v);
const quoted = (v: string | null | undefined): string => `"${dash(v)}"`;

/**
 * Istio's default text format:
 * `[start] "METHOD PATH PROTO" code flags details termination "upstream failure" bytes_in bytes_out duration
 * upstream_time "xff" "ua" "request-id" "authority" "upstream_host" upstream_cluster upstream_local
 * downstream_local downstream_remote sni route`, followed by Sluice's fields as key=value pairs.
 */
export function formatText(e: AccessLogEntry): string {
  const request = e.method ? `"${e.method} ${dash(e.path)} ${dash(e.protocol)}"` : '"- - -"';
  return [
    `[${e.start_time}]`,
    request,
    e.response_code ?? 0,
    e.response_flags,
    dash(e.response_code_details),
    '-',
    '"-"',
    e.bytes_received,
    e.bytes_sent,
    e.duration,
    dash(e.upstream_service_time),
    quoted(e.x_forwarded_for),
    quoted(e.user_agent),
    quoted(e.request_id),
    quoted(e.authority),
    quoted(e.upstream_host),
    e.upstream_cluster,
    dash(e.upstream_local_address),
    e.downstream_local_address,
    e.downstream_remote_address,
    dash(e.requested_server_name),
    dash(e.route_name),
    `source_workload=${dash(e.source_workload)}`,
    `source_namespace=${dash(e.source_namespace)}`,
    `dns_name=${dash(e.dns_name)}`,
    `decision=${e.decision}`,
    `reason=${e.reason}`,
    `rule=${dash(e.rule)}`,
  ].join(' ');
}

/** Joins flags the way Envoy prints them. */
export function flagsToString(flags: readonly ResponseFlag[]): string {
  return flags.length === 0 ? '-' : flags.join(',');
}
