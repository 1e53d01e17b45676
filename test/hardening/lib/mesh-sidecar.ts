/**
 * One workload host with its sidecar started directly (the same program and arguments `runOnce`
 * uses), so a load scenario knows the sidecar's pid and can read /proc/<pid>/fd and VmRSS while
 * load generators run in the same namespace. The sidecar gets a raised file-descriptor limit
 * (prlimit) for tens of thousands of connections. `destroy()` is idempotent.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { chownSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { httpProbe, SIDECAR_MAIN, tsxLoader } from '@sluice/agent';
import { createWorkloadHost, type MeshNetwork, type WorkloadHost } from '@sluice/capture';

export interface SidecarHost {
  readonly host: WorkloadHost;
  readonly pid: number;
  /** Open file descriptors of the sidecar process now. */
  fdCount(): number;
  /** Resident set size of the sidecar process now, in bytes. */
  rss(): number;
  /** Access-log lines (one per connection) the sidecar printed so far. */
  accessLogLines(): number;
  /** How many access-log lines carried each response flag (e.g. UO: circuit breaker overflow). */
  responseFlags(): Record<string, number>;
  /** The last 4 KiB of the sidecar's output. */
  tail(): string;
  destroy(): Promise<void>;
}

export async function startSidecarHost(o: {
  mesh: MeshNetwork;
  xds: string;
  name: string;
  ip: string;
  nofile: number;
}): Promise<SidecarHost> {
  const host = await createWorkloadHost({ mesh: o.mesh, name: o.name, ip: o.ip, inboundPorts: [] });
  const dir = mkdtempSync(path.join(os.tmpdir(), 'slt-hard-sidecar-'));
  let child: ChildProcess | undefined;
  let destroyed: Promise<void> | undefined;
  const destroy = () => {
    destroyed ??= (async () => {
      if (child && child.exitCode === null && child.signalCode === null) {
        await new Promise<void>((resolve) => {
          child!.once('exit', () => resolve());
          child!.kill('SIGKILL');
        });
      }
      await host.destroy();
      rmSync(dir, { recursive: true, force: true });
    })();
    return destroyed;
  };
  try {
    chownSync(dir, 1337, 1337);
    const argv = [
      process.execPath,
      '--import',
      tsxLoader(),
      SIDECAR_MAIN,
      '--xds',
      o.xds,
      '--node-id',
      `sidecar~${o.ip}~${o.name}.default~default.svc.cluster.local`,
      '--node-metadata',
      JSON.stringify({
        NAMESPACE: 'default',
        LABELS: { app: o.name },
        WORKLOAD_NAME: o.name,
        NAME: o.name,
        INSTANCE_IPS: o.ip,
      }),
      '--snapshot-file',
      path.join(dir, 'snapshot.json'),
    ];
    // prlimit (root) raises the limit, then ip, setpriv and node each exec: the child's pid is the sidecar's.
    const drop = [
      'setpriv',
      '--reuid=1337',
      '--regid=1337',
      '--clear-groups',
      '--inh-caps=-all',
      '--no-new-privs',
      '--',
    ];
    child = spawn(
      'prlimit',
      [`--nofile=${o.nofile}:${o.nofile}`, '--', 'ip', 'netns', 'exec', host.netns, ...drop, ...argv],
      { stdio: ['ignore', 'pipe', 'pipe'], cwd: '/', env: { PATH: process.env.PATH ?? '/usr/bin:/bin' } },
    );
    let lines = 0;
    let tail = '';
    const flags: Record<string, number> = {};
    const onOut = (c: Buffer) => {
      const s = c.toString('utf8');
      for (const f of s.matchAll(/"response_flags":"([A-Z,]+)"/g)) flags[f[1]!] = (flags[f[1]!] ?? 0) + 1;
      for (let i = s.indexOf('"decision"'); i !== -1; i = s.indexOf('"decision"', i + 1)) lines++;
      tail = (tail + s).slice(-4096);
    };
    child.stdout!.on('data', onOut);
    child.stderr!.on('data', onOut);
    const deadline = Date.now() + 30_000;
    while (!(await httpProbe(o.ip, 15021, '/healthz/ready', 500))) {
      if (Date.now() > deadline || child.exitCode !== null) throw new Error(`sidecar not ready:\n${tail}`);
      await new Promise((r) => setTimeout(r, 100));
    }
    const pid = child.pid!;
    return {
      host,
      pid,
      fdCount: () => readdirSync(`/proc/${pid}/fd`).length,
      rss: () => Number(/^VmRSS:\s+(\d+) kB/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1]) * 1024,
      accessLogLines: () => lines,
      responseFlags: () => ({ ...flags }),
      tail: () => tail,
      destroy,
    };
  } catch (e) {
    await destroy();
    throw e;
  }
}
