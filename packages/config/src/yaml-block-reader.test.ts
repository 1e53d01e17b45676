/**
 * Differential tests of the fast YAML reader against the `yaml` package: for every input, reading
 * with the fast path (and its fallbacks) gives exactly what the `yaml` package gives — values,
 * document indexes, first lines, the line of every field path, problems — and each document the
 * fast reader accepts on its own equals the library's reading of it. Inputs: the testdata corpus,
 * the Bookinfo manifests, generated ServiceEntries, hand-written edge cases, and fuzz mutations.
 * Set SLUICE_FUZZ_SEED to replay a failing run.
 */
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { test } from 'node:test';
import { stringify } from 'yaml';
import { parseManifests } from './codec.js';
import { lineOf, resolveLineTable } from './lines.js';
import { mutateText, mutateValue, prng } from './testing/mutations.js';
import { readBlockYamlDocument, resolvePlainScalar, splitYamlStream } from './yaml-block-reader.js';
import { type RawDocument, readYamlDocuments, readYamlDocumentsWithLibrary } from './yaml-documents.js';

const root = new URL('../../../', import.meta.url);

function yamlFiles(dir: URL): { name: string; text: string }[] {
  return readdirSync(dir, { withFileTypes: true, recursive: true })
    .filter((e) => e.isFile() && /\.ya?ml$/.test(e.name))
    .map((e) => {
      const url = new URL(`${e.parentPath}/${e.name}`, 'file://');
      return { name: url.pathname.slice(root.pathname.length), text: readFileSync(url, 'utf8') };
    })
    .sort((a, b) => a.name.localeCompare(b.name));
}

const CORPUS = [
  ...yamlFiles(new URL('packages/config/testdata/', root)),
  ...yamlFiles(new URL('samples/bookinfo/', root)).filter((f) => !f.name.includes('node_modules')),
];

/** Counts of documents the fast reader accepted and declined (the rest are comments-only parts). */
function fastCoverage(text: string): { accepted: number; declined: number } | undefined {
  const segments = splitYamlStream(text);
  if (!segments) return undefined;
  let accepted = 0;
  let declined = 0;
  for (const [i, s] of segments.entries()) {
    const doc = readBlockYamlDocument(text, s, i);
    if (doc === undefined) declined++;
    else if (doc !== null) accepted++;
  }
  return { accepted, declined };
}

/** The library's reading of `text`, and the fast path's; each accepted segment checked on its own. */
function assertSameReading(text: string, label: string): void {
  const expected = readYamlDocumentsWithLibrary(text);
  const actual = readYamlDocuments(text);
  assert.deepStrictEqual(actual, expected, `${label}: the fast path reads differently from the yaml package`);
  // Deferred line tables (what parseManifests uses) resolve to the same tables.
  const deferred = readYamlDocuments(text, { deferLines: true }).map((d) => ({
    ...d,
    lines: resolveLineTable(d.lines),
  }));
  assert.deepStrictEqual(deferred, expected, `${label}: deferred line tables differ`);
  const segments = splitYamlStream(text);
  if (!segments) return;
  for (const segment of segments) {
    const alone = readBlockYamlDocument(text, segment, 0);
    if (!alone) continue;
    const lib = readYamlDocumentsWithLibrary(text.slice(segment.start, segment.end))[0] as RawDocument;
    const by = segment.line - 1;
    assert.deepStrictEqual(alone.value, lib.value, `${label}: document at line ${segment.line}: values differ`);
    assert.deepStrictEqual(
      [...resolveLineTable(alone.lines)].map(([p, l]) => [p, l - by]),
      [...resolveLineTable(lib.lines)],
      `${label}: document at line ${segment.line}: line tables differ`,
    );
  }
}

function seYaml(i: number): string {
  return `apiVersion: networking.istio.io/v1
kind: ServiceEntry
metadata:
  name: db-${i}
  namespace: team-${i % 50}
  labels:
    app.kubernetes.io/name: "db-${i}"
spec:
  hosts:
  - db-${i}.example.com
  addresses:
  - 10.0.${(i >> 8) & 255}.${i & 255}/32
  ports:
  - name: tcp
    number: ${3000 + i}
    protocol: TCP
  location: MESH_EXTERNAL
  resolution: NONE
`;
}

test('the corpus and Bookinfo manifests read the same through the fast path, which accepts them', () => {
  assert.ok(CORPUS.length >= 15, `found only ${CORPUS.length} files`);
  let accepted = 0;
  let declined = 0;
  for (const { name, text } of CORPUS) {
    assertSameReading(text, name);
    const c = fastCoverage(text);
    accepted += c?.accepted ?? 0;
    declined += c?.declined ?? 0;
    // The same file saved with CRLF line ends reads the same, and as much of it takes the fast path.
    const crlf = text.replaceAll('\n', '\r\n');
    assertSameReading(crlf, `${name} (CRLF)`);
    assert.deepEqual(fastCoverage(crlf), c, `${name} (CRLF): fast path coverage`);
  }
  // The corpus is written in the common subset: the fast path must actually be the one reading it.
  assert.ok(accepted > 50 && declined <= accepted / 10, `fast path accepted ${accepted}, declined ${declined}`);
  const bookinfo = readFileSync(new URL('samples/bookinfo/platform/kube/bookinfo.yaml', root), 'utf8');
  assert.equal(fastCoverage(bookinfo)?.declined, 0, 'every Bookinfo platform document takes the fast path');
});

test('generated ServiceEntries read the same, with lines, through parseManifests', () => {
  const text = Array.from({ length: 200 }, (_, i) => seYaml(i)).join('---\n');
  assertSameReading(text, 'service entries');
  assert.deepEqual(fastCoverage(text), { accepted: 200, declined: 0 });
  const { resources, findings } = parseManifests(text, 'se.yaml');
  assert.deepEqual(findings, []);
  const r = resources[7]!;
  assert.equal(r.source.line, 7 * 19 + 1);
  assert.equal(lineOf(r, 'spec.ports[0].protocol'), 7 * 19 + 16);
  assert.equal(r.metadata.labels?.['app.kubernetes.io/name'], 'db-7');
});

test('a document outside the subset is read by the yaml package alone; the others stay on the fast path', () => {
  const anchored = 'apiVersion: v1\nkind: Namespace\nmetadata: &m\n  name: a\nextra: *m\n';
  const text = `${seYaml(1)}---\n${anchored}---\n${seYaml(2)}`;
  assertSameReading(text, 'mixed');
  assert.deepEqual(fastCoverage(text), { accepted: 2, declined: 1 });
  const { resources } = parseManifests(text, 'mixed.yaml');
  assert.deepEqual(resources[1]?.['extra' as keyof (typeof resources)[1]], { name: 'a' });
  assert.equal(lineOf(resources[1]!, 'metadata.name'), 19 + 4);
  assert.equal(lineOf(resources[2]!, 'spec.hosts[0]'), 25 + 10);
});

// Each case is a whole stream; the fast path may decline any of it, but never read it differently.
const EDGE_CASES: string[] = [
  '',
  '\n\n',
  '# only a comment\n',
  '# c\n---\n',
  '---\n---\n',
  'a: 1\n---\n',
  'a: 1\n--- # comment\n# c\n',
  '--- # c\n  a: 1\n',
  '  a: 1\nb: 2\n',
  'a: 1\n...\n',
  '%YAML 1.2\n---\na: 1\n',
  '--- a\n',
  '--- |\n  text\n',
  '---\t\na: 1\n',
  'a: 1\r\nb: 2\r\n',
  'a: 1\rb: 2\n',
  'a: 1\r\n\r\n---\r\n# c\r\n---  \r\nb: [x, "y"]  \r\nc: \'z\' # c\r\n',
  'a: x \r\nb: 2\nc:\r\n- 1\r\n',
  'a: 1\r\n--- x\r\n',
  'a: 1\r',
  'a:\n- 1\n-\n- 2\n',
  'a:\n- 1\n-  # c\n- 2\n',
  'a:\n  -  x\n  -\n    b: 1\n',
  'a:\n  - # c\n    b: 1\n',
  '- a\n- b: 1\n  c: 2\n',
  '- - a\n  - b\n- c\n',
  '-\n  - a\n',
  '- a\nb: 1\n',
  'k: "x" # c\n',
  'k: "x"# c\n',
  "k: 'it''s'\n",
  "'k''s': v\n",
  'k: "a\\"b"\n',
  'k: "a\\tb"\n',
  'k: "multi\n  line"\n',
  'k: plain\n  continued\n',
  'k:\n  plain\n',
  'k:\n  plain\n  more\n',
  'k: a#b\nl: a #b\nm: a  b   \n',
  'regex: ^/api/[0-9]+$\nbr: a]\ncomma: a,b\ncurly: x{y}\n',
  'url: http://x:80/y\ntime: 12:30\n',
  'k: a: b\n',
  '- a: b: c\n',
  'k: - b\n',
  'k: []\nl: {}\nm: [ ]\nn: [1, 2]\no: {a: 1}\np: []  # c\n',
  'f: {a: 1, b: [x, "y", \'z\'], c: {}}\ng: [[a], {b: c}, []]\n- x\n',
  'f: {a: 1, b: [x, "y", \'z\'], c: {}}\ng: [[a], {b: c}, []]  # c\nh: { a: 1 }\n',
  'f: [a, b,]\n',
  'f: {a: 1,}\n',
  'f: [a, , b]\n',
  'f: {a:b}\n',
  'f: {a: b:c, d: http://x:80/y}\n',
  'f: [http://x, a:b, a:, a:[b]]\n',
  'f: {a: 1\n',
  'f: [a,\n  b]\n',
  'f: {"a": 1, \'b\': 2}\n',
  'f: {"a":1}\n',
  'f: [a: b]\n',
  'f: {a}\n',
  'f: {a: 1, a: 2}\n',
  'f: {1: a}\n',
  'f: [- a]\n',
  'f: [-1, -a, a b, a  b ]\n',
  'f: [a #c]\n',
  'f: [a]x\n',
  'f: [a]# c\n',
  'f: [a] # c\n',
  '- [a, b]\n- {c: d}\n- [a]: b\n',
  'f: {a: [}\n',
  'f: [a]: b\n',
  '[a, b]\n',
  '{a: b}\n',
  'f: [~, null, true, 0x1F, .5, "1"]\n',
  'k: &a 1\nl: *a\n',
  'k: !!str 1\n',
  'k: |\n  a\n  b\n',
  'k: >-\n  a\n',
  '? a\n: b\n',
  'a: 1\na: 2\n',
  '1: a\n',
  'true: x\n',
  'null: x\n',
  '~: x\n',
  '"1": a\n',
  '<<: {}\n',
  'key : v\n',
  'a#b: 1\n',
  'a #b: 1\n',
  'a:b: c\n',
  '__proto__: 1\nconstructor: {}\ntoString: x\n',
  'a: 1\n  b: 2\n',
  'a:\n  - x\n b: 1\n',
  'a:\n    b: 1\n  c: 2\n',
  'a:\n  b: 1\n   c: 2\n',
  'a:\n  b: 1\n\n   \n  # comment\n      # deeper comment\n  c: 2\n',
  'a: 1',
  'a:',
  '-',
  'plain scalar\n',
  '"quoted scalar"\n',
  'null\n',
  '- 1\n- 2\n',
  'a: é ü 漢字\n"ключ": значение\n',
  'a: \u00a0x\n',
  'a: x\u2028y\n',
  'a: x\u0085y\n',
  'a: \ufeffx\n',
  'a:\tb\n',
  `${'k'.repeat(1100)}: 1\n`,
  `a: ${'x'.repeat(5000)}\n`,
  'a: -\nb: -1\nc: -x\nd: ?x\ne: :x\n',
  [
    '0o17',
    '0x1F',
    '0X1F',
    '1e3',
    '1E+3',
    '.5',
    '1.',
    '.',
    '+1',
    '-1',
    '-0',
    '1_000',
    '0777',
    '09',
    '-.inf',
    '.Inf',
  ].join('\n'),
  'n:\n' +
    ['0o17', '0x1F', '1e3', '.5', '1.', '.', '+1', '-0', '1_000', '-.inf', '.NaN', '.nan', 'NaN', 'Yes', 'on', 'y']
      .concat(['~', 'NULL', 'Null', 'nULL', 'True', 'tRUE', 'FALSE', '0.0', '12345678901234567890', '1.5e-7'])
      .map((v) => `- ${v}`)
      .join('\n'),
  `deep:${Array.from({ length: 300 }, (_, i) => `\n${' '.repeat(i + 1)}k${i}:`).join('')} 1\n`,
  `${Array.from({ length: 300 }, (_, i) => `${' '.repeat(2 * i)}- `).join('\n')}x\n`,
];

test('edge cases read the same through the fast path as through the yaml package', () => {
  for (const text of EDGE_CASES) assertSameReading(text, JSON.stringify(text.slice(0, 80)));
  // The subset itself is covered: these are read by the fast path, not handed on.
  const accepted = ['a:\n- 1\n-\n- 2\n', "k: 'it''s'\n", 'regex: ^/api/[0-9]+$\n', 'a: é\n', '- - a\n  - b\n'];
  accepted.push('f: {a: 1, b: [x, "y"], c: {}}\ng: [[a], {b: c}, []]  # c\n', 'c: [{name: r, image: ratings:v1}]\n');
  for (const text of accepted) {
    assert.deepEqual(fastCoverage(text), { accepted: 1, declined: 0 }, JSON.stringify(text));
  }
  for (const text of ['k: &a 1\nl: *a\n', 'k: |\n  a\n', 'a: 1\na: 2\n', 'k: plain\n  continued\n', '1: a\n']) {
    assert.deepEqual(fastCoverage(text), { accepted: 0, declined: 1 }, JSON.stringify(text));
  }
});

test('plain scalars resolve as the core schema does', () => {
  const cases = ['0o17', '0x1F', '1e3', '.5', '1.50', '+3', '-0', '09', '.inf', '-.Inf', '.NaN', 'Null', '~', 'True'];
  for (const s of cases) {
    const lib = (readYamlDocumentsWithLibrary(`- ${s}\n`)[0]?.value as unknown[] | undefined)?.[0];
    assert.ok(Object.is(resolvePlainScalar(s), lib), `${s}: ${String(resolvePlainScalar(s))} vs ${String(lib)}`);
  }
});

const seed = Number(process.env['SLUICE_FUZZ_SEED'] ?? Date.now() % 2 ** 31);

test(`fuzz mutations read the same through the fast path (seed ${seed})`, () => {
  const pick = prng(seed);
  const bases = CORPUS.filter(
    (f) => f.name.startsWith('packages/config/testdata/') || f.name.endsWith('bookinfo.yaml'),
  );
  const objects = bases.flatMap((f) => readYamlDocumentsWithLibrary(f.text).map((d) => d.value));
  for (let i = 0; i < 200; i++) {
    let text: string;
    if (pick(2) === 0) {
      const docs = Array.from({ length: 1 + pick(4) }, () => objects[pick(objects.length)]);
      text = docs.map((d) => stringify(pick(2) === 0 ? mutateValue(d, pick) : d)).join('---\n');
    } else {
      text = bases[pick(bases.length)]?.text ?? '';
      for (let k = 0, n = 1 + pick(5); k < n; k++) text = mutateText(text, pick);
    }
    if (pick(4) === 0) text = text.replaceAll('\n', '\r\n');
    try {
      assertSameReading(text, `iteration ${i}`);
    } catch (err) {
      assert.fail(
        `iteration ${i} (replay with SLUICE_FUZZ_SEED=${seed}): ${(err as Error).message}\n--- input ---\n${text.slice(0, 3000)}`,
      );
    }
  }
});
