/**
 * A binary trie over address bits holding one value per prefix: lookup returns the value of the
 * longest stored prefix containing an address, in O(prefix length), whatever the number of prefixes.
 */
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
  #size = 0;

  get size(): number {
    return this.#size;
  }

  /** The value stored for exactly this prefix, creating it with `create` when absent. */
  upsert(ip: ParsedIp, prefixLen: number, create: () => T): T {
    let node = this.#roots[ip.family];
    const len = Math.min(prefixLen, maxPrefix(ip));
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

  /** The longest stored prefix containing `ip`, with its length. */
  longestMatch(ip: ParsedIp): { value: T; prefixLen: number } | undefined {
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
