import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { parseAllDocuments } from 'yaml';
import { decodeBody } from './body.js';
import { MAX_NESTING_DEPTH, shapeOf, tooDeepAt } from './nesting-depth.js';
import { applyJsonPatch } from './patch.js';
import { decodeUtf8, firstInvalidUtf8Offset } from './utf8.js';
import { yamlFlowTooDeepAt } from './yaml-flow-depth.js';

const REPO = join(fileURLToPath(import.meta.url), '../../../../..');

test('UTF-8: the offset of the first ill-formed sequence, for each kind of mistake', () => {
  const cases: [string, number[], number][] = [
    ['valid text of 1 to 4 bytes', [...Buffer.from('aé✓😀\u{10FFFF}')], -1],
    ['a stray continuation byte', [0x61, 0x80], 1],
    ['a lead byte without continuation', [0x61, 0x62, 0xc3, 0x28], 2],
    ['overlong two-byte "/"', [0xc0, 0xaf], 0],
    ['overlong three-byte', [0x61, 0xe0, 0x80, 0xaf], 1],
    ['an encoded surrogate', [0xed, 0xa0, 0x80], 0],
    ['past U+10FFFF', [0xf4, 0x90, 0x80, 0x80], 0],
    ['an invalid byte', [0x61, 0xff], 1],
    ['truncated at the end', [0x61, 0xe2, 0x82], 1],
  ];
  for (const [what, bytes, offset] of cases) {
    const buf = Uint8Array.from(bytes);
    assert.equal(firstInvalidUtf8Offset(buf), offset, what);
    if (offset < 0) assert.equal(decodeUtf8(buf), Buffer.from(buf).toString('utf8'), what);
    else
      assert.throws(() => decodeUtf8(buf), { code: 'BadRequest', message: new RegExp(`byte offset ${offset} `) }, what);
  }
});

test('nesting: exactly 100 levels are accepted, 101 are refused with the path, in JSON and YAML', () => {
  const nested = (n: number) => `{"spec":${'['.repeat(n - 1)}${']'.repeat(n - 1)}}`;
  for (const type of ['application/json', 'application/yaml']) {
    assert.equal(shapeOf(decodeBody(Buffer.from(nested(MAX_NESTING_DEPTH)), type)).depth, MAX_NESTING_DEPTH);
    assert.throws(() => decodeBody(Buffer.from(nested(MAX_NESTING_DEPTH + 1)), type), {
      code: 'BadRequest',
      message: /more than 100 levels deep/,
    });
  }
  assert.equal(tooDeepAt({ a: [{ b: [[1]] }] }, 4), 'a[0].b[0]');
  assert.equal(tooDeepAt({ 'x/y': [1] }, 1), '["x/y"]');
  assert.equal(tooDeepAt({ a: [{ b: [[1]] }] }, 5), undefined);
  // A body parsed by the YAML parser with block nesting too deep for it is refused the same way.
  let block = '';
  for (let i = 0; i < 1500; i++) block += `${' '.repeat(i)}a:\n`;
  assert.throws(() => decodeBody(Buffer.from(block), 'application/yaml'), { code: 'BadRequest', message: /deep/ });
});

test('the YAML flow scan counts brackets that open collections, not text that contains them', () => {
  const cases: [string, string, number][] = [
    ['flow sequences', '[[[[1]]]]', 4],
    ['after a key and an anchor', 'a: &x [{b: [1]}]', 3],
    ['JSON as YAML', '{"a":[{"b":[1]}]}', 4],
    ['brackets in quoted scalars', `a: "[[[[\\"[["\nb: '[[''[['\nc: [1]`, 1],
    ['brackets in a comment', '# [[[[\na: [1] # [[[[', 1],
    ['brackets in a plain scalar', 'a: b[[[[c\nd: -[[[[', 0],
    ['brackets in a block scalar', 'a: |\n  [[[[\n  {{{{\nb: [1]', 1],
    ['a sequence entry', '- [[1]]\n- {a: [1]}', 2],
  ];
  for (const [what, text, flowDepth] of cases) {
    assert.equal(yamlFlowTooDeepAt(text, flowDepth), undefined, `${what}: within ${flowDepth}`);
    if (flowDepth > 0) assert.ok(yamlFlowTooDeepAt(text, flowDepth - 1), `${what}: deeper than ${flowDepth - 1}`);
  }
  assert.deepEqual(yamlFlowTooDeepAt('a:\n  b: [[[1]]]', 2), { line: 2, column: 8 });
  const deep = '['.repeat(1_500_000) + ']'.repeat(1_500_000);
  assert.throws(() => decodeBody(Buffer.from(deep), 'application/yaml'), {
    code: 'BadRequest',
    message: /more than 100 levels deep \(at line 1, column 101\)/,
  });
});

test('the YAML flow scan never counts deeper than the real nesting of the repository manifests', () => {
  const files = [
    'samples/bookinfo/platform/kube/bookinfo.yaml',
    'samples/bookinfo/networking/virtual-service-reviews-50-v3.yaml',
    'packages/config/testdata/validate/virtual-service.yaml',
    'packages/config/testdata/validate/service-entry.yaml',
    'packages/config/testdata/validate/kubernetes.yaml',
  ];
  for (const file of files) {
    const text = readFileSync(join(REPO, file), 'utf8');
    const depth = Math.max(...parseAllDocuments(text).map((d) => shapeOf(d.toJS()).depth));
    assert.ok(depth > 2, file);
    assert.equal(yamlFlowTooDeepAt(text, depth), undefined, file);
  }
});

test('JSON patch: values that nest too deep and copies that multiply the object are refused', () => {
  const doc = { spec: { ports: [{ number: 1 }] } };
  const deep = JSON.parse(`${'['.repeat(98)}${']'.repeat(98)}`);
  assert.deepEqual(shapeOf(applyJsonPatch(doc, [{ op: 'add', path: '/spec/x', value: deep }])).depth, 100);
  assert.throws(() => applyJsonPatch(doc, [{ op: 'add', path: '/spec/x', value: [deep] }]), {
    code: 'Invalid',
    message: /would nest the object more than 100 levels deep/,
  });
  const copies = Array.from({ length: 30 }, () => ({ op: 'copy', from: '/spec', path: '/spec/ports/-' }));
  assert.throws(() => applyJsonPatch(doc, copies), { code: 'BadRequest', message: /copy operations duplicate/ });
  const many = Array.from({ length: 10_001 }, () => ({ op: 'test', path: '/spec', value: doc.spec }));
  assert.throws(() => applyJsonPatch(doc, many), { code: 'BadRequest', message: /at most 10000 operations/ });
});
