/**
 * The egress decision table: compiled once per snapshot from the Listener resources, immutable,
 * consulted per connection by {@link decideEgress}. Pure: no sockets, no clocks, no I/O.
 */
import { durationMs } from '../xds/duration.js';
import type { FilterChain, Listener, TcpProxyConfig } from '../xds/resources.js';
import {
  BLACK_HOLE_CLUSTER,
  type CompiledChain,
  type Destination,
  type EgressDecision,
  type EgressReason,
  type EgressVerdict,
  PASSTHROUGH_CLUSTER,
} from './decision.js';
import { formatIp, type ParsedIp, parseIp } from './ip.js';
import { PrefixTrie } from './prefix-trie.js';

/** Chains that share one address match, told apart by TLS server name and transport. */
interface ChainGroup {
  readonly exactSni: Map<string, CompiledChain>;
  /** `*.example.com` entries as suffix ".example.com", longest first. */
  readonly wildcardSni: { suffix: string; chain: CompiledChain }[];
  tls: CompiledChain | undefined;
  raw: CompiledChain | undefined;
  any: CompiledChain | undefined;
  /** default_filter_chain of an address-specific listener. */
  fallback: CompiledChain | undefined;
  /** true when telling chains apart needs the ClientHello. */
  needsTls: boolean;
  /** The reason when a chain without server_names matches. */
  readonly reason: 'exact-ip' | 'cidr' | 'port-only';
  /**
   * The group's decision when no server name and no transport tell chains apart (`needsTls`
   * false), null when no chain of it matches: filled on first use, so the common exact-IP / port-only lookup ends here
   * without touching the per-chain decision cache.
   */
  plain: EgressDecision | null | undefined;
}

interface PortTable {
  readonly trie: PrefixTrie<ChainGroup>;
  portOnly: ChainGroup | undefined;
  /** A listener bound to the wildcard address claims every address on the port (Envoy: no fall-through). */
  claimsAll: boolean;
  /** That listener's default_filter_chain. */
  defaultChain: CompiledChain | undefined;
}

interface ListenerTable {
  readonly byPort: Map<number, PortTable>;
  /** Chains of a virtual listener that match no destination_port. */
  anyPort: PortTable | undefined;
  defaultChain: CompiledChain | undefined;
}

/** The compiled, frozen decision table of one snapshot. */
export interface DecisionTable {
  /** The outbound capture port; a destination on it was not redirected (black hole). */
  readonly capturePort: number;
  /** Per-port outbound listeners (`<ip>_<port>`, `0.0.0.0_<port>`). */
  readonly outbound: ListenerTable;
  /** `virtualOutbound`'s own chains and its fallback chain. */
  readonly virtualOutbound: ListenerTable;
  /** `virtualInbound`, undefined when the snapshot has none. */
  readonly inbound: ListenerTable | undefined;
  /** Every compiled chain by name (for re-checks and config dumps). */
  readonly chainCount: number;
}

/** A problem that makes a Listener unacceptable; `path` is the field path inside the resource. */
export interface TableFinding {
  readonly resource: string;
  readonly path: string;
  readonly message: string;
}

export interface CompileOptions {
  capturePort: number;
}

const WILDCARD_ADDRESSES = new Set(['0.0.0.0', '::', '']);

function isPassthroughCluster(name: string): boolean {
  return name === PASSTHROUGH_CLUSTER || name.startsWith('InboundPassthroughCluster');
}

function compileChain(listener: string, index: number | 'default', chain: FilterChain): CompiledChain {
  const filter = chain.filters?.[0];
  const meta = chain.metadata?.filter_metadata?.['sluice.dev'];
  const audit = meta?.egressMode === 'audit';
  const name = chain.name || `${listener}#${index}`;
  if (filter?.name === 'envoy.filters.network.http_connection_manager') {
    const hcm = filter.typed_config as { rds?: { route_config_name?: string } } | undefined;
    return Object.freeze({
      name,
      listener,
      kind: 'http' as const,
      cluster: '',
      weightedClusters: Object.freeze([]),
      routeConfigName: hcm?.rds?.route_config_name ?? '',
      idleTimeoutMs: 0,
      maxConnectionDurationMs: 0,
      rule: meta?.rule,
      audit,
      verdict: 'route' as const,
    });
  }
  const tcp = (filter?.typed_config ?? {}) as TcpProxyConfig;
  const weighted = (tcp.weighted_clusters?.clusters ?? []).map((c) =>
    Object.freeze({ name: c.name, weight: c.weight ?? 0 }),
  );
  const cluster = tcp.cluster ?? weighted[0]?.name ?? '';
  let verdict: EgressVerdict = 'route';
  if (weighted.length === 0 && cluster === BLACK_HOLE_CLUSTER) verdict = 'blackhole';
  else if (weighted.length === 0 && isPassthroughCluster(cluster))
    verdict = audit ? 'audit-passthrough' : 'passthrough';
  return Object.freeze({
    name,
    listener,
    kind: 'tcp' as const,
    cluster,
    weightedClusters: Object.freeze(weighted),
    routeConfigName: '',
    idleTimeoutMs: durationMs(tcp.idle_timeout, 3_600_000),
    maxConnectionDurationMs: durationMs(tcp.max_downstream_connection_duration, 0),
    rule: meta?.rule,
    audit,
    verdict,
  });
}

const newGroup = (reason: ChainGroup['reason']): ChainGroup => ({
  exactSni: new Map(),
  wildcardSni: [],
  tls: undefined,
  raw: undefined,
  any: undefined,
  fallback: undefined,
  needsTls: false,
  reason,
  plain: undefined,
});

const newPortTable = (): PortTable => ({
  trie: new PrefixTrie(),
  portOnly: undefined,
  claimsAll: false,
  defaultChain: undefined,
});

/** Puts a chain into a group; returns a message when an earlier chain has the same match. */
function addToGroup(group: ChainGroup, chain: CompiledChain, fc: FilterChain): string | undefined {
  const m = fc.filter_chain_match ?? {};
  const names = m.server_names ?? [];
  if (names.length > 0) {
    group.needsTls = true;
    for (const raw of names) {
      const sni = raw.toLowerCase();
      if (sni.startsWith('*.')) {
        const suffix = sni.slice(1);
        if (group.wildcardSni.some((w) => w.suffix === suffix)) return `server name "${raw}" is matched twice`;
        group.wildcardSni.push({ suffix, chain });
        group.wildcardSni.sort((a, b) => b.suffix.length - a.suffix.length);
      } else {
        if (group.exactSni.has(sni)) return `server name "${raw}" is matched twice`;
        group.exactSni.set(sni, chain);
      }
    }
    return undefined;
  }
  const transport = m.transport_protocol;
  const slot = transport === 'tls' ? 'tls' : transport === 'raw_buffer' ? 'raw' : 'any';
  if (slot !== 'any') group.needsTls = true;
  if (group[slot]) return `same match as chain "${group[slot]!.name}"`;
  group[slot] = chain;
  return undefined;
}

function hostPrefix(ip: ParsedIp): number {
  return ip.family === 4 ? 32 : 128;
}

/**
 * Adds one listener's chains. `boundAddress`: the listener's own address when it is specific
 * (its chains then match that address only), undefined for wildcard and virtual listeners.
 * `boundPort`: the listener's port for per-port listeners, undefined for virtual listeners.
 */
function addListener(
  table: ListenerTable,
  listener: Listener,
  boundPort: number | undefined,
  boundAddress: ParsedIp | undefined,
  skipPort: number | undefined,
  findings: TableFinding[],
): void {
  const chains = listener.filter_chains ?? [];
  const portTableFor = (port: number | undefined): PortTable => {
    if (port === undefined) {
      table.anyPort ??= newPortTable();
      return table.anyPort;
    }
    let pt = table.byPort.get(port);
    if (!pt) {
      pt = newPortTable();
      table.byPort.set(port, pt);
    }
    return pt;
  };
  chains.forEach((fc, i) => {
    const m = fc.filter_chain_match ?? {};
    const port = m.destination_port ?? boundPort;
    if (skipPort !== undefined && port === skipPort) return;
    const chain = compileChain(listener.name, i, fc);
    const path = `filter_chains[${i}].filter_chain_match`;
    const isCatchAll =
      boundPort === undefined &&
      port === undefined &&
      !m.prefix_ranges?.length &&
      !m.server_names?.length &&
      !m.transport_protocol;
    if (isCatchAll) {
      if (table.defaultChain) {
        findings.push({ resource: listener.name, path, message: `same match as chain "${table.defaultChain.name}"` });
      } else table.defaultChain = chain;
      return;
    }
    const pt = portTableFor(port);
    const ranges = boundAddress
      ? [{ address_prefix: formatIp(boundAddress), prefix_len: hostPrefix(boundAddress) }]
      : (m.prefix_ranges ?? []);
    if (ranges.length === 0) {
      pt.portOnly ??= newGroup('port-only');
      const problem = addToGroup(pt.portOnly, chain, fc);
      if (problem) findings.push({ resource: listener.name, path, message: problem });
      return;
    }
    ranges.forEach((r, j) => {
      const ip = parseIp(r.address_prefix);
      if (!ip) {
        findings.push({
          resource: listener.name,
          path: `${path}.prefix_ranges[${j}].address_prefix`,
          message: `"${r.address_prefix}" is not an IP address`,
        });
        return;
      }
      // An IPv4-mapped IPv6 prefix ::ffff:a.b.c.d/(96+n) is the IPv4 prefix a.b.c.d/n.
      const mapped = ip.family === 4 && r.address_prefix.includes(':');
      const rawLen = r.prefix_len ?? hostPrefix(ip) + (mapped ? 96 : 0);
      const len = mapped ? rawLen - 96 : rawLen;
      if (len < 0 || len > hostPrefix(ip)) {
        findings.push({
          resource: listener.name,
          path: `${path}.prefix_ranges[${j}].prefix_len`,
          message: `prefix length ${rawLen} is out of range for ${r.address_prefix}`,
        });
        return;
      }
      const group = pt.trie.upsert(ip, len, () => newGroup(len === hostPrefix(ip) ? 'exact-ip' : 'cidr'));
      const problem = addToGroup(group, chain, fc);
      if (problem) findings.push({ resource: listener.name, path, message: problem });
    });
  });
  if (listener.default_filter_chain) {
    const chain = compileChain(listener.name, 'default', listener.default_filter_chain);
    if (boundPort === undefined) table.defaultChain = chain;
    else if (boundAddress) {
      const pt = portTableFor(boundPort);
      pt.trie.upsert(boundAddress, hostPrefix(boundAddress), () => newGroup('exact-ip')).fallback = chain;
    } else portTableFor(boundPort).defaultChain = chain;
  }
  if (boundPort !== undefined && !boundAddress) portTableFor(boundPort).claimsAll = true;
}

const newListenerTable = (): ListenerTable => ({ byPort: new Map(), anyPort: undefined, defaultChain: undefined });

/**
 * Compiles the Listener resources of a snapshot. Returns the table, or the findings that make the
 * listeners unacceptable (the snapshot must then be NACKed, and the old table kept).
 */
export function compileDecisionTable(
  listeners: Iterable<Listener>,
  options: CompileOptions,
): { table: DecisionTable; findings: [] } | { table: undefined; findings: TableFinding[] } {
  const findings: TableFinding[] = [];
  const outbound = newListenerTable();
  const virtualOutbound = newListenerTable();
  let inbound: ListenerTable | undefined;
  const seenAddresses = new Map<string, string>();
  let chainCount = 0;
  for (const l of listeners) {
    chainCount += (l.filter_chains?.length ?? 0) + (l.default_filter_chain ? 1 : 0);
    if (l.name === 'virtualOutbound' || (l.use_original_dst && l.traffic_direction !== 'INBOUND')) {
      addListener(virtualOutbound, l, undefined, undefined, options.capturePort, findings);
      continue;
    }
    if (l.name === 'virtualInbound' || l.traffic_direction === 'INBOUND') {
      inbound ??= newListenerTable();
      addListener(inbound, l, undefined, undefined, undefined, findings);
      continue;
    }
    const sa = l.address?.socket_address;
    const port = sa?.port_value ?? 0;
    const key = `${sa?.address ?? ''}:${port}`;
    const other = seenAddresses.get(key);
    if (other) {
      findings.push({
        resource: l.name,
        path: 'address.socket_address',
        message: `listener "${other}" already uses ${key}; each address:port may have one listener`,
      });
      continue;
    }
    seenAddresses.set(key, l.name);
    const address = sa?.address ?? '';
    let bound: ParsedIp | undefined;
    if (!WILDCARD_ADDRESSES.has(address)) {
      bound = parseIp(address);
      if (!bound) {
        findings.push({
          resource: l.name,
          path: 'address.socket_address.address',
          message: `"${address}" is not an IP address`,
        });
        continue;
      }
    }
    addListener(outbound, l, port, bound, undefined, findings);
  }
  if (findings.length > 0) return { table: undefined, findings };
  const table: DecisionTable = Object.freeze({
    capturePort: options.capturePort,
    outbound,
    virtualOutbound,
    inbound,
    chainCount,
  });
  return { table, findings: [] };
}

// ---------------------------------------------------------------------------------------------
// Lookup

interface Located {
  readonly group: ChainGroup | undefined;
  /** Default chain to use when nothing in the group matches (undefined: fall through / no chain). */
  readonly defaultChain: CompiledChain | undefined;
  /** When true, a miss ends in the default chain (or no-filter-chain), never in a later table. */
  readonly final: boolean;
}

function locateIn(pt: PortTable | undefined, ip: ParsedIp | undefined): Located | undefined {
  if (!pt) return undefined;
  const hit = ip ? pt.trie.longestMatch(ip) : undefined;
  if (hit) {
    const g = hit.value;
    return { group: g, defaultChain: g.fallback ?? pt.defaultChain, final: true };
  }
  if (pt.portOnly) return { group: pt.portOnly, defaultChain: pt.defaultChain, final: true };
  if (pt.claimsAll) return { group: undefined, defaultChain: pt.defaultChain, final: true };
  return undefined;
}

function locateInListenerTable(t: ListenerTable, ip: ParsedIp | undefined, port: number): Located {
  return (
    locateIn(t.byPort.get(port), ip) ??
    locateIn(t.anyPort, ip) ?? { group: undefined, defaultChain: t.defaultChain, final: true }
  );
}

function pickInGroup(
  g: ChainGroup,
  sni: string | undefined,
  tls: boolean,
): { chain: CompiledChain; bySni: boolean } | undefined {
  if (sni !== undefined) {
    const name = sni.toLowerCase();
    const exact = g.exactSni.get(name);
    if (exact) return { chain: exact, bySni: true };
    for (const w of g.wildcardSni) if (name.endsWith(w.suffix)) return { chain: w.chain, bySni: true };
  }
  const specific = tls ? g.tls : g.raw;
  if (specific) return { chain: specific, bySni: false };
  if (g.any) return { chain: g.any, bySni: false };
  return undefined;
}

/**
 * A chain's decisions by reason: one decision object in the common case (a chain is reached for
 * one reason), a map only for a chain reached for several (e.g. by address and as a default).
 */
const decisionCache = new WeakMap<CompiledChain, EgressDecision | Map<string, EgressDecision>>();

const cacheKey = (reason: EgressReason, isDefault: boolean): string => (isDefault ? `${reason}/default` : reason);

function decisionFor(chain: CompiledChain, reason: EgressReason, isDefault: boolean): EgressDecision {
  const cached = decisionCache.get(chain);
  if (cached !== undefined) {
    if (cached instanceof Map) {
      const hit = cached.get(cacheKey(reason, isDefault));
      if (hit) return hit;
    } else if (cached.reason === reason && cached.isDefault === isDefault) return cached;
  }
  const d: EgressDecision = Object.freeze({
    verdict: chain.verdict,
    reason,
    ...(chain.rule !== undefined ? { rule: chain.rule } : {}),
    cluster: chain.cluster,
    filterChain: chain,
    isDefault,
  });
  if (cached === undefined) decisionCache.set(chain, d);
  else if (cached instanceof Map) cached.set(cacheKey(reason, isDefault), d);
  else
    decisionCache.set(
      chain,
      new Map([
        [cacheKey(cached.reason, cached.isDefault), cached],
        [cacheKey(reason, isDefault), d],
      ]),
    );
  return d;
}

/** How a fallback chain is reported: by where it sends the connection. */
function fallbackDecision(chain: CompiledChain): EgressDecision {
  const reason: EgressReason =
    chain.verdict === 'blackhole'
      ? 'registry-only'
      : chain.verdict === 'audit-passthrough'
        ? 'audit-would-block'
        : chain.verdict === 'passthrough'
          ? 'allow-any'
          : 'default-chain';
  return decisionFor(chain, reason, true);
}

const fixed = (verdict: EgressVerdict, reason: EgressReason, cluster: string): EgressDecision =>
  Object.freeze({ verdict, reason, cluster, filterChain: undefined, isDefault: true });

export const CAPTURE_PORT_DECISION = fixed('blackhole', 'capture-port', BLACK_HOLE_CLUSTER);
export const NO_CONFIG_DECISION = fixed('blackhole', 'no-config', BLACK_HOLE_CLUSTER);
export const NO_FILTER_CHAIN_DECISION = fixed('blackhole', 'no-filter-chain', BLACK_HOLE_CLUSTER);
export const INBOUND_PASSTHROUGH_DECISION = fixed('passthrough', 'inbound-passthrough', PASSTHROUGH_CLUSTER);

/** The decision inside a located table, or undefined when nothing matched there and it has no default. */
function decideInLocated(loc: Located, sni: string | undefined, tls: boolean): EgressDecision | undefined {
  const g = loc.group;
  // Without server-name or transport chains the group's answer does not depend on sni or tls.
  if (g && !g.needsTls) {
    if (g.plain === undefined) g.plain = decideInGroup(g, undefined, false) ?? null;
    if (g.plain) return g.plain;
  } else if (g) {
    const d = decideInGroup(g, sni, tls);
    if (d) return d;
  }
  if (loc.defaultChain) return fallbackDecision(loc.defaultChain);
  return undefined;
}

/** The decision of a chain in the group, or undefined when no chain of the group matches. */
function decideInGroup(g: ChainGroup, sni: string | undefined, tls: boolean): EgressDecision | undefined {
  const picked = pickInGroup(g, sni, tls);
  if (!picked) return undefined;
  const reason: EgressReason = picked.bySni ? 'sni' : g.reason;
  // A port-wide chain to BlackHole/Passthrough is the listener's fall-through: report it as the mode.
  if (!picked.bySni && reason === 'port-only' && picked.chain.verdict !== 'route')
    return fallbackDecision(picked.chain);
  return decisionFor(picked.chain, reason, false);
}

/**
 * Decides what happens to an outbound connection. Pure; O(address length) per call.
 *
 * Precedence (first that applies wins):
 * 1. No table (no configuration received yet) → black hole, `no-config` (fail closed).
 * 2. `dst` null (the connection was not redirected) or `dst.port` is the capture port itself →
 *    black hole, `capture-port`.
 * 3. A per-port listener for the destination port (`<ip>_<port>`, `0.0.0.0_<port>`):
 *    a. the chain group of the longest matching address prefix — a specific-address listener or a
 *       /32 (/128) prefix is `exact-ip`, any shorter prefix is `cidr` (IPv4-mapped IPv6 is IPv4);
 *    b. otherwise the chains with no address match, `port-only`;
 *    c. within the group: an exact then a wildcard `server_names` match (`sni`), then a chain for the
 *       connection's transport (`tls`/`raw_buffer`), then a chain with no TLS criteria;
 *    d. nothing in the group matches → that listener's `default_filter_chain` (reported as in 5);
 *       without one, go on with 4 (Envoy would close the connection here; Sluice lets the mesh-wide
 *       mode decide, so a listener without a fall-through chain never changes what ALLOW_ANY means).
 * 4. `virtualOutbound`'s own chains that match the port (or any port), by the same steps a–c.
 * 5. The fallback chain (`virtualOutbound`'s default chain), named by where it leads:
 *    BlackHoleCluster → `registry-only`; PassthroughCluster with `egressMode: audit` →
 *    `audit-passthrough` / `audit-would-block`; PassthroughCluster → `allow-any`; another
 *    cluster → `default-chain`. A port-wide chain to BlackHole/Passthrough is reported the same way.
 * 6. No fallback → black hole, `no-filter-chain`.
 *
 * `sni` is the ClientHello's server name when one was read; `transport` says whether the bytes
 * were TLS (only consulted when {@link needsTlsInspection} said so).
 */
export function decideEgress(
  table: DecisionTable | undefined,
  dst: Destination | null,
  sni?: string,
  transport?: 'tls' | 'raw_buffer',
): EgressDecision {
  if (!table) return NO_CONFIG_DECISION;
  if (!dst || dst.port === table.capturePort) return CAPTURE_PORT_DECISION;
  const ip = parseIp(dst.ip);
  const tls = transport === 'tls' || sni !== undefined;
  const perPort = locateIn(table.outbound.byPort.get(dst.port), ip);
  const decided = perPort && decideInLocated(perPort, sni, tls);
  if (decided) return decided;
  const virtual = table.virtualOutbound;
  const viaVirtual = decideInLocated(locateInListenerTable(virtual, ip, dst.port), sni, tls);
  if (viaVirtual) return viaVirtual;
  return virtual.defaultChain ? fallbackDecision(virtual.defaultChain) : NO_FILTER_CHAIN_DECISION;
}

/**
 * Decides an inbound connection (to the workload): `virtualInbound`'s chains by destination port
 * and address, then its fallback; a snapshot without `virtualInbound` passes inbound through.
 */
export function decideInbound(table: DecisionTable | undefined, dst: Destination | null): EgressDecision {
  if (!table) return NO_CONFIG_DECISION;
  if (!dst) return CAPTURE_PORT_DECISION;
  if (!table.inbound) return INBOUND_PASSTHROUGH_DECISION;
  return (
    decideInLocated(locateInListenerTable(table.inbound, parseIp(dst.ip), dst.port), undefined, false) ??
    (table.inbound.defaultChain ? fallbackDecision(table.inbound.defaultChain) : NO_FILTER_CHAIN_DECISION)
  );
}

/**
 * true when the chains that could match this destination differ by TLS server name or transport,
 * so the caller must read the ClientHello before {@link decideEgress}. Ports without such chains
 * are never sniffed: server-first protocols start at once.
 */
export function needsTlsInspection(table: DecisionTable | undefined, dst: Destination | null): boolean {
  if (!table || !dst || dst.port === table.capturePort) return false;
  const ip = parseIp(dst.ip);
  const loc =
    locateIn(table.outbound.byPort.get(dst.port), ip) ?? locateInListenerTable(table.virtualOutbound, ip, dst.port);
  return loc.group?.needsTls ?? false;
}

// ---------------------------------------------------------------------------------------------
// The table as the relay thread's copy needs it (src/native/native-table.ts encodes it)

/** A chain group reduced to what needs no ClientHello: its decision, or none, or 'tls' (ask). */
export type PlainDecision = EgressDecision | null | 'tls';

export interface PortLayout {
  /** 0 per-port outbound listener, 1 virtualOutbound chains of one port, 2 of any port. */
  readonly kind: 0 | 1 | 2;
  readonly port: number;
  /** Visits the IPv4 host routes and prefixes (`ip` unsigned, host bits zero) with their group's answer. */
  forEachV4(fn: (ip: number, len: number, plain: PlainDecision, fallback: EgressDecision | undefined) => void): void;
  /** The port-only group's answer; undefined without port-only chains. */
  readonly portOnly: PlainDecision | undefined;
  readonly claimsAll: boolean;
  readonly defaultDecision: EgressDecision | undefined;
}

export interface TableLayout {
  readonly capturePort: number;
  readonly ports: PortLayout[];
  /** virtualOutbound's fallback decision, undefined without one. */
  readonly virtualDefault: EgressDecision | undefined;
}

function groupPlain(g: ChainGroup): PlainDecision {
  if (g.needsTls) return 'tls';
  if (g.plain === undefined) g.plain = decideInGroup(g, undefined, false) ?? null;
  return g.plain;
}

function portLayout(kind: 0 | 1 | 2, port: number, pt: PortTable): PortLayout {
  return {
    kind,
    port,
    forEachV4: (fn) =>
      pt.trie.forEachV4((ip, len, g) => {
        fn(ip, len, groupPlain(g), g.fallback ? fallbackDecision(g.fallback) : undefined);
      }),
    portOnly: pt.portOnly ? groupPlain(pt.portOnly) : undefined,
    claimsAll: pt.claimsAll,
    defaultDecision: pt.defaultChain ? fallbackDecision(pt.defaultChain) : undefined,
  };
}

/**
 * The outbound half of a table in the shape the relay thread's lookup walks (IPv4 only; IPv6
 * destinations are always decided by {@link decideEgress}). The decision objects are the ones
 * decideEgress returns, so a verdict reported from the relay thread is the same object.
 */
export function tableLayout(table: DecisionTable): TableLayout {
  const ports: PortLayout[] = [];
  for (const [port, pt] of table.outbound.byPort) ports.push(portLayout(0, port, pt));
  for (const [port, pt] of table.virtualOutbound.byPort) ports.push(portLayout(1, port, pt));
  if (table.virtualOutbound.anyPort) ports.push(portLayout(2, 0, table.virtualOutbound.anyPort));
  const vd = table.virtualOutbound.defaultChain;
  return { capturePort: table.capturePort, ports, virtualDefault: vd ? fallbackDecision(vd) : undefined };
}
