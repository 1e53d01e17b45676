/** The resource types the xDS server serves, their short names, and the order a push sends them in. */
import { TypeUrl } from '@sluice/xds';
import type { EnvoyObject, GeneratedResources } from '../translate/types.js';

export type ServedTypeUrl =
  | typeof TypeUrl.Cluster
  | typeof TypeUrl.ClusterLoadAssignment
  | typeof TypeUrl.Listener
  | typeof TypeUrl.RouteConfiguration
  | typeof TypeUrl.NameTable;

export type XdsTypeName = 'CDS' | 'EDS' | 'LDS' | 'RDS' | 'NDS';

/** Make-before-break order: clusters before endpoints, listeners before routes. */
export const PUSH_ORDER: readonly ServedTypeUrl[] = [
  TypeUrl.Cluster,
  TypeUrl.ClusterLoadAssignment,
  TypeUrl.Listener,
  TypeUrl.RouteConfiguration,
  TypeUrl.NameTable,
];

export const TYPE_NAME: Record<ServedTypeUrl, XdsTypeName> = {
  [TypeUrl.Cluster]: 'CDS',
  [TypeUrl.ClusterLoadAssignment]: 'EDS',
  [TypeUrl.Listener]: 'LDS',
  [TypeUrl.RouteConfiguration]: 'RDS',
  [TypeUrl.NameTable]: 'NDS',
};

const SERVED = new Set<string>(Object.keys(TYPE_NAME));

export function isServedType(typeUrl: string): typeUrl is ServedTypeUrl {
  return SERVED.has(typeUrl);
}

/** RDS and EDS honour `resource_names`; LDS, CDS and NDS always send the full set. */
export function honoursResourceNames(typeUrl: ServedTypeUrl): boolean {
  return typeUrl === TypeUrl.RouteConfiguration || typeUrl === TypeUrl.ClusterLoadAssignment;
}

/** The named resources of one type within a proxy's generated set. */
export function resourcesOfType(g: GeneratedResources, typeUrl: ServedTypeUrl): { name: string; json: EnvoyObject }[] {
  switch (typeUrl) {
    case TypeUrl.Cluster:
      return g.clusters.map((c) => ({ name: c.name, json: c }));
    case TypeUrl.Listener:
      return g.listeners.map((c) => ({ name: c.name, json: c }));
    case TypeUrl.RouteConfiguration:
      return g.routes.map((c) => ({ name: c.name, json: c }));
    case TypeUrl.ClusterLoadAssignment:
      return g.endpoints.map((c) => ({ name: c.cluster_name, json: c }));
    case TypeUrl.NameTable:
      return [{ name: '', json: g.nameTable as unknown as EnvoyObject }];
  }
}
