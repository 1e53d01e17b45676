/** Broken input: every case yields findings naming file and line, and nothing throws. */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { MAX_MANIFEST_CHARS, parseManifests } from './codec.js';
import { readManifestPaths } from './files.js';
import { validateResource } from './validate/index.js';

function codes(text: string, file = 'in.yaml') {
  const { resources, findings } = parseManifests(text, file);
  return { resources, findings, list: findings.map((f) => `${f.code}@${f.source?.line}`) };
}

test('a YAML syntax error names file and line', () => {
  const { list, findings } = codes('apiVersion: v1\nkind: Namespace\nmetadata:\n  name: [a\n');
  assert.ok(list.length > 0 && list.every((c) => c.startsWith('YAML0001@')));
  assert.match(findings[0]!.message, /^in\.yaml:\d+: /);
});

test('a duplicate key is a syntax error at its line', () => {
  const { list } = codes('apiVersion: v1\nkind: Namespace\nkind: Pod\nmetadata: {name: x}\n');
  assert.deepEqual(list, ['YAML0001@3']);
});

test('one broken document does not hide the good ones around it', () => {
  const { resources, list } = codes(
    'apiVersion: v1\nkind: Namespace\nmetadata: {name: a}\n---\nfoo: [\n---\napiVersion: v1\nkind: Namespace\nmetadata: {name: b}\n',
  );
  assert.deepEqual(
    resources.map((r) => r.metadata.name),
    ['a', 'b'],
  );
  assert.ok(list.length >= 1 && list.every((c) => c.startsWith('YAML0001@')));
});

test('empty input and comment-only input are "no objects"', () => {
  assert.deepEqual(codes('').list, ['YAML0003@1']);
  assert.deepEqual(codes('# nothing here\n---\n').list, ['YAML0003@1']);
});

test('a scalar or a list document is not an object', () => {
  assert.deepEqual(codes('just text\n').list, ['YAML0002@1']);
  assert.deepEqual(codes('- a\n- b\n').list, ['YAML0002@1']);
  assert.deepEqual(codes('kind: List\napiVersion: v1\nitems:\n- 3\n').list, ['YAML0002@4']);
});

test('binary garbage is refused with the line of the first control character', () => {
  const garbage = `apiVersion: v1\n${String.fromCharCode(0, 1, 2, 255, 7)}\n`;
  const { list, findings } = codes(garbage, 'blob.bin');
  assert.deepEqual(list, ['YAML0004@2']);
  assert.match(findings[0]!.message, /blob\.bin: not a text manifest: control character U\+0000 at line 2/);
});

test('random bytes never throw and always produce findings', () => {
  let seed = 7;
  const rand = () => {
    seed = (seed * 1103515245 + 12345) & 0x7fffffff;
    return seed;
  };
  for (let i = 0; i < 50; i++) {
    const text = Array.from({ length: 200 }, () => String.fromCharCode(32 + (rand() % 95))).join('');
    const { findings, resources } = parseManifests(text, 'rand.txt');
    for (const r of resources) validateResource(r);
    assert.ok(findings.length + resources.length > 0);
  }
});

test('input above the size limit is refused without parsing', () => {
  const { list } = codes('a'.repeat(MAX_MANIFEST_CHARS + 1));
  assert.deepEqual(list, ['YAML0005@1']);
});

test('a 10 MB file is read whole and a problem at its end gets its exact line', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'sluice-config-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const doc = (i: number) =>
    `apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: c${i}\ndata:\n  blob: "${'x'.repeat(2000)}"\n---\n`;
  const parts: string[] = [];
  let size = 0;
  for (let i = 0; size < 10 * 1024 * 1024; i++) {
    const d = doc(i);
    parts.push(d);
    size += d.length;
  }
  const lines = parts.join('').split('\n').length;
  writeFileSync(
    join(dir, 'big.yaml'),
    `${parts.join('')}apiVersion: v1\nkind: Namespace\nmetadata:\n  name: Bad_Name\n`,
  );
  const { resources, findings } = await readManifestPaths([join(dir, 'big.yaml')]);
  assert.deepEqual(findings, []);
  assert.equal(resources.length, parts.length + 1);
  const last = validateResource(resources.at(-1)!);
  assert.deepEqual(
    last.map((f) => [f.code, f.source?.line]),
    [['SLC0101', lines + 3]],
  );
});

test('readManifestPaths: directories recurse, missing paths and non-UTF-8 files become findings', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'sluice-config-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  writeFileSync(join(dir, 'b.yaml'), 'apiVersion: v1\nkind: Namespace\nmetadata: {name: b}\n');
  writeFileSync(join(dir, 'a.json'), '{"apiVersion":"v1","kind":"Namespace","metadata":{"name":"a"}}');
  writeFileSync(join(dir, 'notes.txt'), 'not a manifest');
  writeFileSync(join(dir, 'latin1.yml'), Buffer.from([0x61, 0x3a, 0x20, 0x0a, 0x62, 0x3a, 0x20, 0xe9, 0x0a]));
  const { resources, findings } = await readManifestPaths([dir, join(dir, 'missing.yaml')]);
  assert.deepEqual(
    resources.map((r) => r.metadata.name),
    ['a', 'b'],
  );
  assert.deepEqual(
    findings.map((f) => [f.code, f.source?.file.replace(dir, ''), f.source?.line]),
    [
      ['YAML0004', '/latin1.yml', 2],
      ['YAML0007', '/missing.yaml', 1],
    ],
  );
});
