/**
 * Runs one pod: its host (network namespace with capture), its sidecar (uid 1337), then its
 * containers (never before the sidecar is ready), restarting crashed containers with backoff and
 * reporting status. Logs go to files under the pod's log directory (`sluice logs` reads them).
 */
import type { ChildProcess } from 'node:child_process';
import { createWriteStream, mkdirSync, type WriteStream } from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import type { ContainerPlan, PodPlan } from './pod-spec.js';
import { PROXY_UID } from './pod-spec.js';

/** What the runner needs from a workload host (packages/capture provides it). */
export interface HostHandle {
  readonly ip: string;
  exec(
    argv: string[],
    opts: { uid: number; gid: number; env: Record<string, string>; cwd?: string; stdio?: 'pipe' },
  ): ChildProcess;
  destroy(): Promise<void>;
}

export interface PodRunnerOptions {
  plan: PodPlan;
  /** Creates the pod's host (namespace, veth, capture rules for the given inbound ports). */
  createHost(name: string, inboundPorts: number[], namespace: string): Promise<HostHandle>;
  /** argv of the sidecar program, given the pod's ip and node metadata. */
  sidecarArgv(pod: { ip: string; name: string; namespace: string; snapshotFile: string }): string[];
  logDir: string;
  /** Called whenever the pod's status changes. */
  onStatus(status: PodRuntimeStatus): void;
  /** Milliseconds to wait for the sidecar to become ready. */
  sidecarReadyTimeoutMs?: number;
  /** Health port of the sidecar (Istio's 15021). */
  healthPort?: number;
  /** Directory (writable by uid 1337) for the sidecar's persisted snapshot; default the pod's log dir. */
  stateDir?: string;
}

export interface ContainerRuntimeStatus {
  name: string;
  ready: boolean;
  restartCount: number;
  state: 'waiting' | 'running' | 'terminated';
  reason?: string;
  exitCode?: number;
}

export interface PodRuntimeStatus {
  phase: 'Pending' | 'Running' | 'Failed' | 'Succeeded';
  podIP?: string;
  startTime: string;
  reason?: string;
  sidecarReady: boolean;
  containers: ContainerRuntimeStatus[];
}

interface RunningContainer {
  plan: ContainerPlan;
  child?: ChildProcess;
  status: ContainerRuntimeStatus;
  backoffMs: number;
  restartTimer?: NodeJS.Timeout;
  probeTimer?: NodeJS.Timeout;
  log: WriteStream;
}

const delay = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** GET http://ip:port/path with a short timeout; true on 2xx/3xx. */
export function httpProbe(ip: string, port: number, urlPath: string, timeoutMs = 1000): Promise<boolean> {
  return new Promise((resolve) => {
    const req = http.get({ host: ip, port, path: urlPath, timeout: timeoutMs, agent: false }, (res) => {
      res.resume();
      resolve((res.statusCode ?? 500) < 400);
    });
    req.on('timeout', () => req.destroy());
    req.on('error', () => resolve(false));
  });
}

export class PodRunner {
  private host?: HostHandle;
  private sidecar?: ChildProcess;
  #sidecarSpawnedAt = 0;
  private sidecarLog?: WriteStream;
  private readonly containers: RunningContainer[] = [];
  private stopped = false;
  private readonly status: PodRuntimeStatus;
  private readonly dir: string;

  constructor(private readonly opts: PodRunnerOptions) {
    this.dir = path.join(opts.logDir, `${opts.plan.namespace}_${opts.plan.name}`);
    this.status = {
      phase: 'Pending',
      startTime: new Date().toISOString().replace(/\.\d+Z$/, 'Z'),
      sidecarReady: false,
      containers: opts.plan.containers.map((c) => ({ name: c.name, ready: false, restartCount: 0, state: 'waiting' })),
    };
  }

  get name(): string {
    return this.opts.plan.name;
  }

  get ip(): string | undefined {
    return this.host?.ip;
  }

  /** Directory holding `sidecar.log` and `<container>.log`. */
  get logDirectory(): string {
    return this.dir;
  }

  /** Where the sidecar persists its last good snapshot. */
  get snapshotFile(): string {
    return path.join(this.opts.stateDir ?? this.dir, 'snapshot.json');
  }

  private emit(): void {
    this.opts.onStatus(structuredClone(this.status));
  }

  async start(): Promise<void> {
    const { plan } = this.opts;
    mkdirSync(this.dir, { recursive: true });
    const inbound = [...new Set(plan.containers.flatMap((c) => c.ports))];
    this.host = await this.opts.createHost(plan.name, inbound, plan.namespace);
    this.status.podIP = this.host.ip;
    this.emit();
    await this.startSidecar();
    if (this.stopped) return;
    for (const c of plan.containers) {
      const rc: RunningContainer = {
        plan: c,
        status: this.status.containers.find((s) => s.name === c.name) as ContainerRuntimeStatus,
        backoffMs: 1000,
        log: createWriteStream(path.join(this.dir, `${c.name}.log`), { flags: 'a' }),
      };
      this.containers.push(rc);
      this.startContainer(rc);
    }
    this.status.phase = 'Running';
    this.emit();
  }

  private async startSidecar(opts: { waitForever?: boolean } = {}): Promise<void> {
    const host = this.host as HostHandle;
    const argv = this.opts.sidecarArgv({
      ip: host.ip,
      name: this.opts.plan.name,
      namespace: this.opts.plan.namespace,
      snapshotFile: this.snapshotFile,
    });
    this.sidecarLog = createWriteStream(path.join(this.dir, 'sidecar.log'), { flags: 'a' });
    this.#sidecarSpawnedAt = Date.now();
    const child = host.exec(argv, { uid: PROXY_UID, gid: PROXY_UID, env: { NODE_ENV: 'production' }, stdio: 'pipe' });
    child.stdout?.pipe(this.sidecarLog, { end: false });
    child.stderr?.pipe(this.sidecarLog, { end: false });
    this.sidecar = child;
    child.on('exit', (code, signal) => {
      this.status.sidecarReady = false;
      this.sidecarLog?.write(`# sidecar exited (code ${code}, signal ${signal})\n`);
      if (!this.stopped) {
        // Fail closed: the workload keeps its capture rules, so nothing gets out while the sidecar is down.
        this.emit();
        setTimeout(() => {
          if (this.stopped) return;
          // Not ready for long (no control plane and no usable snapshot) is not an error here: the
          // workload stays cut off (fail closed) until the sidecar gets its configuration.
          this.startSidecar({ waitForever: true }).catch((e) => this.sidecarLog?.write(`# ${(e as Error).message}\n`));
        }, 1000).unref();
      }
    });
    const port = this.opts.healthPort ?? 15021;
    const deadline = opts.waitForever
      ? Number.POSITIVE_INFINITY
      : Date.now() + (this.opts.sidecarReadyTimeoutMs ?? 30_000);
    while (!this.stopped && Date.now() < deadline && child.exitCode === null && child.signalCode === null) {
      if (await httpProbe(host.ip, port, '/healthz/ready')) {
        this.status.sidecarReady = true;
        this.emit();
        return;
      }
      await delay(100);
    }
    if (!this.stopped && child.exitCode === null && child.signalCode === null) {
      throw new Error(`pod ${this.opts.plan.name}: sidecar not ready within the timeout`);
    }
  }

  private startContainer(rc: RunningContainer): void {
    if (this.stopped) return;
    const host = this.host as HostHandle;
    const [cmd, ...args] = rc.plan.argv;
    if (!cmd) return;
    const child = host.exec([cmd, ...args], { uid: rc.plan.uid, gid: rc.plan.uid, env: rc.plan.env, stdio: 'pipe' });
    rc.child = child;
    rc.status.state = 'running';
    rc.status.reason = undefined;
    child.stdout?.pipe(rc.log, { end: false });
    child.stderr?.pipe(rc.log, { end: false });
    const startedAt = Date.now();
    this.emit();
    if (rc.plan.readiness) this.probeLoop(rc);
    else {
      rc.status.ready = true;
      this.emit();
    }
    child.on('exit', (code, signal) => {
      if (rc.probeTimer) clearTimeout(rc.probeTimer);
      rc.status.ready = false;
      rc.status.state = 'terminated';
      rc.status.exitCode = code ?? undefined;
      rc.status.reason = signal ? `Signal ${signal}` : code === 0 ? 'Completed' : 'Error';
      rc.log.write(`# container exited (code ${code}, signal ${signal})\n`);
      if (this.stopped) return;
      if (Date.now() - startedAt > 30_000) rc.backoffMs = 1000;
      rc.status.state = 'waiting';
      rc.status.reason = 'CrashLoopBackOff';
      rc.status.restartCount++;
      this.emit();
      rc.restartTimer = setTimeout(() => this.startContainer(rc), rc.backoffMs);
      rc.backoffMs = Math.min(rc.backoffMs * 2, 30_000);
    });
  }

  private probeLoop(rc: RunningContainer): void {
    const probe = rc.plan.readiness as NonNullable<ContainerPlan['readiness']>;
    const tick = async () => {
      if (this.stopped || rc.status.state !== 'running') return;
      const ok = await httpProbe((this.host as HostHandle).ip, probe.port, probe.path);
      if (ok !== rc.status.ready) {
        rc.status.ready = ok;
        this.emit();
      }
      rc.probeTimer = setTimeout(tick, ok ? 2000 : 250);
    };
    rc.probeTimer = setTimeout(tick, 100);
  }

  /** Kills the sidecar only (for fault tests): the workload stays cut off until it is restarted. */
  /** When the current sidecar process was spawned (ms since the epoch; 0 before the first). */
  get sidecarSpawnedAt(): number {
    return this.#sidecarSpawnedAt;
  }

  killSidecar(signal: NodeJS.Signals = 'SIGKILL'): void {
    this.sidecar?.kill(signal);
  }

  /** Stops containers, then the sidecar, then removes the host. Idempotent. */
  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    const waits: Promise<void>[] = [];
    const kill = (child: ChildProcess | undefined) => {
      if (!child || child.exitCode !== null || child.signalCode !== null) return;
      waits.push(
        new Promise((resolve) => {
          child.once('exit', () => resolve());
          child.kill('SIGTERM');
          setTimeout(() => child.kill('SIGKILL'), 3000).unref();
        }),
      );
    };
    for (const rc of this.containers) {
      if (rc.restartTimer) clearTimeout(rc.restartTimer);
      if (rc.probeTimer) clearTimeout(rc.probeTimer);
      kill(rc.child);
    }
    await Promise.all(waits.splice(0));
    kill(this.sidecar);
    await Promise.all(waits);
    for (const rc of this.containers) rc.log.end();
    this.sidecarLog?.end();
    await this.host?.destroy();
    this.status.phase = 'Succeeded';
  }
}
