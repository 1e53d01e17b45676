/** Typed reads of unvalidated data: a value of the wrong type reads as absent (the schema reports it). */

export type Obj = Record<string, unknown>;

export function isObj(v: unknown): v is Obj {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}
export function objAt(o: unknown, key: string): Obj | undefined {
  const v = isObj(o) ? o[key] : undefined;
  return isObj(v) ? v : undefined;
}
export function listAt(o: unknown, key: string): unknown[] {
  const v = isObj(o) ? o[key] : undefined;
  return Array.isArray(v) ? v : [];
}
export function strAt(o: unknown, key: string): string | undefined {
  const v = isObj(o) ? o[key] : undefined;
  return typeof v === 'string' ? v : undefined;
}
export function numAt(o: unknown, key: string): number | undefined {
  const v = isObj(o) ? o[key] : undefined;
  return typeof v === 'number' && Number.isFinite(v) ? v : undefined;
}
export function strings(list: unknown[]): [string, number][] {
  const out: [string, number][] = [];
  list.forEach((v, i) => {
    if (typeof v === 'string') out.push([v, i]);
  });
  return out;
}
