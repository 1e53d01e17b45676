/**
 * A whole mesh for system tests: a bridge of its own, a control plane on ephemeral ports (xDS also
 * on the bridge address), and optionally the node agent. Everything is torn down by `close()`,
 * which tests register with `after()` so it runs on failure too.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { type ImageTable, KubeClient, loadKubeconfig, type RunOnceResult, runOnce, SluiceNode } from '@sluice/agent';
import {
  createMeshNetwork,
  createTestHost,
  destroyMeshNetwork,
  type MeshNetwork,
  type TestHost,
} from '@sluice/capture';
import type { Resource } from '@sluice/config';
import { type ControlPlane, startControlPlane } from '@sluice/controlplane';
import pino from 'pino';

export interface TestMesh {
  mesh: MeshNetwork;
  cp: ControlPlane;
  client: KubeClient;
  dataDir: string;
  node?: SluiceNode;
  testHosts: TestHost[];
  /** Creates or replaces a resource through the API (like `kubectl apply`). */
  apply(obj: Resource): Promise<void>;
  remove(kind: string, name: string, namespace?: string): Promise<void>;
  addTestHost(name: string, ip: string): Promise<TestHost>;
  run(
    name: string,
    ip: string,
    argv: string[],
    opts?: { labels?: Record<string, string>; namespace?: string },
  ): Promise<RunOnceResult>;
  close(): Promise<void>;
}

export async function startTestMesh(o: {
  name: string;
  subnet: string;
  agent?: boolean;
  images?: ImageTable;
}): Promise<TestMesh> {
  const mesh = await createMeshNetwork({ name: o.name, subnet: o.subnet });
  const dataDir = mkdtempSync(path.join(os.tmpdir(), `sluice-e2e-${o.name}-`));
  const logger = pino({ level: process.env.SLUICE_TEST_LOG ?? 'warn' });
  let cp: ControlPlane | undefined;
  const testHosts: TestHost[] = [];
  let node: SluiceNode | undefined;
  const close = async () => {
    // The control plane first: its xDS streams end while every sidecar is still there to answer.
    await cp?.destroy().catch(() => {});
    await node?.close().catch(() => {});
    for (const h of testHosts) await h.destroy().catch(() => {});
    await destroyMeshNetwork(mesh).catch(() => {});
    rmSync(dataDir, { recursive: true, force: true });
  };
  try {
    cp = await startControlPlane({
      dataDir,
      apiPort: 0,
      xdsPort: 0,
      xdsAddresses: ['127.0.0.1', mesh.gateway],
      logger,
    });
    const creds = loadKubeconfig(cp.kubeconfigPath);
    const client = new KubeClient(creds);
    if (o.agent) {
      node = await SluiceNode.start({
        api: creds,
        dataDir,
        images: o.images ?? {},
        meshName: o.name,
        subnet: o.subnet,
        xdsPort: cp.xdsPort,
      });
    }
    const controlPlane = cp;
    const t: TestMesh = {
      mesh,
      cp: controlPlane,
      client,
      dataDir,
      node,
      testHosts,
      async apply(obj) {
        const ns = obj.metadata.namespace;
        try {
          const cur = await client.get(obj.kind, ns ?? 'default', obj.metadata.name);
          await client.update({ ...obj, metadata: { ...obj.metadata, resourceVersion: cur.metadata.resourceVersion } });
        } catch (e) {
          if ((e as { status?: number }).status !== 404) throw e;
          await client.create(obj);
        }
      },
      async remove(kind, name, namespace = 'default') {
        await client.delete(kind, namespace, name);
      },
      async addTestHost(name, ip) {
        const h = await createTestHost({ mesh, name, ip });
        testHosts.push(h);
        return h;
      },
      run(name, ip, argv, ro = {}) {
        return runOnce({ mesh, xds: `${mesh.gateway}:${controlPlane.xdsPort}`, name, ip, argv, ...ro });
      },
      close: async () => {
        client.close();
        await close();
      },
    };
    return t;
  } catch (e) {
    await close();
    throw e;
  }
}

/** Polls `check` until it returns true or the timeout passes; returns the last result. */
export async function eventually(
  check: () => Promise<boolean> | boolean,
  timeoutMs = 10_000,
  everyMs = 100,
): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (await check()) return true;
    if (Date.now() > deadline) return false;
    await new Promise((r) => setTimeout(r, everyMs));
  }
}
