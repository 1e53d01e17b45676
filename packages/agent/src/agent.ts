/**
 * The node agent: makes the processes on this machine match the Deployments stored in the
 * control plane (like a Deployment controller and a kubelet in one), and reports each replica as
 * a Pod object. One reconcile pass at a time; watch events only schedule passes.
 */
import type { DeploymentSpec, Resource } from '@sluice/config';
import type { ApiError, KubeClient } from './kube-client.js';
import { type HostHandle, PodRunner, type PodRuntimeStatus } from './pod-runner.js';
import { type ImageTable, type PodPlan, PodSpecError, planDeployment } from './pod-spec.js';

export interface AgentOptions {
  client: KubeClient;
  images: ImageTable;
  logDir: string;
  createHost(name: string, inboundPorts: number[], namespace: string): Promise<HostHandle>;
  sidecarArgv(pod: {
    ip: string;
    name: string;
    namespace: string;
    snapshotFile: string;
    labels: Record<string, string>;
    serviceAccount: string;
  }): string[];
  /** Directory for a pod's sidecar state (its persisted snapshot), writable by uid 1337. */
  stateDir?(namespace: string, pod: string): string;
  log?: (msg: string, fields?: Record<string, unknown>) => void;
}

interface Managed {
  plan: PodPlan;
  runner: PodRunner;
  lastStatus?: PodRuntimeStatus;
  writing: Promise<void>;
}

const OWNER_ANNOTATION = 'sluice.dev/owner';

export class Agent {
  private readonly pods = new Map<string, Managed>();
  private stopWatch?: () => void;
  private pass: Promise<void> = Promise.resolve();
  private pending = false;
  private closed = false;
  private readonly log: NonNullable<AgentOptions['log']>;
  /** Errors of the last reconcile pass, per Deployment (shown by `sluice get pods` events). */
  readonly errors = new Map<string, string>();

  constructor(private readonly opts: AgentOptions) {
    this.log = opts.log ?? (() => {});
  }

  /** Starts watching Deployments and reconciling. */
  async start(): Promise<void> {
    await this.reconcile();
    this.watchDeployments();
  }

  private watchDeployments(): void {
    if (this.closed) return;
    void this.opts.client
      .list('Deployment')
      .then(({ resourceVersion }) => {
        this.stopWatch = this.opts.client.watch(
          'Deployment',
          resourceVersion,
          () => this.schedule(),
          () => {
            if (!this.closed) setTimeout(() => this.watchDeployments(), 500).unref();
          },
        );
        this.schedule();
      })
      .catch(() => {
        if (!this.closed) setTimeout(() => this.watchDeployments(), 1000).unref();
      });
  }

  /** Coalesces bursts of events into one reconcile pass. */
  schedule(): void {
    if (this.pending || this.closed) return;
    this.pending = true;
    this.pass = this.pass.then(async () => {
      await new Promise((r) => setTimeout(r, 50));
      this.pending = false;
      await this.reconcile().catch((e) => this.log('reconcile failed', { error: String(e) }));
    });
  }

  /** Waits for the current reconcile work to finish (for tests and the demo). */
  async settled(): Promise<void> {
    await this.pass;
  }

  async reconcile(): Promise<void> {
    if (this.closed) return;
    const [{ items: deployments }, { items: secrets }] = await Promise.all([
      this.opts.client.list<Resource<DeploymentSpec>>('Deployment'),
      this.opts.client.list('Secret'),
    ]);
    const desired = new Map<string, PodPlan>();
    for (const d of deployments) {
      const key = `${d.metadata.namespace ?? 'default'}/${d.metadata.name}`;
      try {
        for (const p of planDeployment(d, this.opts.images, secrets)) desired.set(`${p.namespace}/${p.name}`, p);
        this.errors.delete(key);
      } catch (e) {
        const msg = e instanceof PodSpecError ? e.message : String(e);
        if (this.errors.get(key) !== msg) this.log('cannot run deployment', { deployment: key, error: msg });
        this.errors.set(key, msg);
      }
    }
    const stops: Promise<void>[] = [];
    for (const [key, m] of this.pods) {
      if (!desired.has(key)) {
        this.pods.delete(key);
        stops.push(this.stopPod(m));
      }
    }
    await Promise.all(stops);
    const starts: Promise<void>[] = [];
    for (const [key, plan] of desired) {
      if (this.pods.has(key)) continue;
      starts.push(this.startPod(key, plan));
    }
    await Promise.all(starts);
  }

  private async startPod(key: string, plan: PodPlan): Promise<void> {
    const managed: Managed = {
      plan,
      writing: Promise.resolve(),
      runner: new PodRunner({
        plan,
        logDir: this.opts.logDir,
        createHost: this.opts.createHost,
        stateDir: this.opts.stateDir?.(plan.namespace, plan.name),
        sidecarArgv: (p) => this.opts.sidecarArgv({ ...p, labels: plan.labels, serviceAccount: plan.serviceAccount }),
        onStatus: (s) => this.report(managed, s),
      }),
    };
    this.pods.set(key, managed);
    this.log('starting pod', { pod: key });
    try {
      await managed.runner.start();
    } catch (e) {
      this.log('pod failed to start', { pod: key, error: String(e) });
      this.report(managed, {
        phase: 'Failed',
        startTime: new Date().toISOString(),
        reason: String(e),
        sidecarReady: false,
        containers: [],
      });
    }
  }

  private async stopPod(m: Managed): Promise<void> {
    this.log('stopping pod', { pod: `${m.plan.namespace}/${m.plan.name}` });
    await m.runner.stop();
    await m.writing;
    await this.opts.client.delete('Pod', m.plan.namespace, m.plan.name).catch(() => {});
  }

  private podObject(plan: PodPlan, s: PodRuntimeStatus): Resource {
    return {
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: {
        name: plan.name,
        namespace: plan.namespace,
        labels: { ...plan.labels, 'pod-template-hash': plan.templateHash.slice(0, 9) },
        annotations: plan.owner ? { [OWNER_ANNOTATION]: plan.owner } : {},
      },
      spec: {
        serviceAccountName: plan.serviceAccount,
        containers: plan.containers.map((c) => ({ name: c.name, image: c.image })),
      },
      status: {
        phase: s.phase,
        podIP: s.podIP,
        startTime: s.startTime,
        ...(s.reason ? { reason: s.reason } : {}),
        containerStatuses: [
          {
            name: 'istio-proxy',
            ready: s.sidecarReady,
            restartCount: 0,
            state: { [s.sidecarReady ? 'running' : 'waiting']: {} },
          },
          ...s.containers.map((c) => ({
            name: c.name,
            ready: c.ready,
            restartCount: c.restartCount,
            state: {
              [c.state]: c.reason
                ? { reason: c.reason, ...(c.exitCode !== undefined ? { exitCode: c.exitCode } : {}) }
                : {},
            },
          })),
        ],
      },
    };
  }

  /** Writes the pod's status to the API, serialised per pod (create, then update). */
  private report(m: Managed, s: PodRuntimeStatus): void {
    m.lastStatus = s;
    m.writing = m.writing.then(async () => {
      if (this.closed && s.phase !== 'Failed') return;
      const obj = this.podObject(m.plan, s);
      try {
        await this.opts.client.update(obj);
      } catch (e) {
        if ((e as ApiError).status === 404) await this.opts.client.create(obj).catch(() => {});
      }
    });
  }

  /** Runner of a pod by name (for `sluice logs` and fault tests). */
  runner(namespace: string, name: string): PodRunner | undefined {
    return this.pods.get(`${namespace}/${name}`)?.runner;
  }

  /** Every managed pod with its latest status. */
  list(): { plan: PodPlan; status?: PodRuntimeStatus; runner: PodRunner }[] {
    return [...this.pods.values()].map((m) => ({ plan: m.plan, status: m.lastStatus, runner: m.runner }));
  }

  /** Stops every pod and removes their hosts and Pod objects. Idempotent. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.stopWatch?.();
    await this.pass.catch(() => {});
    const all = [...this.pods.values()];
    this.pods.clear();
    await Promise.all(all.map((m) => this.stopPod(m)));
  }
}
