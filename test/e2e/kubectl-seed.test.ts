/**
 * The kubectl steps of Istio's "Consuming External TCP Services", run verbatim with the real
 * kubectl v1.20.2 (only `--kubeconfig` added) against a Sluice control plane, checking what kubectl
 * prints and what the store holds afterwards.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { type ControlPlane, startControlPlane } from '@sluice/controlplane';
import pino from 'pino';

const KUBECTL_DIR = new URL('../../.cache/kubectl/usr/bin/', import.meta.url).pathname;

/** Bookinfo's own manifest (reviews → v3, ratings → v2-mysql), as the article applies it. */
const VS_RATINGS_MYSQL = readFileSync(
  new URL('../../samples/bookinfo/networking/virtual-service-ratings-mysql.yaml', import.meta.url),
  'utf8',
);

const DR_ALL = `apiVersion: networking.istio.io/v1alpha3
kind: DestinationRule
metadata:
  name: ratings
spec:
  host: ratings
  subsets:
  - name: v1
    labels:
      version: v1
  - name: v2-mysql
    labels:
      version: v2-mysql
---
apiVersion: networking.istio.io/v1alpha3
kind: DestinationRule
metadata:
  name: reviews
spec:
  host: reviews
  subsets:
  - name: v1
    labels:
      version: v1
  - name: v3
    labels:
      version: v3
`;

const RATINGS_V2_MYSQL = `apiVersion: apps/v1
kind: Deployment
metadata:
  name: ratings-v2-mysql
  labels:
    app: ratings
    version: v2-mysql
spec:
  replicas: 1
  selector:
    matchLabels:
      app: ratings
      version: v2-mysql
  template:
    metadata:
      labels:
        app: ratings
        version: v2-mysql
    spec:
      containers:
      - name: ratings
        image: docker.io/istio/examples-bookinfo-ratings-v2:1.16.2
        imagePullPolicy: IfNotPresent
        env:
          - name: DB_TYPE
            value: "mysql"
          - name: MYSQL_DB_HOST
            value: mysqldb.example.com
          - name: MYSQL_DB_PORT
            value: "3306"
          - name: MYSQL_DB_USER
            value: bookinfo
          - name: MYSQL_DB_PASSWORD
            value: password
        ports:
        - containerPort: 9080
`;

/** Step 2 of "Mesh-external service entry", exactly as the article writes it. */
const SERVICE_ENTRY_STEP = `kubectl apply -f - <<EOF
apiVersion: networking.istio.io/v1alpha3
kind: ServiceEntry
metadata:
  name: mysql-external
spec:
  hosts:
  - $MYSQL_DB_HOST
  addresses:
  - $MYSQL_DB_IP/32
  ports:
  - name: tcp
    number: $MYSQL_DB_PORT
    protocol: tcp
  location: MESH_EXTERNAL
EOF`;

let cp: ControlPlane;
let dir: string;

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs a shell command line with `kubectl` meaning kubectl v1.20.2 with `--kubeconfig` added. */
function sh(script: string, env: Record<string, string> = {}): Promise<Run> {
  const line = script.replace(/^kubectl /, `kubectl --kubeconfig ${cp.kubeconfigPath} `);
  return new Promise((resolve) => {
    execFile(
      'bash',
      ['-c', line],
      {
        cwd: dir,
        env: {
          PATH: `${KUBECTL_DIR}:/usr/bin:/bin`,
          HOME: join(dir, 'home'),
          KUBECACHEDIR: join(dir, 'kubecache'),
          ...env,
        },
        timeout: 30_000,
      },
      (err, stdout, stderr) =>
        resolve({ code: err ? Number((err as { code?: number }).code ?? 1) : 0, stdout, stderr }),
    );
  });
}

async function stored(kind: string, name: string) {
  return cp.store.get({ kind, namespace: 'default', name });
}

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'slt-api-seed-'));
  writeFileSync(join(dir, 'virtual-service-ratings-mysql.yaml'), VS_RATINGS_MYSQL);
  writeFileSync(join(dir, 'destination-rule-all.yaml'), DR_ALL);
  writeFileSync(join(dir, 'bookinfo-ratings-v2-mysql.yaml'), RATINGS_V2_MYSQL);
  cp = await startControlPlane({
    dataDir: join(dir, 'data'),
    apiPort: 0,
    xdsPort: 0,
    logger: pino({ level: 'silent' }),
  });
});

after(async () => {
  await cp?.destroy();
  rmSync(dir, { recursive: true, force: true });
});

const SE_ENV = { MYSQL_DB_HOST: 'mysqldb.example.com', MYSQL_DB_IP: '10.233.78.200', MYSQL_DB_PORT: '3306' };

test('the article, step by step, through kubectl', async (t) => {
  await t.test('apply the ratings-v2-mysql deployment and the default destination rules', async () => {
    const dep = await sh('kubectl apply -f bookinfo-ratings-v2-mysql.yaml');
    assert.equal(dep.code, 0, dep.stderr);
    assert.equal(dep.stdout, 'deployment.apps/ratings-v2-mysql created\n');
    const dr = await sh('kubectl apply -f destination-rule-all.yaml');
    assert.equal(dr.code, 0, dr.stderr);
    assert.equal(
      dr.stdout,
      'destinationrule.networking.istio.io/ratings created\ndestinationrule.networking.istio.io/reviews created\n',
    );
    assert.equal((await stored('Deployment', 'ratings-v2-mysql'))?.metadata.labels?.['version'], 'v2-mysql');
  });

  await t.test('kubectl apply -f virtual-service-ratings-mysql.yaml creates both virtual services', async () => {
    const r = await sh('kubectl apply -f virtual-service-ratings-mysql.yaml');
    assert.equal(r.code, 0, r.stderr);
    assert.equal(
      r.stdout,
      'virtualservice.networking.istio.io/reviews created\nvirtualservice.networking.istio.io/ratings created\n',
    );
    assert.equal(r.stderr, '');
    const ratings = await stored('VirtualService', 'ratings');
    assert.deepEqual(ratings?.spec, {
      hosts: ['ratings'],
      http: [{ route: [{ destination: { host: 'ratings', subset: 'v2-mysql' } }] }],
    });
    assert.match(ratings?.metadata.annotations?.['kubectl.kubernetes.io/last-applied-configuration'] ?? '', /v2-mysql/);
  });

  await t.test('kubectl apply -f - <<EOF (the mysql-external ServiceEntry)', async () => {
    const r = await sh(SERVICE_ENTRY_STEP, SE_ENV);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout, 'serviceentry.networking.istio.io/mysql-external created\n');
    const se = await stored('ServiceEntry', 'mysql-external');
    assert.deepEqual(se?.spec, {
      hosts: ['mysqldb.example.com'],
      addresses: ['10.233.78.200/32'],
      ports: [{ name: 'tcp', number: 3306, protocol: 'tcp' }],
      location: 'MESH_EXTERNAL',
    });
    assert.equal(se?.apiVersion, 'networking.istio.io/v1alpha3');
  });

  await t.test('kubectl get serviceentry mysql-external -o yaml shows what was applied', async () => {
    const r = await sh('kubectl get serviceentry mysql-external -o yaml');
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /^apiVersion: networking\.istio\.io\/v1beta1\nkind: ServiceEntry\nmetadata:\n/);
    for (const line of [
      '  name: mysql-external',
      '  namespace: default',
      '  - mysqldb.example.com',
      '  - 10.233.78.200/32',
      '    number: 3306',
      '    protocol: tcp',
      '  location: MESH_EXTERNAL',
      '  generation: 1',
    ])
      assert.ok(r.stdout.includes(`${line}\n`), `missing ${JSON.stringify(line)} in\n${r.stdout}`);
    assert.match(r.stdout, /creationTimestamp: "\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ"/);
    assert.match(r.stdout, /resourceVersion: "\d+"/);
    assert.match(r.stdout, /uid: [0-9a-f-]{36}/);
  });

  await t.test('kubectl get serviceentries / se print Istio columns', async () => {
    for (const cmd of ['kubectl get serviceentries', 'kubectl get se']) {
      const r = await sh(cmd);
      assert.equal(r.code, 0, r.stderr);
      const [header, row, ...rest] = r.stdout.trimEnd().split('\n');
      assert.match(header ?? '', /^NAME\s+HOSTS\s+LOCATION\s+RESOLUTION\s+AGE$/);
      assert.match(row ?? '', /^mysql-external\s+\["mysqldb\.example\.com"\]\s+MESH_EXTERNAL\s+\d+s$/);
      assert.equal(rest.length, 0);
    }
    const vs = await sh('kubectl get vs,dr -A');
    assert.equal(vs.code, 0, vs.stderr);
    assert.match(vs.stdout, /^NAMESPACE\s+NAME\s+GATEWAYS\s+HOSTS\s+AGE$/m);
    assert.match(vs.stdout, /^default\s+virtualservice\.networking\.istio\.io\/ratings\s+\["ratings"\]\s+\d+s$/m);
    assert.match(vs.stdout, /^default\s+destinationrule\.networking\.istio\.io\/reviews\s+reviews\s+\d+s$/m);
    const dep = await sh('kubectl get deployments');
    assert.match(dep.stdout, /^NAME\s+READY\s+UP-TO-DATE\s+AVAILABLE\s+AGE\nratings-v2-mysql\s+0\/1\s+0\s+0\s+\d+s\n$/);
  });

  await t.test('applying the same files again changes nothing', async () => {
    const before = await stored('ServiceEntry', 'mysql-external');
    const r = await sh(SERVICE_ENTRY_STEP, SE_ENV);
    assert.equal(r.stdout, 'serviceentry.networking.istio.io/mysql-external unchanged\n');
    assert.equal(r.stderr, '', 'no missing-annotation warning: annotations are stored as sent');
    const vs = await sh('kubectl apply -f virtual-service-ratings-mysql.yaml');
    assert.equal(
      vs.stdout,
      'virtualservice.networking.istio.io/reviews unchanged\nvirtualservice.networking.istio.io/ratings unchanged\n',
    );
    assert.equal(
      (await stored('ServiceEntry', 'mysql-external'))?.metadata.resourceVersion,
      before?.metadata.resourceVersion,
    );
  });

  await t.test('a modified entry is "configured" and removed fields disappear', async () => {
    const r = await sh(
      SERVICE_ENTRY_STEP.replace(
        '  location: MESH_EXTERNAL\n',
        '  location: MESH_EXTERNAL\n  resolution: STATIC\n  endpoints:\n  - address: 10.233.78.200\n',
      ),
      SE_ENV,
    );
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout, 'serviceentry.networking.istio.io/mysql-external configured\n');
    let se = await stored('ServiceEntry', 'mysql-external');
    assert.equal((se?.spec as { resolution?: string } | undefined)?.resolution, 'STATIC');
    assert.equal(se?.metadata.generation, 2);
    const back = await sh(SERVICE_ENTRY_STEP, SE_ENV);
    assert.equal(back.stdout, 'serviceentry.networking.istio.io/mysql-external configured\n');
    se = await stored('ServiceEntry', 'mysql-external');
    assert.equal(
      (se?.spec as { resolution?: string } | undefined)?.resolution,
      undefined,
      'the three-way patch removed resolution',
    );
    assert.equal((se?.spec as { endpoints?: unknown } | undefined)?.endpoints, undefined);
  });

  await t.test('kubectl delete -f virtual-service-ratings-mysql.yaml', async () => {
    const r = await sh('kubectl delete -f virtual-service-ratings-mysql.yaml');
    assert.equal(r.code, 0, r.stderr);
    assert.equal(
      r.stdout,
      'virtualservice.networking.istio.io "reviews" deleted\nvirtualservice.networking.istio.io "ratings" deleted\n',
    );
    assert.equal(await stored('VirtualService', 'reviews'), undefined);
    assert.equal(await stored('VirtualService', 'ratings'), undefined);
  });

  await t.test('kubectl delete -f bookinfo-ratings-v2-mysql.yaml', async () => {
    const r = await sh('kubectl delete -f bookinfo-ratings-v2-mysql.yaml');
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout, 'deployment.apps "ratings-v2-mysql" deleted\n');
  });

  await t.test('kubectl delete serviceentry mysql-external -n default, then it is gone', async () => {
    const r = await sh('kubectl delete serviceentry mysql-external -n default');
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout, 'serviceentry.networking.istio.io "mysql-external" deleted\n');
    assert.equal(await stored('ServiceEntry', 'mysql-external'), undefined);
    const again = await sh('kubectl delete serviceentry mysql-external');
    assert.equal(again.code, 1);
    assert.equal(
      again.stderr,
      'Error from server (NotFound): serviceentries.networking.istio.io "mysql-external" not found\n',
    );
    const get = await sh('kubectl get se');
    assert.equal(get.code, 0);
    assert.equal(get.stderr, 'No resources found in default namespace.\n');
  });
});
