/** normalizeResource: fills the defaults Kubernetes fills (namespace) without changing the input. */
import { kindInfo } from './kinds.js';
import { copyLineTable } from './lines.js';
import type { Resource } from './resource.js';

/**
 * Returns a copy whose `metadata.namespace` is set for namespaced kinds ("default" when absent or
 * empty) and removed for cluster-scoped kinds (MeshConfig, Namespace). Unknown kinds count as
 * namespaced, as Kubernetes custom resources usually are. The input is not modified; a parsed
 * resource's `source` and line table carry over. A resource without a metadata object is returned
 * as is (validation reports it). Validate the resource as written, before normalising: normalising
 * drops a namespace written on a cluster-scoped kind, which validation warns about.
 */
export function normalizeResource<R extends Resource>(r: R): R {
  if (typeof r.metadata !== 'object' || r.metadata === null || Array.isArray(r.metadata)) return r;
  const metadata = { ...r.metadata };
  const namespaced = kindInfo(r.kind)?.namespaced ?? true;
  if (namespaced) {
    if (typeof metadata.namespace !== 'string' || metadata.namespace === '') metadata.namespace = 'default';
  } else {
    delete metadata.namespace;
  }
  const copy = { ...r, metadata };
  copyLineTable(r, copy);
  return copy;
}
