/**
 * Header lists as ordered [name, value] pairs (names kept as received): hop-by-hop stripping and
 * Envoy's header mutations. Node's `rawHeaders` keep repeated headers apart, which matters for
 * cookies and for what the upstream sees.
 */
import type { HeaderMutation } from './types.js';

export type HeaderPairs = [name: string, value: string][];

/** Headers that describe one connection, never forwarded (RFC 9110 §7.6.1, as Envoy strips them). */
const hopByHop = new Set([
  'connection',
  'keep-alive',
  'proxy-connection',
  'transfer-encoding',
  'upgrade',
  'te',
  'trailer',
  'proxy-authenticate',
  'proxy-authorization',
]);

/** rawHeaders → pairs, without hop-by-hop headers and the headers the Connection header names. */
export function forwardableHeaders(raw: readonly string[]): HeaderPairs {
  const named = new Set<string>();
  for (let i = 0; i + 1 < raw.length; i += 2) {
    if (raw[i]!.toLowerCase() === 'connection')
      for (const token of raw[i + 1]!.split(',')) named.add(token.trim().toLowerCase());
  }
  const out: HeaderPairs = [];
  for (let i = 0; i + 1 < raw.length; i += 2) {
    const lower = raw[i]!.toLowerCase();
    if (hopByHop.has(lower) || named.has(lower)) continue;
    out.push([raw[i]!, raw[i + 1]!]);
  }
  return out;
}

export function getHeader(h: HeaderPairs, name: string): string | undefined {
  const lower = name.toLowerCase();
  const values = h.filter(([n]) => n.toLowerCase() === lower).map(([, v]) => v);
  return values.length === 0 ? undefined : values.join(',');
}

export function removeHeader(h: HeaderPairs, name: string): void {
  const lower = name.toLowerCase();
  for (let i = h.length - 1; i >= 0; i--) if (h[i]![0].toLowerCase() === lower) h.splice(i, 1);
}

export function setHeader(h: HeaderPairs, name: string, value: string): void {
  removeHeader(h, name);
  h.push([name, value]);
}

/** Applies mutations, most specific level first; within a level removes come before adds (Envoy). */
export function applyMutations(h: HeaderPairs, levels: readonly HeaderMutation[]): void {
  for (const level of levels) {
    for (const name of level.remove) removeHeader(h, name);
    for (const add of level.add) {
      if (add.value === '' && !add.keepEmptyValue) continue;
      const exists = h.some(([n]) => n.toLowerCase() === add.name);
      switch (add.action) {
        case 'APPEND_IF_EXISTS_OR_ADD':
          h.push([add.name, add.value]);
          break;
        case 'ADD_IF_ABSENT':
          if (!exists) h.push([add.name, add.value]);
          break;
        case 'OVERWRITE_IF_EXISTS_OR_ADD':
          setHeader(h, add.name, add.value);
          break;
        case 'OVERWRITE_IF_EXISTS':
          if (exists) setHeader(h, add.name, add.value);
          break;
      }
    }
  }
}

export function flatten(h: HeaderPairs): string[] {
  const out: string[] = [];
  for (const [n, v] of h) out.push(n, v);
  return out;
}
