/**
 * Listeners: `virtualOutbound` (15001, hands connections to the listener of their original
 * destination, falls back by mode), per-port outbound listeners `0.0.0.0_<port>` whose filter chains
 * match CIDRs/SNI/port, one `<ip>_<port>` per exact address of a TCP service (as Istio's sidecars
 * get), and `virtualInbound` (15006). Shared-port conflicts are resolved here
 * with Istio's winner and reported. Pure.
 */
import { TypeUrl } from '@sluice/xds';
import { type CidrRange, hostAddress, parseCidr } from './address.js';
import {
  BLACK_HOLE_CLUSTER,
  type ClusterFacts,
  inboundClusterName,
  outboundClusterName,
  PASSTHROUGH_CLUSTER,
} from './clusters.js';
import { type ClusterChoice, clusterChoice } from './destinations.js';
import type { MeshPort, MeshService } from './mesh-services.js';
import { type ProxyScope, virtualServiceFor } from './proxy-scope.js';
import type { EnvoyObject, NamedEnvoyResource, PortConflict } from './types.js';

export const OUTBOUND_CAPTURE_PORT = 15001;
export const INBOUND_CAPTURE_PORT = 15006;
/** Filter-chain metadata namespace for Sluice's own facts (rule, egress mode). */
export const SLUICE_METADATA = 'sluice.dev';

const stdoutAccessLog = [{ name: 'envoy.access_loggers.stdout', typed_config: { '@type': TypeUrl.StdoutAccessLog } }];

function tcpProxy(statPrefix: string, choice: ClusterChoice, facts?: ClusterFacts): EnvoyObject {
  const cfg: EnvoyObject = { '@type': TypeUrl.TcpProxy, stat_prefix: statPrefix, ...choice };
  if (facts?.tcpIdleTimeout) cfg.idle_timeout = facts.tcpIdleTimeout;
  if (facts?.maxConnectionDuration) cfg.max_downstream_connection_duration = facts.maxConnectionDuration;
  cfg.access_log = stdoutAccessLog;
  return { name: 'envoy.filters.network.tcp_proxy', typed_config: cfg };
}

function chainMetadata(fields: Record<string, string>): EnvoyObject {
  return { filter_metadata: { [SLUICE_METADATA]: fields } };
}

/** Where the proxy's default (unknown destination) decision came from, for logs and metrics. */
export function defaultRuleName(scope: ProxyScope, meshConfigName: string | undefined): string {
  if (scope.sidecar?.spec?.outboundTrafficPolicy?.mode) {
    return `Sidecar/${scope.sidecar.metadata.namespace ?? 'default'}/${scope.sidecar.metadata.name}`;
  }
  return meshConfigName ? `MeshConfig/${meshConfigName}` : 'mesh-default';
}

const fallbackChains = new Map<string, EnvoyObject>();

/**
 * The chain taken by a destination nothing else matches: passthrough, black hole, or audit.
 * One shared object per (rule, mode, audit), so listeners built on it can be reused (do not mutate).
 */
export function fallbackChain(scope: ProxyScope, rule: string): EnvoyObject {
  const key = `${rule}\0${scope.mode}\0${scope.audit}`;
  const known = fallbackChains.get(key);
  if (known) return known;
  const blocked = scope.mode === 'REGISTRY_ONLY' && !scope.audit;
  const cluster = blocked ? BLACK_HOLE_CLUSTER : PASSTHROUGH_CLUSTER;
  const meta: Record<string, string> = { rule, mode: scope.mode };
  if (scope.audit) meta.egressMode = 'audit';
  const chain: EnvoyObject = {
    name: blocked ? 'BlackHoleFilterChain' : 'PassthroughFilterChain',
    filters: [tcpProxy(cluster, { cluster })],
    metadata: chainMetadata(meta),
  };
  if (fallbackChains.size < 1024) fallbackChains.set(key, chain);
  return chain;
}

interface ChainCandidate {
  key: string;
  service: MeshService;
  port: MeshPort;
  chain: EnvoyObject;
}

/**
 * The chains of one service port. `addresses`: the addresses its chains match (prefix_ranges);
 * empty for a listener bound to the address itself, `svc.addresses` by default.
 */
function tcpChains(
  scope: ProxyScope,
  svc: MeshService,
  port: MeshPort,
  facts: Map<string, ClusterFacts>,
  addresses: readonly string[] = svc.addresses,
): EnvoyObject[] {
  const defaultCluster = outboundClusterName(port.number, undefined, svc.hostname);
  const ranges = addresses.map(parseCidr).filter((c): c is CidrRange => c !== undefined);
  const baseMatch: EnvoyObject = { destination_port: port.number };
  if (ranges.length > 0) baseMatch.prefix_ranges = ranges;
  if (port.kind === 'tls') {
    baseMatch.server_names = [svc.hostname];
    baseMatch.transport_protocol = 'tls';
  }
  const meta = chainMetadata({ rule: svc.ref });
  const chains: EnvoyObject[] = [];
  let terminal: ClusterChoice | undefined;
  const vs = virtualServiceFor(scope, svc.hostname);
  const vsNs = vs?.metadata.namespace ?? 'default';
  const rules = port.kind === 'tls' ? (vs?.spec?.tls ?? []) : (vs?.spec?.tcp ?? []);
  for (const rule of rules) {
    const choice = clusterChoice(scope, rule.route ?? [], vsNs, port.number);
    if (!choice) continue;
    const matches = rule.match && rule.match.length > 0 ? rule.match : [{}];
    for (const m of matches as (NonNullable<typeof rule.match>[number] & { sniHosts?: string[] })[]) {
      if (m.port && m.port !== port.number) continue;
      if (m.sourceNamespace && m.sourceNamespace !== scope.namespace) continue;
      if (m.sourceLabels && !Object.entries(m.sourceLabels).every(([k, v]) => scope.labels[k] === v)) continue;
      if (m.gateways && m.gateways.length > 0 && !m.gateways.includes('mesh')) continue;
      if (
        m.sniHosts &&
        !m.sniHosts.some((h) => h === svc.hostname || (h.startsWith('*.') && svc.hostname.endsWith(h.slice(1))))
      )
        continue;
      const subnets = (m.destinationSubnets ?? []).map(parseCidr).filter((c): c is CidrRange => c !== undefined);
      if (subnets.length > 0) {
        chains.push({
          name: `${defaultCluster}|${subnets.map((s) => `${s.address_prefix}/${s.prefix_len}`).join(',')}`,
          filter_chain_match: { ...baseMatch, prefix_ranges: subnets },
          filters: [tcpProxy(statPrefixOf(choice), choice, facts.get(firstCluster(choice)))],
          metadata: meta,
        });
      } else {
        terminal = choice;
        break;
      }
    }
    if (terminal) break;
  }
  const choice = terminal ?? { cluster: defaultCluster };
  chains.push({
    name: defaultCluster,
    filter_chain_match: baseMatch,
    filters: [tcpProxy(statPrefixOf(choice), choice, facts.get(firstCluster(choice)))],
    metadata: meta,
  });
  return chains;
}

function firstCluster(choice: ClusterChoice): string {
  return 'cluster' in choice ? choice.cluster : (choice.weighted_clusters.clusters[0]?.name ?? '');
}

function statPrefixOf(choice: ClusterChoice): string {
  return 'cluster' in choice ? choice.cluster : choice.weighted_clusters.clusters.map((c) => c.name).join(',');
}

function httpChain(port: number): EnvoyObject {
  return {
    name: `0.0.0.0_${port}`,
    filter_chain_match: { destination_port: port },
    filters: [
      {
        name: 'envoy.filters.network.http_connection_manager',
        typed_config: {
          '@type': TypeUrl.HttpConnectionManager,
          stat_prefix: `outbound_0.0.0.0_${port}`,
          rds: { route_config_name: String(port), config_source: { ads: {}, resource_api_version: 'V3' } },
          http_filters: [
            { name: 'envoy.filters.http.fault', typed_config: { '@type': TypeUrl.HTTPFault } },
            { name: 'envoy.filters.http.router', typed_config: { '@type': TypeUrl.Router } },
          ],
          access_log: stdoutAccessLog,
        },
      },
    ],
    metadata: chainMetadata({ rule: `http:${port}` }),
  };
}

function conflict(reason: PortConflict['reason'], port: number, winner: MeshService, loser: MeshService): PortConflict {
  const w = { kind: winner.kind, namespace: winner.namespace, name: winner.name, host: winner.hostname };
  const l = { kind: loser.kind, namespace: loser.namespace, name: loser.name, host: loser.hostname };
  const why =
    reason === 'http-over-tcp'
      ? `port ${port} is served as HTTP for ${winner.hostname} (${winner.ref})`
      : `${winner.ref} (host ${winner.hostname}) already takes TCP port ${port} with the same match and is older`;
  return {
    reason,
    port,
    winner: w,
    loser: l,
    message: `${loser.ref} host ${loser.hostname} port ${port} is not served: ${why}; give the entry addresses (or resolution DNS for an auto-allocated VIP) to tell them apart`,
  };
}

export interface OutboundListeners {
  listeners: NamedEnvoyResource[];
  /** Ports served as HTTP (one RouteConfiguration each). */
  httpPorts: number[];
  conflicts: PortConflict[];
}

/** One port's outbound listeners and what building them found. */
interface PortListener {
  /** `0.0.0.0_<port>`, then the port's `<ip>_<port>` listeners. */
  listeners: NamedEnvoyResource[];
  http: boolean;
  conflicts: PortConflict[];
}

/** A small number per object, to build memo keys from object identities. */
const objectIds = new WeakMap<object, number>();
let nextObjectId = 1;
function idOf(o: object | undefined): number {
  if (!o) return 0;
  let id = objectIds.get(o);
  if (id === undefined) {
    id = nextObjectId++;
    objectIds.set(o, id);
  }
  return id;
}

/**
 * Port listeners reused across proxies and snapshots. A port's listener is a function of its
 * entries (MeshService, MeshPort, the facts of their default cluster: objects kept while their
 * resources stay the same) and the fallback chain, as long as no VirtualService routes any of
 * those hosts (VirtualService routing also reads the proxy's labels and the other services). Two
 * generations: entries unused for a whole generation are dropped ({@link rotateListenerMemo}).
 */
let portListenerMemo = new Map<string, PortListener>();
let portListenerMemoPrevious = new Map<string, PortListener>();

/** Starts a new memo generation; called once per compiled snapshot. */
export function rotateListenerMemo(): void {
  portListenerMemoPrevious = portListenerMemo;
  portListenerMemo = new Map();
  addressListenerMemoPrevious = addressListenerMemo;
  addressListenerMemo = new Map();
}

function portMemoKey(
  scope: ProxyScope,
  portNumber: number,
  entries: { svc: MeshService; port: MeshPort }[],
  facts: Map<string, ClusterFacts>,
  fallback: EnvoyObject,
): string | undefined {
  let key = `${portNumber}:${idOf(fallback)}`;
  for (const { svc, port } of entries) {
    if (port.kind !== 'http' && virtualServiceFor(scope, svc.hostname)) return undefined;
    const f = facts.get(outboundClusterName(port.number, undefined, svc.hostname));
    key += `,${idOf(svc)}.${idOf(port)}.${idOf(f)}`;
  }
  return key;
}

/** Per-port outbound listeners for every service port in scope, with conflicts resolved. */
export function buildOutboundListeners(
  scope: ProxyScope,
  facts: Map<string, ClusterFacts>,
  fallback: EnvoyObject,
): OutboundListeners {
  const byPort = new Map<number, { svc: MeshService; port: MeshPort }[]>();
  for (const svc of scope.services) {
    for (const port of svc.ports) {
      if (port.kind === 'udp') continue;
      const list = byPort.get(port.number) ?? [];
      list.push({ svc, port });
      byPort.set(port.number, list);
    }
  }
  const listeners: NamedEnvoyResource[] = [];
  const httpPorts: number[] = [];
  const conflicts: PortConflict[] = [];
  for (const portNumber of [...byPort.keys()].sort((a, b) => a - b)) {
    const entries = byPort.get(portNumber)!.sort((a, b) => a.svc.rank - b.svc.rank);
    const key = portMemoKey(scope, portNumber, entries, facts, fallback);
    let built = key === undefined ? undefined : (portListenerMemo.get(key) ?? portListenerMemoPrevious.get(key));
    if (!built) built = buildPortListener(scope, portNumber, entries, facts, fallback);
    if (key !== undefined) portListenerMemo.set(key, built);
    for (const l of built.listeners) listeners.push(l);
    if (built.http) httpPorts.push(portNumber);
    for (const c of built.conflicts) conflicts.push(c);
  }
  return { listeners, httpPorts, conflicts };
}

/** An address in its canonical text (IPv6 compressed, lower case), for listener names and keys. */
function canonicalIp(ip: string): string {
  if (!ip.includes(':')) return ip;
  try {
    return new URL(`http://[${ip}]/`).hostname.slice(1, -1);
  } catch {
    return ip.toLowerCase();
  }
}

/**
 * Listeners bound to one exact address, reused across proxies and snapshots while the entry's
 * objects stay the same (same condition as the port memo: no VirtualService routes the host).
 */
let addressListenerMemo = new Map<string, NamedEnvoyResource>();
let addressListenerMemoPrevious = new Map<string, NamedEnvoyResource>();

/**
 * The listener `<ip>_<port>` of a TCP service port with that exact address, as Istio gives a
 * sidecar for a TCP service with an address: bound to it (bind_to_port false), its chains match the
 * port only, and it falls back like the per-port listeners.
 */
function addressListener(
  ip: string,
  portNumber: number,
  chains: EnvoyObject[],
  fallback: EnvoyObject,
  memoKey: string | undefined,
): NamedEnvoyResource {
  const key = memoKey === undefined ? undefined : `${ip}_${portNumber}:${memoKey}`;
  const known = key === undefined ? undefined : (addressListenerMemo.get(key) ?? addressListenerMemoPrevious.get(key));
  const listener = known ?? {
    name: `${ip}_${portNumber}`,
    address: { socket_address: { address: ip, port_value: portNumber } },
    bind_to_port: false,
    traffic_direction: 'OUTBOUND',
    filter_chains: chains,
    default_filter_chain: fallback,
  };
  if (key !== undefined) addressListenerMemo.set(key, listener);
  return listener;
}

/**
 * One port's outbound listeners: `0.0.0.0_<port>` with the chains of HTTP, TLS (SNI), address-less
 * and CIDR entries, and one `<ip>_<port>` per exact address (/32, /128) of a plain TCP entry.
 * An exact address stays a /32 (/128) chain in `0.0.0.0_<port>` when a TLS entry or a
 * VirtualService with destinationSubnets on the port also matches it (their chains are told apart
 * inside one listener). Conflicts: the older entry keeps the match (chain or address).
 */
function buildPortListener(
  scope: ProxyScope,
  portNumber: number,
  entries: { svc: MeshService; port: MeshPort }[],
  facts: Map<string, ClusterFacts>,
  fallback: EnvoyObject,
): PortListener {
  const conflicts: PortConflict[] = [];
  const httpWinner = entries.find((e) => e.port.kind === 'http');
  // Exact addresses per entry; those of entries that must keep a /32 chain pin the address.
  const exactOf = new Map<MeshService, string[]>();
  const pinned = new Set<string>();
  const plainChains = new Map<MeshService, EnvoyObject[]>();
  for (const { svc, port } of entries) {
    if (port.kind === 'http') continue;
    const exact: string[] = [];
    for (const a of svc.addresses) {
      const host = hostAddress(a);
      if (host !== undefined) exact.push(canonicalIp(host));
    }
    if (exact.length === 0) continue;
    exactOf.set(svc, exact);
    const chains = port.kind === 'tcp' ? tcpChains(scope, svc, port, facts, []) : undefined;
    if (chains && chains.length === 1) plainChains.set(svc, chains);
    else for (const ip of exact) pinned.add(ip);
  }
  const chosen = new Map<string, ChainCandidate>();
  const byAddress = new Map<string, { service: MeshService; listener: NamedEnvoyResource }>();
  let needsTls = false;
  for (const { svc, port } of entries) {
    if (port.kind === 'http') continue;
    const hasRanges = svc.addresses.some((a) => parseCidr(a) !== undefined);
    if (port.kind === 'tcp' && !hasRanges && httpWinner) {
      conflicts.push(conflict('http-over-tcp', portNumber, httpWinner.svc, svc));
      continue;
    }
    let addresses: readonly string[] = svc.addresses;
    const plain = plainChains.get(svc);
    const exact = exactOf.get(svc);
    if (plain && exact) {
      const memoKey = virtualServiceFor(scope, svc.hostname)
        ? undefined
        : `${idOf(fallback)},${idOf(svc)}.${idOf(port)}.${idOf(facts.get(outboundClusterName(port.number, undefined, svc.hostname)))}`;
      for (const ip of exact) {
        if (pinned.has(ip)) continue;
        const prior = byAddress.get(ip);
        if (prior) {
          if (prior.service.hostname !== svc.hostname || prior.service.ref !== svc.ref) {
            conflicts.push(conflict('tcp-over-tcp', portNumber, prior.service, svc));
          }
          continue;
        }
        byAddress.set(ip, { service: svc, listener: addressListener(ip, portNumber, plain, fallback, memoKey) });
      }
      addresses = svc.addresses.filter((a) => {
        const host = hostAddress(a);
        return host === undefined || pinned.has(canonicalIp(host));
      });
      if (addresses.length === 0) continue;
    }
    for (const chain of tcpChains(scope, svc, port, facts, addresses)) {
      const key = JSON.stringify(chain.filter_chain_match);
      const prior = chosen.get(key);
      if (prior) {
        if (prior.service.hostname !== svc.hostname || prior.service.ref !== svc.ref) {
          conflicts.push(conflict('tcp-over-tcp', portNumber, prior.service, svc));
        }
        continue;
      }
      chosen.set(key, { key, service: svc, port, chain });
    }
    if (port.kind === 'tls') needsTls = true;
  }
  const chains = [...chosen.values()].map((c) => c.chain);
  if (httpWinner) chains.push(httpChain(portNumber));
  chains.sort((a, b) =>
    (a.name as string) < (b.name as string) ? -1 : (a.name as string) > (b.name as string) ? 1 : 0,
  );
  const listener: NamedEnvoyResource = {
    name: `0.0.0.0_${portNumber}`,
    address: { socket_address: { address: '0.0.0.0', port_value: portNumber } },
    bind_to_port: false,
    traffic_direction: 'OUTBOUND',
    filter_chains: chains,
    default_filter_chain: fallback,
  };
  const filters: EnvoyObject[] = [];
  if (needsTls) filters.push({ name: 'envoy.filters.listener.tls_inspector' });
  if (httpWinner) filters.push({ name: 'envoy.filters.listener.http_inspector' });
  if (filters.length > 0) listener.listener_filters = filters;
  // Like Istio, no wildcard listener for a port whose every entry has its own address listener.
  const listeners = chains.length > 0 ? [listener] : [];
  for (const { listener: l } of byAddress.values()) listeners.push(l);
  return { listeners, http: httpWinner !== undefined, conflicts };
}

const virtualOutbounds = new WeakMap<EnvoyObject, NamedEnvoyResource>();

/** `virtualOutbound` for a fallback chain; one shared object per chain (do not mutate). */
export function virtualOutboundListener(fallback: EnvoyObject): NamedEnvoyResource {
  let l = virtualOutbounds.get(fallback);
  if (!l) {
    l = buildVirtualOutbound(fallback);
    virtualOutbounds.set(fallback, l);
  }
  return l;
}

function buildVirtualOutbound(fallback: EnvoyObject): NamedEnvoyResource {
  return {
    name: 'virtualOutbound',
    address: { socket_address: { address: '0.0.0.0', port_value: OUTBOUND_CAPTURE_PORT } },
    use_original_dst: true,
    traffic_direction: 'OUTBOUND',
    listener_filters: [{ name: 'envoy.filters.listener.original_dst' }],
    filter_chains: [
      {
        name: 'virtualOutbound-blackhole',
        filter_chain_match: { destination_port: OUTBOUND_CAPTURE_PORT },
        filters: [tcpProxy(BLACK_HOLE_CLUSTER, { cluster: BLACK_HOLE_CLUSTER })],
        metadata: chainMetadata({ rule: 'capture-port' }),
      },
    ],
    default_filter_chain: fallback,
  };
}

const virtualInbounds = new Map<string, NamedEnvoyResource>();

/** `virtualInbound` for a set of workload ports; one shared object per set (do not mutate). */
export function virtualInboundListener(ports: readonly number[]): NamedEnvoyResource {
  const key = ports.join(',');
  let l = virtualInbounds.get(key);
  if (!l) {
    l = buildVirtualInbound(ports);
    if (virtualInbounds.size < 4096) virtualInbounds.set(key, l);
  }
  return l;
}

function buildVirtualInbound(ports: readonly number[]): NamedEnvoyResource {
  const chains: EnvoyObject[] = [
    {
      name: 'virtualInbound-blackhole',
      filter_chain_match: { destination_port: INBOUND_CAPTURE_PORT },
      filters: [tcpProxy(BLACK_HOLE_CLUSTER, { cluster: BLACK_HOLE_CLUSTER })],
      metadata: chainMetadata({ rule: 'capture-port' }),
    },
  ];
  for (const p of ports) {
    const cluster = inboundClusterName(p);
    chains.push({
      name: cluster,
      filter_chain_match: { destination_port: p },
      filters: [tcpProxy(cluster, { cluster })],
    });
  }
  return {
    name: 'virtualInbound',
    address: { socket_address: { address: '0.0.0.0', port_value: INBOUND_CAPTURE_PORT } },
    traffic_direction: 'INBOUND',
    listener_filters: [{ name: 'envoy.filters.listener.original_dst' }],
    filter_chains: chains,
  };
}
