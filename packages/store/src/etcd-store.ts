/**
 * The scale-out backend: objects live in etcd under `/<prefix>/<kind>/<namespace>/<name>` as JSON;
 * resourceVersion is the key's etcd mod revision, writes are compare-and-swap transactions on it,
 * and watches are etcd watches from a revision. Several processes may share one etcd.
 */
import type { Resource } from '@sluice/config';
import { ExponentialBackoff, type IBackoff, noop } from 'cockatiel';
import { Etcd3, type Watcher as EtcdWatcher, type IKeyValue, type IWatchResponse } from 'etcd3';
import {
  checkKey,
  checkPreconditions,
  compileFilter,
  describeKey,
  filterEvent,
  keyOfResource,
  newStoredObject,
  type ObjectFilter,
  parseRevision,
  sameStoredContent,
  updatedStoredObject,
} from './stored-object.js';
import {
  type ListOptions,
  type ListResult,
  type ResourceKey,
  type Store,
  type StoredObject,
  StoreError,
  type WatchEvent,
  type Watcher,
  type WatchOptions,
} from './types.js';

export interface EtcdStoreOptions {
  /** Client URLs, e.g. `["http://127.0.0.1:2379"]`. */
  endpoints: string[];
  /** Top-level key segment; default `sluice`. Stores with different prefixes never see each other. */
  prefix?: string;
  /** Revisions of history kept for watchers; older ones are compacted (etcd-wide). Default 10,000. */
  historyLimit?: number;
  /** Deadline of every call, in ms. Default 5,000. */
  callTimeoutMs?: number;
}

/** Reconnect delays of watch streams: 50 ms doubling to 1 s (etcd3's typing wants the factory's product; the factory is what it uses). */
const WATCH_BACKOFF = new ExponentialBackoff({ initialDelay: 50, maxDelay: 1000 }) as unknown as IBackoff<unknown>;

/** Writes retried when an unconditional update or delete races with another writer. */
const CAS_ATTEMPTS = 8;

interface WatchState {
  /** The etcd revision of the last event examined (delivered or filtered out). */
  cursor: number;
  filter: ObjectFilter;
  onEvent: (e: WatchEvent) => void;
  onError: (err: Error) => void;
  etcd: EtcdWatcher;
  closed: boolean;
}

function prefixEnd(prefix: string): Buffer {
  const b = Buffer.from(prefix);
  // the prefix always ends with '/', so incrementing the last byte never overflows
  b[b.length - 1] = (b[b.length - 1] as number) + 1;
  return b;
}

export class EtcdStore implements Store {
  private readonly client: Etcd3;
  private readonly root: string;
  private readonly historyLimit: number;
  private readonly compactSlack: number;
  private readonly watchers = new Set<WatchState>();
  private compactedTo = 0;
  private compacting: Promise<void> | undefined;
  private closing: Promise<void> | undefined;

  constructor(opts: EtcdStoreOptions) {
    if (!Array.isArray(opts.endpoints) || opts.endpoints.length === 0) {
      throw new StoreError(
        'Invalid',
        'endpoints: at least one etcd client URL is required, e.g. ["http://127.0.0.1:2379"]',
      );
    }
    const prefix = (opts.prefix ?? 'sluice').replace(/^\/+|\/+$/g, '');
    if (prefix === '' || /\s/.test(prefix))
      throw new StoreError('Invalid', `prefix: ${JSON.stringify(opts.prefix)} must be a non-empty key segment`);
    const historyLimit = opts.historyLimit ?? 10_000;
    if (!Number.isInteger(historyLimit) || historyLimit < 1)
      throw new StoreError('Invalid', `historyLimit: ${historyLimit} must be a positive integer`);
    const timeout = opts.callTimeoutMs ?? 5000;
    this.root = `/${prefix}/`;
    this.historyLimit = historyLimit;
    this.compactSlack = Math.max(1, Math.floor(historyLimit / 10));
    this.client = new Etcd3({
      hosts: opts.endpoints,
      dialTimeout: timeout,
      // Every unary call gets a deadline; watch streams live until cancelled.
      defaultCallOptions: (ctx) => (ctx.isStream ? {} : { deadline: Date.now() + timeout }),
      // No blind retries: a retried transaction whose first attempt committed would report a false
      // Conflict. Failures surface as Unavailable and the caller decides.
      faultHandling: { global: noop, host: () => noop, watchBackoff: WATCH_BACKOFF },
      grpcOptions: { 'grpc.max_receive_message_length': 64 * 1024 * 1024 },
    });
  }

  async get(key: ResourceKey): Promise<StoredObject | undefined> {
    const k = checkKey(key);
    const res = await this.call(() => this.client.kv.range({ key: Buffer.from(this.keyOf(k)) }));
    const kv = res.kvs[0];
    return kv ? this.decode(kv) : undefined;
  }

  async list(opts: ListOptions): Promise<ListResult> {
    const filter = compileFilter(opts);
    if (filter.kind === undefined) throw new StoreError('Invalid', 'kind: required to list');
    const prefix =
      filter.namespace === undefined
        ? `${this.root}${filter.kind}/`
        : `${this.root}${filter.kind}/${filter.namespace}/`;
    const res = await this.call(() => this.client.kv.range({ key: Buffer.from(prefix), range_end: prefixEnd(prefix) }));
    const items: StoredObject[] = [];
    for (const kv of res.kvs) {
      const obj = this.decode(kv);
      if (filterEvent(filter, 'ADDED', obj, undefined, '') !== undefined) items.push(obj);
    }
    items.sort(
      (a, b) =>
        compareKeys(a.metadata.namespace, b.metadata.namespace) || compareKeys(a.metadata.name, b.metadata.name),
    );
    return { items, revision: res.header.revision };
  }

  async create(obj: Resource): Promise<StoredObject> {
    const key = keyOfResource(obj);
    const etcdKey = Buffer.from(this.keyOf(key));
    const stored = newStoredObject(obj, key, '');
    const res = await this.call(() =>
      this.client.kv.txn({
        compare: [{ key: etcdKey, target: 'Create', result: 'Equal', create_revision: '0' }],
        success: [{ request_put: { key: etcdKey, value: Buffer.from(JSON.stringify(stored)) } }],
        failure: [],
      }),
    );
    if (!res.succeeded) throw new StoreError('AlreadyExists', `${describeKey(key)} already exists`);
    this.afterWrite(Number(res.header.revision));
    return this.decodeJson(JSON.stringify(stored), res.header.revision);
  }

  async update(obj: Resource): Promise<StoredObject> {
    const key = keyOfResource(obj);
    const etcdKey = Buffer.from(this.keyOf(key));
    for (let attempt = 0; attempt < CAS_ATTEMPTS; attempt++) {
      const current = await this.get(key);
      if (!current) throw new StoreError('NotFound', `${describeKey(key)} not found`);
      const unchanged = updatedStoredObject(current, obj, key, current.metadata.resourceVersion);
      if (sameStoredContent(unchanged, current)) return current;
      const json = JSON.stringify({ ...unchanged, metadata: { ...unchanged.metadata, resourceVersion: '' } });
      const res = await this.call(() =>
        this.client.kv.txn({
          compare: [{ key: etcdKey, target: 'Mod', result: 'Equal', mod_revision: current.metadata.resourceVersion }],
          success: [{ request_put: { key: etcdKey, value: Buffer.from(json) } }],
          failure: [],
        }),
      );
      if (res.succeeded) {
        this.afterWrite(Number(res.header.revision));
        return this.decodeJson(json, res.header.revision);
      }
      // Changed since we read it: a given resourceVersion now fails the precondition (Conflict) on the next read.
    }
    throw new StoreError('Conflict', `${describeKey(key)}: too many concurrent writers; retry`);
  }

  async delete(key: ResourceKey, opts: { resourceVersion?: string } = {}): Promise<StoredObject> {
    const k = checkKey(key);
    const etcdKey = Buffer.from(this.keyOf(k));
    for (let attempt = 0; attempt < CAS_ATTEMPTS; attempt++) {
      const current = await this.get(k);
      if (!current) throw new StoreError('NotFound', `${describeKey(k)} not found`);
      checkPreconditions(current, opts.resourceVersion);
      const res = await this.call(() =>
        this.client.kv.txn({
          compare: [{ key: etcdKey, target: 'Mod', result: 'Equal', mod_revision: current.metadata.resourceVersion }],
          success: [{ request_delete_range: { key: etcdKey } }],
          failure: [],
        }),
      );
      if (res.succeeded) {
        this.afterWrite(Number(res.header.revision));
        current.metadata.resourceVersion = res.header.revision;
        return current;
      }
    }
    throw new StoreError('Conflict', `${describeKey(k)}: too many concurrent writers; retry`);
  }

  watch(opts: WatchOptions, onEvent: (e: WatchEvent) => void, onError: (err: Error) => void): Watcher {
    if (this.closing) throw new StoreError('Unavailable', 'etcd store is closed');
    const from = parseRevision('fromRevision', opts.fromRevision);
    const filter = compileFilter(opts);
    let prefix = this.root;
    if (filter.kind !== undefined) {
      prefix += `${filter.kind}/`;
      if (filter.namespace !== undefined) prefix += `${filter.namespace}/`;
    }
    const etcd = this.client
      .watch()
      .prefix(prefix)
      .withPreviousKV()
      .startRevision(String(from + 1))
      .watcher();
    const state: WatchState = { cursor: from, filter, onEvent, onError, etcd, closed: false };
    this.watchers.add(state);
    etcd.on('data', (res: IWatchResponse) => this.deliver(state, res));
    etcd.on('error', (err: Error) => {
      const gone = err.message === 'Watcher canceled: ' || /compacted/.test(err.message);
      this.endWatch(
        state,
        gone
          ? new StoreError(
              'Gone',
              `resource version too old: ${state.cursor} (compacted by etcd); relist and watch from the list revision`,
            )
          : new StoreError('Unavailable', `etcd watch failed: ${err.message}`),
      );
    });
    // On a broken stream the client re-subscribes by itself; make it resume right after the last
    // event this watch examined, so a reconnect can neither skip nor repeat events.
    etcd.on('disconnected', () => {
      etcd.request.start_revision = String(state.cursor + 1);
    });
    return {
      close: () => {
        if (state.closed) return;
        state.closed = true;
        this.watchers.delete(state);
        etcd.cancel().catch(() => undefined);
      },
    };
  }

  async revision(): Promise<string> {
    const res = await this.call(() =>
      this.client.kv.range({ key: Buffer.from(this.root), range_end: prefixEnd(this.root), count_only: true }),
    );
    return res.header.revision;
  }

  async close(): Promise<void> {
    this.closing ??= (async () => {
      const cancels = [...this.watchers].map((w) => {
        w.closed = true;
        return w.etcd.cancel().catch(() => undefined);
      });
      this.watchers.clear();
      await Promise.race([Promise.all(cancels), new Promise((r) => setTimeout(r, 1000))]);
      await this.compacting;
      this.client.close();
    })();
    return this.closing;
  }

  private deliver(w: WatchState, res: IWatchResponse): void {
    for (const ev of res.events) {
      if (w.closed) return;
      const revision = Number(ev.kv.mod_revision);
      if (revision <= w.cursor) continue;
      w.cursor = revision;
      let event: WatchEvent | undefined;
      try {
        if (ev.type === 'Delete') {
          if (!ev.prev_kv) continue; // not an object of ours
          const obj = this.decode(ev.prev_kv);
          obj.metadata.resourceVersion = ev.kv.mod_revision;
          event = filterEvent(w.filter, 'DELETED', obj, undefined, ev.kv.mod_revision);
        } else {
          const obj = this.decode(ev.kv);
          const added = ev.kv.version === '1';
          const prev = !added && ev.prev_kv ? (this.decode(ev.prev_kv).metadata.labels ?? {}) : undefined;
          event = filterEvent(w.filter, added ? 'ADDED' : 'MODIFIED', obj, prev, ev.kv.mod_revision);
        }
      } catch {
        continue; // a key under the prefix that is not a stored object
      }
      if (!event) continue;
      try {
        w.onEvent(event);
      } catch (err) {
        this.endWatch(w, err as Error);
        return;
      }
    }
  }

  private endWatch(w: WatchState, err: Error): void {
    if (w.closed) return;
    w.closed = true;
    this.watchers.delete(w);
    w.etcd.cancel().catch(() => undefined);
    try {
      w.onError(err);
    } catch {
      // the watcher's own error handler failed; nothing else to tell it
    }
  }

  private keyOf(k: ResourceKey): string {
    return `${this.root}${k.kind}/${k.namespace}/${k.name}`;
  }

  private decode(kv: IKeyValue): StoredObject {
    return this.decodeJson(kv.value.toString(), kv.mod_revision);
  }

  private decodeJson(json: string, revision: string): StoredObject {
    const obj = JSON.parse(json) as StoredObject;
    obj.metadata.resourceVersion = revision;
    return obj;
  }

  /** Compacts etcd's history once it holds more than historyLimit (plus slack) revisions past the last compaction. */
  private afterWrite(rev: number): void {
    if (this.compacting || rev - this.compactedTo < this.historyLimit + this.compactSlack) return;
    const to = rev - this.historyLimit;
    this.compacting = this.client.kv
      .compact({ revision: String(to) }, { deadline: Date.now() + 5000 })
      .then(
        () => {
          this.compactedTo = to;
        },
        (err: Error) => {
          // "required revision has been compacted": someone else compacted further already
          if (/compacted/.test(err.message)) this.compactedTo = to;
        },
      )
      .finally(() => {
        this.compacting = undefined;
      });
  }

  private async call<T>(fn: () => Promise<T>): Promise<T> {
    if (this.closing) throw new StoreError('Unavailable', 'etcd store is closed');
    try {
      return await fn();
    } catch (err) {
      if (err instanceof StoreError) throw err;
      throw new StoreError('Unavailable', `etcd: ${(err as Error).message}`);
    }
  }
}

function compareKeys(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/** Opens a store on etcd. Connects lazily: an unreachable etcd shows as Unavailable on the first call. */
export function openEtcdStore(opts: EtcdStoreOptions): EtcdStore {
  return new EtcdStore(opts);
}
