/** `sluice analyze` as a user runs it: the real bin/sluice launcher, as a separate process. */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { fileURLToPath } from 'node:url';

const SLUICE = fileURLToPath(new URL('../../bin/sluice', import.meta.url));
const dir = mkdtempSync(join(tmpdir(), 'sluice-cli-analyze-'));
after(() => rmSync(dir, { recursive: true, force: true }));

function sluice(args: string[], input?: string) {
  // Run from an unrelated directory: the launcher must find the repository by itself.
  const r = spawnSync(SLUICE, args, {
    cwd: dir,
    input,
    encoding: 'utf8',
    env: { ...process.env, NO_COLOR: '' },
    timeout: 60_000,
  });
  return { code: r.status, out: r.stdout, err: r.stderr };
}

function write(name: string, text: string | Buffer): string {
  const path = join(dir, name);
  writeFileSync(path, text);
  return path;
}

const SEED_SE = `apiVersion: networking.istio.io/v1alpha3
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

test('the seed ServiceEntry analyses clean: exit 0', () => {
  const r = sluice(['analyze', '-f', write('seed.yaml', SEED_SE)]);
  assert.equal(r.code, 0, r.out + r.err);
  assert.match(r.out, /No validation issues found/);
  assert.doesNotMatch(r.out, /\u001b\[/, 'no colour when stdout is not a terminal');
});

test('a duplicate port name: exit 1, file:line, path and message', () => {
  const bad = SEED_SE.replace('  location:', '  - name: tcp\n    number: 3307\n  location:');
  const r = sluice(['analyze', '-f', write('dup.yaml', bad)]);
  assert.equal(r.code, 1);
  assert.match(r.out, /ServiceEntry default\/mysql-external/);
  assert.match(r.out, /Error \[SLC0208\] spec\.ports\[1\]\.name \(.*dup\.yaml:14\)/);
  assert.match(r.out, /port name "tcp" is already used by spec\.ports\[0\]/);
});

test('warnings alone exit 0', () => {
  const noAddresses = SEED_SE.replace('  addresses:\n  - 192.0.2.10/32\n', '');
  const r = sluice(['analyze', '-f', write('warn.yaml', noAddresses)]);
  assert.equal(r.code, 0, r.out);
  assert.match(r.out, /Warning \[IST0134\]/);
});

test('a directory is read recursively and analysed as one set', () => {
  const sub = join(dir, 'tree', 'nested');
  spawnSync('mkdir', ['-p', sub]);
  write('tree/se.yaml', SEED_SE);
  write(
    'tree/nested/vs.json',
    JSON.stringify(
      {
        apiVersion: 'networking.istio.io/v1',
        kind: 'VirtualService',
        metadata: { name: 'db' },
        spec: { hosts: ['mysqldb.example.com'], tcp: [{ route: [{ destination: { host: 'nowhere.example.com' } }] }] },
      },
      null,
      2,
    ),
  );
  const r = sluice(['analyze', '-f', join(dir, 'tree')]);
  assert.equal(r.code, 1);
  assert.match(r.out, /Error \[IST0101\] spec\.tcp\[0\]\.route\[0\]\.destination\.host \(.*vs\.json:\d+\)/);
});

test('stdin with -f - and JSON output', () => {
  const r = sluice(
    ['analyze', '-f', '-', '-o', 'json'],
    'apiVersion: v1\nkind: Service\nmetadata: {name: db}\nspec:\n  ports: "3306"\n',
  );
  assert.equal(r.code, 1);
  const body = JSON.parse(r.out) as {
    findings: { code: string; path: string; source: { file: string; line: number } }[];
    summary: { errors: number };
  };
  assert.deepEqual(
    body.findings.map((f) => [f.code, f.path, f.source.file, f.source.line]),
    [['SLC0004', 'spec.ports', '<stdin>', 5]],
  );
  assert.equal(body.summary.errors, 1);
});

test('malformed input: syntax error, unknown kind, empty file, binary garbage — exit 1 with file and line', () => {
  const cases: [string, string | Buffer, RegExp][] = [
    ['syntax.yaml', 'apiVersion: v1\nkind: Namespace\nmetadata:\n  name: [x\n', /YAML0001.*syntax\.yaml:\d+/s],
    [
      'kind.yaml',
      'apiVersion: v1\nkind: Deploymnet\nmetadata: {name: x}\n',
      /SLC0002.*kind\.yaml:2\).*did you mean Deployment\?/s,
    ],
    ['empty.yaml', '', /YAML0003.*empty\.yaml:1/s],
    ['garbage.yaml', Buffer.from([0x7f, 0x45, 0x4c, 0x46, 0x02, 0x01, 0x00, 0x00, 0x0a]), /YAML0004.*garbage\.yaml:1/s],
  ];
  for (const [name, text, pattern] of cases) {
    const r = sluice(['analyze', '-f', write(name, text)]);
    assert.equal(r.code, 1, name);
    assert.match(r.out, pattern, name);
  }
});

test('a missing file is an error, and -f is required', () => {
  const missing = sluice(['analyze', '-f', join(dir, 'nope.yaml')]);
  assert.equal(missing.code, 1);
  assert.match(missing.out, /YAML0007.*nope\.yaml: cannot read: no such file or directory/s);
  const none = sluice(['analyze']);
  assert.notEqual(none.code, 0);
  assert.match(none.err, /required option '-f, --filename <path>'/);
});

test('--help shows examples; version prints the version', () => {
  const help = sluice(['analyze', '--help']);
  assert.equal(help.code, 0);
  assert.match(help.out, /Examples:\n\s+sluice analyze -f/);
  const version = sluice(['version', '-o', 'json']);
  assert.equal(version.code, 0);
  assert.match((JSON.parse(version.out) as { version: string }).version, /^\d+\.\d+\.\d+/);
});
