/**
 * One incremental ADS stream (DeltaAggregatedResources). Per type URL it tracks the subscription
 * (wildcard and/or names), the version of every resource the proxy holds as far as the server
 * knows, the latest nonce sent, what was acked, and the last NACK. Protocol rules, in order:
 * 1. The first request must carry a Node; its id and metadata place the proxy.
 * 2. Subscriptions: `*` in resource_names_subscribe is the wildcard (so is an empty first request
 *    of a type, Envoy's legacy form); `*` in resource_names_unsubscribe ends it; other names add to or
 *    leave the explicit set. Subscription changes are applied whatever the nonce says.
 * 3. initial_resource_versions on a type's first request is what the proxy holds (a reconnect):
 *    only resources whose version differs are sent, and held ones that are gone come back in
 *    removed_resources.
 * 4. A request whose response_nonce is not the latest nonce sent for its type is stale: its ACK or
 *    NACK is ignored (counted). With the latest nonce: error_detail means NACK (recorded; the
 *    rejected resources count as not held, and their rejected content is not sent again until it
 *    changes), else ACK.
 * 5. A response carries only resources whose version differs from what the proxy holds, and the
 *    names it holds that are gone; none is sent when nothing differs, except that a type's first
 *    request always gets one (possibly empty) so the proxy knows it is up to date.
 * 6. NDS is split per host: each resource is a NameTable holding one host, named by that host (the
 *    proxy's table is the union), so a new ServiceEntry host sends one small resource, not the table.
 */
import type { GeneratedResources } from '../translate/types.js';
import type { DeltaDiscoveryRequest } from './delta-types.js';
import {
  type DeltaChange,
  type EncodedItem,
  type EncodedSelection,
  selectEncoded,
  selectionByName,
  selectionOfVersion,
  sortedByName,
  stampedDelta,
} from './encoded-resources.js';
import { debugEnabled } from './logger.js';
import { isServedType, type ServedTypeUrl, TYPE_NAME } from './resource-types.js';
import type { SyncState } from './status.js';
import { BaseStream, type SentType, type TypeStateBase } from './xds-stream.js';

/** A resource the proxy holds: an item the server sent, or a version the proxy reported. */
type Held = EncodedItem | { name: string; hash: string };

const NO_CHANGES: DeltaTypeState['lastChanges'] = Object.freeze([]);

/** What the proxy holds as a map of its own (made from the shared selection on first need). */
function heldMap(st: DeltaTypeState): Map<string, Held> {
  if (!st.heldMap) {
    st.heldMap = new Map((st.heldSel?.items ?? []).map((i) => [i.name, i]));
    st.heldSel = undefined;
  }
  return st.heldMap;
}

/** Marks a rejected removal in {@link DeltaTypeState.rejected}. */
const REMOVAL = '\0removed';

interface DeltaTypeState extends TypeStateBase {
  wildcard: boolean;
  names: Set<string>;
  /**
   * What the proxy holds: either exactly the items of `heldSel` (a selection every stream of the
   * shape shares: no per-stream map), or this map (after a NACK, a reported initial version, a
   * subscription change); see {@link heldMap}.
   */
  heldMap: Map<string, Held> | undefined;
  heldSel: EncodedSelection | undefined;
  /** The proxy reported versions it holds (kept in the map, not shown as sent). */
  reported: boolean;
  /** The selection version what is held is exactly equal to, when known (fast path for shared diffs). */
  heldVersion: string | undefined;
  /** Rejected content per name (hash, or REMOVAL): not sent again until it changes. */
  rejected: Map<string, string>;
  /** Changes carried by the latest response: what to restore on a NACK. */
  lastChanges: readonly { name: string; prev: Held | undefined; next: Held | undefined }[];
  /** Or, when the latest response took `heldSel` from `before` to the next, that change. */
  lastShared: { before: EncodedSelection; change: DeltaChange } | undefined;
  firstAnswered: boolean;
  /** Selection key of the explicit names and the names as a list (computed when they change). */
  namesKey?: string | undefined;
  namesList?: string[] | undefined;
  ackedNonce?: string;
}

/**
 * The change from holding exactly `from` to `to`, both in strictly ascending name order: one walk
 * of both (no per-name lookups), the same set {@link DeltaStream} would compute by name.
 */
export function walkChange(from: readonly EncodedItem[], to: readonly EncodedItem[]): DeltaChange {
  const updated: EncodedItem[] = [];
  const removed: string[] = [];
  let i = 0;
  let j = 0;
  while (i < from.length && j < to.length) {
    const a = from[i] as EncodedItem;
    const b = to[j] as EncodedItem;
    if (a === b) {
      i++;
      j++;
    } else if (a.name === b.name) {
      if (a.hash !== b.hash) updated.push(b);
      i++;
      j++;
    } else if (a.name < b.name) {
      removed.push(a.name);
      i++;
    } else {
      updated.push(b);
      j++;
    }
  }
  for (; i < from.length; i++) removed.push((from[i] as EncodedItem).name);
  for (; j < to.length; j++) updated.push(to[j] as EncodedItem);
  return { updated, removed };
}

export class DeltaStream extends BaseStream<DeltaTypeState> {
  readonly protocol = 'delta';

  handle(req: DeltaDiscoveryRequest): void {
    this.identify(req.node);
    const typeUrl = req.type_url;
    if (!isServedType(typeUrl)) {
      this.ctx.logger.warn({ proxy: this.id, typeUrl }, 'request for a type this server does not serve; ignored');
      return;
    }
    const typeName = TYPE_NAME[typeUrl];
    let st = this.types.get(typeUrl);
    const subscribe = req.resource_names_subscribe ?? [];
    const unsubscribe = req.resource_names_unsubscribe ?? [];
    if (!st) {
      st = {
        wildcard: subscribe.length === 0,
        names: new Set(),
        heldMap: new Map(),
        heldSel: undefined,
        reported: false,
        heldVersion: undefined,
        rejected: new Map(),
        lastChanges: NO_CHANGES,
        lastShared: undefined,
        firstAnswered: false,
      };
      for (const [name, version] of Object.entries(req.initial_resource_versions ?? {})) {
        heldMap(st).set(name, { name, hash: version });
        st.reported = true;
      }
      this.types.set(typeUrl, st);
    }
    const nonce = req.response_nonce ?? '';
    if (nonce !== '') {
      if (nonce !== st.sentNonce) {
        this.ctx.metrics.staleRequests.inc({ type: typeName });
        this.ctx.logger.debug({ proxy: this.id, type: typeName, nonce }, 'stale nonce; ACK/NACK ignored');
      } else if (req.error_detail && (req.error_detail.message || req.error_detail.code)) {
        this.#nack(st, nonce, req.error_detail.message ?? `code ${req.error_detail.code}`, typeName);
      } else {
        st.ackedVersion = st.sentVersion;
        st.ackedNonce = nonce;
        st.lastChanges = NO_CHANGES;
        st.lastShared = undefined;
        if (debugEnabled(this.ctx.logger)) {
          this.ctx.logger.debug({ proxy: this.id, type: typeName, version: st.sentVersion }, 'ACK');
        }
      }
    }
    let resubscribed = false;
    for (const n of subscribe) {
      if (n === '*') st.wildcard = true;
      else st.names.add(n);
      resubscribed = true;
    }
    for (const n of unsubscribe) {
      if (n === '*') st.wildcard = false;
      else {
        st.names.delete(n);
        // The proxy drops what it unsubscribed from; under a wildcard it keeps it.
        if (!st.wildcard) heldMap(st).delete(n);
      }
      resubscribed = true;
    }
    if (resubscribed) {
      heldMap(st);
      st.heldVersion = undefined;
      st.namesList = st.wildcard ? undefined : [...st.names].sort();
      st.namesKey = st.namesList ? JSON.stringify(st.namesList) : undefined;
    }
    if (st.wildcard === false && unsubscribe.includes('*')) {
      const held = heldMap(st);
      for (const n of [...held.keys()]) if (!st.names.has(n)) held.delete(n);
    }
    // A plain ACK or NACK changes nothing to send: pushes already sent every change.
    if (!st.firstAnswered || resubscribed) this.send(typeUrl, st);
  }

  #nack(st: DeltaTypeState, nonce: string, message: string, typeName: string): void {
    st.lastNack = { version: st.sentVersion ?? '', nonce, message, at: new Date().toISOString() };
    if (st.lastShared) {
      const { before, change } = st.lastShared;
      const prev = selectionByName(before);
      st.lastChanges = [
        ...change.updated.map((item) => ({ name: item.name, prev: prev.get(item.name), next: item })),
        ...change.removed.map((name) => ({ name, prev: prev.get(name), next: undefined })),
      ];
      st.lastShared = undefined;
    }
    const held = heldMap(st);
    for (const c of st.lastChanges) {
      if (held.get(c.name) !== c.next) continue; // superseded by a later response
      if (c.prev) held.set(c.name, c.prev);
      else held.delete(c.name);
      st.rejected.set(c.name, c.next ? c.next.hash : REMOVAL);
    }
    st.lastChanges = NO_CHANGES;
    st.heldVersion = undefined;
    this.ctx.metrics.nacks.inc({ type: typeName });
    this.ctx.logger.warn(
      { proxy: this.id, type: typeName, version: st.sentVersion, error: message },
      'proxy rejected config (NACK)',
    );
  }

  #desired(typeUrl: ServedTypeUrl, st: DeltaTypeState): EncodedSelection {
    const generated = this.gen.generated;
    if (!generated) throw new Error('no generated resources');
    return this.select(typeUrl, st, generated);
  }

  protected select(typeUrl: ServedTypeUrl, st: DeltaTypeState, generated: GeneratedResources): EncodedSelection {
    const names = st.wildcard ? undefined : (st.namesList ?? [...st.names].sort());
    return selectEncoded(generated, typeUrl, names, { nameTableByHost: true, key: st.namesKey });
  }

  /** The change from what the proxy holds to `sel`; shared between streams that held the same version. */
  #change(st: DeltaTypeState, sel: EncodedSelection): DeltaChange {
    const from = st.rejected.size === 0 ? st.heldVersion : undefined;
    const shared = from !== undefined ? sel.deltas?.get(from) : undefined;
    if (shared) return shared;
    const before =
      from === undefined ? undefined : st.heldSel?.version === from ? st.heldSel : selectionOfVersion(from);
    const change =
      before && sortedByName(before) && sortedByName(sel) ? walkChange(before.items, sel.items) : this.#diff(st, sel);
    if (from !== undefined) {
      sel.deltas ??= new Map();
      if (sel.deltas.size > 64) sel.deltas.clear();
      sel.deltas.set(from, change);
    }
    return change;
  }

  /** The change from what the proxy holds to `sel`, by name lookups (any held state). */
  #diff(st: DeltaTypeState, sel: EncodedSelection): DeltaChange {
    const want = selectionByName(sel);
    const heldNow = heldMap(st);
    const updated: EncodedItem[] = [];
    const removed: string[] = [];
    for (const item of sel.items) {
      const held = heldNow.get(item.name);
      if (held?.hash === item.hash || st.rejected.get(item.name) === item.hash) continue;
      updated.push(item);
    }
    for (const name of heldNow.keys()) {
      if (!want.has(name) && st.rejected.get(name) !== REMOVAL) removed.push(name);
    }
    // A rejection of something no longer wanted nor held is moot.
    for (const name of st.rejected.keys()) if (!want.has(name) && !heldNow.has(name)) st.rejected.delete(name);
    return { updated, removed };
  }

  protected send(typeUrl: ServedTypeUrl, st: DeltaTypeState): void {
    if (!this.gen.generated || this.closed) return;
    let sel: EncodedSelection;
    let change: DeltaChange;
    try {
      sel = this.#desired(typeUrl, st);
      change = this.#change(st, sel);
    } catch (err) {
      this.gen.error = (err as Error).message;
      this.ctx.logger.error({ proxy: this.id, err: this.gen.error }, 'encoding failed; not sent');
      return;
    }
    const empty = change.updated.length === 0 && change.removed.length === 0;
    if (empty && st.firstAnswered) {
      if (st.rejected.size === 0) {
        st.heldVersion = sel.version;
        if (!st.heldMap || !st.reported) {
          st.heldSel = sel;
          st.heldMap = undefined;
        }
      }
      return;
    }
    const nonce = this.ctx.nonce(this.pushing);
    this.write(stampedDelta(typeUrl, sel.version, change, nonce));
    if (!st.heldMap) {
      // Held exactly `heldSel` (so nothing is rejected); `change` takes it to exactly `sel`.
      st.lastShared = { before: st.heldSel as EncodedSelection, change };
      st.lastChanges = NO_CHANGES;
      st.heldSel = sel;
    } else {
      const held = st.heldMap;
      const changes: { name: string; prev: Held | undefined; next: Held | undefined }[] = [];
      for (const item of change.updated) {
        changes.push({ name: item.name, prev: held.get(item.name), next: item });
        held.set(item.name, item);
        st.rejected.delete(item.name);
      }
      for (const name of change.removed) {
        changes.push({ name, prev: held.get(name), next: undefined });
        held.delete(name);
        st.rejected.delete(name);
      }
      st.lastChanges = changes;
      st.lastShared = undefined;
      // With nothing rejected the proxy now holds exactly `sel`: share it instead of the map.
      if (st.rejected.size === 0 && !st.reported) {
        st.heldSel = sel;
        st.heldMap = undefined;
      }
    }
    st.heldVersion = st.rejected.size === 0 ? sel.version : undefined;
    st.firstAnswered = true;
    this.recordSent(typeUrl, st, sel.version, nonce);
    if (!debugEnabled(this.ctx.logger)) return;
    this.ctx.logger.debug(
      {
        proxy: this.id,
        type: TYPE_NAME[typeUrl],
        version: sel.version,
        nonce,
        updated: change.updated.length,
        removed: change.removed.length,
      },
      'sent (delta)',
    );
  }

  protected stateOf(st: DeltaTypeState): SyncState {
    if (st.sentVersion === undefined) return 'NOT_SENT';
    if (st.lastNack && st.lastNack.nonce === st.sentNonce) return 'NACKED';
    return st.ackedNonce === st.sentNonce ? 'SYNCED' : 'STALE';
  }

  protected resourceNames(st: DeltaTypeState): string[] | undefined {
    return st.wildcard ? undefined : [...st.names].sort();
  }

  /** The resources the proxy holds per type (those the server sent; versions it only reported are left out). */
  sent(): Map<ServedTypeUrl, SentType> {
    const out = new Map<ServedTypeUrl, SentType>();
    for (const [typeUrl, st] of this.types) {
      if (st.sentVersion === undefined) continue;
      const items = (st.heldMap ? [...st.heldMap.values()] : [...(st.heldSel?.items ?? [])])
        .filter((h): h is EncodedItem => 'json' in h)
        .sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
      out.set(typeUrl, { version: st.sentVersion, at: this.sentAtText(st), items });
    }
    return out;
  }
}
