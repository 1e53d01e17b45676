/**
 * An ADS client (Envoy's AggregatedDiscoveryService over gRPC), incremental (delta, the default,
 * like Envoy's `api_type: DELTA_GRPC`) or state of the world: subscribes to clusters, listeners and
 * the NDS name table (wildcard), then to the endpoints and routes those reference; hands the full
 * set of a type to `onResponse` on every response, ACKs what it accepts and NACKs (with an
 * error_detail naming resource and field) what it rejects; reconnects with jittered exponential
 * backoff. It never replaces accepted resources itself: the proxy decides.
 *
 * Delta: per type it keeps the accepted resources by name with their versions. A response's
 * resources and removed_resources are applied to a copy, the copy's full set goes to `onResponse`
 * (NDS hosts merged into one table, as state of the world carries it), and the copy replaces the
 * held map only if accepted. A reconnect sends initial_resource_versions of what it holds, so the
 * server sends only what changed. Names of EDS/RDS follow `subscribe` through
 * resource_names_subscribe / resource_names_unsubscribe.
 */
import * as grpc from '@grpc/grpc-js';
import {
  type AnyMessage,
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
  /**
   * `delta` (default): DeltaAggregatedResources, only changed resources travel. `sotw`:
   * StreamAggregatedResources, every response carries the whole set of its type.
   */
  protocol?: 'delta' | 'sotw';
}

/** envoy.service.discovery.v3.DeltaDiscoveryRequest as the gRPC stream carries it. */
interface DeltaDiscoveryRequest {
  node?: XdsNode;
  type_url: string;
  resource_names_subscribe: string[];
  resource_names_unsubscribe: string[];
  initial_resource_versions: Record<string, string>;
  response_nonce: string;
  error_detail?: { code: number; message: string };
}

/** envoy.service.discovery.v3.DeltaDiscoveryResponse as decoded by the ADS client. */
interface DeltaDiscoveryResponse {
  system_version_info?: string;
  type_url?: string;
  nonce?: string;
  removed_resources?: string[];
  resources?: { name?: string; version?: string; resource?: AnyMessage | null }[];
}

/** An accepted resource of a delta stream. */
interface HeldResource {
  version: string;
  body: Record<string, unknown>;
}

type Stream = grpc.ClientDuplexStream<DiscoveryRequest, DiscoveryResponse>;
type DeltaStream = grpc.ClientDuplexStream<DeltaDiscoveryRequest, DeltaDiscoveryResponse>;
type AdsStub = grpc.Client & { StreamAggregatedResources(): Stream; DeltaAggregatedResources(): DeltaStream };

const WILDCARD_TYPES = [TypeUrl.Cluster, TypeUrl.Listener, TypeUrl.NameTable] as const;
const NAMED_TYPES = [TypeUrl.ClusterLoadAssignment, TypeUrl.RouteConfiguration] as const;

/** gRPC's INVALID_ARGUMENT, the status Envoy puts in error_detail of a NACK. */
const INVALID_ARGUMENT = 3;
/** gRPC's UNIMPLEMENTED: the server has no DeltaAggregatedResources. */
const UNIMPLEMENTED = 12;

export class AdsClient {
  readonly #opts: AdsClientOptions;
  readonly #client: AdsStub;
  #delta: boolean;
  #stream: Stream | DeltaStream | undefined;
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
  /** Delta: accepted resources per type, name → version and body. */
  readonly #held = new Map<string, Map<string, HeldResource>>();
  /** Delta: names of a named type subscribed on the current stream (absent: no request sent yet). */
  readonly #streamNames = new Map<string, Set<string>>();

  constructor(opts: AdsClientOptions) {
    this.#opts = opts;
    this.#delta = (opts.protocol ?? 'delta') === 'delta';
    for (const [t, v] of Object.entries(opts.initialVersions ?? {})) if (v) this.#versions.set(t, v);
    const Ctor = adsClientConstructor();
    this.#client = new Ctor(opts.target, grpc.credentials.createInsecure(), {
      'grpc.keepalive_time_ms': 30_000,
      'grpc.initial_reconnect_backoff_ms': 200,
    }) as unknown as AdsStub;
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
    if (!this.#stream) return;
    if (this.#delta) this.#deltaResubscribe(typeUrl);
    else this.#send(typeUrl);
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
    (this.#stream as Stream | undefined)?.write(this.#request(typeUrl, extra));
  }

  #deltaSend(req: Partial<DeltaDiscoveryRequest> & { type_url: string }): void {
    const msg: DeltaDiscoveryRequest = {
      resource_names_subscribe: [],
      resource_names_unsubscribe: [],
      initial_resource_versions: {},
      response_nonce: '',
      ...req,
    };
    if (!this.#nodeSent) {
      msg.node = this.#opts.node;
      this.#nodeSent = true;
    }
    (this.#stream as DeltaStream | undefined)?.write(msg);
  }

  /** Versions held of a type (only of `names` when given), for initial_resource_versions. */
  #heldVersions(typeUrl: string, names?: Set<string>): Record<string, string> {
    const out: Record<string, string> = {};
    for (const [name, r] of this.#held.get(typeUrl) ?? []) if (!names || names.has(name)) out[name] = r.version;
    return out;
  }

  /**
   * Brings the server's subscription of a named type in step with `#names`: the first request of
   * the stream subscribes every name with the versions held; later ones send the difference.
   * Subscription changes carry no nonce, so they never count as an ACK or NACK.
   */
  #deltaResubscribe(typeUrl: string): void {
    const want = new Set(this.#names.get(typeUrl) ?? []);
    const held = this.#held.get(typeUrl);
    // What the proxy no longer asks for is dropped, as the server forgets it on unsubscribe.
    if (held) for (const name of [...held.keys()]) if (!want.has(name)) held.delete(name);
    const had = this.#streamNames.get(typeUrl);
    if (!had) {
      // An empty first request would mean the wildcard: nothing is sent until there is a name.
      if (want.size === 0) return;
      this.#streamNames.set(typeUrl, want);
      this.#deltaSend({
        type_url: typeUrl,
        resource_names_subscribe: [...want],
        initial_resource_versions: this.#heldVersions(typeUrl, want),
      });
      return;
    }
    const add = [...want].filter((n) => !had.has(n));
    const drop = [...had].filter((n) => !want.has(n));
    this.#streamNames.set(typeUrl, want);
    if (add.length > 0 || drop.length > 0) {
      this.#deltaSend({ type_url: typeUrl, resource_names_subscribe: add, resource_names_unsubscribe: drop });
    }
  }

  #connect(): void {
    if (this.#closed) return;
    this.#nonces.clear();
    this.#streamNames.clear();
    this.#nodeSent = false;
    const stream = this.#delta ? this.#client.DeltaAggregatedResources() : this.#client.StreamAggregatedResources();
    this.#stream = stream;
    let reported = false;
    stream.on('data', (res: DiscoveryResponse | DeltaDiscoveryResponse) => {
      if (!reported) {
        reported = true;
        this.#attempt = 0;
        this.#opts.onConnectionChange?.(true);
      }
      this.#chain = this.#chain.then(() =>
        this.#delta
          ? this.#handleDelta(stream as DeltaStream, res as DeltaDiscoveryResponse)
          : this.#handle(stream as Stream, res as DiscoveryResponse),
      );
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
    stream.on('error', (e: Error & { code?: number }) => {
      if (this.#delta && !reported && e.code === UNIMPLEMENTED && this.#stream === stream) {
        // A server without incremental xDS: state of the world from now on, at once.
        this.#opts.logger.warn(
          { target: this.#opts.target },
          'xDS server does not serve delta ADS; using state of the world',
        );
        this.#delta = false;
        this.#stream = undefined;
        this.#connect();
        return;
      }
      lost(e.message);
    });
    stream.on('end', () => lost('stream ended by the server'));
    stream.on('status', () => {});
    if (this.#delta) {
      for (const t of WILDCARD_TYPES) {
        this.#deltaSend({
          type_url: t,
          resource_names_subscribe: ['*'],
          initial_resource_versions: this.#heldVersions(t),
        });
      }
      for (const t of NAMED_TYPES) this.#deltaResubscribe(t);
      return;
    }
    for (const t of WILDCARD_TYPES) this.#send(t);
    for (const t of NAMED_TYPES) {
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

  async #handleDelta(stream: DeltaStream, res: DeltaDiscoveryResponse): Promise<void> {
    if (this.#stream !== stream) return;
    const typeUrl = res.type_url ?? '';
    const version = res.system_version_info ?? '';
    const next = new Map(this.#held.get(typeUrl));
    let verdict: ResponseVerdict;
    try {
      for (const r of res.resources ?? []) {
        const name = r.name ?? '';
        if (!r.resource) throw new Error(`resource ${name} has no body`);
        if (r.resource.type_url !== typeUrl) {
          throw new Error(`a resource of type ${r.resource.type_url} in a ${typeUrl} response`);
        }
        next.set(name, { version: r.version ?? '', body: decodeResource(r.resource) });
      }
      for (const name of res.removed_resources ?? []) next.delete(name);
      this.#opts.logger.debug(
        {
          typeUrl,
          version,
          updated: res.resources?.length ?? 0,
          removed: res.removed_resources?.length ?? 0,
          total: next.size,
        },
        'xDS delta received',
      );
      verdict = await this.#opts.onResponse(typeUrl, fullSet(typeUrl, next), version);
    } catch (e) {
      verdict = { accepted: false, detail: `cannot decode the response: ${(e as Error).message}` };
    }
    if (this.#stream !== stream) return;
    const nonce = res.nonce ?? '';
    if (verdict.accepted) {
      this.#held.set(typeUrl, next);
      // Names unsubscribed while the response was handled are not kept.
      if ((NAMED_TYPES as readonly string[]).includes(typeUrl)) this.#deltaResubscribe(typeUrl);
      this.#deltaSend({ type_url: typeUrl, response_nonce: nonce });
    } else {
      this.#opts.logger.error({ typeUrl, version, detail: verdict.detail }, 'xDS response rejected (NACK)');
      this.#deltaSend({
        type_url: typeUrl,
        response_nonce: nonce,
        error_detail: { code: INVALID_ARGUMENT, message: verdict.detail },
      });
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

/**
 * The full set of a type from the held map, as a state-of-the-world response would carry it: NDS
 * comes one host per resource over delta and is handed over as one merged table.
 */
function fullSet(typeUrl: string, held: Map<string, HeldResource>): Record<string, unknown>[] {
  if (typeUrl !== TypeUrl.NameTable) return [...held.values()].map((r) => r.body);
  const table: Record<string, unknown> = {};
  for (const r of held.values()) Object.assign(table, (r.body as { table?: Record<string, unknown> }).table ?? {});
  return [{ table }];
}
