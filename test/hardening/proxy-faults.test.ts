/**
 * Sidecar faults under live traffic. A node agent runs two streamers (a long-lived TCP stream plus a
 * probe connection every 100 ms) to a server outside the mesh, one allowed by a ServiceEntry, one
 * blocked (REGISTRY_ONLY); the control plane runs as a child process.
 *  1. SIGKILL a sidecar: its workload is cut off (fail closed: no connection and no byte reaches the
 *     server while it is down) and recovers when the agent restarts it.
 *  2. Control plane stopped, both sidecars SIGKILLed: the restarted sidecars enforce the snapshot
 *     they persisted (allowed works, blocked stays blocked) without any control plane.
 *  3. Control plane still stopped, the allowed sidecar's persisted snapshot corrupted, sidecar
 *     SIGKILLed: the restarted sidecar ignores the file and blocks everything until the control
 *     plane answers again.
 * The tests run in order and share the mesh.
 */
import assert from 'node:assert/strict';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { KubeClient, loadKubeconfig, SluiceNode } from '@sluice/agent';
import { createMeshNetwork, createTestHost, destroyMeshNetwork, type MeshNetwork } from '@sluice/capture';
import { eventually } from '../e2e/lib/mesh.js';
import { type ControlPlaneChild, startControlPlaneChild } from './lib/mesh-cp-process.js';
import { type CountingServer, startCountingServer } from './lib/mesh-servers.js';
import {
  applyResource,
  type Probe,
  podOf,
  probes,
  registryOnly,
  sidecarLog,
  streamerDeployment,
  tcpServiceEntry,
} from './lib/mesh-workloads.js';
import { recordScenario } from './lib/summary.js';
import { makeTempDir, type TempDir } from './lib/temp-dir.js';

const MESH = 'hardpxf';
const SUBNET = '10.233.142.0/24';
const EXT_IP = '10.233.142.250';
const ALLOWED_PORT = 7400;
const BLOCKED_PORT = 7401;
/** A connection the sidecar was already relaying when SIGKILL arrived may land this long after it. */
const KILL_GRACE_MS = 100;

let dir: TempDir | undefined;
let mesh: MeshNetwork | undefined;
let cp: ControlPlaneChild | undefined;
let client: KubeClient | undefined;
let node: SluiceNode | undefined;
let ext: CountingServer | undefined;
let destroyHost: (() => Promise<void>) | undefined;
let allowedIp = '';

before(async () => {
  dir = makeTempDir('pxf');
  mesh = await createMeshNetwork({ name: MESH, subnet: SUBNET });
  cp = await startControlPlaneChild({ dataDir: join(dir.path, 'cp'), xdsAddresses: ['127.0.0.1', mesh.gateway] });
  const creds = loadKubeconfig(cp.kubeconfigPath);
  client = new KubeClient(creds);
  const host = await createTestHost({ mesh, name: 'ext', ip: EXT_IP });
  destroyHost = () => host.destroy();
  ext = await startCountingServer(host, { tcp: [ALLOWED_PORT, BLOCKED_PORT] });
  await applyResource(client, registryOnly);
  await applyResource(client, tcpServiceEntry('allowed-ext', EXT_IP, ALLOWED_PORT));
  node = await SluiceNode.start({
    api: creds,
    dataDir: join(dir.path, 'node'),
    images: {},
    meshName: MESH,
    subnet: SUBNET,
    xdsPort: cp.xdsPort,
  });
  await applyResource(client, streamerDeployment('allowed', EXT_IP, ALLOWED_PORT));
  await applyResource(client, streamerDeployment('blocked', EXT_IP, BLOCKED_PORT));
  const n = node;
  assert.ok(
    await eventually(
      () =>
        probes(n, 'allowed')
          .slice(-3)
          .filter((p) => p.outcome === 'ok').length === 3 && probes(n, 'blocked').length >= 3,
      60_000,
      200,
    ),
    'both streamers run',
  );
  allowedIp = podOf(n, 'allowed')?.ip ?? '';
});

after(async () => {
  const steps = [
    () => node?.close(),
    () => ext?.stop(),
    () => destroyHost?.(),
    () => client?.close(),
    () => cp?.stop(),
    () => mesh && destroyMeshNetwork(mesh),
    () => dir?.remove(),
  ];
  for (const step of steps)
    await Promise.resolve()
      .then(step)
      .catch(() => {});
});

const between = (list: Probe[], from: number, to: number) => list.filter((p) => p.at >= from && p.at < to);
const firstOkAfter = (deployment: string, t: number) =>
  probes(node!, deployment).find((p) => p.at > t && p.outcome === 'ok');

/** New connections the server accepted from `ip` on `port` in [from, to), and the bytes they carried. */
function reached(ip: string, port: number, from: number, to: number): { accepts: number; bytes: number } {
  const server = ext!;
  const ids = new Set<number>();
  let accepts = 0;
  server.accepts.forEach((a, i) => {
    if (a.from === ip && a.port === port && a.at >= from && a.at < to) {
      accepts++;
      ids.add(i + 1);
    }
  });
  const bytes = server.chunks.filter((c) => ids.has(c.conn)).reduce((n, c) => n + c.bytes, 0);
  return { accepts, bytes };
}

/** Probes of the blocked streamer that got through since `from`, and connections the blocked port accepted. */
function blockedLeaks(from: number): number {
  return (
    probes(node!, 'blocked').filter((p) => p.at >= from && p.outcome === 'ok').length + ext!.acceptsOn(BLOCKED_PORT)
  );
}

test('a SIGKILLed sidecar cuts its workload off (nothing reaches the server) until the agent restarts it', async () => {
  const n = node!;
  const pod = podOf(n, 'allowed');
  assert.ok(pod);
  const streamBefore = ext!.bytesOn(ALLOWED_PORT, allowedIp);
  const killAt = Date.now();
  pod.runner.killSidecar('SIGKILL');
  assert.ok(await eventually(() => firstOkAfter('allowed', killAt + 500) !== undefined, 30_000, 100), 'recovers');
  const backAt = firstOkAfter('allowed', killAt + 500)!.at;
  const down = between(probes(n, 'allowed'), killAt + KILL_GRACE_MS, backAt);
  assert.ok(down.length >= 5, `probes ran while the sidecar was down: ${down.length}`);
  assert.deepEqual(
    down.filter((p) => p.outcome === 'ok'),
    [],
    'probes that got through while the sidecar was down',
  );
  // Down ends when the agent spawns the new sidecar: the streamer may reconnect through it, and
  // reach the server, before the first probe after the restart has completed.
  const spawnedAt = pod.runner.sidecarSpawnedAt;
  assert.ok(spawnedAt > killAt, 'the agent spawned a new sidecar');
  const upAt = Math.min(backAt, spawnedAt);
  const leaked = reached(allowedIp, ALLOWED_PORT, killAt + KILL_GRACE_MS, upAt);
  assert.deepEqual(
    leaked,
    { accepts: 0, bytes: 0 },
    `the server got nothing from the workload while its sidecar was down: ${JSON.stringify({
      killAt,
      upAt,
      backAt,
      accepts: ext!.accepts.filter((a) => a.from === allowedIp && a.at >= killAt - 2000 && a.at < backAt + 500),
    })}`,
  );
  assert.match(sidecarLog(n, 'allowed'), /# sidecar exited \(code null, signal SIGKILL\)/);
  const streamAfter = ext!.bytesOn(ALLOWED_PORT, allowedIp);
  recordScenario({
    scenario: 'sidecar SIGKILL under load',
    load: '2 streamers (1 KiB/50 ms stream + probe/100 ms)',
    faults: `SIGKILL of the allowed sidecar; down ${((backAt - killAt) / 1000).toFixed(1)} s until the agent restarted it`,
    requests: down.length,
    bytes: streamAfter - streamBefore,
    leaks: leaked.accepts + down.filter((p) => p.outcome === 'ok').length + blockedLeaks(killAt),
    losses: 0,
  });
  assert.equal(blockedLeaks(killAt), 0);
});

test('with the control plane stopped, restarted sidecars enforce their persisted snapshot', async () => {
  const n = node!;
  // The sidecars must have persisted what they enforce (the node keeps pods under its data dir).
  for (const d of ['allowed', 'blocked']) {
    const failures = sidecarLog(n, d)
      .split('\n')
      .filter((l) => l.includes('cannot persist the snapshot'));
    assert.deepEqual(failures.slice(0, 1), [], `${d}: the sidecar could not persist its snapshot`);
    assert.ok(existsSync(podOf(n, d)?.snapshotFile ?? ''), `${d}: no persisted snapshot file`);
  }
  await cp!.kill('SIGKILL');
  const killAt = Date.now();
  podOf(n, 'allowed')?.runner.killSidecar('SIGKILL');
  podOf(n, 'blocked')?.runner.killSidecar('SIGKILL');
  assert.ok(
    await eventually(() => firstOkAfter('allowed', killAt + 500) !== undefined, 30_000, 100),
    'allowed recovers',
  );
  const backAt = firstOkAfter('allowed', killAt + 500)!.at;
  // About 1.9 s of probes (every 100 ms) after the restart; the last 1.1 s may still be in flight.
  await new Promise((r) => setTimeout(r, 3000));
  const measureTo = Date.now() - 1100;
  const allowedAfter = between(probes(n, 'allowed'), backAt, measureTo);
  const blockedAfter = between(probes(n, 'blocked'), killAt, measureTo);
  assert.ok(
    allowedAfter.length >= 10 && blockedAfter.length >= 10,
    `probes ran after the restart: ${allowedAfter.length} allowed, ${blockedAfter.length} blocked`,
  );
  assert.deepEqual(
    allowedAfter.filter((p) => p.outcome !== 'ok'),
    [],
    'allowed probes that failed after the restart',
  );
  assert.deepEqual(
    blockedAfter.filter((p) => p.outcome === 'ok'),
    [],
    'blocked probes that got through',
  );
  for (const d of ['allowed', 'blocked']) {
    assert.match(
      sidecarLog(n, d),
      /enforcing the persisted snapshot until the control plane answers/,
      `${d}: restarted from its persisted snapshot`,
    );
  }
  recordScenario({
    scenario: 'sidecar restart, control plane down',
    load: '2 streamers (stream + probe/100 ms)',
    faults: 'control plane SIGKILLed, then both sidecars SIGKILLed and restarted from their persisted snapshots',
    requests: allowedAfter.length + blockedAfter.length,
    bytes: 0,
    leaks: blockedLeaks(killAt),
    losses: allowedAfter.filter((p) => p.outcome !== 'ok').length,
  });
  assert.equal(blockedLeaks(killAt), 0);
});

test('a corrupt persisted snapshot is ignored: blocked until the control plane answers, then served again', async () => {
  const n = node!;
  const pod = podOf(n, 'allowed');
  assert.ok(pod);
  assert.ok(existsSync(pod.snapshotFile), `no persisted snapshot file at ${pod.snapshotFile}`);
  // Valid JSON with one byte of the resources changed: only the checksum can tell.
  const doc = JSON.parse(readFileSync(pod.snapshotFile, 'utf8'));
  doc.resources.versions.listeners = `${doc.resources.versions.listeners}x`;
  writeFileSync(pod.snapshotFile, JSON.stringify(doc));
  const logBefore = sidecarLog(n, 'allowed').length;
  const killAt = Date.now();
  pod.runner.killSidecar('SIGKILL');
  assert.ok(
    await eventually(() => /persisted snapshot ignored/.test(sidecarLog(n, 'allowed').slice(logBefore)), 20_000, 100),
    'the restarted sidecar reports the corrupt file',
  );
  assert.match(sidecarLog(n, 'allowed').slice(logBefore), /checksum mismatch/);
  // Fail closed for a while with no control plane.
  await new Promise((r) => setTimeout(r, 2500));
  const restartAt = Date.now();
  const closed = between(probes(n, 'allowed'), killAt + KILL_GRACE_MS, restartAt);
  const leaked = reached(allowedIp, ALLOWED_PORT, killAt + KILL_GRACE_MS, restartAt);
  assert.ok(closed.length >= 10, `probes ran while the sidecar had no trusted snapshot: ${closed.length}`);
  assert.deepEqual(
    closed.filter((p) => p.outcome === 'ok'),
    [],
    'probes that got through on a corrupt snapshot',
  );
  assert.deepEqual(leaked, { accepts: 0, bytes: 0 });
  // The control plane comes back on the same ports: the sidecar gets its configuration and serves.
  await cp!.restart();
  assert.ok(await eventually(() => firstOkAfter('allowed', restartAt) !== undefined, 45_000, 200), 'served again');
  const saved = JSON.parse(readFileSync(pod.snapshotFile, 'utf8'));
  assert.notEqual(saved.resources.versions.listeners, doc.resources.versions.listeners, 'a good snapshot replaced it');
  recordScenario({
    scenario: 'corrupt persisted snapshot',
    load: '2 streamers (stream + probe/100 ms)',
    faults: 'snapshot file altered (checksum mismatch), sidecar SIGKILLed with the control plane down',
    requests: closed.length,
    bytes: 0,
    leaks: leaked.accepts + closed.filter((p) => p.outcome === 'ok').length + blockedLeaks(killAt),
    losses: 0,
  });
  assert.equal(blockedLeaks(killAt), 0);
});
