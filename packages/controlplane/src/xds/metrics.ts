/** Prometheus metrics of the xDS server. */
import { Counter, Gauge, Registry } from 'prom-client';

export interface XdsMetrics {
  registry: Registry;
  connected: Gauge;
  pushes: Counter<'type'>;
  nacks: Counter<'type'>;
  staleRequests: Counter<'type'>;
}

export function createXdsMetrics(registry: Registry = new Registry()): XdsMetrics {
  return {
    registry,
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
  };
}
