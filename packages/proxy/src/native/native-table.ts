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

/** An Int32Array that grows as it is written. */
class Ints {
  a = new Int32Array(1024);
  n = 0;
  push(...vs: number[]): void {
    if (this.n + vs.length > this.a.length) {
      const bigger = new Int32Array(Math.max(this.a.length * 2, this.n + vs.length));
      bigger.set(this.a.subarray(0, this.n));
      this.a = bigger;
    }
    for (const v of vs) this.a[this.n++] = v;
  }
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
  const body = new Ints();
  for (const pt of layout.ports) {
    const at = body.n;
    body.push(
      pt.kind,
      pt.port,
      pt.portOnly === undefined ? EMPTY : plainIdx(pt.portOnly),
      pt.claimsAll ? 1 : 0,
      idx(pt.defaultDecision),
      0,
      0,
    );
    let hosts = 0;
    const cidrs: number[][] = [];
    pt.forEachV4((ip, len, plain, fallback) => {
      if (len === 32) {
        body.push(ip | 0, plainIdx(plain), idx(fallback));
        hosts++;
      } else cidrs.push([ip | 0, len, plainIdx(plain), idx(fallback)]);
    });
    cidrs.sort((a, b) => (b[1] as number) - (a[1] as number));
    for (const c of cidrs) body.push(...c);
    body.a[at + 5] = hosts;
    body.a[at + 6] = cidrs.length;
  }
  const plans = decisions.map((d) => planFor(d, clusters));
  const endpoints: string[] = [];
  const ints = new Ints();
  ints.push(
    1,
    layout.capturePort,
    captureIdx,
    noFilterIdx,
    virtualDefaultIdx,
    decisions.length,
    0,
    layout.ports.length,
  );
  for (const p of plans) {
    ints.push(
      p.action,
      p.slot,
      p.max,
      p.connectMs,
      p.idleMs,
      p.maxMs,
      p.keepaliveS,
      endpoints.length,
      p.endpoints.length,
      0,
    );
    for (const ep of p.endpoints) endpoints.push(ep.text);
  }
  ints.a[6] = endpoints.length;
  for (const p of plans) for (const ep of p.endpoints) ints.push(ep.ip | 0, ep.port);
  const spec = new Int32Array(ints.n + body.n);
  spec.set(ints.a.subarray(0, ints.n));
  spec.set(body.a.subarray(0, body.n), ints.n);
  return {
    spec,
    decisions,
    actions: plans.map((p) => p.action),
    clusters: plans.map((p) => p.cluster),
    endpoints,
  };
}
