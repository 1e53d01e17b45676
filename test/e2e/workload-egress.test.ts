/**
 * A workload in the mesh reaching a server outside it: blocked under REGISTRY_ONLY, allowed by a
 * TCP ServiceEntry for the server's /32, blocked again when the entry is deleted — with one
 * long-running workload whose code never changes and knows nothing of the mesh. Also: the blocked
 * attempt in the access log, fail-closed when the sidecar is SIGKILLed, no leak to other ports.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { after, before, test } from 'node:test';
import type { TestHost } from '@sluice/capture';
import { eventually, startTestMesh, type TestMesh } from './lib/mesh.js';

const SUBNET = '10.233.122.0/24';
const EXT_IP = '10.233.122.250';
const OTHER_IP = '10.233.122.251';
const PORTS = [7000, 7001, 7002];

// The workload: connects to the external server every 150 ms and prints what happened. Ordinary code.
const PROBER = `
const net = require('net');
let i = 0;
setInterval(() => {
  const n = ++i;
  const s = net.connect(7000, '${EXT_IP}');
  let d = '';
  s.setTimeout(1000, () => s.destroy());
  s.on('data', (c) => (d += c));
  s.on('error', (e) => console.log(n, 'error', e.code));
  s.on('close', () => console.log(n, d ? 'ok ' + d.trim() : 'closed-empty'));
}, 150);
`;

// A server that counts accepted connections per port and answers "hello".
const COUNTER = (ip: string) => `
const net = require('net');
for (const port of ${JSON.stringify(PORTS)}) {
  net.createServer((s) => { console.log('accept', port); s.end('hello'); }).listen(port, '${ip}');
}
console.log('listening');
`;

let m: TestMesh;
let ext: TestHost;
let other: TestHost;
const accepts: Record<string, number> = {};

function startCounter(host: TestHost, ip: string): Promise<void> {
  const p = host.exec(['node', '-e', COUNTER(ip)], { stdio: 'pipe' });
  return new Promise((resolve) => {
    p.stdout?.on('data', (d: Buffer) => {
      for (const line of d.toString().split('\n')) {
        if (line === 'listening') resolve();
        const mm = /^accept (\d+)/.exec(line);
        if (mm) accepts[`${ip}:${mm[1]}`] = (accepts[`${ip}:${mm[1]}`] ?? 0) + 1;
      }
    });
  });
}

const total = () => Object.values(accepts).reduce((a, b) => a + b, 0);

before(async () => {
  m = await startTestMesh({ name: 'e2ewl', subnet: SUBNET, agent: true });
  ext = await m.addTestHost('ext', EXT_IP);
  other = await m.addTestHost('other', OTHER_IP);
  await startCounter(ext, EXT_IP);
  await startCounter(other, OTHER_IP);
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

function podLogs(): { app: string; sidecar: string } {
  const pod = m.node?.agent.list().find((p) => p.plan.owner === 'prober');
  if (!pod) return { app: '', sidecar: '' };
  const dir = pod.runner.logDirectory;
  const read = (f: string) => {
    try {
      return readFileSync(path.join(dir, f), 'utf8');
    } catch {
      return '';
    }
  };
  return { app: read('prober.log'), sidecar: read('sidecar.log') };
}

const lastLine = (log: string) =>
  log
    .trim()
    .split('\n')
    .filter((l) => /^\d+ /.test(l))
    .pop() ?? '';

const SERVICE_ENTRY = {
  apiVersion: 'networking.istio.io/v1alpha3',
  kind: 'ServiceEntry',
  metadata: { name: 'ext-server', namespace: 'default' },
  spec: {
    hosts: ['ext.example'],
    addresses: [`${EXT_IP}/32`],
    ports: [{ name: 'tcp', number: 7000, protocol: 'TCP' }],
    location: 'MESH_EXTERNAL',
  },
};

test('a blocked workload reaches the server only while a TCP ServiceEntry allows it', async () => {
  await m.apply({
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name: 'prober', namespace: 'default' },
    spec: {
      replicas: 1,
      selector: { matchLabels: { app: 'prober' } },
      template: {
        metadata: { labels: { app: 'prober', version: 'v1' } },
        spec: { containers: [{ name: 'prober', image: 'local/prober', command: ['node', '-e', PROBER] }] },
      },
    },
  });
  // 1. Blocked: the connection is closed at once with nothing received, and the server sees nothing.
  assert.ok(await eventually(() => /closed-empty/.test(podLogs().app), 30_000), 'the prober runs and is blocked');
  assert.equal(total(), 0, 'no connection reached any server while blocked');
  const blocked = podLogs()
    .sidecar.split('\n')
    .filter((l) => l.includes('BlackHoleCluster'));
  assert.ok(blocked.length > 0, 'the access log has the blocked connection');
  const entry = JSON.parse(blocked[0] as string);
  assert.equal(entry.downstream_local_address, `${EXT_IP}:7000`);
  assert.equal(entry.source_workload, 'prober-v1');
  assert.equal(entry.response_flags, 'UH');

  // 2. Allowed within moments of the apply, without any restart.
  await m.apply(SERVICE_ENTRY);
  assert.ok(await eventually(() => /ok hello$/.test(lastLine(podLogs().app)), 10_000), 'allowed after the apply');
  assert.ok((accepts[`${EXT_IP}:7000`] ?? 0) > 0);

  // 3. Blocked again after the delete.
  await m.remove('ServiceEntry', 'ext-server');
  assert.ok(await eventually(() => /closed-empty$/.test(lastLine(podLogs().app)), 10_000), 'blocked after delete');
  const before = accepts[`${EXT_IP}:7000`] ?? 0;
  await new Promise((r) => setTimeout(r, 800));
  assert.equal(accepts[`${EXT_IP}:7000`] ?? 0, before, 'no connection got through after the delete');
});

test('a SIGKILLed sidecar fails closed and recovers when the agent restarts it', async () => {
  await m.apply(SERVICE_ENTRY);
  try {
    assert.ok(await eventually(() => /ok hello$/.test(lastLine(podLogs().app)), 10_000));
    const pod = m.node?.agent.list().find((p) => p.plan.owner === 'prober');
    assert.ok(pod);
    const logBefore = podLogs().app.length;
    const beforeKill = accepts[`${EXT_IP}:7000`] ?? 0;
    pod.runner.killSidecar('SIGKILL');
    // With the sidecar gone, the capture rules still redirect to a port nobody listens on.
    assert.ok(
      await eventually(() => /error ECONNREFUSED/.test(podLogs().app.slice(logBefore)), 5_000),
      'cut off while the sidecar is down',
    );
    const refusedAt = podLogs().app.slice(logBefore).indexOf('error ECONNREFUSED');
    assert.ok(refusedAt >= 0);
    // Every connection that reached the server after the kill came after the restart (an "ok" line
    // following the refusals); none slipped past the capture rules while the sidecar was down.
    assert.ok(await eventually(() => /ok hello$/.test(lastLine(podLogs().app)), 20_000), 'recovers after restart');
    const sinceKill = podLogs().app.slice(logBefore).trim().split('\n');
    const firstRefused = sinceKill.findIndex((l) => l.includes('error ECONNREFUSED'));
    const lastRefused = sinceKill.findLastIndex((l) => l.includes('error ECONNREFUSED'));
    assert.ok(firstRefused >= 0 && lastRefused >= firstRefused);
    for (const l of sinceKill.slice(firstRefused, lastRefused + 1))
      assert.doesNotMatch(l, /ok hello/, 'no success while down');
    assert.ok((accepts[`${EXT_IP}:7000`] ?? 0) > beforeKill);
  } finally {
    await m.remove('ServiceEntry', 'ext-server');
  }
});

test('no leak: every other port and host stays unreachable from a REGISTRY_ONLY workload', async () => {
  // The prober of the first tests is blocked again before counting starts (no late accept of its own).
  assert.ok(await eventually(() => /closed-empty$/.test(lastLine(podLogs().app)), 10_000));
  await new Promise((r) => setTimeout(r, 500));
  const before = total();
  const targets = [
    ...PORTS.map((p) => `${EXT_IP}:${p}`),
    ...PORTS.map((p) => `${OTHER_IP}:${p}`),
    `${m.mesh.gateway}:22`,
    `${m.mesh.gateway}:${m.cp.apiPort}`,
    '203.0.113.7:80',
    '198.51.100.1:443',
    '240.240.0.1:3306',
  ];
  const script = `
const net = require('net');
const targets = ${JSON.stringify(targets)};
let pending = targets.length;
for (const t of targets) {
  const [h, p] = t.split(':');
  const s = net.connect(Number(p), h);
  let d = '';
  s.setTimeout(1500, () => s.destroy());
  s.on('data', (c) => (d += c));
  s.on('error', () => {});
  s.on('close', () => { console.log(t, d ? 'GOT ' + d : 'nothing'); if (--pending === 0) process.exit(0); });
}`;
  const r = await m.run('leakprobe', '10.233.122.150', ['node', '-e', script]);
  assert.equal(r.exitCode, 0, r.stderr);
  const lines = r.stdout.trim().split('\n');
  assert.equal(lines.length, targets.length);
  for (const l of lines) assert.match(l, / nothing$/, `no bytes from ${l}`);
  assert.equal(total(), before, 'no server accepted a connection');
  const blockedLines = r.sidecarLog.split('\n').filter((l) => l.includes('"decision":"blackhole"'));
  assert.equal(blockedLines.length, targets.length, 'every attempt was black-holed and logged');
});
