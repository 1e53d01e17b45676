/**
 * Scale-out: two control-plane replicas sharing one real etcd. What kubectl applies through one
 * replica is served, listed and watched through the other.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { type ControlPlane, startControlPlane } from '@sluice/controlplane';
import { type EtcdProcess, startEtcd } from '@sluice/store';
import pino from 'pino';

const KUBECTL = new URL('../../.cache/kubectl/usr/bin/kubectl', import.meta.url).pathname;

let dir: string;
let etcd: EtcdProcess;
let a: ControlPlane;
let b: ControlPlane;

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'slt-api-etcd-'));
  etcd = await startEtcd();
  const common = {
    store: 'etcd' as const,
    etcdEndpoints: etcd.endpoints,
    apiPort: 0,
    xdsPort: 0,
    logger: pino({ level: 'silent' }),
  };
  a = await startControlPlane({ ...common, dataDir: join(dir, 'a') });
  b = await startControlPlane({ ...common, dataDir: join(dir, 'b') });
});

after(async () => {
  await a?.destroy();
  await b?.destroy();
  await etcd?.stop();
  rmSync(dir, { recursive: true, force: true });
});

function kubectl(cp: ControlPlane, args: string[], input = ''): Promise<{ code: number; out: string; err: string }> {
  return new Promise((resolve) => {
    const child = execFile(
      KUBECTL,
      ['--kubeconfig', cp.kubeconfigPath, ...args],
      { env: { HOME: join(dir, `home-${cp.apiPort}`), PATH: '/usr/bin:/bin' }, timeout: 30_000 },
      (err, out, errOut) => resolve({ code: err ? 1 : 0, out, err: errOut }),
    );
    child.stdin?.end(input);
  });
}

const SE = `apiVersion: networking.istio.io/v1alpha3
kind: ServiceEntry
metadata:
  name: mysql-external
spec:
  hosts: [mysqldb.example.com]
  addresses: [10.233.78.200/32]
  ports: [{name: tcp, number: 3306, protocol: tcp}]
  location: MESH_EXTERNAL
`;

test('applied through replica A, visible and unchanged through replica B, deleted through B', async () => {
  const created = await kubectl(a, ['apply', '-f', '-'], SE);
  assert.equal(created.code, 0, created.err);
  assert.equal(created.out, 'serviceentry.networking.istio.io/mysql-external created\n');
  const got = await kubectl(b, ['get', 'se']);
  assert.match(got.out, /^mysql-external\s+\["mysqldb\.example\.com"\]\s+MESH_EXTERNAL\s+\d+s$/m);
  const again = await kubectl(b, ['apply', '-f', '-'], SE);
  assert.equal(again.out, 'serviceentry.networking.istio.io/mysql-external unchanged\n');
  const svc = await kubectl(
    b,
    ['apply', '-f', '-'],
    'apiVersion: v1\nkind: Service\nmetadata:\n  name: ratings\nspec:\n  ports:\n  - port: 9080\n',
  );
  assert.equal(svc.code, 0, svc.err);
  const ip = await kubectl(a, ['get', 'svc', 'ratings', '-o', 'jsonpath={.spec.clusterIP}']);
  assert.match(ip.out, /^240\.241\.\d+\.\d+$/);
  const deleted = await kubectl(b, ['delete', 'se', 'mysql-external']);
  assert.equal(deleted.out, 'serviceentry.networking.istio.io "mysql-external" deleted\n');
  const gone = await kubectl(a, ['get', 'se', 'mysql-external']);
  assert.equal(gone.code, 1);
  assert.match(gone.err, /NotFound/);
});
