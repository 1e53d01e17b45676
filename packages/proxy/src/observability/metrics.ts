/**
 * Istio's standard metrics plus Sluice's egress decision counter, in a prom-client Registry of
 * the proxy's own (never the global one: several proxies may share a process in tests).
 */
import { Counter, Histogram, Registry } from 'prom-client';
import type { EgressReason, EgressVerdict } from '../decision/decision.js';

/** Labels on the TCP metrics, Istio's names. */
export interface TcpMetricLabels {
  reporter: 'source' | 'destination';
  source_workload: string;
  source_workload_namespace: string;
  destination_service: string;
  destination_service_name: string;
  response_flags: string;
}

/** Labels on the HTTP metrics: the TCP ones plus the response code. */
export interface HttpMetricLabels extends TcpMetricLabels {
  response_code: string;
}

const tcpLabelNames = [
  'reporter',
  'source_workload',
  'source_workload_namespace',
  'destination_service',
  'destination_service_name',
  'response_flags',
] as const;
const httpLabelNames = [...tcpLabelNames, 'response_code'] as const;

/** The metric objects of one proxy. The HTTP router records requests through {@link recordRequest}. */
export class ProxyMetrics {
  readonly registry = new Registry();
  readonly tcpConnectionsOpened: Counter<(typeof tcpLabelNames)[number]>;
  readonly tcpConnectionsClosed: Counter<(typeof tcpLabelNames)[number]>;
  readonly tcpSentBytes: Counter<(typeof tcpLabelNames)[number]>;
  readonly tcpReceivedBytes: Counter<(typeof tcpLabelNames)[number]>;
  readonly requestsTotal: Counter<(typeof httpLabelNames)[number]>;
  readonly requestDuration: Histogram<(typeof httpLabelNames)[number]>;
  readonly egressDecisions: Counter<'verdict' | 'reason'>;
  readonly xdsRejections: Counter<'type_url'>;

  constructor() {
    const registers = [this.registry];
    this.tcpConnectionsOpened = new Counter({
      name: 'istio_tcp_connections_opened_total',
      help: 'TCP connections opened',
      labelNames: tcpLabelNames,
      registers,
    });
    this.tcpConnectionsClosed = new Counter({
      name: 'istio_tcp_connections_closed_total',
      help: 'TCP connections closed',
      labelNames: tcpLabelNames,
      registers,
    });
    this.tcpSentBytes = new Counter({
      name: 'istio_tcp_sent_bytes_total',
      help: 'Bytes sent to the downstream (response direction) over TCP connections',
      labelNames: tcpLabelNames,
      registers,
    });
    this.tcpReceivedBytes = new Counter({
      name: 'istio_tcp_received_bytes_total',
      help: 'Bytes received from the downstream (request direction) over TCP connections',
      labelNames: tcpLabelNames,
      registers,
    });
    this.requestsTotal = new Counter({
      name: 'istio_requests_total',
      help: 'HTTP requests',
      labelNames: httpLabelNames,
      registers,
    });
    this.requestDuration = new Histogram({
      name: 'istio_request_duration_milliseconds',
      help: 'HTTP request duration in milliseconds',
      labelNames: httpLabelNames,
      buckets: [0.5, 1, 5, 10, 25, 50, 100, 250, 500, 1000, 2500, 5000, 10000, 30000, 60000, 300000, 600000, 1800000],
      registers,
    });
    this.egressDecisions = new Counter({
      name: 'sluice_egress_decisions_total',
      help: 'Connection decisions of the egress decision table, by verdict and reason',
      labelNames: ['verdict', 'reason'],
      registers,
    });
    this.xdsRejections = new Counter({
      name: 'sluice_xds_rejected_total',
      help: 'xDS responses the proxy rejected (NACKed)',
      labelNames: ['type_url'],
      registers,
    });
  }

  recordDecision(verdict: EgressVerdict, reason: EgressReason): void {
    this.egressDecisions.inc({ verdict, reason });
  }

  /** Records one finished HTTP request (count and duration). */
  recordRequest(labels: HttpMetricLabels, durationMs: number): void {
    this.requestsTotal.inc({ ...labels });
    this.requestDuration.observe({ ...labels }, durationMs);
  }

  /** Prometheus text exposition. */
  exposition(): Promise<string> {
    return this.registry.metrics();
  }
}
