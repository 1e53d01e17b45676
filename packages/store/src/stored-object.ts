/**
 * Backend-independent rules for what a stored object looks like: input checks, the metadata the
 * store owns (uid, creationTimestamp, generation, resourceVersion) and generation semantics.
 * Pure: no I/O; never mutates its arguments. Objects built here share nested values with their
 * input: backends serialize them and hand out parsed copies only.
 */
import { randomUUID } from 'node:crypto';
import type { Resource } from '@sluice/config';
import { type LabelSelector, matchesLabelSelector, parseLabelSelector } from './label-selector.js';
import { type ResourceKey, type StoredObject, StoreError, type WatchEvent, type WatchEventType } from './types.js';

const SEGMENT_RE = /^[^/\s]+$/;

function checkSegment(field: string, value: unknown, allowEmpty: boolean): string {
  if (value === undefined && allowEmpty) return '';
  if (typeof value !== 'string') throw new StoreError('Invalid', `${field}: must be a string`);
  if (value === '' && allowEmpty) return value;
  if (!SEGMENT_RE.test(value) || value.length > 253) {
    throw new StoreError(
      'Invalid',
      `${field}: ${JSON.stringify(value)} must be 1–253 characters without '/' or whitespace`,
    );
  }
  return value;
}

/** Checks a key: kind and name required, namespace '' for cluster-scoped kinds. Throws StoreError('Invalid'). */
export function checkKey(key: ResourceKey): ResourceKey {
  if (key === null || typeof key !== 'object')
    throw new StoreError('Invalid', 'key: must be an object { kind, namespace, name }');
  return {
    kind: checkSegment('kind', key.kind, false),
    namespace: checkSegment('namespace', key.namespace, true),
    name: checkSegment('name', key.name, false),
  };
}

/** The key of a resource to write, after checking its envelope. Throws StoreError('Invalid'). */
export function keyOfResource(obj: Resource): ResourceKey {
  if (obj === null || typeof obj !== 'object' || Array.isArray(obj))
    throw new StoreError('Invalid', 'object: must be a JSON object');
  if (typeof obj.apiVersion !== 'string' || obj.apiVersion === '')
    throw new StoreError('Invalid', 'apiVersion: required string');
  const md = obj.metadata;
  if (md === null || typeof md !== 'object' || Array.isArray(md))
    throw new StoreError('Invalid', 'metadata: required object');
  for (const field of ['labels', 'annotations'] as const) {
    const m = md[field];
    if (m === undefined) continue;
    if (
      m === null ||
      typeof m !== 'object' ||
      Array.isArray(m) ||
      Object.values(m).some((v) => typeof v !== 'string')
    ) {
      throw new StoreError('Invalid', `metadata.${field}: must be a map of strings`);
    }
  }
  return {
    kind: checkSegment('kind', obj.kind, false),
    namespace: checkSegment('metadata.namespace', md.namespace, true),
    name: checkSegment('metadata.name', md.name, false),
  };
}

/** `2026-11-25T21:34:49Z`: RFC 3339 in UTC, seconds precision. */
export function nowTimestamp(): string {
  return `${new Date().toISOString().slice(0, 19)}Z`;
}

function assemble(
  obj: Resource,
  key: ResourceKey,
  uid: string,
  creationTimestamp: string,
  generation: number,
  rv: string,
): StoredObject {
  const {
    name: _n,
    namespace: _ns,
    uid: _u,
    resourceVersion: _rv,
    generation: _g,
    creationTimestamp: _c,
    ...rest
  } = obj.metadata;
  return {
    ...obj,
    apiVersion: obj.apiVersion,
    kind: key.kind,
    metadata: {
      name: key.name,
      namespace: key.namespace,
      uid,
      resourceVersion: rv,
      generation,
      creationTimestamp,
      ...rest,
    },
  };
}

/** The object as first stored: fresh uid, creation time, generation 1, the given revision. */
export function newStoredObject(obj: Resource, key: ResourceKey, revision: string): StoredObject {
  return assemble(obj, key, randomUUID(), nowTimestamp(), 1, revision);
}

function canonical(v: unknown): string {
  if (Array.isArray(v)) return `[${v.map(canonical).join(',')}]`;
  if (v !== null && typeof v === 'object') {
    const entries = Object.entries(v as Record<string, unknown>)
      .filter(([, x]) => x !== undefined)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([k, x]) => `${JSON.stringify(k)}:${canonical(x)}`).join(',')}}`;
  }
  return JSON.stringify(v) ?? 'null';
}

/** True when the desired state (spec, data, stringData) differs; key order does not count. */
export function desiredStateChanged(before: Resource, after: Resource): boolean {
  return (
    canonical(before.spec) !== canonical(after.spec) ||
    canonical(before.data) !== canonical(after.data) ||
    canonical(before.stringData) !== canonical(after.stringData)
  );
}

/** True when two stored forms differ in nothing but resourceVersion (an update that changes nothing). */
export function sameStoredContent(a: StoredObject, b: StoredObject): boolean {
  const strip = (o: StoredObject) => ({ ...o, metadata: { ...o.metadata, resourceVersion: '' } });
  return canonical(strip(a)) === canonical(strip(b));
}

/** `Kind namespace/name` (or `Kind name` when cluster-scoped), as messages print a key. */
export function describeKey(key: ResourceKey): string {
  return `${key.kind} ${key.namespace ? `${key.namespace}/` : ''}${key.name}`;
}

/**
 * Checks an update against the stored object (Conflict on a stale resourceVersion or a different
 * uid) and returns the replacement with store-owned metadata carried over.
 */
export function updatedStoredObject(
  current: StoredObject,
  obj: Resource,
  key: ResourceKey,
  revision: string,
): StoredObject {
  checkPreconditions(current, obj.metadata.resourceVersion, obj.metadata.uid);
  const generation = desiredStateChanged(current, obj) ? current.metadata.generation + 1 : current.metadata.generation;
  return assemble(obj, key, current.metadata.uid, current.metadata.creationTimestamp, generation, revision);
}

/** Conflict when a given resourceVersion or uid does not match the stored object. */
export function checkPreconditions(current: StoredObject, resourceVersion: string | undefined, uid?: string): void {
  const ref = describeKey({ kind: current.kind, namespace: current.metadata.namespace, name: current.metadata.name });
  if (resourceVersion !== undefined && resourceVersion !== '' && resourceVersion !== current.metadata.resourceVersion) {
    throw new StoreError(
      'Conflict',
      `${ref}: the object has been modified (resourceVersion ${resourceVersion} given, ${current.metadata.resourceVersion} stored); read it again and apply your changes to the latest version`,
    );
  }
  if (uid !== undefined && uid !== '' && uid !== current.metadata.uid) {
    throw new StoreError(
      'Conflict',
      `${ref}: uid ${uid} given but the stored object has uid ${current.metadata.uid} (it was deleted and re-created)`,
    );
  }
}

/** Parses a revision string ("0", "42"). Throws StoreError('Invalid') naming `field`. */
export function parseRevision(field: string, value: unknown): number {
  if (typeof value !== 'string' || !/^(0|[1-9][0-9]{0,15})$/.test(value)) {
    throw new StoreError(
      'Invalid',
      `${field}: ${JSON.stringify(value)} is not a revision (a non-negative integer as a string)`,
    );
  }
  return Number(value);
}

/** A compiled watch/list filter. */
export interface ObjectFilter {
  kind?: string;
  namespace?: string;
  selector: LabelSelector;
}

export function compileFilter(opts: { kind?: string; namespace?: string; labelSelector?: string }): ObjectFilter {
  const f: ObjectFilter = { selector: parseLabelSelector(opts.labelSelector ?? '') };
  if (opts.kind !== undefined) f.kind = checkSegment('kind', opts.kind, false);
  if (opts.namespace !== undefined) f.namespace = checkSegment('namespace', opts.namespace, true);
  return f;
}

export function matchesFilter(f: ObjectFilter, key: ResourceKey, labels: Record<string, string> | undefined): boolean {
  if (f.kind !== undefined && f.kind !== key.kind) return false;
  if (f.namespace !== undefined && f.namespace !== key.namespace) return false;
  return matchesLabelSelector(f.selector, labels);
}

/**
 * The event a filtered watcher sees for one change, as Kubernetes does with label selectors: an
 * update that makes an object match is ADDED, one that makes it stop matching is DELETED.
 * `prevLabels` is undefined for ADDED events. Returns undefined when the watcher sees nothing.
 */
export function filterEvent(
  f: ObjectFilter,
  type: WatchEventType,
  object: StoredObject,
  prevLabels: Record<string, string> | undefined,
  revision: string,
): WatchEvent | undefined {
  const key = { kind: object.kind, namespace: object.metadata.namespace, name: object.metadata.name };
  if (f.kind !== undefined && f.kind !== key.kind) return undefined;
  if (f.namespace !== undefined && f.namespace !== key.namespace) return undefined;
  const now = matchesLabelSelector(f.selector, object.metadata.labels);
  if (type !== 'MODIFIED' || f.selector.length === 0) return now ? { type, object, revision } : undefined;
  const before = matchesLabelSelector(f.selector, prevLabels);
  if (now && before) return { type, object, revision };
  if (now) return { type: 'ADDED', object, revision };
  if (before) return { type: 'DELETED', object, revision };
  return undefined;
}
