import assert from 'node:assert/strict';
import { test } from 'node:test';
import { applyJsonPatch, applyMergePatch } from './patch.js';

test('merge patch follows RFC 7386: nested merge, null deletes, arrays replace whole', () => {
  const target = { spec: { hosts: ['a', 'b'], ports: [{ number: 1 }], location: 'MESH_EXTERNAL' }, keep: 1 };
  const out = applyMergePatch(target, { spec: { hosts: ['c'], ports: null, resolution: 'DNS' } });
  assert.deepEqual(out, { spec: { hosts: ['c'], location: 'MESH_EXTERNAL', resolution: 'DNS' }, keep: 1 });
  assert.deepEqual(target.spec.hosts, ['a', 'b'], 'the target is not mutated');
  // RFC 7386 appendix A examples
  assert.deepEqual(applyMergePatch({ a: 'b' }, { a: 'c' }), { a: 'c' });
  assert.deepEqual(applyMergePatch({ a: [{ b: 'c' }] }, { a: [1] }), { a: [1] });
  assert.deepEqual(applyMergePatch({ e: null }, { a: 1 }), { e: null, a: 1 });
  assert.deepEqual(applyMergePatch(['a', 'b'], ['c', 'd']), ['c', 'd']);
  assert.deepEqual(applyMergePatch({ a: 'foo' }, null), null);
  assert.deepEqual(applyMergePatch({}, { a: { bb: { ccc: null } } }), { a: { bb: {} } });
});

test('json patch applies add/replace/remove/move/copy/test and rejects a failed test', () => {
  const doc = { spec: { hosts: ['a'], ports: [{ number: 1 }] } };
  const out = applyJsonPatch(doc, [
    { op: 'add', path: '/spec/hosts/-', value: 'b' },
    { op: 'replace', path: '/spec/ports/0/number', value: 2 },
    { op: 'copy', from: '/spec/hosts/0', path: '/spec/first' },
    { op: 'move', from: '/spec/first', path: '/spec/moved' },
    { op: 'remove', path: '/spec/hosts/0' },
    { op: 'test', path: '/spec/moved', value: 'a' },
  ]);
  assert.deepEqual(out, { spec: { hosts: ['b'], ports: [{ number: 2 }], moved: 'a' } });
  assert.throws(() => applyJsonPatch(doc, [{ op: 'test', path: '/spec/hosts/0', value: 'x' }]), { code: 'Invalid' });
  assert.throws(() => applyJsonPatch(doc, [{ op: 'remove', path: '/spec/nope' }]), { code: 'Invalid' });
  assert.throws(() => applyJsonPatch(doc, { op: 'add' }), { code: 'BadRequest' });
});
