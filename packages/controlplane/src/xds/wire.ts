/**
 * Hand-written protobuf framing for the few messages the server assembles from pre-encoded parts
 * (DiscoveryResponse, DeltaDiscoveryResponse, Resource, NameTable): every part is encoded once and
 * a response is a concatenation of shared buffers. Field order does not matter to a decoder.
 */

function varint(n: number): number[] {
  const out: number[] = [];
  let v = n;
  while (v > 127) {
    out.push((v & 127) | 128);
    v >>>= 7;
  }
  out.push(v);
  return out;
}

/** A length-delimited field (wire type 2) holding `bytes`. */
export function bytesField(field: number, bytes: Uint8Array): Buffer {
  const head = Buffer.from([...varint((field << 3) | 2), ...varint(bytes.length)]);
  return Buffer.concat([head, bytes]);
}

/** A string field; empty strings are omitted, as proto3 does. */
export function stringField(field: number, s: string | undefined): Buffer {
  if (!s) return Buffer.alloc(0);
  return bytesField(field, Buffer.from(s, 'utf8'));
}

/** A repeated string field. */
export function stringsField(field: number, list: readonly string[] | undefined): Buffer {
  return Buffer.concat((list ?? []).map((s) => bytesField(field, Buffer.from(s, 'utf8'))));
}

/** google.protobuf.Any {type_url = 1, value = 2}. */
export function anyBytes(typeUrl: string, value: Uint8Array): Buffer {
  return Buffer.concat([stringField(1, typeUrl), bytesField(2, value)]);
}
