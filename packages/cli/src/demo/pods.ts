/** Pod status as `kubectl get pods` shows it, read from the API, and a wait for readiness. */
import { type KubeClient, podIsReady } from '@sluice/agent';
import type { Resource } from '@sluice/config';

interface PodStatus {
  phase?: string;
  podIP?: string;
  containerStatuses?: { name: string; ready?: boolean; restartCount?: number }[];
}

function row(p: Resource): string[] {
  const s = (p as Resource & { status?: PodStatus }).status ?? {};
  const cs = s.containerStatuses ?? [];
  const ready = cs.filter((c) => c.ready).length;
  const restarts = cs.reduce((n, c) => n + (c.restartCount ?? 0), 0);
  return [p.metadata.name, `${ready}/${cs.length}`, s.phase ?? 'Pending', String(restarts), s.podIP ?? '<none>'];
}

/** A `NAME READY STATUS RESTARTS IP` table of the pods in `namespace`. */
export async function podTable(client: KubeClient, namespace = 'default'): Promise<string[]> {
  const { items } = await client.list('Pod', namespace);
  const rows = [
    ['NAME', 'READY', 'STATUS', 'RESTARTS', 'IP'],
    ...items.sort((a, b) => a.metadata.name.localeCompare(b.metadata.name)).map(row),
  ];
  const widths = rows[0]?.map((_, i) => Math.max(...rows.map((r) => (r[i] ?? '').length))) ?? [];
  return rows.map((r) =>
    r
      .map((c, i) => c.padEnd(widths[i] ?? 0))
      .join('   ')
      .trimEnd(),
  );
}

/**
 * Waits until, for every Deployment in `namespace`, one ready pod with its labels exists.
 * Returns the names of Deployments still without one when the time is up (empty when all are ready).
 */
export async function waitForPodsReady(
  client: KubeClient,
  deployments: string[],
  timeoutMs: number,
  namespace = 'default',
): Promise<string[]> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const { items } = await client.list('Pod', namespace);
    const missing = deployments.filter(
      (d) => !items.some((p) => p.metadata.annotations?.['sluice.dev/owner'] === d && podIsReady(p)),
    );
    if (missing.length === 0 || Date.now() > deadline) return missing;
    await new Promise((r) => setTimeout(r, 500));
  }
}
