/** Prometheus metrics of the xDS server. */
import { Counter, Gauge, Histogram, Registry } from 'prom-client';

export interface XdsMetrics {
  registry: Registry;
  connected: Gauge;
  pushes: Counter<'type'>;
  /**
   * Counts one response of `type` in {@link pushes}: a plain increment here (one per stream per
   * type per push), added to the counter when it is collected.
   */
  countPush(type: string): void;
  nacks: Counter<'type'>;
  staleRequests: Counter<'type'>;
  /**
   * Seconds from taking a new snapshot to having written every stream's responses (writes, and the
   * generation and encoding not already done ahead during the debounce).
   */
  pushDuration: Histogram;
}

export function createXdsMetrics(registry: Registry = new Registry()): XdsMetrics {
  const pending = new Map<string, number>();
  return {
    registry,
    countPush(type) {
      pending.set(type, (pending.get(type) ?? 0) + 1);
    },
    connected: new Gauge({
      name: 'sluice_xds_connected_proxies',
      help: 'Proxies with an open ADS stream',
      registers: [registry],
    }),
    pushes: new Counter({
      name: 'sluice_xds_pushes_total',
      help: 'DiscoveryResponses sent, by type (CDS, EDS, LDS, RDS, NDS)',
      labelNames: ['type'],
      registers: [registry],
      collect() {
        for (const [type, n] of pending) this.inc({ type }, n);
        pending.clear();
      },
    }),
    nacks: new Counter({
      name: 'sluice_xds_nacks_total',
      help: 'DiscoveryResponses a proxy rejected (NACK), by type',
      labelNames: ['type'],
      registers: [registry],
    }),
    staleRequests: new Counter({
      name: 'sluice_xds_stale_requests_total',
      help: 'Requests ignored because their nonce was not the latest sent, by type',
      labelNames: ['type'],
      registers: [registry],
    }),
    pushDuration: new Histogram({
      name: 'sluice_xds_push_duration_seconds',
      help: 'Time to generate, encode and write one snapshot to every connected proxy',
      buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
      registers: [registry],
    }),
  };
}
