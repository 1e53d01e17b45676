import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Ipv4Table } from './host-table.js';

test('an IPv4 table finds every address it holds and no other, across growth', () => {
  const t = new Ipv4Table<string>();
  const held = new Map<number, string>();
  // Consecutive ranges (ServiceEntry style), the edges of the address space, and a few random ones.
  const keys = [0, 0xffffffff, 0x7fffffff, 0x80000000];
  for (let i = 0; i < 5000; i++) keys.push((0xac100000 + i) >>> 0);
  for (let i = 0; i < 500; i++) keys.push((Math.random() * 0x100000000) >>> 0);
  for (const k of keys) {
    t.set(k, `v${k}`);
    held.set(k, `v${k}`);
  }
  assert.equal(t.size, held.size);
  for (const [k, v] of held) assert.equal(t.get(k), v);
  for (let i = 0; i < 2000; i++) {
    const k = (0x0a000000 + i) >>> 0;
    if (!held.has(k)) assert.equal(t.get(k), undefined);
  }
});

test('setting an address again replaces its value without growing the count', () => {
  const t = new Ipv4Table<number>();
  t.set(0x0a000001, 1);
  t.set(0x0a000001, 2);
  assert.equal(t.size, 1);
  assert.equal(t.get(0x0a000001), 2);
});
