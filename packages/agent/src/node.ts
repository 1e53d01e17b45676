/**
 * A Sluice node: the mesh bridge on this machine plus the agent running Deployments on it.
 * `sluice up` starts one beside the control plane; `close()` stops every workload and removes
 * every namespace, veth and the bridge it created.
 */
import { chmodSync, chownSync, mkdirSync, rmSync } from 'node:fs';
import path from 'node:path';
import { createMeshNetwork, createWorkloadHost, destroyMeshNetwork, type MeshNetwork } from '@sluice/capture';
import { Agent } from './agent.js';
import { repoRoot, tsxLoader } from './images.js';
import { IpPool } from './ip-pool.js';
import { type ApiCredentials, KubeClient } from './kube-client.js';
import type { HostHandle } from './pod-runner.js';
import { type ImageTable, PROXY_UID } from './pod-spec.js';

export interface NodeOptions {
  api: ApiCredentials;
  dataDir: string;
  images: ImageTable;
  /** Mesh name (bridge `slbr-<name>`, namespaces `sl-<name>-<pod>`). */
  meshName?: string;
  /** Default 10.233.77.0/24. */
  subnet?: string;
  /** xDS port the control plane listens on at the bridge address. */
  xdsPort: number;
  /** Access-log format of the sidecars. */
  logFormat?: 'json' | 'text';
  log?: (msg: string, fields?: Record<string, unknown>) => void;
}

export const SIDECAR_MAIN = path.join(repoRoot, 'packages', 'agent', 'src', 'sidecar-main.ts');

/** Where a pod's sidecar keeps its persisted snapshot (fail static across sidecar restarts). */
export function sidecarStateDir(mesh: string, namespace: string, pod: string): string {
  return path.join('/run/sluice', mesh, `${namespace}_${pod}`);
}

export class SluiceNode {
  private constructor(
    readonly mesh: MeshNetwork,
    readonly agent: Agent,
    readonly client: KubeClient,
    readonly logDir: string,
  ) {}

  static async start(o: NodeOptions): Promise<SluiceNode> {
    const mesh = await createMeshNetwork({ name: o.meshName ?? 'mesh', subnet: o.subnet ?? '10.233.77.0/24' });
    const pool = new IpPool(mesh.subnet);
    const logDir = path.join(o.dataDir, 'pods');
    mkdirSync(logDir, { recursive: true });
    const client = new KubeClient(o.api);
    const createHost = async (name: string, inboundPorts: number[], namespace: string): Promise<HostHandle> => {
      const ip = pool.allocate();
      try {
        const host = await createWorkloadHost({ mesh, name, ip, inboundPorts, namespace });
        return {
          ip,
          exec: (argv, eo) =>
            host.exec(argv, { uid: eo.uid, gid: eo.gid, env: eo.env, cwd: eo.cwd ?? '/', stdio: 'pipe' }),
          destroy: async () => {
            await host.destroy();
            rmSync(sidecarStateDir(mesh.name, namespace, name), { recursive: true, force: true });
            pool.release(ip);
          },
        };
      } catch (e) {
        pool.release(ip);
        throw e;
      }
    };
    const agent = new Agent({
      client,
      images: o.images,
      logDir,
      createHost,
      log: o.log,
      // The sidecar (uid 1337) persists its snapshot in a runtime directory of its own: the data
      // dir is private to root (it holds the API token and CA key), so it cannot live there.
      stateDir: (namespace, pod) => sidecarStateDir(mesh.name, namespace, pod),
      sidecarArgv: (p) => {
        // Parents traversable (0755), the pod's own directory private to the sidecar (0700, uid 1337).
        const proxyDir = path.dirname(p.snapshotFile);
        const meshDir = path.dirname(proxyDir);
        mkdirSync(meshDir, { recursive: true, mode: 0o755 });
        for (const dir of [path.dirname(meshDir), meshDir]) chmodSync(dir, 0o755);
        mkdirSync(proxyDir, { recursive: true, mode: 0o700 });
        chownSync(proxyDir, PROXY_UID, PROXY_UID);
        const metadata = {
          NAMESPACE: p.namespace,
          LABELS: p.labels,
          SERVICE_ACCOUNT: p.serviceAccount,
          WORKLOAD_NAME: p.labels.app ? `${p.labels.app}${p.labels.version ? `-${p.labels.version}` : ''}` : p.name,
          NAME: p.name,
          INSTANCE_IPS: p.ip,
        };
        return [
          process.execPath,
          '--import',
          tsxLoader(),
          SIDECAR_MAIN,
          '--xds',
          `${mesh.gateway}:${o.xdsPort}`,
          '--node-id',
          `sidecar~${p.ip}~${p.name}.${p.namespace}~${p.namespace}.svc.cluster.local`,
          '--node-metadata',
          JSON.stringify(metadata),
          '--namespace',
          p.namespace,
          '--snapshot-file',
          p.snapshotFile,
          '--log-format',
          o.logFormat ?? 'json',
        ];
      },
    });
    const node = new SluiceNode(mesh, agent, client, logDir);
    await agent.start();
    return node;
  }

  /** Stops every workload, removes their hosts, then the bridge. Idempotent. */
  async close(): Promise<void> {
    await this.agent.close();
    this.client.close();
    rmSync(path.join('/run/sluice', this.mesh.name), { recursive: true, force: true });
    await destroyMeshNetwork(this.mesh);
  }
}
