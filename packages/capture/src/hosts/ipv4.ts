import { CaptureOptionsError } from '../errors.js';

/** An IPv4 subnet in CIDR form with its derived addresses. */
export interface Ipv4Subnet {
  cidr: string;
  network: number;
  prefixLength: number;
}

export function parseIpv4(text: string, path: string): number {
  const m = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/.exec(text);
  if (!m) throw new CaptureOptionsError(path, `must be an IPv4 address like 10.233.77.10, got ${JSON.stringify(text)}`);
  let value = 0;
  for (const part of m.slice(1)) {
    const octet = Number(part);
    if (octet > 255 || (part.length > 1 && part.startsWith('0'))) {
      throw new CaptureOptionsError(path, `must be an IPv4 address like 10.233.77.10, got ${JSON.stringify(text)}`);
    }
    value = value * 256 + octet;
  }
  return value;
}

export function formatIpv4(value: number): string {
  return [value >>> 24, (value >>> 16) & 255, (value >>> 8) & 255, value & 255].join('.');
}

export function parseIpv4Subnet(text: string, path: string, minPrefix = 0, maxPrefix = 32): Ipv4Subnet {
  if (typeof text !== 'string') throw new CaptureOptionsError(path, 'must be an IPv4 CIDR like 10.233.77.0/24');
  const [addr, len, extra] = text.split('/');
  const prefixLength = Number(len);
  if (addr === undefined || extra !== undefined || !/^\d{1,2}$/.test(len ?? '') || prefixLength > 32) {
    throw new CaptureOptionsError(path, `must be an IPv4 CIDR like 10.233.77.0/24, got ${JSON.stringify(text)}`);
  }
  if (prefixLength < minPrefix || prefixLength > maxPrefix) {
    throw new CaptureOptionsError(path, `prefix length must be /${minPrefix} to /${maxPrefix}, got /${prefixLength}`);
  }
  const network = parseIpv4(addr, path);
  if ((network & hostMask(prefixLength)) >>> 0 !== 0) {
    throw new CaptureOptionsError(
      path,
      `${text} has host bits set; the network address is ${formatIpv4(networkOf(network, prefixLength))}/${prefixLength}`,
    );
  }
  return { cidr: text, network, prefixLength };
}

export function hostMask(prefixLength: number): number {
  return prefixLength === 0 ? 0xffffffff : (2 ** (32 - prefixLength) - 1) >>> 0;
}

export function networkOf(address: number, prefixLength: number): number {
  return (address - (address % 2 ** (32 - prefixLength))) >>> 0;
}

export function subnetContains(subnet: Ipv4Subnet, address: number): boolean {
  return networkOf(address, subnet.prefixLength) === subnet.network;
}

export function subnetsOverlap(a: Ipv4Subnet, b: Ipv4Subnet): boolean {
  const shorter = Math.min(a.prefixLength, b.prefixLength);
  return networkOf(a.network, shorter) === networkOf(b.network, shorter);
}
