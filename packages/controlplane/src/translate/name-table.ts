/** The DNS name table (Istio's NDS NameTable) for the services a proxy sees. Pure. */
import { hostAddress } from './address.js';
import type { MeshService } from './mesh-services.js';
import type { NameTable } from './types.js';

export function buildNameTable(services: readonly MeshService[], proxyNamespace: string): NameTable {
  const entries = new Map<string, NameTable['table'][string]>();
  for (const svc of [...services].sort((a, b) => a.rank - b.rank)) {
    if (svc.hostname.includes('*') || entries.has(svc.hostname)) continue;
    const ips = svc.addresses.map(hostAddress).filter((a): a is string => a !== undefined);
    if (ips.length === 0) continue;
    if (svc.kind === 'Service') {
      const base = `${svc.name}.${svc.namespace}`;
      const alt = [`${base}.svc`, base];
      if (svc.namespace === proxyNamespace) alt.push(svc.name);
      entries.set(svc.hostname, {
        ips,
        registry: 'Kubernetes',
        shortname: svc.name,
        namespace: svc.namespace,
        alt_hosts: alt,
      });
    } else {
      entries.set(svc.hostname, { ips, registry: 'External' });
    }
  }
  const table: NameTable['table'] = {};
  for (const host of [...entries.keys()].sort()) table[host] = entries.get(host)!;
  return { table };
}
