/** IP address and CIDR helpers for filter chain matches. Pure. */
import { isIP } from 'node:net';

export interface CidrRange {
  address_prefix: string;
  prefix_len: number;
}

/** Parses "10.0.0.1", "10.0.0.0/24" or "::1/128" into Envoy's CidrRange; undefined if it is neither. */
export function parseCidr(s: string): CidrRange | undefined {
  const slash = s.indexOf('/');
  const addr = slash < 0 ? s : s.slice(0, slash);
  const family = isIP(addr);
  if (!family) return undefined;
  const max = family === 4 ? 32 : 128;
  if (slash < 0) return { address_prefix: addr, prefix_len: max };
  const lenText = s.slice(slash + 1);
  if (!/^\d{1,3}$/.test(lenText)) return undefined;
  const len = Number(lenText);
  if (len > max) return undefined;
  return { address_prefix: addr, prefix_len: len };
}

/** True when the address names exactly one host (a plain IP, /32 or /128): usable as a DNS answer. */
export function hostAddress(s: string): string | undefined {
  const c = parseCidr(s);
  if (!c) return undefined;
  const max = isIP(c.address_prefix) === 4 ? 32 : 128;
  return c.prefix_len === max ? c.address_prefix : undefined;
}

export function ipv4ToNumber(ip: string): number {
  const p = ip.split('.').map(Number);
  return (((p[0] ?? 0) << 24) | ((p[1] ?? 0) << 16) | ((p[2] ?? 0) << 8) | (p[3] ?? 0)) >>> 0;
}

export function numberToIpv4(n: number): string {
  return [(n >>> 24) & 255, (n >>> 16) & 255, (n >>> 8) & 255, n & 255].join('.');
}
