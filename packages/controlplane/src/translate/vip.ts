/**
 * Istio's DNS auto-allocation: a ServiceEntry host with no `addresses` and a resolution other than
 * NONE gets a VIP from 240.240.0.0/16, answered by the sidecar's DNS and matched by its listeners.
 * Allocation is pure and deterministic: assignments already recorded in `status.addresses` are kept,
 * new hosts get the lowest free address in creation order (then namespace, name, host order).
 */
import type { Resource, ServiceEntrySpec } from '@sluice/config';
import { ipv4ToNumber, numberToIpv4 } from './address.js';

export const AUTO_VIP_BASE = '240.240.0.0';
const RANGE_SIZE = 1 << 16;

/** One entry of a ServiceEntry's `status.addresses` (Istio's shape). */
export interface VipAssignment {
  host: string;
  value: string;
}

/** Raised when the 240.240.0.0/16 range has no free address left. */
export class VipRangeExhaustedError extends Error {
  readonly code = 'XDS_VIP_RANGE_EXHAUSTED';
}

/** Whether a host of this entry gets an auto-allocated VIP. */
export function needsVip(spec: ServiceEntrySpec | undefined, host: string): boolean {
  if (!spec) return false;
  if ((spec.addresses?.length ?? 0) > 0) return false;
  if ((spec.resolution ?? 'NONE') === 'NONE') return false;
  return !host.includes('*');
}

function vipKey(namespace: string, host: string): string {
  return `${namespace}/${host}`;
}

/** Reads the VIPs recorded in entries' `status.addresses`, keyed `<namespace>/<host>`. */
export function existingVips(entries: readonly Resource<ServiceEntrySpec>[]): Map<string, string> {
  const out = new Map<string, string>();
  for (const e of entries) {
    const list = (e.status as { addresses?: unknown } | undefined)?.addresses;
    if (!Array.isArray(list)) continue;
    for (const a of list as { host?: unknown; value?: unknown }[]) {
      if (typeof a?.host === 'string' && typeof a.value === 'string') {
        out.set(vipKey(e.metadata.namespace ?? 'default', a.host), a.value);
      }
    }
  }
  return out;
}

/** Orders ServiceEntries as Istio does for precedence: creation time, then name, then namespace. */
export function byCreation(a: Resource, b: Resource): number {
  const ta = a.metadata.creationTimestamp ?? '';
  const tb = b.metadata.creationTimestamp ?? '';
  if (ta !== tb) return ta < tb ? -1 : 1;
  if (a.metadata.name !== b.metadata.name) return a.metadata.name < b.metadata.name ? -1 : 1;
  const na = a.metadata.namespace ?? '';
  const nb = b.metadata.namespace ?? '';
  return na < nb ? -1 : na > nb ? 1 : 0;
}

/**
 * Assigns a VIP to every host that needs one. `existing` (from {@link existingVips}) is kept where
 * still valid; returns, per `<namespace>/<name>` of each entry that needs VIPs, the list to store in
 * its `status.addresses`. Entries are not modified.
 */
export function allocateVips(
  existing: ReadonlyMap<string, string>,
  entries: readonly Resource<ServiceEntrySpec>[],
): Map<string, VipAssignment[]> {
  const base = ipv4ToNumber(AUTO_VIP_BASE);
  const ordered = [...entries].sort(byCreation);
  const wanted: { entryKey: string; key: string; host: string }[] = [];
  for (const e of ordered) {
    const ns = e.metadata.namespace ?? 'default';
    for (const host of e.spec?.hosts ?? []) {
      if (needsVip(e.spec, host)) wanted.push({ entryKey: `${ns}/${e.metadata.name}`, key: vipKey(ns, host), host });
    }
  }
  const assigned = new Map<string, string>();
  const used = new Set<string>();
  for (const w of wanted) {
    if (assigned.has(w.key)) continue;
    const prior = existing.get(w.key);
    if (prior && !used.has(prior) && inRange(prior, base)) {
      assigned.set(w.key, prior);
      used.add(prior);
    }
  }
  let next = 1;
  for (const w of wanted) {
    if (assigned.has(w.key)) continue;
    let ip: string | undefined;
    while (next < RANGE_SIZE - 1) {
      const candidate = numberToIpv4(base + next);
      next++;
      const last = candidate.slice(candidate.lastIndexOf('.') + 1);
      if (last === '0' || last === '255' || used.has(candidate)) continue;
      ip = candidate;
      break;
    }
    if (!ip) throw new VipRangeExhaustedError(`no free address left in ${AUTO_VIP_BASE}/16 for host ${w.host}`);
    assigned.set(w.key, ip);
    used.add(ip);
  }
  const out = new Map<string, VipAssignment[]>();
  for (const w of wanted) {
    const list = out.get(w.entryKey) ?? [];
    if (!list.some((a) => a.host === w.host)) list.push({ host: w.host, value: assigned.get(w.key)! });
    out.set(w.entryKey, list);
  }
  return out;
}

function inRange(ip: string, base: number): boolean {
  const n = ipv4ToNumber(ip);
  return /^\d+\.\d+\.\d+\.\d+$/.test(ip) && n > base && n < base + RANGE_SIZE;
}
