/** VirtualService destinations → cluster names and weights, shared by TCP and HTTP routing. Pure. */
import type { Destination, RouteDestination } from '@sluice/config';
import { outboundClusterName } from './clusters.js';
import { resolveHost } from './mesh-services.js';
import type { ProxyScope } from './proxy-scope.js';

/** The cluster a destination names: its port, else the only port of its service, else the matched port. */
export function destinationCluster(
  scope: ProxyScope,
  dest: Destination,
  vsNamespace: string,
  matchedPort: number,
): string {
  const host = resolveHost(dest.host, vsNamespace);
  let port = dest.port?.number;
  if (!port) {
    const svc = scope.services.find((s) => s.hostname === host);
    const ports = svc?.ports.filter((p) => p.kind !== 'udp') ?? [];
    port = ports.length === 1 ? ports[0]!.number : matchedPort;
  }
  return outboundClusterName(port, dest.subset, host);
}

export type ClusterChoice =
  | { cluster: string }
  | { weighted_clusters: { clusters: { name: string; weight: number }[] } };

/** Istio's weights: relative, 0 gets nothing, a lone destination takes everything. */
export function clusterChoice(
  scope: ProxyScope,
  routes: readonly RouteDestination[],
  vsNamespace: string,
  matchedPort: number,
): ClusterChoice | undefined {
  if (routes.length === 0) return undefined;
  if (routes.length === 1)
    return { cluster: destinationCluster(scope, routes[0]!.destination, vsNamespace, matchedPort) };
  const allUnset = routes.every((r) => r.weight === undefined);
  const clusters = routes
    .map((r) => ({
      name: destinationCluster(scope, r.destination, vsNamespace, matchedPort),
      weight: allUnset ? 1 : (r.weight ?? 0),
    }))
    .filter((c) => c.weight > 0);
  if (clusters.length === 0) return undefined;
  if (clusters.length === 1) return { cluster: clusters[0]!.name };
  return { weighted_clusters: { clusters } };
}
