import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseManifests } from './codec.js';
import { lineOf } from './lines.js';

const SEED = `apiVersion: networking.istio.io/v1alpha3
kind: ServiceEntry
metadata:
  name: mysql-external
spec:
  hosts:
  - mysqldb.example.com
  addresses:
  - 192.0.2.10/32
  ports:
  - name: tcp
    number: 3306
    protocol: tcp
  location: MESH_EXTERNAL
`;

test('a YAML document becomes a resource that remembers file, document and field lines', () => {
  const { resources, findings } = parseManifests(`# leading comment\n---\n${SEED}`, 'se.yaml');
  assert.deepEqual(findings, []);
  assert.equal(resources.length, 1);
  const r = resources[0]!;
  assert.deepEqual(r.source, { file: 'se.yaml', document: 0, line: 3 }, 'a comment before --- opens no document');
  assert.equal(lineOf(r, 'spec.ports[0].protocol'), 15);
  assert.equal(lineOf(r, 'spec.hosts[0]'), 9);
  assert.equal(lineOf(r, 'spec.resolution'), 7, 'a missing field falls back to its nearest written ancestor');
  assert.equal(JSON.stringify(r).includes('lines'), false, 'the line table does not leak into JSON');
});

test('kind: List is expanded and each item keeps its own lines', () => {
  const text = `apiVersion: v1
kind: List
items:
- apiVersion: v1
  kind: Namespace
  metadata:
    name: a
- apiVersion: v1
  kind: Namespace
  metadata:
    name: b
`;
  const { resources, findings } = parseManifests(text, 'list.yaml');
  assert.deepEqual(findings, []);
  assert.deepEqual(
    resources.map((r) => [r.metadata.name, r.source.line, lineOf(r, 'metadata.name')]),
    [
      ['a', 4, 7],
      ['b', 8, 11],
    ],
  );
});

test('JSON input parses with lines', () => {
  const json = JSON.stringify({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'x' } }, null, 2);
  const { resources, findings } = parseManifests(json, 'ns.json');
  assert.deepEqual(findings, []);
  assert.equal(lineOf(resources[0]!, 'metadata.name'), 5);
});

test('JSON: escapes decode, a syntax error or duplicate key is reported with its line', () => {
  const ok = parseManifests(
    '{\n  "apiVersion": "v1",\n  "kind": "Namespace",\n  "metadata": {"name": "a\\u0062"}\n}',
    'a.json',
  );
  assert.deepEqual(ok.findings, []);
  assert.equal(ok.resources[0]?.metadata.name, 'ab');
  assert.equal(lineOf(ok.resources[0]!, 'metadata.name'), 4);
  const broken = parseManifests(
    '{\n  "apiVersion": "v1",\n  "kind": "Namespace",\n  "metadata": {"name": "a",}\n  oops\n}',
    'b.json',
  );
  assert.ok(broken.findings.length > 0 && broken.findings.every((f) => f.code === 'YAML0001'));
  const dup = parseManifests('{"kind": "Namespace",\n"kind": "Pod"}', 'c.json');
  assert.deepEqual(
    dup.findings.map((f) => [f.code, f.source?.line]),
    [['YAML0001', 2]],
  );
});
