/**
 * Shared-port TCP conflicts: ServiceEntries without addresses each claim every IP on their TCP
 * ports. Istio keeps the oldest (creationTimestamp, then name, then namespace) and silently drops
 * the others; Sluice picks the same winner and reports every loser.
 */
import type { Resource, ResourceRef } from '../resource.js';
import { resourceRef } from '../validate/collector.js';
import { isTcpLikeProtocol } from '../validate/protocols.js';
import { isObj, listAt, numAt, objAt, strAt } from '../validate/values.js';

export interface TcpPortConflict {
  port: number;
  winner: ResourceRef;
  loser: ResourceRef;
  /** The resources themselves, for callers that need more than the reference. */
  winnerResource: Resource;
  loserResource: Resource;
}

/** Milliseconds since the epoch; a missing or unreadable time sorts first, like Go's zero time. */
function created(r: Resource): number {
  const t = Date.parse(r.metadata?.creationTimestamp ?? '');
  return Number.isNaN(t) ? Number.NEGATIVE_INFINITY : t;
}

interface Claim {
  r: Resource;
  ref: ResourceRef;
  /** `created(r)`, read once. */
  age: number;
}

function compareAge(a: Claim, b: Claim): number {
  const ta = a.age;
  const tb = b.age;
  if (ta !== tb) return ta < tb ? -1 : 1;
  if (a.ref.name !== b.ref.name) return a.ref.name < b.ref.name ? -1 : 1;
  if (a.ref.namespace !== b.ref.namespace) return a.ref.namespace < b.ref.namespace ? -1 : 1;
  return 0;
}

function hasAddresses(r: Resource): boolean {
  return listAt(r.spec, 'addresses').length > 0 || listAt(objAt(r, 'status'), 'addresses').length > 0;
}

/**
 * Winner/loser pairs, one per losing entry and port, ordered by port then loser age. Entries are
 * grouped by port, so the cost grows with the number of entries (times log n for the sort).
 * Entries with `spec.addresses` or auto-allocated `status.addresses` claim no shared port.
 */
export function tcpPortConflicts(resources: readonly Resource[]): TcpPortConflict[] {
  const claims = new Map<number, Claim[]>();
  for (const r of resources) {
    if (!isObj(r) || r.kind !== 'ServiceEntry' || hasAddresses(r)) continue;
    const ref = resourceRef(r);
    if (!ref) continue;
    const ports = new Set<number>();
    for (const port of listAt(r.spec, 'ports')) {
      const number = numAt(port, 'number');
      if (number !== undefined && isTcpLikeProtocol(strAt(port, 'protocol'))) ports.add(number);
    }
    const claim: Claim = { r, ref, age: created(r) };
    for (const port of ports) {
      const list = claims.get(port);
      if (list) list.push(claim);
      else claims.set(port, [claim]);
    }
  }
  const conflicts: TcpPortConflict[] = [];
  for (const port of [...claims.keys()].sort((a, b) => a - b)) {
    const list = (claims.get(port) ?? []).sort(compareAge);
    const [winner, ...losers] = list;
    if (!winner) continue;
    for (const loser of losers)
      conflicts.push({ port, winner: winner.ref, loser: loser.ref, winnerResource: winner.r, loserResource: loser.r });
  }
  return conflicts;
}
