/**
 * The control plane as a whole: config applied with kubectl reaches a proxy over xDS, and the
 * API's authenticated debug endpoints show that proxy's sync state and what it was sent.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import https from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { type ControlPlane, startControlPlane } from '@sluice/controlplane';
import { TypeUrl } from '@sluice/xds';
import pino from 'pino';
import YAML from 'yaml';
import { AdsTestClient, decodeAll } from '../../packages/controlplane/src/xds/ads-client.js';

const KUBECTL = new URL('../../.cache/kubectl/usr/bin/kubectl', import.meta.url).pathname;
const PROXY_ID = 'sidecar~10.233.78.15~ratings-v2-mysql-0.default~default.svc.cluster.local';

let dir: string;
let cp: ControlPlane;
let token: string;
let ca: Buffer;
let client: AdsTestClient | undefined;

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'slt-api-xds-'));
  cp = await startControlPlane({
    dataDir: join(dir, 'data'),
    apiPort: 0,
    xdsPort: 0,
    logger: pino({ level: 'silent' }),
  });
  const kc = YAML.parse(readFileSync(cp.kubeconfigPath, 'utf8'));
  token = kc.users[0].user.token;
  ca = Buffer.from(kc.clusters[0].cluster['certificate-authority-data'], 'base64');
});

after(async () => {
  client?.close();
  await cp?.destroy();
  rmSync(dir, { recursive: true, force: true });
});

function get(path: string, bearer: string | null = token): Promise<{ status: number; body: unknown }> {
  const url = new URL(cp.apiUrl);
  return new Promise((resolve, reject) => {
    https
      .get(
        { host: url.hostname, port: url.port, path, ca, headers: bearer ? { authorization: `Bearer ${bearer}` } : {} },
        (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (c: Buffer) => chunks.push(c));
          res.on('end', () =>
            resolve({ status: res.statusCode ?? 0, body: JSON.parse(Buffer.concat(chunks).toString()) }),
          );
        },
      )
      .on('error', reject);
  });
}

function kubectlApply(yaml: string): Promise<number> {
  return new Promise((resolve) => {
    const c = execFile(
      KUBECTL,
      ['--kubeconfig', cp.kubeconfigPath, 'apply', '-f', '-'],
      { env: { HOME: join(dir, 'home'), PATH: '/usr/bin:/bin' }, timeout: 30_000 },
      (err) => resolve(err ? 1 : 0),
    );
    c.stdin?.end(yaml);
  });
}

test('a ServiceEntry applied with kubectl reaches a connected proxy; syncz and config_dump show it', async () => {
  assert.equal((await get('/debug/syncz', null)).status, 401, 'debug endpoints need the token');
  assert.deepEqual((await get('/debug/syncz')).body, []);
  assert.equal((await get('/debug/config_dump?proxyID=nobody')).status, 404);

  client = new AdsTestClient({
    address: `127.0.0.1:${cp.xdsPort}`,
    nodeId: PROXY_ID,
    metadata: { NAMESPACE: 'default', NAME: 'ratings-v2-mysql-0', LABELS: { app: 'ratings', version: 'v2-mysql' } },
  });
  client.send({ typeUrl: TypeUrl.Listener });
  client.ack(await client.next(TypeUrl.Listener));

  const applied = await kubectlApply(`apiVersion: networking.istio.io/v1alpha3
kind: ServiceEntry
metadata:
  name: mysql-external
spec:
  hosts: [mysqldb.example.com]
  addresses: [10.233.78.200/32]
  ports: [{name: tcp, number: 3306, protocol: tcp}]
  location: MESH_EXTERNAL
`);
  assert.equal(applied, 0);
  let listeners: string[] = [];
  for (let i = 0; i < 20 && !listeners.includes('10.233.78.200_3306'); i++) {
    const r = await client.next(TypeUrl.Listener);
    client.ack(r);
    listeners = decodeAll(r).map((l) => l['name'] as string);
  }
  assert.ok(
    listeners.includes('10.233.78.200_3306'),
    `the proxy was sent a listener for 10.233.78.200:3306: ${listeners}`,
  );

  const wait = await get('/debug/wait_for_acks?timeoutSeconds=5');
  assert.equal(wait.status, 200);
  assert.deepEqual((wait.body as { acked: string[] }).acked, [PROXY_ID]);

  const syncz = (await get('/debug/syncz')).body as { id: string; podName: string }[];
  assert.deepEqual(
    syncz.map((s) => [s.id, s.podName]),
    [[PROXY_ID, 'ratings-v2-mysql-0']],
  );
  const dump = await get(`/debug/config_dump?proxyID=${encodeURIComponent(PROXY_ID)}`);
  assert.equal(dump.status, 200);
  assert.match(JSON.stringify(dump.body), /10\.233\.78\.200_3306/);
  assert.match(JSON.stringify(dump.body), /10\.233\.78\.200/);
});
