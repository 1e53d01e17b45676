/** IST0111 (several selector-less Sidecars in a namespace) and IST0110 (Sidecars selecting one workload). */
import { objAt } from '../validate/values.js';
import { type Entry, labelsOf, type Registry, selects, type Workload } from './registry.js';

export function checkSidecars(registry: Registry, workloads: readonly Workload[] | undefined): void {
  const withoutSelector = new Map<string, Entry[]>();
  const withSelector: { sc: Entry; labels: Record<string, string> }[] = [];
  for (const sc of registry.of('Sidecar')) {
    const selector = objAt(sc.spec, 'workloadSelector');
    if (!selector) {
      const list = withoutSelector.get(sc.namespace) ?? [];
      list.push(sc);
      withoutSelector.set(sc.namespace, list);
    } else withSelector.push({ sc, labels: labelsOf(objAt(selector, 'labels')) });
  }
  for (const [ns, list] of withoutSelector) {
    if (list.length < 2) continue;
    for (const sc of list)
      sc.out.add(
        'multipleSidecarsNoSelector',
        'spec',
        `namespace ${ns} has several Sidecars without workloadSelector (${list.map((s) => s.name).join(', ')}); only one may apply to the namespace`,
        'keep one, or give the others a workloadSelector',
      );
  }
  if (!workloads) return;
  const reported = new Set<Entry>();
  for (const w of workloads) {
    const matching = withSelector.filter(({ sc, labels }) => sc.namespace === w.namespace && selects(labels, w.labels));
    if (matching.length < 2) continue;
    for (const { sc } of matching) {
      if (reported.has(sc)) continue;
      reported.add(sc);
      sc.out.add(
        'conflictingSidecarSelectors',
        'spec.workloadSelector',
        `Sidecars ${matching.map(({ sc: s }) => s.name).join(', ')} in ${w.namespace} all select a workload labelled ${Object.entries(
          w.labels,
        )
          .map(([k, v]) => `${k}=${v}`)
          .join(',')}`,
      );
    }
  }
}
