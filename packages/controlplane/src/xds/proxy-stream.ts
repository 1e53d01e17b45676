/**
 * One ADS stream (state of the world): per type URL it tracks the subscription, what was sent
 * (version, nonce), what the proxy acked, and the last NACK. Protocol rules, in order:
 * 1. The first request must carry a Node; its id and metadata place the proxy.
 * 2. A request whose nonce is not the latest nonce sent for its type is stale and ignored.
 * 3. With the latest nonce: error_detail means NACK (recorded, version not advanced), else ACK.
 * 4. A first request (no nonce) carrying version_info that equals the current version gets no
 *    response (reconnect with a known version); otherwise the current version is sent.
 * 5. A response is sent only when the version for the subscription differs from the last one sent,
 *    so a NACKed version is never re-sent until the config changes.
 */
import type * as grpc from '@grpc/grpc-js';
import type { DiscoveryRequest } from '@sluice/xds';
import { proxyInfoFromNode } from '../translate/proxy-info.js';
import type { ProxyInfo } from '../translate/types.js';
import { type EncodedItem, SerializedResponse, selectEncoded, stampedResponse } from './encoded-resources.js';
import { honoursResourceNames, isServedType, PUSH_ORDER, type ServedTypeUrl, TYPE_NAME } from './resource-types.js';
import type { NackInfo, ProxyStatus, SyncState, TypeStatus } from './status.js';
import { ProxyGeneration, type SentType, type StreamContext, type XdsStream } from './xds-stream.js';

export type { StreamContext } from './xds-stream.js';

interface TypeState {
  names: string[] | undefined;
  sentVersion?: string;
  sentNonce?: string;
  sentItems?: EncodedItem[];
  sentAt?: string;
  ackedVersion?: string;
  lastNack?: NackInfo;
}

type Call = grpc.ServerDuplexStream<DiscoveryRequest, SerializedResponse>;

export class ProxyStream implements XdsStream {
  readonly protocol = 'sotw';
  readonly connectedSince = new Date().toISOString();
  proxy: ProxyInfo | undefined;
  /** Latest snapshot sequence at which this proxy had acked everything it was sent. */
  syncedSeq = -1;
  closed = false;
  readonly #gen = new ProxyGeneration();
  readonly #types = new Map<ServedTypeUrl, TypeState>();
  #pushing = false;

  constructor(
    readonly call: Call,
    private readonly ctx: StreamContext,
  ) {}

  end(): void {
    this.call.end();
  }

  get id(): string {
    return this.proxy?.id ?? '';
  }

  /** Handles one DiscoveryRequest. Throws an error with a `code` if the stream must end. */
  handle(req: DiscoveryRequest): void {
    if (!this.proxy) {
      this.proxy = proxyInfoFromNode(req.node);
      this.ctx.logger.info({ proxy: this.proxy.id, protocol: 'sotw' }, 'proxy connected');
      this.#gen.refresh(this.proxy, this.ctx);
    }
    const typeUrl = req.type_url;
    if (!isServedType(typeUrl)) {
      this.ctx.logger.warn({ proxy: this.id, typeUrl }, 'request for a type this server does not serve; ignored');
      return;
    }
    const typeName = TYPE_NAME[typeUrl];
    const names = wildcardOrNames(req.resource_names);
    const nonce = req.response_nonce ?? '';
    let st = this.#types.get(typeUrl);
    if (nonce !== '') {
      if (!st || nonce !== st.sentNonce) {
        this.ctx.metrics.staleRequests.inc({ type: typeName });
        this.ctx.logger.debug({ proxy: this.id, type: typeName, nonce }, 'stale nonce; request ignored');
        return;
      }
      if (req.error_detail && (req.error_detail.message || req.error_detail.code)) {
        st.lastNack = {
          version: st.sentVersion ?? '',
          nonce,
          message: req.error_detail.message ?? `code ${req.error_detail.code}`,
          at: new Date().toISOString(),
        };
        this.ctx.metrics.nacks.inc({ type: typeName });
        this.ctx.logger.warn(
          { proxy: this.id, type: typeName, version: st.sentVersion, error: st.lastNack.message },
          'proxy rejected config (NACK)',
        );
      } else {
        st.ackedVersion = st.sentVersion;
        this.ctx.logger.debug({ proxy: this.id, type: typeName, version: st.sentVersion }, 'ACK');
      }
      st.names = names;
    } else {
      if (!st) {
        st = { names };
        this.#types.set(typeUrl, st);
      }
      st.names = names;
      if (req.version_info) {
        // Reconnect: the proxy already holds this version; treat it as sent and acked.
        st.sentVersion = req.version_info;
        st.ackedVersion = req.version_info;
      } else {
        // The proxy holds nothing of this type: whatever was sent before, send the current set.
        delete st.sentVersion;
      }
    }
    this.#send(typeUrl, st);
  }

  /** Regenerates from the latest snapshot and sends every subscribed type whose version changed. */
  push(): void {
    if (!this.proxy || this.closed) return;
    this.#gen.refresh(this.proxy, this.ctx);
    this.#pushing = true;
    try {
      for (const typeUrl of PUSH_ORDER) {
        const st = this.#types.get(typeUrl);
        if (st) this.#send(typeUrl, st);
      }
    } finally {
      this.#pushing = false;
    }
    this.#updateSynced();
  }

  #send(typeUrl: ServedTypeUrl, st: TypeState): void {
    const generated = this.#gen.generated;
    if (!generated || this.closed) return;
    const names = honoursResourceNames(typeUrl) ? st.names : undefined;
    let sel: ReturnType<typeof selectEncoded>;
    try {
      sel = selectEncoded(generated, typeUrl, names);
    } catch (err) {
      this.#gen.error = (err as Error).message;
      this.ctx.logger.error({ proxy: this.id, err: this.#gen.error }, 'encoding failed; not sent');
      return;
    }
    if (sel.version === st.sentVersion) {
      if (st.sentItems === undefined) st.sentItems = sel.items;
      return;
    }
    const nonce = this.ctx.nonce(this.#pushing);
    this.call.write(new SerializedResponse(stampedResponse(typeUrl, sel, nonce)));
    st.sentVersion = sel.version;
    st.sentNonce = nonce;
    st.sentItems = sel.items;
    st.sentAt = new Date().toISOString();
    this.ctx.metrics.pushes.inc({ type: TYPE_NAME[typeUrl] });
    this.ctx.logger.debug({ proxy: this.id, type: TYPE_NAME[typeUrl], version: sel.version, nonce }, 'sent');
  }

  #updateSynced(): void {
    if (this.inSync()) this.syncedSeq = Math.max(this.syncedSeq, this.#gen.seq);
  }

  /** True when every subscribed type's sent version is acked. */
  inSync(): boolean {
    if (this.#types.size === 0 || this.#gen.error) return false;
    for (const st of this.#types.values()) if (stateOf(st) !== 'SYNCED') return false;
    return true;
  }

  /** Refreshes {@link syncedSeq} after an ACK. */
  afterRequest(): void {
    this.#updateSynced();
  }

  hasNack(): boolean {
    for (const st of this.#types.values()) if (stateOf(st) === 'NACKED') return true;
    return false;
  }

  status(): ProxyStatus {
    const types: ProxyStatus['types'] = {};
    for (const [typeUrl, st] of this.#types) {
      const ts: TypeStatus = { typeUrl, state: stateOf(st) };
      if (st.sentVersion !== undefined) ts.sentVersion = st.sentVersion;
      if (st.ackedVersion !== undefined) ts.ackedVersion = st.ackedVersion;
      if (st.sentNonce !== undefined) ts.nonce = st.sentNonce;
      if (st.lastNack) ts.lastNack = st.lastNack;
      if (st.names) ts.resourceNames = st.names;
      types[TYPE_NAME[typeUrl]] = ts;
    }
    const s: ProxyStatus = {
      id: this.id,
      protocol: 'sotw',
      podName: this.proxy?.podName ?? '',
      namespace: this.proxy?.namespace ?? '',
      connectedSince: this.connectedSince,
      configRevision: this.#gen.configRevision,
      inSync: this.inSync(),
      types,
    };
    if (this.#gen.error) s.generationError = this.#gen.error;
    return s;
  }

  /** What was last sent, per type: version, time and resources (JSON). */
  sent(): Map<ServedTypeUrl, SentType> {
    const out = new Map<ServedTypeUrl, SentType>();
    for (const [typeUrl, st] of this.#types) {
      if (st.sentVersion !== undefined) {
        out.set(typeUrl, { version: st.sentVersion, at: st.sentAt ?? this.connectedSince, items: st.sentItems ?? [] });
      }
    }
    return out;
  }
}

function stateOf(st: TypeState): SyncState {
  if (st.sentVersion === undefined) return 'NOT_SENT';
  if (st.lastNack && st.lastNack.nonce === st.sentNonce) return 'NACKED';
  return st.ackedVersion === st.sentVersion ? 'SYNCED' : 'STALE';
}

function wildcardOrNames(names: string[] | undefined): string[] | undefined {
  if (!names || names.length === 0 || names.includes('*')) return undefined;
  return [...names];
}
