/**
 * Longest-prefix match over addresses, one value per prefix. Full-length prefixes (/32, /128: a
 * ServiceEntry's addresses, the common case) live in a hash map (IPv4: an open-addressing table
 * over a typed key array, see host-table.ts) — a host route is the longest match there can be, so a hit there ends the lookup in O(1); shorter prefixes (CIDRs) live in a binary
 * trie over address bits, O(prefix length). The trie then holds only the few CIDRs, so lookups stay
 * flat from a hundred entries to a hundred thousand (a trie of 100k host routes costs a cache miss
 * per bit).
 */
import { Ipv4Table } from './host-table.js';
import { bitAt, maxPrefix, type ParsedIp } from './ip.js';

interface TrieNode<T> {
  zero: TrieNode<T> | undefined;
  one: TrieNode<T> | undefined;
  value: T | undefined;
  prefixLen: number;
}

const newNode = <T>(prefixLen: number): TrieNode<T> => ({
  zero: undefined,
  one: undefined,
  value: undefined,
  prefixLen,
});

export class PrefixTrie<T> {
  readonly #roots: { 4: TrieNode<T>; 6: TrieNode<T> } = { 4: newNode(0), 6: newNode(0) };
  readonly #hosts4 = new Ipv4Table<T>();
  readonly #hosts6 = new Map<string, T>();
  #size = 0;

  get size(): number {
    return this.#size;
  }

  /** The value stored for exactly this prefix, creating it with `create` when absent. */
  upsert(ip: ParsedIp, prefixLen: number, create: () => T): T {
    const len = Math.min(prefixLen, maxPrefix(ip));
    if (len === maxPrefix(ip)) return this.#upsertHost(ip, create);
    let node = this.#roots[ip.family];
    for (let i = 0; i < len; i++) {
      if (bitAt(ip, i)) node = node.one ??= newNode(i + 1);
      else node = node.zero ??= newNode(i + 1);
    }
    if (node.value === undefined) {
      node.value = create();
      this.#size++;
    }
    return node.value;
  }

  #upsertHost(ip: ParsedIp, create: () => T): T {
    const found = ip.family === 4 ? this.#hosts4.get(ip.v4) : this.#hosts6.get(ip.v6.join(':'));
    if (found !== undefined) return found;
    const value = create();
    if (ip.family === 4) this.#hosts4.set(ip.v4, value);
    else this.#hosts6.set(ip.v6.join(':'), value);
    this.#size++;
    return value;
  }

  /** Every IPv4 host route (`len` 32) and IPv4 prefix; `ip` unsigned, host bits zero. */
  forEachV4(fn: (ip: number, len: number, value: T) => void): void {
    this.#hosts4.forEach((ip, value) => {
      fn(ip, 32, value);
    });
    const walk = (node: TrieNode<T>, bits: number, depth: number): void => {
      if (node.value !== undefined) fn(depth === 0 ? 0 : (bits << (32 - depth)) >>> 0, depth, node.value);
      if (node.zero) walk(node.zero, bits * 2, depth + 1);
      if (node.one) walk(node.one, bits * 2 + 1, depth + 1);
    };
    walk(this.#roots[4], 0, 0);
  }

  /** The longest stored prefix containing `ip`, with its length. */
  longestMatch(ip: ParsedIp): { value: T; prefixLen: number } | undefined {
    const host = ip.family === 4 ? this.#hosts4.get(ip.v4) : this.#hosts6.get(ip.v6.join(':'));
    if (host !== undefined) return { value: host, prefixLen: maxPrefix(ip) };
    let node: TrieNode<T> | undefined = this.#roots[ip.family];
    let best: TrieNode<T> | undefined;
    const len = maxPrefix(ip);
    for (let i = 0; node; i++) {
      if (node.value !== undefined) best = node;
      if (i === len) break;
      node = bitAt(ip, i) ? node.one : node.zero;
    }
    return best ? { value: best.value!, prefixLen: best.prefixLen } : undefined;
  }
}
