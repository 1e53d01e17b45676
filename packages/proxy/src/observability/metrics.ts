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

/**
 * Per-label-set tallies kept as plain numbers on the connection path and handed to prom-client
 * only when scraped (`collect`): prom-client hashes the label object on every `inc`, even through
 * `labels()`, which cost more than the rest of a connection's bookkeeping.
 */
interface TcpTally {
  readonly labels: TcpMetricLabels;
  connections: number;
  sent: number;
  received: number;
}

interface DecisionTally {
  readonly labels: { verdict: EgressVerdict; reason: EgressReason };
  count: number;
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
  readonly #tcp = new Map<string, TcpTally>();
  readonly #decisions = new Map<string, DecisionTally>();

  constructor() {
    const registers = [this.registry];
    const tcp = this.#tcp;
    const decisions = this.#decisions;
    const fromTally = (pick: (t: TcpTally) => number) =>
      function (this: Counter<(typeof tcpLabelNames)[number]>) {
        this.reset();
        for (const t of tcp.values()) {
          const v = pick(t);
          if (v > 0) this.inc(t.labels, v);
        }
      };
    this.tcpConnectionsOpened = new Counter({
      name: 'istio_tcp_connections_opened_total',
      help: 'TCP connections opened',
      labelNames: tcpLabelNames,
      registers,
      collect: fromTally((t) => t.connections),
    });
    this.tcpConnectionsClosed = new Counter({
      name: 'istio_tcp_connections_closed_total',
      help: 'TCP connections closed',
      labelNames: tcpLabelNames,
      registers,
      collect: fromTally((t) => t.connections),
    });
    this.tcpSentBytes = new Counter({
      name: 'istio_tcp_sent_bytes_total',
      help: 'Bytes sent to the downstream (response direction) over TCP connections',
      labelNames: tcpLabelNames,
      registers,
      collect: fromTally((t) => t.sent),
    });
    this.tcpReceivedBytes = new Counter({
      name: 'istio_tcp_received_bytes_total',
      help: 'Bytes received from the downstream (request direction) over TCP connections',
      labelNames: tcpLabelNames,
      registers,
      collect: fromTally((t) => t.received),
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
      collect: function (this: Counter<'verdict' | 'reason'>) {
        this.reset();
        for (const d of decisions.values()) this.inc(d.labels, d.count);
      },
    });
    this.xdsRejections = new Counter({
      name: 'sluice_xds_rejected_total',
      help: 'xDS responses the proxy rejected (NACKed)',
      labelNames: ['type_url'],
      registers,
    });
  }

  recordDecision(verdict: EgressVerdict, reason: EgressReason): void {
    const key = `${verdict}|${reason}`;
    const tally = this.#decisions.get(key);
    if (tally) tally.count++;
    else this.#decisions.set(key, { labels: { verdict, reason }, count: 1 });
  }

  /** Records one finished TCP connection: opened and closed counters, bytes each way. */
  recordTcpConnection(labels: TcpMetricLabels, bytesSent: number, bytesReceived: number): void {
    const key = `${labels.reporter}\u0001${labels.source_workload}\u0001${labels.source_workload_namespace}\u0001${labels.destination_service}\u0001${labels.destination_service_name}\u0001${labels.response_flags}`;
    const t = this.#tcp.get(key);
    if (t) {
      t.connections++;
      t.sent += bytesSent;
      t.received += bytesReceived;
    } else {
      this.#tcp.set(key, { labels: { ...labels }, connections: 1, sent: bytesSent, received: bytesReceived });
    }
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
