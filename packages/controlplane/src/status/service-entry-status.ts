/**
 * What a ServiceEntry's `status` should say, computed from the whole set of entries: the VIPs the
 * translation gives it (Istio's DNS auto-allocation, `status.addresses`) and, for an entry that
 * loses a shared TCP port to an older address-less entry, a `Conflict` condition naming the winner.
 * Pure: no I/O; never mutates its arguments.
 */
import { type Resource, type ServiceEntrySpec, type TcpPortConflict, tcpPortConflicts } from '@sluice/config';
import { allocateVips, existingVips, type VipAssignment } from '../translate/index.js';

/** The condition type Sluice sets on the loser of a shared-port conflict. */
export const CONFLICT_CONDITION_TYPE = 'Conflict';
/** Its reason (a stable, machine-readable word). */
export const SHARED_PORT_CONFLICT_REASON = 'SharedPortConflict';

/** One entry of `status.conditions` (Istio's IstioCondition shape). */
export interface StatusCondition {
  type: string;
  status: 'True' | 'False' | 'Unknown';
  reason?: string;
  message?: string;
  lastTransitionTime?: string;
}

/** What the control plane owns in one ServiceEntry's status. */
export interface ServiceEntryStatusPlan {
  namespace: string;
  name: string;
  /** The auto-allocated VIPs, or undefined when the entry gets none. */
  addresses: VipAssignment[] | undefined;
  /** The shared-port conflicts this entry loses (it is never listed as a winner here). */
  lostPorts: TcpPortConflict[];
}

export function entryKey(namespace: string, name: string): string {
  return `${namespace}/${name}`;
}

function namespaceOf(r: Resource): string {
  return r.metadata.namespace ?? 'default';
}

/**
 * Copies of `resources` in which every ServiceEntry's `status.addresses` is what the translation
 * allocates (removed where it allocates nothing); other resources are returned as they are.
 * This is the config as proxies see it (the same allocation as the translation's), so conflicts
 * computed on it match theirs. Throws VipRangeExhaustedError when 240.240.0.0/16 is full.
 */
export function withAllocatedVips(resources: readonly Resource[]): Resource[] {
  const entries = resources.filter((r) => r.kind === 'ServiceEntry') as Resource<ServiceEntrySpec>[];
  const vips = allocateVips(existingVips(entries), entries);
  return resources.map((r) => {
    if (r.kind !== 'ServiceEntry') return r;
    const status: Record<string, unknown> = { ...(r.status ?? {}) };
    const list = vips.get(entryKey(namespaceOf(r), r.metadata.name));
    if (list && list.length > 0) status['addresses'] = list.map((a) => ({ value: a.value, host: a.host }));
    else delete status['addresses'];
    const copy: Resource = { ...r, status };
    if (Object.keys(status).length === 0) delete copy.status;
    return copy;
  });
}

/** The status plan of every ServiceEntry in `resources`, keyed `<namespace>/<name>`. */
export function planServiceEntryStatuses(resources: readonly Resource[]): Map<string, ServiceEntryStatusPlan> {
  const effective = withAllocatedVips(resources.filter((r) => r.kind === 'ServiceEntry'));
  const plans = new Map<string, ServiceEntryStatusPlan>();
  for (const r of effective) {
    const list = r.status?.['addresses'] as VipAssignment[] | undefined;
    const namespace = namespaceOf(r);
    plans.set(entryKey(namespace, r.metadata.name), {
      namespace,
      name: r.metadata.name,
      addresses: list && list.length > 0 ? list : undefined,
      lostPorts: [],
    });
  }
  for (const c of tcpPortConflicts(effective)) {
    plans.get(entryKey(c.loser.namespace, c.loser.name))?.lostPorts.push(c);
  }
  return plans;
}

/** The text of the Conflict condition for an entry that lost `lost` (one item per port). */
export function conflictMessage(lost: readonly TcpPortConflict[]): string {
  const ports = [...new Set(lost.map((c) => c.port))];
  const claims = lost
    .map((c) => `port ${c.port} is already claimed by ServiceEntry ${c.winner.namespace}/${c.winner.name} (older)`)
    .join('; ');
  const ignored =
    ports.length === 1
      ? `this entry's TCP port ${ports[0]} is ignored`
      : `this entry's TCP ports ${ports.join(', ')} are ignored`;
  return `${claims}; ${ignored} — give it addresses or a DNS resolution so it gets a VIP`;
}

function conditionsOf(status: Record<string, unknown> | undefined): StatusCondition[] {
  const list = status?.['conditions'];
  return Array.isArray(list) ? (list as StatusCondition[]) : [];
}

/**
 * The status the entry should have: `current` with `addresses` and the `Conflict` condition set
 * from `plan`; every other field and condition is kept. A condition whose status does not change
 * keeps its `lastTransitionTime`. Returns undefined for an empty status.
 */
export function nextServiceEntryStatus(
  current: Record<string, unknown> | undefined,
  plan: ServiceEntryStatusPlan,
  now: () => string,
): Record<string, unknown> | undefined {
  const next: Record<string, unknown> = { ...(current ?? {}) };
  if (plan.addresses) next['addresses'] = plan.addresses.map((a) => ({ value: a.value, host: a.host }));
  else delete next['addresses'];
  const others = conditionsOf(current).filter((c) => c?.type !== CONFLICT_CONDITION_TYPE);
  const prior = conditionsOf(current).find((c) => c?.type === CONFLICT_CONDITION_TYPE);
  const conditions = [...others];
  if (plan.lostPorts.length > 0) {
    conditions.push({
      type: CONFLICT_CONDITION_TYPE,
      status: 'True',
      reason: SHARED_PORT_CONFLICT_REASON,
      message: conflictMessage(plan.lostPorts),
      lastTransitionTime: prior?.status === 'True' && prior.lastTransitionTime ? prior.lastTransitionTime : now(),
    });
  }
  if (conditions.length > 0) next['conditions'] = conditions;
  else delete next['conditions'];
  return Object.keys(next).length > 0 ? next : undefined;
}

/** Structural equality of two JSON values (key order ignored). */
export function sameJson(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (Array.isArray(a)) return Array.isArray(b) && a.length === b.length && a.every((x, i) => sameJson(x, b[i]));
  if (a === null || b === null || typeof a !== 'object' || typeof b !== 'object' || Array.isArray(b)) return false;
  const ka = Object.keys(a as object).filter((k) => (a as Record<string, unknown>)[k] !== undefined);
  const kb = Object.keys(b as object).filter((k) => (b as Record<string, unknown>)[k] !== undefined);
  return (
    ka.length === kb.length &&
    ka.every((k) => sameJson((a as Record<string, unknown>)[k], (b as Record<string, unknown>)[k]))
  );
}
