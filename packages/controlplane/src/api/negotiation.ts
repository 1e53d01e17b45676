/** What representation a request asks for: a plain object/list, or a server-side Table. */
import type { IncomingMessage } from 'node:http';
import { errors } from './status.js';
import type { IncludeObject } from './table.js';

export function wantsTable(req: IncomingMessage): boolean {
  const accept = req.headers.accept ?? '';
  return accept.split(',').some((part) => {
    const params = part.split(';').map((p) => p.trim());
    return params.includes('as=Table') && params.some((p) => p === 'g=meta.k8s.io');
  });
}

export function includeObjectParam(url: URL): IncludeObject {
  const v = url.searchParams.get('includeObject');
  if (v === null || v === '' || v === 'Metadata') return 'Metadata';
  if (v === 'Object' || v === 'None') return v;
  throw errors.badRequest(`includeObject must be one of None, Metadata, Object (got "${v}")`);
}

/** `dryRun=All` (the only value Kubernetes defines); anything else is refused. */
export function isDryRun(url: URL): boolean {
  const values = url.searchParams.getAll('dryRun');
  if (values.length === 0) return false;
  for (const v of values) if (v !== 'All') throw errors.badRequest(`dryRun must be "All" (got "${v}")`);
  return true;
}
