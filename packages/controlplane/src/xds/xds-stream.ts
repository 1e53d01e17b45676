/**
 * What the server needs from one proxy's stream, whichever protocol it speaks (state of the world
 * or delta): sync bookkeeping for `waitForAcks`, status for `statuses()`, what was sent for
 * `configDump()`, and a push entry point. Also the generation step both protocols share.
 */

import type { XdsNode } from '@sluice/xds';
import { generateProxyResources } from '../translate/generate.js';
import { proxyInfoFromNode } from '../translate/proxy-info.js';
import type { ConfigSnapshot, GeneratedResources, ProxyInfo } from '../translate/types.js';
import type { EncodedItem } from './encoded-resources.js';
import type { XdsLogger } from './logger.js';
import type { XdsMetrics } from './metrics.js';
import { PUSH_ORDER, type ServedTypeUrl, TYPE_NAME } from './resource-types.js';
import type { NackInfo, ProxyStatus, SyncState, TypeStatus } from './status.js';

/** What a stream needs of its gRPC call: write a framed response, end with status OK. */
export interface AdsCall {
  writeFrame(frame: Buffer): void;
  end(): void;
  /** Holds writes until {@link uncork}, which hands them to the transport in one go. */
  cork?(): void;
  uncork?(): void;
}

export interface SentType {
  version: string;
  at: string;
  items: EncodedItem[];
}

export interface XdsStream {
  readonly protocol: 'sotw' | 'delta';
  readonly id: string;
  readonly proxy: ProxyInfo | undefined;
  readonly connectedSince: string;
  /** Latest snapshot sequence at which this proxy had acked everything it was sent. */
  syncedSeq: number;
  closed: boolean;
  /** Ends the gRPC call gracefully. */
  end(): void;
  /** Handles one request. Throws an error with a `code` if the stream must end. */
  handle(req: unknown): void;
  /** Refreshes {@link syncedSeq} after a request. */
  afterRequest(): void;
  /** Regenerates from the latest snapshot and sends what changed. */
  push(): void;
  /**
   * Generates and encodes, ahead of its push, what this proxy will be sent for `snapshot` (shared
   * per shape: `done` holds the generated sets already prepared). Errors are left to the push.
   */
  prepare(snapshot: ConfigSnapshot, done: Set<GeneratedResources>): void;
  status(): ProxyStatus;
  hasNack(): boolean;
  /** What the proxy holds (as far as the server knows), per type. */
  sent(): Map<ServedTypeUrl, SentType>;
}

export interface StreamContext {
  /** The latest processed snapshot and its sequence number. */
  current(): { snapshot: ConfigSnapshot; seq: number };
  /**
   * A nonce for a response. Pushes of one cycle share one nonce across streams (so they share one
   * serialized response); each stream still sees every nonce at most once per type.
   */
  nonce(push: boolean): string;
  metrics: XdsMetrics;
  logger: XdsLogger;
}

/** The generated resources of one proxy, refreshed once per snapshot sequence. */
export class ProxyGeneration {
  generated: GeneratedResources | undefined;
  configRevision = '';
  error: string | undefined;
  seq = -1;

  /** Regenerates if the snapshot changed since the last call. */
  refresh(proxy: ProxyInfo, ctx: StreamContext): void {
    const { snapshot, seq } = ctx.current();
    if (seq === this.seq) return;
    try {
      this.generated = generateProxyResources(proxy, snapshot);
      this.error = undefined;
      this.configRevision = snapshot.revision;
    } catch (err) {
      this.error = (err as Error).message;
      ctx.logger.error({ proxy: proxy.id, err: this.error }, 'generation failed; proxy keeps its last config');
    }
    this.seq = seq;
  }
}

/** What both protocols track per type URL. */
export interface TypeStateBase {
  sentVersion?: string;
  sentNonce?: string;
  /** Date.now() of the latest response. */
  sentAt?: number;
  ackedVersion?: string;
  lastNack?: NackInfo;
}

/**
 * The lifecycle and bookkeeping both stream kinds share: identification from the first Node,
 * generation per snapshot, a push in make-before-break order, sync state and status.
 */
export abstract class BaseStream<S extends TypeStateBase> implements XdsStream {
  abstract readonly protocol: 'sotw' | 'delta';
  readonly connectedSince = new Date().toISOString();
  proxy: ProxyInfo | undefined;
  /** Latest snapshot sequence at which this proxy had acked everything it was sent. */
  syncedSeq = -1;
  closed = false;
  protected readonly gen = new ProxyGeneration();
  protected readonly types = new Map<ServedTypeUrl, S>();
  /** True while a server push runs (its responses share the cycle's nonce). */
  protected pushing = false;

  constructor(
    readonly call: AdsCall,
    protected readonly ctx: StreamContext,
  ) {}

  get id(): string {
    return this.proxy?.id ?? '';
  }

  end(): void {
    this.call.end();
  }

  abstract handle(req: unknown): void;
  /** Sends what changed of one type, if anything. */
  protected abstract send(typeUrl: ServedTypeUrl, st: S): void;
  /** Selects (and so encodes) what `st` subscribes to of `generated`. */
  protected abstract select(typeUrl: ServedTypeUrl, st: S, generated: GeneratedResources): void;
  protected abstract stateOf(st: S): SyncState;
  /** Subscribed names for status, or undefined for a wildcard. */
  protected abstract resourceNames(st: S): string[] | undefined;
  abstract sent(): Map<ServedTypeUrl, SentType>;

  /** Places the proxy from the first request's Node. */
  protected identify(node: XdsNode | null | undefined): void {
    if (this.proxy) return;
    this.proxy = proxyInfoFromNode(node ?? undefined);
    this.ctx.logger.info({ proxy: this.proxy.id, protocol: this.protocol }, 'proxy connected');
    this.gen.refresh(this.proxy, this.ctx);
  }

  /** Regenerates from the latest snapshot and sends, type by type, what changed. */
  push(): void {
    if (!this.proxy || this.closed) return;
    this.gen.refresh(this.proxy, this.ctx);
    this.pushing = true;
    // The push's responses (one per changed type) leave as one write of the stream.
    this.call.cork?.();
    try {
      for (const typeUrl of PUSH_ORDER) {
        const st = this.types.get(typeUrl);
        if (st) this.send(typeUrl, st);
      }
    } finally {
      this.pushing = false;
      this.call.uncork?.();
    }
    this.afterRequest();
  }

  prepare(snapshot: ConfigSnapshot, done: Set<GeneratedResources>): void {
    if (!this.proxy || this.closed) return;
    try {
      const generated = generateProxyResources(this.proxy, snapshot);
      if (done.has(generated)) return;
      done.add(generated);
      for (const [typeUrl, st] of this.types) this.select(typeUrl, st, generated);
    } catch {
      // The push reports it.
    }
  }

  /** Writes a framed response. */
  protected write(frame: Buffer): void {
    this.call.writeFrame(frame);
  }

  /** Refreshes {@link syncedSeq} after a request or push. */
  afterRequest(): void {
    if (this.inSync()) this.syncedSeq = Math.max(this.syncedSeq, this.gen.seq);
  }

  /** True when every subscribed type's latest response is acked. */
  inSync(): boolean {
    if (this.types.size === 0 || this.gen.error) return false;
    for (const st of this.types.values()) if (this.stateOf(st) !== 'SYNCED') return false;
    return true;
  }

  hasNack(): boolean {
    for (const st of this.types.values()) if (this.stateOf(st) === 'NACKED') return true;
    return false;
  }

  status(): ProxyStatus {
    const types: ProxyStatus['types'] = {};
    for (const [typeUrl, st] of this.types) {
      const ts: TypeStatus = { typeUrl, state: this.stateOf(st) };
      if (st.sentVersion !== undefined) ts.sentVersion = st.sentVersion;
      if (st.ackedVersion !== undefined) ts.ackedVersion = st.ackedVersion;
      if (st.sentNonce !== undefined) ts.nonce = st.sentNonce;
      if (st.lastNack) ts.lastNack = st.lastNack;
      const names = this.resourceNames(st);
      if (names) ts.resourceNames = names;
      types[TYPE_NAME[typeUrl]] = ts;
    }
    const s: ProxyStatus = {
      id: this.id,
      protocol: this.protocol,
      podName: this.proxy?.podName ?? '',
      namespace: this.proxy?.namespace ?? '',
      connectedSince: this.connectedSince,
      configRevision: this.gen.configRevision,
      inSync: this.inSync(),
      types,
    };
    if (this.gen.error) s.generationError = this.gen.error;
    return s;
  }

  /** When the latest response of a type went out (RFC 3339). */
  protected sentAtText(st: S): string {
    return st.sentAt === undefined ? this.connectedSince : new Date(st.sentAt).toISOString();
  }

  /** Records a response just written. */
  protected recordSent(typeUrl: ServedTypeUrl, st: S, version: string, nonce: string): void {
    st.sentVersion = version;
    st.sentNonce = nonce;
    st.sentAt = Date.now();
    this.ctx.metrics.countPush(TYPE_NAME[typeUrl]);
  }
}
