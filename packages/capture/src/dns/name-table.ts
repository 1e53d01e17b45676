import { isIPv4, isIPv6 } from 'node:net';
import { NameTableError } from '../errors.js';

/** One host of Istio's NDS name table (`istio.networking.nds.v1.NameTable.NameInfo`). */
export interface NameInfo {
  ips?: string[];
  /** `Kubernetes` for Services (short names are answered), anything else (e.g. `External`) for ServiceEntry hosts. */
  registry?: string;
  /** The Service's name (Kubernetes only). */
  shortname?: string;
  /** The Service's namespace (Kubernetes only). */
  namespace?: string;
  /** More names answered with the same addresses. */
  alt_hosts?: string[];
}

/** Istio's NDS name table: fully qualified host (or `*.suffix` wildcard) → addresses. */
export interface NameTable {
  table?: { [host: string]: NameInfo };
}

/** Where the answerer's workload lives, for Kubernetes short names and resolv.conf search suffixes. */
export interface DnsScope {
  /** Kubernetes namespace of the workload (default `default`). */
  namespace: string;
  /** Cluster domain (default `cluster.local`). */
  clusterDomain: string;
}

export interface HostAddresses {
  /** The table's own host (key) these addresses come from. */
  host: string;
  ipv4: readonly string[];
  ipv6: readonly string[];
}

export type NameLookup =
  | { found: false }
  /** `name` is what answers are written for: the asked name, or the search-suffix-free name after a CNAME. */
  | { found: true; name: string; cnameFrom?: string; addresses: HostAddresses };

const LABEL = /^[a-z0-9_]([a-z0-9_-]{0,61}[a-z0-9_])?$/;

function checkName(path: string, name: string, wildcardAllowed: boolean): string {
  const lower = name.toLowerCase().replace(/\.$/, '');
  const labels = lower.split('.');
  const body = wildcardAllowed && labels[0] === '*' ? labels.slice(1) : labels;
  if (lower.length > 253 || body.length === 0 || !body.every((l) => LABEL.test(l))) {
    throw new NameTableError(
      path,
      `${JSON.stringify(name)} is not a DNS name${wildcardAllowed ? ' (a wildcard is only allowed as the whole first label, as in *.example.com)' : ''}`,
    );
  }
  return lower;
}

/**
 * A name table compiled for lookups: exact names (including Kubernetes short forms, as Istio's DNS
 * proxy generates them) in one map, wildcard suffixes in another. Immutable once built.
 */
export class CompiledNameTable {
  private readonly exact = new Map<string, HostAddresses>();
  private readonly wildcards = new Map<string, HostAddresses>();
  private readonly searchSuffixes: string[];

  /** Validates `input` (throws `NameTableError` naming the field) and compiles it. */
  constructor(input: NameTable, scope: DnsScope) {
    const { namespace, clusterDomain } = scope;
    this.searchSuffixes = [`${namespace}.svc.${clusterDomain}`, `svc.${clusterDomain}`, clusterDomain];
    if (typeof input !== 'object' || input === null) throw new NameTableError('', 'must be an object { table: {...} }');
    const table = input.table ?? {};
    if (typeof table !== 'object' || table === null || Array.isArray(table)) {
      throw new NameTableError('table', 'must be an object mapping host names to { ips, ... }');
    }
    for (const [host, info] of Object.entries(table)) {
      const path = `table[${JSON.stringify(host)}]`;
      const name = checkName(path, host, true);
      if (typeof info !== 'object' || info === null)
        throw new NameTableError(path, 'must be an object { ips, registry, ... }');
      const ips = info.ips ?? [];
      if (!Array.isArray(ips)) throw new NameTableError(`${path}.ips`, 'must be a list of IP addresses');
      const ipv4: string[] = [];
      const ipv6: string[] = [];
      ips.forEach((address, i) => {
        if (typeof address === 'string' && isIPv4(address)) ipv4.push(address);
        else if (typeof address === 'string' && isIPv6(address)) ipv6.push(address.toLowerCase());
        else throw new NameTableError(`${path}.ips[${i}]`, `${JSON.stringify(address)} is not an IP address`);
      });
      const addresses: HostAddresses = Object.freeze({
        host: name,
        ipv4: Object.freeze(ipv4),
        ipv6: Object.freeze(ipv6),
      });
      if (name.startsWith('*.')) {
        this.wildcards.set(name.slice(2), addresses);
        continue;
      }
      this.exact.set(name, addresses);
      for (const alt of this.alternateNames(path, name, info, scope)) {
        if (!this.exact.has(alt)) this.exact.set(alt, addresses);
      }
    }
  }

  /** Istio's alternate names: `name.namespace`, `name.namespace.svc`, and `name` in the same namespace. */
  private alternateNames(path: string, host: string, info: NameInfo, scope: DnsScope): string[] {
    const alts: string[] = [];
    if (info.alt_hosts !== undefined && !Array.isArray(info.alt_hosts)) {
      throw new NameTableError(`${path}.alt_hosts`, 'must be a list of host names');
    }
    (info.alt_hosts ?? []).forEach((alt, i) => {
      alts.push(checkName(`${path}.alt_hosts[${i}]`, String(alt), false));
    });
    if (info.registry !== 'Kubernetes' || !host.endsWith(`.svc.${scope.clusterDomain}`)) return alts;
    if (typeof info.shortname !== 'string' || typeof info.namespace !== 'string') {
      throw new NameTableError(path, 'a Kubernetes host needs shortname and namespace');
    }
    const short = checkName(`${path}.shortname`, info.shortname, false);
    const ns = checkName(`${path}.namespace`, info.namespace, false);
    alts.push(`${short}.${ns}`, `${short}.${ns}.svc`);
    if (ns === scope.namespace) alts.push(short);
    return alts;
  }

  /** Number of names answered exactly plus wildcard suffixes. */
  get size(): number {
    return this.exact.size + this.wildcards.size;
  }

  /**
   * Looks a name up (case-insensitive, trailing dot ignored):
   *  1. an exact name (table key, alternate or short name);
   *  2. the most specific wildcard entry covering it;
   *  3. the name with one resolv.conf search suffix removed (answered as a CNAME to that name).
   */
  lookup(asked: string): NameLookup {
    const name = asked.toLowerCase().replace(/\.$/, '');
    const direct = this.lookupDirect(name);
    if (direct) return { found: true, name, addresses: direct };
    for (const suffix of this.searchSuffixes) {
      if (!name.endsWith(`.${suffix}`)) continue;
      const stripped = name.slice(0, -(suffix.length + 1));
      const hit = this.lookupDirect(stripped);
      if (hit) return { found: true, name: stripped, cnameFrom: name, addresses: hit };
    }
    return { found: false };
  }

  private lookupDirect(name: string): HostAddresses | undefined {
    const exact = this.exact.get(name);
    if (exact) return exact;
    let dot = name.indexOf('.');
    while (dot >= 0) {
      const hit = this.wildcards.get(name.slice(dot + 1));
      if (hit) return hit;
      dot = name.indexOf('.', dot + 1);
    }
    return undefined;
  }
}
