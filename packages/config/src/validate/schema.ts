/**
 * A small structural schema and its checker: types, required fields, enums, ranges, unknown and
 * unsupported fields — every problem reported with its field path, none stopping the walk.
 */
import { childPath } from '../paths.js';
import type { FindingCollector } from './collector.js';

export type Schema =
  | { type: 'string'; enum?: readonly string[] }
  | { type: 'integer'; min?: number; max?: number }
  | { type: 'number'; min?: number; max?: number }
  | { type: 'boolean' }
  | { type: 'intOrString' }
  | { type: 'duration' }
  | ObjectSchema
  | { type: 'array'; items: Schema }
  | { type: 'map'; values: Schema }
  | { type: 'any' };

export interface ObjectSchema {
  type: 'object';
  fields: Record<string, Schema>;
  required?: readonly string[];
  /** Real fields of the upstream schema that Sluice ignores: reported as SLC0006, not SLC0005. */
  unsupported?: readonly string[];
  /** How to report any other field: `unknown` (SLC0005) or `unsupported` (SLC0006, Kubernetes subsets). */
  others?: 'unknown' | 'unsupported';
}

export const str: Schema = { type: 'string' };
export const int: Schema = { type: 'integer' };
export const bool: Schema = { type: 'boolean' };
export const duration: Schema = { type: 'duration' };
export const any: Schema = { type: 'any' };
export const strings: Schema = { type: 'array', items: str };
export const stringMap: Schema = { type: 'map', values: str };

export function obj(fields: Record<string, Schema>, extra: Omit<ObjectSchema, 'type' | 'fields'> = {}): ObjectSchema {
  return { type: 'object', fields, ...extra };
}
export function arr(items: Schema): Schema {
  return { type: 'array', items };
}
export function oneOf(values: readonly string[]): Schema {
  return { type: 'string', enum: values };
}
export function range(min: number, max?: number): Schema {
  return max === undefined ? { type: 'integer', min } : { type: 'integer', min, max };
}

export function describeValue(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'a list';
  if (typeof v === 'object') return 'an object';
  if (typeof v === 'string') return `a string (${JSON.stringify(v.length > 40 ? `${v.slice(0, 40)}…` : v)})`;
  if (typeof v === 'number') return Number.isInteger(v) ? `a number (${v})` : `a fractional number (${v})`;
  return `a ${typeof v} (${String(v)})`;
}

const TYPE_NAMES: Record<Schema['type'], string> = {
  string: 'a string',
  integer: 'an integer',
  number: 'a number',
  boolean: 'a boolean (true or false)',
  intOrString: 'an integer or a string',
  duration: 'a duration string like "10s" or "1h"',
  object: 'an object',
  array: 'a list',
  map: 'an object (a map)',
  any: 'anything',
};

/** Go/Istio durations: one or more <number><unit>, units ns|us|µs|ms|s|m|h. */
const DURATION = /^(?:\d+(?:\.\d+)?(?:ns|us|µs|ms|s|m|h))+$/;
const DURATION_PART = /(\d+(?:\.\d+)?)(ns|us|µs|ms|s|m|h)/g;
const UNIT_MS: Record<string, number> = { ns: 1e-6, us: 1e-3, µs: 1e-3, ms: 1, s: 1000, m: 60_000, h: 3_600_000 };

/** Milliseconds of a duration string, or undefined when malformed. */
export function parseDuration(text: string): number | undefined {
  if (!DURATION.test(text)) return undefined;
  let ms = 0;
  for (const m of text.matchAll(DURATION_PART)) ms += Number(m[1]) * (UNIT_MS[m[2] ?? 's'] ?? 0);
  return ms;
}

function typeHint(expected: Schema, value: unknown): string | undefined {
  if (expected.type === 'array' && (typeof value === 'string' || typeof value === 'number' || isObject(value)))
    return 'write it as a YAML list: each item on its own line starting with "- "';
  if (expected.type === 'string' && (typeof value === 'number' || typeof value === 'boolean'))
    return `quote it: "${String(value)}"`;
  if ((expected.type === 'integer' || expected.type === 'number') && typeof value === 'string' && /^\d+$/.test(value))
    return `remove the quotes: ${value}`;
  return undefined;
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** Levenshtein distance, for "did you mean" hints. */
function distance(a: string, b: string): number {
  const row = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    let prev = row[0] ?? 0;
    row[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const tmp = row[j] ?? 0;
      row[j] = Math.min((row[j] ?? 0) + 1, (row[j - 1] ?? 0) + 1, prev + (a[i - 1] === b[j - 1] ? 0 : 1));
      prev = tmp;
    }
  }
  return row[b.length] ?? 0;
}

export function closest(name: string, candidates: readonly string[]): string | undefined {
  let best: string | undefined;
  let bestScore = Number.POSITIVE_INFINITY;
  for (const c of candidates) {
    const d = distance(name.toLowerCase(), c.toLowerCase());
    if (d < bestScore) {
      bestScore = d;
      best = c;
    }
  }
  return best !== undefined && bestScore <= Math.max(1, Math.floor(name.length / 3)) ? best : undefined;
}

/** Checks `value` against `schema`; returns false when the value's own type is wrong. */
function wrongType(value: unknown, schema: Schema, path: string, out: FindingCollector): false {
  out.add(
    'wrongType',
    path,
    `${path} must be ${TYPE_NAMES[schema.type]}, got ${describeValue(value)}`,
    typeHint(schema, value),
  );
  return false;
}

export function checkSchema(value: unknown, schema: Schema, path: string, out: FindingCollector): boolean {
  switch (schema.type) {
    case 'any':
      return true;
    case 'string':
      if (typeof value !== 'string') return wrongType(value, schema, path, out);
      if (schema.enum && !schema.enum.includes(value)) {
        const near = closest(value, schema.enum);
        out.add(
          'invalidEnum',
          path,
          `${path} is ${JSON.stringify(value)}, must be one of ${schema.enum.join(', ')}`,
          near ? `did you mean ${near}?` : undefined,
        );
      }
      return true;
    case 'duration': {
      if (typeof value !== 'string') return wrongType(value, schema, path, out);
      const ms = parseDuration(value);
      if (ms === undefined)
        out.add(
          'invalidDuration',
          path,
          `${path} ${JSON.stringify(value)} is not a duration`,
          'write a number and a unit: 500ms, 10s, 5m, 1h',
        );
      else if (ms < 1) out.add('invalidDuration', path, `${path} ${JSON.stringify(value)} is shorter than 1ms`);
      return true;
    }
    case 'boolean':
      return typeof value === 'boolean' ? true : wrongType(value, schema, path, out);
    case 'integer':
    case 'number':
      if (typeof value !== 'number' || !Number.isFinite(value)) return wrongType(value, schema, path, out);
      if (schema.type === 'integer' && !Number.isInteger(value)) return wrongType(value, schema, path, out);
      if ((schema.min !== undefined && value < schema.min) || (schema.max !== undefined && value > schema.max)) {
        const bounds =
          schema.max === undefined ? `at least ${schema.min}` : `between ${schema.min ?? '-∞'} and ${schema.max}`;
        out.add('outOfRange', path, `${path} is ${value}, must be ${bounds}`);
      }
      return true;
    case 'intOrString':
      if (typeof value === 'string') return true;
      return typeof value === 'number' && Number.isInteger(value) ? true : wrongType(value, schema, path, out);
    case 'array':
      if (!Array.isArray(value)) return wrongType(value, schema, path, out);
      value.forEach((item, i) => {
        checkSchema(item, schema.items, childPath(path, i), out);
      });
      return true;
    case 'map':
      if (!isObject(value)) return wrongType(value, schema, path, out);
      for (const k in value) if (Object.hasOwn(value, k)) checkSchema(value[k], schema.values, childPath(path, k), out);
      return true;
    case 'object': {
      if (!isObject(value)) return wrongType(value, schema, path, out);
      for (const name of schema.required ?? []) {
        if (value[name] === undefined || value[name] === null)
          out.add('requiredField', childPath(path, name), `${childPath(path, name)} is required`);
      }
      // for…in over own keys: the order of Object.entries, without allocating the pairs.
      for (const k in value) {
        if (!Object.hasOwn(value, k)) continue;
        const v = value[k];
        const p = childPath(path, k);
        const field = schema.fields[k];
        if (field) {
          if (v !== null) checkSchema(v, field, p, out);
        } else if (schema.unsupported?.includes(k) || schema.others === 'unsupported') {
          out.add('unsupportedField', p, `field ${p} is not supported by Sluice and is ignored`);
        } else {
          const near = closest(k, Object.keys(schema.fields));
          out.add(
            'unknownField',
            p,
            `unknown field ${JSON.stringify(k)} at ${p}; it is ignored`,
            near ? `did you mean ${JSON.stringify(near)}?` : undefined,
          );
        }
      }
      return true;
    }
  }
}
