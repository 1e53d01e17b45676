/**
 * Pure translation from a Deployment (or a bare Pod) to the processes the agent runs:
 * names, labels, commands from the image table, environment with Secret references resolved.
 * No I/O here; the runner does the work.
 */
import { createHash } from 'node:crypto';
import type { ContainerSpec, DeploymentSpec, Resource } from '@sluice/config';

/** How an image name maps to a local program (see samples/bookinfo/images.yaml). */
export interface ImageEntry {
  command: string[];
  env?: Record<string, string>;
}
export type ImageTable = Record<string, ImageEntry>;

export class PodSpecError extends Error {
  constructor(
    readonly code: 'ImageNotFound' | 'SecretNotFound' | 'SecretKeyNotFound' | 'NoContainers' | 'ProxyUidRefused',
    message: string,
  ) {
    super(message);
    this.name = 'PodSpecError';
  }
}

export interface ContainerPlan {
  name: string;
  /** The image named in the manifest (what `kubectl get pod -o yaml` shows). */
  image: string;
  argv: string[];
  env: Record<string, string>;
  ports: number[];
  readiness?: { path: string; port: number };
  uid: number;
}

export interface PodPlan {
  name: string;
  namespace: string;
  labels: Record<string, string>;
  serviceAccount: string;
  owner?: string;
  /** Changes whenever the Deployment's pod template changes (like pod-template-hash). */
  templateHash: string;
  containers: ContainerPlan[];
}

/** The sidecar's uid: workload containers may never run as it (they would bypass capture). */
export const PROXY_UID = 1337;
export const DEFAULT_WORKLOAD_UID = 1000;

export function templateHash(template: unknown): string {
  return createHash('sha256').update(JSON.stringify(template)).digest('hex').slice(0, 10);
}

/** Looks an image up by full name, then without registry prefix or tag. */
export function lookupImage(table: ImageTable, image: string): ImageEntry | undefined {
  if (table[image]) return table[image];
  const noTag = image.replace(/:[^/:]+$/, '');
  const short = (s: string) => s.replace(/^(docker\.io\/)?/, '');
  for (const [k, v] of Object.entries(table)) {
    if (short(k) === short(image) || short(k.replace(/:[^/:]+$/, '')) === short(noTag)) return v;
  }
  return undefined;
}

function secretValue(secrets: Resource[], namespace: string, name: string, key: string): string | undefined {
  const s = secrets.find((x) => x.metadata.name === name && (x.metadata.namespace ?? 'default') === namespace);
  if (!s) throw new PodSpecError('SecretNotFound', `secret "${name}" not found in namespace "${namespace}"`);
  if (s.stringData && key in s.stringData) return s.stringData[key];
  if (s.data && key in s.data) return Buffer.from(s.data[key] as string, 'base64').toString('utf8');
  return undefined;
}

/** Builds one container's process plan. Throws PodSpecError with a message naming the field. */
export function planContainer(
  c: ContainerSpec,
  ctx: { namespace: string; podName: string; images: ImageTable; secrets: Resource[]; path: string },
): ContainerPlan {
  const entry = c.command ? undefined : lookupImage(ctx.images, c.image);
  if (!c.command && !entry) {
    throw new PodSpecError('ImageNotFound', `${ctx.path}.image: image "${c.image}" is not in the image table`);
  }
  const uid = c.securityContext?.runAsUser ?? DEFAULT_WORKLOAD_UID;
  if (uid === PROXY_UID || uid === 0) {
    throw new PodSpecError(
      'ProxyUidRefused',
      `${ctx.path}.securityContext.runAsUser: uid ${uid} is refused (${uid === 0 ? 'root' : "the sidecar's uid"}); workloads must not bypass capture`,
    );
  }
  const env: Record<string, string> = { ...(entry?.env ?? {}), HOSTNAME: ctx.podName };
  for (const [i, e] of (c.env ?? []).entries()) {
    if (e.value !== undefined) env[e.name] = String(e.value);
    else if (e.valueFrom?.secretKeyRef) {
      const ref = e.valueFrom.secretKeyRef;
      let v: string | undefined;
      try {
        v = secretValue(ctx.secrets, ctx.namespace, ref.name, ref.key);
      } catch (err) {
        if (ref.optional) continue;
        throw new PodSpecError(
          'SecretNotFound',
          `${ctx.path}.env[${i}].valueFrom.secretKeyRef: ${(err as Error).message}`,
        );
      }
      if (v === undefined) {
        if (ref.optional) continue;
        throw new PodSpecError(
          'SecretKeyNotFound',
          `${ctx.path}.env[${i}].valueFrom.secretKeyRef: key "${ref.key}" not found in secret "${ref.name}"`,
        );
      }
      env[e.name] = v;
    }
  }
  const argv = [...(c.command ?? entry?.command ?? []), ...(c.args ?? [])];
  const probe = c.readinessProbe?.httpGet;
  const ports = (c.ports ?? []).map((p) => p.containerPort);
  let readiness: ContainerPlan['readiness'];
  if (probe) {
    const port =
      typeof probe.port === 'number'
        ? probe.port
        : (c.ports?.find((p) => p.name === probe.port)?.containerPort ?? Number(probe.port));
    readiness = { path: probe.path ?? '/', port };
  }
  return { name: c.name, image: c.image, argv, env, ports, readiness, uid };
}

/** Stable, kubectl-looking pod name for replica `index` of a Deployment. */
export function podName(deployment: string, hash: string, index: number): string {
  const suffix = createHash('sha256').update(`${deployment}/${hash}/${index}`).digest('hex').slice(0, 5);
  return `${deployment}-${hash.slice(0, 9)}-${suffix}`;
}

/** Every pod a Deployment asks for. */
export function planDeployment(deploy: Resource<DeploymentSpec>, images: ImageTable, secrets: Resource[]): PodPlan[] {
  const spec = deploy.spec;
  const namespace = deploy.metadata.namespace ?? 'default';
  if (!spec?.template?.spec?.containers?.length) {
    throw new PodSpecError(
      'NoContainers',
      `Deployment ${namespace}/${deploy.metadata.name}: spec.template.spec.containers is empty`,
    );
  }
  const hash = templateHash(spec.template);
  const replicas = spec.replicas ?? 1;
  const plans: PodPlan[] = [];
  for (let i = 0; i < replicas; i++) {
    const name = podName(deploy.metadata.name, hash, i);
    plans.push({
      name,
      namespace,
      labels: { ...(spec.template.metadata?.labels ?? {}) },
      serviceAccount: spec.template.spec.serviceAccountName ?? 'default',
      owner: deploy.metadata.name,
      templateHash: hash,
      containers: spec.template.spec.containers.map((c, ci) =>
        planContainer(c, { namespace, podName: name, images, secrets, path: `spec.template.spec.containers[${ci}]` }),
      ),
    });
  }
  return plans;
}
