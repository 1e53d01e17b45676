/**
 * The sidecar proxy: capture listeners (outbound 15001, inbound 15006), the admin and Prometheus
 * endpoints, the xDS client, and the snapshot lifecycle (validate → compile → publish → persist →
 * re-check open connections). Fails closed before its first snapshot and static afterwards.
 */
import http from 'node:http';
import net from 'node:net';
import { adminHandler, buildConfigDump } from './admin/admin-server.js';
import { type ActiveConnection, type ConnectionContext, redecide, serveConnection } from './connection/connection.js';
import {
  type NativeTableEntry,
  serveDecidedConnection,
  serveNativeConnection,
} from './connection/native-connection.js';
import type { SourceWorkload } from './handoff.js';
import { type LogLevel, type ProxyLogger, stderrLogger } from './logger.js';
import {
  type AcceptedConnection,
  ByteEngine,
  byteEngineUnavailableReason,
  type NativeListener,
} from './native/byte-engine.js';
import { compileNativeTable } from './native/native-table.js';
import { NativeAddonMissingError, originalDst as nativeOriginalDst } from './native/original-dst.js';
import { AccessLog, type AccessLogEntry, type AccessLogFormat, type TcpLogClose } from './observability/access-log.js';
import { ProxyMetrics } from './observability/metrics.js';
import {
  type CompiledSnapshot,
  compileSnapshot,
  emptyResources,
  kindOfType,
  type ResourceKind,
} from './snapshot/snapshot.js';
import { loadSnapshotFile, saveSnapshotFile } from './snapshot/snapshot-file.js';
import { ConnectionCounters } from './upstream/cluster-table.js';
import type { OriginalDestination } from './upstream/cluster-view.js';
import type { AdsClient } from './xds/ads-client.js';
import type { NameTable, SnapshotResources } from './xds/resources.js';
import { TypeUrl } from './xds/type-urls.js';
import { formatFindings } from './xds/validate.js';

export interface ProxyOptions {
  /** host:port of the xDS server; without it the proxy only takes snapshots from {@link Proxy.applySnapshot}. */
  xds?: string;
  /** xDS node id, Istio form `sidecar~<ip>~<pod>.<ns>~<ns>.svc.cluster.local`. */
  nodeId?: string;
  /** xDS node metadata (NAMESPACE, LABELS, SERVICE_ACCOUNT, WORKLOAD_NAME, NAME, INSTANCE_IPS). */
  nodeMetadata?: Record<string, unknown>;
  /** xDS flavour: incremental `delta` (default) or state of the world `sotw`. */
  xdsProtocol?: 'delta' | 'sotw';
  /** Ports; 0 picks a free one (tests). Defaults 15001, 15006, 15000, 15090; `false` disables one. */
  outboundPort?: number;
  inboundPort?: number | false;
  adminPort?: number | false;
  statsPort?: number | false;
  /** Address the capture listeners bind (default `::`, dual stack, or 0.0.0.0 without IPv6). */
  bindAddress?: string;
  /** Where the last good snapshot is persisted (fail static). */
  snapshotFile?: string;
  logFormat?: AccessLogFormat;
  /** Access-log sink (default stdout). */
  accessLogWrite?: (line: string) => void;
  logger?: ProxyLogger;
  /** The host name the workload resolved for an IP (from the DNS answerer). */
  nameForIp?: (ip: string) => string | undefined;
  /** Receives each NDS name table the control plane sends. */
  onNameTable?: (table: NameTable) => void;
  /**
   * Test only: take a connection's original destination from this callback instead of
   * SO_ORIGINAL_DST (so tests need no iptables). Return null for "not redirected". A
   * {@link TestRoutes} table (by source address) is consulted by the native relay thread as well,
   * so connections are decided there as with SO_ORIGINAL_DST; with a callback JavaScript decides
   * every connection.
   */
  originalDstForTesting?: ((conn: ConnectionAddresses) => OriginalDestination | null) | TestRoutes;
  /**
   * Byte path of TCP connections: `native` (the relay thread of the byte_relay addon: accept, connect
   * and relay outside the event loop; decisions stay in TypeScript), `js` (Node sockets), or `auto`
   * (default: native when the addon is built, else js). Environment override for `auto`:
   * `SLUICE_PROXY_BYTE_ENGINE=js|native`.
   */
  byteEngine?: 'auto' | 'native' | 'js';
  /**
   * Relay threads of the native byte path (1–16; default 1, environment `SLUICE_PROXY_RELAY_THREADS`).
   * The first proxy of the process to start the engine decides; the first thread also accepts.
   */
  relayThreads?: number;
  /** xDS reconnect backoff (default 250 ms doubling to 30 s, ±50 % jitter). */
  reconnectBackoff?: { initialMs: number; maxMs: number };
}

/**
 * Test only: original destinations by the client's source address (IPv4), for
 * {@link ProxyOptions.originalDstForTesting}. Routes set after the proxy started reach its relay
 * thread before any later connection from that source.
 */
export class TestRoutes {
  readonly #routes = new Map<string, OriginalDestination>();
  readonly #watchers = new Set<(source: string, dst: OriginalDestination) => void>();

  set(source: string, dst: OriginalDestination): void {
    this.#routes.set(source, dst);
    for (const w of this.#watchers) w(source, dst);
  }

  get(source: string | undefined): OriginalDestination | null {
    return this.#routes.get((source ?? '').replace(/^::ffff:/, '')) ?? null;
  }

  /** Calls `fn` for every route now and every one set later; returns the unsubscription. */
  watch(fn: (source: string, dst: OriginalDestination) => void): () => void {
    for (const [source, dst] of this.#routes) fn(source, dst);
    this.#watchers.add(fn);
    return () => this.#watchers.delete(fn);
  }
}

/** The addresses of an accepted connection (a `net.Socket` has them). */
export type ConnectionAddresses = Pick<net.Socket, 'remoteAddress' | 'remotePort' | 'localAddress' | 'localPort'>;

/** Snapshot input for {@link Proxy.applySnapshot}: lists or maps of resources per kind. */
export type SnapshotInput = Partial<Record<ResourceKind, readonly object[] | Readonly<Record<string, object>>>>;

export type ApplyResult = { accepted: true } | { accepted: false; detail: string };

/** Bad proxy options. */
export class ProxyOptionsError extends Error {
  readonly code = 'ERR_SLUICE_PROXY_OPTIONS';
}

function sourceFromMetadata(md: Record<string, unknown> | undefined): SourceWorkload {
  const labels = (md?.['LABELS'] ?? {}) as Record<string, string>;
  return Object.freeze({
    workload: String(md?.['WORKLOAD_NAME'] ?? labels['app'] ?? ''),
    namespace: String(md?.['NAMESPACE'] ?? ''),
    labels: Object.freeze({ ...labels }),
    serviceAccount: String(md?.['SERVICE_ACCOUNT'] ?? ''),
  });
}

/** google.protobuf.Struct in the object form grpc/proto-loader encodes. */
function toStruct(o: Record<string, unknown>): { fields: Record<string, unknown> } {
  const value = (v: unknown): unknown => {
    if (v === null || v === undefined) return { nullValue: 'NULL_VALUE' };
    if (typeof v === 'number') return { numberValue: v };
    if (typeof v === 'boolean') return { boolValue: v };
    if (typeof v === 'string') return { stringValue: v };
    if (Array.isArray(v)) return { listValue: { values: v.map(value) } };
    return { structValue: toStruct(v as Record<string, unknown>) };
  };
  const fields: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(o)) fields[k] = value(v);
  return { fields };
}

const byName = (kind: ResourceKind, given: readonly object[] | Readonly<Record<string, object>>) => {
  if (!Array.isArray(given)) return { ...(given as Record<string, Record<string, unknown>>) };
  const list = given as Record<string, unknown>[];
  const key = kind === 'endpoints' ? 'cluster_name' : 'name';
  const out: Record<string, Record<string, unknown>> = {};
  list.forEach((r, i) => {
    out[typeof r[key] === 'string' && r[key] ? (r[key] as string) : `#${i}`] = r;
  });
  return out;
};

function sameAddress(a: string | undefined, b: string): boolean {
  const norm = (s: string | undefined) => (s ?? '').replace(/^::ffff:/, '');
  return norm(a) === norm(b);
}

// biome-ignore lint/suspicious/noShadowRestrictedNames: the sidecar's public name is Proxy
export class Proxy {
  readonly metrics = new ProxyMetrics();
  readonly logger: ProxyLogger;
  readonly #opts: ProxyOptions;
  readonly #accessLog: AccessLog;
  readonly #source: SourceWorkload;
  readonly #counters = new ConnectionCounters();
  readonly #active = new Set<ActiveConnection>();
  #snapshot: CompiledSnapshot | undefined;
  #resources: SnapshotResources = emptyResources();
  #have = { listeners: false, clusters: false };
  #generation = 0;
  #lastUpdated = '';
  #outbound: net.Server | undefined;
  #inbound: net.Server | undefined;
  #engine: ByteEngine | undefined;
  #nativeListeners: NativeListener[] = [];
  /** The outbound native listener whose relay thread decides with the snapshot's table. */
  #decidingListener: NativeListener | undefined;
  /** Tables handed to the relay thread by generation (the latest few: accepts report theirs). */
  readonly #nativeTables = new Map<number, NativeTableEntry>();
  #unwatchRoutes: (() => void) | undefined;
  #relayDecisions = 0;
  #drainWaiters: (() => void)[] = [];
  #admin: http.Server | undefined;
  #stats: http.Server | undefined;
  #ads: AdsClient | undefined;
  #ports = { outbound: 0, inbound: 0, admin: 0, stats: 0 };
  #started = false;
  #closed = false;
  #applyChain: Promise<unknown> = Promise.resolve();
  #persistChain: Promise<void> = Promise.resolve();

  constructor(options: ProxyOptions = {}) {
    this.#opts = options;
    if (options.byteEngine && !['auto', 'native', 'js'].includes(options.byteEngine)) {
      throw new ProxyOptionsError(`byteEngine "${options.byteEngine}" is not supported; use "auto", "native" or "js"`);
    }
    if (options.relayThreads !== undefined && !validRelayThreads(options.relayThreads)) {
      throw new ProxyOptionsError(`relayThreads ${options.relayThreads} is not supported; use an integer from 1 to 16`);
    }
    if (options.logFormat && options.logFormat !== 'json' && options.logFormat !== 'text') {
      throw new ProxyOptionsError(`logFormat "${options.logFormat}" is not supported; use "json" or "text"`);
    }
    this.logger = options.logger ?? stderrLogger();
    this.#accessLog = new AccessLog(options.logFormat ?? 'json', options.accessLogWrite);
    this.#source = sourceFromMetadata(options.nodeMetadata);
  }

  /** Bound ports (after {@link start}). */
  get ports(): Readonly<{ outbound: number; inbound: number; admin: number; stats: number }> {
    return { ...this.#ports };
  }

  /** The snapshot connections are decided with; undefined until listeners and clusters arrived. */
  get snapshot(): CompiledSnapshot | undefined {
    return this.#have.listeners && this.#have.clusters ? this.#snapshot : undefined;
  }

  /** The byte path in use: `native` (relay thread) or `js` (after {@link start}). */
  get byteEngine(): 'native' | 'js' {
    return this.#engine ? 'native' : 'js';
  }

  /** Connections the relay thread decided and served itself (native byte path, outbound). */
  get relayDecisions(): number {
    return this.#relayDecisions;
  }

  /** Number of open connections being tracked. */
  get openConnections(): number {
    return this.#active.size;
  }

  async start(): Promise<void> {
    if (this.#started) throw new ProxyOptionsError('start() called twice');
    this.#started = true;
    const bind = this.#opts.bindAddress;
    this.#engine = this.#acquireEngine();
    if (this.#engine) {
      const shared = this.#engine.createCounters(COUNTER_SLOTS);
      this.#counters.attachShared(shared.slots, shared.handle);
      this.#ports.outbound = this.#listenNative('outbound', this.#opts.outboundPort ?? 15001, bind);
      if (this.#opts.inboundPort !== false) {
        this.#ports.inbound = this.#listenNative('inbound', this.#opts.inboundPort ?? 15006, bind);
      }
    } else {
      this.#outbound = this.#captureServer('outbound');
      this.#ports.outbound = await listenCapture(this.#outbound, this.#opts.outboundPort ?? 15001, bind);
      if (this.#opts.inboundPort !== false) {
        this.#inbound = this.#captureServer('inbound');
        this.#ports.inbound = await listenCapture(this.#inbound, this.#opts.inboundPort ?? 15006, bind);
      }
    }
    if (this.#opts.adminPort !== false) {
      this.#admin = http.createServer(adminHandler(this.#adminSource(), false));
      this.#ports.admin = await listenHttp(this.#admin, this.#opts.adminPort ?? 15000);
    }
    if (this.#opts.statsPort !== false) {
      this.#stats = http.createServer(adminHandler(this.#adminSource(), true));
      this.#ports.stats = await listenHttp(this.#stats, this.#opts.statsPort ?? 15090);
    }
    if (this.#opts.snapshotFile) await this.#loadPersisted(this.#opts.snapshotFile);
    if (this.#opts.xds) await this.#startAds(this.#opts.xds);
    this.logger.info(
      { ports: this.#ports, ready: this.snapshot !== undefined, byteEngine: this.byteEngine },
      'proxy started',
    );
  }

  async #loadPersisted(file: string): Promise<void> {
    try {
      const resources = await loadSnapshotFile(file);
      if (!resources) {
        this.logger.info({ file }, 'no persisted snapshot; blocking all traffic until the control plane answers');
        return;
      }
      const result = await this.#publish(resources, { listeners: true, clusters: true }, false);
      if (!result.accepted) throw new Error(result.detail);
      this.logger.info(
        { file, versions: resources.versions },
        'enforcing the persisted snapshot until the control plane answers',
      );
    } catch (e) {
      this.logger.error({ file, error: (e as Error).message }, 'persisted snapshot ignored (corrupt or invalid)');
    }
  }

  async #startAds(target: string): Promise<void> {
    // Loaded here: gRPC and protobuf cost ~12 MiB of RSS that a proxy without xDS never needs.
    const { AdsClient } = await import('./xds/ads-client.js');
    if (this.#closed) return; // closed while the module loaded: no stream to open
    const md = this.#opts.nodeMetadata ?? {};
    this.#ads = new AdsClient({
      target,
      node: {
        id: this.#opts.nodeId ?? 'sidecar~127.0.0.1~unknown.default~default.svc.cluster.local',
        cluster: this.#source.workload || 'unknown',
        metadata: toStruct(md),
        user_agent_name: 'sluice-proxy',
      },
      logger: this.logger,
      initialVersions: this.snapshot
        ? {
            [TypeUrl.Listener]: this.#resources.versions.listeners,
            [TypeUrl.Cluster]: this.#resources.versions.clusters,
          }
        : {},
      ...(this.#opts.xdsProtocol ? { protocol: this.#opts.xdsProtocol } : {}),
      onResponse: (typeUrl, resources, version) => this.#onXdsResponse(typeUrl, resources, version),
      onConnectionChange: (up) => this.logger.info({ target, connected: up }, up ? 'xDS stream up' : 'xDS stream down'),
      ...(this.#opts.reconnectBackoff ? { backoff: this.#opts.reconnectBackoff } : {}),
    });
    this.#subscribeNamed();
    this.#ads.start();
  }

  async #onXdsResponse(typeUrl: string, resources: Record<string, unknown>[], version: string): Promise<ApplyResult> {
    if (typeUrl === TypeUrl.NameTable) {
      try {
        this.#opts.onNameTable?.((resources[0] ?? {}) as NameTable);
      } catch (e) {
        this.logger.error({ error: (e as Error).message }, 'onNameTable hook failed');
      }
      return { accepted: true };
    }
    const kind = kindOfType[typeUrl];
    if (!kind) {
      this.metrics.xdsRejections.inc({ type_url: typeUrl });
      return { accepted: false, detail: `type ${typeUrl} is not supported by the Sluice proxy` };
    }
    const next: SnapshotResources = {
      ...this.#resources,
      [kind]: byName(kind, resources),
      versions: { ...this.#resources.versions, [kind]: version },
    };
    const result = await this.#publish(next, { [kind]: true }, true);
    if (!result.accepted) this.metrics.xdsRejections.inc({ type_url: typeUrl });
    return result;
  }

  /**
   * Applies resources directly (tests, tools): kinds given replace the current ones; kinds absent are
   * kept. Validated and compiled like an xDS response; a rejected input changes nothing.
   */
  applySnapshot(input: SnapshotInput, version = ''): Promise<ApplyResult> {
    const next: SnapshotResources = { ...this.#resources, versions: { ...this.#resources.versions } };
    const have: { listeners?: boolean; clusters?: boolean } = {};
    for (const kind of ['listeners', 'clusters', 'routes', 'endpoints'] as const) {
      const given = input[kind];
      if (!given) continue;
      (next as unknown as Record<string, unknown>)[kind] = byName(kind, given);
      next.versions[kind] = version;
      if (kind === 'listeners' || kind === 'clusters') have[kind] = true;
    }
    return this.#publish(next, have, true);
  }

  /** Validates, compiles and swaps in a snapshot; serialised so swaps happen in order. */
  #publish(
    resources: SnapshotResources,
    have: { listeners?: boolean; clusters?: boolean },
    persist: boolean,
  ): Promise<ApplyResult> {
    const run = async (): Promise<ApplyResult> => {
      const result = compileSnapshot(resources, {
        capturePort: this.#ports.outbound,
        counters: this.#counters,
        generation: this.#generation + 1,
      });
      if (!result.ok) {
        const detail = formatFindings(typeUrlOf(result.kind), result.findings);
        this.logger.error({ detail }, 'configuration rejected; keeping the last good snapshot');
        return { accepted: false, detail };
      }
      if (result.snapshot.clusters.hasDnsClusters) await result.snapshot.clusters.resolveDns();
      this.#generation++;
      this.#resources = resources;
      this.#snapshot = result.snapshot;
      this.#lastUpdated = new Date().toISOString();
      if (have.listeners) this.#have.listeners = true;
      if (have.clusters) this.#have.clusters = true;
      this.#subscribeNamed();
      this.#installNativeTable();
      if (this.snapshot) {
        this.#recheckConnections();
        if (persist && this.#opts.snapshotFile) this.#persist(this.#opts.snapshotFile, resources);
      }
      return { accepted: true };
    };
    const p = this.#applyChain.then(run, run);
    this.#applyChain = p;
    return p;
  }

  #persist(file: string, resources: SnapshotResources): void {
    this.#persistChain = this.#persistChain
      .then(() => saveSnapshotFile(file, resources))
      .catch((e) => this.logger.error({ file, error: (e as Error).message }, 'cannot persist the snapshot'));
  }

  /** Resolves when the last snapshot write finished (tests). */
  flushPersisted(): Promise<void> {
    return this.#persistChain;
  }

  /** Asks the control plane for the endpoints and routes the current clusters and listeners name. */
  #subscribeNamed(): void {
    if (!this.#ads) return;
    const eds: string[] = [];
    for (const c of Object.values(this.#resources.clusters)) {
      if (c.type === 'EDS') eds.push(c.eds_cluster_config?.service_name || c.name);
    }
    const rds: string[] = [];
    for (const l of Object.values(this.#resources.listeners)) {
      for (const fc of [...(l.filter_chains ?? []), ...(l.default_filter_chain ? [l.default_filter_chain] : [])]) {
        const name = (fc.filters?.[0]?.typed_config as { rds?: { route_config_name?: string } } | undefined)?.rds
          ?.route_config_name;
        if (name) rds.push(name);
      }
    }
    this.#ads.subscribe(TypeUrl.ClusterLoadAssignment, eds);
    this.#ads.subscribe(TypeUrl.RouteConfiguration, rds);
  }

  /**
   * Hands the relay thread that accepts outbound connections the current snapshot's table (none
   * before the first snapshot: JavaScript then black-holes with `no-config`).
   */
  #installNativeTable(): void {
    const listener = this.#decidingListener;
    if (!listener) return;
    const snap = this.snapshot;
    if (!snap) {
      listener.setTable(this.#generation, null, null);
      return;
    }
    try {
      const { spec, ...native } = compileNativeTable(snap.table, snap.clusters);
      this.#nativeTables.set(this.#generation, { native, snapshot: snap });
      for (const gen of this.#nativeTables.keys()) {
        if (this.#nativeTables.size <= NATIVE_TABLES_KEPT) break;
        this.#nativeTables.delete(gen);
      }
      listener.setTable(this.#generation, spec, this.#counters.sharedHandle); // copied by the addon
    } catch (e) {
      this.logger.error({ error: (e as Error).message }, 'relay thread table not built; deciding in JavaScript');
      listener.setTable(this.#generation, null, null);
    }
  }

  /** Closes open connections the new snapshot no longer allows, saying so in the log. */
  #recheckConnections(): void {
    for (const c of this.#active) this.#recheck(c);
  }

  /** Closes one open connection if the current snapshot no longer allows it. */
  #recheck(c: ActiveConnection): void {
    const snap = this.snapshot;
    {
      const now = redecide(snap, c);
      if (now.verdict === 'blackhole' && c.decision.verdict !== 'blackhole') {
        this.logger.info(
          {
            event: 'connection_closed_by_policy',
            destination: c.logBase.downstream_local_address,
            source: c.logBase.downstream_remote_address,
            previous_rule: c.decision.rule ?? null,
            previous_reason: c.decision.reason,
            reason: now.reason,
            generation: this.#generation,
          },
          'closing connection: no longer allowed by the new configuration',
        );
        c.close('policy_revoked');
      }
    }
  }

  #acquireEngine(): ByteEngine | undefined {
    const env = process.env['SLUICE_PROXY_BYTE_ENGINE'];
    const wanted = this.#opts.byteEngine && this.#opts.byteEngine !== 'auto' ? this.#opts.byteEngine : env || 'auto';
    if (wanted === 'js') return undefined;
    const fromEnv = Number(process.env['SLUICE_PROXY_RELAY_THREADS'] ?? '1');
    const engine = ByteEngine.acquire(this.#opts.relayThreads ?? (validRelayThreads(fromEnv) ? fromEnv : 1));
    if (engine) return engine;
    const why = byteEngineUnavailableReason() ?? 'the byte relay addon is not available';
    if (wanted === 'native') throw new NativeAddonMissingError(`${why}; run \`npm run build:native -w @sluice/proxy\``);
    this.logger.warn({ reason: why }, 'relaying in JavaScript: the native byte path is not available');
    return undefined;
  }

  #context(direction: 'outbound' | 'inbound'): ConnectionContext {
    return {
      direction,
      snapshot: () => this.snapshot,
      metrics: this.metrics,
      logger: this.logger,
      source: this.#source,
      accessLog: (e: AccessLogEntry) => this.#accessLog.log(e),
      accessLogTcp: (base: AccessLogEntry, close: TcpLogClose) => this.#accessLog.logTcp(base, close),
      nameForIp: this.#opts.nameForIp,
      track: (c) => {
        this.#active.add(c);
        return () => {
          this.#active.delete(c);
          if (this.#active.size === 0) for (const w of this.#drainWaiters.splice(0)) w();
        };
      },
    };
  }

  /** The original destination of an accepted connection, null when it was not redirected here. */
  #originalDst(
    direction: 'outbound' | 'inbound',
    conn: ConnectionAddresses,
    read: () => OriginalDestination | null,
  ): OriginalDestination | null {
    let dst: OriginalDestination | null;
    try {
      const hook = this.#opts.originalDstForTesting;
      dst = hook instanceof TestRoutes ? hook.get(conn.remoteAddress) : hook ? hook(conn) : read();
    } catch (e) {
      this.logger.error({ error: (e as Error).message }, 'cannot read the original destination');
      dst = null;
    }
    const listenPort = direction === 'outbound' ? this.#ports.outbound : this.#ports.inbound;
    if (dst && dst.port === listenPort && sameAddress(conn.localAddress, dst.address)) dst = null;
    return dst;
  }

  #listenNative(direction: 'outbound' | 'inbound', port: number, host: string | undefined): number {
    const engine = this.#engine as ByteEngine;
    const ctx = this.#context(direction);
    const recheck = (a: ActiveConnection) => this.#recheck(a);
    const onAccept = (c: AcceptedConnection) => {
      try {
        const dst = this.#originalDst(direction, c, () => c.originalDst);
        const decided = c.decided;
        const entry = decided && this.#nativeTables.get(decided.gen);
        if (decided && entry) {
          this.#relayDecisions++;
          serveDecidedConnection(ctx, engine, c, decided, entry, dst, recheck);
        } else if (decided?.connecting)
          engine.close(c.id); // its table is long gone: cannot be logged as decided
        else serveNativeConnection(ctx, engine, c, dst);
      } catch (e) {
        this.logger.error({ error: (e as Error).message }, 'connection handler failed');
        engine.discard(c.id);
      }
    };
    let listener: NativeListener;
    if (host) listener = engine.listen(host, port, onAccept);
    else {
      try {
        listener = engine.listen('::', port, onAccept);
      } catch (e) {
        const code = (e as NodeJS.ErrnoException).code;
        if (code !== 'EAFNOSUPPORT' && code !== 'EADDRNOTAVAIL') throw e;
        listener = engine.listen('0.0.0.0', port, onAccept);
      }
    }
    this.#nativeListeners.push(listener);
    const hook = this.#opts.originalDstForTesting;
    if (direction === 'outbound' && typeof hook !== 'function') {
      // The relay thread decides (SO_ORIGINAL_DST, or the test routes, tell it the destination).
      if (hook instanceof TestRoutes) {
        listener.useTestRoutes();
        this.#unwatchRoutes = hook.watch((source, dst) => listener.addTestRoute(source, dst));
      }
      this.#decidingListener = listener;
      this.#installNativeTable();
    }
    return listener.port;
  }

  #captureServer(direction: 'outbound' | 'inbound'): net.Server {
    const ctx = this.#context(direction);
    const server = net.createServer({ allowHalfOpen: true, pauseOnConnect: true }, (socket) => {
      const dst = this.#originalDst(direction, socket, () => nativeOriginalDst(socket));
      serveConnection(ctx, socket, dst).catch((e) => {
        this.logger.error({ error: (e as Error).message }, 'connection handler failed');
        socket.destroy();
      });
    });
    server.on('error', (e) => this.logger.error({ direction, error: e.message }, 'listener error'));
    return server;
  }

  #adminSource() {
    return {
      notReadyReason: () => (this.snapshot ? undefined : 'no configuration received yet'),
      configDump: () =>
        buildConfigDump({
          ...this.#resources,
          lastUpdated: this.#lastUpdated,
          bootstrap: { node: { id: this.#opts.nodeId ?? '', metadata: this.#opts.nodeMetadata ?? {} } },
        }),
      clustersText: () =>
        (this.#snapshot?.clusters.describe() ?? [])
          .map((c) =>
            [
              `${c.name}::type::${c.type}`,
              `${c.name}::default_priority::max_connections::${c.maxConnections}`,
              `${c.name}::cx_active::${c.open}`,
              ...c.endpoints.map((e) => `${c.name}::${e.address}:${e.port}::health_flags::healthy`),
            ].join('\n'),
          )
          .join('\n')
          .concat('\n'),
      clustersJson: () => ({ cluster_statuses: this.#snapshot?.clusters.describe() ?? [] }),
      metrics: () => this.metrics.exposition(),
      setLogLevel: (level: LogLevel) => {
        this.logger.level = level;
      },
      logLevel: () => this.logger.level,
    };
  }

  /** Graceful: stops accepting and the xDS stream; resolves when open connections have ended. Idempotent. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    this.#unwatchRoutes?.();
    this.#ads?.close();
    for (const l of this.#nativeListeners) l.close();
    await Promise.all([
      closeServer(this.#admin, true),
      closeServer(this.#stats, true),
      closeServer(this.#outbound, false),
      closeServer(this.#inbound, false),
    ]);
    await this.#releaseEngine(undefined);
    await this.#persistChain;
  }

  /** Waits until tracked connections have ended (at most `timeoutMs`), then gives up the relay thread. */
  async #releaseEngine(timeoutMs: number | undefined): Promise<void> {
    const engine = this.#engine;
    if (!engine) return;
    this.#engine = undefined;
    if (this.#active.size > 0) {
      await new Promise<void>((resolve) => {
        this.#drainWaiters.push(resolve);
        if (timeoutMs !== undefined) setTimeout(resolve, timeoutMs).unref();
      });
    }
    engine.release();
  }

  /** Immediate: closes listeners and every open connection. Idempotent. */
  async destroy(): Promise<void> {
    const wasClosed = this.#closed;
    this.#closed = true;
    this.#unwatchRoutes?.();
    this.#ads?.close();
    for (const c of this.#active) c.close('proxy_destroyed');
    for (const l of this.#nativeListeners) l.close();
    if (!wasClosed) {
      await Promise.all([
        closeServer(this.#admin, true),
        closeServer(this.#stats, true),
        closeServer(this.#outbound, false),
        closeServer(this.#inbound, false),
      ]);
    }
    await this.#releaseEngine(2000);
    await this.#persistChain;
  }
}

function typeUrlOf(kind: ResourceKind): string {
  return (
    {
      listeners: TypeUrl.Listener,
      clusters: TypeUrl.Cluster,
      routes: TypeUrl.RouteConfiguration,
      endpoints: TypeUrl.ClusterLoadAssignment,
    } as const
  )[kind];
}

function listenOnce(server: net.Server, port: number, host: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const onError = (e: Error) => reject(e);
    server.once('error', onError);
    server.listen({ port, host, ipv6Only: false }, () => {
      server.removeListener('error', onError);
      resolve((server.address() as net.AddressInfo).port);
    });
  });
}

async function listenCapture(server: net.Server, port: number, host: string | undefined): Promise<number> {
  if (host) return listenOnce(server, port, host);
  try {
    return await listenOnce(server, port, '::');
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code !== 'EAFNOSUPPORT' && code !== 'EADDRNOTAVAIL') throw e;
    return listenOnce(server, port, '0.0.0.0');
  }
}

function listenHttp(server: http.Server, port: number): Promise<number> {
  return listenOnce(server as unknown as net.Server, port, '127.0.0.1');
}

function closeServer(server: net.Server | http.Server | undefined, force: boolean): Promise<void> {
  if (!server?.listening) return Promise.resolve();
  return new Promise((resolve) => {
    server.close(() => resolve());
    if (force && 'closeAllConnections' in server) server.closeAllConnections();
  });
}

/** Clusters whose open connections the relay thread can count (more are decided in JavaScript). */
const COUNTER_SLOTS = 65536;
/** Table generations kept for accepts that report an older one. */
const NATIVE_TABLES_KEPT = 8;

function validRelayThreads(n: number): boolean {
  return Number.isInteger(n) && n >= 1 && n <= 16;
}
