/**
 * The resource commands of the `sluice` CLI as a user runs them: `sluice up` as a real process,
 * then apply/get/describe/delete through bin/sluice, with kubectl v1.20.2 reading the same state.
 */
import assert from 'node:assert/strict';
import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { fileURLToPath } from 'node:url';

const SLUICE = fileURLToPath(new URL('../../bin/sluice', import.meta.url));
const KUBECTL = fileURLToPath(new URL('../../.cache/kubectl/usr/bin/kubectl', import.meta.url));

let dir: string;
let dataDir: string;
let up: ChildProcess;
let upOut = '';
let kubeconfig: string;

interface Run {
  code: number;
  out: string;
  err: string;
}

function run(cmd: string, args: string[], input = '', env: Record<string, string> = {}): Promise<Run> {
  return new Promise((resolve) => {
    const child = execFile(
      cmd,
      args,
      {
        cwd: dir,
        timeout: 60_000,
        env: {
          PATH: process.env['PATH'] ?? '/usr/bin:/bin',
          HOME: join(dir, 'home'),
          NO_COLOR: '1',
          SLUICE_KUBECONFIG: kubeconfig,
          ...env,
        },
      },
      (err, out, errOut) => resolve({ code: err ? Number((err as { code?: number }).code ?? 1) : 0, out, err: errOut }),
    );
    child.stdin?.end(input);
  });
}

const sluice = (args: string[], input = '', env: Record<string, string> = {}) => run(SLUICE, args, input, env);
const kubectl = (args: string[], input = '') => run(KUBECTL, ['--kubeconfig', kubeconfig, ...args], input);

async function storedNames(kind: string): Promise<string[]> {
  const r = await sluice(['get', kind, '-o', 'json']);
  assert.equal(r.code, 0, r.err);
  return (JSON.parse(r.out).items as { metadata: { name: string } }[]).map((o) => o.metadata.name).sort();
}

function write(name: string, text: string): string {
  writeFileSync(join(dir, name), text);
  return name;
}

/** Bookinfo's own manifest (reviews → v3, ratings → v2-mysql), as the article applies it. */
const VS = readFileSync(
  new URL('../../samples/bookinfo/networking/virtual-service-ratings-mysql.yaml', import.meta.url),
  'utf8',
);

const SE = `apiVersion: networking.istio.io/v1alpha3
kind: ServiceEntry
metadata:
  name: mysql-external
spec:
  hosts:
  - mysqldb.example.com
  addresses:
  - 10.233.78.200/32
  ports:
  - name: tcp
    number: 3306
    protocol: tcp
  location: MESH_EXTERNAL
`;

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'slt-api-cli-'));
  dataDir = join(dir, 'data');
  up = spawn(SLUICE, ['up', '--data-dir', dataDir, '--listen', '127.0.0.1:0', '--xds-listen', '127.0.0.1:0'], {
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { PATH: process.env['PATH'] ?? '/usr/bin:/bin', HOME: join(dir, 'home') },
  });
  let upErr = '';
  up.stderr?.on('data', (c: Buffer) => (upErr += c.toString()));
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`sluice up did not start:\n${upOut}\n${upErr}`)), 30_000);
    up.stdout?.on('data', (c: Buffer) => {
      upOut += c.toString();
      if (upOut.includes('export KUBECONFIG=')) {
        clearTimeout(timer);
        resolve();
      }
    });
    up.on('exit', (code) => reject(new Error(`sluice up exited with ${code}:\n${upErr}`)));
  });
  kubeconfig = join(dataDir, 'kubeconfig');
});

after(() => {
  if (up && up.exitCode === null) up.kill('SIGKILL');
  rmSync(dir, { recursive: true, force: true });
});

test('sluice up prints the kubeconfig to use; sluice kubeconfig says the same', async () => {
  assert.match(upOut, /API: {8}https:\/\/127\.0\.0\.1:\d+\n/);
  assert.ok(upOut.includes(`kubeconfig: ${kubeconfig}\n`));
  assert.ok(upOut.includes(`\nexport KUBECONFIG=${kubeconfig}\n`));
  const kc = readFileSync(kubeconfig, 'utf8');
  assert.match(kc, /certificate-authority-data: \S+/);
  assert.match(kc, /token: \S{20,}/);
  assert.match(kc, /current-context: sluice/);
  const r = await sluice(['kubeconfig', '--data-dir', dataDir]);
  assert.equal(r.out, `export KUBECONFIG=${kubeconfig}\n`);
});

test('apply, get, describe and delete, the way the article uses kubectl', async (t) => {
  await t.test('apply creates, then reports unchanged and configured', async () => {
    const vs = await sluice(['apply', '-f', write('virtual-service-ratings-mysql.yaml', VS)]);
    assert.equal(vs.code, 0, vs.err);
    assert.equal(
      vs.out,
      'virtualservice.networking.istio.io/reviews created\nvirtualservice.networking.istio.io/ratings created\n',
    );
    const se = await sluice(['apply', '-f', '-'], SE);
    assert.equal(se.code, 0, se.err);
    assert.equal(se.out, 'serviceentry.networking.istio.io/mysql-external created\n');
    const again = await sluice(['apply', '-f', '-'], SE);
    assert.equal(again.out, 'serviceentry.networking.istio.io/mysql-external unchanged\n');
    const changed = await sluice(['apply', '-f', '-'], SE.replace('10.233.78.200/32', '10.233.78.201/32'));
    assert.equal(changed.out, 'serviceentry.networking.istio.io/mysql-external configured\n');
    const yaml = await sluice(['get', 'serviceentry', 'mysql-external', '-o', 'yaml']);
    assert.match(yaml.out, /^ {2}- 10\.233\.78\.201\/32$/m);
    assert.match(yaml.out, /^apiVersion: networking\.istio\.io\/v1beta1$/m);
  });

  await t.test('kubectl sees what sluice applied, and sluice accepts what kubectl applied', async () => {
    const k = await kubectl(['get', 'se']);
    assert.match(k.out, /^mysql-external\s+\["mysqldb\.example\.com"\]\s+MESH_EXTERNAL\s+\d+s$/m);
    const kApply = await kubectl(['apply', '-f', '-'], SE);
    assert.equal(kApply.out, 'serviceentry.networking.istio.io/mysql-external configured\n');
    assert.equal(kApply.err, '', 'kubectl found its last-applied annotation');
    const s = await sluice(['apply', '-f', '-'], SE);
    assert.equal(s.out, 'serviceentry.networking.istio.io/mysql-external unchanged\n');
  });

  await t.test('get prints the server columns; -A adds NAMESPACE; -o name', async () => {
    const se = await sluice(['get', 'se']);
    assert.equal(se.code, 0, se.err);
    assert.match(
      se.out,
      /^NAME\s+HOSTS\s+LOCATION\s+RESOLUTION\s+AGE\nmysql-external\s+\["mysqldb\.example\.com"\]\s+MESH_EXTERNAL\s+\d+s\n$/,
    );
    const vs = await sluice(['get', 'virtualservices', '-A']);
    assert.match(
      vs.out,
      /^NAMESPACE\s+NAME\s+GATEWAYS\s+HOSTS\s+AGE\ndefault\s+ratings\s+\["ratings"\]\s+\d+s\ndefault\s+reviews\s+\["reviews"\]\s+\d+s\n$/,
    );
    const names = await sluice(['get', 'vs', '-o', 'name']);
    assert.equal(names.out, 'virtualservice.networking.istio.io/ratings\nvirtualservice.networking.istio.io/reviews\n');
    const none = await sluice(['get', 'dr']);
    assert.equal(none.code, 0);
    assert.equal(none.err, 'No resources found in default namespace.\n');
    const unknown = await sluice(['get', 'gateways']);
    assert.equal(unknown.code, 1);
    assert.equal(unknown.err, 'error: the server doesn\'t have a resource type "gateways"\n');
  });

  await t.test('describe shows the spec in kubectl layout', async () => {
    const d = await sluice(['describe', 'se', 'mysql-external']);
    assert.equal(d.code, 0, d.err);
    assert.match(d.out, /^Name: {9}mysql-external\nNamespace: {4}default\n/);
    assert.match(d.out, /^Kind: {9}ServiceEntry$/m);
    assert.match(d.out, /^ {2}Ports:\n {4}Name: {6}tcp\n {4}Number: {4}3306\n {4}Protocol: {2}tcp$/m);
    assert.doesNotMatch(d.out, /last-applied-configuration/);
  });

  await t.test('delete -f and delete KIND NAME; a missing object is an error', async () => {
    const f = await sluice(['delete', '-f', 'virtual-service-ratings-mysql.yaml']);
    assert.equal(f.code, 0, f.err);
    assert.equal(
      f.out,
      'virtualservice.networking.istio.io "reviews" deleted\nvirtualservice.networking.istio.io "ratings" deleted\n',
    );
    const se = await sluice(['delete', 'serviceentry', 'mysql-external']);
    assert.equal(se.out, 'serviceentry.networking.istio.io "mysql-external" deleted\n');
    assert.deepEqual(await storedNames('se'), []);
    assert.deepEqual(await storedNames('vs'), []);
    const again = await sluice(['delete', 'serviceentry', 'mysql-external']);
    assert.equal(again.code, 1);
    assert.equal(
      again.err,
      'Error from server (NotFound): serviceentries.networking.istio.io "mysql-external" not found\n',
    );
  });
});

test('an invalid manifest in a file set: findings with file and line, exit 1, nothing applied', async () => {
  const good = write('good.yaml', SE.replace('mysql-external', 'good-entry'));
  const bad = write(
    'bad.yaml',
    SE.replace('mysql-external', 'bad-entry').replace('  location: MESH_EXTERNAL', '  location: MESH_SOMEWHERE'),
  );
  const r = await sluice(['apply', '-f', good, '-f', bad]);
  assert.equal(r.code, 1);
  assert.equal(r.out, '');
  assert.match(r.err, /bad\.yaml/);
  assert.match(r.err, /:14\b|line 14/, 'the line of spec.location');
  assert.match(r.err, /spec\.location/);
  assert.match(r.err, /nothing was applied/);
  assert.deepEqual(await storedNames('se'), []);
});

test('a change the server rejects fails the whole set before anything is stored', async () => {
  const svc = `apiVersion: v1
kind: Service
metadata:
  name: mysqldb
spec:
  clusterIP: 10.96.0.10
  ports:
  - name: tcp
    port: 3306
`;
  const r = await sluice(['apply', '-f', write('set.yaml', `${SE}---\n${svc}`)]);
  assert.equal(r.code, 1);
  assert.match(
    r.err,
    /set\.yaml:\d+: The Service "mysqldb" is invalid: spec\.clusterIP: Invalid value: "10\.96\.0\.10"/,
  );
  assert.match(r.err, /nothing was applied/);
  assert.deepEqual(await storedNames('se'), []);
  assert.deepEqual(await storedNames('svc'), []);
});

test('--dry-run reports what would change and stores nothing', async () => {
  const r = await sluice(['apply', '--dry-run', '-f', '-'], SE);
  assert.equal(r.code, 0, r.err);
  assert.equal(r.out, 'serviceentry.networking.istio.io/mysql-external created (server dry run)\n');
  assert.deepEqual(await storedNames('se'), []);
});

test('without a reachable control plane the commands say what to do', async () => {
  const r = await sluice(['get', 'se'], '', { SLUICE_KUBECONFIG: join(dir, 'missing-kubeconfig') });
  assert.equal(r.code, 1);
  assert.match(r.err, /no kubeconfig at .*missing-kubeconfig: start a control plane with "sluice up"/);
});

test('sluice up stops cleanly on SIGTERM', async () => {
  const exited = new Promise<number | null>((resolve) => up.on('exit', (code) => resolve(code)));
  up.kill('SIGTERM');
  assert.equal(await exited, 0);
});
