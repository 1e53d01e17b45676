/**
 * Workloads and resources the mesh fault scenarios share: a "streamer" Deployment that keeps one
 * long-lived TCP stream open to its target and opens a fresh probe connection every 100 ms (each
 * probe printed with its start time and outcome), the resources that allow or block it, and
 * helpers to find a pod's runner, address and container log on a node.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import type { KubeClient, SluiceNode } from '@sluice/agent';
import type { Resource } from '@sluice/config';

/** Stops on its own after 10 minutes, so no run leaves a busy loop behind. */
const STREAMER = (host: string, port: number) => `
const net = require('net');
const end = Date.now() + 10 * 60 * 1000;
function stream() {
  if (Date.now() > end) return;
  const s = net.connect(${port}, '${host}');
  let timer;
  s.on('connect', () => { console.log('S', Date.now(), 'up'); timer = setInterval(() => s.write(Buffer.alloc(1024, 120)), 50); });
  s.on('error', () => {});
  s.on('close', () => { clearInterval(timer); console.log('S', Date.now(), 'down'); setTimeout(stream, 200); });
}
stream();
const probe = setInterval(() => {
  if (Date.now() > end) return clearInterval(probe);
  const t = Date.now();
  const s = net.connect(${port}, '${host}');
  let d = '';
  let e = '';
  s.setTimeout(1000, () => { e = 'timeout'; s.destroy(); });
  s.on('data', (c) => { d += c; if (d.includes('\\n')) s.end(); });
  s.on('error', (x) => (e = x.code));
  s.on('close', () => console.log('P', t, d.startsWith('hello') ? 'ok' : e || 'closed-empty'));
}, 100);
`;

export function streamerDeployment(name: string, host: string, port: number): Resource {
  return {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name, namespace: 'default' },
    spec: {
      replicas: 1,
      selector: { matchLabels: { app: name } },
      template: {
        metadata: { labels: { app: name, version: 'v1' } },
        spec: {
          containers: [{ name: 'streamer', image: 'local/streamer', command: ['node', '-e', STREAMER(host, port)] }],
        },
      },
    },
  } as Resource;
}

export const registryOnly: Resource = {
  apiVersion: 'sluice.dev/v1alpha1',
  kind: 'MeshConfig',
  metadata: { name: 'mesh' },
  spec: { outboundTrafficPolicy: { mode: 'REGISTRY_ONLY' } },
} as Resource;

/** A TCP ServiceEntry admitting `ip:port`. */
export function tcpServiceEntry(name: string, ip: string, port: number): Resource {
  return {
    apiVersion: 'networking.istio.io/v1alpha3',
    kind: 'ServiceEntry',
    metadata: { name, namespace: 'default' },
    spec: {
      hosts: [`${name}.example`],
      addresses: [`${ip}/32`],
      ports: [{ name: 'tcp', number: port, protocol: 'TCP' }],
      location: 'MESH_EXTERNAL',
      resolution: 'NONE',
    },
  } as Resource;
}

/** Creates or replaces `obj` (like `kubectl apply`). */
export async function applyResource(client: KubeClient, obj: Resource): Promise<void> {
  const ns = obj.metadata.namespace ?? 'default';
  try {
    const cur = await client.get(obj.kind, ns, obj.metadata.name);
    await client.update({ ...obj, metadata: { ...obj.metadata, resourceVersion: cur.metadata.resourceVersion } });
  } catch (e) {
    if ((e as { status?: number }).status !== 404) throw e;
    await client.create(obj);
  }
}

/** The running pod of a Deployment on `node`. */
export function podOf(node: SluiceNode, deployment: string) {
  const pod = node.agent.list().find((p) => p.plan.owner === deployment);
  if (!pod) return undefined;
  return {
    runner: pod.runner,
    ip: pod.runner.ip,
    dir: pod.runner.logDirectory,
    snapshotFile: pod.runner.snapshotFile,
    sidecarReady: pod.status?.sidecarReady ?? false,
  };
}

export interface Probe {
  at: number;
  outcome: string;
}

/** The streamer's probe results so far (from its container log). */
export function probes(node: SluiceNode, deployment: string): Probe[] {
  const pod = podOf(node, deployment);
  if (!pod) return [];
  let text = '';
  try {
    text = readFileSync(path.join(pod.dir, 'streamer.log'), 'utf8');
  } catch {
    return [];
  }
  const out: Probe[] = [];
  for (const line of text.split('\n')) {
    const f = line.split(' ');
    if (f[0] === 'P' && f.length === 3) out.push({ at: Number(f[1]), outcome: f[2]! });
  }
  return out;
}

/** The sidecar's log (access log and operational lines) so far. */
export function sidecarLog(node: SluiceNode, deployment: string): string {
  const pod = podOf(node, deployment);
  if (!pod) return '';
  try {
    return readFileSync(path.join(pod.dir, 'sidecar.log'), 'utf8');
  } catch {
    return '';
  }
}
