import assert from 'node:assert/strict';
import { test } from 'node:test';
import { allocateVip, vipInRange } from './allocate-vip.js';

test('the same host gets the same VIP every time, inside 240.240.0.0/16', () => {
  const a = allocateVip('mysql.example.com', new Set());
  assert.equal(allocateVip('mysql.example.com', new Set()), a);
  assert.equal(allocateVip('MySQL.example.com', new Set()), a, 'host names are case-insensitive');
  assert.ok(vipInRange(a, '240.240.0.0/16'), a);
  assert.notEqual(allocateVip('redis.example.com', new Set()), a);
});

test('a taken address moves the host to the next free one, and only that host', () => {
  const first = allocateVip('mysql.example.com', new Set());
  const second = allocateVip('mysql.example.com', new Set([first]));
  assert.notEqual(second, first);
  assert.ok(vipInRange(second));
  assert.equal(allocateVip('redis.example.com', new Set([first])), allocateVip('redis.example.com', new Set()));
});

test('many hosts in a small range all get distinct addresses, never network or broadcast', () => {
  const taken = new Set<string>();
  for (let i = 0; i < 14; i++) taken.add(allocateVip(`host${i}.example.com`, taken, '10.0.0.0/28'));
  assert.equal(taken.size, 14);
  assert.ok(!taken.has('10.0.0.0') && !taken.has('10.0.0.15'));
  assert.throws(() => allocateVip('one-too-many.example.com', taken, '10.0.0.0/28'), { code: 'ERR_VIP_EXHAUSTED' });
});

test('a bad range is refused with the field named', () => {
  assert.throws(() => allocateVip('a', new Set(), '240.240.0.1/16'), { code: 'ERR_CAPTURE_OPTIONS', path: 'range' });
  assert.throws(() => allocateVip('a', new Set(), 'fd00::/64'), { code: 'ERR_CAPTURE_OPTIONS' });
  assert.throws(() => allocateVip('', new Set()), { code: 'ERR_CAPTURE_OPTIONS', path: 'host' });
});
