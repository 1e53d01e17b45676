/**
 * The xDS server: Envoy's Aggregated Discovery Service over gRPC, state of the world
 * (StreamAggregatedResources) and incremental (DeltaAggregatedResources) side by side. It takes
 * snapshots from a {@link ConfigSource}, debounces bursts of changes, generates each proxy's
 * resources (shared per proxy shape) and pushes only what changed: the types whose version changed
 * (state of the world) or the resources whose version changed (delta). Both kinds of stream share
 * status tracking: `statuses()`, `waitForAcks()` and `configDump()` cover every stream.
 * `close()` ends streams and stops gracefully; `destroy()` stops at once. Both are idempotent.
 */
import { adsService } from '@sluice/xds';
import type { Registry } from 'prom-client';
import type { ConfigSnapshot, GeneratedResources } from '../translate/types.js';
import { configDump } from './config-dump.js';
import type { ConfigSource } from './config-source.js';
import { DeltaStream } from './delta-stream.js';
import { rotateEncodingCache } from './encoded-resources.js';
import { XdsListenError, XdsServerClosedError } from './errors.js';
import { type GrpcCall, type GrpcMethod, GrpcStatus, GrpcStreamServer } from './grpc-transport.js';
import { silentLogger, type XdsLogger } from './logger.js';
import { createXdsMetrics, type XdsMetrics } from './metrics.js';
import { ProxyStream } from './proxy-stream.js';
import type { ProxyStatus, WaitForAcksResult } from './status.js';
import type { StreamContext, XdsStream } from './xds-stream.js';

export interface XdsServerOptions {
  source: ConfigSource;
  logger?: XdsLogger;
  /** Quiet time after a change before pushing, so bursts coalesce. Default 50 ms. */
  debounceMs?: number;
  /** Longest a continuous burst may delay a push. Default 10 × debounceMs. */
  maxDebounceMs?: number;
  /** Prometheus registry for the server's metrics; a private one by default. */
  registry?: Registry;
}

interface AckWaiter {
  seq: number | undefined;
  revision: string;
  proxies: string[];
  /** Proxies not known to have acked yet. */
  pending: Set<string>;
  resolve: (r: WaitForAcksResult) => void;
  timer: NodeJS.Timeout;
}

/** A push to every stream, done in slices. */
interface PushCycle {
  streams: XdsStream[];
  next: number;
  /** Time spent in the slices so far (not counting the waits between them). */
  spentMs: number;
}

/** Longest stretch a push runs before letting I/O (writes out, ACKs in) through. */
const PUSH_SLICE_MS = 4;

function revisionAtLeast(a: string, b: string): boolean {
  if (/^\d+$/.test(a) && /^\d+$/.test(b)) return BigInt(a) >= BigInt(b);
  return a === b;
}

export class XdsServer {
  readonly #source: ConfigSource;
  readonly #logger: XdsLogger;
  readonly #debounceMs: number;
  readonly #maxDebounceMs: number;
  readonly metrics: XdsMetrics;
  readonly #streams = new Set<XdsStream>();
  /** Identified streams by proxy id (a proxy may briefly have two while it reconnects). */
  readonly #byId = new Map<string, Set<XdsStream>>();
  readonly #waiters = new Set<AckWaiter>();
  readonly #revisions: string[] = [];
  #server: GrpcStreamServer | undefined;
  #current: { snapshot: ConfigSnapshot; seq: number } | undefined;
  /** The push in progress, if any. */
  #cycle: PushCycle | undefined;
  #unsubscribe: (() => void) | undefined;
  #debounceTimer: NodeJS.Timeout | undefined;
  #burstStart = 0;
  #ready: Promise<void> | undefined;
  #isReady = false;
  #closed = false;
  #requestNonce = 0;
  #rotatedFor: ConfigSnapshot | undefined;
  #pushNonceOf: { seq: number; nonce: string } | undefined;
  #onDestroyed: (() => void) | undefined;

  constructor(opts: XdsServerOptions) {
    if (!opts?.source) throw new TypeError('XdsServer: option "source" (a ConfigSource) is required');
    const debounce = opts.debounceMs ?? 50;
    if (!Number.isFinite(debounce) || debounce < 0) {
      throw new RangeError(`XdsServer: debounceMs must be a number ≥ 0 (got ${opts.debounceMs})`);
    }
    this.#source = opts.source;
    this.#logger = opts.logger ?? silentLogger;
    this.#debounceMs = debounce;
    this.#maxDebounceMs = opts.maxDebounceMs ?? Math.max(10 * debounce, debounce);
    this.metrics = createXdsMetrics(opts.registry);
  }

  /** Starts serving on every address at `port` (0 = pick one). Resolves with the bound port. */
  async listen(addresses: string[], port: number): Promise<number> {
    if (this.#closed) throw new XdsServerClosedError();
    if (this.#server) throw new XdsListenError('XdsServer.listen: already listening');
    if (addresses.length === 0) throw new XdsListenError('XdsServer.listen: give at least one address');
    this.#start();
    const methods = new Map<string, GrpcMethod>();
    for (const def of Object.values(adsService())) {
      const delta = def.path.endsWith('/DeltaAggregatedResources');
      methods.set(def.path, {
        deserialize: def.requestDeserialize,
        handler: (call) =>
          this.#onStream(call, (ctx) => (delta ? new DeltaStream(call, ctx) : new ProxyStream(call, ctx))),
      });
    }
    const server = new GrpcStreamServer(methods, { maxReceiveMessageLength: 16 << 20 });
    this.#server = server;
    let bound = port;
    for (const address of addresses) {
      const host = address.includes(':') ? `[${address}]` : address;
      try {
        bound = await server.listen(address, bound);
      } catch (err) {
        throw new XdsListenError(`cannot listen on ${host}:${bound}: ${(err as Error).message}`);
      }
    }
    return bound;
  }

  #start(): void {
    if (this.#ready) return;
    this.#unsubscribe = this.#source.onChange(() => this.#scheduleProcess());
    this.#ready = this.#source.ready().then(() => {
      this.#isReady = true;
      if (!this.#current) this.#process();
    });
  }

  #scheduleProcess(): void {
    if (this.#closed) return;
    const now = Date.now();
    if (!this.#debounceTimer) this.#burstStart = now;
    clearTimeout(this.#debounceTimer);
    const wait = Math.min(this.#debounceMs, Math.max(0, this.#burstStart + this.#maxDebounceMs - now));
    const first = this.#debounceTimer === undefined;
    this.#debounceTimer = setTimeout(() => {
      this.#debounceTimer = undefined;
      this.#process();
    }, wait);
    // The first change of a burst: generate and encode its snapshot while the debounce waits, so the
    // push finds it done if nothing else changes (at most once per burst; otherwise it is redone).
    if (first && wait > 0) setImmediate(() => this.#prepare());
  }

  /** Starts a new encoding cache generation for `snapshot`, once (whether prepared ahead or not). */
  #rotateFor(snapshot: ConfigSnapshot): void {
    if (this.#rotatedFor === snapshot) return;
    this.#rotatedFor = snapshot;
    rotateEncodingCache();
  }

  /** Generates and encodes the source's current snapshot for every connected shape, ahead of the push. */
  #prepare(): void {
    if (this.#closed || !this.#isReady || this.#debounceTimer === undefined) return;
    const snapshot = this.#source.snapshot();
    if (this.#current?.snapshot === snapshot) return;
    this.#rotateFor(snapshot);
    const done = new Set<GeneratedResources>();
    for (const s of this.#streams) s.prepare(snapshot, done);
  }

  /** Takes the source's snapshot and pushes it to every stream. */
  #process(): void {
    if (this.#closed) return;
    const snapshot = this.#source.snapshot();
    if (this.#current?.snapshot === snapshot) return;
    const seq = (this.#current?.seq ?? -1) + 1;
    this.#current = { snapshot, seq };
    this.#revisions[seq] = snapshot.revision;
    this.#rotateFor(snapshot);
    this.#cycle = { streams: [...this.#streams], next: 0, spentMs: 0 };
    this.#pushSlice(this.#cycle);
  }

  /**
   * Pushes to the cycle's streams for up to {@link PUSH_SLICE_MS}, then yields to the event loop
   * and continues: the responses of a slice go out (and proxies start acking them) while the next
   * slice is generated, and requests are not held up behind a push to every proxy. A newer cycle
   * replaces an unfinished one (it covers every stream again; streams already current send nothing).
   */
  #pushSlice(cycle: PushCycle): void {
    if (this.#cycle !== cycle || this.#closed) return;
    const started = performance.now();
    const { streams } = cycle;
    while (cycle.next < streams.length) {
      const s = streams[cycle.next++] as XdsStream;
      if (!s.closed) s.push();
      if ((cycle.next & 15) === 0 && performance.now() - started > PUSH_SLICE_MS) break;
    }
    cycle.spentMs += performance.now() - started;
    if (cycle.next < streams.length) {
      setImmediate(() => this.#pushSlice(cycle));
      return;
    }
    this.#cycle = undefined;
    this.metrics.pushDuration.observe(cycle.spentMs / 1000);
    this.#checkWaiters();
  }

  /** The nonce of the current push cycle (one string per cycle, shared by every stream). */
  #pushNonce(): string {
    const seq = this.#current?.seq ?? 0;
    if (this.#pushNonceOf?.seq !== seq) this.#pushNonceOf = { seq, nonce: `p${seq}` };
    return this.#pushNonceOf.nonce;
  }

  #onStream(call: GrpcCall, create: (ctx: StreamContext) => XdsStream): void {
    const stream = create({
      current: () => this.#current!,
      nonce: (push) => (push ? this.#pushNonce() : `r${++this.#requestNonce}`),
      metrics: this.metrics,
      logger: this.#logger,
    });
    this.#streams.add(stream);
    this.metrics.connected.set(this.#streams.size);
    // Requests wait for the source's first snapshot; after that they are handled as they arrive.
    let backlog: unknown[] | undefined;
    if (!this.#isReady) {
      backlog = [];
      void this.#ready?.then(() => {
        const queued = backlog ?? [];
        backlog = undefined;
        for (const req of queued) handle(req);
      });
    }
    const end = () => {
      if (stream.closed) return;
      stream.closed = true;
      this.#streams.delete(stream);
      const same = this.#byId.get(stream.id);
      same?.delete(stream);
      if (same?.size === 0) this.#byId.delete(stream.id);
      this.metrics.connected.set(this.#streams.size);
      if (stream.proxy) this.#logger.info({ proxy: stream.id }, 'proxy disconnected');
    };
    const handle = (req: unknown) => {
      if (stream.closed || this.#closed) return;
      try {
        const known = stream.proxy !== undefined;
        stream.handle(req);
        if (!known && stream.proxy) {
          const same = this.#byId.get(stream.id) ?? new Set();
          same.add(stream);
          this.#byId.set(stream.id, same);
        }
        const synced = stream.syncedSeq;
        stream.afterRequest();
        // Only a request that brought the stream in sync can settle a waiter (most ACKs of a push
        // leave it out of sync until its last type is acked).
        if (stream.syncedSeq !== synced || !known) this.#checkWaiters(stream);
      } catch (err) {
        const e = err as Error;
        this.#logger.warn({ proxy: stream.id, err: e.message }, 'ending stream');
        call.finish(GrpcStatus.INVALID_ARGUMENT, e.message);
        end();
      }
    };
    call.on('data', (req: unknown) => {
      if (backlog) backlog.push(req);
      else handle(req);
    });
    call.on('end', () => {
      end();
      call.end();
    });
    call.on('cancelled', end);
    call.on('close', end);
  }

  /** The current snapshot revision the server has processed ("" before the first). */
  revision(): string {
    return this.#current?.snapshot.revision ?? '';
  }

  /** One entry per open stream that has identified itself. */
  statuses(): ProxyStatus[] {
    return [...this.#streams]
      .filter((s) => s.proxy)
      .map((s) => s.status())
      .sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
  }

  /** An Envoy-ConfigDump-like object of what was sent to the proxy, or undefined if it is not connected. */
  configDump(proxyId: string): Record<string, unknown> | undefined {
    const stream = this.#latestStream(proxyId);
    return stream ? configDump(stream) : undefined;
  }

  #latestStream(proxyId: string): XdsStream | undefined {
    let found: XdsStream | undefined;
    for (const s of this.#streams) if (s.id === proxyId || s.proxy?.podName === proxyId) found = s;
    return found;
  }

  /**
   * Resolves when every given proxy (default: all connected now) has acked the config of snapshot
   * revision `version` (default: the newest, including a change still being debounced), or at
   * `timeoutMs` with the ones that had not.
   */
  waitForAcks(opts: { version?: string; timeoutMs: number; proxies?: string[] }): Promise<WaitForAcksResult> {
    const pendingChange = this.#debounceTimer !== undefined;
    const revision = opts.version ?? (pendingChange ? this.#source.snapshot().revision : this.revision());
    const proxies = opts.proxies ?? [...new Set(this.statuses().map((s) => s.id))];
    return new Promise((resolve) => {
      const waiter: AckWaiter = {
        seq: undefined,
        revision,
        proxies,
        pending: new Set(proxies),
        resolve,
        timer: setTimeout(() => this.#finishWaiter(waiter), Math.max(0, opts.timeoutMs)),
      };
      this.#waiters.add(waiter);
      this.#checkWaiters();
    });
  }

  #seqFor(revision: string): number | undefined {
    for (let i = 0; i < this.#revisions.length; i++) {
      const r = this.#revisions[i];
      if (r !== undefined && revisionAtLeast(r, revision)) return i;
    }
    return undefined;
  }

  #ackedBy(proxyId: string, seq: number | undefined): boolean {
    if (seq === undefined) return false;
    for (const s of this.#byId.get(proxyId) ?? []) if (s.syncedSeq >= seq) return true;
    return false;
  }

  /**
   * Settles waiters. With `changed`, only that stream's proxy is re-checked (each request costs
   * O(waiters), not O(proxies)); without, every pending proxy is.
   */
  #checkWaiters(changed?: XdsStream): void {
    for (const w of this.#waiters) {
      const fresh = w.seq === undefined;
      w.seq ??= this.#seqFor(w.revision);
      if (w.seq === undefined) continue;
      if (changed && !fresh) {
        if (w.pending.has(changed.id) && this.#ackedBy(changed.id, w.seq)) w.pending.delete(changed.id);
      } else {
        for (const p of w.pending) if (this.#ackedBy(p, w.seq)) w.pending.delete(p);
      }
      if (w.pending.size === 0) this.#finishWaiter(w);
    }
  }

  #finishWaiter(w: AckWaiter): void {
    if (!this.#waiters.delete(w)) return;
    clearTimeout(w.timer);
    const acked = w.seq === undefined ? [] : w.proxies.filter((p) => !w.pending.has(p) || this.#ackedBy(p, w.seq));
    const ackedSet = new Set(acked);
    const notAcked = w.proxies.filter((p) => !ackedSet.has(p));
    const nacked = notAcked.filter((p) => [...(this.#byId.get(p) ?? [])].some((s) => s.hasNack()));
    w.resolve({ version: w.revision, acked, notAcked, nacked });
  }

  /** Ends every stream, then stops the gRPC server. Idempotent. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#shutdownState();
    const server = this.#server;
    for (const s of this.#streams) s.end();
    if (server) {
      await new Promise<void>((resolve) => {
        this.#onDestroyed = resolve;
        void server.close().then(resolve);
      });
    }
    this.#server = undefined;
  }

  /** Stops at once, cancelling every stream. Idempotent. */
  destroy(): void {
    if (!this.#closed) this.#shutdownState();
    this.#server?.destroy();
    this.#server = undefined;
    this.#onDestroyed?.();
  }

  #shutdownState(): void {
    this.#closed = true;
    clearTimeout(this.#debounceTimer);
    this.#debounceTimer = undefined;
    this.#unsubscribe?.();
    for (const w of [...this.#waiters]) this.#finishWaiter(w);
  }
}
