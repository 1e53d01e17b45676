/** Prometheus metrics of the status controller. */
import { Gauge, type Registry } from 'prom-client';

export const CONFLICT_METRIC = 'sluice_conflict_outbound_listener_tcp';

export interface StatusMetrics {
  /** 1 per ServiceEntry and port it loses to an older address-less entry; absent otherwise. */
  tcpConflicts: Gauge<'namespace' | 'name' | 'port'>;
}

export function createStatusMetrics(registry: Registry): StatusMetrics {
  const existing = registry.getSingleMetric(CONFLICT_METRIC);
  if (existing) registry.removeSingleMetric(CONFLICT_METRIC);
  return {
    tcpConflicts: new Gauge({
      name: CONFLICT_METRIC,
      help: 'ServiceEntries whose TCP port is dropped because an older address-less entry claims it (1 per losing entry and port)',
      labelNames: ['namespace', 'name', 'port'],
      registers: [registry],
    }),
  };
}
