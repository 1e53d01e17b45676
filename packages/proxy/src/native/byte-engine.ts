/**
 * The native byte path (packages/proxy/native/byte_relay_*.c): epoll threads per process that
 * accept captured connections, connect upstream, relay bytes both ways (half-close, backpressure,
 * idle timeout, max duration) and report each accepted connection and each finished pair back in
 * batches. The accepting thread decides a connection itself when its listener holds a table
 * ({@link NativeListener.setTable}, compiled by src/native/native-table.ts) that can answer;
 * otherwise TypeScript decides and tells the thread what to do. Shared by all proxies of the
 * process; started on first use, stopped when the last user releases it. When the addon is not
 * built, {@link ByteEngine.acquire} returns undefined and the proxy relays in JavaScript.
 */
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { getSystemErrorName } from 'node:util';
import type { OriginalDestination } from '../upstream/cluster-view.js';

/** Why a relayed pair ended (the addon's `end_reason`). */
export type PairEndReason =
  | 'closed'
  | 'connect_timeout'
  | 'connect_error'
  | 'idle_timeout'
  | 'max_duration'
  | 'terminated'
  | 'io_error'
  | 'engine_stopped';

const END_REASONS: readonly PairEndReason[] = [
  'closed',
  'connect_timeout',
  'connect_error',
  'idle_timeout',
  'max_duration',
  'terminated',
  'io_error',
  'engine_stopped',
];

/** A connection the relay thread accepted; it waits, unread, until {@link ByteEngine} is told what to do. */
export interface AcceptedConnection {
  readonly id: number;
  /** The accepted socket's fd: only to be used after {@link ByteEngine.release}. */
  readonly fd: number;
  readonly remoteAddress: string;
  readonly remotePort: number;
  readonly localAddress: string;
  readonly localPort: number;
  /** From SO_ORIGINAL_DST; null when the connection was not redirected. */
  readonly originalDst: OriginalDestination | null;
  /**
   * Set when the relay thread decided the connection with the listener's table
   * ({@link NativeListener.setTable}): the decision's index in table generation `gen`, the endpoint
   * index it connects to (-1: the original destination or none), and what it did.
   */
  readonly decided: NativeDecided | undefined;
}

/** What the relay thread did with a connection it decided. */
export interface NativeDecided {
  readonly index: number;
  readonly gen: number;
  readonly endpoint: number;
  /** closed at once (black hole) */
  readonly blackholed: boolean;
  /** closed at once: the cluster's max_connections were open */
  readonly overflow: boolean;
  /** connecting: its end is reported like a {@link ByteEngine.connect}ed pair's */
  readonly connecting: boolean;
}

/** How a pair ended, as the relay thread saw it. */
export interface PairEnd {
  readonly reason: PairEndReason;
  /** errno name for connect_error and io_error (e.g. ECONNREFUSED), else undefined. */
  readonly errorCode: string | undefined;
  /** Bytes from the workload (downstream) to the upstream. */
  readonly bytesReceived: number;
  /** Bytes from the upstream to the workload. */
  readonly bytesSent: number;
  /** Local address:port of the upstream socket, once connected. */
  readonly upstreamLocal: string | undefined;
}

export interface UpstreamTarget {
  host: string;
  port: number;
  connectTimeoutMs: number;
  /** 0: none. */
  idleTimeoutMs: number;
  /** 0: none. */
  maxDurationMs: number;
  keepaliveMs?: number | undefined;
  /** Bytes already read from the workload, sent upstream first. */
  initialData?: Buffer | undefined;
}

/** A native capture listener. */
export interface NativeListener {
  readonly port: number;
  /**
   * Hands the relay thread the decision table for this listener's connections (an Int32Array
   * from src/native/native-table.ts, generation `gen`), or null: JavaScript decides every one.
   * `counters`: {@link ByteEngine.createCounters}' handle the thread counts open connections in.
   */
  setTable(gen: number, spec: Int32Array | null, counters: unknown): void;
  /** Tests: original destinations come from {@link addTestRoute} by source address, not SO_ORIGINAL_DST. */
  useTestRoutes(): void;
  addTestRoute(source: string, dst: { address: string; port: number }): void;
  /** Stops accepting (connections already accepted go on). Idempotent. */
  close(): void;
}

/** The addon could not start its thread. */
export class ByteEngineError extends Error {
  readonly code = 'ERR_SLUICE_BYTE_ENGINE';
}

/**
 * A batch of events from the addon: 12 numbers and 3 strings per event.
 * accepted: [1, id, listener, fd, remotePort, localPort, dstFamily, dstPort, decided, gen, ep, flags],
 *           [remoteAddress, localAddress, dstAddress];
 * ended:    [2, id, reason, errno, received, sent, 0…], [upstreamLocal].
 * `decided` is -1 when JavaScript decides; a string is absent when there is none.
 */
const EVENT_NUMS = 12;
const EVENT_STRS = 3;

interface Addon {
  start(onEvents: (nums: Float64Array, strs: (string | undefined)[]) => void, threads: number): void;
  stop(): void;
  ref(): void;
  unref(): void;
  listen(host: string, port: number, backlog: number): [number, number];
  unlisten(id: number): void;
  connect(
    id: number,
    host: string,
    port: number,
    connectMs: number,
    idleMs: number,
    maxMs: number,
    keepaliveSec: number,
    initial: Buffer | undefined,
  ): boolean;
  discard(id: number): void;
  release(id: number): void;
  close(id: number): void;
  adopt(downFd: number, upFd: number, idleMs: number, maxMs: number, initial: Buffer | undefined): number;
  createCounters(slots: number): { buffer: ArrayBuffer; handle: unknown };
  setTable(listenerId: number, gen: number, spec: Int32Array | null, counters: unknown): void;
  testRoute(listenerId: number, source?: string, dst?: string, port?: number): void;
  decideForTesting(spec: Int32Array, ip: number, port: number): number;
  decideManyForTesting(spec: Int32Array, ips: Uint32Array, ports: Int32Array, lookups: number): number;
}

const packageDir = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const addonFile = path.join(packageDir, 'native', 'build', 'Release', 'byte_relay.node');

let addon: Addon | null | undefined;
let loadError: string | undefined;

function loadAddon(): Addon | undefined {
  if (addon !== undefined) return addon ?? undefined;
  try {
    addon = createRequire(import.meta.url)(addonFile) as Addon;
  } catch (e) {
    addon = null;
    loadError = (e as Error).message;
  }
  return addon ?? undefined;
}

/** Why the native byte path is unavailable, or undefined when it loads. */
export function byteEngineUnavailableReason(): string | undefined {
  return loadAddon() ? undefined : `the byte relay addon is not built (${loadError ?? addonFile})`;
}

const BACKLOG = 4096;

/** The process-wide native byte path. */
export class ByteEngine {
  static #instance: ByteEngine | undefined;
  readonly #addon: Addon;
  readonly #listeners = new Map<number, (c: AcceptedConnection) => void>();
  readonly #pairs = new Map<number, (end: PairEnd) => void>();
  #users = 0;
  #refed = false;

  private constructor(a: Addon) {
    this.#addon = a;
  }

  /**
   * The engine (started on first use with `threads` relay threads; later callers share it as it is),
   * or undefined when the addon is not built. Pair with {@link release}.
   */
  static acquire(threads = 1): ByteEngine | undefined {
    const a = loadAddon();
    if (!a) return undefined;
    let engine = ByteEngine.#instance;
    if (!engine) {
      engine = new ByteEngine(a);
      try {
        const started = engine;
        a.start((nums, strs) => started.#dispatch(nums, strs), threads);
      } catch (e) {
        throw new ByteEngineError(`cannot start the byte relay: ${(e as Error).message}`);
      }
      ByteEngine.#instance = engine;
    }
    engine.#users++;
    return engine;
  }

  /** Gives up one use; the last one stops the thread (every pair still open is closed). */
  release(): void {
    if (this.#users === 0) return;
    this.#users--;
    if (this.#users > 0) return;
    ByteEngine.#instance = undefined;
    this.#addon.stop();
    this.#listeners.clear();
    this.#pairs.clear();
  }

  /** Starts accepting on host:port (host an IP literal, `::` is dual stack); throws with code EADDRINUSE etc. */
  listen(host: string, port: number, onAccept: (c: AcceptedConnection) => void): NativeListener {
    const [id, bound] = this.#addon.listen(host, port, BACKLOG);
    this.#listeners.set(id, onAccept);
    this.#updateRef();
    let closed = false;
    return {
      port: bound,
      setTable: (gen, spec, counters) => {
        if (!closed) this.#addon.setTable(id, gen, spec, spec ? counters : null);
      },
      useTestRoutes: () => this.#addon.testRoute(id),
      addTestRoute: (source, dst) => this.#addon.testRoute(id, source, dst.address, dst.port),
      close: () => {
        if (closed) return;
        closed = true;
        this.#listeners.delete(id);
        this.#addon.unlisten(id);
        this.#updateRef();
      },
    };
  }

  /**
   * Connects an accepted connection to its upstream and relays it; `onEnd` is called once when the
   * pair ends. Returns false (nothing started) when `host` is not an IP address.
   */
  connect(id: number, t: UpstreamTarget, onEnd: (end: PairEnd) => void): boolean {
    const keepalive = t.keepaliveMs === undefined ? -1 : Math.max(1, Math.round(t.keepaliveMs / 1000));
    const ok = this.#addon.connect(
      id,
      t.host,
      t.port,
      t.connectTimeoutMs,
      t.idleTimeoutMs,
      t.maxDurationMs,
      keepalive,
      t.initialData,
    );
    if (ok) {
      this.#pairs.set(id, onEnd);
      this.#updateRef();
    }
    return ok;
  }

  /**
   * Relays two connected sockets given by fd (dup()ed here: the caller then destroys its own
   * handles). Returns the pair's id for {@link close}.
   */
  adopt(
    downFd: number,
    upFd: number,
    opts: { idleTimeoutMs: number; maxDurationMs: number; initialData?: Buffer | undefined },
    onEnd: (end: PairEnd) => void,
  ): number {
    const id = this.#addon.adopt(downFd, upFd, opts.idleTimeoutMs, opts.maxDurationMs, opts.initialData);
    this.#pairs.set(id, onEnd);
    this.#updateRef();
    return id;
  }

  /** Open-connection counters per cluster slot, shared with the relay threads (see ConnectionCounters). */
  createCounters(slots: number): { slots: Int32Array; handle: unknown } {
    const c = this.#addon.createCounters(slots);
    return { slots: new Int32Array(c.buffer), handle: c.handle };
  }

  /** Registers `onEnd` for a pair the relay thread decided and is connecting itself. */
  expectEnd(id: number, onEnd: (end: PairEnd) => void): void {
    this.#pairs.set(id, onEnd);
    this.#updateRef();
  }

  /** Closes an accepted connection that was not connected (black hole): no report. */
  discard(id: number): void {
    this.#addon.discard(id);
  }

  /** Hands an accepted connection's fd to JavaScript (`new net.Socket({ fd })`); the thread forgets it. */
  handOver(id: number): void {
    this.#addon.release(id);
  }

  /** Terminates a connecting or relaying pair now; its `onEnd` reports `terminated`. */
  close(id: number): void {
    this.#addon.close(id);
  }

  /** Pairs being relayed or connected (all proxies of the process). */
  get openPairs(): number {
    return this.#pairs.size;
  }

  #updateRef(): void {
    const want = this.#listeners.size > 0 || this.#pairs.size > 0;
    if (want === this.#refed) return;
    this.#refed = want;
    if (want) this.#addon.ref();
    else this.#addon.unref();
  }

  #dispatch(n: Float64Array, strs: (string | undefined)[]): void {
    for (let o = 0, k = 0; o < n.length; o += EVENT_NUMS, k += EVENT_STRS) {
      const id = n[o + 1] as number;
      if (n[o] === 1) {
        const onAccept = this.#listeners.get(n[o + 2] as number);
        if (!onAccept) {
          this.#addon.discard(id);
          continue;
        }
        const dstFamily = n[o + 6] as number;
        const decided = n[o + 8] as number;
        const flags = n[o + 11] as number;
        onAccept({
          id,
          fd: n[o + 3] as number,
          remoteAddress: strs[k] as string,
          remotePort: n[o + 4] as number,
          localAddress: strs[k + 1] as string,
          localPort: n[o + 5] as number,
          originalDst: dstFamily
            ? { address: strs[k + 2] as string, port: n[o + 7] as number, family: dstFamily === 6 ? 6 : 4 }
            : null,
          decided:
            decided < 0
              ? undefined
              : {
                  index: decided,
                  gen: n[o + 9] as number,
                  endpoint: n[o + 10] as number,
                  blackholed: (flags & 1) !== 0,
                  overflow: (flags & 2) !== 0,
                  connecting: (flags & 4) !== 0,
                },
        });
        continue;
      }
      const onEnd = this.#pairs.get(id);
      if (!onEnd) continue;
      this.#pairs.delete(id);
      const errno = n[o + 3] as number;
      onEnd({
        reason: END_REASONS[n[o + 2] as number] ?? 'io_error',
        errorCode: errno ? errnoName(errno) : undefined,
        bytesReceived: n[o + 4] as number,
        bytesSent: n[o + 5] as number,
        upstreamLocal: strs[k],
      });
    }
    this.#updateRef();
  }
}

/**
 * The relay thread's lookup on a table spec (native/decision_table.c): the decision index for an
 * IPv4 destination (unsigned), or -2 when JavaScript decides. Undefined without the addon. Tests.
 */
export function nativeDecideForTesting(spec: Int32Array, ip: number, port: number): number | undefined {
  return loadAddon()?.decideForTesting(spec, ip >>> 0, port);
}

/**
 * Nanoseconds the relay thread's lookup spends on `lookups` decisions cycling through the
 * destinations (IPv4 unsigned, ports), the table built once outside the timing. Benchmarks.
 */
export function nativeDecideManyForTesting(
  spec: Int32Array,
  ips: Uint32Array,
  ports: Int32Array,
  lookups: number,
): number | undefined {
  return loadAddon()?.decideManyForTesting(spec, ips, ports, lookups);
}

function errnoName(errno: number): string {
  try {
    return getSystemErrorName(-errno);
  } catch {
    return `errno ${errno}`;
  }
}
