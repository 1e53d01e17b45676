import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { walkChange } from './delta-stream.js';
import type { EncodedItem } from './encoded-resources.js';

const item = (name: string, hash: string): EncodedItem =>
  ({ name, hash, json: {}, any: { type_url: '', value: Buffer.alloc(0) } }) as unknown as EncodedItem;

/** The change by name lookups, as a stream holding `from` computes it. */
function byName(from: EncodedItem[], to: EncodedItem[]) {
  const held = new Map(from.map((i) => [i.name, i]));
  const want = new Set(to.map((i) => i.name));
  return {
    updated: to.filter((i) => held.get(i.name)?.hash !== i.hash),
    removed: from.filter((i) => !want.has(i.name)).map((i) => i.name),
  };
}

describe('delta change between two selections in name order', () => {
  test('added, changed, removed and kept resources, at both ends and in between', () => {
    const a = item('a', '1');
    const c = item('c', '1');
    const from = [a, item('b', '1'), c, item('e', '1')];
    const to = [item('0', '1'), a, item('c', '1'), item('d', '1'), item('e', '2'), item('f', '1')];
    const change = walkChange(from, to);
    assert.deepEqual(
      change.updated.map((i) => `${i.name}@${i.hash}`),
      ['0@1', 'd@1', 'e@2', 'f@1'],
    );
    assert.deepEqual(change.removed, ['b']);
  });

  test('the same result as the lookup by name, for random selections', () => {
    let seed = 7;
    const rnd = (n: number) => {
      seed = (seed * 1103515245 + 12345) % 2147483648;
      return seed % n;
    };
    for (let round = 0; round < 200; round++) {
      const pick = () =>
        Array.from({ length: 40 }, (_, k) => k)
          .filter(() => rnd(3) > 0)
          .map((k) => item(`r${String(k).padStart(3, '0')}`, String(rnd(2))));
      const from = pick();
      const to = pick();
      const walked = walkChange(from, to);
      const looked = byName(from, to);
      assert.deepEqual(walked.updated, looked.updated);
      assert.deepEqual([...walked.removed].sort(), [...looked.removed].sort());
    }
  });

  test('nothing changes between equal selections', () => {
    const items = [item('a', '1'), item('b', '2')];
    assert.deepEqual(walkChange(items, [...items]), { updated: [], removed: [] });
  });
});
