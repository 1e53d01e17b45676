/**
 * Runs one command as an ad-hoc workload in the mesh (like `kubectl run --rm -i`): its own host
 * with capture, its own sidecar, the command as an unprivileged uid, then everything removed.
 * `sluice run` and the system tests use it to check what a workload can and cannot reach.
 */
import { chownSync, mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createWorkloadHost, type MeshNetwork } from '@sluice/capture';
import { tsxLoader } from './images.js';
import { SIDECAR_MAIN } from './node.js';
import { httpProbe } from './pod-runner.js';
import { DEFAULT_WORKLOAD_UID, PROXY_UID } from './pod-spec.js';

export interface RunOnceOptions {
  mesh: MeshNetwork;
  /** host:port of the xDS server as reachable from the namespace (the bridge address). */
  xds: string;
  name: string;
  namespace?: string;
  labels?: Record<string, string>;
  serviceAccount?: string;
  ip: string;
  argv: string[];
  env?: Record<string, string>;
  uid?: number;
  /** Wait at most this long for the sidecar's first configuration (default 20 s). */
  readyTimeoutMs?: number;
  /** Kill the command after this long (default 60 s). */
  timeoutMs?: number;
  /** Receives the sidecar's access log and operational lines. */
  onSidecarOutput?: (chunk: string) => void;
  /** Streams the command's output as it comes. */
  stdout?: NodeJS.WritableStream;
  stderr?: NodeJS.WritableStream;
}

export interface RunOnceResult {
  exitCode: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
  sidecarLog: string;
}

export class RunOnceError extends Error {
  constructor(
    readonly code: 'SidecarNotReady' | 'ProxyUidRefused',
    message: string,
  ) {
    super(message);
    this.name = 'RunOnceError';
  }
}

export async function runOnce(o: RunOnceOptions): Promise<RunOnceResult> {
  const uid = o.uid ?? DEFAULT_WORKLOAD_UID;
  if (uid === PROXY_UID || uid === 0) {
    throw new RunOnceError('ProxyUidRefused', `uid ${uid} is refused: a workload running as it would bypass capture`);
  }
  const namespace = o.namespace ?? 'default';
  const labels = o.labels ?? { run: o.name };
  const host = await createWorkloadHost({ mesh: o.mesh, name: o.name, ip: o.ip, inboundPorts: [], namespace });
  const dir = mkdtempSync(path.join(os.tmpdir(), 'sluice-run-'));
  chownSync(dir, PROXY_UID, PROXY_UID);
  let sidecarLog = '';
  const sidecar = host.exec(
    [
      process.execPath,
      '--import',
      tsxLoader(),
      SIDECAR_MAIN,
      '--xds',
      o.xds,
      '--node-id',
      `sidecar~${o.ip}~${o.name}.${namespace}~${namespace}.svc.cluster.local`,
      '--node-metadata',
      JSON.stringify({
        NAMESPACE: namespace,
        LABELS: labels,
        SERVICE_ACCOUNT: o.serviceAccount ?? 'default',
        WORKLOAD_NAME: o.name,
        NAME: o.name,
        INSTANCE_IPS: o.ip,
      }),
      '--namespace',
      namespace,
      '--snapshot-file',
      path.join(dir, 'snapshot.json'),
    ],
    { uid: PROXY_UID, gid: PROXY_UID, env: { PATH: process.env.PATH ?? '' }, cwd: '/', stdio: 'pipe' },
  );
  const onSidecar = (c: Buffer) => {
    const s = c.toString('utf8');
    sidecarLog += s;
    o.onSidecarOutput?.(s);
  };
  sidecar.stdout?.on('data', onSidecar);
  sidecar.stderr?.on('data', onSidecar);
  const cleanup = async () => {
    if (sidecar.exitCode === null && sidecar.signalCode === null) {
      await new Promise<void>((resolve) => {
        sidecar.once('exit', () => resolve());
        sidecar.kill('SIGTERM');
        setTimeout(() => sidecar.kill('SIGKILL'), 3000).unref();
      });
    }
    await host.destroy();
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    const deadline = Date.now() + (o.readyTimeoutMs ?? 20_000);
    let ready = false;
    while (Date.now() < deadline && sidecar.exitCode === null) {
      if (await httpProbe(o.ip, 15021, '/healthz/ready', 500)) {
        ready = true;
        break;
      }
      await new Promise((r) => setTimeout(r, 100));
    }
    if (!ready) {
      throw new RunOnceError(
        'SidecarNotReady',
        `the sidecar of ${o.name} got no configuration from ${o.xds} in time; its output:\n${sidecarLog.slice(-2000)}`,
      );
    }
    const child = host.exec(o.argv, {
      uid,
      gid: uid,
      env: { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: '/tmp', ...(o.env ?? {}) },
      cwd: '/tmp',
      stdio: 'pipe',
    });
    let stdout = '';
    let stderr = '';
    child.stdout?.on('data', (c: Buffer) => {
      stdout += c.toString('utf8');
      o.stdout?.write(c);
    });
    child.stderr?.on('data', (c: Buffer) => {
      stderr += c.toString('utf8');
      o.stderr?.write(c);
    });
    const timer = setTimeout(() => child.kill('SIGKILL'), o.timeoutMs ?? 60_000);
    const [exitCode, signal] = await new Promise<[number | null, NodeJS.Signals | null]>((resolve) =>
      child.once('close', (code, sig) => resolve([code, sig])),
    );
    clearTimeout(timer);
    // Let the sidecar flush the access-log lines of the command's connections.
    await new Promise((r) => setTimeout(r, 150));
    return { exitCode, signal, stdout, stderr, sidecarLog };
  } finally {
    await cleanup();
  }
}
