/**
 * Encoding of generated resources for the wire, done once per resource object and shared by every
 * stream and every response that carries it: each resource becomes an `Any` with a content hash,
 * plus its ready-made `resources` field bytes for a DiscoveryResponse and for a
 * DeltaDiscoveryResponse. A response body is the concatenation of those shared buffers, built once
 * per version (state of the world) or per change set (delta); a push cycle stamps it once with its
 * nonce and gRPC framing, and every stream sent that response in the cycle writes the same buffer.
 * Versions are content hashes, so equal content means equal version.
 */
import { createHash } from 'node:crypto';
import { type AnyMessage, encodeResource, TypeUrl } from '@sluice/xds';
import type { EnvoyObject, GeneratedResources, NamedEnvoyResource, NameTable } from '../translate/types.js';
import { grpcFrame } from './grpc-transport.js';
import { resourcesOfType, type ServedTypeUrl } from './resource-types.js';
import { anyBytes, bytesField, stringField, stringsField } from './wire.js';

export interface EncodedItem {
  readonly name: string;
  readonly json: EnvoyObject;
  readonly any: AnyMessage;
  /** Content hash: the resource's version in delta responses. */
  readonly hash: string;
  /** `resources` field (2) of a DiscoveryResponse carrying this resource. */
  sotwField(): Buffer;
  /** `resources` field (2) of a DeltaDiscoveryResponse: a Resource {name, version, resource}. */
  deltaField(): Buffer;
}

/** One version of one type for one subscription: what a response carries. */
export interface EncodedSelection {
  version: string;
  items: EncodedItem[];
  /** name → item, built on first use. */
  byName?: Map<string, EncodedItem>;
  /** Serialized DiscoveryResponse without nonce; created on first send. */
  body?: Buffer;
  /** The framed body with the nonce of the current push cycle, shared by every stream sent it in that cycle. */
  stamped?: { nonce: string; bytes: Buffer };
  /** Delta change sets from a previous selection's version to this one, shared by streams. */
  deltas?: Map<string, DeltaChange>;
  /** Whether `items` are in strictly ascending name order (checked on first use). */
  sorted?: boolean;
}

/** What a delta response carries: resources added or changed, names removed, and its shared bytes. */
export interface DeltaChange {
  updated: EncodedItem[];
  removed: string[];
  /** Serialized DeltaDiscoveryResponse without nonce. */
  body?: Buffer;
  stamped?: { nonce: string; bytes: Buffer };
}

class Encoded {
  #sotw: Buffer | undefined;
  #delta: Buffer | undefined;
  constructor(
    readonly name: string,
    readonly any: AnyMessage,
    readonly hash: string,
  ) {}

  sotwField(): Buffer {
    this.#sotw ??= bytesField(2, anyBytes(this.any.type_url, this.any.value));
    return this.#sotw;
  }

  deltaField(): Buffer {
    this.#delta ??= bytesField(
      2,
      Buffer.concat([
        stringField(3, this.name),
        stringField(1, this.hash),
        bytesField(2, anyBytes(this.any.type_url, this.any.value)),
      ]),
    );
    return this.#delta;
  }
}

/** Same object → same encoding (proxies and snapshots share unchanged objects). */
const byIdentity = new WeakMap<object, Encoded>();
/**
 * Same content → same encoding across snapshots, for objects built anew with unchanged content.
 * Two generations: entries not used since the previous {@link rotateEncodingCache} are dropped.
 */
let byContent = new Map<string, Encoded>();
let byContentPrevious = new Map<string, Encoded>();
/**
 * One host of a NameTable, as a NameTable of its own (the bytes are exactly that host's map entry,
 * so the full table is the concatenation of its hosts). Cached by content, two generations.
 */
let hostEntries = new Map<string, Encoded>();
let hostEntriesPrevious = new Map<string, Encoded>();

/**
 * Selections by version, made since the previous {@link rotateEncodingCache} and the one before:
 * what a delta stream holds, when it holds exactly a selection, so its change to the next one can be
 * found by walking both in name order. A version is a digest of the names and hashes it carries.
 */
let selections = new Map<string, EncodedSelection>();
let selectionsPrevious = new Map<string, EncodedSelection>();

/** A recent selection of `version`, if one is known. */
export function selectionOfVersion(version: string): EncodedSelection | undefined {
  return selections.get(version) ?? selectionsPrevious.get(version);
}

/** Whether a selection's items are in strictly ascending name order (computed once). */
export function sortedByName(sel: EncodedSelection): boolean {
  if (sel.sorted === undefined) {
    let ok = true;
    for (let i = 1; i < sel.items.length && ok; i++) ok = sel.items[i - 1]!.name < sel.items[i]!.name;
    sel.sorted = ok;
  }
  return sel.sorted;
}

/** Starts a new cache generation; call once per processed snapshot. */
export function rotateEncodingCache(): void {
  selectionsPrevious = selections;
  selections = new Map();
  byContentPrevious = byContent;
  byContent = new Map();
  hostEntriesPrevious = hostEntries;
  hostEntries = new Map();
}

function contentHash(value: Uint8Array): string {
  return createHash('sha256').update(value).digest('base64url').slice(0, 22);
}

/** NameTable.NameInfo {ips 1, registry 2, shortname 3, namespace 4, alt_hosts 5}. */
function nameInfoBytes(info: NameTable['table'][string]): Buffer {
  return Buffer.concat([
    stringsField(1, info.ips),
    stringField(2, info.registry),
    stringField(3, info.shortname),
    stringField(4, info.namespace),
    stringsField(5, info.alt_hosts),
  ]);
}

/** Host entries by entry object: the translation keeps an unchanged host's object across snapshots. */
const hostEntriesByObject = new WeakMap<object, { host: string; enc: Encoded }>();

function hostEntry(host: string, info: NameTable['table'][string]): Encoded {
  const known = hostEntriesByObject.get(info);
  if (known?.host === host) return known.enc;
  const enc = hostEntryByContent(host, info);
  hostEntriesByObject.set(info, { host, enc });
  return enc;
}

function hostEntryByContent(host: string, info: NameTable['table'][string]): Encoded {
  const key = `${host}\0${JSON.stringify(info)}`;
  let enc = hostEntries.get(key) ?? hostEntriesPrevious.get(key);
  if (!enc) {
    const value = bytesField(1, Buffer.concat([stringField(1, host), bytesField(2, nameInfoBytes(info))]));
    enc = new Encoded(host, { type_url: TypeUrl.NameTable, value }, contentHash(value));
  }
  hostEntries.set(key, enc);
  return enc;
}

function nameTableAny(table: NameTable): AnyMessage {
  const parts: Buffer[] = [];
  for (const [host, info] of Object.entries(table.table)) parts.push(hostEntry(host, info).any.value as Buffer);
  return { type_url: TypeUrl.NameTable, value: Buffer.concat(parts) };
}

function encodeCached(typeUrl: ServedTypeUrl, name: string, json: EnvoyObject): Encoded {
  const known = byIdentity.get(json);
  if (known) return known;
  let enc: Encoded | undefined;
  if (typeUrl === TypeUrl.NameTable) {
    const any = nameTableAny(json as unknown as NameTable);
    enc = new Encoded(name, any, contentHash(any.value));
  } else {
    const key = typeUrl + JSON.stringify(json);
    enc = byContent.get(key) ?? byContentPrevious.get(key);
    if (!enc) {
      const any = encodeResource(typeUrl, json);
      enc = new Encoded(name, any, contentHash(any.value));
    }
    byContent.set(key, enc);
  }
  byIdentity.set(json, enc);
  return enc;
}

interface TypeEncoding {
  items: EncodedItem[];
  byName?: Map<string, EncodedItem>;
  selections: Map<string, EncodedSelection>;
  /** When `items` are a few own items merged into a shared encoding: both, for the version. */
  split?: { own: EncodedItem[]; shared: SharedEncoding };
}

/** The encoding of an array that proxy shapes share, and the digest of its names and hashes. */
interface SharedEncoding {
  items: EncodedItem[];
  digest?: string;
}

/** Encodings of shared arrays (GeneratedResources.parts), once per array object. */
const sharedCache = new WeakMap<object, SharedEncoding>();

function sharedEncoding(typeUrl: ServedTypeUrl, arr: readonly NamedEnvoyResource[]): SharedEncoding {
  let enc = sharedCache.get(arr);
  if (!enc) {
    enc = { items: arr.map((r) => itemFor(typeUrl, r.name, r)) };
    sharedCache.set(arr, enc);
  }
  return enc;
}

function digestOf(items: readonly EncodedItem[]): string {
  const h = createHash('sha256');
  let text = '';
  for (const i of items) {
    text += `${i.name}\0${i.hash}\0`;
    if (text.length > 16384) {
      h.update(text);
      text = '';
    }
  }
  return h.update(text).digest('base64url');
}

/** `own` merged into `shared` by name (both sorted; on equal names `own` first), as the translation merges them. */
function mergeItems(own: readonly EncodedItem[], shared: readonly EncodedItem[]): EncodedItem[] {
  const out: EncodedItem[] = [];
  let i = 0;
  for (const item of shared) {
    while (i < own.length && own[i]!.name <= item.name) out.push(own[i++]!);
    out.push(item);
  }
  while (i < own.length) out.push(own[i++]!);
  return out;
}

/**
 * Encodings keyed by the generated array (or name table) they come from, so an array that proxy
 * shapes share (routes, endpoints, name table) is encoded once per snapshot, not once per shape.
 */
const cache = new WeakMap<object, TypeEncoding>();
/** The NameTable split per host, for delta streams. */
const byHostCache = new WeakMap<object, TypeEncoding>();
/** One item per generated object, shared by every set that holds the object. */
const itemsByJson = new WeakMap<object, Item>();

function sourceOf(g: GeneratedResources, typeUrl: ServedTypeUrl): object {
  switch (typeUrl) {
    case TypeUrl.Cluster:
      return g.clusters;
    case TypeUrl.Listener:
      return g.listeners;
    case TypeUrl.RouteConfiguration:
      return g.routes;
    case TypeUrl.ClusterLoadAssignment:
      return g.endpoints;
    case TypeUrl.NameTable:
      return g.nameTable;
  }
}

/** A resource of one generated set with its shared encoding. */
class Item implements EncodedItem {
  constructor(
    readonly name: string,
    readonly json: EnvoyObject,
    readonly enc: Encoded,
  ) {}

  get any(): AnyMessage {
    return this.enc.any;
  }

  get hash(): string {
    return this.enc.hash;
  }

  sotwField(): Buffer {
    return this.enc.sotwField();
  }

  deltaField(): Buffer {
    return this.enc.deltaField();
  }
}

function itemFor(typeUrl: ServedTypeUrl, name: string, json: EnvoyObject): Item {
  let it = itemsByJson.get(json);
  if (!it) {
    it = new Item(name, json, encodeCached(typeUrl, name, json));
    itemsByJson.set(json, it);
  }
  return it;
}

function encodeType(g: GeneratedResources, typeUrl: ServedTypeUrl): TypeEncoding {
  const src = sourceOf(g, typeUrl);
  const found = cache.get(src);
  if (found) return found;
  const parts =
    typeUrl === TypeUrl.Listener ? g.parts?.listeners : typeUrl === TypeUrl.Cluster ? g.parts?.clusters : undefined;
  if (parts) {
    const shared = sharedEncoding(typeUrl, parts.shared);
    const own = parts.own.map((r) => itemFor(typeUrl, r.name, r));
    const enc: TypeEncoding = { items: mergeItems(own, shared.items), selections: new Map(), split: { own, shared } };
    cache.set(src, enc);
    return enc;
  }
  const items: EncodedItem[] = [];
  for (const { name, json } of resourcesOfType(g, typeUrl)) items.push(itemFor(typeUrl, name, json));
  const enc: TypeEncoding = { items, selections: new Map() };
  cache.set(src, enc);
  return enc;
}

/** Per-host items of the split name table, by the host's entry object. */
const hostItems = new WeakMap<object, Item>();

/** The name table as one NameTable resource per host, named by the host (delta streams). */
function encodeNameTableByHost(g: GeneratedResources): TypeEncoding {
  const found = byHostCache.get(g.nameTable);
  if (found) return found;
  const items: EncodedItem[] = [];
  for (const [host, info] of Object.entries(g.nameTable.table)) {
    // The translation keeps an unchanged host's entry object across snapshots: so is its item.
    let item = hostItems.get(info);
    if (item?.name !== host) {
      item = new Item(host, { table: { [host]: info } }, hostEntry(host, info));
      hostItems.set(info, item);
    }
    items.push(item);
  }
  const enc: TypeEncoding = { items, selections: new Map() };
  byHostCache.set(g.nameTable, enc);
  return enc;
}

function byNameOf(enc: TypeEncoding): Map<string, EncodedItem> {
  enc.byName ??= new Map(enc.items.map((i) => [i.name, i]));
  return enc.byName;
}

/**
 * The resources of a type for a subscription (`names` undefined = all) and their version.
 * `opts.key`, when given, must be `JSON.stringify` of the sorted names (callers that keep it save
 * recomputing it). Throws the codec's error if a generated resource does not encode.
 */
export function selectEncoded(
  g: GeneratedResources,
  typeUrl: ServedTypeUrl,
  names: readonly string[] | undefined,
  opts: { nameTableByHost?: boolean; key?: string | undefined } = {},
): EncodedSelection {
  const enc = opts.nameTableByHost && typeUrl === TypeUrl.NameTable ? encodeNameTableByHost(g) : encodeType(g, typeUrl);
  const key = names ? (opts.key ?? JSON.stringify([...names].sort())) : '*';
  const found = enc.selections.get(key);
  if (found) return found;
  const byName = names ? byNameOf(enc) : undefined;
  const items = byName ? [...new Set(names)].sort().flatMap((n) => byName.get(n) ?? []) : enc.items;
  let version: string;
  if (!names && enc.split) {
    // The shared part's digest is computed once per snapshot for every shape that holds it.
    const shared = enc.split.shared;
    shared.digest ??= digestOf(shared.items);
    version = createHash('sha256')
      .update(`${shared.digest}\0${digestOf(enc.split.own)}`)
      .digest('base64url')
      .slice(0, 16);
  } else version = digestOf(items).slice(0, 16);
  const sel: EncodedSelection = { version, items };
  if (!names && enc.byName) sel.byName = enc.byName;
  enc.selections.set(key, sel);
  selections.set(version, sel);
  return sel;
}

/** name → item of a selection. */
export function selectionByName(sel: EncodedSelection): Map<string, EncodedItem> {
  sel.byName ??= new Map(sel.items.map((i) => [i.name, i]));
  return sel.byName;
}

/** The serialized DiscoveryResponse (version_info 1, resources 2, type_url 4) of a selection. */
function responseBody(typeUrl: ServedTypeUrl, sel: EncodedSelection): Buffer {
  if (sel.body) return sel.body;
  const parts: Buffer[] = [stringField(1, sel.version)];
  for (const i of sel.items) parts.push(i.sotwField());
  parts.push(stringField(4, typeUrl));
  sel.body = Buffer.concat(parts);
  return sel.body;
}

/** The serialized DeltaDiscoveryResponse (system_version_info 1, resources 2, type_url 4, removed 6). */
function deltaBody(typeUrl: ServedTypeUrl, version: string, change: DeltaChange): Buffer {
  if (change.body) return change.body;
  const parts: Buffer[] = [stringField(1, version)];
  for (const i of change.updated) parts.push(i.deltaField());
  parts.push(stringField(4, typeUrl));
  for (const n of change.removed) parts.push(bytesField(6, Buffer.from(n, 'utf8')));
  change.body = Buffer.concat(parts);
  return change.body;
}

/**
 * The gRPC message (5-byte length prefix included) of a body with the `nonce` field (5 in both
 * response messages) appended: what the transport writes as is.
 */
function framedWithNonce(body: Buffer, nonce: string): Buffer {
  return grpcFrame(body, stringField(5, nonce));
}

/** The framed response for a nonce, reusing the last stamping when the nonce is the same. */
export function stampedResponse(typeUrl: ServedTypeUrl, sel: EncodedSelection, nonce: string): Buffer {
  if (sel.stamped?.nonce === nonce) return sel.stamped.bytes;
  const bytes = framedWithNonce(responseBody(typeUrl, sel), nonce);
  sel.stamped = { nonce, bytes };
  return bytes;
}

/** The framed delta response for a nonce, shared by the streams sent the same change in one cycle. */
export function stampedDelta(typeUrl: ServedTypeUrl, version: string, change: DeltaChange, nonce: string): Buffer {
  if (change.stamped?.nonce === nonce) return change.stamped.bytes;
  const bytes = framedWithNonce(deltaBody(typeUrl, version, change), nonce);
  change.stamped = { nonce, bytes };
  return bytes;
}
