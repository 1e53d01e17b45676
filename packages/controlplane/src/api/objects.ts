/**
 * Turning request bodies into resources to store, and stored objects into responses: envelope
 * checks (apiVersion, kind, name, namespace), validation by @sluice/config, apiVersion rewriting.
 */

import { type Finding, type KindInfo, type Resource, validateResource } from '@sluice/config';
import type { StoredObject } from '@sluice/store';
import { validateLabelsAndAnnotations, validateName, validateNamespaceName } from './metadata-validation.js';
import { apiVersionOf, type ResourceTarget } from './routes.js';
import { type ApiError, errors, type StatusCause } from './status.js';

type Obj = Record<string, unknown>;
const isObject = (v: unknown): v is Obj => v !== null && typeof v === 'object' && !Array.isArray(v);

/** Fields the server owns; whatever a client sends for them is replaced. */
const SERVER_METADATA = ['uid', 'resourceVersion', 'generation', 'creationTimestamp', 'managedFields', 'selfLink'];

/** Istio and Sluice kinds keep `status` for the control plane; kubectl writes never change it. */
export function statusIsServerOwned(kind: KindInfo): boolean {
  return kind.group !== '' && kind.group !== 'apps';
}

/** The object as the client asked to see it: apiVersion of the request, cluster-scoped without namespace. */
export function toExternal(obj: StoredObject | Resource, target: ResourceTarget): Obj {
  const { apiVersion: _a, kind: _k, metadata, ...rest } = obj as Resource & Obj;
  const meta: Obj = { ...metadata };
  if (!target.kind.namespaced) delete meta['namespace'];
  return { apiVersion: apiVersionOf(target.kind, target.version), kind: target.kind.kind, metadata: meta, ...rest };
}

/**
 * Checks the envelope of a create or update body against the URL and returns a clean resource
 * (server-owned metadata removed, namespace filled in). Throws 400 for a body that does not fit.
 */
export function envelopeFromBody(body: unknown, target: ResourceTarget): Resource {
  if (!isObject(body)) throw errors.badRequest('the request body must be a JSON or YAML object');
  const kind = target.kind;
  const apiVersion = body['apiVersion'];
  if (typeof body['kind'] !== 'string' || body['kind'] === '')
    throw errors.badRequest(`Object 'Kind' is missing in the request body`);
  if (typeof apiVersion !== 'string' || apiVersion === '')
    throw errors.badRequest(`Object 'apiVersion' is missing in the request body`);
  const [group, version] = apiVersion.includes('/') ? apiVersion.split('/', 2) : ['', apiVersion];
  if (group !== kind.group || !kind.versions.includes(version!))
    throw errors.badRequest(
      `the API version in the data (${apiVersion}) does not match the expected API version (${apiVersionOf(kind, target.version)})`,
    );
  if (body['kind'] !== kind.kind)
    throw errors.badRequest(
      `the kind in the data (${String(body['kind'])}) does not match the expected kind (${kind.kind})`,
    );
  const metaIn = body['metadata'] ?? {};
  if (!isObject(metaIn)) throw errors.badRequest('metadata must be an object');
  const meta: Obj = { ...metaIn };
  for (const k of SERVER_METADATA) if (k !== 'resourceVersion') delete meta[k];
  if (meta['resourceVersion'] === '' || meta['resourceVersion'] === null) delete meta['resourceVersion'];
  if (kind.namespaced) {
    const ns = meta['namespace'];
    if (ns !== undefined && ns !== '' && target.namespace !== undefined && ns !== target.namespace)
      throw errors.badRequest('the namespace of the provided object does not match the namespace sent on the request');
    meta['namespace'] = target.namespace ?? (typeof ns === 'string' && ns !== '' ? ns : 'default');
  } else {
    delete meta['namespace'];
  }
  if (target.name !== undefined && meta['name'] !== undefined && meta['name'] !== target.name)
    throw errors.badRequest(
      `the name of the object (${String(meta['name'])}) does not match the name on the URL (${target.name})`,
    );
  if (target.name !== undefined && meta['name'] === undefined) meta['name'] = target.name;
  const out = { ...body, apiVersion, kind: kind.kind, metadata: meta } as unknown as Resource;
  return out;
}

export interface Verdict {
  causes: StatusCause[];
  warnings: string[];
}

function findingText(f: Finding): string {
  return f.hint ? `${f.message} (${f.hint})` : f.message;
}

/** Every problem with an object about to be stored: metadata rules, then @sluice/config's. */
export function validateObject(obj: Resource, kind: KindInfo): Verdict {
  const meta = obj.metadata as unknown as Obj;
  const causes: StatusCause[] = [...validateName(kind, meta['name'])];
  if (kind.namespaced && typeof meta['namespace'] === 'string')
    causes.push(...validateNamespaceName(meta['namespace']));
  causes.push(...validateLabelsAndAnnotations(meta));
  const warnings: string[] = [];
  const flagged = new Set(causes.map((c) => c.field));
  for (const f of validateResource(obj)) {
    if (f.severity === 'error') {
      // Metadata problems found above are reported once, in the Kubernetes wording.
      if (!flagged.has(f.path))
        causes.push({ field: f.path || 'spec', reason: 'FieldValueInvalid', message: findingText(f) });
    } else if (f.severity === 'warning') warnings.push(`${f.path ? `${f.path}: ` : ''}${findingText(f)}`);
  }
  return { causes, warnings };
}

export function invalidError(obj: Resource, kind: KindInfo, causes: StatusCause[]): ApiError {
  const name = typeof obj.metadata?.name === 'string' ? obj.metadata.name : '';
  return errors.invalid(kind.kind, kind.group, name, causes);
}
