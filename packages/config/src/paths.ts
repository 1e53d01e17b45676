/**
 * Field paths as findings print them: `spec.ports[1].protocol`, `metadata.labels["app.kubernetes.io/name"]`.
 */

const PLAIN_KEY = /^[A-Za-z_$][\w$-]*$/;

/** The path of `key` below `base` ("" is the document root). */
export function childPath(base: string, key: string | number): string {
  if (typeof key === 'number') return `${base}[${key}]`;
  if (PLAIN_KEY.test(key)) return base === '' ? key : `${base}.${key}`;
  return `${base}[${JSON.stringify(key)}]`;
}

/** The path one level up (`spec.ports[1]` → `spec.ports`), or undefined at the root. */
export function parentPath(path: string): string | undefined {
  if (path === '') return undefined;
  if (path.endsWith(']')) {
    // Either `[3]` or `["key"]`: find the matching `[` outside a quoted key.
    const open = path.endsWith('"]') ? path.lastIndexOf('["') : path.lastIndexOf('[');
    if (open >= 0) return path.slice(0, open);
  }
  const dot = path.lastIndexOf('.');
  return dot < 0 ? '' : path.slice(0, dot);
}
