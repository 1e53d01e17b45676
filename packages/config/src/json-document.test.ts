/**
 * Differential tests of the JSON fast path against the `yaml` package (JSON is YAML): whatever the
 * JSON reader accepts, it reads exactly as the `yaml` package does — value, first line, the line
 * of every field path — with the table built at once or on first use. Set SLUICE_FUZZ_SEED to
 * replay a failing run.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { parseManifests } from './codec.js';
import { readJsonDocument } from './json-document.js';
import { lineOf, resolveLineTable } from './lines.js';
import { mutateText, prng } from './testing/mutations.js';
import { readYamlDocumentsWithLibrary } from './yaml-documents.js';

const root = new URL('../../../', import.meta.url);
const OBJECTS = [
  'packages/config/testdata/analyze/seed-clean.yaml',
  'packages/config/testdata/validate/virtual-service.yaml',
  'packages/config/testdata/validate/kubernetes.yaml',
  'samples/bookinfo/platform/kube/bookinfo.yaml',
].flatMap((f) =>
  readYamlDocumentsWithLibrary(readFileSync(new URL(f, root), 'utf8'))
    .map((d) => d.value)
    .filter((v) => v !== undefined),
);

/** Asserts the JSON reader, if it accepts `text`, reads it as the yaml package does; returns whether it did. */
function assertSameAsLibrary(text: string, label: string): boolean {
  const fast = readJsonDocument(text);
  if (!fast) return false;
  const lib = readYamlDocumentsWithLibrary(text);
  assert.equal(lib.length, 1, `${label}: the yaml package sees one document`);
  assert.deepStrictEqual(fast, lib[0], `${label}: the JSON reader reads differently from the yaml package`);
  const deferred = readJsonDocument(text, true);
  assert.ok(deferred, `${label}: deferred reading accepts what eager reading accepts`);
  assert.deepStrictEqual(resolveLineTable(deferred.lines), fast.lines, `${label}: deferred line table differs`);
  return true;
}

test('JSON of the corpus objects reads as the yaml package reads it, indented or not', () => {
  assert.ok(OBJECTS.length > 20);
  for (const [i, value] of OBJECTS.entries()) {
    for (const indent of [2, 0, 4]) {
      assert.ok(assertSameAsLibrary(JSON.stringify(value, null, indent), `object ${i}, indent ${indent}`));
    }
  }
  const list = JSON.stringify({ apiVersion: 'v1', kind: 'List', items: OBJECTS }, null, 2);
  assert.ok(assertSameAsLibrary(list, 'List'));
});

test('a JSON List keeps each item line at once and its field lines on first use', () => {
  const list = JSON.stringify({ apiVersion: 'v1', kind: 'List', items: OBJECTS }, null, 2);
  const deferred = readJsonDocument(list, true);
  const eager = readJsonDocument(list);
  assert.ok(deferred && eager);
  assert.deepEqual(
    deferred.itemLines,
    OBJECTS.map((_, i) => (eager.lines as ReadonlyMap<string, number>).get(`items[${i}]`)),
  );
  const { resources, findings } = parseManifests(list, 'list.json');
  assert.deepEqual(findings, []);
  assert.equal(resources.length, OBJECTS.length);
  const table = eager.lines as ReadonlyMap<string, number>;
  for (const [i, r] of resources.entries()) {
    assert.equal(r.source.line, table.get(`items[${i}]`));
    assert.equal(lineOf(r, 'metadata.name'), table.get(`items[${i}].metadata.name`), `item ${i}`);
  }
});

test('keys named like Object.prototype members become own properties, as in the yaml package', () => {
  const text = '{"__proto__": {"polluted": true}, "constructor": 1, "toString": "x"}';
  assert.ok(assertSameAsLibrary(text, 'prototype keys'));
  const value = readJsonDocument(text)?.value as Record<string, unknown>;
  assert.equal(Object.getPrototypeOf(value), Object.prototype);
  assert.deepEqual(Object.keys(value), ['__proto__', 'constructor', 'toString']);
});

const seed = Number(process.env['SLUICE_FUZZ_SEED'] ?? Date.now() % 2 ** 31);

test(`mutated JSON is rejected or read as the yaml package reads it (seed ${seed})`, () => {
  const pick = prng(seed);
  let accepted = 0;
  for (let i = 0; i < 300; i++) {
    let text = JSON.stringify(OBJECTS[pick(OBJECTS.length)], null, pick(3) * 2);
    for (let k = 0, n = 1 + pick(3); k < n; k++) text = mutateText(text, pick);
    if (!text.trimStart().startsWith('{')) continue;
    try {
      if (assertSameAsLibrary(text, `iteration ${i}`)) accepted++;
    } catch (err) {
      assert.fail(
        `replay with SLUICE_FUZZ_SEED=${seed}: ${(err as Error).message}\n--- input ---\n${text.slice(0, 2000)}`,
      );
    }
  }
  assert.ok(accepted > 0, 'some mutations stay valid JSON');
});
