/**
 * Writes: create (POST), replace (PUT), PATCH (merge or JSON patch), DELETE, deletecollection and
 * the `/status` subresource. Every write is validated before the store sees it; invalid input and
 * `dryRun=All` store nothing.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import type { KindInfo, Resource } from '@sluice/config';
import type { Store, StoredObject } from '@sluice/store';
import type { Logger } from 'pino';
import { decodeBody, mediaType, readBody } from './body.js';
import type { ClusterIpAllocator } from './cluster-ip.js';
import { parseFieldSelector } from './field-selector.js';
import { isDryRun } from './negotiation.js';
import { checkNestingDepth } from './nesting-depth.js';
import { envelopeFromBody, invalidError, statusIsServerOwned, toExternal, validateObject } from './objects.js';
import { applyJsonPatch, applyMergePatch } from './patch.js';
import type { ReadCall } from './resource-read.js';
import { sendJson } from './respond.js';
import { apiVersionOf, type ResourceTarget } from './routes.js';
import { ApiError, errors, successStatus } from './status.js';
import { fromStoreError, fromStoreReadError } from './store-errors.js';

export interface WriteContext {
  store: Store;
  clusterIps: ClusterIpAllocator;
  log: Logger;
  maxBodyBytes: number;
}

export interface WriteCall extends ReadCall {
  /** Warnings for the response, also sent with an error response. */
  warnings: string[];
}

type Obj = Record<string, unknown>;
const isObject = (v: unknown): v is Obj => v !== null && typeof v === 'object' && !Array.isArray(v);

const OBJECT_MEDIA_TYPES = new Set(['', 'application/json', 'application/yaml', 'application/x-yaml', 'text/yaml']);

async function readObjectBody(ctx: WriteContext, call: WriteCall): Promise<unknown> {
  const type = mediaType(call.req.headers['content-type']);
  if (!OBJECT_MEDIA_TYPES.has(type)) throw errors.unsupportedMediaType(type);
  return decodeBody(await readBody(call.req, ctx.maxBodyBytes), type);
}

function keyOf(target: ResourceTarget, name: string) {
  return { kind: target.kind.kind, namespace: target.kind.namespaced ? (target.namespace ?? 'default') : '', name };
}

async function getExisting(ctx: WriteContext, target: ResourceTarget, name: string): Promise<StoredObject> {
  let obj: StoredObject | undefined;
  try {
    obj = await ctx.store.get(keyOf(target, name));
  } catch (err) {
    throw fromStoreReadError(err, target, name);
  }
  if (!obj) throw errors.notFound(target.kind.plural, target.kind.group, name);
  return obj;
}

function check(obj: Resource, kind: KindInfo, call: WriteCall): void {
  const verdict = validateObject(obj, kind);
  call.warnings.push(...verdict.warnings);
  if (verdict.causes.length > 0) throw invalidError(obj, kind, verdict.causes);
}

interface ServiceSpec {
  clusterIP?: string;
  type?: string;
  ports?: { port?: number; protocol?: string; targetPort?: number | string }[];
}

/** Kubernetes' Service defaults: type ClusterIP, port protocol TCP, targetPort = port. */
function defaultService(obj: Resource): ServiceSpec {
  const spec = (isObject(obj.spec) ? obj.spec : {}) as ServiceSpec;
  obj.spec = spec;
  spec.type ??= 'ClusterIP';
  for (const p of Array.isArray(spec.ports) ? spec.ports : []) {
    if (!isObject(p)) continue;
    p.protocol ??= 'TCP';
    if (p.targetPort === undefined && p.port !== undefined) p.targetPort = p.port;
  }
  return spec;
}

/** Keeps what the server owns across replace and patch: status of Istio kinds, a Service's VIP. */
function carryServerFields(obj: Resource, existing: StoredObject, kind: KindInfo): void {
  if (statusIsServerOwned(kind)) {
    if (existing.status !== undefined) obj.status = existing.status;
    else delete obj.status;
  }
  if (kind.kind === 'Service') {
    const spec = defaultService(obj);
    const old = (existing.spec as ServiceSpec | undefined)?.clusterIP;
    if (spec.clusterIP && old && spec.clusterIP !== old)
      throw invalidError(obj, kind, [
        {
          field: 'spec.clusterIP',
          reason: 'FieldValueInvalid',
          message: `Invalid value: "${spec.clusterIP}": field is immutable`,
        },
      ]);
    if (old) spec.clusterIP = old;
  }
}

function dryRunObject(obj: Resource, existing?: StoredObject): Resource {
  const meta = {
    ...obj.metadata,
    uid: existing?.metadata.uid ?? randomUUID(),
    creationTimestamp: existing?.metadata.creationTimestamp ?? new Date().toISOString().replace(/\.\d+Z$/, 'Z'),
  } as Resource['metadata'];
  if (existing) {
    meta.resourceVersion = existing.metadata.resourceVersion;
    meta.generation = existing.metadata.generation;
  }
  return { ...obj, metadata: meta };
}

function generatedName(prefix: string): string {
  const alphabet = 'bcdfghjklmnpqrstvwxz2456789';
  const bytes = randomBytes(5);
  return prefix + [...bytes].map((b) => alphabet[b % alphabet.length]).join('');
}

export async function createObject(ctx: WriteContext, call: WriteCall): Promise<void> {
  const { target } = call;
  const dryRun = isDryRun(call.url);
  const obj = envelopeFromBody(await readObjectBody(ctx, call), { ...target, name: undefined } as ResourceTarget);
  if (obj.metadata.resourceVersion !== undefined)
    throw errors.badRequest('resourceVersion should not be set on objects to be created');
  const meta = obj.metadata as unknown as Obj;
  if (!meta['name'] && typeof meta['generateName'] === 'string' && meta['generateName'] !== '')
    meta['name'] = generatedName(meta['generateName']);
  if (statusIsServerOwned(target.kind)) delete obj.status;
  const kind = target.kind;
  if (kind.kind === 'Service') defaultService(obj);
  check(obj, kind, call);
  const store = async (o: Resource) => {
    if (dryRun) return dryRunObject(o);
    try {
      return await ctx.store.create(o);
    } catch (err) {
      throw fromStoreError(err, target, o.metadata.name);
    }
  };
  let created: Resource;
  if (kind.kind === 'Service') {
    created = await ctx.clusterIps.exclusive(async () => {
      const spec = obj.spec as ServiceSpec;
      const got = await ctx.clusterIps.allocate(obj.metadata.namespace ?? 'default', obj.metadata.name, spec.clusterIP);
      if ('causes' in got) throw invalidError(obj, kind, got.causes);
      spec.clusterIP = got.ip;
      return store(obj);
    });
  } else {
    created = await store(obj);
  }
  ctx.log.info(
    { verb: 'create', kind: kind.kind, namespace: created.metadata.namespace, name: created.metadata.name, dryRun },
    'created',
  );
  sendJson(call.res, 201, toExternal(created, target), call.warnings);
}

async function storeUpdate(ctx: WriteContext, target: ResourceTarget, obj: Resource): Promise<StoredObject> {
  try {
    return await ctx.store.update(obj);
  } catch (err) {
    throw fromStoreError(err, target, obj.metadata.name);
  }
}

export async function replaceObject(ctx: WriteContext, call: WriteCall): Promise<void> {
  const { target } = call;
  const name = target.name!;
  const dryRun = isDryRun(call.url);
  const body = await readObjectBody(ctx, call);
  if (target.subresource === 'status') return replaceStatus(ctx, call, body, dryRun);
  const obj = envelopeFromBody(body, target);
  const existing = await getExisting(ctx, target, name);
  const rv = obj.metadata.resourceVersion;
  if (rv !== undefined && rv !== existing.metadata.resourceVersion)
    throw errors.conflict(
      target.kind.plural,
      target.kind.group,
      name,
      'the object has been modified; please apply your changes to the latest version and try again',
    );
  carryServerFields(obj, existing, target.kind);
  check(obj, target.kind, call);
  const updated = dryRun ? dryRunObject(obj, existing) : await storeUpdate(ctx, target, obj);
  ctx.log.info(
    { verb: 'update', kind: target.kind.kind, namespace: updated.metadata.namespace, name, dryRun },
    'replaced',
  );
  sendJson(call.res, 200, toExternal(updated, target), call.warnings);
}

async function replaceStatus(ctx: WriteContext, call: WriteCall, body: unknown, dryRun: boolean): Promise<void> {
  const { target } = call;
  const name = target.name!;
  const incoming = envelopeFromBody(body, target);
  const existing = await getExisting(ctx, target, name);
  const rv = incoming.metadata.resourceVersion;
  if (rv !== undefined && rv !== existing.metadata.resourceVersion)
    throw errors.conflict(
      target.kind.plural,
      target.kind.group,
      name,
      'the object has been modified; please apply your changes to the latest version and try again',
    );
  const obj: Resource = { ...existing, status: incoming.status } as Resource;
  if (incoming.status === undefined) delete obj.status;
  const updated = dryRun ? obj : await storeUpdate(ctx, target, obj);
  sendJson(call.res, 200, toExternal(updated, target), call.warnings);
}

const PATCH_TYPES = new Set(['application/merge-patch+json', 'application/json-patch+json']);

export async function patchObject(ctx: WriteContext, call: WriteCall): Promise<void> {
  const { target } = call;
  const name = target.name!;
  const type = mediaType(call.req.headers['content-type']);
  if (!PATCH_TYPES.has(type))
    throw new ApiError(
      415,
      'UnsupportedMediaType',
      `the body of the request was in an unknown format - accepted media types include: application/json-patch+json, application/merge-patch+json (got ${type || 'none'}; strategic merge patch is not supported for ${target.kind.kind}: use kubectl patch --type=merge)`,
    );
  const dryRun = isDryRun(call.url);
  const patch = decodeBody(await readBody(call.req, ctx.maxBodyBytes), 'application/json');
  const pinnedRv =
    type === 'application/merge-patch+json' && isObject(patch) && isObject(patch['metadata'])
      ? patch['metadata']['resourceVersion']
      : undefined;
  for (let attempt = 0; ; attempt++) {
    const existing = await getExisting(ctx, target, name);
    const current = toExternal(existing, target);
    const patched =
      type === 'application/merge-patch+json' ? applyMergePatch(current, patch) : applyJsonPatch(current, patch);
    if (!isObject(patched)) throw errors.badRequest('the patched document is not an object');
    checkNestingDepth(patched, 'the patched object');
    const patchedRv = isObject(patched['metadata']) ? patched['metadata']['resourceVersion'] : undefined;
    if (patchedRv !== undefined && patchedRv !== null && patchedRv !== existing.metadata.resourceVersion)
      throw errors.conflict(
        target.kind.plural,
        target.kind.group,
        name,
        'the object has been modified; please apply your changes to the latest version and try again',
      );
    let obj: Resource;
    if (target.subresource === 'status') {
      obj = { ...existing, status: patched['status'] } as Resource;
      if (patched['status'] === undefined) delete obj.status;
    } else {
      obj = envelopeFromBody(patched, target);
      if (obj.metadata.name !== name) throw errors.badRequest('a patch may not change metadata.name');
      carryServerFields(obj, existing, target.kind);
      check(obj, target.kind, call);
    }
    if (dryRun) {
      sendJson(call.res, 200, toExternal(dryRunObject(obj, existing), target), call.warnings);
      return;
    }
    obj.metadata = { ...obj.metadata, resourceVersion: existing.metadata.resourceVersion };
    try {
      const updated = await ctx.store.update(obj);
      ctx.log.info({ verb: 'patch', kind: target.kind.kind, namespace: updated.metadata.namespace, name }, 'patched');
      sendJson(call.res, 200, toExternal(updated, target), call.warnings);
      return;
    } catch (err) {
      const apiErr = fromStoreError(err, target, name);
      if (apiErr.code !== 'Conflict' || pinnedRv !== undefined || attempt >= 4) throw apiErr;
    }
  }
}

interface DeleteOptions {
  preconditions?: { resourceVersion?: string; uid?: string };
  dryRun?: string[];
}

async function deleteOptions(ctx: WriteContext, call: WriteCall): Promise<DeleteOptions> {
  const raw = await readBody(call.req, ctx.maxBodyBytes);
  if (raw.length === 0 || raw.toString('utf8').trim() === '') return {};
  const body = decodeBody(raw, call.req.headers['content-type']);
  if (!isObject(body)) throw errors.badRequest('DeleteOptions must be an object');
  return body as DeleteOptions;
}

export async function deleteObject(ctx: WriteContext, call: WriteCall): Promise<void> {
  const { target } = call;
  const name = target.name!;
  const opts = await deleteOptions(ctx, call);
  const dryRun = isDryRun(call.url) || (opts.dryRun ?? []).includes('All');
  const existing = await getExisting(ctx, target, name);
  const pre = opts.preconditions ?? {};
  if (pre.uid && pre.uid !== existing.metadata.uid)
    throw errors.conflict(
      target.kind.plural,
      target.kind.group,
      name,
      `Precondition failed: UID in precondition: ${pre.uid}, UID in object meta: ${existing.metadata.uid}`,
    );
  if (!dryRun) {
    try {
      await ctx.store.delete(
        keyOf(target, name),
        pre.resourceVersion ? { resourceVersion: pre.resourceVersion } : undefined,
      );
    } catch (err) {
      throw fromStoreError(err, target, name);
    }
  }
  ctx.log.info(
    { verb: 'delete', kind: target.kind.kind, namespace: existing.metadata.namespace, name, dryRun },
    'deleted',
  );
  sendJson(
    call.res,
    200,
    successStatus({ name, group: target.kind.group, kind: target.kind.plural, uid: existing.metadata.uid }),
    call.warnings,
  );
}

export async function deleteCollection(ctx: WriteContext, call: WriteCall): Promise<void> {
  const { target, url } = call;
  const opts = await deleteOptions(ctx, call);
  const dryRun = isDryRun(url) || (opts.dryRun ?? []).includes('All');
  const select = parseFieldSelector(url.searchParams.get('fieldSelector'));
  const listOpts: { kind: string; namespace?: string; labelSelector?: string } = { kind: target.kind.kind };
  if (target.kind.namespaced && target.namespace !== undefined) listOpts.namespace = target.namespace;
  const labelSelector = url.searchParams.get('labelSelector');
  if (labelSelector) listOpts.labelSelector = labelSelector;
  let items: StoredObject[];
  let revision: string;
  try {
    ({ items, revision } = await ctx.store.list(listOpts));
  } catch (err) {
    throw fromStoreError(err, target, '');
  }
  const deleted: StoredObject[] = [];
  for (const o of items.filter(select)) {
    if (!dryRun) {
      try {
        deleted.push(await ctx.store.delete({ kind: o.kind, namespace: o.metadata.namespace, name: o.metadata.name }));
      } catch (err) {
        const apiErr = fromStoreError(err, target, o.metadata.name);
        if (apiErr.code !== 'NotFound') throw apiErr;
      }
    } else deleted.push(o);
  }
  ctx.log.info(
    { verb: 'deletecollection', kind: target.kind.kind, count: deleted.length, dryRun },
    'deleted collection',
  );
  sendJson(call.res, 200, {
    apiVersion: apiVersionOf(target.kind, target.version),
    kind: `${target.kind.kind}List`,
    metadata: { resourceVersion: revision },
    items: deleted.map((o) => toExternal(o, target)),
  });
}
