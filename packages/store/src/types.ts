/**
 * The one storage interface both backends implement (and one conformance suite checks).
 * Objects handed out are fresh copies: callers may not mutate what they did not create.
 */
import type { ObjectMeta, Resource } from '@sluice/config';

/** Identifies one object. `namespace` is '' for cluster-scoped kinds (MeshConfig, Namespace). */
export interface ResourceKey {
  kind: string;
  namespace: string;
  name: string;
}

/** A stored object: metadata is complete (uid, resourceVersion, generation, creationTimestamp). */
export interface StoredObject extends Resource {
  metadata: ObjectMeta & {
    namespace: string;
    uid: string;
    resourceVersion: string;
    generation: number;
    creationTimestamp: string;
  };
}

export interface ListOptions {
  kind: string;
  /** Omit for every namespace. */
  namespace?: string;
  /** Kubernetes label selector syntax: `app=ratings,version!=v1,env in (a,b),!canary,tier`. */
  labelSelector?: string;
}

export interface ListResult {
  items: StoredObject[];
  /** The store revision the list reflects; watch from it to see every later change. */
  revision: string;
}

export type WatchEventType = 'ADDED' | 'MODIFIED' | 'DELETED';

export interface WatchEvent {
  type: WatchEventType;
  /** For DELETED: the object as it was last stored, with metadata.resourceVersion = the deletion revision. */
  object: StoredObject;
  revision: string;
}

export interface WatchOptions {
  /** Omit for every kind. */
  kind?: string;
  namespace?: string;
  labelSelector?: string;
  /** Deliver every event with revision > fromRevision, in order, with no gaps. */
  fromRevision: string;
}

export interface Watcher {
  /** Stops delivery. Idempotent. */
  close(): void;
}

export type StoreErrorCode = 'NotFound' | 'AlreadyExists' | 'Conflict' | 'Gone' | 'Invalid' | 'Unavailable';

/** Every store failure. `Gone` = "resource version too old": the watcher must relist. */
export class StoreError extends Error {
  constructor(
    readonly code: StoreErrorCode,
    message: string,
  ) {
    super(message);
    this.name = 'StoreError';
  }
}

export interface Store {
  get(key: ResourceKey): Promise<StoredObject | undefined>;
  list(opts: ListOptions): Promise<ListResult>;
  /** Sets uid, creationTimestamp, generation 1 and resourceVersion. AlreadyExists if the key is taken. */
  create(obj: Resource): Promise<StoredObject>;
  /**
   * Replaces the object. If `obj.metadata.resourceVersion` is set and differs from the stored one:
   * Conflict. NotFound if absent. Keeps uid and creationTimestamp; bumps generation when spec changed.
   */
  update(obj: Resource): Promise<StoredObject>;
  /** Deletes; with `resourceVersion` given, Conflict if stale. Returns the deleted object. */
  delete(key: ResourceKey, opts?: { resourceVersion?: string }): Promise<StoredObject>;
  /**
   * Streams events after `fromRevision`. If that revision is older than the store's retained
   * history, `onError` gets a StoreError('Gone', "resource version too old …") and the watch ends.
   */
  watch(opts: WatchOptions, onEvent: (e: WatchEvent) => void, onError: (err: Error) => void): Watcher;
  /** The current store revision. */
  revision(): Promise<string>;
  /** Releases resources; pending operations fail with Unavailable. Idempotent. */
  close(): Promise<void>;
}
