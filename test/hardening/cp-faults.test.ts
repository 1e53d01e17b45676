/**
 * Control-plane faults under live traffic. A node agent runs two workloads that stream TCP to a
 * server outside the mesh and open a probe connection every 100 ms: one allowed by a ServiceEntry,
 * one blocked (REGISTRY_ONLY). Then, during a burst of applies:
 *  1. the control plane (SQLite store, a child process) is SIGKILLed and restarted on the same data
 *     dir and ports;
 *  2. etcd under a pair of control-plane replicas is SIGKILLed and restarted.
 * Throughout, proxies enforce their last snapshot (allowed stays allowed, blocked stays blocked);
 * afterwards every acknowledged apply is stored and a new ServiceEntry reaches the proxies (for the
 * etcd pair: written on replica A, pushed by replica B, which the proxies are connected to).
 */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { test } from 'node:test';
import { type ApiCredentials, KubeClient, loadKubeconfig, SluiceNode } from '@sluice/agent';
import { createMeshNetwork, createTestHost, destroyMeshNetwork, type MeshNetwork } from '@sluice/capture';
import { type ControlPlane, startControlPlane } from '@sluice/controlplane';
import { startEtcd } from '@sluice/store';
import pino from 'pino';
import { eventually } from '../e2e/lib/mesh.js';
import { startControlPlaneChild } from './lib/mesh-cp-process.js';
import { type CountingServer, startCountingServer } from './lib/mesh-servers.js';
import {
  applyResource,
  type Probe,
  podOf,
  probes,
  registryOnly,
  streamerDeployment,
  tcpServiceEntry,
} from './lib/mesh-workloads.js';
import { recordScenario } from './lib/summary.js';
import { makeTempDir } from './lib/temp-dir.js';

const MESH = 'hardcpf';
const SUBNET = '10.233.141.0/24';
const EXT_IP = '10.233.141.250';
const ALLOWED_PORT = 7300;
const BLOCKED_PORT = 7301;
/** How long the fault lasts while traffic is measured. */
const OUTAGE_MS = 3000;

/** Cleanups run in reverse order of registration, each even if an earlier one failed. */
function cleanupStack(t: { after(fn: () => Promise<void>): void }) {
  const steps: (() => Promise<unknown> | unknown)[] = [];
  t.after(async () => {
    for (const step of steps.reverse())
      await Promise.resolve()
        .then(step)
        .catch(() => {});
  });
  return (step: () => Promise<unknown> | unknown) => steps.push(step);
}

interface Workloads {
  node: SluiceNode;
  ext: CountingServer;
  allowedIp: string;
  blockedIp: string;
}

/** Node agent + server + the two streamers, steady (allowed gets "hello", blocked is refused). */
async function startWorkloads(
  onCleanup: ReturnType<typeof cleanupStack>,
  mesh: MeshNetwork,
  write: KubeClient,
  api: ApiCredentials,
  xdsPort: number,
  dataDir: string,
): Promise<Workloads> {
  const host = await createTestHost({ mesh, name: 'ext', ip: EXT_IP });
  onCleanup(() => host.destroy());
  const ext = await startCountingServer(host, { tcp: [ALLOWED_PORT, BLOCKED_PORT] });
  onCleanup(() => ext.stop());
  await applyResource(write, registryOnly);
  await applyResource(write, tcpServiceEntry('allowed-ext', EXT_IP, ALLOWED_PORT));
  const node = await SluiceNode.start({ api, dataDir, images: {}, meshName: MESH, subnet: SUBNET, xdsPort });
  onCleanup(() => node.close());
  await applyResource(write, streamerDeployment('allowed', EXT_IP, ALLOWED_PORT));
  await applyResource(write, streamerDeployment('blocked', EXT_IP, BLOCKED_PORT));
  const steady = await eventually(
    () =>
      probes(node, 'allowed')
        .slice(-3)
        .filter((p) => p.outcome === 'ok').length === 3 && probes(node, 'blocked').length >= 3,
    60_000,
    200,
  );
  assert.ok(steady, 'both streamers run: the allowed one gets answers, the blocked one probes');
  const allowedIp = podOf(node, 'allowed')?.ip;
  const blockedIp = podOf(node, 'blocked')?.ip;
  assert.ok(allowedIp && blockedIp);
  return { node, ext, allowedIp, blockedIp };
}

/**
 * Creates ServiceEntries `burst-<n>` from 4 concurrent writers until `stop()`; `acked` holds the
 * names whose create returned success.
 */
function applyBurst(client: KubeClient) {
  const acked: string[] = [];
  let failed = 0;
  let n = 0;
  let stopped = false;
  const deadline = Date.now() + 60_000;
  const writer = async () => {
    while (!stopped && n < 2000 && Date.now() < deadline) {
      const i = n++;
      const name = `burst-${i}`;
      try {
        await client.create(tcpServiceEntry(name, `198.18.${i >> 8}.${i & 255}`, 9000));
        acked.push(name);
      } catch {
        failed++;
        await new Promise((r) => setTimeout(r, 50));
      }
    }
  };
  const done = Promise.all([writer(), writer(), writer(), writer()]);
  return {
    acked,
    failed: () => failed,
    attempted: () => n,
    stop: async () => {
      stopped = true;
      await done;
    },
  };
}

/** Every probe in [from, to] (by start time). */
const between = (list: Probe[], from: number, to: number) => list.filter((p) => p.at >= from && p.at <= to);

async function listNames(client: KubeClient): Promise<Set<string>> {
  let names: Set<string> | undefined;
  await eventually(
    async () => {
      try {
        const { items } = await client.list('ServiceEntry', 'default');
        names = new Set(items.map((i) => i.metadata.name));
        return true;
      } catch {
        return false;
      }
    },
    20_000,
    250,
  );
  assert.ok(names, 'the control plane answers a list again');
  return names;
}

/**
 * The common part: burst, fault for OUTAGE_MS while measuring, recovery, every acked apply stored,
 * enforcement unchanged, then a new ServiceEntry (written through `write`) opens the blocked path.
 */
async function faultUnderTraffic(o: {
  scenario: string;
  faults: string;
  w: Workloads;
  write: KubeClient;
  read: KubeClient;
  inject(): Promise<void>;
  recover(): Promise<void>;
}): Promise<void> {
  const { w } = o;
  const t0 = Date.now();
  const streamBefore = w.ext.bytesOn(ALLOWED_PORT, w.allowedIp);
  const burst = applyBurst(o.write);
  assert.ok(await eventually(() => burst.acked.length >= 20, 20_000, 20), 'the burst gets going');
  await o.inject();
  const downAt = Date.now();
  const streamAtKill = w.ext.bytesOn(ALLOWED_PORT, w.allowedIp);
  await new Promise((r) => setTimeout(r, 500));
  await burst.stop();
  await new Promise((r) => setTimeout(r, OUTAGE_MS - 500));
  const streamDuringOutage = w.ext.bytesOn(ALLOWED_PORT, w.allowedIp) - streamAtKill;
  await o.recover();
  const upAt = Date.now();

  // Every acknowledged apply is there.
  const stored = await listNames(o.read);
  const lost = burst.acked.filter((name) => !stored.has(name));
  assert.deepEqual(lost, [], 'acknowledged applies missing after the restart');

  // Enforcement never changed: measured by the probes started from the burst to 2 s after recovery.
  await new Promise((r) => setTimeout(r, 2000));
  const t1 = upAt + 1000;
  const allowed = between(probes(w.node, 'allowed'), t0, t1);
  const blocked = between(probes(w.node, 'blocked'), t0, t1);
  const outageProbes = between(probes(w.node, 'allowed'), downAt, upAt);
  assert.ok(
    outageProbes.length >= (OUTAGE_MS / 100) * 0.5,
    `allowed probes ran during the outage: ${outageProbes.length}`,
  );
  const allowedFailed = allowed.filter((p) => p.outcome !== 'ok');
  const blockedPassed = blocked.filter((p) => p.outcome === 'ok');
  assert.deepEqual(allowedFailed, [], 'allowed probes that failed while the control plane was down');
  assert.deepEqual(blockedPassed, [], 'blocked probes that got through');
  const blockedAccepts = w.ext.acceptsOn(BLOCKED_PORT);
  assert.equal(blockedAccepts, 0, 'the blocked port never accepted a connection');
  assert.ok(streamDuringOutage > 0, 'the long-lived allowed stream kept flowing during the outage');

  // Proxies resync: a new ServiceEntry reaches them.
  const opened = Date.now();
  await eventually(
    async () => {
      try {
        await applyResource(o.write, tcpServiceEntry('opened-ext', EXT_IP, BLOCKED_PORT));
        return true;
      } catch {
        return false;
      }
    },
    20_000,
    250,
  );
  const resynced = await eventually(
    () => probes(w.node, 'blocked').some((p) => p.at > opened && p.outcome === 'ok'),
    45_000,
    200,
  );
  assert.ok(resynced, 'the new ServiceEntry took effect on the proxy after the fault');
  const resyncMs = Date.now() - opened;

  recordScenario({
    scenario: o.scenario,
    load: `2 workloads (stream + probe/100 ms), ${burst.attempted()} applies (${burst.acked.length} acked) by 4 writers`,
    faults: `${o.faults}, ${OUTAGE_MS / 1000} s down; resync in ${(resyncMs / 1000).toFixed(1)} s`,
    requests: allowed.length + blocked.length + burst.attempted(),
    bytes: w.ext.bytesOn(ALLOWED_PORT, w.allowedIp) - streamBefore,
    leaks: blockedPassed.length + blockedAccepts,
    losses: lost.length + allowedFailed.length,
  });
}

test('control plane SIGKILLed during a burst of applies: proxies keep enforcing, acked applies survive, proxies resync', async (t) => {
  const onCleanup = cleanupStack(t);
  const dir = makeTempDir('cpf');
  onCleanup(() => dir.remove());
  const mesh = await createMeshNetwork({ name: MESH, subnet: SUBNET });
  onCleanup(() => destroyMeshNetwork(mesh));
  const cp = await startControlPlaneChild({
    dataDir: join(dir.path, 'cp'),
    xdsAddresses: ['127.0.0.1', mesh.gateway],
  });
  onCleanup(() => cp.stop());
  const creds = loadKubeconfig(cp.kubeconfigPath);
  const client = new KubeClient(creds);
  onCleanup(() => client.close());
  const w = await startWorkloads(onCleanup, mesh, client, creds, cp.xdsPort, join(dir.path, 'node'));
  await faultUnderTraffic({
    scenario: 'control plane SIGKILL + restart (sqlite)',
    faults: 'SIGKILL of the control plane mid-burst, restart on the same data dir and ports',
    w,
    write: client,
    read: client,
    inject: () => cp.kill('SIGKILL'),
    recover: () => cp.restart(),
  });
});

test('etcd SIGKILLed under two control-plane replicas: enforcement holds, a write on A reaches proxies on B', async (t) => {
  const onCleanup = cleanupStack(t);
  const dir = makeTempDir('cpf-etcd');
  onCleanup(() => dir.remove());
  const mesh = await createMeshNetwork({ name: MESH, subnet: SUBNET });
  onCleanup(() => destroyMeshNetwork(mesh));
  const etcd = await startEtcd({ dataDir: join(dir.path, 'etcd') });
  onCleanup(() => etcd.stop());
  const logger = pino({ level: process.env.SLUICE_TEST_LOG ?? 'silent' });
  const replica = async (name: string, xdsAddresses: string[]): Promise<ControlPlane> => {
    const cp = await startControlPlane({
      dataDir: join(dir.path, name),
      store: 'etcd',
      etcdEndpoints: etcd.endpoints,
      apiPort: 0,
      xdsPort: 0,
      xdsAddresses,
      logger,
    });
    onCleanup(() => cp.destroy());
    return cp;
  };
  const a = await replica('a', ['127.0.0.1']);
  const b = await replica('b', ['127.0.0.1', mesh.gateway]);
  const clientA = new KubeClient(loadKubeconfig(a.kubeconfigPath));
  onCleanup(() => clientA.close());
  const credsB = loadKubeconfig(b.kubeconfigPath);
  const clientB = new KubeClient(credsB);
  onCleanup(() => clientB.close());
  // Workloads are written through A; the node and every proxy talk to B only.
  const w = await startWorkloads(onCleanup, mesh, clientA, credsB, b.xdsPort, join(dir.path, 'node'));
  await faultUnderTraffic({
    scenario: 'etcd SIGKILL + restart (2 replicas)',
    faults: 'SIGKILL of etcd mid-burst, restart on the same data dir; writes on A, proxies on B',
    w,
    write: clientA,
    read: clientB,
    inject: async () => etcd.kill(),
    recover: () => etcd.restart(),
  });
});
