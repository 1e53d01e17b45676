/**
 * A {@link ConfigSource} over a Store: lists every kind the translation reads, then watches from
 * the list revision; on `Gone` (history compacted) it lists again. Snapshots are rebuilt lazily.
 */
import type { Resource } from '@sluice/config';
import type { Store, StoredObject, Watcher } from '@sluice/store';
import type { ConfigSnapshot } from '../translate/types.js';
import { ChangeNotifier, type ConfigSource } from './config-source.js';
import type { XdsLogger } from './logger.js';
import { silentLogger } from './logger.js';

/** The kinds whose objects reach proxies. */
export const TRANSLATED_KINDS = [
  'ServiceEntry',
  'VirtualService',
  'DestinationRule',
  'Sidecar',
  'WorkloadEntry',
  'MeshConfig',
  'Service',
  'Pod',
] as const;

const RELIST_DELAY_MS = 200;

function keyOf(o: Resource): string {
  return `${o.kind}/${o.metadata.namespace ?? ''}/${o.metadata.name}`;
}

function revisionAfter(a: string, b: string): boolean {
  if (/^\d+$/.test(a) && /^\d+$/.test(b)) return BigInt(a) > BigInt(b);
  return a !== b;
}

export class StoreConfigSource implements ConfigSource {
  readonly #store: Store;
  readonly #logger: XdsLogger;
  readonly #objects = new Map<string, StoredObject>();
  readonly #changes = new ChangeNotifier();
  readonly #kinds: ReadonlySet<string>;
  #revision = '0';
  #snapshot: ConfigSnapshot | undefined;
  #watcher: Watcher | undefined;
  #closed = false;
  #ready: Promise<void> | undefined;
  #relistTimer: NodeJS.Timeout | undefined;

  constructor(store: Store, opts: { logger?: XdsLogger; kinds?: readonly string[] } = {}) {
    this.#store = store;
    this.#logger = opts.logger ?? silentLogger;
    this.#kinds = new Set(opts.kinds ?? TRANSLATED_KINDS);
  }

  /** Lists and starts watching (once). Also called by {@link ready}. */
  start(): Promise<void> {
    this.#ready ??= this.#relist();
    return this.#ready;
  }

  ready(): Promise<void> {
    return this.start();
  }

  async #relist(): Promise<void> {
    if (this.#closed) return;
    this.#watcher?.close();
    this.#watcher = undefined;
    const lists = await Promise.all([...this.#kinds].map((kind) => this.#store.list({ kind })));
    if (this.#closed) return;
    this.#objects.clear();
    let from: string | undefined;
    for (const l of lists) {
      for (const o of l.items) this.#objects.set(keyOf(o), o);
      if (from === undefined || revisionAfter(from, l.revision)) from = l.revision;
      if (revisionAfter(l.revision, this.#revision)) this.#revision = l.revision;
    }
    from ??= await this.#store.revision();
    this.#snapshot = undefined;
    this.#watcher = this.#store.watch(
      { fromRevision: from },
      (e) => {
        if (!this.#kinds.has(e.object.kind)) return;
        const k = keyOf(e.object);
        if (e.type === 'DELETED') this.#objects.delete(k);
        else this.#objects.set(k, e.object);
        if (revisionAfter(e.revision, this.#revision)) this.#revision = e.revision;
        this.#snapshot = undefined;
        this.#changes.notify();
      },
      (err) => this.#onWatchError(err),
    );
    this.#changes.notify();
  }

  #onWatchError(err: Error): void {
    if (this.#closed) return;
    const gone = (err as { code?: string }).code === 'Gone';
    this.#logger.warn({ err: err.message, gone }, 'config watch ended; listing again');
    clearTimeout(this.#relistTimer);
    this.#relistTimer = setTimeout(
      () => {
        this.#relist().catch((e: Error) => this.#onWatchError(e));
      },
      gone ? 0 : RELIST_DELAY_MS,
    );
  }

  snapshot(): ConfigSnapshot {
    this.#snapshot ??= Object.freeze({
      revision: this.#revision,
      resources: Object.freeze([...this.#objects.values()]),
    });
    return this.#snapshot;
  }

  onChange(cb: () => void): () => void {
    return this.#changes.subscribe(cb);
  }

  /** Stops watching. Idempotent; the store is not closed (the caller owns it). */
  close(): void {
    this.#closed = true;
    clearTimeout(this.#relistTimer);
    this.#watcher?.close();
    this.#watcher = undefined;
  }
}
