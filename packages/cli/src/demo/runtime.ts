/**
 * What the Bookinfo egress demo runs: a control plane on the embedded SQLite store (xDS also on
 * the mesh bridge), the mesh network and node agent running Deployments with Bookinfo's image
 * table, a dedicated MariaDB in a test host outside the mesh, and a port forward from the host to
 * the productpage Service. `close()` stops all of it and removes what it created; idempotent.
 */
import { createWriteStream, mkdirSync, type WriteStream } from 'node:fs';
import path from 'node:path';
import {
  KubeClient,
  loadImageTable,
  loadKubeconfig,
  type PortForward,
  portForward,
  repoRoot,
  SluiceNode,
} from '@sluice/agent';
import {
  createMeshNetwork,
  createTestHost,
  destroyMeshNetwork,
  type ExternalMysql,
  type MeshNetwork,
  startExternalMysql,
  type TestHost,
} from '@sluice/capture';
import { type ControlPlane, startControlPlane } from '@sluice/controlplane';
import pino from 'pino';

export interface DemoRuntimeOptions {
  /** Where the store, kubeconfig, pod logs and generated files go. */
  dataDir: string;
  /** Directory of the MariaDB instance; every parent must be traversable by the `mysql` user. */
  mysqlDir: string;
  /** Mesh name: bridge `slbr-<name>`, namespaces `sl-<name>-…` (default `mesh`). */
  meshName?: string;
  /** Default 10.233.77.0/24. */
  subnet?: string;
  /** Address of the external MySQL test host (default the subnet's .250). */
  mysqlIp?: string;
  /** API server port on 127.0.0.1 (0 = any free port). */
  apiPort: number;
  /** xDS port on 127.0.0.1 and on the bridge address (0 = any free port). */
  xdsPort: number;
  /** Host port of the product page forward on 127.0.0.1 (0 = any free port). */
  pagePort: number;
  /** Progress lines (what is being started). */
  say?: (line: string) => void;
}

/** A running demo environment. Fields are read-only facts about it. */
export interface DemoRuntime {
  readonly mesh: MeshNetwork;
  readonly cp: ControlPlane;
  readonly node: SluiceNode;
  readonly client: KubeClient;
  readonly mysql: ExternalMysql;
  readonly mysqlHost: TestHost;
  readonly forward: PortForward;
  readonly kubeconfigPath: string;
  /** `http://127.0.0.1:<port>` (append `/productpage`). */
  readonly pageBaseUrl: string;
  /** Directory with one folder per pod (`<namespace>_<pod>/sidecar.log`, `<container>.log`). */
  readonly podLogDir: string;
  close(): Promise<void>;
}

export const BOOKINFO_IMAGES = path.join(repoRoot, 'samples', 'bookinfo', 'images.yaml');

/** The subnet's .250: the external MySQL's address by convention (test hosts use .200-.254). */
export function defaultMysqlIp(subnet: string): string {
  return subnet.replace(/\.\d+\/\d+$/, '.250');
}

export async function startDemoRuntime(o: DemoRuntimeOptions): Promise<DemoRuntime> {
  const say = o.say ?? (() => {});
  const meshName = o.meshName ?? 'mesh';
  const subnet = o.subnet ?? '10.233.77.0/24';
  const mysqlIp = o.mysqlIp ?? defaultMysqlIp(subnet);
  mkdirSync(o.dataDir, { recursive: true });
  const logs: WriteStream[] = [];
  const logFile = (name: string) => {
    const s = createWriteStream(path.join(o.dataDir, name), { flags: 'a' });
    logs.push(s);
    return s;
  };
  const undo: (() => Promise<void>)[] = [];
  let closing: Promise<void> | undefined;
  const close = () => {
    closing ??= (async () => {
      for (const step of undo.reverse()) await step().catch(() => {});
      for (const s of logs) s.end();
    })();
    return closing;
  };
  try {
    const mesh = await createMeshNetwork({ name: meshName, subnet });
    undo.push(() => destroyMeshNetwork(mesh));
    say(`mesh bridge ${mesh.bridge} ${mesh.gateway}/${mesh.prefixLength}`);

    const cp = await startControlPlane({
      dataDir: path.join(o.dataDir, 'controlplane'),
      apiPort: o.apiPort,
      xdsPort: o.xdsPort,
      xdsAddresses: ['127.0.0.1', mesh.gateway],
      logger: pino({ name: 'controlplane', level: 'info' }, logFile('controlplane.log')),
    });
    // Stopped before the node: with the sidecars still alive their xDS connections end cleanly.
    // (Connections to sidecars whose namespaces are already gone would linger in FIN-WAIT-1 for
    // minutes and keep this process alive.)
    let cpStop: (() => Promise<void>) | undefined = () => cp.destroy();
    undo.push(async () => {
      await cpStop?.();
    });
    say(`control plane: API ${cp.apiUrl}, xDS 127.0.0.1:${cp.xdsPort} and ${mesh.gateway}:${cp.xdsPort}, store SQLite`);

    const creds = loadKubeconfig(cp.kubeconfigPath);
    const nodeLog = logFile('node.log');
    const node = await SluiceNode.start({
      api: creds,
      dataDir: path.join(o.dataDir, 'node'),
      images: loadImageTable(BOOKINFO_IMAGES),
      meshName,
      subnet,
      xdsPort: cp.xdsPort,
      log: (msg, fields) => nodeLog.write(`${JSON.stringify({ time: new Date().toISOString(), msg, ...fields })}\n`),
    });
    undo.push(async () => {
      const stop = cpStop;
      cpStop = undefined;
      await stop?.();
      await node.close();
    });
    say(`node agent: runs Deployments as processes in namespaces ${mesh.netnsPrefix}*`);

    const mysqlHost = await createTestHost({ mesh, name: 'mysqldb', ip: mysqlIp });
    undo.push(() => mysqlHost.destroy());
    const mysql = await startExternalMysql({ host: mysqlHost, dataDir: o.mysqlDir });
    undo.push(() => mysql.stop());
    say(`external MySQL (MariaDB) outside the mesh at ${mysql.host}:${mysql.port}`);

    const client = new KubeClient(creds);
    undo.push(async () => client.close());
    const forward = await portForward({
      client,
      service: 'productpage',
      port: 9080,
      listenHost: '127.0.0.1',
      listenPort: o.pagePort,
      podWaitMs: 2000,
    });
    undo.push(() => forward.close());
    say(`port forward 127.0.0.1:${forward.port} → service productpage:9080`);

    return {
      mesh,
      cp,
      node,
      client,
      mysql,
      mysqlHost,
      forward,
      kubeconfigPath: cp.kubeconfigPath,
      pageBaseUrl: `http://127.0.0.1:${forward.port}`,
      podLogDir: node.logDir,
      close,
    };
  } catch (e) {
    await close();
    throw e;
  }
}
