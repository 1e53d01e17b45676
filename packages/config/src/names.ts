/**
 * Syntax of the names Kubernetes and Istio accept: DNS-1123 labels and subdomains, DNS-1035
 * labels, (wildcard) host names, label keys and values, IPs and CIDRs. Pure string checks.
 */

const DNS1123_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
const DNS1035_LABEL = /^[a-z]([-a-z0-9]*[a-z0-9])?$/;
const DNS1123_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
/** Host labels as Istio checks them (case-insensitive). */
const HOST_LABEL = /^[a-zA-Z0-9]([-a-zA-Z0-9]*[a-zA-Z0-9])?$/;
const WILDCARD_LABEL = /^\*[-a-zA-Z0-9]*$/;
const LABEL_NAME = /^([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]$/;
const IPV4_OCTET = /^(0|[1-9]\d{0,2})$/;
const IPV6_GROUP = /^[0-9a-fA-F]{1,4}$/;
const PREFIX_BITS = /^\d{1,3}$/;

export function isDns1123Label(s: string): boolean {
  return s.length <= 63 && DNS1123_LABEL.test(s);
}
export function isDns1035Label(s: string): boolean {
  return s.length <= 63 && DNS1035_LABEL.test(s);
}
export function isDns1123Subdomain(s: string): boolean {
  return s.length <= 253 && DNS1123_SUBDOMAIN.test(s);
}

/** Why a host name (optionally with a wildcard first label) is invalid, or undefined when valid. */
export function hostProblem(host: string, allowWildcard = true): string | undefined {
  if (host.length === 0) return 'it is empty';
  if (host.length > 255) return 'it is longer than 255 characters';
  const trimmed = host.endsWith('.') ? host.slice(0, -1) : host;
  const labels = trimmed.split('.');
  for (const [i, label] of labels.entries()) {
    if (label.length > 63) return `label ${JSON.stringify(label)} is longer than 63 characters`;
    if (i === 0 && allowWildcard && WILDCARD_LABEL.test(label)) continue;
    if (label.includes('*'))
      return `wildcard ${JSON.stringify(label)} is only allowed as the whole first label (like "*.example.com")`;
    if (!HOST_LABEL.test(label)) return `label ${JSON.stringify(label)} is not a valid DNS label`;
  }
  return undefined;
}

/** `*foo.com`: a wildcard that is not the whole first label (Istio warns). */
export function isPartialWildcard(host: string): boolean {
  return host.includes('*') && host !== '*' && !host.startsWith('*.');
}

/** A fully qualified, non-wildcard DNS name. */
export function isFqdn(host: string): boolean {
  return !host.includes('*') && hostProblem(host, false) === undefined;
}

/** Why a label key is invalid (Kubernetes qualified name: optional DNS prefix + "/" + name), or undefined. */
export function labelKeyProblem(key: string): string | undefined {
  const slash = key.indexOf('/');
  const prefix = slash >= 0 ? key.slice(0, slash) : undefined;
  const name = slash >= 0 ? key.slice(slash + 1) : key;
  if (prefix !== undefined && !isDns1123Subdomain(prefix))
    return `prefix ${JSON.stringify(prefix)} is not a DNS-1123 subdomain`;
  if (name.length === 0 || name.length > 63) return 'the name part must be 1–63 characters';
  if (!LABEL_NAME.test(name))
    return 'the name part must be alphanumeric, "-", "_" or ".", starting and ending with an alphanumeric';
  return undefined;
}

export function labelValueProblem(value: string): string | undefined {
  if (value === '') return undefined;
  if (value.length > 63) return 'it is longer than 63 characters';
  if (!LABEL_NAME.test(value))
    return 'it must be alphanumeric, "-", "_" or ".", starting and ending with an alphanumeric';
  return undefined;
}

export function isIPv4(s: string): boolean {
  const parts = s.split('.');
  return parts.length === 4 && parts.every((p) => IPV4_OCTET.test(p) && Number(p) <= 255);
}

export function isIPv6(s: string): boolean {
  if (s.length < 2 || s.length > 45) return false;
  let groups = s;
  let extra = 0;
  const lastColon = s.lastIndexOf(':');
  const tail = s.slice(lastColon + 1);
  if (tail.includes('.')) {
    if (!isIPv4(tail)) return false;
    groups = `${s.slice(0, lastColon + 1)}0:0`;
    extra = 0;
  }
  const halves = groups.split('::');
  if (halves.length > 2) return false;
  const left = ipv6Groups(halves[0] ?? '');
  const right = halves.length === 2 ? ipv6Groups(halves[1] ?? '') : [];
  if (!left.every((g) => IPV6_GROUP.test(g)) || !right.every((g) => IPV6_GROUP.test(g))) return false;
  const total = left.length + right.length + extra;
  return halves.length === 2 ? total <= 7 : total === 8;
}

function ipv6Groups(h: string): string[] {
  return h === '' ? [] : h.split(':');
}

export function isIp(s: string): boolean {
  return isIPv4(s) || isIPv6(s);
}

/** Why `s` is not an IP or CIDR, or undefined when it is one. */
export function ipOrCidrProblem(s: string): string | undefined {
  const slash = s.indexOf('/');
  if (slash < 0) return isIp(s) ? undefined : 'it is not an IP address or a CIDR block';
  const ip = s.slice(0, slash);
  const bits = s.slice(slash + 1);
  const max = isIPv4(ip) ? 32 : isIPv6(ip) ? 128 : -1;
  if (max < 0) return `${JSON.stringify(ip)} is not an IP address`;
  if (!PREFIX_BITS.test(bits) || Number(bits) > max) return `prefix length ${JSON.stringify(bits)} must be 0–${max}`;
  return undefined;
}
