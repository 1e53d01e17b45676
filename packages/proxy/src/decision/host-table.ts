/**
 * A hash table from IPv4 addresses (unsigned 32-bit) to values, open addressing with linear
 * probing over a typed key array: a lookup touches one key slot (usually the same cache line as
 * its neighbours) and one value slot, where a `Map<number, …>` walks bucket → entry chain.
 * Values must not be undefined (undefined marks an empty slot). No deletion: decision tables are
 * built once and then only read.
 */
export class Ipv4Table<T> {
  #keys = new Uint32Array(16);
  #values: (T | undefined)[] = new Array<T | undefined>(16).fill(undefined);
  #mask = 15;
  #size = 0;

  get size(): number {
    return this.#size;
  }

  get(key: number): T | undefined {
    const keys = this.#keys;
    const values = this.#values;
    const mask = this.#mask;
    let i = slotOf(key) & mask;
    for (;;) {
      const v = values[i];
      if (v === undefined || keys[i] === key) return v;
      i = (i + 1) & mask;
    }
  }

  /** Every entry, in slot order. */
  forEach(fn: (key: number, value: T) => void): void {
    const keys = this.#keys;
    const values = this.#values;
    for (let i = 0; i < values.length; i++) {
      const v = values[i];
      if (v !== undefined) fn(keys[i]!, v);
    }
  }

  set(key: number, value: T): void {
    if ((this.#size + 1) * 2 > this.#values.length) this.#grow();
    if (this.#put(key >>> 0, value)) this.#size++;
  }

  /** true when the key was new. */
  #put(key: number, value: T): boolean {
    const mask = this.#mask;
    let i = slotOf(key) & mask;
    for (;;) {
      const v = this.#values[i];
      if (v === undefined) {
        this.#keys[i] = key;
        this.#values[i] = value;
        return true;
      }
      if (this.#keys[i] === key) {
        this.#values[i] = value;
        return false;
      }
      i = (i + 1) & mask;
    }
  }

  #grow(): void {
    const oldKeys = this.#keys;
    const oldValues = this.#values;
    const capacity = oldValues.length * 2;
    this.#keys = new Uint32Array(capacity);
    this.#values = new Array<T | undefined>(capacity).fill(undefined);
    this.#mask = capacity - 1;
    for (let i = 0; i < oldValues.length; i++) {
      const v = oldValues[i];
      if (v !== undefined) this.#put(oldKeys[i]!, v);
    }
  }
}

/** Spreads consecutive addresses (a ServiceEntry range) over the table. */
function slotOf(key: number): number {
  let h = Math.imul(key ^ (key >>> 16), 0x45d9f3b);
  h = Math.imul(h ^ (h >>> 16), 0x45d9f3b);
  return (h ^ (h >>> 16)) >>> 0;
}
