/**
 * A state-of-the-world ADS client (Envoy's AggregatedDiscoveryService over gRPC): subscribes to
 * clusters, listeners and the NDS name table (wildcard), then to the endpoints and routes those
 * reference; hands each response to `onResponse`, ACKs what it accepts and NACKs (with an
 * error_detail naming resource and field) what it rejects; reconnects with jittered exponential
 * backoff. It never replaces accepted resources itself: the proxy decides.
 */
import * as grpc from '@grpc/grpc-js';
import {
  adsClientConstructor,
  type DiscoveryRequest,
  type DiscoveryResponse,
  decodeResource,
  TypeUrl,
  type XdsNode,
} from '@sluice/xds';
import type { ProxyLogger } from '../logger.js';

/** What the proxy answers for one response: accept (ACK) or reject with a message (NACK). */
export type ResponseVerdict = { accepted: true } | { accepted: false; detail: string };

export interface AdsClientOptions {
  /** host:port of the xDS server. */
  target: string;
  node: XdsNode;
  logger: ProxyLogger;
  /** Versions already held (e.g. loaded from the snapshot file), sent on (re)connect. */
  initialVersions?: Partial<Record<string, string>>;
  onResponse(
    typeUrl: string,
    resources: Record<string, unknown>[],
    version: string,
  ): ResponseVerdict | Promise<ResponseVerdict>;
  /** Called when a stream is established / lost. */
  onConnectionChange?(connected: boolean): void;
  backoff?: { initialMs: number; maxMs: number };
}

type Stream = grpc.ClientDuplexStream<DiscoveryRequest, DiscoveryResponse>;

const WILDCARD_TYPES = [TypeUrl.Cluster, TypeUrl.Listener, TypeUrl.NameTable] as const;

/** gRPC's INVALID_ARGUMENT, the status Envoy puts in error_detail of a NACK. */
const INVALID_ARGUMENT = 3;

export class AdsClient {
  readonly #opts: AdsClientOptions;
  readonly #client: grpc.Client & { StreamAggregatedResources(): Stream };
  #stream: Stream | undefined;
  #closed = false;
  #attempt = 0;
  #retryTimer: NodeJS.Timeout | undefined;
  /** Last accepted version per type. */
  readonly #versions = new Map<string, string>();
  /** Last nonce seen per type (on the current stream). */
  readonly #nonces = new Map<string, string>();
  /** Resource names subscribed per named type (EDS, RDS). */
  readonly #names = new Map<string, string[]>();
  #chain: Promise<void> = Promise.resolve();
  #nodeSent = false;

  constructor(opts: AdsClientOptions) {
    this.#opts = opts;
    for (const [t, v] of Object.entries(opts.initialVersions ?? {})) if (v) this.#versions.set(t, v);
    const Ctor = adsClientConstructor();
    this.#client = new Ctor(opts.target, grpc.credentials.createInsecure(), {
      'grpc.keepalive_time_ms': 30_000,
      'grpc.initial_reconnect_backoff_ms': 200,
    }) as unknown as grpc.Client & { StreamAggregatedResources(): Stream };
  }

  start(): void {
    this.#connect();
  }

  /** Sets the resource names for a named type (EDS or RDS) and re-requests when they changed. */
  subscribe(typeUrl: string, names: string[]): void {
    const sorted = [...new Set(names)].sort();
    const old = this.#names.get(typeUrl);
    if (old && old.length === sorted.length && old.every((n, i) => n === sorted[i])) return;
    this.#names.set(typeUrl, sorted);
    if (this.#stream) this.#send(typeUrl);
  }

  #request(typeUrl: string, extra: Partial<DiscoveryRequest> = {}): DiscoveryRequest {
    const req: DiscoveryRequest = {
      type_url: typeUrl,
      version_info: this.#versions.get(typeUrl) ?? '',
      response_nonce: this.#nonces.get(typeUrl) ?? '',
      resource_names: this.#names.get(typeUrl) ?? [],
      ...extra,
    };
    if (!this.#nodeSent) {
      req.node = this.#opts.node;
      this.#nodeSent = true;
    }
    return req;
  }

  #send(typeUrl: string, extra: Partial<DiscoveryRequest> = {}): void {
    this.#stream?.write(this.#request(typeUrl, extra));
  }

  #connect(): void {
    if (this.#closed) return;
    this.#nonces.clear();
    this.#nodeSent = false;
    const stream = this.#client.StreamAggregatedResources();
    this.#stream = stream;
    let reported = false;
    stream.on('data', (res: DiscoveryResponse) => {
      if (!reported) {
        reported = true;
        this.#attempt = 0;
        this.#opts.onConnectionChange?.(true);
      }
      this.#chain = this.#chain.then(() => this.#handle(stream, res));
    });
    const lost = (why: string) => {
      if (this.#stream !== stream) return;
      this.#stream = undefined;
      if (reported) this.#opts.onConnectionChange?.(false);
      if (!this.#closed) {
        this.#opts.logger.warn({ target: this.#opts.target, why }, 'xDS stream lost; reconnecting');
        this.#scheduleReconnect();
      }
    };
    stream.on('error', (e: Error) => lost(e.message));
    stream.on('end', () => lost('stream ended by the server'));
    stream.on('status', () => {});
    for (const t of WILDCARD_TYPES) this.#send(t);
    for (const t of [TypeUrl.ClusterLoadAssignment, TypeUrl.RouteConfiguration]) {
      if ((this.#names.get(t) ?? []).length > 0) this.#send(t);
    }
  }

  /** Delay before the next attempt: exponential, capped, with ±50 % jitter. */
  #scheduleReconnect(): void {
    const { initialMs, maxMs } = this.#opts.backoff ?? { initialMs: 250, maxMs: 30_000 };
    const base = Math.min(maxMs, initialMs * 2 ** this.#attempt);
    const delay = Math.round(base * (0.5 + Math.random()));
    this.#attempt++;
    this.#retryTimer = setTimeout(() => this.#connect(), delay);
    this.#retryTimer.unref?.();
  }

  async #handle(stream: Stream, res: DiscoveryResponse): Promise<void> {
    if (this.#stream !== stream) return;
    const typeUrl = res.type_url;
    this.#nonces.set(typeUrl, res.nonce);
    let verdict: ResponseVerdict;
    const decoded: Record<string, unknown>[] = [];
    try {
      for (const any of res.resources ?? []) {
        if (any.type_url !== typeUrl) throw new Error(`a resource of type ${any.type_url} in a ${typeUrl} response`);
        decoded.push(decodeResource(any));
      }
      verdict = await this.#opts.onResponse(typeUrl, decoded, res.version_info);
    } catch (e) {
      verdict = { accepted: false, detail: `cannot decode the response: ${(e as Error).message}` };
    }
    if (this.#stream !== stream) return;
    if (verdict.accepted) {
      this.#versions.set(typeUrl, res.version_info);
      this.#send(typeUrl);
    } else {
      this.#opts.logger.error(
        { typeUrl, version: res.version_info, detail: verdict.detail },
        'xDS response rejected (NACK)',
      );
      this.#send(typeUrl, { error_detail: { code: INVALID_ARGUMENT, message: verdict.detail } });
    }
  }

  /** Idempotent: ends the stream and stops reconnecting. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    clearTimeout(this.#retryTimer);
    const s = this.#stream;
    this.#stream = undefined;
    s?.cancel();
    this.#client.close();
  }
}
