/**
 * Encodes and decodes Envoy resources to and from `google.protobuf.Any`.
 * Objects use the proto3 JSON mapping with the proto field names (snake_case): enums as
 * strings, durations as "10s", wrapper types as bare scalars, Struct as plain JSON, nested Any
 * (typed_config) as `{ '@type': url, ...fields }` — the shape Envoy's config_dump prints, so
 * what the control plane builds is what `sluice proxy-config` shows.
 */
import protobuf from 'protobufjs';
import { durationFromString, SCALAR_WRAPPER_TYPES, structFromJson, valueFromJson } from './json-wrappers.js';
import { protoRoot } from './protos.js';
import type { AnyMessage } from './types.js';

function typeFor(typeUrl: string): protobuf.Type {
  const name = typeUrl.slice(typeUrl.lastIndexOf('/') + 1);
  try {
    return protoRoot().lookupType(name);
  } catch {
    throw new XdsCodecError(`unknown resource type "${typeUrl}"`);
  }
}

/** A resource that cannot be encoded or decoded; `message` names the field path. */
export class XdsCodecError extends Error {
  readonly code = 'XDS_CODEC';
}

const toObjectOptions: protobuf.IConversionOptions = {
  enums: String,
  longs: Number,
  bytes: String,
  defaults: false,
  arrays: false,
  objects: false,
  oneofs: false,
  json: true,
};

// biome-ignore lint/suspicious/noExplicitAny: JSON values of arbitrary shape
type Json = any;

/** Converts a proto3-JSON-mapped object into the object form protobufjs' fromObject accepts. */
function fromJson(type: protobuf.Type, obj: Json, path: string): Json {
  const name = type.fullName;
  if (name === '.google.protobuf.Duration' && typeof obj === 'string') {
    try {
      return durationFromString(obj);
    } catch (e) {
      throw new XdsCodecError(`${path}: ${(e as Error).message}`);
    }
  }
  if (SCALAR_WRAPPER_TYPES.has(name) && (obj === null || typeof obj !== 'object')) return { value: obj };
  if (name === '.google.protobuf.Struct' && obj && typeof obj === 'object' && !('fields' in obj))
    return structFromJson(obj);
  if (name === '.google.protobuf.Value') return valueFromJson(obj);
  if (name === '.google.protobuf.Any' && obj && typeof obj === 'object' && typeof obj['@type'] === 'string') {
    const { '@type': url, ...rest } = obj;
    const inner = typeFor(url);
    const msg = inner.fromObject(fromJson(inner, rest, `${path}{${inner.name}}`));
    return { type_url: url, value: inner.encode(msg).finish() };
  }
  if (obj === null || typeof obj !== 'object' || Array.isArray(obj)) {
    throw new XdsCodecError(`${path}: expected an object for ${name.slice(1)}, got ${JSON.stringify(obj)}`);
  }
  const out: Json = {};
  for (const [key, value] of Object.entries(obj)) {
    const field = type.fields[key];
    if (!field) throw new XdsCodecError(`${path}.${key}: no such field in ${name.slice(1)}`);
    field.resolve();
    const sub = field.resolvedType;
    if (!(sub instanceof protobuf.Type) || value === null || value === undefined) {
      out[key] = value;
    } else if (field.map) {
      const m: Json = {};
      for (const [mk, mv] of Object.entries(value as object)) m[mk] = fromJson(sub, mv, `${path}.${key}[${mk}]`);
      out[key] = m;
    } else if (field.repeated) {
      if (!Array.isArray(value)) throw new XdsCodecError(`${path}.${key}: expected a list`);
      out[key] = value.map((v, i) => fromJson(sub, v, `${path}.${key}[${i}]`));
    } else {
      out[key] = fromJson(sub, value, `${path}.${key}`);
    }
  }
  return out;
}

/** Decodes an Any into its JSON-mapped object. */
export function decodeResource(any: AnyMessage): Record<string, unknown> {
  const type = typeFor(any.type_url);
  const msg = type.decode(any.value instanceof Buffer ? any.value : Buffer.from(any.value));
  return type.toObject(msg, toObjectOptions) as Record<string, unknown>;
}

/** Encodes a JSON-mapped resource object as an Any of the given type. Throws {@link XdsCodecError}. */
export function encodeResource(typeUrl: string, obj: Record<string, unknown>): AnyMessage {
  const type = typeFor(typeUrl);
  const msg = type.fromObject(fromJson(type, obj, type.name));
  const err = type.verify(msg);
  if (err) throw new XdsCodecError(`invalid ${type.fullName.slice(1)}: ${err}`);
  return { type_url: typeUrl, value: Buffer.from(type.encode(msg).finish()) };
}

/** Round-trips an object through its proto type: the canonical form a receiver will see. */
export function canonicalize(typeUrl: string, obj: Record<string, unknown>): Record<string, unknown> {
  return decodeResource(encodeResource(typeUrl, obj));
}
