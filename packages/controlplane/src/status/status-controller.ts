/**
 * The status controller: keeps every ServiceEntry's `status` in line with what the translation
 * does with it. It persists auto-allocated VIPs in `status.addresses` (so they survive restarts
 * and the deletion of older entries) and marks the loser of a shared TCP port with a `Conflict`
 * condition, a gauge and one warning log line. Writes touch status only, and only when it differs
 * from what is stored: a pass over an unchanged config writes nothing.
 */
import type { Resource } from '@sluice/config';
import { type Store, type StoredObject, StoreError } from '@sluice/store';
import { Registry } from 'prom-client';
import type { ConfigSource } from '../xds/index.js';
import {
  entryKey,
  nextServiceEntryStatus,
  planServiceEntryStatuses,
  type ServiceEntryStatusPlan,
  sameJson,
} from './service-entry-status.js';
import { createStatusMetrics, type StatusMetrics } from './status-metrics.js';

/** The logging the controller needs; pino's logger satisfies it. */
export interface StatusLogger {
  debug(obj: object, msg: string): void;
  info(obj: object, msg: string): void;
  warn(obj: object, msg: string): void;
  error(obj: object, msg: string): void;
}

const noop = () => {};
const silent: StatusLogger = { debug: noop, info: noop, warn: noop, error: noop };

export interface StatusControllerOptions {
  /** Where statuses are written. Not closed by the controller. */
  store: Store;
  /** The config to follow (the control plane shares the xDS server's store watch). */
  source: ConfigSource;
  /** Registry for `sluice_conflict_outbound_listener_tcp`; a private one by default. */
  registry?: Registry;
  logger?: StatusLogger;
  /** Quiet time before a pass, so a burst of changes makes one pass (default 20 ms). */
  settleMs?: number;
}

/** Result of one pass, for logs and tests. */
export interface StatusPassResult {
  /** Revision of the config snapshot the pass read. */
  revision: string;
  /** `<namespace>/<name>` of every entry whose status was written. */
  written: string[];
}

/** How often a write that lost a resourceVersion race is tried again with the fresh object. */
const MAX_WRITE_ATTEMPTS = 5;

function timestamp(): string {
  return `${new Date().toISOString().slice(0, 19)}Z`;
}

export class StatusController {
  readonly metrics: StatusMetrics;
  readonly #store: Store;
  readonly #source: ConfigSource;
  readonly #logger: StatusLogger;
  readonly #settleMs: number;
  /** `<ns>/<name>/<port>` of every conflict already logged. */
  readonly #knownConflicts = new Set<string>();
  #unsubscribe: (() => void) | undefined;
  #timer: NodeJS.Timeout | undefined;
  #running: Promise<void> | undefined;
  #dirty = false;
  #closed = false;
  #started: Promise<void> | undefined;
  #idleWaiters: (() => void)[] = [];

  constructor(opts: StatusControllerOptions) {
    this.#store = opts.store;
    this.#source = opts.source;
    this.#logger = opts.logger ?? silent;
    this.#settleMs = opts.settleMs ?? 20;
    this.metrics = createStatusMetrics(opts.registry ?? new Registry());
  }

  /** Waits for the source's first snapshot, subscribes to changes and runs a first pass. Once. */
  start(): Promise<void> {
    this.#started ??= (async () => {
      await this.#source.ready();
      if (this.#closed) return;
      this.#unsubscribe = this.#source.onChange(() => this.#schedule());
      this.#dirty = true;
      await this.#drain();
    })();
    return this.#started;
  }

  /** Resolves when no pass is running or scheduled. */
  idle(): Promise<void> {
    if (!this.#running && !this.#timer) return Promise.resolve();
    return new Promise((resolve) => this.#idleWaiters.push(resolve));
  }

  #schedule(): void {
    if (this.#closed) return;
    this.#dirty = true;
    if (this.#running || this.#timer) return;
    this.#timer = setTimeout(() => {
      this.#timer = undefined;
      void this.#drain();
    }, this.#settleMs);
  }

  /** Runs passes until no change arrived during the last one. Never rejects. */
  #drain(): Promise<void> {
    this.#running ??= (async () => {
      while (this.#dirty && !this.#closed) {
        this.#dirty = false;
        try {
          await this.runPass();
        } catch (err) {
          this.#logger.error({ err: (err as Error).message }, 'status pass failed; retrying on the next change');
        }
      }
    })().finally(() => {
      this.#running = undefined;
      if (this.#dirty && !this.#closed) this.#schedule();
      else if (!this.#timer) for (const w of this.#idleWaiters.splice(0)) w();
    });
    return this.#running;
  }

  /**
   * One pass over the current snapshot: updates metrics and logs, writes every status that differs.
   * Exposed for embedding and tests; the controller runs it by itself after each change.
   */
  async runPass(): Promise<StatusPassResult> {
    const snapshot = this.#source.snapshot();
    const entries = snapshot.resources.filter((r) => r.kind === 'ServiceEntry') as StoredObject[];
    const plans = planServiceEntryStatuses(entries);
    this.#report(plans);
    const written: string[] = [];
    for (const entry of entries) {
      if (this.#closed) break;
      const key = entryKey(entry.metadata.namespace ?? 'default', entry.metadata.name);
      const plan = plans.get(key);
      if (!plan) continue;
      if (await this.#write(entry, plan)) written.push(key);
    }
    if (written.length > 0) this.#logger.debug({ revision: snapshot.revision, written }, 'statuses written');
    return { revision: snapshot.revision, written };
  }

  /** Gauge and log lines for the conflicts of this pass. */
  #report(plans: Map<string, ServiceEntryStatusPlan>): void {
    const now = new Set<string>();
    this.metrics.tcpConflicts.reset();
    for (const plan of plans.values()) {
      for (const c of plan.lostPorts) {
        const id = `${plan.namespace}/${plan.name}/${c.port}`;
        now.add(id);
        this.metrics.tcpConflicts.set({ namespace: plan.namespace, name: plan.name, port: String(c.port) }, 1);
        if (this.#knownConflicts.has(id)) continue;
        this.#knownConflicts.add(id);
        this.#logger.warn(
          {
            serviceEntry: `${plan.namespace}/${plan.name}`,
            port: c.port,
            winner: `${c.winner.namespace}/${c.winner.name}`,
          },
          `shared-port TCP conflict: ServiceEntry ${plan.namespace}/${plan.name} loses port ${c.port} to the older ServiceEntry ${c.winner.namespace}/${c.winner.name}; its connections on that port fall to the outbound policy`,
        );
      }
    }
    for (const id of [...this.#knownConflicts]) {
      if (now.has(id)) continue;
      this.#knownConflicts.delete(id);
      this.#logger.info({ conflict: id }, 'shared-port TCP conflict resolved');
    }
  }

  /** Writes the entry's status if it differs; retries resourceVersion conflicts. True if written. */
  async #write(entry: StoredObject, plan: ServiceEntryStatusPlan): Promise<boolean> {
    let current: StoredObject = entry;
    for (let attempt = 1; ; attempt++) {
      const status = nextServiceEntryStatus(current.status, plan, timestamp);
      if (sameJson(status ?? {}, current.status ?? {})) return false;
      const next: Resource = { ...current, metadata: { ...current.metadata } };
      if (status) next.status = status;
      else delete next.status;
      try {
        await this.#store.update(next);
        return true;
      } catch (err) {
        const code = err instanceof StoreError ? err.code : undefined;
        if (code === 'NotFound' || this.#closed) return false;
        if (code !== 'Conflict' || attempt >= MAX_WRITE_ATTEMPTS) throw err;
      }
      const fresh = await this.#store.get({
        kind: 'ServiceEntry',
        namespace: current.metadata.namespace,
        name: current.metadata.name,
      });
      // Gone, or its spec changed since the plan was made: the next pass (the watch saw it) decides.
      if (!fresh || fresh.metadata.generation !== current.metadata.generation) return false;
      current = fresh;
    }
  }

  /** Stops following changes and waits for a running pass. Idempotent. */
  async close(): Promise<void> {
    this.#closed = true;
    this.#unsubscribe?.();
    this.#unsubscribe = undefined;
    clearTimeout(this.#timer);
    this.#timer = undefined;
    await this.#running;
    for (const w of this.#idleWaiters.splice(0)) w();
  }

  /** Stops at once; a write already sent to the store may still land. Idempotent. */
  destroy(): void {
    void this.close();
  }
}
