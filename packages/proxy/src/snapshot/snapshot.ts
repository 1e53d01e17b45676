/**
 * A snapshot: the accepted resources of every type, compiled once into the decision table, the
 * cluster table and the route map that connection handlers consult. Frozen after compile.
 */

import { compileDecisionTable, type DecisionTable } from '../decision/table.js';
import { ClusterTable, type ConnectionCounters } from '../upstream/cluster-table.js';
import type { RouteConfiguration, SnapshotResources } from '../xds/resources.js';
import { TypeUrl } from '../xds/type-urls.js';
import { type ResourceFinding, validateResource } from '../xds/validate.js';

export interface CompiledSnapshot {
  readonly resources: Readonly<SnapshotResources>;
  readonly table: DecisionTable;
  readonly clusters: ClusterTable;
  readonly routes: ReadonlyMap<string, RouteConfiguration>;
  /** Increments with each snapshot this process applied. */
  readonly generation: number;
}

export const emptyResources = (): SnapshotResources => ({
  listeners: {},
  clusters: {},
  routes: {},
  endpoints: {},
  versions: { listeners: '', clusters: '', routes: '', endpoints: '' },
});

export type ResourceKind = 'listeners' | 'clusters' | 'routes' | 'endpoints';

export const kindOfType: Record<string, ResourceKind> = {
  [TypeUrl.Listener]: 'listeners',
  [TypeUrl.Cluster]: 'clusters',
  [TypeUrl.RouteConfiguration]: 'routes',
  [TypeUrl.ClusterLoadAssignment]: 'endpoints',
};

export const typeOfKind: Record<ResourceKind, string> = {
  listeners: TypeUrl.Listener,
  clusters: TypeUrl.Cluster,
  routes: TypeUrl.RouteConfiguration,
  endpoints: TypeUrl.ClusterLoadAssignment,
};

/** Validates every resource of the given kind; findings name resource and field. */
export function validateKind(kind: ResourceKind, resources: Record<string, unknown>): ResourceFinding[] {
  const out: ResourceFinding[] = [];
  Object.values(resources).forEach((r, i) => {
    out.push(...validateResource(typeOfKind[kind], r as Record<string, unknown>, i));
  });
  return out;
}

export type CompileResult =
  | { ok: true; snapshot: CompiledSnapshot }
  | { ok: false; kind: ResourceKind; findings: ResourceFinding[] };

/**
 * Validates and compiles resources. The caller resolves DNS clusters (`snapshot.clusters.resolveDns()`)
 * before publishing the snapshot.
 */
export function compileSnapshot(
  resources: SnapshotResources,
  options: { capturePort: number; counters: ConnectionCounters; generation: number },
): CompileResult {
  for (const kind of ['clusters', 'endpoints', 'listeners', 'routes'] as const) {
    const findings = validateKind(kind, resources[kind]);
    if (findings.length > 0) return { ok: false, kind, findings };
  }
  const compiled = compileDecisionTable(Object.values(resources.listeners), { capturePort: options.capturePort });
  if (!compiled.table) return { ok: false, kind: 'listeners', findings: compiled.findings };
  const clusters = new ClusterTable(Object.values(resources.clusters), resources.endpoints, options.counters);
  const snapshot: CompiledSnapshot = Object.freeze({
    resources: Object.freeze(resources),
    table: compiled.table,
    clusters,
    routes: new Map(Object.entries(resources.routes)),
    generation: options.generation,
  });
  return { ok: true, snapshot };
}
