import { createHash } from 'node:crypto';
import { CaptureOptionsError, VipRangeExhaustedError } from '../errors.js';
import { formatIpv4, hostMask, parseIpv4, parseIpv4Subnet } from '../hosts/ipv4.js';

/** Istio's range for auto-allocated ServiceEntry VIPs. */
export const SERVICE_ENTRY_VIP_RANGE = '240.240.0.0/16';

/**
 * Picks a VIP for `host` in `range` (IPv4 CIDR, /8 to /30), stable for the host: the address is
 * derived from a hash of the host name, and when that one is in `taken`, the next free address
 * after it (wrapping) is used. The network and broadcast addresses are never handed out. Pure.
 */
export function allocateVip(host: string, taken: ReadonlySet<string>, range: string = SERVICE_ENTRY_VIP_RANGE): string {
  if (typeof host !== 'string' || host.length === 0)
    throw new CaptureOptionsError('host', 'must be a non-empty host name');
  const subnet = parseIpv4Subnet(range, 'range', 8, 30);
  const usable = hostMask(subnet.prefixLength) - 1; // without network and broadcast addresses
  const digest = createHash('sha256').update(host.toLowerCase()).digest();
  const start = digest.readUInt32BE(0) % usable;
  for (let i = 0; i < usable; i++) {
    const candidate = formatIpv4(subnet.network + 1 + ((start + i) % usable));
    if (!taken.has(candidate)) return candidate;
  }
  throw new VipRangeExhaustedError(range, host);
}

/** True when `address` is an IPv4 address inside `range`. */
export function vipInRange(address: string, range: string = SERVICE_ENTRY_VIP_RANGE): boolean {
  const subnet = parseIpv4Subnet(range, 'range');
  try {
    const value = parseIpv4(address, 'address');
    return value - (value % 2 ** (32 - subnet.prefixLength)) === subnet.network;
  } catch {
    return false;
  }
}
