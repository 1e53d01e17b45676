/**
 * The slice of better-sqlite3 v12 the SQLite backend uses, typed here (the package ships no
 * types) and loaded through createRequire so no ambient module declaration leaks to other packages.
 */
import { createRequire } from 'node:module';

export interface SqliteRunResult {
  changes: number;
  lastInsertRowid: number | bigint;
}

export interface SqliteStatement<Row = unknown> {
  run(...params: unknown[]): SqliteRunResult;
  get(...params: unknown[]): Row | undefined;
  all(...params: unknown[]): Row[];
}

export interface SqliteTransaction<A extends unknown[], R> {
  (...args: A): R;
  deferred(...args: A): R;
  immediate(...args: A): R;
  exclusive(...args: A): R;
}

export interface SqliteDatabase {
  readonly open: boolean;
  prepare<Row = unknown>(sql: string): SqliteStatement<Row>;
  exec(sql: string): this;
  pragma(source: string, options?: { simple?: boolean }): unknown;
  transaction<A extends unknown[], R>(fn: (...args: A) => R): SqliteTransaction<A, R>;
  close(): this;
}

export interface SqliteOpenOptions {
  readonly?: boolean;
  fileMustExist?: boolean;
  /** Milliseconds to wait for another connection's lock before SQLITE_BUSY. */
  timeout?: number;
}

type SqliteConstructor = new (filename: string, options?: SqliteOpenOptions) => SqliteDatabase;

const require = createRequire(import.meta.url);

/** Opens a better-sqlite3 connection. */
export function openSqliteDatabase(path: string, options?: SqliteOpenOptions): SqliteDatabase {
  const Database = require('better-sqlite3') as SqliteConstructor;
  return new Database(path, options);
}
