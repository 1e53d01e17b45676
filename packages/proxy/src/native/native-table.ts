/**
 * Encodes a snapshot's outbound decision table for the relay thread that accepts (layout:
 * native/decision_table.h), so it decides an IPv4 connection and connects it at once instead of
 * asking the event loop. Each decision carries what the thread does with it: close it (black
 * hole), connect it to the original destination or to the cluster's endpoints (round robin,
 * counted against the cluster's max_connections in the shared counters), or leave it to
 * JavaScript — HTTP chains, weighted clusters, host names, clusters without endpoints, and every
 * group told apart by SNI or transport. `decideEgress` stays the reference: the verdict the thread
 * reports is an index into {@link NativeTable.decisions}, the very objects decideEgress returns.
 */
import { BLACK_HOLE_CLUSTER, type EgressDecision } from '../decision/decision.js';
import { parseIpv4 } from '../decision/ip.js';
import {
  CAPTURE_PORT_DECISION,
  type DecisionTable,
  type GroupLayout,
  NO_FILTER_CHAIN_DECISION,
  type PlainDecision,
  tableLayout,
} from '../decision/table.js';
import type { ClusterTable } from '../upstream/cluster-table.js';

/** What the relay thread does with a decision (native `enum dt_action`). */
export const NativeAction = { JavaScript: 0, BlackHole: 1, Original: 2, Endpoints: 3 } as const;
export type NativeAction = (typeof NativeAction)[keyof typeof NativeAction];

const NONE = -1;
const ASK_JS = -2;
const EMPTY = -2147483648;
const I32_MAX = 2147483647;
const ms = (v: number) => Math.min(I32_MAX, Math.max(0, Math.round(v)));

/** A compiled table: the spec for the addon and what its indices mean. */
export interface NativeTable {
  readonly spec: Int32Array;
  readonly decisions: readonly EgressDecision[];
  /** Per decision: the action, the cluster connected to. */
  readonly actions: readonly NativeAction[];
  readonly clusters: readonly string[];
  /** `ip:port` of each endpoint index the thread reports. */
  readonly endpoints: readonly string[];
}

interface Plan {
  action: NativeAction;
  cluster: string;
  slot: number;
  max: number;
  connectMs: number;
  idleMs: number;
  maxMs: number;
  keepaliveS: number;
  endpoints: readonly { ip: number; text: string; port: number }[];
}

function planFor(d: EgressDecision, clusters: ClusterTable | undefined): Plan {
  const plan: Plan = {
    action: NativeAction.JavaScript,
    cluster: d.cluster,
    slot: -1,
    max: 0,
    connectMs: 0,
    idleMs: 0,
    maxMs: 0,
    keepaliveS: -1,
    endpoints: [],
  };
  if (d.verdict === 'blackhole') {
    plan.action = NativeAction.BlackHole;
    plan.cluster = d.cluster || BLACK_HOLE_CLUSTER;
    return plan;
  }
  const chain = d.filterChain;
  if (!clusters || chain?.kind === 'http' || (chain && chain.weightedClusters.length > 0)) return plan;
  if (!clusters.clusterExists(d.cluster)) return plan; // NC: JavaScript says so
  const where = clusters.endpointPlan(d.cluster);
  if (!where) return plan; // UH
  const endpoints: { ip: number; text: string; port: number }[] = [];
  if (where !== 'original') {
    for (const ep of where) {
      const ip = parseIpv4(ep.address);
      if (ip === undefined) return plan; // a host name or IPv6: Node's resolver / JavaScript
      endpoints.push({ ip, text: `${ep.address}:${ep.port}`, port: ep.port });
    }
  }
  const slot = clusters.counters.slot(d.cluster);
  if (slot < 0) return plan;
  const keepalive = clusters.keepalive(d.cluster)?.initialDelayMs;
  return {
    action: where === 'original' ? NativeAction.Original : NativeAction.Endpoints,
    cluster: d.cluster,
    slot,
    // Istio sends 4294967295 for "unlimited": it must not wrap to -1 in the Int32Array spec.
    max: Math.min(I32_MAX, clusters.maxConnections(d.cluster)),
    connectMs: ms(clusters.connectTimeoutMs(d.cluster)),
    idleMs: ms(chain?.idleTimeoutMs ?? 0),
    maxMs: ms(chain?.maxConnectionDurationMs ?? 0),
    keepaliveS: keepalive === undefined ? -1 : Math.max(1, Math.round(keepalive / 1000)),
    endpoints,
  };
}

/** Compiles `table` (with the snapshot's clusters; without them every route is left to JavaScript). */
export function compileNativeTable(table: DecisionTable, clusters: ClusterTable | undefined): NativeTable {
  const layout = tableLayout(table);
  const index = new Map<EgressDecision, number>();
  const decisions: EgressDecision[] = [];
  const idx = (d: EgressDecision | undefined): number => {
    if (!d) return NONE;
    let i = index.get(d);
    if (i === undefined) {
      i = decisions.length;
      decisions.push(d);
      index.set(d, i);
    }
    return i;
  };
  const plainIdx = (p: PlainDecision): number => (p === 'tls' ? ASK_JS : p === null ? NONE : idx(p));
  const captureIdx = idx(CAPTURE_PORT_DECISION);
  const noFilterIdx = idx(NO_FILTER_CHAIN_DECISION);
  const virtualDefaultIdx = idx(layout.virtualDefault);
  const body: number[] = [];
  for (const pt of layout.ports) {
    const hosts = pt.v4.filter((e) => e.len === 32);
    const cidrs = pt.v4.filter((e) => e.len < 32).sort((a, b) => b.len - a.len);
    const group = (g: GroupLayout) => [plainIdx(g.plain), idx(g.fallback)];
    body.push(
      pt.kind,
      pt.port,
      pt.portOnly ? plainIdx(pt.portOnly.plain) : EMPTY,
      pt.claimsAll ? 1 : 0,
      idx(pt.defaultDecision),
      hosts.length,
      cidrs.length,
    );
    for (const h of hosts) body.push(h.ip | 0, ...group(h.group));
    for (const c of cidrs) body.push(c.ip | 0, c.len, ...group(c.group));
  }
  const plans = decisions.map((d) => planFor(d, clusters));
  const endpoints: string[] = [];
  const head = [1, layout.capturePort, captureIdx, noFilterIdx, virtualDefaultIdx, decisions.length];
  const decisionInts: number[] = [];
  const endpointInts: number[] = [];
  for (const p of plans) {
    const start = endpoints.length;
    for (const ep of p.endpoints) {
      endpoints.push(ep.text);
      endpointInts.push(ep.ip | 0, ep.port);
    }
    decisionInts.push(
      p.action,
      p.slot,
      p.max,
      p.connectMs,
      p.idleMs,
      p.maxMs,
      p.keepaliveS,
      start,
      p.endpoints.length,
      0,
    );
  }
  head.push(endpoints.length, layout.ports.length);
  const spec = new Int32Array(head.length + decisionInts.length + endpointInts.length + body.length);
  let o = 0;
  for (const part of [head, decisionInts, endpointInts, body]) {
    spec.set(part, o);
    o += part.length;
  }
  return {
    spec,
    decisions,
    actions: plans.map((p) => p.action),
    clusters: plans.map((p) => p.cluster),
    endpoints,
  };
}
