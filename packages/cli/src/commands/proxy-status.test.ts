import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { type ControlPlane, startControlPlane } from '@sluice/controlplane';
import { TypeUrl } from '@sluice/xds';
import pino from 'pino';
import { AdsTestClient, decodeAll } from '../../../controlplane/src/xds/ads-client.js';

const run = promisify(execFile);
const main = fileURLToPath(new URL('../main.ts', import.meta.url));

function sluice(args: string[]) {
  return run(process.execPath, ['--import', 'tsx', main, ...args], { timeout: 30_000 });
}

describe('proxy-status and proxy-config against a running control plane', () => {
  let cp: ControlPlane;
  let client: AdsTestClient;
  let dir: string;
  before(async () => {
    dir = mkdtempSync(path.join(tmpdir(), 'sluice-proxy-status-'));
    cp = await startControlPlane({ dataDir: dir, apiPort: 0, xdsPort: 0, logger: pino({ level: 'silent' }) });
    await cp.store.create({
      apiVersion: 'networking.istio.io/v1alpha3',
      kind: 'ServiceEntry',
      metadata: { name: 'mysql-external', namespace: 'default' },
      spec: {
        hosts: ['mysqldb.example'],
        addresses: ['10.233.77.250/32'],
        ports: [{ name: 'tcp', number: 3306, protocol: 'TCP' }],
      },
    });
    client = new AdsTestClient({
      address: `127.0.0.1:${cp.xdsPort}`,
      nodeId: 'sidecar~10.233.77.15~ratings-v2-mysql-0.default~default.svc.cluster.local',
      metadata: { LABELS: { app: 'ratings', version: 'v2-mysql' } },
    });
    client.send({ typeUrl: TypeUrl.Listener });
    // Ack listener sets until the one with the entry arrives (the first may predate its write).
    for (let i = 0; i < 10; i++) {
      const lds = await client.next(TypeUrl.Listener);
      client.ack(lds);
      if (decodeAll(lds).some((l) => l.name === '10.233.77.250_3306')) break;
    }
    client.send({ typeUrl: TypeUrl.Cluster });
    const cds = await client.next(TypeUrl.Cluster);
    client.send({ typeUrl: TypeUrl.Cluster, version: '', nonce: cds.nonce, error: 'cluster x: unsupported field' });
    await cp.xds.waitForAcks({ timeoutMs: 2000 });
  });
  after(async () => {
    client?.close();
    await cp?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  test('proxy-status shows LDS synced and CDS nacked with its error', async () => {
    const { stdout } = await sluice(['proxy-status', '--kubeconfig', cp.kubeconfigPath]);
    const row = stdout.split('\n').find((l) => l.startsWith('ratings-v2-mysql-0.default'));
    assert.ok(row, stdout);
    assert.match(row, /NACKED/);
    assert.match(row, /SYNCED/);
    assert.match(stdout, /CDS NACK: cluster x: unsupported field/);
  });

  test('proxy-config listeners shows the listener of the external address', async () => {
    const { stdout } = await sluice([
      'proxy-config',
      'listeners',
      'ratings-v2-mysql-0.default',
      '--kubeconfig',
      cp.kubeconfigPath,
    ]);
    assert.match(
      stdout,
      /10\.233\.77\.250_3306\s+10\.233\.77\.250:3306\s+port 3306\s+Cluster: outbound\|3306\|\|mysqldb\.example/,
    );
    const json = await sluice([
      'proxy-config',
      'clusters',
      'ratings-v2-mysql-0',
      '-o',
      'json',
      '--kubeconfig',
      cp.kubeconfigPath,
    ]);
    const clusters = JSON.parse(json.stdout) as { name: string }[];
    assert.ok(clusters.some((c) => c.name === 'outbound|3306||mysqldb.example'));
  });

  test('an unknown pod is an error naming the connected ones', async () => {
    await assert.rejects(
      sluice(['proxy-config', 'listeners', 'nope', '--kubeconfig', cp.kubeconfigPath]),
      (e: { stderr: string }) => /no connected proxy "nope" \(connected: ratings-v2-mysql-0\.default\)/.test(e.stderr),
    );
  });
});
