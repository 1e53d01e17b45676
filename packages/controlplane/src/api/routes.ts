/**
 * Maps a Kubernetes REST path onto the kind, version, namespace and name it addresses.
 * Core kinds live under `/api/v1`, the others under `/apis/{group}/{version}`.
 */
import { KINDS, type KindInfo } from '@sluice/config';
import { validateName, validateNamespaceName } from './metadata-validation.js';
import { pathSegments } from './request-path.js';
import { errors } from './status.js';

export interface ResourceTarget {
  kind: KindInfo;
  /** The version named in the URL; objects are returned with this apiVersion. */
  version: string;
  /** undefined: every namespace (or a cluster-scoped kind). */
  namespace?: string;
  name?: string;
  subresource?: string;
}

export function apiVersionOf(kind: KindInfo, version: string): string {
  return kind.group ? `${kind.group}/${version}` : version;
}

/** Kinds served under one group/version. */
export function kindsIn(group: string, version: string): KindInfo[] {
  return KINDS.filter((k) => k.group === group && k.versions.includes(version));
}

export function groupVersionExists(group: string, version: string): boolean {
  return kindsIn(group, version).length > 0;
}

/**
 * Parses a raw (still percent-encoded) resource path, or returns undefined when the path is not a
 * resource path at all. Throws ApiError BadRequest for a malformed path (see `pathSegments`) and
 * NotFound for a path in the resource space that names nothing served.
 */
export function parseResourcePath(rawPath: string): ResourceTarget | undefined {
  return resourceTarget(pathSegments(rawPath));
}

/**
 * `parseResourcePath` on already decoded and checked segments. A namespace that is not a DNS-1123
 * label is BadRequest; a name no object of the kind can have is NotFound, as in Kubernetes.
 */
export function resourceTarget(segs: readonly string[]): ResourceTarget | undefined {
  let group: string;
  let version: string;
  let rest: string[];
  if (segs[0] === 'api' && segs.length >= 3) {
    group = '';
    version = segs[1]!;
    rest = segs.slice(2);
  } else if (segs[0] === 'apis' && segs.length >= 4) {
    group = segs[1]!;
    version = segs[2]!;
    rest = segs.slice(3);
  } else {
    return undefined;
  }
  if (!groupVersionExists(group, version)) throw errors.pathNotFound();
  const served = kindsIn(group, version);
  const byPlural = (plural: string | undefined) => served.find((k) => k.plural === plural);

  // namespaces/{ns}/{plural}[/{name}[/{subresource}]]
  if (rest[0] === 'namespaces' && rest.length >= 3) {
    const kind = byPlural(rest[2]);
    if (!kind?.namespaced || rest.length > 5) throw errors.pathNotFound();
    const namespace = rest[1]!;
    const bad = validateNamespaceName(namespace)[0];
    if (bad) throw errors.badRequest(`the namespace in the request path is invalid: ${bad.message}`);
    return withOptional({ kind, version, namespace }, rest[3], rest[4]);
  }
  // {plural}[/{name}[/{subresource}]]
  const kind = byPlural(rest[0]);
  if (!kind || rest.length > 3) throw errors.pathNotFound();
  if (kind.namespaced && rest.length > 1) throw errors.pathNotFound();
  return withOptional({ kind, version }, rest[1], rest[2]);
}

function withOptional(t: ResourceTarget, name: string | undefined, subresource: string | undefined): ResourceTarget {
  if (name !== undefined && validateName(t.kind, name).length > 0)
    throw errors.notFound(t.kind.plural, t.kind.group, name);
  if (name !== undefined) t.name = name;
  if (subresource !== undefined) t.subresource = subresource;
  return t;
}
