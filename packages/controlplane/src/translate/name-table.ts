/** The DNS name table (Istio's NDS NameTable) for the services a proxy sees. Pure. */
import { hostAddress } from './address.js';
import type { MeshService } from './mesh-services.js';
import type { NameTable } from './types.js';

type NameInfo = NameTable['table'][string];

/**
 * The entry of a service, kept while the MeshService object (which stays the same while its
 * resource does) is, so unchanged hosts keep their objects and encodings from snapshot to snapshot.
 * `null`: the service has no entry. Keyed by proxy namespace (it decides the short alt host).
 */
const entryMemo = new WeakMap<MeshService, Map<string, NameInfo | null>>();

function entryOf(svc: MeshService, proxyNamespace: string): NameInfo | null {
  const ns = svc.kind === 'Service' ? proxyNamespace : '';
  let byNs = entryMemo.get(svc);
  const known = byNs?.get(ns);
  if (known !== undefined) return known;
  let info: NameInfo | null = null;
  const ips = svc.addresses.map(hostAddress).filter((a): a is string => a !== undefined);
  if (ips.length > 0 && svc.kind === 'Service') {
    const base = `${svc.name}.${svc.namespace}`;
    const alt = [`${base}.svc`, base];
    if (svc.namespace === proxyNamespace) alt.push(svc.name);
    info = { ips, registry: 'Kubernetes', shortname: svc.name, namespace: svc.namespace, alt_hosts: alt };
  } else if (ips.length > 0) {
    info = { ips, registry: 'External' };
  }
  if (!byNs) {
    byNs = new Map();
    entryMemo.set(svc, byNs);
  }
  byNs.set(ns, info);
  return info;
}

/** Returned entry objects are shared between tables: do not mutate. */
export function buildNameTable(services: readonly MeshService[], proxyNamespace: string): NameTable {
  const entries = new Map<string, NameInfo>();
  for (const svc of [...services].sort((a, b) => a.rank - b.rank)) {
    if (svc.hostname.includes('*') || entries.has(svc.hostname)) continue;
    const info = entryOf(svc, proxyNamespace);
    if (info) entries.set(svc.hostname, info);
  }
  const table: NameTable['table'] = {};
  for (const host of [...entries.keys()].sort()) table[host] = entries.get(host)!;
  return { table };
}
