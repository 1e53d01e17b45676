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
import type { DiscoveryRequest } from '@sluice/xds';
import type { GeneratedResources } from '../translate/types.js';
import { type EncodedItem, selectEncoded, stampedResponse } from './encoded-resources.js';
import { debugEnabled } from './logger.js';
import { honoursResourceNames, isServedType, type ServedTypeUrl, TYPE_NAME } from './resource-types.js';
import type { SyncState } from './status.js';
import { BaseStream, type SentType, type TypeStateBase } from './xds-stream.js';

export type { StreamContext } from './xds-stream.js';

interface TypeState extends TypeStateBase {
  names: string[] | undefined;
  sentItems?: EncodedItem[];
}

export class ProxyStream extends BaseStream<TypeState> {
  readonly protocol = 'sotw';

  /** Handles one DiscoveryRequest. Throws an error with a `code` if the stream must end. */
  handle(req: DiscoveryRequest): void {
    this.identify(req.node);
    const typeUrl = req.type_url;
    if (!isServedType(typeUrl)) {
      this.ctx.logger.warn({ proxy: this.id, typeUrl }, 'request for a type this server does not serve; ignored');
      return;
    }
    const typeName = TYPE_NAME[typeUrl];
    const names = wildcardOrNames(req.resource_names);
    const nonce = req.response_nonce ?? '';
    let st = this.types.get(typeUrl);
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
        if (debugEnabled(this.ctx.logger)) {
          this.ctx.logger.debug({ proxy: this.id, type: typeName, version: st.sentVersion }, 'ACK');
        }
        // An ACK that keeps the subscription has nothing new to send: pushes sent every change.
        if (sameNames(st.names, names)) return;
      }
      st.names = names;
    } else {
      if (!st) {
        st = { names };
        this.types.set(typeUrl, st);
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
    this.send(typeUrl, st);
  }

  protected select(typeUrl: ServedTypeUrl, st: TypeState, generated: GeneratedResources): void {
    selectEncoded(generated, typeUrl, honoursResourceNames(typeUrl) ? st.names : undefined);
  }

  protected send(typeUrl: ServedTypeUrl, st: TypeState): void {
    const generated = this.gen.generated;
    if (!generated || this.closed) return;
    const names = honoursResourceNames(typeUrl) ? st.names : undefined;
    let sel: ReturnType<typeof selectEncoded>;
    try {
      sel = selectEncoded(generated, typeUrl, names);
    } catch (err) {
      this.gen.error = (err as Error).message;
      this.ctx.logger.error({ proxy: this.id, err: this.gen.error }, 'encoding failed; not sent');
      return;
    }
    if (sel.version === st.sentVersion) {
      if (st.sentItems === undefined) st.sentItems = sel.items;
      return;
    }
    const nonce = this.ctx.nonce(this.pushing);
    this.write(stampedResponse(typeUrl, sel, nonce));
    st.sentItems = sel.items;
    this.recordSent(typeUrl, st, sel.version, nonce);
    if (debugEnabled(this.ctx.logger)) {
      this.ctx.logger.debug({ proxy: this.id, type: TYPE_NAME[typeUrl], version: sel.version, nonce }, 'sent');
    }
  }

  protected stateOf(st: TypeState): SyncState {
    if (st.sentVersion === undefined) return 'NOT_SENT';
    if (st.lastNack && st.lastNack.nonce === st.sentNonce) return 'NACKED';
    return st.ackedVersion === st.sentVersion ? 'SYNCED' : 'STALE';
  }

  protected resourceNames(st: TypeState): string[] | undefined {
    return st.names;
  }

  /** What was last sent, per type: version, time and resources (JSON). */
  sent(): Map<ServedTypeUrl, SentType> {
    const out = new Map<ServedTypeUrl, SentType>();
    for (const [typeUrl, st] of this.types) {
      if (st.sentVersion !== undefined) {
        out.set(typeUrl, { version: st.sentVersion, at: this.sentAtText(st), items: st.sentItems ?? [] });
      }
    }
    return out;
  }
}

function wildcardOrNames(names: string[] | undefined): string[] | undefined {
  if (!names || names.length === 0 || names.includes('*')) return undefined;
  return [...names];
}

function sameNames(a: string[] | undefined, b: string[] | undefined): boolean {
  if (a === undefined || b === undefined) return a === b;
  return a.length === b.length && a.every((n, i) => n === b[i]);
}
