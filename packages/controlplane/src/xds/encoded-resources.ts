/**
 * Encoding of generated resources for the wire, done once per (generated set, type) and shared by
 * every stream that needs it: each resource becomes an `Any` with a content hash; a response body
 * (DiscoveryResponse without its nonce) is serialized once per version, and each stream only
 * appends its own nonce field. Versions are content hashes, so equal content means equal version.
 */
import { createHash } from 'node:crypto';
import { type AnyMessage, encodeResource, protoRoot } from '@sluice/xds';
import type { EnvoyObject, GeneratedResources } from '../translate/types.js';
import { resourcesOfType, type ServedTypeUrl } from './resource-types.js';

export interface EncodedItem {
  name: string;
  json: EnvoyObject;
  any: AnyMessage;
  hash: string;
}

/** One version of one type for one subscription: what a response carries. */
export interface EncodedSelection {
  version: string;
  items: EncodedItem[];
  /** Serialized DiscoveryResponse without nonce; created on first send. */
  body?: Buffer;
  /** The body with the nonce of the current push cycle, shared by every stream sent it in that cycle. */
  stamped?: { nonce: string; bytes: Buffer };
}

interface Encoded {
  any: AnyMessage;
  hash: string;
}

/** Same object → same encoding (proxies of one shape share objects within a snapshot). */
const byIdentity = new WeakMap<object, Encoded>();
/**
 * Same content → same encoding across snapshots: most resources survive a config change unchanged.
 * Two generations: entries not used since the previous {@link rotateEncodingCache} are dropped.
 */
let byContent = new Map<string, Encoded>();
let byContentPrevious = new Map<string, Encoded>();

/** Starts a new cache generation; call once per processed snapshot. */
export function rotateEncodingCache(): void {
  byContentPrevious = byContent;
  byContent = new Map();
}

function encodeCached(typeUrl: ServedTypeUrl, json: EnvoyObject): Encoded {
  const known = byIdentity.get(json);
  if (known) return known;
  const key = typeUrl + JSON.stringify(json);
  let enc = byContent.get(key) ?? byContentPrevious.get(key);
  if (!enc) {
    const any = encodeResource(typeUrl, json);
    enc = { any, hash: createHash('sha256').update(any.value).digest('base64url').slice(0, 22) };
  }
  byContent.set(key, enc);
  byIdentity.set(json, enc);
  return enc;
}

interface TypeEncoding {
  items: EncodedItem[];
  byName: Map<string, EncodedItem>;
  selections: Map<string, EncodedSelection>;
}

const cache = new WeakMap<GeneratedResources, Map<ServedTypeUrl, TypeEncoding>>();

function encodeType(g: GeneratedResources, typeUrl: ServedTypeUrl): TypeEncoding {
  let perType = cache.get(g);
  if (!perType) {
    perType = new Map();
    cache.set(g, perType);
  }
  const found = perType.get(typeUrl);
  if (found) return found;
  const items = resourcesOfType(g, typeUrl).map(({ name, json }) => ({ name, json, ...encodeCached(typeUrl, json) }));
  const enc: TypeEncoding = { items, byName: new Map(items.map((i) => [i.name, i])), selections: new Map() };
  perType.set(typeUrl, enc);
  return enc;
}

/**
 * The resources of a type for a subscription (`names` undefined = all) and their version.
 * Throws the codec's error if a generated resource does not encode.
 */
export function selectEncoded(
  g: GeneratedResources,
  typeUrl: ServedTypeUrl,
  names: readonly string[] | undefined,
): EncodedSelection {
  const enc = encodeType(g, typeUrl);
  const key = names ? JSON.stringify([...names].sort()) : '*';
  const found = enc.selections.get(key);
  if (found) return found;
  const items = names ? [...new Set(names)].sort().flatMap((n) => enc.byName.get(n) ?? []) : enc.items;
  const h = createHash('sha256');
  for (const i of items) h.update(i.name).update('\0').update(i.hash).update('\0');
  const sel: EncodedSelection = { version: h.digest('base64url').slice(0, 16), items };
  enc.selections.set(key, sel);
  return sel;
}

/** The serialized DiscoveryResponse (version_info, resources, type_url) of a selection. */
export function responseBody(typeUrl: ServedTypeUrl, sel: EncodedSelection): Buffer {
  if (sel.body) return sel.body;
  const T = protoRoot().lookupType('envoy.service.discovery.v3.DiscoveryResponse');
  const msg = T.fromObject({ version_info: sel.version, type_url: typeUrl, resources: [] });
  (msg as unknown as { resources: AnyMessage[] }).resources = sel.items.map((i) => i.any);
  sel.body = Buffer.from(T.encode(msg).finish());
  return sel.body;
}

/** Appends the `nonce` field (5, length-delimited) to a serialized response body. */
export function withNonce(body: Buffer, nonce: string): Buffer {
  const n = Buffer.from(nonce, 'utf8');
  const len: number[] = [];
  let v = n.length;
  while (v > 127) {
    len.push((v & 127) | 128);
    v >>>= 7;
  }
  len.push(v);
  return Buffer.concat([body, Buffer.from([0x2a, ...len]), n]);
}

/** A response already serialized; the server's serializer passes its bytes through. */
export class SerializedResponse {
  constructor(readonly bytes: Buffer) {}
}

/** The response bytes for a nonce, reusing the last stamping when the nonce is the same. */
export function stampedResponse(typeUrl: ServedTypeUrl, sel: EncodedSelection, nonce: string): Buffer {
  if (sel.stamped?.nonce === nonce) return sel.stamped.bytes;
  const bytes = withNonce(responseBody(typeUrl, sel), nonce);
  sel.stamped = { nonce, bytes };
  return bytes;
}
