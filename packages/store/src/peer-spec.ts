/**
 * How another process opens the same store as this one: a serializable description that the
 * conformance suite hands to a child process (`testdata/store-peer.ts`).
 */
import type { Store } from './types.js';

export type PeerSpec =
  | { backend: 'sqlite'; path: string; historyLimit: number }
  | { backend: 'etcd'; endpoints: string[]; prefix: string; historyLimit: number };

/** Opens a store described by `spec`. */
export async function openPeerStore(spec: PeerSpec): Promise<Store> {
  if (spec.backend === 'sqlite') {
    const { openSqliteStore } = await import('./sqlite-store.js');
    return openSqliteStore(spec.path, { historyLimit: spec.historyLimit });
  }
  const { openEtcdStore } = await import('./etcd-store.js');
  return openEtcdStore({ endpoints: spec.endpoints, prefix: spec.prefix, historyLimit: spec.historyLimit });
}
