/**
 * What the server needs from one proxy's stream, whichever protocol it speaks (state of the world
 * or delta): sync bookkeeping for `waitForAcks`, status for `statuses()`, what was sent for
 * `configDump()`, and a push entry point. Also the generation step both protocols share.
 */

import { generateProxyResources } from '../translate/generate.js';
import type { ConfigSnapshot, GeneratedResources, ProxyInfo } from '../translate/types.js';
import type { EncodedItem } from './encoded-resources.js';
import type { XdsLogger } from './logger.js';
import type { XdsMetrics } from './metrics.js';
import type { ServedTypeUrl } from './resource-types.js';
import type { ProxyStatus } from './status.js';

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
