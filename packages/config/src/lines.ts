/**
 * Source lines of field paths. Each parsed resource has a path → line table kept outside the
 * object (a WeakMap), so the resource itself stays plain JSON data.
 */
import { parentPath } from './paths.js';
import type { Resource } from './resource.js';

/**
 * A line table computed on first use (by reading the document's text again), so that parsing
 * many documents pays for the tables of only those a finding points into.
 */
export class DeferredLineTable {
  private table: ReadonlyMap<string, number> | undefined;
  private compute: (() => ReadonlyMap<string, number>) | undefined;

  constructor(compute: () => ReadonlyMap<string, number>) {
    this.compute = compute;
  }

  resolve(): ReadonlyMap<string, number> {
    if (this.table === undefined) {
      this.table = this.compute?.() ?? new Map();
      this.compute = undefined;
    }
    return this.table;
  }
}

/** A path → line table, or one to be computed when first read. */
export type LineTable = ReadonlyMap<string, number> | DeferredLineTable;

export function resolveLineTable(table: LineTable): ReadonlyMap<string, number> {
  return table instanceof DeferredLineTable ? table.resolve() : table;
}

const lineTables = new WeakMap<object, LineTable>();

/** Attaches a path → line table to a resource (the parser does this; copies may reuse it). */
export function setLineTable(resource: object, table: LineTable): void {
  lineTables.set(resource, table);
}

/** Copies the line table of `from` onto `to` (for normalised copies of a parsed resource). */
export function copyLineTable(from: object, to: object): void {
  const table = lineTables.get(from);
  if (table) lineTables.set(to, table);
}

/**
 * The 1-based line of a field path like `spec.ports[1].protocol` in the resource's source. A path
 * that is not written in the source (a missing field) gets the line of its nearest written ancestor.
 * Undefined when the resource did not come from the parser.
 */
export function lineOf(resource: Resource | object, path: string): number | undefined {
  const stored = lineTables.get(resource);
  if (!stored) return undefined;
  const table = resolveLineTable(stored);
  for (let p: string | undefined = path; p !== undefined; p = parentPath(p)) {
    const line = table.get(p);
    if (line !== undefined) return line;
  }
  return undefined;
}
