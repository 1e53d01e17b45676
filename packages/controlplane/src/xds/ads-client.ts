/**
 * Minimal ADS clients over real gRPC streams, for tests and benchmarks: state of the world
 * ({@link AdsTestClient}) and incremental ({@link DeltaTestClient}). Send requests, await responses
 * per type. Not proxies: they apply nothing.
 */
import * as grpc from '@grpc/grpc-js';
import {
  type AnyMessage,
  adsClientConstructor,
  type DiscoveryRequest,
  type DiscoveryResponse,
  decodeResource,
} from '@sluice/xds';
import type { DeltaDiscoveryRequest } from './delta-types.js';

export interface AdsClientOptions {
  address: string;
  nodeId: string;
  metadata?: Record<string, unknown>;
  /** Replaces the response decoder (e.g. a lighter one in benchmarks). */
  deserialize?: (buf: Buffer) => DiscoveryResponse;
}

/** Turns plain JSON into the google.protobuf.Struct shape proto-loader expects. */
export function toStruct(o: Record<string, unknown>): { fields: Record<string, unknown> } {
  const value = (v: unknown): unknown => {
    if (v === null || v === undefined) return { nullValue: 'NULL_VALUE' };
    if (typeof v === 'string') return { stringValue: v };
    if (typeof v === 'number') return { numberValue: v };
    if (typeof v === 'boolean') return { boolValue: v };
    if (Array.isArray(v)) return { listValue: { values: v.map(value) } };
    return { structValue: toStruct(v as Record<string, unknown>) };
  };
  const fields: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(o)) fields[k] = value(v);
  return { fields };
}

export class AdsTestClient {
  readonly #client: grpc.Client;
  readonly #call: grpc.ClientDuplexStream<DiscoveryRequest, DiscoveryResponse>;
  readonly #queued: DiscoveryResponse[] = [];
  readonly #waiting: {
    typeUrl: string | undefined;
    resolve: (r: DiscoveryResponse) => void;
    reject: (e: Error) => void;
  }[] = [];
  readonly #node: DiscoveryRequest['node'];
  #sentNode = false;
  #error: Error | undefined;
  /** Every response received, in order. */
  readonly received: DiscoveryResponse[] = [];

  constructor(opts: AdsClientOptions) {
    const Ctor = adsClientConstructor();
    const options: grpc.ClientOptions = { 'grpc.max_receive_message_length': -1 };
    this.#client = new Ctor(opts.address, grpc.credentials.createInsecure(), options);
    if (opts.deserialize) {
      const method = '/envoy.service.discovery.v3.AggregatedDiscoveryService/StreamAggregatedResources';
      const ser = (Ctor.service.StreamAggregatedResources as grpc.MethodDefinition<DiscoveryRequest, unknown>)
        .requestSerialize;
      this.#call = this.#client.makeBidiStreamRequest(method, ser, opts.deserialize);
    } else {
      this.#call = (
        this.#client as unknown as {
          StreamAggregatedResources(): grpc.ClientDuplexStream<DiscoveryRequest, DiscoveryResponse>;
        }
      ).StreamAggregatedResources();
    }
    this.#node = { id: opts.nodeId, metadata: toStruct(opts.metadata ?? {}) };
    this.#call.on('data', (r: DiscoveryResponse) => {
      this.received.push(r);
      const i = this.#waiting.findIndex((w) => w.typeUrl === undefined || w.typeUrl === r.type_url);
      if (i >= 0) this.#waiting.splice(i, 1)[0]!.resolve(r);
      else this.#queued.push(r);
    });
    this.#call.on('error', (e: Error) => this.#fail(e));
    this.#call.on('end', () => this.#fail(new Error('stream ended by server')));
  }

  #fail(e: Error): void {
    this.#error ??= e;
    for (const w of this.#waiting.splice(0)) w.reject(e);
  }

  /** Sends a request; the node goes with the first one. */
  send(req: { typeUrl: string; version?: string; nonce?: string; names?: string[]; error?: string }): void {
    const msg: DiscoveryRequest = {
      type_url: req.typeUrl,
      version_info: req.version ?? '',
      response_nonce: req.nonce ?? '',
      resource_names: req.names ?? [],
    };
    if (!this.#sentNode) {
      msg.node = this.#node;
      this.#sentNode = true;
    }
    if (req.error) msg.error_detail = { code: 3, message: req.error };
    this.#call.write(msg);
  }

  /** ACKs a response (same nonce, its version). */
  ack(r: DiscoveryResponse, names?: string[]): void {
    this.send({ typeUrl: r.type_url, version: r.version_info, nonce: r.nonce, ...(names ? { names } : {}) });
  }

  /** The next response (of a type, if given), waiting up to `timeoutMs`. */
  next(typeUrl?: string, timeoutMs = 5000): Promise<DiscoveryResponse> {
    const i = this.#queued.findIndex((r) => typeUrl === undefined || r.type_url === typeUrl);
    if (i >= 0) return Promise.resolve(this.#queued.splice(i, 1)[0]!);
    if (this.#error) return Promise.reject(this.#error);
    return new Promise((resolve, reject) => {
      const w = {
        typeUrl,
        resolve: (r: DiscoveryResponse) => {
          clearTimeout(t);
          resolve(r);
        },
        reject: (e: Error) => {
          clearTimeout(t);
          reject(e);
        },
      };
      const t = setTimeout(() => {
        this.#waiting.splice(this.#waiting.indexOf(w), 1);
        reject(new Error(`no ${typeUrl ?? 'response'} within ${timeoutMs} ms`));
      }, timeoutMs);
      this.#waiting.push(w);
    });
  }

  /** Responses received and not yet taken by {@link next}. */
  pending(): DiscoveryResponse[] {
    return [...this.#queued];
  }

  close(): void {
    this.#call.cancel();
    this.#client.close();
  }
}

/** The decoded resources of a response. */
export function decodeAll(r: DiscoveryResponse): Record<string, unknown>[] {
  return r.resources.map((a) => decodeResource(a));
}

/** A delta response with its resources decoded (name, version, decoded body). */
export interface DecodedDeltaResponse {
  system_version_info: string;
  type_url: string;
  nonce: string;
  removed_resources: string[];
  resources: { name: string; version: string; body: Record<string, unknown> }[];
}

/**
 * A minimal incremental (DeltaAggregatedResources) client over a real gRPC stream, for tests:
 * send DeltaDiscoveryRequests, await decoded DeltaDiscoveryResponses per type.
 */
export class DeltaTestClient {
  readonly #client: grpc.Client;
  readonly #call: grpc.ClientDuplexStream<DeltaDiscoveryRequest, unknown>;
  readonly #queued: DecodedDeltaResponse[] = [];
  readonly #waiting: {
    typeUrl: string | undefined;
    resolve: (r: DecodedDeltaResponse) => void;
    reject: (e: Error) => void;
  }[] = [];
  readonly #node: DiscoveryRequest['node'];
  #sentNode = false;
  #error: Error | undefined;
  /** Every response received, in order. */
  readonly received: DecodedDeltaResponse[] = [];

  constructor(opts: Omit<AdsClientOptions, 'deserialize'>) {
    const Ctor = adsClientConstructor();
    this.#client = new Ctor(opts.address, grpc.credentials.createInsecure(), {
      'grpc.max_receive_message_length': -1,
    });
    this.#call = (
      this.#client as unknown as {
        DeltaAggregatedResources(): grpc.ClientDuplexStream<DeltaDiscoveryRequest, unknown>;
      }
    ).DeltaAggregatedResources();
    this.#node = { id: opts.nodeId, metadata: toStruct(opts.metadata ?? {}) };
    this.#call.on('data', (raw: DeltaWire) => {
      const r: DecodedDeltaResponse = {
        system_version_info: raw.system_version_info ?? '',
        type_url: raw.type_url ?? '',
        nonce: raw.nonce ?? '',
        removed_resources: raw.removed_resources ?? [],
        resources: (raw.resources ?? []).map((x) => ({
          name: x.name ?? '',
          version: x.version ?? '',
          body: x.resource ? decodeResource(x.resource) : {},
        })),
      };
      this.received.push(r);
      const i = this.#waiting.findIndex((w) => w.typeUrl === undefined || w.typeUrl === r.type_url);
      if (i >= 0) this.#waiting.splice(i, 1)[0]!.resolve(r);
      else this.#queued.push(r);
    });
    this.#call.on('error', (e: Error) => this.#fail(e));
    this.#call.on('end', () => this.#fail(new Error('stream ended by server')));
  }

  #fail(e: Error): void {
    this.#error ??= e;
    for (const w of this.#waiting.splice(0)) w.reject(e);
  }

  /** Sends a request; the node goes with the first one. */
  send(req: {
    typeUrl: string;
    subscribe?: string[];
    unsubscribe?: string[];
    initial?: Record<string, string>;
    nonce?: string;
    error?: string;
  }): void {
    const msg: DeltaDiscoveryRequest = {
      type_url: req.typeUrl,
      resource_names_subscribe: req.subscribe ?? [],
      resource_names_unsubscribe: req.unsubscribe ?? [],
      initial_resource_versions: req.initial ?? {},
      response_nonce: req.nonce ?? '',
    };
    if (!this.#sentNode) {
      msg.node = this.#node ?? null;
      this.#sentNode = true;
    }
    if (req.error) msg.error_detail = { code: 3, message: req.error };
    this.#call.write(msg);
  }

  /** ACKs a response (its nonce). */
  ack(r: DecodedDeltaResponse): void {
    this.send({ typeUrl: r.type_url, nonce: r.nonce });
  }

  /** The next response (of a type, if given), waiting up to `timeoutMs`. */
  next(typeUrl?: string, timeoutMs = 5000): Promise<DecodedDeltaResponse> {
    const i = this.#queued.findIndex((r) => typeUrl === undefined || r.type_url === typeUrl);
    if (i >= 0) return Promise.resolve(this.#queued.splice(i, 1)[0]!);
    if (this.#error) return Promise.reject(this.#error);
    return new Promise((resolve, reject) => {
      const w = {
        typeUrl,
        resolve: (r: DecodedDeltaResponse) => {
          clearTimeout(t);
          resolve(r);
        },
        reject: (e: Error) => {
          clearTimeout(t);
          reject(e);
        },
      };
      const t = setTimeout(() => {
        this.#waiting.splice(this.#waiting.indexOf(w), 1);
        reject(new Error(`no ${typeUrl ?? 'response'} within ${timeoutMs} ms`));
      }, timeoutMs);
      this.#waiting.push(w);
    });
  }

  close(): void {
    this.#call.cancel();
    this.#client.close();
  }
}

interface DeltaWire {
  system_version_info?: string;
  type_url?: string;
  nonce?: string;
  removed_resources?: string[];
  resources?: { name?: string; version?: string; resource?: AnyMessage }[];
}
