/**
 * protobufjs speaks the proto3 JSON mapping only for `Any`. Envoy's resources (and its
 * config_dump) use the full mapping: durations as "10s", wrapper types as bare scalars,
 * Struct/Value as plain JSON. These wrappers teach protobufjs that mapping, once per process.
 */
import protobuf from 'protobufjs';

type Wrapper = protobuf.IWrapper;
// biome-ignore lint/suspicious/noExplicitAny: protobufjs wrapper hooks are untyped by design
type Msg = any;

export function durationFromString(s: string): { seconds: number; nanos: number } {
  const m = /^(-?)(\d+)(?:\.(\d{1,9}))?s$/.exec(s);
  if (!m) throw new TypeError(`invalid duration "${s}" (expected e.g. "10s" or "0.250s")`);
  const sign = m[1] ? -1 : 1;
  const seconds = Number(m[2]) * sign;
  const nanos = m[3] ? Number(m[3].padEnd(9, '0')) * sign : 0;
  return { seconds, nanos };
}

export function durationToString(seconds: number, nanos: number): string {
  if (!nanos) return `${seconds}s`;
  const neg = seconds < 0 || nanos < 0;
  // proto3 JSON prints 3, 6 or 9 fractional digits ("2.500s"), as Envoy's config_dump does.
  let frac = String(Math.abs(nanos)).padStart(9, '0');
  while (frac.length > 3 && frac.endsWith('000')) frac = frac.slice(0, -3);
  return `${neg ? '-' : ''}${Math.abs(seconds)}.${frac}s`;
}

const duration = {
  fromObject(this: protobuf.Type, object: Msg) {
    if (typeof object === 'string') return this.create(durationFromString(object));
    return this.fromObject(object);
  },
  toObject(this: protobuf.Type, message: Msg, options?: protobuf.IConversionOptions) {
    if (options?.json) return durationToString(Number(message.seconds ?? 0), Number(message.nanos ?? 0));
    return this.toObject(message, options);
  },
} as unknown as Wrapper;

function scalarWrapper(): Wrapper {
  return {
    fromObject(this: protobuf.Type, object: Msg) {
      if (object !== null && typeof object === 'object') return this.fromObject(object);
      return this.fromObject({ value: object });
    },
    toObject(this: protobuf.Type, message: Msg, options?: protobuf.IConversionOptions) {
      const o = this.toObject(message, options) as Msg;
      if (!options?.json) return o;
      return o.value ?? (this.fields.value?.type === 'bool' ? false : this.fields.value?.type === 'string' ? '' : 0);
    },
  } as unknown as Wrapper;
}

export function valueFromJson(v: unknown): Msg {
  if (v === null || v === undefined) return { nullValue: 0 };
  if (typeof v === 'number') return { numberValue: v };
  if (typeof v === 'string') return { stringValue: v };
  if (typeof v === 'boolean') return { boolValue: v };
  if (Array.isArray(v)) return { listValue: { values: v.map(valueFromJson) } };
  return { structValue: structFromJson(v as Record<string, unknown>) };
}
export function structFromJson(o: Record<string, unknown>): Msg {
  const fields: Record<string, Msg> = {};
  for (const [k, v] of Object.entries(o)) fields[k] = valueFromJson(v);
  return { fields };
}
function valueToJson(v: Msg): unknown {
  if (!v) return null;
  if ('stringValue' in v && v.stringValue !== undefined && v.stringValue !== null) return v.stringValue;
  if ('numberValue' in v && v.numberValue !== undefined && v.numberValue !== null) return v.numberValue;
  if ('boolValue' in v && v.boolValue !== undefined && v.boolValue !== null) return v.boolValue;
  if (v.structValue) return structToJson(v.structValue);
  if (v.listValue) return (v.listValue.values ?? []).map(valueToJson);
  return null;
}
function structToJson(s: Msg): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(s?.fields ?? {})) out[k] = valueToJson(v);
  return out;
}

const struct = {
  fromObject(this: protobuf.Type, object: Msg) {
    if (object && typeof object === 'object' && !('fields' in object)) {
      return this.fromObject(structFromJson(object));
    }
    return this.fromObject(object);
  },
  toObject(this: protobuf.Type, message: Msg, options?: protobuf.IConversionOptions) {
    const o = this.toObject(message, { ...options, json: false, oneofs: false, defaults: false });
    return options?.json ? structToJson(o) : o;
  },
} as unknown as Wrapper;

/** Full names of the protobuf wrapper types mapped to bare scalars in JSON. */
export const SCALAR_WRAPPER_TYPES: ReadonlySet<string> = new Set(
  [
    'UInt32Value',
    'UInt64Value',
    'Int32Value',
    'Int64Value',
    'BoolValue',
    'StringValue',
    'DoubleValue',
    'FloatValue',
  ].map((t) => `.google.protobuf.${t}`),
);

let installed = false;

/** Installs the JSON-mapping wrappers into protobufjs. Must run before any root is loaded. */
export function installJsonWrappers(): void {
  if (installed) return;
  installed = true;
  const w = protobuf.wrappers as Record<string, Wrapper>;
  w['.google.protobuf.Duration'] = duration;
  for (const name of SCALAR_WRAPPER_TYPES) w[name] = scalarWrapper();
  w['.google.protobuf.Struct'] = struct;
}
