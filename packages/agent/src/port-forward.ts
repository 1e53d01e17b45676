/**
 * A host-side port forward to a Service, like `kubectl port-forward svc/<name> <local>:<port>`:
 * a TCP listener in the host namespace that, for each accepted connection, picks a ready Pod the
 * Service selects (read from the API: `status.podIP`, every container ready) and relays bytes to
 * `podIP:targetPort`. The connection arrives on the pod's veth, so the pod's inbound capture and
 * sidecar see it like any other inbound connection.
 */
import net from 'node:net';
import type { Resource } from '@sluice/config';
import type { KubeClient } from './kube-client.js';

export interface PortForwardOptions {
  client: KubeClient;
  namespace?: string;
  /** Service name. */
  service: string;
  /** Service port (`spec.ports[].port`); its `targetPort` is where pods are reached. */
  port: number;
  /** Default 127.0.0.1. */
  listenHost?: string;
  /** 0 picks a free port. */
  listenPort: number;
  /** How long a connection waits for a ready pod before it is closed (default 5 s). */
  podWaitMs?: number;
  /** Called once per connection that could not be relayed, with the reason. */
  onError?: (err: PortForwardError) => void;
}

export class PortForwardError extends Error {
  constructor(
    readonly code: 'ServiceNotFound' | 'PortNotFound' | 'NoReadyPod' | 'UpstreamFailed' | 'ListenFailed',
    message: string,
  ) {
    super(message);
    this.name = 'PortForwardError';
  }
}

/** A running forward. `close()` stops listening and ends relayed connections; idempotent. */
export interface PortForward {
  readonly host: string;
  readonly port: number;
  /** Connections relayed so far. */
  readonly relayed: number;
  close(): Promise<void>;
}

interface ServiceSpec {
  selector?: Record<string, string>;
  ports?: { port: number; targetPort?: number | string; name?: string }[];
}

interface PodStatus {
  phase?: string;
  podIP?: string;
  containerStatuses?: { name: string; ready?: boolean }[];
}

/** True when the pod has an address and every container (sidecar included) is ready. */
export function podIsReady(pod: Resource): boolean {
  const status = (pod as Resource & { status?: PodStatus }).status;
  if (!status?.podIP || status.phase !== 'Running') return false;
  const containers = status.containerStatuses ?? [];
  return containers.length > 0 && containers.every((c) => c.ready === true);
}

function selects(selector: Record<string, string>, labels: Record<string, string> | undefined): boolean {
  const entries = Object.entries(selector);
  return entries.length > 0 && entries.every(([k, v]) => labels?.[k] === v);
}

/** The pod address and port a connection for `service:port` goes to, or an error saying why not. */
export async function resolveServiceTarget(
  client: KubeClient,
  namespace: string,
  service: string,
  port: number,
  pick: number,
): Promise<{ ip: string; port: number; pod: string }> {
  let svc: Resource<ServiceSpec>;
  try {
    svc = await client.get<Resource<ServiceSpec>>('Service', namespace, service);
  } catch (e) {
    throw new PortForwardError('ServiceNotFound', `service ${namespace}/${service}: ${(e as Error).message}`);
  }
  const sp = svc.spec?.ports?.find((p) => p.port === port);
  if (!sp) throw new PortForwardError('PortNotFound', `service ${namespace}/${service} has no port ${port}`);
  const { items } = await client.list('Pod', namespace);
  const ready = items
    .filter((p) => selects(svc.spec?.selector ?? {}, p.metadata.labels) && podIsReady(p))
    .sort((a, b) => a.metadata.name.localeCompare(b.metadata.name));
  if (ready.length === 0) {
    throw new PortForwardError('NoReadyPod', `service ${namespace}/${service}: no ready pod matches its selector`);
  }
  const pod = ready[pick % ready.length] as Resource & { status?: PodStatus; spec?: { containers?: unknown[] } };
  let target = typeof sp.targetPort === 'number' ? sp.targetPort : port;
  if (typeof sp.targetPort === 'string' && /^\d+$/.test(sp.targetPort)) target = Number(sp.targetPort);
  return { ip: pod.status?.podIP as string, port: target, pod: pod.metadata.name };
}

export async function portForward(o: PortForwardOptions): Promise<PortForward> {
  const namespace = o.namespace ?? 'default';
  const host = o.listenHost ?? '127.0.0.1';
  const podWaitMs = o.podWaitMs ?? 5000;
  const sockets = new Set<net.Socket>();
  let relayed = 0;
  let counter = 0;
  let closed = false;

  const target = async () => {
    const deadline = Date.now() + podWaitMs;
    for (;;) {
      try {
        return await resolveServiceTarget(o.client, namespace, o.service, o.port, counter++);
      } catch (e) {
        if (closed || Date.now() > deadline || !(e instanceof PortForwardError && e.code === 'NoReadyPod')) throw e;
        await new Promise((r) => setTimeout(r, 200));
      }
    }
  };

  const server = net.createServer((downstream) => {
    sockets.add(downstream);
    downstream.on('close', () => sockets.delete(downstream));
    downstream.on('error', () => {});
    downstream.pause();
    target().then(
      (t) => {
        if (closed || downstream.destroyed) return downstream.destroy();
        const upstream = net.connect({ host: t.ip, port: t.port });
        sockets.add(upstream);
        upstream.on('close', () => sockets.delete(upstream));
        upstream.on('connect', () => {
          relayed++;
          downstream.pipe(upstream);
          upstream.pipe(downstream);
          downstream.resume();
        });
        upstream.on('error', (err) => {
          o.onError?.(new PortForwardError('UpstreamFailed', `${t.pod} (${t.ip}:${t.port}): ${err.message}`));
          downstream.destroy();
        });
        downstream.on('close', () => upstream.destroy());
        upstream.on('close', () => downstream.destroy());
      },
      (err: unknown) => {
        o.onError?.(
          err instanceof PortForwardError ? err : new PortForwardError('UpstreamFailed', (err as Error).message),
        );
        downstream.destroy();
      },
    );
  });

  await new Promise<void>((resolve, reject) => {
    server.once('error', (err) =>
      reject(new PortForwardError('ListenFailed', `cannot listen on ${host}:${o.listenPort}: ${err.message}`)),
    );
    server.listen(o.listenPort, host, () => resolve());
  });
  const address = server.address() as net.AddressInfo;
  let closing: Promise<void> | undefined;
  return {
    host,
    port: address.port,
    get relayed() {
      return relayed;
    },
    close() {
      closing ??= new Promise<void>((resolve) => {
        closed = true;
        server.close(() => resolve());
        for (const s of sockets) s.destroy();
      });
      return closing;
    },
  };
}
