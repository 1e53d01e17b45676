/**
 * The node agent's lifecycle promises: a crashed process is restarted with backoff and counted in
 * RESTARTS; `sluice get pods` prints kubectl's columns; the sidecar's DNS answerer serves mesh names
 * and its access log names the host the workload resolved for a blocked IP; deleting a Deployment
 * stops its processes and removes their network namespaces.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { promisify } from 'node:util';
import { eventually, startTestMesh, type TestMesh } from './lib/mesh.js';

const run = promisify(execFile);
const SLUICE = path.resolve(import.meta.dirname, '../../bin/sluice');
const SUBNET = '10.233.126.0/24';
const EXT_IP = '10.233.126.250';
let m: TestMesh;

before(async () => {
  m = await startTestMesh({ name: 'e2elc', subnet: SUBNET, agent: true });
  await m.apply({
    apiVersion: 'sluice.dev/v1alpha1',
    kind: 'MeshConfig',
    metadata: { name: 'mesh' },
    spec: { outboundTrafficPolicy: { mode: 'REGISTRY_ONLY' } },
  });
});
after(async () => {
  await m?.close();
});

function deployment(name: string, script: string) {
  return {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name, namespace: 'default' },
    spec: {
      replicas: 1,
      selector: { matchLabels: { app: name } },
      template: {
        metadata: { labels: { app: name } },
        spec: { containers: [{ name, image: `local/${name}`, command: ['node', '-e', script] }] },
      },
    },
  };
}

const podOf = (owner: string) => m.node?.agent.list().find((p) => p.plan.owner === owner);

async function sluiceGetPods(): Promise<string> {
  const { stdout } = await run(SLUICE, ['get', 'pods', '--kubeconfig', m.cp.kubeconfigPath], { encoding: 'utf8' });
  return stdout;
}

test('a crashing process is restarted with backoff and RESTARTS counts it', async () => {
  await m.apply(deployment('crasher', "console.log('started'); setTimeout(() => process.exit(3), 300);"));
  assert.ok(
    await eventually(() => (podOf('crasher')?.status?.containers[0]?.restartCount ?? 0) >= 2, 30_000),
    'restarted at least twice',
  );
  const log = readFileSync(path.join(podOf('crasher')!.runner.logDirectory, 'crasher.log'), 'utf8');
  assert.ok((log.match(/^started$/gm) ?? []).length >= 2, 'the process ran again after it exited');
  assert.ok((log.match(/container exited \(code 3/g) ?? []).length >= 2, 'each exit is recorded with its code');
  // The table as kubectl prints it: READY counts the sidecar too, STATUS shows the crash loop.
  assert.ok(
    await eventually(async () => /crasher-\S+\s+\d\/2\s+\S+\s+[2-9]\d*\s+\S+/.test(await sluiceGetPods()), 15_000),
    await sluiceGetPods(),
  );
  const header = (await sluiceGetPods()).split('\n')[0] ?? '';
  assert.match(header, /^NAME\s+READY\s+STATUS\s+RESTARTS\s+AGE/);
});

test('DNS: mesh names resolve through the sidecar, unknown names get NXDOMAIN, and a blocked IP is logged with its name', async () => {
  await m.apply({
    apiVersion: 'networking.istio.io/v1beta1',
    kind: 'ServiceEntry',
    metadata: { name: 'ext-db', namespace: 'default' },
    spec: {
      hosts: ['db.external.example'],
      addresses: [`${EXT_IP}/32`],
      ports: [{ name: 'tcp', number: 5999, protocol: 'TCP' }],
      location: 'MESH_EXTERNAL',
      resolution: 'STATIC',
      endpoints: [{ address: EXT_IP }],
    },
  });
  const script = `
const dns = require('dns');
const net = require('net');
dns.lookup('db.external.example', { family: 4 }, (err, addr) => {
  console.log('resolved', err ? err.code : addr);
  dns.lookup('nothing.invalid.example', { family: 4 }, (e2) => {
    console.log('unknown', e2 ? e2.code : 'resolved?!');
    // Port 7777 is not in the ServiceEntry: the connection to the resolved IP is blocked.
    const s = net.connect(7777, addr);
    s.on('error', () => {});
    s.on('close', () => console.log('closed'));
  });
});`;
  const r = await m.run('dnsprobe', '10.233.126.150', ['node', '-e', script]);
  assert.match(r.stdout, new RegExp(`resolved ${EXT_IP.replaceAll('.', '\\.')}`));
  assert.match(r.stdout, /unknown ENOTFOUND/);
  const blocked = r.sidecarLog
    .split('\n')
    .filter((l) => l.includes('"decision":"blackhole"'))
    .map((l) => JSON.parse(l));
  assert.equal(blocked.length, 1);
  assert.equal(blocked[0].downstream_local_address, `${EXT_IP}:7777`);
  assert.equal(blocked[0].dns_name, 'db.external.example', 'the access log names the host the workload resolved');
  await m.remove('ServiceEntry', 'ext-db');
});

test('deleting a Deployment stops its processes and removes their namespaces and Pod objects', async () => {
  await m.apply(deployment('sleeper', 'setInterval(() => {}, 1000);'));
  assert.ok(await eventually(() => podOf('sleeper')?.status?.phase === 'Running', 30_000));
  const pod = podOf('sleeper')!;
  const netns = `${m.mesh.netnsPrefix}${pod.plan.name}`;
  assert.ok(existsSync(`/var/run/netns/${netns}`), 'the pod has its namespace');
  await m.remove('Deployment', 'sleeper');
  assert.ok(await eventually(() => !existsSync(`/var/run/netns/${netns}`), 20_000), 'namespace removed');
  assert.equal(podOf('sleeper'), undefined);
  assert.ok(
    await eventually(
      async () => !(await m.client.list('Pod', 'default')).items.some((p) => p.metadata.name === pod.plan.name),
      10_000,
    ),
    'Pod object deleted',
  );
});
