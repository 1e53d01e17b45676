/**
 * The Kubernetes-shaped envelope every Sluice resource shares, and where it came from.
 * Objects returned by the parser and the store are plain JSON data; treat them as immutable.
 */

/** Kubernetes `metadata` (the subset Sluice keeps). `namespace` defaults to "default" for namespaced kinds. */
export interface ObjectMeta {
  name: string;
  namespace?: string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
  /** Opaque string; set by the store (a global, monotonically increasing revision). */
  resourceVersion?: string;
  /** Incremented by the store when `spec` changes. */
  generation?: number;
  /** RFC 3339, seconds precision, UTC ("2026-11-25T21:34:49Z"). Set by the store. */
  creationTimestamp?: string;
  uid?: string;
}

/** Any resource: Istio kinds, Sluice's MeshConfig, and the Kubernetes workload kinds. */
export interface Resource<Spec = unknown> {
  apiVersion: string;
  kind: string;
  metadata: ObjectMeta;
  spec?: Spec;
  /** Secrets carry `data`/`stringData` instead of spec. */
  data?: Record<string, string>;
  stringData?: Record<string, string>;
  /** Written by the control plane only (e.g. ServiceEntry `status.addresses`, conflicts). */
  status?: Record<string, unknown>;
}

/** Where a parsed object came from. `document` is 0-based; lines are 1-based. */
export interface SourceRef {
  file: string;
  document: number;
  line: number;
}

/** A resource straight from the parser, remembering its origin and the line of every field path. */
export interface ParsedResource extends Resource {
  source: SourceRef;
}

/** `kind/namespace/name`, as findings and logs print it. */
export interface ResourceRef {
  kind: string;
  namespace: string;
  name: string;
}

export type Severity = 'error' | 'warning' | 'info';

/**
 * One validation or analysis result. Validators never throw: they return every finding.
 * `path` is a field path like `spec.ports[1].protocol` ("" for the whole document).
 */
export interface Finding {
  severity: Severity;
  /** Stable code: Istio's analyzer codes (IST0101…) or Sluice's own (`SLC…`, `YAML…`). */
  code: string;
  message: string;
  path: string;
  hint?: string;
  resource?: ResourceRef;
  source?: SourceRef;
}
