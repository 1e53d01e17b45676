/**
 * IP text → bits, without node:net (the decision table stays pure). IPv4-mapped IPv6
 * (`::ffff:10.1.2.3`) is normalised to IPv4, as the kernel reports v4 peers on dual-stack sockets.
 */

/** An address as the prefix trie walks it: IPv4 as one 32-bit word, IPv6 as eight 16-bit groups. */
export type ParsedIp = { readonly family: 4; readonly v4: number } | { readonly family: 6; readonly v6: Uint16Array };

export function parseIpv4(text: string): number | undefined {
  // One pass over the characters: no split, no regular expression, no allocation.
  const n = text.length;
  if (n < 7 || n > 15) return undefined;
  let value = 0;
  let part = 0;
  let digits = 0;
  let dots = 0;
  for (let i = 0; i < n; i++) {
    const c = text.charCodeAt(i);
    if (c >= 48 && c <= 57) {
      if (++digits > 3) return undefined;
      part = part * 10 + (c - 48);
    } else if (c === 46) {
      if (digits === 0 || part > 255 || ++dots > 3) return undefined;
      value = value * 256 + part;
      part = 0;
      digits = 0;
    } else return undefined;
  }
  if (dots !== 3 || digits === 0 || part > 255) return undefined;
  return (value * 256 + part) >>> 0;
}

function parseIpv6Groups(text: string): Uint16Array | undefined {
  let s = text;
  const zone = s.indexOf('%');
  if (zone >= 0) s = s.slice(0, zone);
  const groups = new Uint16Array(8);
  let tail: number | undefined;
  const lastColon = s.lastIndexOf(':');
  if (lastColon >= 0 && s.indexOf('.', lastColon) > lastColon) {
    tail = parseIpv4(s.slice(lastColon + 1));
    if (tail === undefined) return undefined;
    s = `${s.slice(0, lastColon + 1)}0:0`;
  }
  const halves = s.split('::');
  if (halves.length > 2) return undefined;
  const head = halves[0] ? halves[0].split(':') : [];
  const rest = halves.length === 2 && halves[1] ? halves[1].split(':') : [];
  if (halves.length === 1 && head.length !== 8) return undefined;
  if (head.length + rest.length > (halves.length === 2 ? 7 : 8)) return undefined;
  const put = (list: string[], start: number): boolean => {
    for (let i = 0; i < list.length; i++) {
      const g = list[i]!;
      if (!/^[0-9a-fA-F]{1,4}$/.test(g)) return false;
      groups[start + i] = Number.parseInt(g, 16);
    }
    return true;
  };
  if (!put(head, 0) || !put(rest, 8 - rest.length)) return undefined;
  if (tail !== undefined) {
    groups[6] = tail >>> 16;
    groups[7] = tail & 0xffff;
  }
  return groups;
}

/** Parses an IP; v4-mapped v6 becomes v4. undefined when not an IP. */
export function parseIp(text: string): ParsedIp | undefined {
  const v4 = parseIpv4(text);
  if (v4 !== undefined) return { family: 4, v4 };
  if (!text.includes(':')) return undefined;
  const v6 = parseIpv6Groups(text);
  if (!v6) return undefined;
  if (v6[0] === 0 && v6[1] === 0 && v6[2] === 0 && v6[3] === 0 && v6[4] === 0 && v6[5] === 0xffff) {
    return { family: 4, v4: ((v6[6]! << 16) | v6[7]!) >>> 0 };
  }
  return { family: 6, v6 };
}

/** Bit `i` (0 = most significant) of an address. */
export function bitAt(ip: ParsedIp, i: number): number {
  if (ip.family === 4) return (ip.v4 >>> (31 - i)) & 1;
  return (ip.v6[i >> 4]! >> (15 - (i & 15))) & 1;
}

export function maxPrefix(ip: ParsedIp): number {
  return ip.family === 4 ? 32 : 128;
}

/** Canonical text of a parsed address (v4 dotted; v6 lower-case, uncompressed groups). */
export function formatIp(ip: ParsedIp): string {
  if (ip.family === 4) return [ip.v4 >>> 24, (ip.v4 >>> 16) & 255, (ip.v4 >>> 8) & 255, ip.v4 & 255].join('.');
  return Array.from(ip.v6, (g) => g.toString(16)).join(':');
}
