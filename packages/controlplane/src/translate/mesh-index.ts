/**
 * A snapshot compiled once into lookup structures (services, routing rules, workloads by
 * namespace) that every proxy's generation reads. Cached per snapshot object; immutable.
 */
import type {
  DestinationRuleSpec,
  K8sServiceSpec,
  MeshConfigSpec,
  PodStatus,
  Resource,
  ServiceEntrySpec,
  SidecarSpec,
  VirtualServiceSpec,
  WorkloadEntrySpec,
} from '@sluice/config';
import { rotateListenerMemo } from './listeners.js';
import { buildMeshServices, type MeshService } from './mesh-services.js';
import type { ConfigSnapshot, GeneratedResources } from './types.js';
import { allocateVips, byCreation, existingVips } from './vip.js';

/** A workload instance that can serve as an endpoint: a Pod or a WorkloadEntry. */
export interface WorkloadInstance {
  namespace: string;
  address: string;
  labels: Record<string, string>;
  /** Named container ports (Pods) or the WorkloadEntry's ports map. */
  namedPorts: Record<string, number>;
  weight?: number;
}

export interface MeshIndex {
  revision: string;
  mesh: MeshConfigSpec & { annotations: Record<string, string> };
  rootNamespace: string;
  services: MeshService[];
  serviceEntries: Resource<ServiceEntrySpec>[];
  virtualServices: Resource<VirtualServiceSpec>[];
  destinationRules: Resource<DestinationRuleSpec>[];
  sidecars: Resource<SidecarSpec>[];
  workloadsByNamespace: Map<string, WorkloadInstance[]>;
  /** Generated resources per proxy shape (namespace + labels). */
  shapeCache: Map<string, GeneratedResources>;
  /** The outbound part of generated resources, shared by shapes that see the same outbound config. */
  outboundCache: Map<string, unknown>;
  /** Services and VirtualServices visible per (namespace, Sidecar). */
  importCache: Map<string, { services: MeshService[]; virtualServices: Resource<VirtualServiceSpec>[] }>;
}

const indexes = new WeakMap<ConfigSnapshot, MeshIndex>();

function ofKind<S>(resources: readonly Resource[], kind: string): Resource<S>[] {
  return resources.filter((r) => r.kind === kind).sort(byCreation) as Resource<S>[];
}

/** Compiles (or returns the cached compilation of) a snapshot. */
export function meshIndex(cfg: ConfigSnapshot): MeshIndex {
  const cached = indexes.get(cfg);
  if (cached) return cached;
  const rs = cfg.resources;
  const serviceEntries = ofKind<ServiceEntrySpec>(rs, 'ServiceEntry');
  const k8sServices = ofKind<K8sServiceSpec>(rs, 'Service');
  const meshConfigs = ofKind<MeshConfigSpec>(rs, 'MeshConfig');
  const meshObj = meshConfigs.find((m) => m.metadata.name === 'mesh') ?? meshConfigs[0];
  const vipsByEntry = allocateVips(existingVips(serviceEntries), serviceEntries);
  const vips = new Map<string, string>();
  for (const [entryKey, list] of vipsByEntry) {
    const ns = entryKey.slice(0, entryKey.indexOf('/'));
    for (const a of list) vips.set(`${ns}/${a.host}`, a.value);
  }
  const workloadsByNamespace = new Map<string, WorkloadInstance[]>();
  const addWorkload = (w: WorkloadInstance) => {
    const list = workloadsByNamespace.get(w.namespace) ?? [];
    list.push(w);
    workloadsByNamespace.set(w.namespace, list);
  };
  for (const pod of ofKind<{ containers?: { ports?: { containerPort: number; name?: string }[] }[] }>(rs, 'Pod')) {
    const status = (pod.status ?? {}) as PodStatus;
    if (!status.podIP || status.phase === 'Failed' || status.phase === 'Succeeded') continue;
    const namedPorts: Record<string, number> = {};
    for (const c of pod.spec?.containers ?? [])
      for (const p of c.ports ?? []) if (p.name) namedPorts[p.name] = p.containerPort;
    addWorkload({
      namespace: pod.metadata.namespace ?? 'default',
      address: status.podIP,
      labels: pod.metadata.labels ?? {},
      namedPorts,
    });
  }
  for (const we of ofKind<WorkloadEntrySpec>(rs, 'WorkloadEntry')) {
    if (!we.spec?.address) continue;
    const w: WorkloadInstance = {
      namespace: we.metadata.namespace ?? 'default',
      address: we.spec.address,
      labels: { ...(we.metadata.labels ?? {}), ...(we.spec.labels ?? {}) },
      namedPorts: we.spec.ports ?? {},
    };
    if (we.spec.weight) w.weight = we.spec.weight;
    addWorkload(w);
  }
  const index: MeshIndex = {
    revision: cfg.revision,
    mesh: { ...(meshObj?.spec ?? {}), annotations: meshObj?.metadata.annotations ?? {} },
    rootNamespace: meshObj?.spec?.rootNamespace ?? 'istio-system',
    services: buildMeshServices(k8sServices, serviceEntries, vips),
    serviceEntries,
    virtualServices: ofKind<VirtualServiceSpec>(rs, 'VirtualService'),
    destinationRules: ofKind<DestinationRuleSpec>(rs, 'DestinationRule'),
    sidecars: ofKind<SidecarSpec>(rs, 'Sidecar'),
    workloadsByNamespace,
    shapeCache: new Map(),
    outboundCache: new Map(),
    importCache: new Map(),
  };
  rotateListenerMemo();
  indexes.set(cfg, index);
  return index;
}
