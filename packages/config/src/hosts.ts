/** Host name matching and short-name resolution, as Istio does them. */
import { isIp } from './names.js';

export const CLUSTER_DOMAIN = 'cluster.local';

/**
 * Istio's ResolveShortnameToFQDN: a name without a dot (`reviews`) becomes
 * `reviews.<namespace>.svc.cluster.local`; names with a dot, IPs and `*` stay as written.
 */
export function resolveHost(host: string, namespace: string): string {
  if (host === '*' || isIp(host) || host.includes('.')) return host.toLowerCase();
  return `${host}.${namespace}.svc.${CLUSTER_DOMAIN}`.toLowerCase();
}

/** True when `pattern` (possibly `*`, `*.example.com`) covers `host` (which may itself be a wildcard). */
export function hostCovers(pattern: string, host: string): boolean {
  const p = pattern.toLowerCase();
  const h = host.toLowerCase();
  if (p === '*' || p === h) return true;
  if (!p.startsWith('*')) return false;
  const suffix = p.slice(1);
  if (h.startsWith('*')) return h.slice(1).endsWith(suffix) && h.length >= p.length;
  return h.endsWith(suffix) && h.length > suffix.length;
}

/** True when the two hosts (either may be a wildcard) have a name in common. */
export function hostsOverlap(a: string, b: string): boolean {
  return hostCovers(a, b) || hostCovers(b, a);
}
