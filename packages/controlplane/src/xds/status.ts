/** What `statuses()` reports per proxy and per resource type (the data behind `sluice proxy-status`). */
import type { XdsTypeName } from './resource-types.js';

/** SYNCED: the proxy acked what was sent. STALE: sent, not acked yet. NACKED: rejected. NOT_SENT: nothing sent. */
export type SyncState = 'SYNCED' | 'STALE' | 'NACKED' | 'NOT_SENT';

export interface NackInfo {
  version: string;
  nonce: string;
  message: string;
  /** RFC 3339. */
  at: string;
}

export interface TypeStatus {
  typeUrl: string;
  state: SyncState;
  sentVersion?: string;
  ackedVersion?: string;
  nonce?: string;
  /** The last rejection, kept after later ACKs so it stays visible. */
  lastNack?: NackInfo;
  /** Resource names subscribed to; absent for a wildcard subscription. */
  resourceNames?: string[];
}

export interface ProxyStatus {
  id: string;
  /** The ADS flavour of the stream: state of the world or incremental (delta). */
  protocol: 'sotw' | 'delta';
  podName: string;
  namespace: string;
  /** RFC 3339. */
  connectedSince: string;
  /** Snapshot revision of the last config computed for this proxy. */
  configRevision: string;
  /** True when every subscribed type is SYNCED. */
  inSync: boolean;
  /** Set when the last generation for this proxy failed (it keeps its previous resources). */
  generationError?: string;
  types: Partial<Record<XdsTypeName, TypeStatus>>;
}

export interface WaitForAcksResult {
  /** The snapshot revision waited for. */
  version: string;
  acked: string[];
  notAcked: string[];
  /** Proxies (also listed in notAcked) that rejected a resource. */
  nacked: string[];
}
