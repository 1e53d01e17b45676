/** GET of one object, list (limit/continue, label and field selectors), and watch streams. */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Store, StoredObject, WatchEventType } from '@sluice/store';
import type { Logger } from 'pino';
import { type FieldSelector, parseFieldSelector } from './field-selector.js';
import { includeObjectParam, wantsTable } from './negotiation.js';
import { toExternal } from './objects.js';
import { sendJson } from './respond.js';
import { apiVersionOf, type ResourceTarget } from './routes.js';
import { ApiError, errors } from './status.js';
import { fromStoreError, fromStoreReadError } from './store-errors.js';
import { buildTable } from './table.js';

export interface ReadCall {
  req: IncomingMessage;
  res: ServerResponse;
  url: URL;
  target: ResourceTarget;
}

const keyOf = (o: StoredObject) => `${o.metadata.namespace}/${o.metadata.name}`;
const byKey = (a: StoredObject, b: StoredObject) => (keyOf(a) < keyOf(b) ? -1 : keyOf(a) > keyOf(b) ? 1 : 0);

interface ContinueToken {
  rv: string;
  after: string;
}

function encodeContinue(t: ContinueToken): string {
  return Buffer.from(JSON.stringify(t)).toString('base64url');
}

function decodeContinue(text: string): ContinueToken {
  try {
    const t = JSON.parse(Buffer.from(text, 'base64url').toString('utf8')) as ContinueToken;
    if (typeof t.rv === 'string' && typeof t.after === 'string') return t;
  } catch {
    // fall through
  }
  throw errors.badRequest('continue key is not valid: it was not issued by this server');
}

function parseLimit(url: URL): number | undefined {
  const raw = url.searchParams.get('limit');
  if (raw === null || raw === '' || raw === '0') return undefined;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < 0) throw errors.badRequest(`limit must be a non-negative integer (got "${raw}")`);
  return n;
}

async function listSelected(store: Store, call: ReadCall, select: FieldSelector) {
  const { target, url } = call;
  const labelSelector = url.searchParams.get('labelSelector') || undefined;
  const opts: { kind: string; namespace?: string; labelSelector?: string } = { kind: target.kind.kind };
  if (target.kind.namespaced && target.namespace !== undefined) opts.namespace = target.namespace;
  if (labelSelector) opts.labelSelector = labelSelector;
  try {
    const result = await store.list(opts);
    return { items: result.items.filter(select).sort(byKey), revision: result.revision };
  } catch (err) {
    throw fromStoreError(err, target, '');
  }
}

export async function getObject(store: Store, call: ReadCall): Promise<void> {
  const { target } = call;
  const name = target.name!;
  let obj: StoredObject | undefined;
  try {
    obj = await store.get({ kind: target.kind.kind, namespace: target.kind.namespaced ? target.namespace! : '', name });
  } catch (err) {
    throw fromStoreReadError(err, target, name);
  }
  if (!obj) throw errors.notFound(target.kind.plural, target.kind.group, name);
  const ext = toExternal(obj, target);
  if (wantsTable(call.req)) {
    sendJson(
      call.res,
      200,
      buildTable(target.kind, [ext], {
        includeObject: includeObjectParam(call.url),
        resourceVersion: obj.metadata.resourceVersion,
      }),
    );
    return;
  }
  sendJson(call.res, 200, ext);
}

export async function listObjects(store: Store, call: ReadCall): Promise<void> {
  const { target, url } = call;
  const select = parseFieldSelector(url.searchParams.get('fieldSelector'));
  const limit = parseLimit(url);
  const includeObject = includeObjectParam(url);
  const continueText = url.searchParams.get('continue');
  const cont = continueText ? decodeContinue(continueText) : undefined;
  const { items, revision } = await listSelected(store, call, select);
  let page = cont ? items.filter((o) => keyOf(o) > cont.after) : items;
  let next = '';
  const remaining = limit !== undefined && page.length > limit ? page.length - limit : 0;
  if (limit !== undefined && page.length > limit) {
    page = page.slice(0, limit);
    next = encodeContinue({ rv: cont?.rv ?? revision, after: keyOf(page[page.length - 1]!) });
  }
  const listRv = cont?.rv ?? revision;
  const external = page.map((o) => toExternal(o, target));
  if (wantsTable(call.req)) {
    sendJson(
      call.res,
      200,
      buildTable(target.kind, external, { includeObject, resourceVersion: listRv, continueToken: next }),
    );
    return;
  }
  const metadata: Record<string, unknown> = { resourceVersion: listRv };
  if (next) {
    metadata['continue'] = next;
    metadata['remainingItemCount'] = remaining;
  }
  sendJson(call.res, 200, {
    apiVersion: apiVersionOf(target.kind, target.version),
    kind: `${target.kind.kind}List`,
    metadata,
    items: external,
  });
}

/** Open watch responses, so shutdown can end them. */
export type WatchRegistry = Set<ServerResponse>;

/**
 * Streams `{"type","object"}` lines. Without a resourceVersion (or with "0") the current state is
 * sent first as ADDED events. A version older than the store's history gets an ERROR event (410).
 */
export async function watchObjects(store: Store, call: ReadCall, registry: WatchRegistry, log: Logger): Promise<void> {
  const { target, url, req, res } = call;
  const select = parseFieldSelector(url.searchParams.get('fieldSelector'));
  const table = wantsTable(req);
  const includeObject = includeObjectParam(url);
  const rv = url.searchParams.get('resourceVersion') ?? '';
  const timeoutRaw = url.searchParams.get('timeoutSeconds');
  const timeoutSeconds = timeoutRaw ? Number(timeoutRaw) : 0;
  if (!Number.isFinite(timeoutSeconds) || timeoutSeconds < 0)
    throw errors.badRequest('timeoutSeconds must be a number');
  const labelSelector = url.searchParams.get('labelSelector') || undefined;

  let initial: StoredObject[] = [];
  let from = rv;
  if (rv === '' || rv === '0') {
    const listed = await listSelected(store, call, select);
    initial = listed.items;
    from = listed.revision;
  } else if (!/^\d+$/.test(rv)) {
    throw errors.badRequest(`resourceVersion must be a number (got "${rv}")`);
  }

  if (res.destroyed || req.destroyed) return;
  res.writeHead(200, {
    'content-type': 'application/json',
    'cache-control': 'no-cache, private',
    'transfer-encoding': 'chunked',
  });
  res.flushHeaders();
  registry.add(res);

  let first = true;
  const send = (type: WatchEventType | 'ERROR', object: unknown) => {
    if (res.writableEnded || res.destroyed) return;
    res.write(`${JSON.stringify({ type, object })}\n`);
  };
  const sendObject = (type: WatchEventType, obj: StoredObject) => {
    const ext = toExternal(obj, target);
    if (!table) return send(type, ext);
    send(
      type,
      buildTable(target.kind, [ext], {
        includeObject,
        omitColumns: !first,
        resourceVersion: obj.metadata.resourceVersion,
      }),
    );
    first = false;
  };

  let timer: NodeJS.Timeout | undefined;
  let watcher: { close(): void } | undefined;
  const finish = () => {
    if (timer) clearTimeout(timer);
    watcher?.close();
    registry.delete(res);
    if (!res.writableEnded) res.end();
  };
  req.on('close', finish);
  res.on('close', finish);

  for (const o of initial) sendObject('ADDED', o);
  const opts: { kind: string; namespace?: string; labelSelector?: string; fromRevision: string } = {
    kind: target.kind.kind,
    fromRevision: from,
  };
  if (target.kind.namespaced && target.namespace !== undefined) opts.namespace = target.namespace;
  if (labelSelector) opts.labelSelector = labelSelector;
  try {
    watcher = store.watch(
      opts,
      (e) => {
        if (select(e.object)) sendObject(e.type, e.object);
      },
      (err) => {
        const apiErr = fromStoreError(err, target, '');
        log.debug({ err: apiErr.message, kind: target.kind.kind }, 'watch ended by the store');
        send('ERROR', apiErr.toStatus());
        finish();
      },
    );
  } catch (err) {
    const apiErr = err instanceof ApiError ? err : fromStoreError(err, target, '');
    send('ERROR', apiErr.toStatus());
    finish();
    return;
  }
  if (timeoutSeconds > 0) timer = setTimeout(finish, timeoutSeconds * 1000);
}
