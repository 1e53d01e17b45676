/**
 * The PATCH formats the API accepts: JSON merge patch (RFC 7386, what `kubectl apply` sends for
 * Istio kinds) and JSON patch (RFC 6902, `kubectl patch --type=json`). Strategic merge patch is a
 * Kubernetes-only format for compiled-in types and is refused with 415, as for CRDs.
 */
import { MAX_NESTING_DEPTH, shapeOf } from './nesting-depth.js';
import { ApiError, errors } from './status.js';

/** Most operations in one JSON patch (as Kubernetes). */
export const MAX_JSON_PATCH_OPERATIONS = 10_000;
/** Most values all `copy` operations of one JSON patch may duplicate together: copies can double a document. */
export const MAX_JSON_PATCH_COPIED_VALUES = 100_000;

type Json = null | boolean | number | string | Json[] | { [k: string]: Json };

const isObject = (v: unknown): v is Record<string, Json> => v !== null && typeof v === 'object' && !Array.isArray(v);

/** RFC 7386: objects merge recursively, `null` deletes, everything else replaces. */
export function applyMergePatch(target: unknown, patch: unknown): unknown {
  if (!isObject(patch)) return structuredClone(patch);
  const result: Record<string, unknown> = isObject(target) ? { ...target } : {};
  for (const [key, value] of Object.entries(patch)) {
    if (value === null) delete result[key];
    else result[key] = applyMergePatch(result[key], value);
  }
  return result;
}

interface JsonPatchOp {
  op: string;
  path: string;
  from?: string;
  value?: unknown;
}

function pointer(path: string): string[] {
  if (path === '') return [];
  if (!path.startsWith('/')) throw errors.badRequest(`json patch: path "${path}" must start with "/"`);
  return path
    .slice(1)
    .split('/')
    .map((s) => s.replaceAll('~1', '/').replaceAll('~0', '~'));
}

function parentOf(doc: unknown, tokens: string[], path: string): { parent: unknown; key: string } {
  let cur = doc;
  for (const t of tokens.slice(0, -1)) {
    cur = Array.isArray(cur) ? cur[Number(t)] : isObject(cur) ? cur[t] : undefined;
    if (cur === undefined) throw new ApiError(422, 'Invalid', `json patch: path "${path}" does not exist`);
  }
  return { parent: cur, key: tokens[tokens.length - 1]! };
}

function get(doc: unknown, path: string): unknown {
  let cur = doc;
  for (const t of pointer(path)) {
    cur = Array.isArray(cur) ? cur[Number(t)] : isObject(cur) ? cur[t] : undefined;
    if (cur === undefined) throw new ApiError(422, 'Invalid', `json patch: path "${path}" does not exist`);
  }
  return cur;
}

function remove(doc: unknown, path: string): unknown {
  const tokens = pointer(path);
  const { parent, key } = parentOf(doc, tokens, path);
  if (Array.isArray(parent)) {
    const i = Number(key);
    if (!Number.isInteger(i) || i < 0 || i >= parent.length)
      throw new ApiError(422, 'Invalid', `json patch: index out of range at "${path}"`);
    return parent.splice(i, 1)[0];
  }
  if (!isObject(parent) || !(key in parent))
    throw new ApiError(422, 'Invalid', `json patch: path "${path}" does not exist`);
  const old = parent[key];
  delete parent[key];
  return old;
}

function add(doc: unknown, path: string, value: unknown, replace: boolean): unknown {
  const tokens = pointer(path);
  // The parent of `path` is at level tokens.length (the document is level 1, or 0 when it is replaced).
  if (tokens.length + shapeOf(value).depth > MAX_NESTING_DEPTH)
    throw new ApiError(
      422,
      'Invalid',
      `json patch: the value for "${path}" would nest the object more than ${MAX_NESTING_DEPTH} levels deep`,
    );
  if (tokens.length === 0) return structuredClone(value);
  const { parent, key } = parentOf(doc, tokens, path);
  if (Array.isArray(parent)) {
    const i = key === '-' ? parent.length : Number(key);
    if (!Number.isInteger(i) || i < 0 || i > parent.length || (replace && i >= parent.length))
      throw new ApiError(422, 'Invalid', `json patch: index out of range at "${path}"`);
    parent.splice(i, replace ? 1 : 0, structuredClone(value) as Json);
  } else if (isObject(parent)) {
    if (replace && !(key in parent)) throw new ApiError(422, 'Invalid', `json patch: path "${path}" does not exist`);
    parent[key] = structuredClone(value) as Json;
  } else {
    throw new ApiError(422, 'Invalid', `json patch: path "${path}" does not exist`);
  }
  return doc;
}

/** RFC 6902 operations applied in order to a copy of `target`. */
export function applyJsonPatch(target: unknown, ops: unknown): unknown {
  if (!Array.isArray(ops)) throw errors.badRequest('json patch: the body must be an array of operations');
  if (ops.length > MAX_JSON_PATCH_OPERATIONS)
    throw errors.badRequest(
      `json patch: at most ${MAX_JSON_PATCH_OPERATIONS} operations are accepted in one patch, got ${ops.length}`,
    );
  let doc = structuredClone(target);
  let copied = 0;
  for (const raw of ops as JsonPatchOp[]) {
    if (!isObject(raw) || typeof raw.op !== 'string' || typeof raw.path !== 'string')
      throw errors.badRequest('json patch: every operation needs "op" and "path"');
    switch (raw.op) {
      case 'add':
        doc = add(doc, raw.path, raw.value, false);
        break;
      case 'replace':
        doc = add(doc, raw.path, raw.value, true);
        break;
      case 'remove':
        remove(doc, raw.path);
        break;
      case 'move': {
        const v = remove(doc, String(raw.from));
        doc = add(doc, raw.path, v, false);
        break;
      }
      case 'copy': {
        const value = get(doc, String(raw.from));
        copied += shapeOf(value).values;
        if (copied > MAX_JSON_PATCH_COPIED_VALUES)
          throw errors.badRequest(
            `json patch: the copy operations duplicate more than ${MAX_JSON_PATCH_COPIED_VALUES} values in all`,
          );
        doc = add(doc, raw.path, value, false);
        break;
      }
      case 'test':
        if (JSON.stringify(get(doc, raw.path)) !== JSON.stringify(raw.value))
          throw new ApiError(422, 'Invalid', `json patch: test failed at "${raw.path}"`);
        break;
      default:
        throw errors.badRequest(`json patch: unknown operation "${raw.op}"`);
    }
  }
  return doc;
}
