/**
 * Everything the control plane stores, read back the way a client would: a list of every kind it
 * serves, across namespaces. Two snapshots are equal when nothing was created, changed or deleted.
 */
import { KINDS } from '@sluice/config';
import type { ApiClient } from './api-client.js';

/** `Kind namespace/name@resourceVersion`, sorted: one line per stored object. */
export async function storedObjects(client: ApiClient): Promise<string[]> {
  const lines: string[] = [];
  for (const kind of KINDS) {
    const version = kind.versions[0]!;
    const path = kind.group ? `/apis/${kind.group}/${version}/${kind.plural}` : `/api/${version}/${kind.plural}`;
    const r = await client.request('GET', path);
    if (r.status !== 200) throw new Error(`listing ${path} failed: ${r.status} ${r.text.slice(0, 200)}`);
    for (const o of r.json.items as { metadata: { namespace?: string; name: string; resourceVersion: string } }[])
      lines.push(`${kind.kind} ${o.metadata.namespace ?? ''}/${o.metadata.name}@${o.metadata.resourceVersion}`);
  }
  return lines.sort();
}

/** What changed between two snapshots: objects added, and objects removed or modified. */
export function snapshotDiff(before: string[], after: string[]): { added: string[]; lost: string[] } {
  const b = new Set(before);
  const a = new Set(after);
  return { added: after.filter((x) => !b.has(x)), lost: before.filter((x) => !a.has(x)) };
}
