/**
 * Where the xDS server gets its configuration: a source of immutable snapshots plus a change
 * signal. Two implementations: {@link StaticConfigSource} (set by hand: tests, embedding) and
 * `StoreConfigSource` (a Store, listed and watched).
 */
import type { Resource } from '@sluice/config';
import type { ConfigSnapshot } from '../translate/types.js';

export interface ConfigSource {
  /** The latest snapshot. The returned object is frozen and never mutated: a new one per change. */
  snapshot(): ConfigSnapshot;
  /** Calls `cb` after every change (possibly many times in a burst). Returns an unsubscribe function. */
  onChange(cb: () => void): () => void;
  /** Resolves once the first complete snapshot is available. */
  ready(): Promise<void>;
}

/** Notifies subscribers; errors thrown by one subscriber do not stop the others. */
export class ChangeNotifier {
  readonly #subscribers = new Set<() => void>();

  subscribe(cb: () => void): () => void {
    this.#subscribers.add(cb);
    return () => {
      this.#subscribers.delete(cb);
    };
  }

  notify(): void {
    for (const cb of [...this.#subscribers]) {
      try {
        cb();
      } catch {
        /* a subscriber's failure is its own */
      }
    }
  }
}

/** A source whose snapshot is replaced by {@link set}. Ready at once. */
export class StaticConfigSource implements ConfigSource {
  #snapshot: ConfigSnapshot;
  #revision = 0;
  readonly #changes = new ChangeNotifier();

  constructor(resources: readonly Resource[] = []) {
    this.#snapshot = Object.freeze({ revision: '0', resources: Object.freeze([...resources]) });
  }

  /** Replaces every resource; subscribers are told. Returns the new snapshot's revision. */
  set(resources: readonly Resource[]): string {
    this.#revision++;
    this.#snapshot = Object.freeze({ revision: String(this.#revision), resources: Object.freeze([...resources]) });
    this.#changes.notify();
    return this.#snapshot.revision;
  }

  snapshot(): ConfigSnapshot {
    return this.#snapshot;
  }

  onChange(cb: () => void): () => void {
    return this.#changes.subscribe(cb);
  }

  ready(): Promise<void> {
    return Promise.resolve();
  }
}
