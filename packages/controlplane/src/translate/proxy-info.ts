/**
 * Reads a proxy's identity from its xDS Node: Istio's id form
 * `sidecar~<ip>~<pod>.<ns>~<ns>.svc.cluster.local` and the metadata keys NAMESPACE, LABELS,
 * SERVICE_ACCOUNT, WORKLOAD_NAME, NAME and INSTANCE_IPS. Metadata wins over the id.
 */
import type { ProxyInfo } from './types.js';

/** A node the translation cannot place: the message names the field and the expected form. */
export class InvalidNodeError extends Error {
  readonly code = 'XDS_INVALID_NODE';
}

type Json = unknown;

/** Converts a google.protobuf.Struct/Value as proto-loader decodes it (or plain JSON) to plain JSON. */
export function plainFromStruct(v: Json): Json {
  if (v === null || typeof v !== 'object') return v;
  const o = v as Record<string, Json>;
  if ('fields' in o && o.fields && typeof o.fields === 'object' && Object.keys(o).every((k) => k === 'fields')) {
    const out: Record<string, Json> = {};
    for (const [k, fv] of Object.entries(o.fields as Record<string, Json>)) out[k] = plainFromValue(fv);
    return out;
  }
  return o;
}

function plainFromValue(v: Json): Json {
  if (v === null || typeof v !== 'object') return v;
  const o = v as Record<string, Json>;
  const kind =
    typeof o.kind === 'string' ? o.kind : Object.keys(o).find((k) => k.endsWith('Value') || k === 'null_value');
  switch (kind) {
    case 'stringValue':
    case 'string_value':
      return o[kind];
    case 'numberValue':
    case 'number_value':
      return o[kind];
    case 'boolValue':
    case 'bool_value':
      return o[kind];
    case 'structValue':
    case 'struct_value':
      return plainFromStruct(o[kind]);
    case 'listValue':
    case 'list_value': {
      const lv = o[kind] as { values?: Json[] } | undefined;
      return (lv?.values ?? []).map(plainFromValue);
    }
    case 'nullValue':
    case 'null_value':
      return null;
    default:
      return o;
  }
}

function stringMap(v: Json, field: string): Record<string, string> {
  if (v === undefined || v === null) return {};
  if (typeof v !== 'object' || Array.isArray(v))
    throw new InvalidNodeError(`node.metadata.${field}: expected a map of strings`);
  const out: Record<string, string> = {};
  for (const [k, val] of Object.entries(v as Record<string, Json>)) {
    if (typeof val !== 'string') throw new InvalidNodeError(`node.metadata.${field}.${k}: expected a string`);
    out[k] = val;
  }
  return out;
}

/** Builds a {@link ProxyInfo} from an xDS Node. Throws {@link InvalidNodeError}. */
export function proxyInfoFromNode(node: { id?: string; metadata?: Json } | undefined): ProxyInfo {
  if (!node?.id)
    throw new InvalidNodeError('node.id: required (Istio form sidecar~<ip>~<pod>.<ns>~<ns>.svc.cluster.local)');
  const parts = node.id.split('~');
  if (parts.length !== 4) {
    throw new InvalidNodeError(
      `node.id: "${node.id}" is not of the form <type>~<ip>~<pod>.<namespace>~<namespace>.svc.cluster.local`,
    );
  }
  const [type, ip, podDotNs, domain] = parts as [string, string, string, string];
  const dot = podDotNs.lastIndexOf('.');
  const idPod = dot > 0 ? podDotNs.slice(0, dot) : podDotNs;
  const idNs = dot > 0 ? podDotNs.slice(dot + 1) : (domain.split('.')[0] ?? '');
  const md = (plainFromStruct(node.metadata ?? {}) ?? {}) as Record<string, Json>;
  const str = (k: string): string | undefined => {
    const v = md[k];
    if (v === undefined || v === null || v === '') return undefined;
    if (typeof v !== 'string') throw new InvalidNodeError(`node.metadata.${k}: expected a string`);
    return v;
  };
  const namespace = str('NAMESPACE') ?? idNs;
  if (!namespace)
    throw new InvalidNodeError(`node.id: "${node.id}" names no namespace and node.metadata.NAMESPACE is unset`);
  const instanceIps = str('INSTANCE_IPS');
  const ips = instanceIps
    ? instanceIps
        .split(',')
        .map((s) => s.trim())
        .filter(Boolean)
    : ip
      ? [ip]
      : [];
  const info: ProxyInfo = {
    id: node.id,
    type,
    ips,
    podName: str('NAME') ?? idPod,
    namespace,
    labels: stringMap(md.LABELS, 'LABELS'),
  };
  const sa = str('SERVICE_ACCOUNT');
  if (sa) info.serviceAccount = sa;
  const wl = str('WORKLOAD_NAME');
  if (wl) info.workloadName = wl;
  return info;
}
