/**
 * The embedded backend: one SQLite file (WAL, synchronous=FULL) holding the objects, a global
 * revision counter and a bounded event log that watchers read. Several processes may open the
 * same file: writes serialize on SQLite's write lock, and each store polls the log for commits
 * made by other connections.
 */
import type { Resource } from '@sluice/config';
import { openSqliteDatabase, type SqliteDatabase, type SqliteStatement } from './sqlite-driver.js';
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
  type WatchEventType,
  type Watcher,
  type WatchOptions,
} from './types.js';

export interface SqliteStoreOptions {
  /** Events kept for watchers; older ones are compacted (watching from before them is Gone). Default 10,000. */
  historyLimit?: number;
  /** How often to look for commits made by other processes, in ms. Default 25. */
  pollIntervalMs?: number;
  /** How long a write waits for another process's write lock before failing Unavailable, in ms. Default 5,000. */
  busyTimeoutMs?: number;
}

const SCHEMA = `
CREATE TABLE IF NOT EXISTS store_meta (key TEXT PRIMARY KEY, value INTEGER NOT NULL);
INSERT OR IGNORE INTO store_meta (key, value) VALUES ('schema', 1), ('revision', 0), ('compacted', 0);
CREATE TABLE IF NOT EXISTS objects (
  kind TEXT NOT NULL, namespace TEXT NOT NULL, name TEXT NOT NULL,
  json TEXT NOT NULL, revision INTEGER NOT NULL,
  PRIMARY KEY (kind, namespace, name)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS events (
  revision INTEGER PRIMARY KEY, type TEXT NOT NULL,
  kind TEXT NOT NULL, namespace TEXT NOT NULL, name TEXT NOT NULL,
  json TEXT NOT NULL, prev_labels TEXT
);
`;

interface EventRow {
  revision: number;
  type: WatchEventType;
  json: string;
  prev_labels: string | null;
}

interface WatchState {
  cursor: number;
  filter: ObjectFilter;
  onEvent: (e: WatchEvent) => void;
  onError: (err: Error) => void;
  closed: boolean;
}

/** Events read per query while catching a watcher up. */
const BATCH = 500;
/** Events delivered to one watcher per turn of the event loop, so a long backlog cannot starve it. */
const TURN_LIMIT = 5000;

export class SqliteStore implements Store {
  readonly path: string;
  private readonly db: SqliteDatabase;
  private readonly historyLimit: number;
  private readonly compactSlack: number;
  private readonly pollIntervalMs: number;
  private readonly watchers = new Set<WatchState>();
  private readonly eventQueries = new Map<string, SqliteStatement<EventRow>>();
  private pollTimer: NodeJS.Timeout | undefined;
  private pumpScheduled = false;
  private dataVersion = -1;
  private closed = false;
  private readonly sql: {
    getObject: SqliteStatement<{ json: string }>;
    listKind: SqliteStatement<{ json: string }>;
    listNamespace: SqliteStatement<{ json: string }>;
    insertObject: SqliteStatement;
    updateObject: SqliteStatement;
    deleteObject: SqliteStatement;
    insertEvent: SqliteStatement;
    nextRevision: SqliteStatement<{ value: number }>;
    meta: SqliteStatement<{ value: number }>;
    setCompacted: SqliteStatement;
    compactEvents: SqliteStatement;
  };

  constructor(path: string, opts: SqliteStoreOptions = {}) {
    const historyLimit = opts.historyLimit ?? 10_000;
    if (!Number.isInteger(historyLimit) || historyLimit < 1) {
      throw new StoreError('Invalid', `historyLimit: ${historyLimit} must be a positive integer`);
    }
    this.path = path;
    this.historyLimit = historyLimit;
    this.compactSlack = Math.max(1, Math.floor(historyLimit / 10));
    this.pollIntervalMs = opts.pollIntervalMs ?? 25;
    if (!(this.pollIntervalMs >= 1))
      throw new StoreError('Invalid', `pollIntervalMs: ${opts.pollIntervalMs} must be at least 1`);
    try {
      this.db = openSqliteDatabase(path, { timeout: opts.busyTimeoutMs ?? 5000 });
    } catch (err) {
      throw new StoreError('Unavailable', `cannot open SQLite store ${path}: ${(err as Error).message}`);
    }
    try {
      this.db.pragma('journal_mode = WAL');
      this.db.pragma('synchronous = FULL');
      this.db.transaction(() => this.db.exec(SCHEMA)).immediate();
      this.sql = {
        getObject: this.db.prepare('SELECT json FROM objects WHERE kind = ? AND namespace = ? AND name = ?'),
        listKind: this.db.prepare('SELECT json FROM objects WHERE kind = ? ORDER BY namespace, name'),
        listNamespace: this.db.prepare('SELECT json FROM objects WHERE kind = ? AND namespace = ? ORDER BY name'),
        insertObject: this.db.prepare(
          'INSERT INTO objects (kind, namespace, name, json, revision) VALUES (?, ?, ?, ?, ?)',
        ),
        updateObject: this.db.prepare(
          'UPDATE objects SET json = ?, revision = ? WHERE kind = ? AND namespace = ? AND name = ?',
        ),
        deleteObject: this.db.prepare('DELETE FROM objects WHERE kind = ? AND namespace = ? AND name = ?'),
        insertEvent: this.db.prepare(
          'INSERT INTO events (revision, type, kind, namespace, name, json, prev_labels) VALUES (?, ?, ?, ?, ?, ?, ?)',
        ),
        nextRevision: this.db.prepare("UPDATE store_meta SET value = value + 1 WHERE key = 'revision' RETURNING value"),
        meta: this.db.prepare('SELECT value FROM store_meta WHERE key = ?'),
        setCompacted: this.db.prepare("UPDATE store_meta SET value = ? WHERE key = 'compacted'"),
        compactEvents: this.db.prepare('DELETE FROM events WHERE revision <= ?'),
      };
    } catch (err) {
      this.db.close();
      throw new StoreError('Unavailable', `cannot initialise SQLite store ${path}: ${(err as Error).message}`);
    }
  }

  async get(key: ResourceKey): Promise<StoredObject | undefined> {
    const k = checkKey(key);
    return this.run(() => {
      const row = this.sql.getObject.get(k.kind, k.namespace, k.name);
      return row ? (JSON.parse(row.json) as StoredObject) : undefined;
    });
  }

  async list(opts: ListOptions): Promise<ListResult> {
    const filter = compileFilter(opts);
    if (filter.kind === undefined) throw new StoreError('Invalid', 'kind: required to list');
    const kind = filter.kind;
    return this.run(() =>
      this.db
        .transaction(() => {
          const revision = this.metaValue('revision');
          const rows =
            filter.namespace === undefined
              ? this.sql.listKind.all(kind)
              : this.sql.listNamespace.all(kind, filter.namespace);
          const items: StoredObject[] = [];
          for (const row of rows) {
            const obj = JSON.parse(row.json) as StoredObject;
            if (filterEvent(filter, 'ADDED', obj, undefined, '') !== undefined) items.push(obj);
          }
          return { items, revision: String(revision) };
        })
        .deferred(),
    );
  }

  async create(obj: Resource): Promise<StoredObject> {
    const key = keyOfResource(obj);
    const json = this.write(() => {
      if (this.sql.getObject.get(key.kind, key.namespace, key.name)) {
        throw new StoreError('AlreadyExists', `${describeKey(key)} already exists`);
      }
      const rev = this.nextRevision();
      const stored = JSON.stringify(newStoredObject(obj, key, String(rev)));
      this.sql.insertObject.run(key.kind, key.namespace, key.name, stored, rev);
      this.sql.insertEvent.run(rev, 'ADDED', key.kind, key.namespace, key.name, stored, null);
      this.compactAfter(rev);
      return stored;
    });
    return JSON.parse(json) as StoredObject;
  }

  async update(obj: Resource): Promise<StoredObject> {
    const key = keyOfResource(obj);
    const json = this.write(() => {
      const row = this.sql.getObject.get(key.kind, key.namespace, key.name);
      if (!row) throw new StoreError('NotFound', `${describeKey(key)} not found`);
      const current = JSON.parse(row.json) as StoredObject;
      const unchanged = updatedStoredObject(current, obj, key, current.metadata.resourceVersion);
      if (sameStoredContent(unchanged, current)) return row.json;
      const rev = this.nextRevision();
      const stored = JSON.stringify(updatedStoredObject(current, obj, key, String(rev)));
      this.sql.updateObject.run(stored, rev, key.kind, key.namespace, key.name);
      const prevLabels = JSON.stringify(current.metadata.labels ?? {});
      this.sql.insertEvent.run(rev, 'MODIFIED', key.kind, key.namespace, key.name, stored, prevLabels);
      this.compactAfter(rev);
      return stored;
    });
    return JSON.parse(json) as StoredObject;
  }

  async delete(key: ResourceKey, opts: { resourceVersion?: string } = {}): Promise<StoredObject> {
    const k = checkKey(key);
    const json = this.write(() => {
      const row = this.sql.getObject.get(k.kind, k.namespace, k.name);
      if (!row) throw new StoreError('NotFound', `${describeKey(k)} not found`);
      const current = JSON.parse(row.json) as StoredObject;
      checkPreconditions(current, opts.resourceVersion);
      const rev = this.nextRevision();
      current.metadata.resourceVersion = String(rev);
      const stored = JSON.stringify(current);
      this.sql.deleteObject.run(k.kind, k.namespace, k.name);
      this.sql.insertEvent.run(rev, 'DELETED', k.kind, k.namespace, k.name, stored, null);
      this.compactAfter(rev);
      return stored;
    });
    return JSON.parse(json) as StoredObject;
  }

  watch(opts: WatchOptions, onEvent: (e: WatchEvent) => void, onError: (err: Error) => void): Watcher {
    if (this.closed) throw new StoreError('Unavailable', `SQLite store ${this.path} is closed`);
    const state: WatchState = {
      cursor: parseRevision('fromRevision', opts.fromRevision),
      filter: compileFilter(opts),
      onEvent,
      onError,
      closed: false,
    };
    this.watchers.add(state);
    this.startPolling();
    this.schedulePump();
    return {
      close: () => {
        state.closed = true;
        this.watchers.delete(state);
        if (this.watchers.size === 0) this.stopPolling();
      },
    };
  }

  async revision(): Promise<string> {
    return this.run(() => String(this.metaValue('revision')));
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.stopPolling();
    for (const w of this.watchers) w.closed = true;
    this.watchers.clear();
    this.db.close();
  }

  private metaValue(key: string): number {
    const row = this.sql.meta.get(key);
    if (!row) throw new StoreError('Unavailable', `SQLite store ${this.path}: store_meta.${key} is missing`);
    return row.value;
  }

  private nextRevision(): number {
    const row = this.sql.nextRevision.get();
    if (!row) throw new StoreError('Unavailable', `SQLite store ${this.path}: store_meta.revision is missing`);
    return row.value;
  }

  /** Drops the oldest events once more than historyLimit (plus a little slack) are kept. */
  private compactAfter(rev: number): void {
    const compacted = this.metaValue('compacted');
    if (rev - compacted < this.historyLimit + this.compactSlack) return;
    const upTo = rev - this.historyLimit;
    this.sql.compactEvents.run(upTo);
    this.sql.setCompacted.run(upTo);
  }

  private run<T>(fn: () => T): T {
    if (this.closed) throw new StoreError('Unavailable', `SQLite store ${this.path} is closed`);
    try {
      return fn();
    } catch (err) {
      if (err instanceof StoreError) throw err;
      throw new StoreError('Unavailable', `SQLite store ${this.path}: ${(err as Error).message}`);
    }
  }

  /** Runs `fn` in a write transaction (durable once it returns) and wakes local watchers. */
  private write<T>(fn: () => T): T {
    const result = this.run(() => this.db.transaction(fn).immediate());
    if (this.watchers.size > 0) this.schedulePump();
    return result;
  }

  private startPolling(): void {
    if (this.pollTimer) return;
    this.pollTimer = setInterval(() => {
      if (this.closed) return;
      let version: number;
      try {
        version = this.db.pragma('data_version', { simple: true }) as number;
      } catch {
        return; // a busy or failing file: try again on the next tick
      }
      if (version !== this.dataVersion) {
        this.dataVersion = version;
        this.schedulePump();
      }
    }, this.pollIntervalMs);
  }

  private stopPolling(): void {
    if (this.pollTimer) clearInterval(this.pollTimer);
    this.pollTimer = undefined;
  }

  private schedulePump(): void {
    if (this.pumpScheduled) return;
    this.pumpScheduled = true;
    setImmediate(() => {
      this.pumpScheduled = false;
      if (this.closed) return;
      for (const w of [...this.watchers]) this.catchUp(w);
    });
  }

  /** Delivers the events after the watcher's cursor, in revision order. */
  private catchUp(w: WatchState): void {
    let delivered = 0;
    while (!w.closed && delivered < TURN_LIMIT) {
      let batch: { head: number; compacted: number; rows: EventRow[] };
      try {
        batch = this.db.transaction(() => this.readEvents(w)).deferred();
      } catch {
        this.schedulePump(); // e.g. SQLITE_BUSY: retry soon; the cursor has not moved
        return;
      }
      if (w.cursor < batch.compacted) {
        this.endWatch(
          w,
          new StoreError(
            'Gone',
            `resource version too old: ${w.cursor} (history starts after ${batch.compacted}); relist and watch from the list revision`,
          ),
        );
        return;
      }
      for (const row of batch.rows) {
        w.cursor = row.revision;
        const prev = row.prev_labels === null ? undefined : (JSON.parse(row.prev_labels) as Record<string, string>);
        const ev = filterEvent(w.filter, row.type, JSON.parse(row.json) as StoredObject, prev, String(row.revision));
        if (ev === undefined) continue;
        delivered++;
        try {
          w.onEvent(ev);
        } catch (err) {
          this.endWatch(w, err as Error);
          return;
        }
        if (w.closed) return;
      }
      if (batch.rows.length < BATCH) {
        if (batch.head > w.cursor) w.cursor = batch.head;
        return;
      }
    }
    if (!w.closed) this.schedulePump();
  }

  private readEvents(w: WatchState): { head: number; compacted: number; rows: EventRow[] } {
    const head = this.metaValue('revision');
    const compacted = this.metaValue('compacted');
    let sql = 'SELECT revision, type, json, prev_labels FROM events WHERE revision > ? AND revision <= ?';
    const params: unknown[] = [w.cursor, head];
    if (w.filter.kind !== undefined) {
      sql += ' AND kind = ?';
      params.push(w.filter.kind);
    }
    if (w.filter.namespace !== undefined) {
      sql += ' AND namespace = ?';
      params.push(w.filter.namespace);
    }
    sql += ` ORDER BY revision LIMIT ${BATCH}`;
    let stmt = this.eventQueries.get(sql);
    if (!stmt) {
      stmt = this.db.prepare<EventRow>(sql);
      this.eventQueries.set(sql, stmt);
    }
    return { head, compacted, rows: stmt.all(...params) };
  }

  private endWatch(w: WatchState, err: Error): void {
    w.closed = true;
    this.watchers.delete(w);
    if (this.watchers.size === 0) this.stopPolling();
    try {
      w.onError(err);
    } catch {
      // the watcher's own error handler failed; nothing else to tell it
    }
  }
}

/** Opens (creating if needed) the SQLite store at `path`. Throws StoreError('Unavailable') if the file cannot be used. */
export function openSqliteStore(path: string, opts?: SqliteStoreOptions): SqliteStore {
  return new SqliteStore(path, opts);
}
