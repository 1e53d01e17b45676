/**
 * Strict UTF-8 decoding of request bodies: a malformed sequence (a stray continuation byte, an
 * overlong form, an encoded surrogate, a code point past U+10FFFF, a truncated sequence) is an
 * error naming its byte offset, never a silent U+FFFD.
 */
import { errors } from './status.js';

const strict = new TextDecoder('utf-8', { fatal: true });

/** Byte offset of the first ill-formed sequence (Unicode Table 3-7), or -1 when `bytes` is valid UTF-8. */
export function firstInvalidUtf8Offset(bytes: Uint8Array): number {
  let i = 0;
  while (i < bytes.length) {
    const b = bytes[i]!;
    if (b < 0x80) {
      i++;
      continue;
    }
    let lo = 0x80;
    let hi = 0xbf;
    let extra: number;
    if (b >= 0xc2 && b <= 0xdf) extra = 1;
    else if (b >= 0xe0 && b <= 0xef) {
      extra = 2;
      if (b === 0xe0) lo = 0xa0;
      if (b === 0xed) hi = 0x9f;
    } else if (b >= 0xf0 && b <= 0xf4) {
      extra = 3;
      if (b === 0xf0) lo = 0x90;
      if (b === 0xf4) hi = 0x8f;
    } else return i;
    for (let k = 1; k <= extra; k++) {
      const c = bytes[i + k];
      const [min, max] = k === 1 ? [lo, hi] : [0x80, 0xbf];
      if (c === undefined || c < min || c > max) return i;
    }
    i += extra + 1;
  }
  return -1;
}

/** Decodes `bytes` as UTF-8 (a leading BOM is dropped); throws BadRequest naming the first bad byte. */
export function decodeUtf8(bytes: Uint8Array, what = 'the request body'): string {
  try {
    return strict.decode(bytes);
  } catch {
    const at = Math.max(0, firstInvalidUtf8Offset(bytes));
    const shown = [...bytes.subarray(at, at + 4)].map((b) => `0x${b.toString(16).toUpperCase().padStart(2, '0')}`);
    throw errors.badRequest(
      `${what} is not valid UTF-8: malformed byte sequence at byte offset ${at} (${shown.join(' ')}); send text encoded as UTF-8`,
    );
  }
}
